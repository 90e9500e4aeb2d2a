import t from 'tap'
import { Policy, type CallOptions } from '../../src/backends/policy.js'
import { UpstreamThrottled, UpstreamUnavailable } from '../../src/errors.js'
import { annotate } from '../../src/upstream/errors.js'

/** A call of backend `b` about mailbox `key`. */
const call = (key: string, idempotent: boolean): CallOptions => ({ backend: 'b', operation: 'op', key, idempotent })

const throttled = (ms: number): Error => annotate(new UpstreamThrottled('busy'), { retry: 'safe', retryAfterMs: ms })

t.test('retries what is safe, honouring the backend\'s wait', async (t) => {
  const p = new Policy({ baseDelayMs: 1 })
  let calls = 0
  // Order, not a stopwatch: a timer as long as the hint, set when the backend answers, has fired
  // before the next attempt exactly when the policy waited the hint (timers of one length run in order).
  let hintElapsed = true
  const unwaited: number[] = []
  const v = await p.run(call('k', false), async () => {
    calls++
    if (!hintElapsed) unwaited.push(calls)
    if (calls < 3) {
      hintElapsed = false
      setTimeout(() => { hintElapsed = true }, 30)
      throw throttled(30)
    }
    return 'ok'
  })
  t.equal(v, 'ok')
  t.equal(calls, 3)
  t.same(unwaited, [], 'waited the hinted back-off before each retry')
  t.equal(p.stats.retries, 2)
})

t.test('gives up at once on a long wait, so the caller gets Retry-After', async (t) => {
  const p = new Policy({ maxInlineDelayMs: 100 })
  let calls = 0
  await t.rejects(p.run(call('k', true), async () => {
    calls++
    throw throttled(60_000)
  }), { code: 'MBG_ERR_UPSTREAM_THROTTLED', retryAfter: 60 })
  t.equal(calls, 1)
})

t.test('an outcome-unknown failure is retried only for idempotent calls', async (t) => {
  const p = new Policy({ baseDelayMs: 1 })
  const fail = (): Error => Object.assign(new UpstreamUnavailable('reset'), { retry: 'idempotent' })
  let calls = 0
  await t.rejects(p.run(call('k', false), async () => { calls++; throw fail() }))
  t.equal(calls, 1, 'non-idempotent call not repeated')
  calls = 0
  await t.rejects(p.run(call('k', true), async () => { calls++; throw fail() }))
  t.equal(calls, 4, 'idempotent call tried maxAttempts times')
  calls = 0
  await t.rejects(p.run(call('k', true), async () => { calls++; throw new Error('plain') }))
  t.equal(calls, 1, 'unannotated errors are not retried')
})

t.test('caps concurrency per key, not across keys', async (t) => {
  const p = new Policy({ concurrency: 2 })
  let active = 0
  let peak = 0
  const job = async (): Promise<void> => {
    active++; peak = Math.max(peak, active)
    await new Promise((resolve) => setTimeout(resolve, 10))
    active--
  }
  await Promise.all(Array.from({ length: 8 }, async () => await p.run(call('a', true), job)))
  t.equal(peak, 2)
  peak = 0
  await Promise.all([
    ...Array.from({ length: 2 }, async () => await p.run(call('a', true), job)),
    ...Array.from({ length: 2 }, async () => await p.run(call('b', true), job))
  ])
  t.equal(peak, 4)
})
