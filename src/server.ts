/**
 * Process entry: read configuration, start the simulators when no backend is
 * configured (demo mode), build the gateway, listen, and shut down gracefully
 * on SIGTERM/SIGINT within SHUTDOWN_TIMEOUT_MS (see src/shutdown.ts).
 */
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { resolve } from 'node:path'
import { loadConfig, stateStoreSetting } from './config.js'
import { loggerOptions } from './logger.js'
import { buildGateway } from './build.js'
import { createRouter } from './backends/factory.js'
import { startDemo, warnFaultsIgnored, type Demo } from './demo.js'
import { GatewayMetrics } from './metrics.js'
import { ShuttingDown } from './errors.js'
import { reportDeadline, stopAfterMs } from './shutdown.js'
import { openIdempotencyStore } from './state/index.js'
import type { IdempotencyStore } from './state/store.js'

function fail (message: string): never {
  process.stderr.write(`mailbox-gateway: ${message}\n`)
  process.exit(1)
}

let loaded: ReturnType<typeof loadConfig>
try {
  loaded = loadConfig()
} catch (err) {
  fail((err as Error).message)
}
const { env, gateway } = loaded
// Pretty logs on a terminal when pino-pretty (a dev dependency) is installed; JSON lines otherwise.
const pretty =
  process.stdout.isTTY &&
  (() => {
    try {
      import.meta.resolve('pino-pretty')
      return true
    } catch {
      return false
    }
  })()
const logger = pino(loggerOptions(env.LOG_LEVEL), pretty ? pino.transport({ target: 'pino-pretty' }) : undefined)

// The state store first: a file that cannot be opened stops the process before anything starts.
let idempotencyStore: IdempotencyStore
try {
  const setting = stateStoreSetting(env.STATE_STORE)
  idempotencyStore = openIdempotencyStore(setting,
    { ttlMs: env.IDEMPOTENCY_TTL_SEC * 1000, leaseMs: env.REQUEST_TIMEOUT_MS })
  const where = setting.kind === 'sqlite' ? { file: resolve(setting.path) } : {}
  logger.info({ stateStore: setting.kind, ...where }, 'state store open')
} catch (err) {
  fail((err as Error).message)
}

let demo: Demo | undefined
let config = gateway
let extras = {}
if (config === undefined) {
  try {
    demo = await startDemo(logger)
  } catch (err) {
    fail((err as Error).message)
  }
  config = demo.config
  extras = demo.extras
} else {
  warnFaultsIgnored(logger)
}

const metrics = new GatewayMetrics()
let router: ReturnType<typeof createRouter>
try {
  router = createRouter(config, extras, logger, { telemetry: metrics })
} catch (err) {
  fail((err as Error).message)
}
// Fires at the stop point of a shutdown: batch work starts no new backend calls (src/shutdown.ts).
const stopping = new AbortController()
const app = await buildGateway({
  router,
  mode: demo !== undefined ? 'demo' : 'configured',
  logger,
  metrics,
  maxBatchItems: env.MAX_BATCH_ITEMS,
  maxExportAnswerBytes: env.MAX_EXPORT_ANSWER_BYTES,
  bodyLimit: env.BODY_LIMIT_BYTES,
  requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
  upstreamDeadlineMs: env.UPSTREAM_DEADLINE_MS,
  crossBackendImport: config.crossBackendImport ?? 'deny',
  underPressure: { maxEventLoopDelay: env.MAX_EVENT_LOOP_DELAY_MS },
  stop: stopping.signal,
  // Closed with the app.
  idempotency: { store: idempotencyStore },
  ...(env.PAGE_TOKEN_SECRET !== undefined ? { pageTokenSecret: env.PAGE_TOKEN_SECRET } : {})
})
if (demo !== undefined) {
  const sims = demo.simulators
  app.addHook('onClose', async () => { await sims.close() })
}

const timeoutMs = env.SHUTDOWN_TIMEOUT_MS
closeWithGrace({
  delay: timeoutMs,
  logger: { error: (message: unknown) => { app.log.error(String(message)) } },
  // close-with-grace exits 1 right after this.
  onTimeout: () => { reportDeadline(logger, timeoutMs, app.inFlight()) }
}, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'server closing after an error')
  else app.log.info({ signal, timeoutMs, inFlight: app.inFlight().length }, 'server closing')
  const stopTimer = setTimeout(() => {
    app.log.info({ inFlight: app.inFlight().length }, 'shutdown stop point: batch work starts no new backend calls')
    stopping.abort(new ShuttingDown('this item was not sent; send it again'))
  }, stopAfterMs(timeoutMs))
  try {
    await app.close()
  } finally {
    clearTimeout(stopTimer)
  }
  app.log.info('server closed')
})

let address: string
try {
  address = await app.listen({ host: env.HOST, port: env.PORT })
} catch (err) {
  await app.close()
  fail(`cannot listen on ${env.HOST}:${env.PORT}: ${(err as Error).message}`)
}
if (demo !== undefined) {
  const s = demo.simulators
  app.log.info({
    gateway: address,
    simulators: { ews: s.ews.url, identity: s.identity.authority, graph: s.graph.url },
    mailboxes: config.mailboxes.map((m) => `${m.address} (${config.backends[m.backend].type})`)
  }, 'demo mode: no backend configured, serving the built-in simulated EWS, identity and Graph backends on loopback')
} else {
  app.log.info(
    { gateway: address, backends: Object.keys(config.backends), mailboxes: config.mailboxes.length },
    'mailbox-gateway listening'
  )
}
