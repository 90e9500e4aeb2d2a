/**
 * Rate limiting per client (@fastify/rate-limit): each configured client may make `auth.rateLimit.max` requests
 * per `windowSec` seconds (or its own `rateLimit`), counted across every route, in this gateway process. Answers
 * carry the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers
 * (draft-ietf-httpapi-ratelimit-headers); past the limit, 429 MBG_ERR_RATE_LIMITED with `Retry-After`.
 *
 * The check runs after authentication (plugins/app/access.ts: a root `onRequest` hook, which runs before the
 * route-level hook this plugin adds), so the count is the client's, whatever key or token it uses. Public routes
 * (probes, docs) are never limited, and a request refused as unauthenticated is not counted.
 *
 * The counters live in this process: with several replicas behind a load balancer each replica counts its own.
 */
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimited } from '../../src/errors.js'
import { annotate } from '../../src/upstream/errors.js'

/** The client a request counts against: its authenticated client, else (public routes) its address. */
function clientKey (request: FastifyRequest): string {
  return request.caller !== undefined ? `client:${request.caller.client}` : `ip:${request.ip}`
}

async function limits (fastify: FastifyInstance): Promise<void> {
  await fastify.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    enableDraftSpec: true,
    keyGenerator: clientKey,
    max: (request) => request.caller?.rateLimit.max ?? fastify.authenticator.settings.rateLimit.max,
    timeWindow: (request) =>
      (request.caller?.rateLimit.windowSec ?? fastify.authenticator.settings.rateLimit.windowSec) * 1000,
    allowList: (request) => request.caller === undefined,
    errorResponseBuilder: (request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000))
      return annotate(
        new RateLimited(`client ${request.caller?.client ?? 'unknown'} may make ${context.max} requests per ` +
          `${context.after}; retry after ${retryAfter} s`),
        { retryAfterMs: retryAfter * 1000 })
    }
  })
}

export default fp(limits, { name: 'rate-limit', dependencies: ['access'] })
