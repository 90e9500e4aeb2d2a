/**
 * Copy jobs as the API sees them: created after the caller's access to both mailboxes was checked, listed and
 * read as views with counts, throughput and ETA, paused, resumed, canceled and run again. The work itself is the
 * runner's (./runner.ts); this module only changes states in the job store, with optimistic versions, so a
 * runner working the job sees the change at its next checkpoint.
 */
import { randomUUID } from 'node:crypto'
import type { Static } from '@sinclair/typebox'
import type { Job as JobSchema } from '../../schemas/job.js'
import { parseFolderRef } from '../../backends/mailbox-backend.js'
import type { Caller } from '../../access/caller.js'
import { BadRequest, DataIncompatible, JobLimit, JobNotFound, JobStateConflict } from '../../errors.js'
import type { JobRecord, JobState, JobStore, LedgerStore } from '../../state/jobs.js'
import type { ImportRules } from '../items.js'
import type { MailboxService } from '../mailbox-service.js'
import { refuseTargetInSource } from './overlap.js'
import { PageTokens } from '../page-tokens.js'
import type { JobRunner } from './runner.js'
import { startVerification } from './verify.js'
import {
  emptyProgress, type AssociatedProgress, type CopyJobSpec, type CopyProgress, type FolderProgress
} from './types.js'

/** A copy job as callers send it (the public `JobCreate`). */
export interface CopyJobRequest {
  source: { mailbox: string, folder?: string, subtree?: boolean }
  target: { mailbox: string, folder?: string }
  dryRun?: boolean
  /** A schedule: `everySeconds` (≥ 60; the schema checks it) after each completed pass, the next one. */
  delta?: { everySeconds: number }
  verify?: boolean
}

export type CopyJob = JobRecord<CopyJobSpec, CopyProgress>

/** A job as callers see it (the public `Job` schema, src/schemas/job.ts). */
export type JobView = Static<typeof JobSchema>

export interface JobServiceOptions {
  jobs: JobStore
  ledger: LedgerStore
  service: MailboxService
  rules: ImportRules
  runner?: JobRunner
  /** Ids of new jobs (default: random UUIDs). */
  newId?: () => string
  /** Clock for views (items per second), epoch ms; default Date.now. */
  now?: () => number
  /** Key for the list's page tokens (PAGE_TOKEN_SECRET); random per process when absent. */
  pageTokenSecret?: string
  /**
   * Most jobs a client may have that are not over (queued, running, paused, scheduled between passes:
   * MAX_ACTIVE_JOBS_PER_CLIENT); default DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT. Jobs made without a principal are not
   * counted.
   */
  maxActiveJobsPerClient?: number
}

/** Default MAX_ACTIVE_JOBS_PER_CLIENT. */
export const DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT = 100

const iso = (ms: number | undefined): string | undefined => ms !== undefined ? new Date(ms).toISOString() : undefined

function folderView (f: FolderProgress): JobView['folders'][number] {
  return {
    sourceId: f.sourceId,
    path: f.path,
    folderClass: f.folderClass,
    ...(f.targetId !== undefined ? { targetId: f.targetId } : {}),
    ...(f.action !== undefined ? { action: f.action } : {}),
    expected: f.expected,
    planned: f.planned,
    done: f.done,
    updated: f.updated ?? 0,
    deleted: f.deleted ?? 0,
    moved: f.moved ?? 0,
    failed: f.failed,
    skipped: f.skipped,
    matched: f.matched ?? 0,
    reconciled: f.reconciled ?? 0,
    resent: f.resent ?? 0,
    unresolved: f.unresolved ?? 0,
    bytes: f.bytes,
    complete: f.complete,
    ...(f.error !== undefined ? { error: f.error } : {}),
    ...(f.associated !== undefined ? { associated: associatedView(f.associated) } : {})
  }
}

function associatedView (a: AssociatedProgress): NonNullable<JobView['folders'][number]['associated']> {
  const { complete: _, ...shown } = a
  return shown
}

/** The view of a job: counts summed, throughput over the running time of this pass, ETA from the source's counts. */
export function jobView (job: CopyJob, now = Date.now()): JobView {
  const p = job.progress
  const folders = p.folders.map(folderView)
  const totals = {
    expected: 0,
    planned: 0,
    done: 0,
    updated: 0,
    deleted: 0,
    moved: 0,
    failed: 0,
    skipped: 0,
    matched: 0,
    reconciled: 0,
    resent: 0,
    unresolved: 0,
    bytes: 0
  }
  for (const f of folders) {
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += f[k]
  }
  const runningMs = p.runningMs + (job.state === 'running' ? Math.max(0, now - job.updatedAt) : 0)
  const rate = runningMs > 0 && totals.done > 0 ? totals.done / (runningMs / 1000) : undefined
  const left = Math.max(0, totals.expected - totals.done - totals.failed - totals.skipped - totals.matched)
  const { spec } = job
  return {
    id: job.id,
    state: job.state,
    dryRun: spec.dryRun,
    ...(spec.delta !== undefined ? { delta: spec.delta } : {}),
    source: spec.source,
    target: spec.target,
    createdAt: iso(job.createdAt) as string,
    updatedAt: iso(job.updatedAt) as string,
    ...(p.startedAt !== undefined ? { startedAt: iso(p.startedAt) } : {}),
    ...(p.finishedAt !== undefined ? { finishedAt: iso(p.finishedAt) } : {}),
    ...(p.nextPassAt !== undefined && job.state === 'completed' ? { nextPassAt: iso(p.nextPassAt) } : {}),
    pass: p.pass,
    phase: p.phase,
    totals,
    ...(rate !== undefined ? { itemsPerSecond: Math.round(rate * 100) / 100 } : {}),
    ...(rate !== undefined && job.state === 'running' ? { etaSeconds: Math.ceil(left / rate) } : {}),
    folders,
    failures: p.failures,
    ...(p.error !== undefined ? { error: p.error } : {}),
    ...(p.plan !== undefined ? { plan: p.plan } : {}),
    ...(p.verification !== undefined
      ? { verification: { ...p.verification, at: iso(p.verification.at) as string } }
      : {})
  }
}

/**
 * The request's shape (400 MBG_ERR_BAD_REQUEST): `subtree` selects below a source `folder` (a whole mailbox is
 * always its whole tree), and a target `folder` takes a source `folder`'s items (copying a whole mailbox below a
 * folder is not supported: its well-known folders would land there as ordinary folders).
 */
function checkShape (request: CopyJobRequest): void {
  if (request.source.folder === undefined && request.source.subtree === false) {
    throw new BadRequest('source.subtree false needs a source.folder: a whole mailbox is copied with its whole ' +
      'tree (name the folder to copy without its subfolders)')
  }
  if (request.dryRun === true && request.delta !== undefined) {
    throw new BadRequest('dryRun and delta together: a dry run plans once and writes nothing, so it has no passes ' +
      'to schedule (leave out delta, or dryRun)')
  }
  if (request.source.folder === undefined && request.target.folder !== undefined) {
    throw new BadRequest('target.folder needs a source.folder: a source folder\'s items go into the target folder; ' +
      'copying a whole mailbox below a folder is not supported (leave out target.folder to recreate the tree ' +
      'below the target\'s root, well-known folders mapped)')
  }
}

/** Which states each control leaves from, and where to. */
const CONTROLS = {
  pause: { from: ['queued', 'running', 'completed'], to: 'paused' },
  resume: { from: ['paused'], to: 'queued' },
  cancel: { from: ['queued', 'running', 'paused', 'completed'], to: 'canceled' },
  run: { from: ['completed', 'failed'], to: 'queued' }
} as const satisfies Record<string, { from: readonly JobState[], to: JobState }>

export type JobControl = keyof typeof CONTROLS

export class JobService {
  private readonly opts: JobServiceOptions
  private readonly now: () => number
  private readonly tokens: PageTokens
  private readonly maxActive: number

  constructor (opts: JobServiceOptions) {
    this.opts = opts
    this.now = opts.now ?? Date.now
    this.tokens = new PageTokens(opts.pageTokenSecret)
    this.maxActive = opts.maxActiveJobsPerClient ?? DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT
  }

  /**
   * Both mailboxes of a job, resolved again for `principal` (404 MBG_ERR_MAILBOX_NOT_FOUND when one is gone, 403
   * MBG_ERR_MAILBOX_FORBIDDEN when its allow-list no longer admits one): before a job is made to write again.
   */
  private async recheck (job: CopyJob, principal?: Caller): Promise<void> {
    if (principal === undefined) return
    await this.opts.service.resolve(job.spec.source.mailbox, undefined, principal)
    await this.opts.service.resolve(job.spec.target.mailbox, undefined, principal)
  }

  /** 409 MBG_ERR_JOB_LIMIT when `principal`'s client has as many jobs not over as it may have. */
  private async checkCapacity (principal?: Caller): Promise<void> {
    if (principal === undefined) return
    const active = await this.opts.jobs.countActive(principal.client)
    if (active >= this.maxActive) {
      throw new JobLimit(`client ${principal.client} has ${active} jobs that are not over (queued, running, ` +
        `paused or scheduled), at most ${this.maxActive} (MAX_ACTIVE_JOBS_PER_CLIENT); cancel some or wait until ` +
        'they are over')
    }
  }

  /**
   * Creates a copy job (state `queued`) after checking the request's shape (400, see `checkShape`), resolving both
   * mailboxes for `principal` (404 unknown, 403 outside its allow-list) and the folders (404), checking that this
   * deployment imports data across the two backend types (422 MBG_ERR_DATA_INCOMPATIBLE when `crossBackendImport`
   * is deny), that the target does not lie in the source (422 MBG_ERR_JOB_TARGET_IN_SOURCE, ./overlap.ts) and
   * that the client may have one more job that is not over (409 MBG_ERR_JOB_LIMIT).
   */
  async create (request: CopyJobRequest, principal?: Caller): Promise<JobView> {
    const { service } = this.opts
    checkShape(request)
    const source = await service.resolve(request.source.mailbox, undefined, principal)
    const target = await service.resolve(request.target.mailbox, undefined, principal)
    if (source.mailbox.type !== target.mailbox.type && this.opts.rules.crossBackendImport === 'deny') {
      throw new DataIncompatible(`this deployment does not import ${source.mailbox.type} data into a ` +
        `${target.mailbox.type} mailbox (crossBackendImport is deny)`)
    }
    const sourceTop = request.source.folder !== undefined
      ? await source.backend.getFolder(source.mailbox, parseFolderRef(request.source.folder))
      : undefined
    const targetTop = request.target.folder !== undefined
      ? await target.backend.getFolder(target.mailbox, parseFolderRef(request.target.folder))
      : undefined
    await refuseTargetInSource(source, target, {
      ...(sourceTop !== undefined ? { sourceTop } : {}),
      ...(targetTop !== undefined ? { targetTop } : {}),
      subtree: request.source.subtree ?? true
    })
    await this.checkCapacity(principal)
    const spec: CopyJobSpec = {
      source: {
        mailbox: source.mailbox.id,
        ...(request.source.folder !== undefined ? { folder: request.source.folder } : {}),
        subtree: request.source.subtree ?? true
      },
      target: {
        mailbox: target.mailbox.id,
        ...(request.target.folder !== undefined ? { folder: request.target.folder } : {})
      },
      dryRun: request.dryRun ?? false,
      ...(request.delta !== undefined ? { delta: { everySeconds: request.delta.everySeconds } } : {}),
      ...(request.verify === true ? { verify: true } : {})
    }
    const job = await this.opts.jobs.create<CopyJobSpec, CopyProgress>({
      id: this.opts.newId?.() ?? randomUUID(),
      kind: 'copy',
      spec,
      progress: emptyProgress(),
      ...(principal !== undefined ? { client: principal.client } : {})
    })
    this.opts.runner?.notify()
    return jobView(job, this.now())
  }

  /** The job, when it exists and `principal`'s client made it; 404 MBG_ERR_JOB_NOT_FOUND otherwise. */
  private async find (id: string, principal?: Caller): Promise<CopyJob> {
    const job = await this.opts.jobs.get<CopyJobSpec, CopyProgress>(id)
    if (job === undefined || job.kind !== 'copy' || (principal !== undefined && job.client !== principal.client)) {
      throw new JobNotFound(id.slice(0, 100))
    }
    return job
  }

  async get (id: string, principal?: Caller): Promise<JobView> {
    return jobView(await this.find(id, principal), this.now())
  }

  /**
   * Jobs of `principal`'s client, newest first. The store's cursor travels sealed (./page-tokens.ts), bound to
   * this listing and client: a token that was altered, or another client's, is a 400 MBG_ERR_BAD_REQUEST.
   */
  async list (query: { pageSize?: number, pageToken?: string }, principal?: Caller):
  Promise<{ jobs: JobView[], nextPageToken?: string }> {
    const scope = `jobs\0${principal?.client ?? ''}`
    const page = await this.opts.jobs.list({
      limit: query.pageSize ?? 50,
      ...(query.pageToken !== undefined ? { cursor: this.tokens.open(scope, query.pageToken) } : {}),
      ...(principal !== undefined ? { client: principal.client } : {})
    })
    const now = this.now()
    return {
      jobs: page.jobs.map((j) => jobView(j as CopyJob, now)),
      ...(page.nextCursor !== undefined ? { nextPageToken: this.tokens.seal(scope, page.nextCursor) } : {})
    }
  }

  /**
   * pause (queued or running → paused; a running job stops at its next checkpoint), resume (paused → queued),
   * cancel (queued, running or paused → canceled), run (completed or failed → queued, for another pass that copies
   * only what is new or changed). A scheduled job (`delta`) waiting for its next pass (completed) may be paused
   * (the schedule stops; resume starts the next pass) or canceled. 409 MBG_ERR_JOB_STATE from any other state.
   * Pausing or canceling a job whose verification is queued or running (phase `verify`) abandons the verification
   * only: the job goes back to the state it had before it (`completed` or `failed`), and a runner working it stops
   * at its next checkpoint without saving. Resume and run make the job write again: both mailboxes are resolved
   * again for `principal` first (403 MBG_ERR_MAILBOX_FORBIDDEN when its allow-list no longer admits one, 404 when
   * one is gone), and run counts against the client's active jobs (409 MBG_ERR_JOB_LIMIT).
   */
  async control (id: string, action: JobControl, principal?: Caller): Promise<JobView> {
    const rule = CONTROLS[action]
    for (;;) {
      const job = await this.find(id, principal)
      const verifying = job.progress.verifying
      if ((action === 'pause' || action === 'cancel') && verifying !== undefined &&
        (job.state === 'queued' || job.state === 'running' || job.state === 'paused')) {
        const next = await this.opts.jobs.update<CopyJobSpec, CopyProgress>(id, job.version, {
          state: verifying.after, progress: abandonVerification(job, this.now())
        })
        if (next === undefined) continue
        return jobView(next, this.now())
      }
      const waiting = job.state === 'completed' && job.spec.delta !== undefined
      if (!(rule.from as readonly JobState[]).includes(job.state) ||
        (job.state === 'completed' && action !== 'run' && !waiting)) {
        throw new JobStateConflict(`${action} a ${job.state} job`)
      }
      if (action === 'run' || action === 'resume') await this.recheck(job, principal)
      // A run makes a job that was over active again (a scheduled one between passes is counted already).
      if (action === 'run' && !waiting) await this.checkCapacity(principal)
      // Resuming a job paused between passes starts its next pass.
      const between = action === 'resume' && job.progress.phase === 'done'
      const progress = action === 'run' || between ? nextPass(job.progress) : undefined
      const next = await this.opts.jobs.update<CopyJobSpec, CopyProgress>(id, job.version, {
        // The lease stays: a runner working the job lets go of it itself, at its next checkpoint.
        state: rule.to,
        ...(progress !== undefined ? { progress } : {})
      })
      if (next === undefined) continue
      if (rule.to === 'queued') this.opts.runner?.notify()
      return jobView(next, this.now())
    }
  }

  /**
   * Queues a verification (./verify.ts) of a `completed` or `failed` job: it becomes `queued` with phase `verify`,
   * the runner compares source and target folder by folder, and the job goes back to the state it had, with
   * `verification` set. 409 MBG_ERR_JOB_STATE from any other state (a queued, running or paused job is mid-pass:
   * verify it once the pass is over, and a verification in progress shows phase `verify`) and for a dry run (nothing
   * was copied). Both mailboxes are resolved again for `principal` first (403 MBG_ERR_MAILBOX_FORBIDDEN, 404), and
   * a job that was over counts against the client's active jobs meanwhile (409 MBG_ERR_JOB_LIMIT). Pause or cancel
   * abandons a verification (see `control`).
   */
  async verify (id: string, principal?: Caller): Promise<JobView> {
    for (;;) {
      const job = await this.find(id, principal)
      if (job.state !== 'completed' && job.state !== 'failed') {
        throw new JobStateConflict(`verify a ${job.state} job${job.progress.phase === 'verify'
          ? ' (its verification is in progress)'
          : ''}`)
      }
      if (job.spec.dryRun) throw new JobStateConflict('verify a dry run (it copied nothing)')
      await this.recheck(job, principal)
      if (!(job.state === 'completed' && job.spec.delta !== undefined)) await this.checkCapacity(principal)
      const progress = job.progress
      startVerification(progress, job.state)
      const next = await this.opts.jobs.update<CopyJobSpec, CopyProgress>(id, job.version, {
        state: 'queued', progress
      })
      if (next === undefined) continue
      this.opts.runner?.notify()
      return jobView(next, this.now())
    }
  }
}

/**
 * The job's progress with its queued or running verification dropped: the phase it had before, the last
 * verification kept. A scheduled job going back to `completed` gets its next pass time if the verification that
 * followed its pass had kept it from getting one (the runner sets it once the verification is over).
 */
function abandonVerification (job: CopyJob, now: number): CopyProgress {
  const { verifying, ...rest } = job.progress
  const every = job.spec.delta?.everySeconds
  const schedule = verifying?.after === 'completed' && every !== undefined && !job.spec.dryRun &&
    rest.nextPassAt === undefined
  return {
    ...rest,
    phase: verifying?.phase ?? rest.phase,
    ...(schedule ? { nextPassAt: (rest.finishedAt ?? now) + every * 1000 } : {})
  }
}

/** The progress of another pass: the same folders, counts and failures afresh. */
function nextPass (p: CopyProgress): CopyProgress {
  // The last verification stays until another one finishes.
  return {
    ...emptyProgress(p.pass + 1),
    phase: 'pending',
    ...(p.verification !== undefined ? { verification: p.verification } : {})
  }
}
