/**
 * The application as a plugin: external plugins, then the app's own, then routes.
 * Tests and the OpenAPI generator build this; only src/server.ts listens.
 */
import type { FastifyInstance } from 'fastify'
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import swagger from '../plugins/external/swagger.js'
import access from '../plugins/app/access.js'
import rateLimit from '../plugins/app/rate-limit.js'
import audit from '../plugins/app/audit.js'
import { AuditLog } from './audit.js'
import type { CallerAuthenticator } from './access/authenticator.js'
import problemDetails from '../plugins/app/problem-details.js'
import type { BackendRouter } from './backends/router.js'
import type { BackendChecksOptions, BackendHealth } from './backends/health.js'
import { IdempotencyKeys, MailboxService } from './service/index.js'
import { MemoryIdempotencyStore, type MemoryIdempotencyOptions } from './state/memory.js'
import { MemoryJobStore, MemoryLedgerStore } from './state/memory-jobs.js'
import type { JobStore, LedgerStore } from './state/jobs.js'
import { JobRunner, JobService, type JobRunnerOptions } from './service/jobs/index.js'
import type { IdempotencyStore } from './state/store.js'
import { GatewayMetrics } from './metrics.js'
import { SHARED_SCHEMAS } from './schemas/index.js'
import health from '../routes/health.js'
import metricsRoute from '../routes/metrics.js'
import mailboxes from '../routes/mailboxes.js'
import mailboxRoutes from '../routes/mailbox/index.js'
import jobRoutes from '../routes/jobs.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The service layer: the only caller of the backend port. */
    mailboxService: MailboxService
    /** Copy jobs (src/service/jobs/): what the /jobs routes call. */
    jobService: JobService
    /** Idempotency-Key handling of write routes (routes/mailbox/idempotency.ts). */
    idempotencyKeys: IdempotencyKeys
    gatewayMode: 'demo' | 'configured'
    /** Per-backend readiness (GET /health/ready). */
    backendHealth: BackendHealth
    /** This gateway's Prometheus metrics (GET /metrics). */
    metrics: GatewayMetrics
    /**
     * Fires at the stop point of a shutdown (src/shutdown.ts): batch work starts no new backend calls and
     * reports items not sent as MBG_ERR_SHUTTING_DOWN. Its reason is that error.
     */
    stopping: AbortSignal
    /** Longest one request spends on backend calls, ms (UPSTREAM_DEADLINE_MS; src/upstream/deadline.ts). */
    upstreamDeadlineMs: number
  }
}

export interface AppOptions {
  router: BackendRouter
  /** Checks callers' credentials (src/access/authenticator.ts); closed with the app. */
  authenticator: CallerAuthenticator
  /** The audit log (AUDIT_LOG; src/audit.ts); default: none written. */
  auditLog?: AuditLog
  mode: 'demo' | 'configured'
  maxBatchItems: number
  /** Most item data one export answer carries (MAX_EXPORT_ANSWER_BYTES); see MailboxService.exportItems. */
  maxExportAnswerBytes?: number
  crossBackendImport: 'allow' | 'deny'
  /** Serve Swagger UI at /docs (the document itself is always built). */
  docsUi?: boolean
  /** Key for page tokens (PAGE_TOKEN_SECRET); random per process when absent. */
  pageTokenSecret?: string
  /** Load-shedding thresholds (@fastify/under-pressure); default: event-loop delay over 1 s. */
  underPressure?: FastifyUnderPressureOptions
  /**
   * The start-up check of every backend (src/backends/health.ts), run in the background once the
   * app is ready; `false` skips it (backends then stay `unknown` and /health/ready answers 503).
   * Default: on, 30 s bound, failing checks re-run every 30 s.
   */
  backendChecks?: false | BackendChecksOptions
  /** Where Idempotency-Keys live; default: an in-memory store with these options (see IdempotencyOptions). */
  idempotency?: IdempotencyOptions
  /**
   * Metrics of this gateway (GET /metrics); pass the instance the router's policy reports to
   * (`createRouter(…, { telemetry })`). Default: a fresh one, with HTTP and service metrics only.
   */
  metrics?: GatewayMetrics
  /** The server's stop signal (`fastify.stopping`); default: one that never fires. */
  stop?: AbortSignal
  /**
   * Longest one request spends on backend calls, retries and slow answers included, ms; past it the calls are
   * cut off and the request fails with 504 MBG_ERR_UPSTREAM_TIMEOUT (src/upstream/deadline.ts). Default
   * DEFAULT_UPSTREAM_DEADLINE_MS.
   */
  upstreamDeadlineMs?: number
  /** Where copy jobs and their ledgers live, and how the runner works them; default: in memory. */
  jobs?: JobOptions
}

/** Copy-job state and runner settings (src/service/jobs/runner.ts). */
export interface JobOptions extends Pick<JobRunnerOptions, 'leaseMs' | 'pollMs' | 'concurrency' | 'owner' | 'now'> {
  store?: JobStore
  ledger?: LedgerStore
  /** Ids of new jobs (default: random UUIDs). */
  newId?: () => string
  /** `false`: this gateway runs no jobs (another replica does); the API still creates and shows them. */
  run?: boolean
  /** MAX_ACTIVE_JOBS_PER_CLIENT; default DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT (src/service/jobs/service.ts). */
  maxActivePerClient?: number
}

/** Default UPSTREAM_DEADLINE_MS: two minutes. */
export const DEFAULT_UPSTREAM_DEADLINE_MS = 120_000

/**
 * The idempotency-key store: `store` as given (its own time to live and lease), or a
 * MemoryIdempotencyStore built with the other options (time to live 24 h, lease 5 min, 10 000 keys by default).
 */
export interface IdempotencyOptions extends MemoryIdempotencyOptions {
  store?: IdempotencyStore
}

export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  for (const schema of SHARED_SCHEMAS) fastify.addSchema(schema)
  // The API speaks JSON only: anything else is a 415, not a string handed to the body schema.
  fastify.removeContentTypeParser('text/plain')
  // Before swagger: it writes each route's security requirement into its schema.
  await fastify.register(access, { authenticator: opts.authenticator })
  await fastify.register(rateLimit)
  await fastify.register(audit, { auditLog: opts.auditLog ?? new AuditLog(false) })
  await fastify.register(swagger, { ui: opts.docsUi ?? true })
  await fastify.register(underPressure, {
    maxEventLoopDelay: 1000,
    retryAfter: 10,
    exposeStatusRoute: false,
    ...opts.underPressure
  })
  await fastify.register(problemDetails)
  const metrics = opts.metrics ?? new GatewayMetrics()
  metrics.instrument(fastify)

  const service = new MailboxService({
    router: opts.router,
    telemetry: metrics,
    ...(opts.maxExportAnswerBytes !== undefined ? { maxExportAnswerBytes: opts.maxExportAnswerBytes } : {}),
    crossBackendImport: opts.crossBackendImport,
    ...(opts.pageTokenSecret !== undefined ? { pageTokenSecret: opts.pageTokenSecret } : {}),
    logger: fastify.log
  })
  fastify.decorate('mailboxService', service)
  const { store, ...memory } = opts.idempotency ?? {}
  const idempotencyKeys = new IdempotencyKeys({
    store: store ?? new MemoryIdempotencyStore(memory),
    ...(memory.now !== undefined ? { now: memory.now } : {})
  })
  fastify.decorate('idempotencyKeys', idempotencyKeys)
  fastify.addHook('onClose', async () => { await idempotencyKeys.close() })
  fastify.decorate('gatewayMode', opts.mode)
  fastify.decorate('backendHealth', opts.router.health)
  fastify.decorate('metrics', metrics)
  fastify.decorate('stopping', opts.stop ?? new AbortController().signal)
  fastify.decorate('upstreamDeadlineMs', opts.upstreamDeadlineMs ?? DEFAULT_UPSTREAM_DEADLINE_MS)
  const {
    store: jobStore = new MemoryJobStore(), ledger = new MemoryLedgerStore(), run = true, newId, maxActivePerClient,
    ...runnerOptions
  } = opts.jobs ?? {}
  const rules = { crossBackendImport: opts.crossBackendImport }
  const runner = run
    ? new JobRunner({
      jobs: jobStore,
      ledger,
      service,
      rules,
      stop: fastify.stopping,
      telemetry: metrics,
      logger: fastify.log,
      workCaller: (client) => opts.authenticator.workCaller(client),
      ...runnerOptions
    })
    : undefined
  fastify.decorate('jobService', new JobService({
    jobs: jobStore,
    ledger,
    service,
    rules,
    ...(runner !== undefined ? { runner } : {}),
    ...(newId !== undefined ? { newId } : {}),
    ...(runnerOptions.now !== undefined ? { now: runnerOptions.now } : {}),
    ...(opts.pageTokenSecret !== undefined ? { pageTokenSecret: opts.pageTokenSecret } : {}),
    ...(maxActivePerClient !== undefined ? { maxActiveJobsPerClient: maxActivePerClient } : {})
  }))
  if (runner !== undefined) {
    fastify.addHook('onReady', async () => { runner.start() })
    // Before the backends close: running jobs halt after the calls in flight and go back to the queue.
    fastify.addHook('preClose', async () => { await runner.close() })
  }
  fastify.addHook('onClose', async () => {
    await jobStore.close()
    await ledger.close()
  })
  fastify.addHook('onClose', async () => { await service.close() })
  const checks = opts.backendChecks
  if (checks !== false) fastify.addHook('onReady', async () => { opts.router.health.start(checks) })

  await fastify.register(health)
  await fastify.register(metricsRoute)
  await fastify.register(mailboxes)
  await fastify.register(mailboxRoutes, { maxBatchItems: opts.maxBatchItems })
  await fastify.register(jobRoutes)
}
