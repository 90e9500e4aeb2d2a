/**
 * Builds the gateway against freshly seeded simulators on loopback, exactly as
 * demo mode does, with every log line (gateway and simulators, debug level)
 * captured. At teardown it asserts that no secret reached the logs, so every
 * test file that uses it is part of the suite-wide secret check. Every 2xx JSON
 * answer its `app.inject` returns must validate against openapi/openapi.json
 * (test/helpers/openapi-contract.ts): a violation rejects the inject call.
 */
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildGateway, type BuildOptions } from '../src/build.js'
import { GatewayMetrics } from '../src/metrics.js'
import { createRouter } from '../src/backends/factory.js'
import { demoConfig } from '../src/demo.js'
import { CallerAuthenticator, generateApiKey } from '../src/access/authenticator.js'
import type { AuthSettings } from '../src/config.js'
import { AuditLog, type AuditRecord } from '../src/audit.js'
import { captureLogs, findSecrets } from './helpers/logs.js'
import { enforceContract } from './helpers/openapi-contract.js'
import { startSimulators, DEMO_CREDENTIALS, type Simulators } from '../src/simulators/index.js'
import type { IdentityApp } from '../src/simulators/identity/index.js'
import type { GraphThrottling } from '../src/simulators/graph/types.js'
import type { GatewayConfig } from '../src/config.js'
import { DEMO_MAILBOXES } from '../src/simulators/store/seed.js'

export { captureLogs, findSecrets, registerSecret, type LogCapture } from './helpers/logs.js'

export const MAILBOXES = {
  ews: { primary: DEMO_MAILBOXES.alice.smtp, other: DEMO_MAILBOXES.bob.smtp },
  graph: { primary: DEMO_MAILBOXES.carol.smtp, other: DEMO_MAILBOXES.dave.smtp }
} as const

/** An audit record as written: the record plus pino's fields and the optional markers. */
export type AuditLine = AuditRecord & {
  time: string
  log: string
  action?: string
  replayed?: boolean
  callerGone?: boolean
}

export interface TestGateway {
  app: FastifyInstance
  sims: Simulators
  logs: string[]
  config: GatewayConfig
  /** The gateway's metrics (also scraped at GET /metrics). */
  metrics: GatewayMetrics
  /** Every audit record written so far (src/audit.ts), parsed, oldest first. */
  audit: () => AuditLine[]
}

/** The test client's API key (client `demo`, every scope, every mailbox); a fresh one per test process. */
export const TEST_API_KEY = generateApiKey()

export interface BuildTestOptions {
  /**
   * Credentials `app.inject` adds to a request that sends none (no X-API-Key, no Authorization): by default the
   * `X-API-Key` of the demo client (TEST_API_KEY); `false` sends none (tests of authentication itself).
   */
  credentials?: false | Record<string, string>
  /** Adjust the `auth` section (clients, keys, limits) before the gateway is built. */
  auth?: (auth: AuthSettings) => void
  /** Clock of the caller authenticator (epoch ms): token and key expiry. */
  authNow?: () => number
  /** Adjust the demo configuration before the router is built. */
  configure?: (config: GatewayConfig) => void
  maxBatchItems?: number
  /** Most item data in one export answer (MAX_EXPORT_ANSWER_BYTES). */
  maxExportAnswerBytes?: number
  importSessionLifetimeSec?: number
  /** More identity-simulator apps. */
  extraApps?: IdentityApp[]
  /** Idempotency-Key store or its options (a clock, a short time to live). */
  idempotency?: BuildOptions['idempotency']
  /** UPSTREAM_DEADLINE_MS (default: the gateway's). */
  upstreamDeadlineMs?: number
  /** BuildOptions.sendStallMs (default here: the product's). */
  sendStallMs?: number
  /** BuildOptions.requestTimeoutMs (default here: the product's). */
  requestTimeoutMs?: number
  /** Outlook throttling of the Graph simulator (default: Outlook's limits). */
  graphThrottling?: GraphThrottling
  /** Copy-job stores and settings (default: in memory, run in this process). */
  jobs?: BuildOptions['jobs']
}

export async function buildTestGateway (t: Test, options: BuildTestOptions = {}): Promise<TestGateway> {
  const capture = captureLogs('debug')
  const sims = await startSimulators({
    logger: capture.logger,
    ...(options.importSessionLifetimeSec !== undefined
      ? { importSessionLifetimeSec: options.importSessionLifetimeSec }
      : {}),
    ...(options.extraApps !== undefined ? { extraApps: options.extraApps } : {}),
    ...(options.graphThrottling !== undefined ? { graphThrottling: options.graphThrottling } : {})
  })
  const { config, extras } = demoConfig(sims, TEST_API_KEY)
  options.configure?.(config)
  const auth = config.auth as AuthSettings
  // Route tests send many requests: no rate limit unless a test sets one (test/routes/rate-limit.test.ts).
  auth.rateLimit = { max: 1_000_000, windowSec: 60 }
  options.auth?.(auth)
  const authenticator = new CallerAuthenticator(auth, {
    ca: sims.ca,
    logger: capture.logger,
    ...(options.authNow !== undefined ? { now: options.authNow } : {})
  })
  const metrics = new GatewayMetrics()
  const router = createRouter(config, extras, capture.logger, { telemetry: metrics })
  const auditLines: string[] = []
  const app = await buildGateway({
    router,
    authenticator,
    auditLog: new AuditLog({ write: (line: string) => { auditLines.push(line) } }),
    mode: 'demo',
    logger: capture.logger,
    metrics,
    maxBatchItems: options.maxBatchItems ?? 100,
    ...(options.maxExportAnswerBytes !== undefined ? { maxExportAnswerBytes: options.maxExportAnswerBytes } : {}),
    crossBackendImport: config.crossBackendImport ?? 'deny',
    docsUi: false,
    // The simulators run on this process's event loop too: their work must not trip load shedding
    // (test/app/shedding.test.ts covers that mechanism on its own).
    underPressure: { maxEventLoopDelay: 0 },
    // Route tests count backend calls and inject faults: no background start-up check
    // (test/app/health.test.ts and test/app/misconfiguration.test.ts cover it).
    backendChecks: false,
    ...(options.idempotency !== undefined ? { idempotency: options.idempotency } : {}),
    ...(options.upstreamDeadlineMs !== undefined ? { upstreamDeadlineMs: options.upstreamDeadlineMs } : {}),
    ...(options.sendStallMs !== undefined ? { sendStallMs: options.sendStallMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.jobs !== undefined ? { jobs: options.jobs } : {})
  })
  await app.ready()
  enforceContract(app)
  if (options.credentials !== false) withCredentials(app, options.credentials ?? { 'x-api-key': TEST_API_KEY })
  t.teardown(async () => {
    await app.close()
    await sims.close()
    // Teardown runs after the test's assertions have ended, so a leak fails it by throwing.
    const hits = findSecrets([...capture.lines, ...auditLines], [
      DEMO_CREDENTIALS.ews.password, DEMO_CREDENTIALS.app.clientSecret, DEMO_CREDENTIALS.caller.clientSecret,
      TEST_API_KEY
    ])
    if (hits.length > 0) throw new Error(`secrets reached the logs:\n${hits.slice(0, 5).join('\n')}`)
  })
  const audit = (): ReturnType<TestGateway['audit']> => auditLines.map((l) => JSON.parse(l) as never)
  return { app, sims, logs: capture.lines, config, metrics, audit }
}

/**
 * Makes `app.inject` add `headers` to every request that carries no credential of its own, so route tests read
 * as before while every route needs one (plugins/app/access.ts).
 */
function withCredentials (app: FastifyInstance, headers: Record<string, string>): void {
  const inject = app.inject.bind(app) as (opts: unknown) => unknown
  const patched = (opts: unknown): unknown => {
    if (opts === undefined || typeof opts === 'string') return inject(opts)
    const o = opts as { headers?: Record<string, unknown> }
    const given = Object.keys(o.headers ?? {}).map((k) => k.toLowerCase())
    if (given.includes('authorization') || given.includes('x-api-key')) return inject(opts)
    return inject({ ...o, headers: { ...headers, ...o.headers } })
  }
  ;(app as unknown as { inject: typeof patched }).inject = patched
}

/** JSON body of an inject response, typed loosely for assertions. */
export function json<T = any> (res: { body: string }): T {
  return JSON.parse(res.body) as T
}
