/**
 * One annotation for every upstream failure: retry hint and wait for the policy,
 * whole-second Retry-After and upstream ids for the caller.
 */
import t from 'tap'
import { UpstreamThrottled, UpstreamUnavailable } from '../../src/errors.js'
import { annotate, retryAfterSeconds } from '../../src/upstream/errors.js'

t.test('the wait becomes whole seconds for the caller, rounded up, at least 1', async (t) => {
  t.equal(retryAfterSeconds(2500), 3)
  t.equal(retryAfterSeconds(60_000), 60)
  t.equal(retryAfterSeconds(1), 1)
  t.equal(retryAfterSeconds(0), 1, 'a caller given a 503 is never told to come back at once')
  t.equal(retryAfterSeconds(-1), undefined)
  t.equal(retryAfterSeconds(Number.NaN), undefined)
  t.equal(retryAfterSeconds(Number.POSITIVE_INFINITY), undefined)
})

t.test('annotate sets the hints on the same error and skips what is undefined', async (t) => {
  const e = new UpstreamThrottled('busy')
  const a = annotate(e, {
    retry: 'safe', retryAfterMs: 2500, upstreamCode: 'ErrorServerBusy', upstreamRequestId: 'r-1'
  })
  t.equal(a, e)
  t.match(a, {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retry: 'safe',
    retryAfterMs: 2500,
    retryAfter: 3,
    upstreamCode: 'ErrorServerBusy',
    upstreamRequestId: 'r-1'
  })

  const plain = annotate(new UpstreamUnavailable('reset'),
    { retry: 'idempotent', retryAfterMs: undefined, upstreamCode: undefined })
  t.same(Object.keys(plain).filter((k) => /retry|upstream/i.test(k)), ['retry'], 'undefined details are not set')

  const first = annotate(new UpstreamUnavailable('x'), { upstreamCode: 'A', retryAfterMs: 1000 })
  const kept = annotate(first, { upstreamRequestId: 'r-2' })
  t.match(kept, { upstreamCode: 'A', upstreamRequestId: 'r-2', retryAfterMs: 1000, retryAfter: 1 })

  const zero = annotate(new UpstreamThrottled('now'), { retry: 'safe', retryAfterMs: 0 })
  t.match(zero, { retryAfterMs: 0, retryAfter: 1 })

  const bad = annotate(new UpstreamThrottled('bad'), { retryAfterMs: -5 })
  t.notOk('retryAfterMs' in bad)
  t.notOk('retryAfter' in bad)
})
