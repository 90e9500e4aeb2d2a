/**
 * Caller authentication and scope checks for every route (README "Security model").
 *
 * Each route says what it needs in its options: `config: { scope: 'items:export' }`, or `config: { public: true }`
 * for the few that anyone may call (liveness, readiness, the API docs under /docs). Everything else — unknown
 * routes included — first needs a credential (401 MBG_ERR_UNAUTHENTICATED with `WWW-Authenticate`, in `onRequest`),
 * then passes the client's rate limit (plugins/app/rate-limit.ts, a route-level `onRequest` hook), then needs the
 * route's scope (403 MBG_ERR_INSUFFICIENT_SCOPE, in `preParsing`): all before a body is read. The mailbox
 * allow-list is checked by the service layer (MBG_ERR_MAILBOX_FORBIDDEN).
 *
 * Failed authentications are limited per client address (FAILED_AUTH_PER_MINUTE): past the limit the address gets
 * 429 MBG_ERR_RATE_LIMITED with Retry-After, and only the first of those refusals is audited, so a flood of bad
 * credentials neither fills the audit log nor gets to try keys or tokens at speed.
 *
 * The route's scope is also written into its OpenAPI operation as a security requirement (OpenAPI 3.1 section
 * 4.8.30: for schemes other than OAuth2/OIDC, the array lists required roles), so this plugin is registered
 * before @fastify/swagger collects the routes.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { CallerAuthenticator } from '../../src/access/authenticator.js'
import type { Caller, CallerScope } from '../../src/access/caller.js'
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible'
import { InsufficientScope, isGatewayError, RateLimited, Unauthenticated } from '../../src/errors.js'
import { annotate } from '../../src/upstream/errors.js'
import { problems } from '../../src/schemas/common.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller needs for this route (README "Security model"). */
    scope?: CallerScope
    /** Anyone may call this route: no credential is asked for. */
    public?: boolean
  }
  interface FastifyRequest {
    /** The authenticated caller; undefined on public routes. */
    caller?: Caller
    /** Not worth an audit record of its own (a refusal repeated past the failed-authentication limit). */
    auditQuiet?: boolean
  }
  interface FastifyInstance {
    /** Checks callers' credentials; `reload` rotates keys without a restart. */
    authenticator: CallerAuthenticator
  }
}

/** Names of the security schemes in the OpenAPI document. */
export const SECURITY_SCHEMES = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'An API key of a configured client (`auth.clients[].apiKeys`; `npm run apikey` makes one). ' +
      'Demo mode prints one at start.'
  },
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An OAuth 2.0 access token from the configured issuer (`auth.oidc`, e.g. Entra ID: client ' +
      'credentials for the gateway\'s app id URI), whose app is a configured client (`auth.clients[].appIds`). ' +
      'Its `roles` (or `scp`) claim carries the scopes.'
  }
} as const

const REALM = 'mailbox-gateway'
/** Failed authentications allowed per client address per minute before it gets 429s. */
export const FAILED_AUTH_PER_MINUTE = 30

/** How many times a header appears in the raw request (Node keeps one Authorization and joins X-API-Key lines). */
function headerLines (request: FastifyRequest, name: string): number {
  const raw = request.raw.rawHeaders
  let n = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) n++
  return n
}

function isPublic (config: { public?: boolean } | undefined, url: string): boolean {
  return config?.public === true || url === '/docs' || url.startsWith('/docs/')
}

/** RFC 6750 section 3 challenge for a failed request (with `error` when a credential was sent). */
function challenge (request: FastifyRequest, error?: 'invalid_token' | 'insufficient_scope', scope?: string): string {
  const sent = request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined
  const parts = [`realm="${REALM}"`]
  if (error === 'insufficient_scope') parts.push('error="insufficient_scope"', `scope="${scope ?? ''}"`)
  else if (sent) parts.push('error="invalid_token"')
  return `Bearer ${parts.join(', ')}, ApiKey realm="${REALM}"`
}

/**
 * A route pattern as callers write the path, the OpenAPI path: parameters as `{name}` (a regex after one left
 * out), `::` as the literal colon it stands for. `/jobs/:id(^[A-Za-z0-9-]+)::pause` → `/jobs/{id}:pause`.
 */
export function readablePath (pattern: string): string {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c !== ':') { out += c; continue }
    if (pattern[i + 1] === ':') { out += ':'; i++; continue }
    const name = /^[A-Za-z0-9_$]*/.exec(pattern.slice(i + 1))?.[0] ?? ''
    i += name.length
    if (pattern[i + 1] === '(') {
      // The parameter's regex, up to its balanced closing parenthesis.
      for (let depth = 0, j = i + 1; j < pattern.length; j++) {
        if (pattern[j] === '\\') { j++; continue }
        if (pattern[j] === '(') depth++
        else if (pattern[j] === ')' && --depth === 0) { i = j; break }
      }
    }
    out += `{${name}}`
  }
  return out
}

async function access (fastify: FastifyInstance, opts: { authenticator: CallerAuthenticator }): Promise<void> {
  fastify.decorate('authenticator', opts.authenticator)
  fastify.decorateRequest('caller', undefined)

  fastify.addHook('onRoute', (route) => {
    const schema = (route.schema ??= {}) as { security?: unknown }
    if (isPublic(route.config, route.url)) {
      schema.security = []
      return
    }
    const scope = route.config?.scope
    const withResponses = schema as { response?: Record<string, unknown> }
    // Every protected operation may answer these (the route's own descriptions win).
    withResponses.response = { ...problems(401, 403, 429), ...withResponses.response }
    schema.security = [{ apiKey: scope !== undefined ? [scope] : [] }, { bearer: scope !== undefined ? [scope] : [] }]
  })

  const failures = new RateLimiterMemory({ keyPrefix: 'failed-auth', points: FAILED_AUTH_PER_MINUTE, duration: 60 })

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config as { public?: boolean, scope?: CallerScope } | undefined
    if (isPublic(config, request.routeOptions.url ?? '')) return
    try {
      for (const name of ['authorization', 'x-api-key']) {
        const n = headerLines(request, name)
        const header = name === 'authorization' ? 'Authorization' : 'X-API-Key'
        if (n > 1) throw new Unauthenticated(`send one ${header} header, not ${n}`)
      }
      request.caller = await opts.authenticator.authenticate(request.headers)
    } catch (err) {
      if (!isGatewayError(err) || err.statusCode !== 401) throw err
      const over = await failures.consume(request.ip).then(() => undefined, (res: RateLimiterRes) => res)
      if (over !== undefined) {
        if (over.consumedPoints > FAILED_AUTH_PER_MINUTE + 1) request.auditQuiet = true
        throw annotate(new RateLimited(`too many failed authentications from ${request.ip}; retry later`),
          { retryAfterMs: over.msBeforeNext })
      }
      reply.header('www-authenticate', challenge(request))
      throw err
    }
  })

  // After the client's rate limit (a route-level onRequest hook), before the body is read.
  fastify.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config as { public?: boolean, scope?: CallerScope } | undefined
    if (request.caller === undefined) return
    const scope = config?.scope
    if (scope !== undefined && !request.caller.scopes.has(scope)) {
      reply.header('www-authenticate', challenge(request, 'insufficient_scope', scope))
      const route = `${request.routeOptions.method as string} ${readablePath(request.routeOptions.url ?? '')}`
      const held = [...request.caller.scopes].join(', ') || 'none'
      throw new InsufficientScope(`${route} needs scope ${scope}; client ${request.caller.client} holds ${held}`)
    }
  })
  fastify.addHook('onClose', async () => { await opts.authenticator.close() })
}

export default fp(access, { name: 'access' })
