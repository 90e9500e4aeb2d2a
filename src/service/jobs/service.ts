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
import { DataIncompatible, JobNotFound, JobStateConflict } from '../../errors.js'
import type { JobRecord, JobState, JobStore, LedgerStore } from '../../state/jobs.js'
import type { ImportRules } from '../items.js'
import type { MailboxService } from '../mailbox-service.js'
import { refuseTargetInSource } from './overlap.js'
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
}

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

  constructor (opts: JobServiceOptions) {
    this.opts = opts
    this.now = opts.now ?? Date.now
  }

  /**
   * Creates a copy job (state `queued`) after resolving both mailboxes for `principal` (404 unknown, 403 outside
   * its allow-list) and the source folder (404), and checking that this deployment imports data across the two
   * backend types (422 MBG_ERR_DATA_INCOMPATIBLE when `crossBackendImport` is deny), and that the target does
   * not lie in the source (422 MBG_ERR_JOB_TARGET_IN_SOURCE, ./overlap.ts).
   */
  async create (request: CopyJobRequest, principal?: Caller): Promise<JobView> {
    const { service } = this.opts
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

  /** Jobs of `principal`'s client, newest first. */
  async list (query: { pageSize?: number, pageToken?: string }, principal?: Caller):
  Promise<{ jobs: JobView[], nextPageToken?: string }> {
    const page = await this.opts.jobs.list({
      limit: query.pageSize ?? 50,
      ...(query.pageToken !== undefined ? { cursor: query.pageToken } : {}),
      ...(principal !== undefined ? { client: principal.client } : {})
    })
    const now = this.now()
    return {
      jobs: page.jobs.map((j) => jobView(j as CopyJob, now)),
      ...(page.nextCursor !== undefined ? { nextPageToken: page.nextCursor } : {})
    }
  }

  /**
   * pause (queued or running → paused; a running job stops at its next checkpoint), resume (paused → queued),
   * cancel (queued, running or paused → canceled), run (completed or failed → queued, for another pass that copies
   * only what is new or changed). A scheduled job (`delta`) waiting for its next pass (completed) may be paused
   * (the schedule stops; resume starts the next pass) or canceled. 409 MBG_ERR_JOB_STATE from any other state.
   */
  async control (id: string, action: JobControl, principal?: Caller): Promise<JobView> {
    const rule = CONTROLS[action]
    for (;;) {
      const job = await this.find(id, principal)
      const waiting = job.state === 'completed' && job.spec.delta !== undefined
      if (!(rule.from as readonly JobState[]).includes(job.state) ||
        (job.state === 'completed' && action !== 'run' && !waiting)) {
        throw new JobStateConflict(`${action} a ${job.state} job`)
      }
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
   * verify it once the pass is over) and for a dry run (nothing was copied).
   */
  async verify (id: string, principal?: Caller): Promise<JobView> {
    for (;;) {
      const job = await this.find(id, principal)
      if (job.state !== 'completed' && job.state !== 'failed') throw new JobStateConflict(`verify a ${job.state} job`)
      if (job.spec.dryRun) throw new JobStateConflict('verify a dry run (it copied nothing)')
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

/** The progress of another pass: the same folders, counts and failures afresh. */
function nextPass (p: CopyProgress): CopyProgress {
  // The last verification stays until another one finishes.
  return {
    ...emptyProgress(p.pass + 1),
    phase: 'pending',
    ...(p.verification !== undefined ? { verification: p.verification } : {})
  }
}
