/**
 * Request and upload budgets: how much of something (requests, upload bytes) one key (app + mailbox)
 * may spend per window, paced rather than hit.
 *
 * The policy (src/backends/policy.ts) takes from a budget just before a call goes out; when the
 * budget has no room it learns how long until it has, and waits or answers 503 with Retry-After.
 * The backends' own rules: Outlook allows 10,000 requests per 10 minutes and 150 MB upload per
 * 5 minutes per app + mailbox (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
 *
 * A budget is a sliding window, not a fixed one: Microsoft does not say where its windows start,
 * so whatever they are, no stretch of `windowMs` (plus a margin of `PACING_MARGIN_MS` or one slice,
 * whichever is more, for latency between here and the backend) may carry more than `limit`. The window
 * is kept as counters per slice of `windowMs / SLICES` in a rate-limiter-flexible store: in memory
 * now (RateLimiterMemory); replicas that share budgets need a shared store (RateLimiterPostgres), which
 * is one more implementation of `Budget`.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible'

/** `limit` units per `windowMs` milliseconds. */
export interface BudgetLimit {
  limit: number
  windowMs: number
}

/** One budget (one kind of cost, one limit), keyed by app + mailbox. */
export interface Budget {
  readonly limit: BudgetLimit
  /**
   * Takes `cost` units from `key` when the window has room for them and resolves 0; otherwise takes
   * nothing and resolves the milliseconds until it will have room (assuming nobody else takes any).
   * A cost above the limit counts as the whole limit (it could never fit otherwise).
   */
  take: (key: string, cost: number) => Promise<number>
  /** Gives back what `take` took, for a call that was not sent after all. */
  refund: (key: string, cost: number) => Promise<void>
}

/** Makes the budget `name` with `limit`; the policy calls it once per backend and kind. */
export type BudgetFactory = (name: string, limit: BudgetLimit) => Budget

/** Slices a window is counted in. */
export const SLICES = 20
/** Least extra history a budget looks back over, beyond its window (ms). */
export const PACING_MARGIN_MS = 1000

/** In-memory budgets (one process): rate-limiter-flexible's RateLimiterMemory as the counter store. */
export const memoryBudget: BudgetFactory = (name, limit) => new SlidingBudget(name, limit)

/** A sliding-window budget in this process; `now` is its clock (epoch ms, tests move it). */
export class SlidingBudget implements Budget {
  private readonly sliceMs: number
  /** Slices looked back over: the window plus the margin. */
  private readonly span: number
  private readonly store: RateLimiterMemory
  /** One take or refund at a time per budget: a read-then-write must not interleave with another. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (name: string, readonly limit: BudgetLimit, private readonly now: () => number = Date.now) {
    this.sliceMs = Math.max(1, Math.ceil(limit.windowMs / SLICES))
    this.span = SLICES + Math.max(1, Math.ceil(PACING_MARGIN_MS / this.sliceMs))
    // Counters only: `points` is never enforced by the store, the sum over the span is.
    this.store = new RateLimiterMemory({
      keyPrefix: `budget:${name}`,
      points: Number.MAX_SAFE_INTEGER,
      duration: Math.ceil(((this.span + 1) * this.sliceMs) / 1000)
    })
  }

  async take (key: string, cost: number): Promise<number> {
    const units = Math.min(Math.max(0, cost), this.limit.limit)
    if (units === 0) return 0
    return await this.serial(async () => {
      const now = this.now()
      const current = Math.floor(now / this.sliceMs)
      const counts = await this.counts(key, current)
      const used = counts.reduce((a, b) => a + b, 0)
      const excess = used + units - this.limit.limit
      if (excess <= 0) {
        await this.store.penalty(`${key}|${current}`, units)
        return 0
      }
      // Wait until enough of the oldest slices have left the span.
      let freed = 0
      for (let i = 0; i < counts.length; i++) {
        freed += counts[i]
        if (freed >= excess) {
          const slice = current - this.span + 1 + i
          return Math.max(1, (slice + this.span) * this.sliceMs - now)
        }
      }
      return this.span * this.sliceMs
    })
  }

  async refund (key: string, cost: number): Promise<void> {
    const units = Math.min(Math.max(0, cost), this.limit.limit)
    if (units === 0) return
    await this.serial(async () => {
      // From the newest slices back: the take may have landed in an earlier slice than the current one (time moved
      // on between the two); either way the sum over the span drops by what was taken.
      const current = Math.floor(this.now() / this.sliceMs)
      let left = units
      for (let s = current; s > current - this.span && left > 0; s--) {
        const res = await this.store.get(`${key}|${s}`)
        const back = Math.min(left, res?.consumedPoints ?? 0)
        if (back > 0) {
          await this.store.reward(`${key}|${s}`, back)
          left -= back
        }
      }
    })
  }

  /** Units taken per slice of the span ending at `current`, oldest first. */
  private async counts (key: string, current: number): Promise<number[]> {
    const out: number[] = []
    for (let s = current - this.span + 1; s <= current; s++) {
      const res = await this.store.get(`${key}|${s}`)
      out.push(res?.consumedPoints ?? 0)
    }
    return out
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }
}
