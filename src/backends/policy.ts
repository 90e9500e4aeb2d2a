/**
 * The one retry/pacing policy, below the adapters.
 *
 * Adapters wrap every backend call in `policy.run(...)` and throw MBG_ERR_* errors
 * annotated (src/upstream/errors.ts) with `retry` (see RetryHint) and, when the
 * backend said how long to wait, `retryAfterMs`. For each attempt of a call the policy
 *   - fails fast with 503 MBG_ERR_UPSTREAM_UNAVAILABLE while the backend's circuit is open
 *     (opossum; a backend that keeps failing is left alone until a trial call passes),
 *   - waits for a slot in the backend's fair queue (src/backends/fair-queue.ts): caps per
 *     backend (Graph: per app registration) and per mailbox, served round-robin across
 *     mailboxes and callers; refuses with 503 MBG_ERR_OVERLOADED when the queue is full or
 *     the wait too long,
 *   - takes the attempt's cost from the mailbox's request and upload budgets
 *     (src/backends/budgets.ts), waiting for them to refill when that is within
 *     `maxInlineDelayMs`, else failing at once with 503 MBG_ERR_UPSTREAM_THROTTLED and
 *     Retry-After, without sending,
 *   - retries what is safe to retry, waiting what the backend asked for (Retry-After,
 *     EWS BackOffMilliseconds) or an exponential back-off with jitter, and gives up at
 *     once when the backend asks for a longer wait than a caller should sit through,
 *   - stops when the caller request's deadline passes (its signal aborted with a 504,
 *     src/upstream/deadline.ts): that error, or MBG_ERR_OUTCOME_UNKNOWN for a write cut off in flight.
 * It reports each step to a Telemetry (src/telemetry.ts).
 *
 * Background work (a copy job; `inBackground`) has no caller waiting on it: its calls wait for budgets and
 * throttling answers as long as it takes (up to `maxBackgroundDelayMs` a call), a throttling answer does not use up
 * one of the call's `maxAttempts`, and any wait before a call is sent ends at once when the work's `stop` fires
 * (503 MBG_ERR_SHUTTING_DOWN: not sent, send it again). So a job runs at the backend's ceiling and a 429 never
 * becomes an item failure, while a shutdown does not wait for a budget window to pass.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import CircuitBreaker from 'opossum'
import {
  OutcomeUnknown, ShuttingDown, UpstreamThrottled, UpstreamUnavailable, isGatewayError, type GatewayError
} from '../errors.js'
import { NO_TELEMETRY, type Telemetry } from '../telemetry.js'
import { annotate, type UpstreamAnnotations } from '../upstream/errors.js'
import { cutOffInFlight, deadlinePassed } from '../upstream/deadline.js'
import { memoryBudget, type Budget, type BudgetFactory, type BudgetLimit } from './budgets.js'
import { FairQueue, type Release } from './fair-queue.js'

/** When a backend's circuit opens and for how long (opossum options). */
export interface CircuitOptions {
  /** The circuit opens when more than this share of calls failed (percent)… */
  errorThresholdPercentage: number
  /** …among at least this many calls… */
  volumeThreshold: number
  /** …in a rolling window this long (ms). */
  windowMs: number
  /** Time an open circuit waits before it lets one trial call through (half-open), ms. */
  resetMs: number
}

export interface PolicyOptions {
  /** Concurrent calls per mailbox. */
  concurrency: number
  /** Attempts per call, the first included. */
  maxAttempts: number
  /**
   * Longest wait the policy absorbs (a backend's Retry-After; a call's budget waits together); a longer
   * one is passed to the caller (503 with Retry-After).
   */
  maxInlineDelayMs: number
  /**
   * Longest a call of background work (`inBackground`) waits in all, for budgets and throttling answers together;
   * past it, 503 MBG_ERR_UPSTREAM_THROTTLED as for any call. Default 15 min: three of Outlook's 5-minute upload
   * windows (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
   */
  maxBackgroundDelayMs: number
  /** Base of the exponential back-off when the backend gave no hint. */
  baseDelayMs: number
  /** Most calls waiting for a slot, per backend; one more is refused (MBG_ERR_OVERLOADED). */
  maxQueued: number
  /** Longest a call waits for a slot before it is refused (MBG_ERR_OVERLOADED), ms. */
  queueTimeoutMs: number
  circuit: CircuitOptions
}

/** What `new Policy` takes: any PolicyOptions, `circuit` key by key. */
export type PolicySettings = Partial<Omit<PolicyOptions, 'circuit'>> & { circuit?: Partial<CircuitOptions> }

export const DEFAULT_CIRCUIT: CircuitOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  windowMs: 10_000,
  resetMs: 30_000
}

export const DEFAULT_POLICY: PolicyOptions = {
  concurrency: 4,
  maxAttempts: 4,
  maxInlineDelayMs: 5000,
  maxBackgroundDelayMs: 900_000,
  baseDelayMs: 200,
  maxQueued: 1000,
  queueTimeoutMs: 60_000,
  circuit: DEFAULT_CIRCUIT
}

/** What one backend allows, registered by its adapter (`policy.register`). */
export interface BackendPacing {
  /** Concurrent calls of the backend, all mailboxes together (Graph: of its app registration). */
  concurrency: number
  /** Per mailbox (Graph: app + mailbox): requests, and bytes uploaded (import bodies). */
  budgets?: { requests?: BudgetLimit, uploadBytes?: BudgetLimit }
}

/** Budget settings of the configuration document (windows in seconds) as `BackendPacing` takes them (ms). */
export function budgetsOf (b: { requests?: BudgetSetting, uploadBytes?: BudgetSetting }): BackendPacing['budgets'] {
  const ms = (l: BudgetSetting): BudgetLimit => ({ limit: l.limit, windowMs: l.windowSec * 1000 })
  return {
    ...(b.requests !== undefined ? { requests: ms(b.requests) } : {}),
    ...(b.uploadBytes !== undefined ? { uploadBytes: ms(b.uploadBytes) } : {})
  }
}

/** `limit` units per `windowSec` seconds, as the configuration document writes a budget. */
export interface BudgetSetting { limit: number, windowSec: number }

export interface CallOptions {
  /** Configured backend name (`backends.<name>`): its caps, budgets and circuit. */
  backend: string
  /** EWS operation (`ExportItems`, …) or Graph action (`exportItems`, `importItem`, …), for telemetry. */
  operation: string
  /** Mailbox key, e.g. `${backend}:${mailboxAddress}`: the per-mailbox cap and budgets. */
  key: string
  idempotent: boolean
  /** Who asked (a request id; later an authenticated principal): round-robin within a mailbox. */
  caller?: string
  /** The caller's signal: a waiting call is removed at once, a back-off cut short. */
  signal?: AbortSignal
  /** What one attempt spends beyond one request: `uploadBytes`, the request body of an upload. */
  cost?: { uploadBytes?: number }
}

/** A backend's circuit as readiness shows it. */
export interface CircuitReport {
  state: 'closed' | 'open' | 'halfOpen'
  /** Open: when it opened (epoch ms) and how long until a trial call is let through (ms). */
  openedAt?: number
  retryInMs?: number
}

export interface PolicyStats { retries: number, gaveUp: number }

/** Background work in progress (a copy job's pass): see `inBackground`. */
export interface BackgroundWork {
  /** Graceful stop (shutdown, a lost lease): a call still waiting to be sent is not sent (MBG_ERR_SHUTTING_DOWN). */
  stop: AbortSignal
}

const background = new AsyncLocalStorage<BackgroundWork>()

/**
 * Runs `fn` as background work: every policy call made inside it (through the async calls it starts) waits for
 * budgets and throttling answers up to `maxBackgroundDelayMs` rather than `maxInlineDelayMs`, a throttling answer
 * (429, EWS ErrorServerBusy: MBG_ERR_UPSTREAM_THROTTLED) does not count against `maxAttempts`, and a wait before a
 * call is sent ends with 503 MBG_ERR_SHUTTING_DOWN when `work.stop` fires. For work no caller waits on (copy jobs).
 */
export async function inBackground<T> (work: BackgroundWork, fn: () => Promise<T>): Promise<T> {
  return await background.run(work, fn)
}

/** A throttling answer: the backend did nothing and says come back later (429, EWS ErrorServerBusy). */
function isThrottling (err: unknown): boolean {
  return isGatewayError(err) && err.code === 'MBG_ERR_UPSTREAM_THROTTLED'
}

/** What one call has waited so far (ms): for budgets, and for throttling answers of background work. */
interface Waited { budgetMs: number, throttledMs: number }

/** Longest back-off without a hint between throttled attempts of background work (ms). */
const MAX_BACKGROUND_BACKOFF_MS = 30_000

interface Backend {
  queue: FairQueue
  /** `what`: the budget as problems name it ("request", "upload"). */
  budgets: Array<{ budget: Budget, what: string, cost: (call: CallOptions) => number }>
  breaker: CircuitBreaker<[() => Promise<unknown>, CallOptions], unknown>
  openedAt?: number
}

/** Codes that say the backend itself is failing (transport failure, 5xx, timeout), for the circuit. */
const BACKEND_FAILURES = new Set(['MBG_ERR_UPSTREAM_UNAVAILABLE', 'MBG_ERR_UPSTREAM_TIMEOUT'])

/**
 * Whether a failed attempt counts against the backend's circuit: a transport failure, 5xx or
 * timeout. Not the caller's errors (4xx, not found, conflict), not throttling (pacing's business),
 * not a failure one item causes (`isolate`, `retryable: false`), not a call the caller aborted.
 */
export function isBackendFailure (err: unknown, call?: CallOptions): boolean {
  if (call?.signal?.aborted === true || !isGatewayError(err)) return false
  if (err.isolate === true || err.retryable === false) return false
  return BACKEND_FAILURES.has(err.code)
}

export class Policy {
  readonly options: PolicyOptions
  readonly stats: PolicyStats = { retries: 0, gaveUp: 0 }
  private readonly telemetry: Telemetry
  private readonly budgetFactory: BudgetFactory
  private readonly pacing = new Map<string, BackendPacing>()
  private readonly backends = new Map<string, Backend>()

  /**
   * @param options defaults: DEFAULT_POLICY (`circuit` merged key by key)
   * @param telemetry where calls, retries, waits and circuit changes are reported
   * @param budgets the budget store (in memory unless replicas share one)
   */
  constructor (options: PolicySettings = {}, telemetry: Telemetry = NO_TELEMETRY,
    budgets: BudgetFactory = memoryBudget) {
    this.options = { ...DEFAULT_POLICY, ...options, circuit: { ...DEFAULT_CIRCUIT, ...options.circuit } }
    this.telemetry = telemetry
    this.budgetFactory = budgets
  }

  /**
   * Sets what backend `name` allows (its adapter calls this once). A backend never registered has
   * no backend-wide cap and no budgets; the per-mailbox cap and its circuit apply still.
   */
  register (name: string, pacing: BackendPacing): void {
    this.pacing.set(name, pacing)
    const before = this.backends.get(name)
    this.backends.delete(name)
    this.backend(name, before?.breaker)
  }

  /** The circuit of backend `name` (closed for one that has made no call yet). */
  circuit (name: string): CircuitReport {
    const b = this.backends.get(name)
    if (b === undefined || b.breaker.closed) return { state: 'closed' }
    if (b.breaker.halfOpen) return { state: 'halfOpen' }
    const openedAt = b.openedAt ?? Date.now()
    return { state: 'open', openedAt, retryInMs: Math.max(0, openedAt + this.options.circuit.resetMs - Date.now()) }
  }

  /** Calls of backend `name` waiting for a slot, and holding one. */
  load (name: string): { queued: number, inFlight: number } {
    const q = this.backends.get(name)?.queue
    return { queued: q?.queued ?? 0, inFlight: q?.inFlight ?? 0 }
  }

  /** Stops the circuits' timers. */
  close (): void {
    for (const b of this.backends.values()) b.breaker.shutdown()
  }

  async run<T> (call: CallOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
    const b = this.backend(call.backend)
    const work = background.getStore()
    const waited: Waited = { budgetMs: 0, throttledMs: 0 }
    // Attempts that count against maxAttempts: for background work, throttling answers do not.
    let charged = 0
    for (let attempt = 1; ; attempt++) {
      const passed = deadlinePassed(call.signal)
      if (passed !== undefined) throw passed
      if (work?.stop.aborted === true) throw notSent()
      if (b.breaker.opened) throw this.circuitOpen(call.backend)
      const release = await this.admit(b, call, waited, work).catch((err: unknown) => {
        throw deadlinePassed(call.signal) ?? err
      })
      this.telemetry.inFlight(call.backend, 1)
      const started = performance.now()
      let delay: number
      try {
        const value = await b.breaker.fire(async () => await fn(attempt), call) as T
        this.report(call, 'ok', started)
        return value
      } catch (raw) {
        const cut = deadlinePassed(call.signal)
        if (cut !== undefined) {
          // Cut off in flight: a write may have been done.
          this.report(call, 'error', started, cut)
          throw call.idempotent ? cut : outcomeOf(cutOffInFlight(cut))
        }
        const err = (raw as { code?: unknown }).code === 'EOPENBREAKER' ? this.circuitOpen(call.backend) : raw
        if (err === raw) this.report(call, 'error', started, err)
        const free = work !== undefined && isThrottling(err)
        if (!free) charged++
        const d = free ? this.throttledDelay(err, call, attempt, waited) : this.retryDelay(err, call, charged)
        if (d === undefined) throw call.idempotent ? err : outcomeOf(err)
        if (free) waited.throttledMs += d
        delay = d
        this.telemetry.retry({
          backend: call.backend, operation: call.operation, code: codeOf(err), waitSeconds: d / 1000
        })
      } finally {
        release()
        this.telemetry.inFlight(call.backend, -1)
      }
      this.stats.retries++
      await pause(delay, call.signal, work)
    }
  }

  private report (call: CallOptions, outcome: 'ok' | 'error', started: number, err?: unknown): void {
    const seconds = (performance.now() - started) / 1000
    this.telemetry.backendCall({
      backend: call.backend,
      operation: call.operation,
      outcome,
      ...(outcome === 'error' ? { code: codeOf(err) } : {}),
      seconds
    })
  }

  /**
   * A slot, with the attempt's cost taken from the budgets. A budget without room gives the
   * slot back and waits (not holding it) until it refills, as long as the call's budget waits
   * stay within `maxInlineDelayMs`; past that, 503 MBG_ERR_UPSTREAM_THROTTLED with Retry-After.
   */
  private async admit (b: Backend, call: CallOptions, waited: Waited, work?: BackgroundWork): Promise<Release> {
    for (;;) {
      const queuedAt = performance.now()
      const signals = [call.signal, work?.stop].filter((s): s is AbortSignal => s !== undefined)
      const release = await b.queue.acquire(call.key, call.caller ?? '',
        signals.length > 1 ? AbortSignal.any(signals) : signals[0]).catch((err: unknown) => {
        throw work?.stop.aborted === true && call.signal?.aborted !== true ? notSent() : err
      })
      const queuedMs = performance.now() - queuedAt
      if (queuedMs >= 1) {
        this.telemetry.paced({ backend: call.backend, reason: 'concurrency', seconds: queuedMs / 1000 })
      }
      let wait: number
      let what = ''
      try {
        ({ wait, what } = await this.spend(b, call))
      } catch (err) {
        release()
        throw err
      }
      if (wait === 0) return release
      release()
      const most = work !== undefined ? this.options.maxBackgroundDelayMs : this.options.maxInlineDelayMs
      if (waited.budgetMs + waited.throttledMs + wait > most) {
        this.stats.gaveUp++
        throw annotate(new UpstreamThrottled(`the ${what} budget of backend ${call.backend} for this mailbox is ` +
          `spent; it has room again in ${Math.ceil(wait / 1000)} s`), { retryAfterMs: wait })
      }
      await pause(wait, call.signal, work)
      waited.budgetMs += wait
      this.telemetry.paced({ backend: call.backend, reason: 'budget', seconds: wait / 1000 })
    }
  }

  /** Takes the call's cost from every budget: 0, or the ms until all have room (nothing taken then). */
  private async spend (b: Backend, call: CallOptions): Promise<{ wait: number, what: string }> {
    const taken: Array<{ budget: Budget, cost: number }> = []
    for (const { budget, what, cost: costOf } of b.budgets) {
      const cost = costOf(call)
      const wait = await budget.take(call.key, cost)
      if (wait > 0) {
        for (const t of taken) await t.budget.refund(call.key, t.cost)
        return { wait, what }
      }
      taken.push({ budget, cost })
    }
    return { wait: 0, what: '' }
  }

  private circuitOpen (backend: string): GatewayError {
    const { retryInMs } = this.circuit(backend)
    return annotate(new UpstreamUnavailable(`circuit open: backend ${backend} keeps failing, calls are not sent ` +
      'until a trial call passes'), { retryAfterMs: retryInMs ?? this.options.circuit.resetMs })
  }

  private backend (name: string, breaker?: Backend['breaker']): Backend {
    let b = this.backends.get(name)
    if (b !== undefined) return b
    const pacing = this.pacing.get(name)
    const queue = new FairQueue(name, {
      backendConcurrency: pacing?.concurrency ?? Number.POSITIVE_INFINITY,
      mailboxConcurrency: this.options.concurrency,
      maxQueued: this.options.maxQueued,
      queueTimeoutMs: this.options.queueTimeoutMs
    }, (delta) => { this.telemetry.queued(name, delta) })
    const budgets: Backend['budgets'] = []
    const requests = pacing?.budgets?.requests
    if (requests !== undefined) {
      budgets.push({ budget: this.budgetFactory(`${name}:requests`, requests), what: 'request', cost: () => 1 })
    }
    const upload = pacing?.budgets?.uploadBytes
    if (upload !== undefined) {
      budgets.push({
        budget: this.budgetFactory(`${name}:uploadBytes`, upload),
        what: 'upload (bytes)',
        cost: (c) => c.cost?.uploadBytes ?? 0
      })
    }
    b = { queue, budgets, breaker: breaker ?? this.breaker(name) }
    this.backends.set(name, b)
    return b
  }

  private breaker (name: string): Backend['breaker'] {
    const c = this.options.circuit
    const breaker = new CircuitBreaker(async (fn: () => Promise<unknown>, _call: CallOptions) => await fn(), {
      name,
      timeout: false,
      errorThresholdPercentage: c.errorThresholdPercentage,
      volumeThreshold: c.volumeThreshold,
      rollingCountTimeout: c.windowMs,
      rollingCountBuckets: 10,
      resetTimeout: c.resetMs,
      // true: not a failure of the backend (see isBackendFailure).
      errorFilter: ((err: unknown, _fn: unknown, call: CallOptions) => !isBackendFailure(err, call)) as
        (err: unknown) => boolean
    })
    breaker.on('open', () => {
      const b = this.backends.get(name)
      if (b !== undefined) b.openedAt = Date.now()
      this.telemetry.circuit(name, 'open')
    })
    breaker.on('halfOpen', () => { this.telemetry.circuit(name, 'halfOpen') })
    breaker.on('close', () => { this.telemetry.circuit(name, 'closed') })
    return breaker
  }

  /**
   * Background work, a throttling answer: milliseconds to wait before the next attempt (the backend's hint, else
   * an exponential back-off up to MAX_BACKGROUND_BACKOFF_MS), or undefined to give up when the call's waits would
   * pass `maxBackgroundDelayMs`.
   */
  private throttledDelay (err: unknown, call: CallOptions, attempt: number, waited: Waited): number | undefined {
    const a = (err ?? {}) as UpstreamAnnotations
    if (a.retry === undefined || a.isolate === true || call.signal?.aborted === true) return undefined
    if (a.retry === 'idempotent' && !call.idempotent) return undefined
    const backoff = Math.min(MAX_BACKGROUND_BACKOFF_MS, this.options.baseDelayMs * 2 ** Math.min(attempt - 1, 20))
    const d = a.retryAfterMs ?? Math.round(backoff / 2 + Math.random() * backoff / 2)
    if (waited.budgetMs + waited.throttledMs + d > this.options.maxBackgroundDelayMs) {
      this.stats.gaveUp++
      return undefined
    }
    return d
  }

  /** Milliseconds to wait before the next attempt, or undefined to give up. */
  private retryDelay (err: unknown, call: CallOptions, attempt: number): number | undefined {
    const a = (err ?? {}) as UpstreamAnnotations
    // A batch refused for one of its items is split by the service (src/service/batches.ts), not sent again whole.
    if (a.retry === undefined || a.isolate === true) return undefined
    if (a.retry === 'idempotent' && !call.idempotent) return undefined
    if (attempt >= this.options.maxAttempts || call.signal?.aborted === true) { this.stats.gaveUp++; return undefined }
    const hinted = a.retryAfterMs
    if (hinted !== undefined && hinted > this.options.maxInlineDelayMs) { this.stats.gaveUp++; return undefined }
    const backoff = this.options.baseDelayMs * 2 ** (attempt - 1)
    return hinted ?? Math.round(backoff / 2 + Math.random() * backoff / 2)
  }
}

/** Waits `ms` before a call is sent; ends early with the deadline's error, or MBG_ERR_SHUTTING_DOWN at `work.stop`. */
async function pause (ms: number, signal: AbortSignal | undefined, work: BackgroundWork | undefined): Promise<void> {
  const signals = [signal, work?.stop].filter((s): s is AbortSignal => s !== undefined)
  const any = signals.length > 1 ? AbortSignal.any(signals) : signals[0]
  await sleep(ms, undefined, any !== undefined ? { signal: any } : undefined).catch((err: unknown) => {
    const passed = deadlinePassed(signal)
    if (passed !== undefined) throw passed
    if (signal?.aborted !== true && work?.stop.aborted === true) throw notSent()
    throw err
  })
}

/** A call of background work that was not sent because the work stopped. */
function notSent (): Error {
  return new ShuttingDown('the call was not sent; send it again')
}

function codeOf (err: unknown): string {
  return isGatewayError(err) ? err.code : 'MBG_ERR_INTERNAL'
}

/**
 * What a failed write that is not retried means to its caller. An error hinted `'idempotent'` says the
 * request went out and the answer was lost (reset, timeout, truncated or unreadable answer, a 5xx after
 * sending): for a write that is not idempotent the backend may have acted, so the caller gets
 * MBG_ERR_OUTCOME_UNKNOWN (not retryable: check first), never the "retry later" of the cause.
 * Other errors pass unchanged.
 */
export function outcomeOf (err: unknown): unknown {
  const a = (err ?? {}) as GatewayError
  if (a.retry !== 'idempotent') return err
  const unknown = annotate(new OutcomeUnknown(a.message ?? 'the answer was lost'), {
    ...(a.upstreamCode !== undefined ? { upstreamCode: a.upstreamCode } : {}),
    ...(a.upstreamRequestId !== undefined ? { upstreamRequestId: a.upstreamRequestId } : {})
  })
  unknown.cause = err
  return unknown
}
