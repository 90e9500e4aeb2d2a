import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../src/schemas/common.js'
import { Liveness, NotReadyProblem, Readiness } from '../src/schemas/health.js'
import { NotReady } from '../src/errors.js'
import { buildProblem, sendProblem } from '../plugins/app/problem-details.js'

/** Under @fastify/under-pressure, a route whose `pressureHandler` returns nothing is served anyway. */
const NEVER_SHED = { pressureHandler: () => undefined }
/** Probes need no credential (plugins/app/access.ts). */
const PROBE = { ...NEVER_SHED, public: true }

/**
 * Liveness and readiness, split:
 *  - GET /health/live: the process serves requests. Never shed by load shedding, so a busy
 *    start (event loop lagging while modules load) does not get the process restarted.
 *  - GET /health: the same, kept for existing probes.
 *  - GET /health/ready: every configured backend passed its start-up check (token fetch and
 *    mailbox discovery, src/backends/health.ts) and no call ran into a configuration problem;
 *    503 MBG_ERR_NOT_READY with the per-backend report otherwise. It is shed under load like
 *    any other route: an overloaded gateway is not ready for more traffic.
 */
const health: FastifyPluginAsyncTypebox = async (fastify) => {
  const live = async (): Promise<{ status: 'ok', mode: 'demo' | 'configured' }> =>
    ({ status: 'ok', mode: fastify.gatewayMode })
  const liveSchema = {
    tags: ['operations'],
    querystring: Type.Object({}, { additionalProperties: false }),
    response: { ...problems(400), 200: Type.Ref(Liveness) }
  }
  fastify.get('/health/live', {
    logLevel: 'warn',
    config: PROBE,
    schema: {
      ...liveSchema,
      summary: 'Liveness check',
      description: 'The process serves requests. Never shed under load; says nothing about the backends ' +
        '(see /health/ready).',
      operationId: 'liveness'
    }
  }, live)
  fastify.get('/health', {
    logLevel: 'warn',
    config: PROBE,
    schema: {
      ...liveSchema,
      summary: 'Liveness check (alias of /health/live)',
      description: 'The same answer as GET /health/live, kept for existing probes.',
      operationId: 'health'
    }
  }, live)

  fastify.get('/health/ready', {
    logLevel: 'warn',
    config: { public: true },
    schema: {
      tags: ['operations'],
      summary: 'Readiness check',
      description: 'Ready when every configured backend passed its start-up check (a token fetch and the discovery ' +
        'of its first mailbox, run in the background at start and re-run every 30 s while failing) and no call ran ' +
        'into a configuration problem. 503 MBG_ERR_NOT_READY otherwise, with each backend\'s state: unknown while ' +
        'its check runs, failing with the code and detail (MBG_ERR_BACKEND_MISCONFIGURED names the setting to fix).',
      operationId: 'readiness',
      querystring: Type.Object({}, { additionalProperties: false }),
      response: {
        ...problems(400),
        200: Type.Ref(Readiness),
        503: {
          description: 'Not ready (MBG_ERR_NOT_READY), or the gateway sheds load (MBG_ERR_OVERLOADED).',
          content: { 'application/problem+json': { schema: Type.Ref(NotReadyProblem) } }
        }
      }
    }
  }, async (request, reply) => {
    const report = fastify.backendHealth.report()
    if (report.ready) return { status: 'ready' as const, mode: fastify.gatewayMode, backends: report.backends }
    const states = Object.entries(report.backends)
    const failing = states.flatMap(([name, b]) => b.state === 'failing' ? [`backend ${name}: ${b.detail}`] : [])
    const waiting = states.flatMap(([name, b]) => b.state === 'unknown' ? [name] : [])
    if (waiting.length > 0) failing.push(`start-up check of ${waiting.join(', ')} still running`)
    const err = new NotReady(failing.join('; '))
    const problem = { ...buildProblem(request, 503, err.code, err.message), backends: report.backends }
    return sendProblem(reply, problem)
  })
}

export default health
