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
import { captureLogs, findSecrets } from './helpers/logs.js'
import { enforceContract } from './helpers/openapi-contract.js'
import { startSimulators, DEMO_CREDENTIALS, type Simulators } from '../src/simulators/index.js'
import type { IdentityApp } from '../src/simulators/identity/index.js'
import type { GatewayConfig } from '../src/config.js'
import { DEMO_MAILBOXES } from '../src/simulators/store/seed.js'

export { captureLogs, findSecrets, registerSecret, type LogCapture } from './helpers/logs.js'

export const MAILBOXES = {
  ews: { primary: DEMO_MAILBOXES.alice.smtp, other: DEMO_MAILBOXES.bob.smtp },
  graph: { primary: DEMO_MAILBOXES.carol.smtp, other: DEMO_MAILBOXES.dave.smtp }
} as const

export interface TestGateway {
  app: FastifyInstance
  sims: Simulators
  logs: string[]
  config: GatewayConfig
  /** The gateway's metrics (also scraped at GET /metrics). */
  metrics: GatewayMetrics
}

export interface BuildTestOptions {
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
}

export async function buildTestGateway (t: Test, options: BuildTestOptions = {}): Promise<TestGateway> {
  const capture = captureLogs('debug')
  const sims = await startSimulators({
    logger: capture.logger,
    ...(options.importSessionLifetimeSec !== undefined
      ? { importSessionLifetimeSec: options.importSessionLifetimeSec }
      : {}),
    ...(options.extraApps !== undefined ? { extraApps: options.extraApps } : {})
  })
  const { config, extras } = demoConfig(sims)
  options.configure?.(config)
  const metrics = new GatewayMetrics()
  const router = createRouter(config, extras, capture.logger, { telemetry: metrics })
  const app = await buildGateway({
    router,
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
    ...(options.upstreamDeadlineMs !== undefined ? { upstreamDeadlineMs: options.upstreamDeadlineMs } : {})
  })
  await app.ready()
  enforceContract(app)
  t.teardown(async () => {
    await app.close()
    await sims.close()
    // Teardown runs after the test's assertions have ended, so a leak fails it by throwing.
    const hits = findSecrets(capture.lines, [DEMO_CREDENTIALS.ews.password, DEMO_CREDENTIALS.app.clientSecret])
    if (hits.length > 0) throw new Error(`secrets reached the logs:\n${hits.slice(0, 5).join('\n')}`)
  })
  return { app, sims, logs: capture.lines, config, metrics }
}

/** JSON body of an inject response, typed loosely for assertions. */
export function json<T = any> (res: { body: string }): T {
  return JSON.parse(res.body) as T
}
