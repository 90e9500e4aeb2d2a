/**
 * Microsoft Entra ID (v2.0) simulator: client-credentials tokens over HTTPS.
 *
 * Serves tenant metadata, JWKS, instance discovery and the token endpoint with
 * Entra's shapes, so MSAL (or any OAuth client) can use it as an authority.
 * Logs carry only client ids and outcomes, never secrets, assertions or tokens.
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { jwtVerify } from 'jose'
import { AadError, aadErrorBody } from './aad-error.js'
import { instanceDiscovery, openIdConfiguration, type Endpoints } from './metadata.js'
import { signingKey } from './signing-key.js'
import { checkTenant, issueToken, normalizeResource, type TokenContext } from './token-endpoint.js'
import type { IdentitySimulator, IdentitySimulatorOptions, VerifiedToken } from './types.js'

const FORM = 'application/x-www-form-urlencoded'
// Tenants whose JWKS Entra publishes besides the tenant id itself.
const SHARED_TENANTS = new Set(['common', 'organizations'])

export async function startIdentitySimulator (options: IdentitySimulatorOptions): Promise<IdentitySimulator> {
  const key = await signingKey()
  const listenHost = options.host ?? '127.0.0.1'
  const lifetimeSec = options.tokenLifetimeSec ?? 3600
  const logger = options.logger
  const stats = { tokensIssued: 0, failures: 0 }

  // Closing drops every connection, as the EWS and Graph simulators do: a client's keep-alive socket must not hold
  // the shutdown of demo mode until it times out.
  const app = Fastify({
    https: { key: options.tls.key, cert: options.tls.cert }, logger: false, forceCloseConnections: true
  })
  // Fastify does not parse forms by itself; the token endpoint only takes forms.
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  // Filled once listening (the port is only known then).
  let ep: Endpoints = { origin: '', host: '', tenantId: options.tenantId }
  // eslint-disable-next-line prefer-const -- assigned once listening, read by the handlers registered before
  let ctx: TokenContext | undefined

  const sendAadError = (req: FastifyRequest, reply: FastifyReply, err: AadError): FastifyReply => {
    const body = aadErrorBody(err, ep.origin, header(req, 'client-request-id'))
    return reply.code(err.status)
      .headers(noStore(body.trace_id, body.correlation_id))
      .type('application/json; charset=utf-8')
      .send(body)
  }

  app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', async (req, reply) => {
    try {
      checkTenant(req.params.tenant, options.tenantId, 'invalid_tenant')
    } catch (err) {
      return sendAadError(req, reply, err as AadError)
    }
    return reply.header('cache-control', 'max-age=86400, private')
      .header('access-control-allow-origin', '*')
      .send(openIdConfiguration(ep))
  })

  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async (req, reply) => {
    const tenant = req.params.tenant
    if (!SHARED_TENANTS.has(tenant.toLowerCase())) {
      try {
        checkTenant(tenant, options.tenantId, 'invalid_tenant')
      } catch (err) {
        return sendAadError(req, reply, err as AadError)
      }
    }
    return reply.header('cache-control', 'max-age=86400, private')
      .header('access-control-allow-origin', '*')
      .send({ keys: [{ ...key.jwk, issuer: `${ep.origin}/${options.tenantId}/v2.0` }] })
  })

  app.get<{ Querystring: { authorization_endpoint?: string } }>('/common/discovery/instance', async (req, reply) => {
    const doc = instanceDiscovery(ep, req.query.authorization_endpoint)
    if (doc === undefined) {
      const body = aadErrorBody(
        new AadError(400, 'invalid_instance', 50049, 'Unknown or invalid instance.'),
        ep.origin,
        header(req, 'client-request-id')
      )
      return reply.code(400).headers(noStore(body.trace_id, body.correlation_id)).send(body)
    }
    return reply.header('access-control-allow-origin', '*').send(doc)
  })

  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', async (req, reply) => {
    const form = isStringRecord(req.body) ? req.body : {}
    const clientId = form.client_id ?? ''
    try {
      if (ctx === undefined) throw new Error('identity simulator is not listening yet')
      const issued = await issueToken(req.params.tenant, form, basicCredentials(req), ctx)
      stats.tokensIssued++
      logger?.info(
        { clientId: issued.clientId, audience: issued.audience, outcome: 'issued' },
        'identity simulator: token issued'
      )
      const traceId = randomUUID()
      return reply.headers(noStore(traceId, header(req, 'client-request-id') ?? randomUUID()))
        .type('application/json; charset=utf-8')
        .send(issued.response)
    } catch (err) {
      stats.failures++
      if (err instanceof AadError) {
        logger?.info({ clientId, outcome: err.error, aadsts: err.aadsts }, 'identity simulator: token request rejected')
        return sendAadError(req, reply, err)
      }
      logger?.error(
        { clientId, outcome: 'server_error', err: (err as Error).message },
        'identity simulator: token request failed'
      )
      throw err
    }
  })

  await app.listen({ host: listenHost, port: options.port ?? 0 })
  const port = (app.server.address() as AddressInfo).port
  const hostPort = `${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`
  ep = { origin: `https://${hostPort}`, host: hostPort, tenantId: options.tenantId }
  const authority = `${ep.origin}/${options.tenantId}`
  const issuer = `${authority}/v2.0`
  ctx = {
    tenantId: options.tenantId,
    issuer,
    tokenEndpoint: `${authority}/oauth2/v2.0/token`,
    apps: new Map(options.apps.map((a) => [a.clientId.toLowerCase(), a])),
    key,
    lifetimeSec
  }

  const verify = async (token: string, audience: string): Promise<VerifiedToken | undefined> => {
    try {
      const { payload } = await jwtVerify(token, key.publicKey, {
        algorithms: ['RS256'],
        issuer,
        audience: normalizeResource(audience),
        requiredClaims: ['exp', 'nbf', 'iat', 'tid']
      })
      if (payload.tid !== options.tenantId || payload.exp === undefined) return undefined
      const appId =
        typeof payload.appid === 'string' ? payload.appid : typeof payload.azp === 'string' ? payload.azp : undefined
      if (appId === undefined) return undefined
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : []
      return { appId, roles, tenantId: options.tenantId, expiresAt: new Date(payload.exp * 1000) }
    } catch {
      return undefined
    }
  }

  return {
    authority,
    host: ep.host,
    issuer,
    verify,
    stats,
    close: async () => { await app.close() }
  }
}

function header (req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function noStore (traceId: string, correlationId: string): Record<string, string> {
  return {
    'cache-control': 'no-store, no-cache',
    pragma: 'no-cache',
    'x-ms-request-id': traceId,
    'client-request-id': correlationId,
    'x-ms-ests-server': '2.1.0 - MBG simulator'
  }
}

function isStringRecord (v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string')
}

/** client_secret_basic: `Authorization: Basic base64(urlencode(id):urlencode(secret))`. */
function basicCredentials (req: FastifyRequest): { clientId: string, clientSecret: string } | undefined {
  const auth = header(req, 'authorization')
  if (auth === undefined || !/^basic /i.test(auth)) return undefined
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return undefined
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, i)), clientSecret: decodeURIComponent(decoded.slice(i + 1)) }
  } catch {
    return undefined
  }
}
