/**
 * POST /{tenant}/oauth2/v2.0/token, client credentials grant only.
 *
 * Checks run in the order Entra reports them: tenant, grant type, client id,
 * scope, client credential, resource. Each failure is an AadError.
 */
import { createHash, randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { AadError } from './aad-error.js'
import { authenticateClient, type ClientCredentials } from './client-auth.js'
import type { SigningKey } from './signing-key.js'
import type { IdentityApp } from './types.js'

/** First-party resources addressed by app id; Entra issues `aud` as the resource URI for these. */
const RESOURCE_ALIASES: Record<string, string> = {
  '00000003-0000-0000-c000-000000000000': 'https://graph.microsoft.com',
  '00000002-0000-0ff1-ce00-000000000000': 'https://outlook.office365.com'
}
const FIRST_PARTY_RESOURCES = [
  'https://graph.microsoft.com',
  'https://outlook.office365.com',
  'https://outlook.office.com'
]
// MSAL and some clients add OIDC scopes; Entra ignores them in the client-credentials flow.
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email'])

export interface TokenContext {
  tenantId: string
  issuer: string
  tokenEndpoint: string
  apps: Map<string, IdentityApp>
  key: SigningKey
  lifetimeSec: number
}

export interface TokenResponse {
  token_type: 'Bearer'
  expires_in: number
  ext_expires_in: number
  access_token: string
}

export interface IssuedToken { response: TokenResponse, clientId: string, audience: string }

const missing = (name: string): AadError =>
  new AadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`)

export function normalizeResource (resource: string): string {
  const trimmed = resource.replace(/\/+$/, '')
  return RESOURCE_ALIASES[trimmed.toLowerCase()] ?? trimmed
}

/** Validates the tenant path segment (AADSTS90002 when it is not this tenant). */
export function checkTenant (tenant: string, tenantId: string, error = 'invalid_request'): void {
  if (tenant.toLowerCase() !== tenantId.toLowerCase()) {
    throw new AadError(
      400,
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`
    )
  }
}

export async function issueToken (
  tenant: string,
  form: Record<string, string>,
  basicAuth: { clientId: string, clientSecret: string } | undefined,
  ctx: TokenContext
): Promise<IssuedToken> {
  checkTenant(tenant, ctx.tenantId)
  const grantType = form.grant_type
  if (grantType === undefined || grantType === '') throw missing('grant_type')
  if (grantType !== 'client_credentials') {
    throw new AadError(400, 'unsupported_grant_type', 70003,
      `The app requested an unsupported grant type '${grantType}'.`)
  }
  const clientId = form.client_id ?? basicAuth?.clientId
  if (clientId === undefined || clientId === '') throw missing('client_id')
  const app = ctx.apps.get(clientId.toLowerCase())
  if (app === undefined) {
    throw new AadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`
    )
  }
  const resource = parseScope(form.scope)
  const creds: ClientCredentials = {
    clientSecret: form.client_secret ?? basicAuth?.clientSecret,
    clientAssertionType: form.client_assertion_type,
    clientAssertion: form.client_assertion
  }
  const azpacr = await authenticateClient(app, creds, { audiences: [ctx.tokenEndpoint, ctx.issuer] })
  const audience = knownResource(resource, ctx)
  if (audience === undefined) {
    throw new AadError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${ctx.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`
    )
  }
  const roles = rolesFor(app, audience)
  const now = Math.floor(Date.now() / 1000)
  const oid = objectId(ctx.tenantId, app.clientId)
  const accessToken = await new SignJWT({
    appid: app.clientId,
    appidacr: azpacr,
    azp: app.clientId,
    azpacr,
    idp: ctx.issuer.replace(/\/v2\.0$/, '/'),
    idtyp: 'app',
    oid,
    ...(roles.length > 0 ? { roles } : {}),
    tid: ctx.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '2.0'
  })
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: ctx.key.x5t, kid: ctx.key.kid })
    .setAudience(audience)
    .setIssuer(ctx.issuer)
    .setSubject(oid)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ctx.lifetimeSec)
    .sign(ctx.key.privateKey)
  return {
    clientId: app.clientId,
    audience,
    response: {
      token_type: 'Bearer',
      expires_in: ctx.lifetimeSec,
      ext_expires_in: ctx.lifetimeSec,
      access_token: accessToken
    }
  }
}

/** The one `<resource>/.default` scope of a client-credentials request, as a resource. */
function parseScope (scope: string | undefined): string {
  if (scope === undefined || scope.trim() === '') throw missing('scope')
  const scopes = scope.split(/\s+/).filter((s) => s !== '' && !OIDC_SCOPES.has(s.toLowerCase()))
  const bad = scopes.find((s) => !s.toLowerCase().endsWith('/.default'))
  if (bad !== undefined) {
    throw new AadError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${bad} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`
    )
  }
  if (scopes.length !== 1) {
    throw new AadError(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`
    )
  }
  return scopes[0].slice(0, -'/.default'.length)
}

function knownResource (resource: string, ctx: TokenContext): string | undefined {
  const wanted = normalizeResource(resource).toLowerCase()
  const known = [
    ...FIRST_PARTY_RESOURCES,
    ...[...ctx.apps.values()].flatMap((a) => Object.keys(a.roles).map(normalizeResource))
  ]
  return known.find((r) => r.toLowerCase() === wanted)
}

function rolesFor (app: IdentityApp, audience: string): string[] {
  const wanted = audience.toLowerCase()
  const entry = Object.entries(app.roles).find(([aud]) => normalizeResource(aud).toLowerCase() === wanted)
  return entry !== undefined ? [...entry[1]] : []
}

/** A stable service-principal object id per tenant and app (GUID-shaped). */
function objectId (tenantId: string, clientId: string): string {
  const h = createHash('sha256').update(`${tenantId}/${clientId}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}
