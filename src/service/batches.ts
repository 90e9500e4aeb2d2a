/**
 * The one ordered batch runner. Items of a caller's batch (an array, or a stream read
 * as it comes) are cut into backend calls that fit the backend's limits (count and
 * bytes), run with a bounded number in flight, and their results handed back strictly
 * in input order as soon as each is known. Input is read only as fast as results are
 * taken: at most `concurrency` calls are started and not yet handed over.
 */
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
  /** Runs one call; resolves to one result per item of `batch`, in order. */
  run: (batch: T[], indices: number[], signal: AbortSignal) => Promise<R[]>
  /** Per-item results for a call that failed as a whole, once output has started. */
  onBatchError: (batch: T[], indices: number[], error: unknown) => R[]
  /** The caller's signal: stops calls in flight, starts no more. */
  signal?: AbortSignal
}

interface Started<T, R> {
  items: T[]
  indices: number[]
  results: Promise<R[]>
}

/**
 * Yields one result per input item, in input order. Nothing is yielded before the first
 * call settles, so when the first call fails as a whole the whole run fails (with the
 * call's own status, e.g. 503 and Retry-After); later whole-call failures become per-item
 * results through `onBatchError`. Stopping early, or the caller's signal, aborts the calls
 * in flight.
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

  const inFlight: Array<Started<T, R>> = []
  const ready = new Map<number, R>()
  let pending: { items: T[], indices: number[], bytes: number } = { items: [], indices: [], bytes: 0 }
  let read = 0
  let done = false
  let pos = 0
  let yielded = false

  const start = (): void => {
    const { items, indices } = pending
    pending = { items: [], indices: [], bytes: 0 }
    const results = run(items, indices, abort.signal)
    results.catch(() => {}) // observed when its turn comes; avoids unhandled rejections for calls never reached
    inFlight.push({ items, indices, results })
  }
  /** Reads input until `concurrency` calls are waiting to be handed over, or the input ends. */
  const fill = async (): Promise<void> => {
    while (!done && inFlight.length < concurrency) {
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
      const w = weight(next.value)
      if (pending.items.length > 0 && pending.bytes + w > limits.maxBytes) start()
      pending.items.push(next.value)
      pending.indices.push(index)
      pending.bytes += w
      if (pending.items.length >= limits.maxItems) start()
    }
  }

  /** Hands over every result whose turn has come. */
  function * takeReady (): Generator<R> {
    for (; ready.has(pos); pos++) {
      const r = ready.get(pos) as R
      ready.delete(pos)
      yielded = true
      yield r
    }
  }

  try {
    for (;;) {
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
        if (!yielded || job.signal?.aborted === true) throw err
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

async function * toAsync<T> (it: Iterator<T>): AsyncGenerator<T> {
  for (let next = it.next(); next.done !== true; next = it.next()) yield next.value
}
