import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../src/schemas/common.js'

/** Liveness: the process serves requests. Backend reachability is per call (502/503/504), not a health signal. */
const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/health',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Liveness check',
        operationId: 'health',
        querystring: Type.Object({}, { additionalProperties: false }),
        response: {
          ...problems(400),
          200: Type.Object(
            { status: Type.Literal('ok'), mode: Type.Union([Type.Literal('demo'), Type.Literal('configured')]) },
            { additionalProperties: false }
          )
        }
      }
    },
    async () => ({ status: 'ok' as const, mode: fastify.gatewayMode })
  )
}

export default health
