import t from 'tap'
import pino from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildGateway } from '../../src/build.js'
import { BackendRouter } from '../../src/backends/router.js'
import { openAuthenticator } from '../helpers/auth.js'

t.test('load shedding is a 503 problem with Retry-After; liveness is never shed, readiness is', async (t) => {
  const logger = pino({ level: 'silent' })
  let healthy = true
  const app = await buildGateway({
    authenticator: openAuthenticator(),
    router: new BackendRouter({ backends: new Map(), mailboxes: [], logger }),
    mode: 'configured',
    logger,
    docsUi: false,
    underPressure: { healthCheck: async () => healthy, healthCheckInterval: 5, retryAfter: 7 }
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  t.equal((await app.inject({ url: '/mailboxes' })).statusCode, 200)
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200, 'no backends: ready at once')
  healthy = false
  await sleep(50)
  const res = await app.inject({ url: '/mailboxes' })
  t.equal(res.statusCode, 503)
  t.match(res.headers['content-type'], /application\/problem\+json/)
  t.equal(res.headers['retry-after'], '7')
  t.match(JSON.parse(res.body), { code: 'MBG_ERR_OVERLOADED', status: 503, retryAfter: 7 })
  for (const url of ['/health/live', '/health']) {
    const live = await app.inject({ url })
    t.equal(live.statusCode, 200, `${url} answers under pressure`)
    t.same(JSON.parse(live.body), { status: 'ok', mode: 'configured' })
  }
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(JSON.parse(ready.body), { code: 'MBG_ERR_OVERLOADED' })
})
