/**
 * Upstream trouble as callers see it: short back-offs are absorbed by the policy,
 * long ones become 503 + Retry-After, bad credentials 502, dead backends 503,
 * all as problem+json, for both backend types.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, registerSecret } from '../helper.js'

const ews = encodeURIComponent(MAILBOXES.ews.primary)
const graph = encodeURIComponent(MAILBOXES.graph.primary)

t.test('EWS ErrorServerBusy: a short BackOffMilliseconds is waited out, a long one is passed on', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.ews.faults.serverBusy = 2
  sims.ews.faults.backOffMs = 40
  const ok = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })
  t.equal(ok.statusCode, 200, 'retried transparently')
  t.equal(sims.ews.faults.serverBusy, 0, 'both faults fired')

  sims.ews.faults.serverBusy = 1
  sims.ews.faults.backOffMs = 45_000
  const busy = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })
  t.equal(busy.statusCode, 503)
  t.equal(busy.headers['retry-after'], '45')
  t.match(json(busy), { code: 'MBG_ERR_UPSTREAM_THROTTLED', upstreamCode: 'ErrorServerBusy', retryAfter: 45 })
  t.match(busy.headers['content-type'], /application\/problem\+json/)
})

t.test('EWS HTTP 503 and dropped connections are retried for reads', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.ews.faults.http503 = 1
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })).statusCode, 200)
  sims.ews.faults.reset = 1
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })).statusCode, 200)
  sims.ews.faults.http503 = 10
  const down = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })
  t.equal(down.statusCode, 503)
  t.equal(json(down).code, 'MBG_ERR_UPSTREAM_UNAVAILABLE')
})

t.test('Graph 429: short Retry-After absorbed, long one passed on', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  // warm up discovery and tokens first, so the fault hits the folder call
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${graph}` })).statusCode, 200)
  sims.graph.faults.throttle = 1
  sims.graph.faults.retryAfterSec = 0
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${graph}/folders/inbox` })).statusCode, 200)
  sims.graph.faults.throttle = 1
  sims.graph.faults.retryAfterSec = 120
  const busy = await app.inject({ method: 'GET', url: `/mailboxes/${graph}/folders/inbox` })
  t.equal(busy.statusCode, 503)
  t.equal(busy.headers['retry-after'], '120')
  t.equal(json(busy).code, 'MBG_ERR_UPSTREAM_THROTTLED')
})

t.test('wrong credentials are a 502 naming the setting to fix, not a 500', async (t) => {
  registerSecret('wrong-password', 'wrong-secret')
  const { app } = await buildTestGateway(t, {
    configure (c) {
      const e = c.backends['onprem-ews']
      if (e.type === 'ews' && e.auth.kind === 'basic') e.auth.password = 'wrong-password'
      const g = c.backends['exo-graph']
      if (g.type === 'graph') g.clientSecret = 'wrong-secret'
    }
  })
  const e = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })
  t.equal(e.statusCode, 502)
  t.equal(json(e).code, 'MBG_ERR_BACKEND_MISCONFIGURED')
  t.match(json(e).detail, /backends\.onprem-ews\.auth\.password/)
  t.notMatch(e.body, /wrong-password/)
  const g = await app.inject({ method: 'GET', url: `/mailboxes/${graph}/folders/inbox` })
  t.equal(g.statusCode, 502)
  t.match(json(g), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED', upstreamCode: 'AADSTS7000215', detail: /backends\.exo-graph\.clientSecret/
  })
  t.notMatch(g.body, /wrong-secret/)
})

t.test('an unreachable backend: 503 for its mailboxes, the listing still works', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  await sims.ews.close()
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/inbox` })
  t.equal(res.statusCode, 503, res.body)
  t.equal(json(res).code, 'MBG_ERR_UPSTREAM_UNAVAILABLE')
  const list = await app.inject({ method: 'GET', url: '/mailboxes' })
  t.equal(list.statusCode, 200)
  t.ok(
    json<{ mailboxes: Array<{ address: string }> }>(list).mailboxes.some((m) => m.address === MAILBOXES.ews.primary),
    'primary still listed'
  )
})

t.test('a backend slower than the configured timeout is a 504 for both backend types', async (t) => {
  // The timeout is long enough for the answers before the slowdown on a busy machine; the delay is
  // longer than the timeout, so the slowed answer comes too late whatever the load.
  const timeoutMs = 5000
  const { app, sims } = await buildTestGateway(t, {
    configure (c) {
      c.policy = { maxAttempts: 1 }
      for (const b of Object.values(c.backends)) b.timeoutMs = timeoutMs
    }
  })
  t.equal(
    (await app.inject({ method: 'GET', url: `/mailboxes/${graph}` })).statusCode,
    200,
    'discovery before the slowdown'
  )
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${ews}` })).statusCode, 200)
  sims.ews.faults.delayMs = timeoutMs + 1000
  sims.graph.faults.delayMs = timeoutMs + 1000
  const slowed = await Promise.all([ews, graph].map(async (mbx) =>
    await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox` })))
  for (const res of slowed) {
    t.equal(res.statusCode, 504, res.body)
    t.equal(json(res).code, 'MBG_ERR_UPSTREAM_TIMEOUT')
  }
  sims.ews.faults.delayMs = 0
  sims.graph.faults.delayMs = 0
})
