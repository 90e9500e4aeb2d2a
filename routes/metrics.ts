import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../src/schemas/common.js'

/** As in routes/health.ts: under @fastify/under-pressure, a route whose `pressureHandler` returns nothing is served. */
const NEVER_SHED = { pressureHandler: () => undefined }

/** The Prometheus text exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/). */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * GET /metrics: this gateway's metrics (`fastify.metrics`, src/metrics.ts) in the Prometheus text format.
 * Never shed by load shedding, like /health/live: an overloaded gateway is when its metrics matter most.
 */
const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/metrics', {
    logLevel: 'warn',
    config: { ...NEVER_SHED, scope: 'metrics:read' },
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'Backend calls, retries, pacing, queue and circuit state, items and bytes exported and imported, ' +
        'HTTP requests, and the process metrics, in the Prometheus text exposition format 0.0.4 (README, ' +
        'Metrics). Labels never carry a mailbox address or an id. Never shed under load.',
      operationId: 'metrics',
      querystring: Type.Object({}, { additionalProperties: false }),
      response: {
        ...problems(400),
        200: {
          description: 'Every metric of this gateway process.',
          content: { [PROMETHEUS_TEXT]: { schema: Type.String() } }
        }
      }
    }
  }, async (_request, reply) => {
    reply.type(PROMETHEUS_TEXT)
    return await fastify.metrics.scrape()
  })
}

export default metrics
