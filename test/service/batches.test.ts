import t from 'tap'
import { runOrdered, type OrderedRun } from '../../src/service/batches.js'

const big = { maxItems: 100, maxBytes: Infinity, concurrency: 4 }

async function drain<R> (it: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = []
  for await (const r of it) out.push(r)
  return out
}

t.test('calls are cut by count and by bytes; a heavy item travels alone', async (t) => {
  const calls: number[][] = []
  const job = (limits: OrderedRun<number, number>['limits'],
    weight?: (n: number) => number): OrderedRun<number, number> => ({
    limits,
    ...(weight !== undefined ? { weight } : {}),
    run: async (batch, indices) => { calls.push(indices); return batch },
    onBatchError: (batch) => batch
  })
  t.same(await drain(runOrdered([10, 11, 12, 13, 14], job({ ...big, maxItems: 2 }))), [10, 11, 12, 13, 14])
  t.same(calls.splice(0), [[0, 1], [2, 3], [4]])
  const weights = [2_000, 5_000_000, 3_000, 10, 10]
  await drain(runOrdered([0, 1, 2, 3, 4], job({ ...big, maxBytes: 1_000_000 }, (i) => weights[i])))
  t.same(calls.splice(0), [[0], [1], [2, 3, 4]], 'the 5 MB item goes alone, its neighbours together')
  t.same(await drain(runOrdered([], job(big))), [])
  t.same(calls, [], 'no input, no call')
})

t.test('results come in input order, refused items in their place, at most `concurrency` calls waiting', async (t) => {
  let inFlight = 0
  let peak = 0
  const release: Array<() => void> = []
  const out: string[] = []
  const run = runOrdered<number, string>([0, 1, 2, 3, 4, 5], {
    limits: { maxItems: 2, maxBytes: Infinity, concurrency: 2 },
    refuse: (n, index) => n === 2 ? `refused-${index}` : undefined,
    run: async (batch) => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise<void>((resolve) => release.push(resolve))
      inFlight--
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: (batch) => batch.map((i) => `failed-${i}`)
  })
  const consumer = (async () => { for await (const r of run) out.push(r) })()
  const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
  while (release.length < 2) await tick()
  // Release the later call first: completion order must not change the order of results.
  release.pop()?.()
  release.shift()?.()
  while (release.length < 1) await tick()
  release.shift()?.()
  await consumer
  t.same(out, ['ok-0', 'ok-1', 'refused-2', 'ok-3', 'ok-4', 'ok-5'])
  t.equal(peak, 2, 'never more than two calls at once')
})

t.test('a stream is read only as fast as results are taken', async (t) => {
  let produced = 0
  async function * source (): AsyncGenerator<number> {
    for (let i = 0; i < 1000; i++) { produced++; yield i }
  }
  const run = runOrdered<number, number>(source(), {
    limits: { maxItems: 10, maxBytes: Infinity, concurrency: 2 },
    run: async (batch) => batch,
    onBatchError: (batch) => batch
  })
  const taken: number[] = []
  for await (const r of run) {
    taken.push(r)
    if (taken.length === 5) break
  }
  t.ok(produced <= 30, `read ${produced} of 1000 items to hand over 5 (window of 2 calls of 10)`)
})

t.test('the first call failing as a whole fails the run; a later one fails only its items', async (t) => {
  const failing = (bad: number) =>
    runOrdered<number, string>([0, 1, 2, 3], {
      limits: { maxItems: 2, maxBytes: Infinity, concurrency: 1 },
      run: async (batch) => {
        if (batch[0] === bad) throw new Error(`call ${bad} failed`)
        return batch.map((i) => `ok-${i}`)
      },
      onBatchError: (batch, _indices, err) => batch.map((i) => `${i}: ${(err as Error).message}`)
    })
  await t.rejects(drain(failing(0)), { message: 'call 0 failed' })
  t.same(await drain(failing(2)), ['ok-0', 'ok-1', '2: call 2 failed', '3: call 2 failed'])
})

t.test('only refusals: handed over a window at a time, never read all at once', async (t) => {
  let produced = 0
  function * source (): Generator<number> {
    for (let i = 0; i < 10_000; i++) { produced++; yield i }
  }
  const run = runOrdered<number, number>(source(), {
    limits: { maxItems: 5, maxBytes: Infinity, concurrency: 2 },
    refuse: (n) => -n,
    run: async (batch) => batch,
    onBatchError: (batch) => batch
  })
  const out: number[] = []
  for await (const r of run) { out.push(r); if (out.length === 3) break }
  t.same(out, [-0, -1, -2])
  t.ok(produced <= 20, `read ${produced} items`)
})

t.test('stopping early or the caller aborting stops the calls in flight', async (t) => {
  const signals: AbortSignal[] = []
  const run = runOrdered<number, number>([0, 1, 2], {
    limits: { maxItems: 1, maxBytes: Infinity, concurrency: 3 },
    run: async (batch, _indices, signal) => {
      signals.push(signal)
      if (batch[0] === 0) return [0]
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      return batch
    },
    onBatchError: (batch) => batch
  })
  // Take the first result, then stop early (what a `break` out of `for await` does).
  t.equal((await run.next()).value, 0)
  await run.return(undefined)
  t.equal(signals.length, 3)
  t.ok(signals.every((s) => s.aborted), 'every call was told to stop')

  const caller = new AbortController()
  const seen: AbortSignal[] = []
  const aborted = runOrdered<number, number>([0, 1], {
    limits: { maxItems: 1, maxBytes: Infinity, concurrency: 2 },
    run: async (batch, _indices, signal) => {
      seen.push(signal)
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      throw new Error('aborted')
    },
    onBatchError: (batch) => batch,
    signal: caller.signal
  })
  const result = drain(aborted)
  while (seen.length < 2) await new Promise((resolve) => setImmediate(resolve))
  caller.abort()
  await t.rejects(result, { message: 'aborted' })
  t.ok(seen.every((s) => s.aborted), 'the caller going away stops every call')
})
