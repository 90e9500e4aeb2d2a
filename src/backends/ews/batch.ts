/**
 * Runs the chunks of a batch call with a bounded number in flight while handing
 * results back strictly in input order. Indices outside every chunk (items that
 * failed validation) carry a preset result and are yielded in their place. Nothing
 * is yielded before the first chunk settles, so a call-level failure of the first
 * chunk can still fail the whole call.
 */
export interface ChunkRunner<R> {
  /** Number of inputs. */
  size: number
  /** Each chunk is an ascending list of input indices; chunks are in ascending order. */
  chunks: number[][]
  /** Results for indices that are in no chunk. */
  preset: Map<number, R>
  width: number
  run: (chunk: number[], signal: AbortSignal) => Promise<R[]>
  /** Per-item results for a chunk whose call failed as a whole, once output has started. */
  onChunkError: (chunk: number[], error: unknown) => R[]
  signal?: AbortSignal
}

export async function * runInOrder<R> (runner: ChunkRunner<R>): AsyncGenerator<R> {
  const { size, chunks, preset, width, run, onChunkError } = runner
  // Stops in-flight chunks when the consumer stops early or the caller goes away.
  const abort = new AbortController()
  const onAbort = (): void => abort.abort(runner.signal?.reason)
  runner.signal?.addEventListener('abort', onAbort, { once: true })
  const inFlight: Array<Promise<R[]>> = []
  let started = 0
  const startNext = (): void => {
    const chunk = chunks[started++]
    const p = run(chunk, abort.signal)
    p.catch(() => {}) // observed below; avoids unhandled rejections for chunks we never reach
    inFlight.push(p)
  }
  try {
    while (started < chunks.length && inFlight.length < Math.max(1, width)) startNext()
    // Validation failures may sit between or inside chunks: results wait here until their turn.
    const ready = new Map<number, R>(preset)
    let pos = 0
    let yielded = false
    for (let ci = 0; ci < chunks.length; ci++) {
      const chunk = chunks[ci]
      const current = inFlight.shift() as Promise<R[]>
      if (started < chunks.length) startNext()
      let results: R[]
      try {
        results = await current
      } catch (err) {
        // Nothing sent to the caller yet: the whole call fails with a proper status (e.g. 503 + Retry-After).
        if (!yielded || runner.signal?.aborted === true) throw err
        results = onChunkError(chunk, err)
      }
      chunk.forEach((index, k) => ready.set(index, results[k]))
      for (; ready.has(pos); pos++) {
        const r = ready.get(pos) as R
        ready.delete(pos)
        yield r
        yielded = true
      }
    }
    for (; pos < size; pos++) yield ready.get(pos) as R
  } finally {
    runner.signal?.removeEventListener('abort', onAbort)
    abort.abort()
  }
}

/** Splits indices into chunks of at most `count` entries and `bytes` total weight (an oversize entry goes alone). */
export function chunkIndices (indices: number[], count: number, bytes = Infinity,
  weight: (i: number) => number = () => 0): number[][] {
  const out: number[][] = []
  let cur: number[] = []
  let curBytes = 0
  for (const i of indices) {
    const w = weight(i)
    if (cur.length > 0 && (cur.length >= count || curBytes + w > bytes)) {
      out.push(cur)
      cur = []
      curBytes = 0
    }
    cur.push(i)
    curBytes += w
  }
  if (cur.length > 0) out.push(cur)
  return out
}
