/**
 * The job runner inside the gateway process: claims runnable jobs from the job store (src/state/jobs.ts), runs
 * them, renews their lease while it does, and lets go of them at a shutdown (back to `queued`, so this or another
 * gateway takes them up again). A job whose runner died keeps its `running` state until its lease runs out; then
 * any runner claims it and goes on from its last checkpoint and the ledger. Pause and cancel are state changes
 * made by the API (src/service/jobs/service.ts); the runner sees them at its next checkpoint (after each page of
 * a folder's items) and stops there.
 */
import { randomUUID } from 'node:crypto'
import type { JobRecord, JobStore, LedgerStore } from '../../state/jobs.js'
import type { Telemetry } from '../../telemetry.js'
import type { Caller } from '../../access/caller.js'
import { isGatewayError, MailboxForbidden } from '../../errors.js'
import { inBackground } from '../../backends/policy.js'
import type { ImportRules } from '../items.js'
import type { MailboxService } from '../mailbox-service.js'
import { attributed, type WriteTally } from './attribution.js'
import { runCopyPass, type PassOutcome } from './copy.js'
import { runVerification, startVerification } from './verify.js'
import { emptyProgress, type CopyJobSpec, type CopyProgress } from './types.js'

/** Default lease of a running job: 60 s, renewed every third of it. */
export const DEFAULT_JOB_LEASE_MS = 60_000
/** Default wait between looks for runnable jobs when none is (ms); a new or resumed job wakes the runner at once. */
export const DEFAULT_JOB_POLL_MS = 5_000
/** Default jobs one gateway runs at once. */
export const DEFAULT_JOB_CONCURRENCY = 2

export interface JobRunnerOptions {
  jobs: JobStore
  ledger: LedgerStore
  service: MailboxService
  rules: ImportRules
  /** The gateway's stop signal (`fastify.stopping`). */
  stop: AbortSignal
  telemetry?: Telemetry
  /** Job lines name the job (`job`); backend writes of a job are logged at debug (./attribution.ts). */
  logger?: {
    info: (obj: object, msg: string) => void
    warn: (obj: object, msg: string) => void
    debug?: (obj: object, msg: string) => void
  }
  leaseMs?: number
  pollMs?: number
  concurrency?: number
  /**
   * The caller a job's client acts as now (CallerAuthenticator.workCaller): each pass resolves both mailboxes for
   * it, so a client removed from the configuration, or whose allow-list no longer admits a mailbox, gets no more
   * passes (the job fails with MBG_ERR_MAILBOX_FORBIDDEN). Absent: passes are not checked (tests, embedding).
   */
  workCaller?: (client: string) => Caller | undefined
  /** This runner's id (default: a random one). */
  owner?: string
  /** Clock for progress times (started, finished, running time), epoch ms; default Date.now. */
  now?: () => number
}

type Log = NonNullable<JobRunnerOptions['logger']>
const QUIET: Log = { info: () => {}, warn: () => {} }

export class JobRunner {
  readonly owner: string
  private readonly opts: JobRunnerOptions
  private readonly leaseMs: number
  private readonly pollMs: number
  private readonly concurrency: number
  private readonly log: Log
  private readonly now: () => number
  /** Fires at `stop` or `close`: no new claims, jobs halt at their next backend call boundary. */
  private readonly halt = new AbortController()
  /** Fires at `close` after the jobs had their chance to halt: calls in flight are aborted. */
  private readonly abort = new AbortController()
  private readonly running = new Set<Promise<void>>()
  /** Ends the runner's wait between looks; set only while it waits. */
  private wake: (() => void) | undefined
  /**
   * A wake-up came while the runner was not waiting (it was looking: queueing due jobs, claiming): it looks again
   * rather than wait. Without it a job queued during a look would wait a whole poll interval to be claimed.
   */
  private woken = false
  private loop: Promise<void> | undefined

  constructor (opts: JobRunnerOptions) {
    this.opts = opts
    this.owner = opts.owner ?? `runner-${randomUUID()}`
    this.leaseMs = opts.leaseMs ?? DEFAULT_JOB_LEASE_MS
    this.pollMs = opts.pollMs ?? DEFAULT_JOB_POLL_MS
    this.concurrency = opts.concurrency ?? DEFAULT_JOB_CONCURRENCY
    this.log = opts.logger ?? QUIET
    this.now = opts.now ?? Date.now
    opts.stop.addEventListener('abort', () => { this.halt.abort(); this.poke() }, { once: true })
  }

  /** Starts looking for jobs. */
  start (): void {
    this.loop ??= this.run()
  }

  /** A job became runnable: look now rather than at the next poll. */
  notify (): void {
    this.poke()
  }

  /** Ends the wait between looks, or, while the runner looks, makes it look again before it waits. */
  private poke (): void {
    this.woken = true
    this.wake?.()
  }

  /** Stops claiming, lets running jobs halt at their next checkpoint (they go back to `queued`), waits for them. */
  async close (): Promise<void> {
    this.halt.abort()
    this.poke()
    await this.loop
    await Promise.allSettled(this.running.values())
    this.abort.abort()
  }

  /**
   * Queues the next pass of every scheduled job (`spec.delta`) that completed a pass and whose `nextPassAt` is
   * due by this runner's clock. A paused or canceled job is not `completed`: its schedule stops. Of several
   * runners only one queues a job (optimistic versions); resolves how many it queued.
   */
  async queueDue (): Promise<number> {
    const now = this.now()
    let queued = 0
    let cursor: string | undefined
    do {
      const page = await this.opts.jobs.list({ limit: 200, ...(cursor !== undefined ? { cursor } : {}) })
      for (const job of page.jobs as Array<JobRecord<CopyJobSpec, CopyProgress>>) {
        const due = job.progress.nextPassAt
        if (job.state !== 'completed' || job.spec.delta === undefined || due === undefined || due > now) continue
        const next = await this.opts.jobs.update(job.id, job.version, {
          state: 'queued', progress: emptyProgress(job.progress.pass + 1)
        })
        if (next !== undefined) {
          queued++
          this.log.info({ job: job.id, pass: job.progress.pass + 1 }, 'scheduled job queued for its next pass')
        }
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return queued
  }

  private async run (): Promise<void> {
    // Due scheduled jobs are looked for once per wake-up or poll, not after every claim.
    let look = true
    while (!this.halt.signal.aborted) {
      // A wake-up from here on finds the runner looking: it looks again rather than wait (see `woken`).
      this.woken = false
      if (look) {
        look = false
        try {
          await this.queueDue()
        } catch (err) {
          this.log.warn({ err }, 'queueing scheduled jobs failed')
        }
      }
      if (this.running.size < this.concurrency) {
        let job: JobRecord | undefined
        try {
          job = await this.opts.jobs.claim(this.owner, this.leaseMs)
        } catch (err) {
          this.log.warn({ err }, 'job claim failed')
        }
        if (job !== undefined) {
          const worker: Promise<void> = this.work(job as JobRecord<CopyJobSpec, CopyProgress>)
            .finally(() => { this.running.delete(worker); this.poke() })
          this.running.add(worker)
          continue
        }
      }
      if (this.woken) { look = true; continue }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs)
        timer.unref()
        this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve() }
      })
      look = true
    }
  }

  /** Runs one claimed job until its pass is done, it halts at a checkpoint, or it fails. */
  /**
   * The caller a job of `client` acts as now; undefined when passes are not checked or the job has no client.
   * 403 MBG_ERR_MAILBOX_FORBIDDEN when the client is no longer configured.
   */
  private principal (client: string | undefined): Caller | undefined {
    if (this.opts.workCaller === undefined || client === undefined) return undefined
    const caller = this.opts.workCaller(client)
    if (caller === undefined) {
      throw new MailboxForbidden(`client ${client} is no longer configured: its jobs get no more passes`)
    }
    return caller
  }

  private async work (claimed: JobRecord<CopyJobSpec, CopyProgress>): Promise<void> {
    const { jobs, ledger, service } = this.opts
    const id = claimed.id
    let version = claimed.version
    const progress = claimed.progress
    const lost = new AbortController()
    const signal = AbortSignal.any([this.abort.signal, lost.signal])
    const stop = AbortSignal.any([this.halt.signal, lost.signal])
    let since = this.now()
    progress.startedAt ??= since
    const beat = setInterval(() => {
      jobs.heartbeat(id, this.owner, this.leaseMs).then((held) => {
        if (!held) { this.log.warn({ job: id }, 'job lease lost: another runner has it'); lost.abort() }
      }, () => {})
    }, Math.max(1, Math.floor(this.leaseMs / 3)))
    beat.unref()

    /**
     * Saves progress (and a state change) at the job's current version. When the job moved on meanwhile: taken by
     * another runner, save nothing and say stop; still ours and running, save again; back to `completed` or
     * `failed` (its verification abandoned by a pause or cancel, ./service.ts), or queued again without the
     * verification in hand (abandoned, then run again), let go of the lease without saving and say stop; paused
     * and resumed since (queued under our lease), running again; paused or canceled, save the progress, let go of
     * the lease and say stop.
     */
    const save = async (state?: 'completed' | 'failed' | 'queued'): Promise<boolean> => {
      const now = this.now()
      progress.runningMs += now - since
      since = now
      for (;;) {
        const changes = state !== undefined ? { progress, state, lease: null } : { progress }
        const next = await jobs.update(id, version, changes)
        if (next !== undefined) { version = next.version; return true }
        const current = await jobs.get(id)
        if (current === undefined) return false
        version = current.version
        if (current.lease?.owner !== this.owner) return false
        if (current.state === 'running') continue
        // A verification in hand that the stored job does not have: abandoned, or not saved yet.
        const unsaved = progress.verifying !== undefined &&
          (current.progress as CopyProgress | undefined)?.verifying === undefined
        if (current.state === 'completed' || current.state === 'failed' || (current.state === 'queued' && unsaved)) {
          const released = await jobs.update(id, version, { lease: null })
          if (released === undefined) continue
          this.log.info({ job: id, state: current.state }, 'job verification abandoned: stopped without saving')
          return false
        }
        if (current.state === 'queued' && state === undefined) {
          const again = await jobs.update(id, version, { state: 'running' })
          if (again !== undefined) version = again.version
          continue
        }
        if (current.state === 'paused' || current.state === 'canceled' || current.state === 'queued') {
          if (unsaved && progress.verifying !== undefined) {
            // Paused or canceled as the pass ended, before its verification was saved: the pass is what is kept.
            progress.phase = progress.verifying.phase
            delete progress.verifying
          }
          const kept = await jobs.update(id, version, { progress, lease: null })
          if (kept === undefined) continue
          this.log.info({ job: id, state: current.state }, 'job stopped at a checkpoint')
          return false
        }
        return false
      }
    }

    const writes: WriteTally = {}
    let ended: string = 'failed'
    try {
      const principal = this.principal(claimed.client)
      const source = await service.resolve(claimed.spec.source.mailbox, `job:${id}`, principal)
      const target = attributed(await service.resolve(claimed.spec.target.mailbox, `job:${id}`, principal), id,
        this.log, writes)
      this.log.info({
        job: id,
        pass: progress.pass,
        dryRun: claimed.spec.dryRun,
        source: { mailbox: source.mailbox.id, backend: source.backend.name },
        target: { mailbox: target.mailbox.id, backend: target.backend.name }
      }, 'job pass running')
      const ctx = {
        jobId: id,
        spec: claimed.spec,
        progress,
        source,
        target,
        service,
        ledger,
        rules: this.opts.rules,
        stop,
        signal,
        ...(this.opts.telemetry !== undefined ? { telemetry: this.opts.telemetry } : {}),
        checkpoint: async () => !stop.aborted && await save()
      }
      // A verification queued by `:verify` runs alone; `verify: true` runs one after each pass that completes.
      // Background work: its backend calls wait out budgets and 429s rather than fail (src/backends/policy.ts).
      let outcome: PassOutcome = 'done'
      if (progress.verifying === undefined) {
        outcome = await inBackground({ stop }, async () => await runCopyPass(ctx))
        if (outcome === 'done') progress.finishedAt = this.now()
        if (outcome === 'done' && claimed.spec.verify === true && !claimed.spec.dryRun) {
          startVerification(progress, 'completed')
          // Saved before the first folder: from here on a pause or cancel abandons the verification only.
          if (!await ctx.checkpoint()) outcome = 'halted'
        }
      }
      let final: 'completed' | 'failed' | undefined = 'completed'
      if (outcome === 'done' && progress.verifying !== undefined) {
        final = await inBackground({ stop }, async () => await runVerification({ ...ctx, now: this.now }))
        if (final === undefined) outcome = 'halted'
      }
      ended = outcome
      if (outcome === 'done') {
        const every = claimed.spec.delta?.everySeconds
        if (every !== undefined && !claimed.spec.dryRun && final === 'completed') {
          progress.nextPassAt = (progress.finishedAt ?? this.now()) + every * 1000
        }
        await save(final)
      } else if (!lost.signal.aborted) {
        // Halted: at a shutdown it goes back to the queue; after a pause or cancel save() already said so.
        if (this.halt.signal.aborted) await save('queued')
      }
    } catch (err) {
      if (lost.signal.aborted) return
      if (this.halt.signal.aborted && isGatewayError(err) && err.code === 'MBG_ERR_SHUTTING_DOWN') {
        await save('queued')
        return
      }
      if (progress.verifying !== undefined) {
        progress.phase = progress.verifying.phase
        delete progress.verifying
      }
      progress.error = isGatewayError(err)
        ? { code: err.code, message: err.message }
        : { code: 'MBG_ERR_INTERNAL', message: 'internal error' }
      if (!isGatewayError(err)) this.log.warn({ job: id, err }, 'job failed')
      progress.finishedAt = this.now()
      await save('failed').catch(() => {})
    } finally {
      clearInterval(beat)
      this.log.info({ job: id, pass: progress.pass, outcome: ended, writes }, 'job pass ended')
    }
  }
}
