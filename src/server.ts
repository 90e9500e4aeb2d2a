/**
 * Process entry: read configuration, start the simulators when no backend is
 * configured (demo mode), build the gateway, listen, and shut down gracefully
 * on SIGTERM/SIGINT within SHUTDOWN_TIMEOUT_MS (see src/shutdown.ts).
 */
import { unwatchFile, watchFile } from 'node:fs'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { resolve } from 'node:path'
import { authIssuerCa, loadConfig, stateStoreSetting, type AuthSettings, type RuntimeExtras } from './config.js'
import { CallerAuthenticator, generateApiKey } from './access/authenticator.js'
import { AuditLog, auditDestination } from './audit.js'
import { loggerOptions } from './logger.js'
import { buildGateway } from './build.js'
import { createRouter } from './backends/factory.js'
import { startDemo, warnFaultsIgnored, type Demo } from './demo.js'
import { GatewayMetrics } from './metrics.js'
import { ShuttingDown } from './errors.js'
import { reportDeadline, stopAfterMs } from './shutdown.js'
import { openStateStores, type StateStores } from './state/index.js'

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

// The state store first: a file that cannot be opened stops the process before anything starts. Idempotency keys,
// copy jobs with their ledgers and mailboxes registered at runtime all live in it (one SQLite file by default).
// Demo mode (no backend configured) keeps it in memory unless STATE_STORE names a file: its simulated mailboxes
// are seeded afresh at every start, so jobs kept from an earlier start would point at folders and items now gone.
let state: StateStores
try {
  const setting = stateStoreSetting(env.STATE_STORE, gateway === undefined)
  state = openStateStores(setting, { ttlMs: env.IDEMPOTENCY_TTL_SEC * 1000, leaseMs: env.REQUEST_TIMEOUT_MS })
  const where = setting.kind === 'sqlite' ? { file: resolve(setting.path) } : {}
  logger.info({ stateStore: setting.kind, ...where }, 'state store open')
  if (gateway === undefined && setting.kind === 'sqlite') {
    logger.warn({ stateStore: setting.kind, ...where }, 'demo mode with a state file: the simulated mailboxes ' +
      'start afresh, so copy jobs kept from an earlier start point at folders and items that are gone (a resumed ' +
      'or re-run job fails on them, or skips items its ledger has as copied); unset STATE_STORE to start clean')
  }
} catch (err) {
  fail((err as Error).message)
}

let demo: Demo | undefined
let config = gateway
let extras: RuntimeExtras = {}
// Demo mode's one client key: DEMO_API_KEY, or a new one each start (printed below, never logged).
const demoKey = env.DEMO_API_KEY ?? generateApiKey()
if (config === undefined) {
  try {
    demo = await startDemo(demoKey, logger)
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
  // The router closes the registry when it closes.
  router = createRouter(config, extras, logger, { telemetry: metrics, registry: state.registry })
} catch (err) {
  fail((err as Error).message)
}
// Fires at the stop point of a shutdown: batch work starts no new backend calls (src/shutdown.ts).
const stopping = new AbortController()
const auth = config.auth as AuthSettings
let authenticator: CallerAuthenticator
try {
  const ca = authIssuerCa(auth, extras)
  authenticator = new CallerAuthenticator(auth, { logger, ...(ca !== undefined ? { ca } : {}) })
} catch (err) {
  fail((err as Error).message)
}
let auditLog: AuditLog
try {
  auditLog = new AuditLog(auditDestination(env.AUDIT_LOG))
} catch (err) {
  fail((err as Error).message)
}
if (auth.mode === 'none') {
  logger.warn('auth.mode is "none": anyone who can reach this port may read and write every configured mailbox; ' +
    'use it on a workstation only (README "Security model")')
}
const app = await buildGateway({
  router,
  authenticator,
  auditLog,
  trustProxy: env.TRUST_PROXY,
  mode: demo !== undefined ? 'demo' : 'configured',
  logger,
  metrics,
  maxBatchItems: env.MAX_BATCH_ITEMS,
  maxExportAnswerBytes: env.MAX_EXPORT_ANSWER_BYTES,
  bodyLimit: env.BODY_LIMIT_BYTES,
  requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
  sendStallMs: env.SEND_STALL_TIMEOUT_MS,
  upstreamDeadlineMs: env.UPSTREAM_DEADLINE_MS,
  crossBackendImport: config.crossBackendImport ?? 'deny',
  underPressure: { maxEventLoopDelay: env.MAX_EVENT_LOOP_DELAY_MS },
  stop: stopping.signal,
  // Closed with the app.
  idempotency: { store: state.idempotency },
  jobs: {
    store: state.jobs,
    ledger: state.ledger,
    leaseMs: env.JOB_LEASE_SEC * 1000,
    pollMs: env.JOB_POLL_SEC * 1000,
    concurrency: env.JOB_CONCURRENCY,
    maxActivePerClient: env.MAX_ACTIVE_JOBS_PER_CLIENT
  },
  ...(env.PAGE_TOKEN_SECRET !== undefined ? { pageTokenSecret: env.PAGE_TOKEN_SECRET } : {})
})
if (demo !== undefined) {
  const sims = demo.simulators
  app.addHook('onClose', async () => { await sims.close() })
}

// Key rotation without a restart: the `auth` section of MBG_CONFIG_FILE is read again on SIGHUP and when the file
// changes (polled every 5 s). Other settings need a restart; a document that does not validate is logged and the
// settings in force stay.
const configFile = env.MBG_CONFIG_FILE
if (configFile !== undefined) {
  const reloadAuth = (why: string): void => {
    try {
      const next = loadConfig().gateway?.auth as AuthSettings
      app.authenticator.reload(next)
      app.log.info({
        why, clients: next.clients.length, apiKeys: next.clients.reduce((n, c) => n + c.apiKeys.length, 0)
      }, 'auth settings reloaded (other settings need a restart)')
      if (next.mode === 'none') app.log.warn('auth.mode is "none" now: anyone who can reach this port may do anything')
    } catch (err) {
      app.log.error({ why, problem: (err as Error).message }, 'auth settings not reloaded: the current ones stay')
    }
  }
  process.on('SIGHUP', () => {
    reloadAuth('SIGHUP')
    // After log rotation moved the audit file away: write to a new one at AUDIT_LOG.
    try {
      auditLog.reopen()
    } catch (err) {
      app.log.error({ problem: (err as Error).message }, 'audit log not reopened: records go to the old file')
    }
  })
  watchFile(configFile, { interval: 5000, persistent: false }, (now, before) => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) reloadAuth('file changed')
  })
  app.addHook('onClose', async () => { unwatchFile(configFile) })
}

const timeoutMs = env.SHUTDOWN_TIMEOUT_MS
closeWithGrace({
  delay: timeoutMs,
  // With a configuration file, SIGHUP reloads its auth section (above) instead of shutting down.
  skip: configFile !== undefined ? ['SIGHUP'] : [],
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
  // The key goes to stderr, outside the log records on stdout: log records never carry a credential.
  process.stderr.write(`\nDemo API key (client "demo", every scope, every mailbox): ${demoKey}\n` +
    `  export MBG_API_KEY=${demoKey}\n  curl -H "X-API-Key: $MBG_API_KEY" ${address}/mailboxes\n\n`)
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
