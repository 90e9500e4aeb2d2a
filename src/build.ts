/**
 * Builds the Fastify instance around the app plugin: server options, logger,
 * request ids and validation settings. Used by the server, the tests and the
 * OpenAPI generator alike.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import fp from 'fastify-plugin'
import app, { type AppOptions } from './app.js'
import type { BackendRouter } from './backends/router.js'

export interface BuildOptions {
  router: BackendRouter
  mode: 'demo' | 'configured'
  logger: Logger
  maxBatchItems?: number
  bodyLimit?: number
  requestTimeoutMs?: number
  crossBackendImport?: 'allow' | 'deny'
  docsUi?: boolean
  underPressure?: AppOptions['underPressure']
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildGateway (options: BuildOptions): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 128 * 1024 * 1024,
    requestTimeout: options.requestTimeoutMs ?? 300_000,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    ajv: {
      // Reject unknown properties instead of silently dropping them; coerce only what querystrings need.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false }
    }
  }).withTypeProvider<TypeBoxTypeProvider>()

  fastify.addHook('onRequest', async (request, reply) => {
    if (!REQUEST_ID.test(String(request.id))) (request as { id: string }).id = randomUUID()
    reply.header('x-request-id', request.id)
  })

  await fastify.register(fp(app, { name: 'mailbox-gateway' }), {
    router: options.router,
    mode: options.mode,
    maxBatchItems: options.maxBatchItems ?? 100,
    crossBackendImport: options.crossBackendImport ?? 'deny',
    docsUi: options.docsUi ?? true,
    ...(options.underPressure !== undefined ? { underPressure: options.underPressure } : {})
  })
  return fastify as unknown as FastifyInstance
}
