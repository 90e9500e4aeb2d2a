/**
 * The one retry/pacing policy, below the adapters.
 *
 * Adapters wrap every backend call in `policy.run(...)` and throw MBG_ERR_* errors
 * annotated (src/upstream/errors.ts) with `retry` (see RetryHint) and, when the
 * backend said how long to wait, `retryAfterMs`. The policy
 *   - caps concurrent calls per key (one key per backend mailbox),
 *   - retries what is safe to retry, waiting what the backend asked for
 *     (Retry-After, EWS BackOffMilliseconds) or an exponential back-off with jitter,
 *   - gives up at once when the backend asks for a longer wait than a caller should
 *     sit through, so the caller gets 503 with Retry-After instead of a hung request.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { OutcomeUnknown, type GatewayError } from '../errors.js'
import { annotate, type UpstreamAnnotations } from '../upstream/errors.js'
import { NO_TELEMETRY, type Telemetry } from '../telemetry.js'

export interface PolicyOptions {
  /** Concurrent calls per key. */
  concurrency: number
  /** Attempts per call, the first included. */
  maxAttempts: number
  /** Longest single wait the policy absorbs; a longer Retry-After is passed to the caller. */
  maxInlineDelayMs: number
  /** Base of the exponential back-off when the backend gave no hint. */
  baseDelayMs: number
}

export const DEFAULT_POLICY: PolicyOptions = {
  concurrency: 4,
  maxAttempts: 4,
  maxInlineDelayMs: 5000,
  baseDelayMs: 200
}

export interface CallOptions {
  /** Concurrency key, e.g. `${backend}:${mailboxAddress}`. */
  key: string
  idempotent: boolean
  signal?: AbortSignal
}

class Semaphore {
  private active = 0
  private readonly waiters: Array<() => void> = []
  constructor (private readonly limit: number) {}
  async acquire (): Promise<void> {
    if (this.active < this.limit) { this.active++; return }
    await new Promise<void>((resolve) => this.waiters.push(resolve))
  }

  release (): void {
    const next = this.waiters.shift()
    if (next !== undefined) next()
    else this.active--
  }

  get idle (): boolean { return this.active === 0 && this.waiters.length === 0 }
}

export interface PolicyStats { retries: number, gaveUp: number }

export class Policy {
  readonly options: PolicyOptions
  readonly stats: PolicyStats = { retries: 0, gaveUp: 0 }
  private readonly semaphores = new Map<string, Semaphore>()

  /** `telemetry`: where calls, retries and pacing are reported (src/metrics.ts); default nowhere. */
  constructor (options: Partial<PolicyOptions> = {}, readonly telemetry: Telemetry = NO_TELEMETRY) {
    this.options = { ...DEFAULT_POLICY, ...options }
  }

  async run<T> (call: CallOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let sem = this.semaphores.get(call.key)
      if (sem === undefined) {
        sem = new Semaphore(this.options.concurrency)
        this.semaphores.set(call.key, sem)
      }
      await sem.acquire()
      let delay: number
      try {
        return await fn(attempt)
      } catch (err) {
        const d = this.retryDelay(err, call, attempt)
        if (d === undefined) throw call.idempotent ? err : outcomeOf(err)
        delay = d
      } finally {
        sem.release()
        if (sem.idle) this.semaphores.delete(call.key)
      }
      this.stats.retries++
      await sleep(delay, undefined, call.signal !== undefined ? { signal: call.signal } : undefined)
    }
  }

  /** Milliseconds to wait before the next attempt, or undefined to give up. */
  private retryDelay (err: unknown, call: CallOptions, attempt: number): number | undefined {
    const a = (err ?? {}) as UpstreamAnnotations
    if (a.retry === undefined) return undefined
    if (a.retry === 'idempotent' && !call.idempotent) return undefined
    if (attempt >= this.options.maxAttempts || call.signal?.aborted === true) { this.stats.gaveUp++; return undefined }
    const hinted = a.retryAfterMs
    if (hinted !== undefined && hinted > this.options.maxInlineDelayMs) { this.stats.gaveUp++; return undefined }
    const backoff = this.options.baseDelayMs * 2 ** (attempt - 1)
    return hinted ?? Math.round(backoff / 2 + Math.random() * backoff / 2)
  }
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
