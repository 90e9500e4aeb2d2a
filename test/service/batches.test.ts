import t from 'tap'
import { planBatches, runOrdered } from '../../src/service/batches.js'

t.test('planBatches cuts by count and by bytes; a heavy entry travels alone', async (t) => {
  t.same(planBatches([0, 1, 2, 3, 4], { maxItems: 2, maxBytes: Infinity }), [[0, 1], [2, 3], [4]])
  const weights = [2_000, 5_000_000, 3_000, 10, 10]
  t.same(planBatches([0, 1, 2, 3, 4], { maxItems: 10, maxBytes: 1_000_000 }, (i) => weights[i]), [[0], [1], [2, 3, 4]])
  t.same(planBatches([1, 3], { maxItems: 1, maxBytes: 10 }), [[1], [3]], 'positions left out are not planned')
  t.same(planBatches([], { maxItems: 3, maxBytes: 10 }), [])
})

t.test('runOrdered yields in input order, presets in place, at most `concurrency` batches in flight', async (t) => {
  let inFlight = 0
  let peak = 0
  const release: Array<() => void> = []
  const out: string[] = []
  const run = runOrdered<string>({
    size: 6,
    batches: [[0, 1], [3], [4, 5]],
    preset: new Map([[2, 'refused-2']]),
    concurrency: 2,
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
  // Release the batches last-first: order of completion must not change the order of results.
  while (release.length < 2) await new Promise((resolve) => setImmediate(resolve))
  release.pop()?.()
  release.shift()?.()
  while (release.length < 1) await new Promise((resolve) => setImmediate(resolve))
  release.shift()?.()
  await consumer
  t.same(out, ['ok-0', 'ok-1', 'refused-2', 'ok-3', 'ok-4', 'ok-5'])
  t.equal(peak, 2, 'never more than two batches at once')
})

t.test('the first batch failing as a whole fails the call; a later one fails only its items', async (t) => {
  const failing = (bad: number) => runOrdered<string>({
    size: 4,
    batches: [[0, 1], [2, 3]],
    concurrency: 1,
    run: async (batch) => { if (batch[0] === bad) throw new Error(`batch ${bad} failed`); return batch.map((i) => `ok-${i}`) },
    onBatchError: (batch, err) => batch.map((i) => `${i}: ${(err as Error).message}`)
  })
  await t.rejects(async () => { for await (const _ of failing(0)) { /* drain */ } }, { message: 'batch 0 failed' })
  const out: string[] = []
  for await (const r of failing(2)) out.push(r)
  t.same(out, ['ok-0', 'ok-1', '2: batch 2 failed', '3: batch 2 failed'])
})

t.test('stopping early or the caller aborting stops the batches in flight', async (t) => {
  const signals: AbortSignal[] = []
  const run = runOrdered<number>({
    size: 3,
    batches: [[0], [1], [2]],
    concurrency: 3,
    run: async (batch, signal) => {
      signals.push(signal)
      if (batch[0] === 0) return [0]
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      return [batch[0]]
    },
    onBatchError: (batch) => batch
  })
  for await (const r of run) { t.equal(r, 0); break }
  t.equal(signals.length, 3)
  t.ok(signals.every((s) => s.aborted), 'every batch was told to stop')
})
