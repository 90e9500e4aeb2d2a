/**
 * The one ordered batch runner: a caller's batch is split into backend calls that fit
 * the backend's limits (count and bytes), run with a bounded number in flight, and the
 * results are handed back strictly in input order as soon as each is known.
 */
import type { BatchLimits } from '../backends/mailbox-backend.js'

/**
 * Splits input positions into batches of at most `limits.maxItems` entries and
 * `limits.maxBytes` total weight; an entry heavier than `maxBytes` travels alone.
 * @param indices ascending input positions to send (positions left out get preset results)
 * @param weight bytes of the entry at a position (for items: base64 characters)
 * @returns ascending batches of ascending positions
 */
export function planBatches (indices: number[], limits: Pick<BatchLimits, 'maxItems' | 'maxBytes'>,
  weight: (index: number) => number = () => 0): number[][] {
  const out: number[][] = []
  let current: number[] = []
  let bytes = 0
  for (const i of indices) {
    const w = weight(i)
    if (current.length > 0 && (current.length >= limits.maxItems || bytes + w > limits.maxBytes)) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(i)
    bytes += w
  }
  if (current.length > 0) out.push(current)
  return out
}

export interface OrderedRun<R> {
  /** Number of inputs; one result is yielded per input. */
  size: number
  /** From planBatches: ascending batches of ascending positions. */
  batches: number[][]
  /** Results for positions in no batch (refused before sending), yielded in their place. */
  preset?: Map<number, R>
  /** Batches in flight at once (at least 1). */
  concurrency: number
  /** Runs one batch; resolves to one result per position of the batch, in order. */
  run: (batch: number[], signal: AbortSignal) => Promise<R[]>
  /** Per-item results for a batch whose call failed as a whole, once output has started. */
  onBatchError: (batch: number[], error: unknown) => R[]
  /** The caller's signal: stops batches in flight and starts no more. */
  signal?: AbortSignal
}

/**
 * Yields one result per input position, in order. At most `concurrency` batches are
 * started and not yet handed over, so results waiting for their turn stay bounded.
 * Nothing is yielded before the first
 * batch settles, so when the first batch fails as a whole the whole call still fails
 * (with its own status, e.g. 503 and Retry-After); later whole-batch failures become
 * per-item results through `onBatchError`. Stopping early (or the caller's signal)
 * aborts the batches in flight.
 */
export async function * runOrdered<R> (job: OrderedRun<R>): AsyncGenerator<R> {
  const { size, batches, concurrency, run, onBatchError } = job
  const abort = new AbortController()
  const onAbort = (): void => abort.abort(job.signal?.reason)
  job.signal?.addEventListener('abort', onAbort, { once: true })
  const inFlight: Array<Promise<R[]>> = []
  let started = 0
  const startNext = (): void => {
    const p = run(batches[started++], abort.signal)
    p.catch(() => {}) // observed below; avoids unhandled rejections for batches never reached
    inFlight.push(p)
  }
  try {
    while (started < batches.length && inFlight.length < Math.max(1, concurrency)) startNext()
    const ready = new Map<number, R>(job.preset)
    let pos = 0
    let yielded = false
    for (const batch of batches) {
      let results: R[]
      try {
        results = await (inFlight.shift() as Promise<R[]>)
      } catch (err) {
        if (!yielded || job.signal?.aborted === true) throw err
        results = onBatchError(batch, err)
      }
      // A window of `concurrency` batches: the next starts once this one is in hand.
      if (started < batches.length) startNext()
      batch.forEach((index, k) => ready.set(index, results[k]))
      for (; ready.has(pos); pos++) {
        const r = ready.get(pos) as R
        ready.delete(pos)
        yield r
        yielded = true
      }
    }
    for (; pos < size; pos++) yield ready.get(pos) as R
  } finally {
    job.signal?.removeEventListener('abort', onAbort)
    abort.abort()
  }
}
