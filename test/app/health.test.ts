/**
 * Liveness and readiness, split: /health/live (and its alias /health) answers while the
 * gateway sheds load; /health/ready reports each backend's start-up check: unknown while it
 * runs, ok, or failing with the code and detail, and answers 503 until every backend is ok.
 */
import t from 'tap'
import pino from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildGateway } from '../../src/build.js'
import { BackendRouter } from '../../src/backends/router.js'
import type { MailboxBackend, MailboxDiscovery } from '../../src/backends/mailbox-backend.js'
import { BackendMisconfigured, UpstreamUnavailable } from '../../src/errors.js'
import { captureLogs } from '../helpers/logs.js'
import { openAuthenticator } from '../helpers/auth.js'

/** Load shedding off where it is not what is tested (a busy machine must not turn answers into 503s). */
const NO_SHEDDING = { maxEventLoopDelay: 0 }

/** A backend whose discovery the test controls; nothing else is called. */
function fakeBackend (name: string, type: 'ews' | 'graph', discover: () => Promise<MailboxDiscovery>): MailboxBackend {
  return { name, type, discover, close: async () => {} } as unknown as MailboxBackend
}

function deferred (): { promise: Promise<MailboxDiscovery>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<MailboxDiscovery>((_resolve) => { resolve = () => { _resolve({}) } })
  return { promise, resolve }
}

t.test('readiness: unknown while the start-up check runs, then ok or failing per backend, logged once', async (t) => {
  const capture = captureLogs('info')
  const slow = deferred()
  let graphCalls = 0
  const backends = new Map<string, MailboxBackend>([
    ['onprem', fakeBackend('onprem', 'ews', async () => await slow.promise)],
    ['exo', fakeBackend('exo', 'graph', async () => {
      graphCalls++
      throw new BackendMisconfigured('backend "exo": https://127.0.0.1:1 presents a certificate the gateway does ' +
        'not trust; set backends.exo.tls.caFile')
    })]
  ])
  const router = new BackendRouter({
    backends,
    mailboxes: [
      { address: 'alice@contoso.example', backend: 'onprem' },
      { address: 'carol@contoso.example', backend: 'exo' }
    ],
    logger: capture.logger
  })
  const app = await buildGateway({
    router,
    authenticator: openAuthenticator(),
    mode: 'configured',
    logger: capture.logger,
    docsUi: false,
    backendChecks: { retryMs: 20 },
    underPressure: NO_SHEDDING
  })
  t.teardown(async () => { await app.close() })
  await app.ready()

  const live = await app.inject({ url: '/health/live' })
  t.equal(live.statusCode, 200, 'live while the checks run')
  const early = await app.inject({ url: '/health/ready' })
  t.equal(early.statusCode, 503)
  t.match(early.headers['content-type'], /application\/problem\+json/)
  const body = JSON.parse(early.body)
  t.match(body, { code: 'MBG_ERR_NOT_READY', status: 503, backends: { onprem: { type: 'ews', state: 'unknown' } } })
  t.match(body.detail, /start-up check of onprem still running/)

  // Wait (without a clock) until the failing check has run a few times.
  // (The count is read through a call: the check bumps it between the sleeps.)
  const graphChecks = (): number => graphCalls
  while (graphChecks() < 3) await sleep(10)
  slow.resolve()
  await router.health.firstChecks()
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 503, 'one backend failing: not ready')
  const report = JSON.parse(res.body)
  t.match(report.backends, {
    onprem: { type: 'ews', state: 'ok' },
    exo: {
      type: 'graph',
      state: 'failing',
      code: 'MBG_ERR_BACKEND_MISCONFIGURED',
      source: 'check',
      detail: /tls\.caFile/,
      checkedAt: String
    }
  })
  t.match(report.detail, /backend exo: .*tls\.caFile/)
  const failures = capture.lines.filter((l) => /failed its check/.test(l))
  t.equal(failures.filter((l) => /"level":50/.test(l)).length, 1,
    'the failure is logged once at error level, not at every re-run')
  t.ok(capture.lines.some((l) => /backend onprem is ready/.test(l)))

  // The failing backend recovers on a later re-run: ready.
  Object.assign(backends.get('exo') as object, { discover: async () => ({}) })
  let ok = await app.inject({ url: '/health/ready' })
  while (ok.statusCode !== 200) { await sleep(20); ok = await app.inject({ url: '/health/ready' }) }
  t.match(JSON.parse(ok.body), {
    status: 'ready', mode: 'configured', backends: { onprem: { state: 'ok' }, exo: { state: 'ok' } }
  })
})

t.test('a check that does not end in time fails with MBG_ERR_UPSTREAM_TIMEOUT; others keep their code', async (t) => {
  const logger = pino({ level: 'silent' })
  const router = new BackendRouter({
    backends: new Map([
      ['hung', fakeBackend('hung', 'ews', async () => await new Promise<MailboxDiscovery>(() => {}))],
      ['down', fakeBackend('down', 'graph', async () => {
        throw new UpstreamUnavailable('GET https://graph.example: ECONNREFUSED')
      })]
    ]),
    mailboxes: [{ address: 'a@contoso.example', backend: 'hung' }, { address: 'b@contoso.example', backend: 'down' }],
    logger
  })
  const app = await buildGateway({
    router,
    authenticator: openAuthenticator(),
    mode: 'configured',
    logger,
    docsUi: false,
    backendChecks: { timeoutMs: 50, retryMs: 60_000 },
    underPressure: NO_SHEDDING
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  await router.health.firstChecks()
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 503)
  t.match(JSON.parse(res.body).backends, {
    hung: { state: 'failing', code: 'MBG_ERR_UPSTREAM_TIMEOUT', detail: /did not finish within 50 ms/ },
    down: { state: 'failing', code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', detail: /ECONNREFUSED/ }
  })
})

t.test('a configuration problem a call runs into fails readiness (for CALL_FAILURE_MS)', async (t) => {
  const logger = pino({ level: 'silent' })
  const backend = fakeBackend('exo', 'graph', async () => ({}))
  Object.assign(backend, {
    importBatch: async () => [{
      index: 0,
      error: {
        code: 'MBG_ERR_BACKEND_MISCONFIGURED', status: 502, message: 'add it to backends.exo.allowedImportHosts'
      }
    }]
  })
  const router = new BackendRouter({
    backends: new Map([['exo', backend]]), mailboxes: [{ address: 'c@contoso.example', backend: 'exo' }], logger
  })
  const app = await buildGateway({
    router, authenticator: openAuthenticator(), mode: 'configured', logger, docsUi: false, underPressure: NO_SHEDDING
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  await router.health.firstChecks()
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
  await router.backend('exo').importBatch({} as never, [])
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 503)
  t.match(JSON.parse(res.body).backends.exo, {
    state: 'failing', source: 'call', code: 'MBG_ERR_BACKEND_MISCONFIGURED', detail: /allowedImportHosts/
  })
})
