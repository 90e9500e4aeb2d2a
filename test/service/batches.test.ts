import t from 'tap'
import {
  isRetryable, OutcomeUnknown, ShuttingDown, TooLarge, UpstreamRejected, UpstreamThrottled
} from '../../src/errors.js'
import { runOrdered, type OrderedRun } from '../../src/service/batches.js'
import { annotate } from '../../src/upstream/errors.js'

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

/** A backend call that refuses any batch holding a poisoned item as a whole (annotated `isolate`). */
function poisoned (bad: Set<number>, calls: number[][]) {
  return async (batch: number[]): Promise<string[]> => {
    calls.push([...batch])
    if (batch.some((i) => bad.has(i))) {
      throw annotate(new UpstreamRejected('ErrorInternalServerError'), { isolate: true, upstreamCode: 'X' })
    }
    return batch.map((i) => `ok-${i}`)
  }
}
const perItem = (batch: number[], _indices: number[], err: unknown): string[] =>
  batch.map((i) => `${i}: ${(err as { code: string }).code}`)

t.test('a call refused as a whole for one item is halved down to that item; order is kept', async (t) => {
  const calls: number[][] = []
  const splits: number[] = []
  const out = await drain(runOrdered([0, 1, 2, 3, 4], {
    limits: big,
    run: poisoned(new Set([2]), calls),
    onBatchError: perItem,
    onSplit: (_err, size) => splits.push(size)
  }))
  t.same(out, ['ok-0', 'ok-1', '2: MBG_ERR_UPSTREAM_REJECTED', 'ok-3', 'ok-4'])
  t.same(calls, [[0, 1, 2, 3, 4], [0, 1, 2], [0, 1], [2], [3, 4]], 'halves, first half first, each through `run`')
  t.same(splits, [5, 3], 'two splits reported')

  calls.length = 0
  const two = await drain(runOrdered([0, 1, 2, 3, 4, 5, 6, 7], {
    limits: { ...big, maxItems: 4 },
    run: poisoned(new Set([1, 6]), calls),
    onBatchError: perItem
  }))
  t.same(two, ['ok-0', '1: MBG_ERR_UPSTREAM_REJECTED', 'ok-2', 'ok-3', 'ok-4', 'ok-5',
    '6: MBG_ERR_UPSTREAM_REJECTED', 'ok-7'], 'one culprit per call, each found')
  t.ok(calls.length <= 2 * (2 * 4 - 1), `${calls.length} calls`)
})

t.test('an isolate error is never the whole run\'s, even for the first call of one item', async (t) => {
  const out = await drain(runOrdered([7], { limits: big, run: poisoned(new Set([7]), []), onBatchError: perItem }))
  t.same(out, ['7: MBG_ERR_UPSTREAM_REJECTED'])
})

t.test('after a split, any failure of a part is per item; the other part still goes', async (t) => {
  const calls: number[][] = []
  const out = await drain(runOrdered([0, 1, 2, 3], {
    limits: big,
    run: async (batch) => {
      calls.push(batch)
      if (batch.length === 4) throw annotate(new TooLarge('request body'), { isolate: true })
      if (batch[0] === 0) throw annotate(new UpstreamThrottled('busy'), { retryAfterMs: 60_000 })
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem
  }))
  t.same(out, ['0: MBG_ERR_UPSTREAM_THROTTLED', '1: MBG_ERR_UPSTREAM_THROTTLED', 'ok-2', 'ok-3'])
})

t.test('whole-run errors: the first call fails the run only when no other call did its work', async (t) => {
  const throttled = (): Error => annotate(new UpstreamThrottled('busy'), { retryAfterMs: 60_000 })
  // Every call throttled: the request fails as a whole (503 with Retry-After for the caller).
  await t.rejects(drain(runOrdered([0, 1, 2, 3], {
    limits: { maxItems: 2, maxBytes: Infinity, concurrency: 2 },
    run: async () => { throw throttled() },
    onBatchError: perItem
  })), { code: 'MBG_ERR_UPSTREAM_THROTTLED' })
  // The second call, in flight at the same time, stored its items: they are reported, the first call's items
  // get per-item errors.
  const out = await drain(runOrdered([0, 1, 2, 3], {
    limits: { maxItems: 2, maxBytes: Infinity, concurrency: 2 },
    run: async (batch) => {
      if (batch[0] === 0) throw throttled()
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem
  }))
  t.same(out, ['0: MBG_ERR_UPSTREAM_THROTTLED', '1: MBG_ERR_UPSTREAM_THROTTLED', 'ok-2', 'ok-3'])
})

t.test('an unknown outcome is the per-item answer of exactly that call, never re-sent nor split', async (t) => {
  const calls: number[][] = []
  const out = await drain(runOrdered([0, 1, 2, 3, 4, 5], {
    limits: { maxItems: 2, maxBytes: Infinity, concurrency: 1 },
    run: async (batch) => {
      calls.push(batch)
      if (batch[0] === 0) throw new OutcomeUnknown('connection reset')
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem
  }))
  t.same(out, ['0: MBG_ERR_OUTCOME_UNKNOWN', '1: MBG_ERR_OUTCOME_UNKNOWN', 'ok-2', 'ok-3', 'ok-4', 'ok-5'],
    'the first call\'s unknown outcome does not fail the run; the other calls go on')
  t.same(calls, [[0, 1], [2, 3], [4, 5]], 'each call sent once')

  // Unknown within a split part: that part's items only.
  const parts: number[][] = []
  const split = await drain(runOrdered([0, 1, 2, 3], {
    limits: big,
    run: async (batch) => {
      parts.push(batch)
      if (batch.length === 4) throw annotate(new TooLarge('request body'), { isolate: true })
      if (batch[0] === 2) throw new OutcomeUnknown('connection reset')
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem
  }))
  t.same(split, ['ok-0', 'ok-1', '2: MBG_ERR_OUTCOME_UNKNOWN', '3: MBG_ERR_OUTCOME_UNKNOWN'])
  t.same(parts, [[0, 1, 2, 3], [0, 1], [2, 3]], 'the unknown part is not split further')
})

t.test('stop: no call starts after it; items not sent are MBG_ERR_SHUTTING_DOWN in place', async (t) => {
  const stop = new AbortController()
  const calls: number[][] = []
  let release: () => void = () => {}
  const out = drain(runOrdered([0, 1, 2, 3, 4, 5, 6], {
    limits: { maxItems: 2, maxBytes: Infinity, concurrency: 1 },
    refuse: (n) => n === 5 ? 'refused-5' : undefined,
    run: async (batch, _indices, signal) => {
      calls.push(batch)
      if (batch[0] === 0) await new Promise<void>((resolve) => { release = resolve })
      t.notOk(signal.aborted, 'a call in flight is not aborted by stop')
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem,
    stop: stop.signal
  }))
  while (calls.length === 0) await new Promise((resolve) => setImmediate(resolve))
  stop.abort()
  release()
  t.same(await out, ['ok-0', 'ok-1', '2: MBG_ERR_SHUTTING_DOWN', '3: MBG_ERR_SHUTTING_DOWN',
    '4: MBG_ERR_SHUTTING_DOWN', 'refused-5', '6: MBG_ERR_SHUTTING_DOWN'])
  t.same(calls, [[0, 1]], 'only the call in flight ran')
  t.equal(new ShuttingDown('x').statusCode, 503)
  t.ok(isRetryable(new ShuttingDown('x')), 'retryable')

  // Stop while a split is under way: parts not yet sent are not sent.
  const halted = new AbortController()
  const sent: number[][] = []
  const split = await drain(runOrdered([0, 1, 2, 3], {
    limits: big,
    run: async (batch) => {
      sent.push(batch)
      if (batch.length === 4) { halted.abort(); throw annotate(new TooLarge('request body'), { isolate: true }) }
      return batch.map((i) => `ok-${i}`)
    },
    onBatchError: perItem,
    stop: halted.signal
  }))
  t.same(split, ['0: MBG_ERR_SHUTTING_DOWN', '1: MBG_ERR_SHUTTING_DOWN', '2: MBG_ERR_SHUTTING_DOWN',
    '3: MBG_ERR_SHUTTING_DOWN'])
  t.same(sent, [[0, 1, 2, 3]])
})
