/**
 * The one ordered batch runner. Items of a caller's batch (an array, or a stream read
 * as it comes) are cut into backend calls that fit the backend's limits (count and
 * bytes), run with a bounded number in flight, and their results handed back strictly
 * in input order as soon as each is known. Input is read only as fast as results are
 * taken: at most `concurrency` calls are started and not yet handed over.
 *
 * One bad item never fails its neighbours: a call the backend refused as a whole for
 * something an item may cause (an error annotated `isolate`, src/upstream/errors.ts) is
 * split in halves, each sent again through the same `run`, down to single items; the
 * culprit alone gets the error. A write whose outcome is unknown (MBG_ERR_OUTCOME_UNKNOWN)
 * is never split nor sent again: exactly the items of that call get it.
 */
import { isGatewayError, ShuttingDown } from '../errors.js'
import type { BatchLimits } from '../backends/mailbox-backend.js'

export interface OrderedRun<T, R> {
  /** Items a call may carry, calls in flight at once. */
  limits: BatchLimits
  /** Bytes an item counts against `limits.maxBytes` (for item data: base64 characters); default 0. */
  weight?: (item: T) => number
  /**
   * The result of an item refused before sending (checked once here, for every backend),
   * or undefined to send it. Refused items keep their place in the output.
   */
  refuse?: (item: T, index: number) => R | undefined
  /** Runs one call; resolves to one result per item of `batch`, in order. May be called again for parts of a batch. */
  run: (batch: T[], indices: number[], signal: AbortSignal) => Promise<R[]>
  /**
   * Per-item results for a call that failed as a whole (or, with MBG_ERR_SHUTTING_DOWN, for items
   * not sent because `stop` fired).
   */
  onBatchError: (batch: T[], indices: number[], error: unknown) => R[]
  /** A call of `size` items failed with an `isolate` error and is split in two. */
  onSplit?: (error: unknown, size: number) => void
  /** The caller's signal: stops calls in flight, starts no more; the run throws. */
  signal?: AbortSignal
  /**
   * Graceful stop (shutdown): no call starts after it fires; items not sent by then get a per-item
   * MBG_ERR_SHUTTING_DOWN (retryable) in their place. Calls in flight complete normally.
   */
  stop?: AbortSignal
}

interface Started<T, R> {
  items: T[]
  indices: number[]
  results: Promise<R[]>
}

/** The backend refused the call as a whole, did nothing, and an item may be the cause: split it. */
export function isIsolating (error: unknown): boolean {
  return (error as { isolate?: unknown } | undefined)?.isolate === true
}

/** A write was sent and its answer lost: the items of that call are done or not, nobody knows. */
function isOutcomeUnknown (error: unknown): boolean {
  return isGatewayError(error) && error.code === 'MBG_ERR_OUTCOME_UNKNOWN'
}

/**
 * Whether a whole-call failure concerns every item alike (throttled after the policy gave up,
 * credentials, configuration, a missing mailbox, a backend that is down), so that the request
 * may fail as a whole. Never for `isolate` errors nor unknown outcomes: those are per-item answers.
 */
export function concernsEveryItem (error: unknown): boolean {
  return !isIsolating(error) && !isOutcomeUnknown(error)
}

/**
 * Yields one result per input item, in input order.
 *
 * Whole-call failures: an `isolate` error splits the call (see the module doc); an unknown outcome
 * is a per-item result of that call's items. Any other error of the first call, before anything was
 * yielded, fails the whole run (with the call's own status, e.g. 503 and Retry-After) — but only
 * once every other call then in flight has failed as a whole in the same way: when one of them did
 * its work (or may have), the first call's items get per-item errors instead, so nothing done is
 * hidden behind an error for the request. Later whole-call failures become per-item results through
 * `onBatchError`. Stopping early, or the caller's signal, aborts the calls in flight; `stop` only
 * starts no more.
 */
export async function * runOrdered<T, R> (input: Iterable<T> | AsyncIterable<T>,
  job: OrderedRun<T, R>): AsyncGenerator<R> {
  const { limits, run, onBatchError } = job
  const weight = job.weight ?? (() => 0)
  const concurrency = Math.max(1, limits.concurrency)
  const source = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : toAsync(input[Symbol.iterator]())
  const abort = new AbortController()
  const onAbort = (): void => abort.abort(job.signal?.reason)
  job.signal?.addEventListener('abort', onAbort, { once: true })
  const stopped = (): boolean => job.stop?.aborted === true
  const gone = (): boolean => job.signal?.aborted === true
  const notSent = (items: T[], indices: number[]): R[] =>
    onBatchError(items, indices, new ShuttingDown('this item was not sent; send it again'))

  const inFlight: Array<Started<T, R>> = []
  const ready = new ReadyWindow<R>()
  let pending: { items: T[], indices: number[], bytes: number } = { items: [], indices: [], bytes: 0 }
  let read = 0
  let done = false
  let yielded = false

  /** One call, split in halves (sent one after the other) while the backend refuses it with an isolate error. */
  const execute = async (items: T[], indices: number[]): Promise<R[]> => {
    try {
      return await run(items, indices, abort.signal)
    } catch (err) {
      if (!isIsolating(err) || abort.signal.aborted) throw err
      if (items.length === 1) return onBatchError(items, indices, err)
      job.onSplit?.(err, items.length)
      const half = Math.ceil(items.length / 2)
      const first = await part(items.slice(0, half), indices.slice(0, half))
      return [...first, ...await part(items.slice(half), indices.slice(half))]
    }
  }
  /** A part of a split call: after a split every failure is per item. */
  const part = async (items: T[], indices: number[]): Promise<R[]> => {
    if (stopped()) return notSent(items, indices)
    try {
      return await execute(items, indices)
    } catch (err) {
      if (abort.signal.aborted) throw err
      return onBatchError(items, indices, err)
    }
  }

  const start = (): void => {
    const { items, indices } = pending
    pending = { items: [], indices: [], bytes: 0 }
    if (stopped()) {
      notSent(items, indices).forEach((r, k) => ready.set(indices[k], r))
      return
    }
    const results = execute(items, indices)
    results.catch(() => {}) // observed when its turn comes; avoids unhandled rejections for calls never reached
    inFlight.push({ items, indices, results })
  }
  /** Reads input until `concurrency` calls are waiting to be handed over, or the input ends. */
  const fill = async (): Promise<void> => {
    while (!done && inFlight.length < concurrency) {
      if (stopped() && pending.items.length > 0) start()
      // Nothing in flight and a window's worth of refusals waiting: hand those over first.
      if (inFlight.length === 0 && pending.items.length === 0 && ready.size >= limits.maxItems * concurrency) break
      const next = await source.next()
      if (next.done === true) {
        done = true
        if (pending.items.length > 0) start()
        break
      }
      const index = read++
      const refused = job.refuse?.(next.value, index)
      if (refused !== undefined) { ready.set(index, refused); continue }
      if (stopped()) { ready.set(index, notSent([next.value], [index])[0]); continue }
      const w = weight(next.value)
      if (pending.items.length > 0 && pending.bytes + w > limits.maxBytes) start()
      pending.items.push(next.value)
      pending.indices.push(index)
      pending.bytes += w
      if (pending.items.length >= limits.maxItems) start()
    }
  }

  /**
   * The first call failed as a whole with an error about every item: the run fails with it when every
   * other call in flight failed so too; when one did (or may have done) its work, it does not.
   */
  const othersFailedAlike = async (): Promise<boolean> => {
    const others = await Promise.allSettled(inFlight.map(async (c) => await c.results))
    return others.every((o) => o.status === 'rejected' && concernsEveryItem(o.reason))
  }

  /** Hands over every result whose turn has come. */
  function * takeReady (): Generator<R> {
    for (let r = ready.take(); r !== EMPTY; r = ready.take()) {
      yielded = true
      yield r as R
    }
  }

  try {
    for (;;) {
      // The caller went away: start nothing more (the calls in flight were aborted with it).
      if (gone()) throw job.signal?.reason
      await fill()
      const call = inFlight.shift()
      if (call === undefined) {
        if (done) break
        yield * takeReady()
        continue
      }
      let results: R[]
      try {
        results = await call.results
      } catch (err) {
        if (gone()) throw err
        if (!yielded && concernsEveryItem(err) && await othersFailedAlike()) throw err
        results = onBatchError(call.items, call.indices, err)
      }
      call.indices.forEach((index, k) => ready.set(index, results[k]))
      yield * takeReady()
    }
    yield * takeReady()
  } finally {
    job.signal?.removeEventListener('abort', onAbort)
    abort.abort()
    if (!done) await source.return?.()
  }
}

const EMPTY = Symbol('empty')

/**
 * Results waiting for their turn, by input index: an array from the next index to hand over on, taken from the
 * front. Not a Map: a Map that sees an entry set and deleted per item rehashes into new tables, and an obsolete
 * table keeps the entries it held; once one such table has reached the old generation, each newer table (and the
 * item data of its entries) is kept alive by the one before it until the next full collection, so the item data
 * of a long export piles up in the old generation (the flat-memory goal of a streamed export, bench/).
 */
class ReadyWindow<R> {
  private slots: Array<R | typeof EMPTY> = []
  private base = 0
  size = 0

  set (index: number, r: R): void {
    const k = index - this.base
    while (this.slots.length < k) this.slots.push(EMPTY)
    this.slots[k] = r
    this.size++
  }

  /** The result at the front, removed, or EMPTY when it is not known yet. */
  take (): R | typeof EMPTY {
    if (this.slots.length === 0 || this.slots[0] === EMPTY) return EMPTY
    const r = this.slots.shift() as R
    this.base++
    this.size--
    return r
  }
}

async function * toAsync<T> (it: Iterator<T>): AsyncGenerator<T> {
  for (let next = it.next(); next.done !== true; next = it.next()) yield next.value
}
