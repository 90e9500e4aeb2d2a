/**
 * The application as a plugin: external plugins, then the app's own, then routes.
 * Tests and the OpenAPI generator build this; only src/server.ts listens.
 */
import type { FastifyInstance } from 'fastify'
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import swagger from '../plugins/external/swagger.js'
import problemDetails from '../plugins/app/problem-details.js'
import type { BackendRouter } from './backends/router.js'
import type { BackendChecksOptions, BackendHealth } from './backends/health.js'
import { MailboxService } from './service/index.js'
import { SHARED_SCHEMAS } from './schemas/index.js'
import health from '../routes/health.js'
import mailboxes from '../routes/mailboxes.js'
import mailboxRoutes from '../routes/mailbox/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The service layer: the only caller of the backend port. */
    mailboxService: MailboxService
    gatewayMode: 'demo' | 'configured'
    /** Per-backend readiness (GET /health/ready). */
    backendHealth: BackendHealth
    /**
     * Fires at the stop point of a shutdown (src/shutdown.ts): batch work starts no new backend calls and
     * reports items not sent as MBG_ERR_SHUTTING_DOWN. Its reason is that error.
     */
    stopping: AbortSignal
  }
}

export interface AppOptions {
  router: BackendRouter
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
  /** The server's stop signal (`fastify.stopping`); default: one that never fires. */
  stop?: AbortSignal
}

export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  for (const schema of SHARED_SCHEMAS) fastify.addSchema(schema)
  // The API speaks JSON only: anything else is a 415, not a string handed to the body schema.
  fastify.removeContentTypeParser('text/plain')
  await fastify.register(swagger, { ui: opts.docsUi ?? true })
  await fastify.register(underPressure, {
    maxEventLoopDelay: 1000,
    retryAfter: 10,
    exposeStatusRoute: false,
    ...opts.underPressure
  })
  await fastify.register(problemDetails)

  const service = new MailboxService({
    router: opts.router,
    ...(opts.maxExportAnswerBytes !== undefined ? { maxExportAnswerBytes: opts.maxExportAnswerBytes } : {}),
    crossBackendImport: opts.crossBackendImport,
    ...(opts.pageTokenSecret !== undefined ? { pageTokenSecret: opts.pageTokenSecret } : {})
  })
  fastify.decorate('mailboxService', service)
  fastify.decorate('gatewayMode', opts.mode)
  fastify.decorate('backendHealth', opts.router.health)
  fastify.decorate('stopping', opts.stop ?? new AbortController().signal)
  fastify.addHook('onClose', async () => { await service.close() })
  const checks = opts.backendChecks
  if (checks !== false) fastify.addHook('onReady', async () => { opts.router.health.start(checks) })

  await fastify.register(health)
  await fastify.register(mailboxes)
  await fastify.register(mailboxRoutes, { maxBatchItems: opts.maxBatchItems })
}
