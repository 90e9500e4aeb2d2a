/**
 * The application as a plugin: external plugins, then the app's own, then routes.
 * Tests and the OpenAPI generator build this; only src/server.ts listens.
 */
import type { FastifyInstance } from 'fastify'
import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import swagger from '../plugins/external/swagger.js'
import problemDetails from '../plugins/app/problem-details.js'
import type { BackendRouter } from './backends/router.js'
import { PageTokens } from './page-token.js'
import { SHARED_SCHEMAS } from './schemas/index.js'
import health from '../routes/health.js'
import mailboxes from '../routes/mailboxes.js'
import folders from '../routes/folders.js'
import items from '../routes/items.js'

declare module 'fastify' {
  interface FastifyInstance {
    backends: BackendRouter
    gatewayMode: 'demo' | 'configured'
    pageTokens: PageTokens
  }
}

export interface AppOptions {
  router: BackendRouter
  mode: 'demo' | 'configured'
  maxBatchItems: number
  crossBackendImport: 'allow' | 'deny'
  /** Serve Swagger UI at /docs (the document itself is always built). */
  docsUi?: boolean
  /** Key for page tokens (PAGE_TOKEN_SECRET); random per process when absent. */
  pageTokenSecret?: string
  /** Load-shedding thresholds (@fastify/under-pressure); default: event-loop delay over 1 s. */
  underPressure?: FastifyUnderPressureOptions
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

  fastify.decorate('backends', opts.router)
  fastify.decorate('gatewayMode', opts.mode)
  fastify.decorate('pageTokens', new PageTokens(opts.pageTokenSecret))
  fastify.addHook('onClose', async () => { await opts.router.close() })

  await fastify.register(health)
  await fastify.register(mailboxes)
  await fastify.register(folders)
  await fastify.register(items, { maxBatchItems: opts.maxBatchItems, crossBackendImport: opts.crossBackendImport })
}
