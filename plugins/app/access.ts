/**
 * Caller authentication and scope checks for every route (README "Security model").
 *
 * Each route says what it needs in its options: `config: { scope: 'items:export' }`, or `config: { public: true }`
 * for the few that anyone may call (liveness, readiness, the API docs under /docs). Everything else — unknown
 * routes included — first needs a credential (401 MBG_ERR_UNAUTHENTICATED with `WWW-Authenticate`), then the
 * route's scope (403 MBG_ERR_INSUFFICIENT_SCOPE). Both checks run in `onRequest`, before a body is read. The
 * mailbox allow-list is checked by the service layer once the mailbox is resolved (MBG_ERR_MAILBOX_FORBIDDEN).
 *
 * The route's scope is also written into its OpenAPI operation as a security requirement (OpenAPI 3.1 section
 * 4.8.30: for schemes other than OAuth2/OIDC, the array lists required roles), so this plugin is registered
 * before @fastify/swagger collects the routes.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { CallerAuthenticator } from '../../src/access/authenticator.js'
import type { Caller, CallerScope } from '../../src/access/caller.js'
import { InsufficientScope, isGatewayError } from '../../src/errors.js'
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

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config as { public?: boolean, scope?: CallerScope } | undefined
    if (isPublic(config, request.routeOptions.url ?? '')) return
    try {
      request.caller = await opts.authenticator.authenticate(request.headers)
    } catch (err) {
      if (isGatewayError(err) && err.statusCode === 401) reply.header('www-authenticate', challenge(request))
      throw err
    }
    const scope = config?.scope
    if (scope !== undefined && !request.caller.scopes.has(scope)) {
      reply.header('www-authenticate', challenge(request, 'insufficient_scope', scope))
      throw new InsufficientScope(`${request.routeOptions.method as string} ${request.routeOptions.url ?? ''} ` +
        `needs scope ${scope}; client ${request.caller.client} holds ${[...request.caller.scopes].join(', ') || 'none'}`)
    }
  })
  fastify.addHook('onClose', async () => { await opts.authenticator.close() })
}

export default fp(access, { name: 'access' })
