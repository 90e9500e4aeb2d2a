/**
 * Caller authentication (README "Security model"): an API key in `X-API-Key`, or an OAuth 2.0 bearer JWT in
 * `Authorization` (RFC 6750) validated against the configured issuer's signing keys (jose: signature,
 * `iss`, `aud`, `exp`, `nbf` with clock tolerance).
 *
 * API keys are stored only as SHA-256 hashes (`auth.clients[].apiKeys[].sha256`): a key is 32 random bytes,
 * so a fast hash is enough (no dictionary to guess from) and the lookup is by hash, never by comparing the
 * secret. `reload` swaps the clients in place (keys rotated, clients added) without a restart.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { Agent, fetch as undiciFetch } from 'undici'
import type { Logger } from 'pino'
import type { AuthSettings, CallerClientSettings, CallerScope } from '../config.js'
import { Unauthenticated, UpstreamUnavailable } from '../errors.js'
import {
  anonymousCaller, CALLER_SCOPES, clientCaller, mailboxMatcher, type Caller, type MailboxIdentity
} from './caller.js'

/** Prefix of the gateway's API keys: tells them apart from other secrets (and lets secret scanners find them). */
export const API_KEY_PREFIX = 'mbg_'

/** A new API key: `mbg_` + 32 random bytes, base64url (43 characters). */
export function generateApiKey (): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url')
}

/** SHA-256 of an API key, lower-case hex: what `auth.clients[].apiKeys[].sha256` holds. */
export function hashApiKey (key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** The request headers authentication reads (Node lower-cases names; a repeated header is an array). */
export interface CredentialHeaders {
  authorization?: string | string[]
  'x-api-key'?: string | string[]
}

export interface AuthenticatorOptions {
  /** Extra PEM trusted when fetching the issuer's discovery document and keys (demo: the simulators' CA). */
  ca?: string
  /** Clock for expiry checks (epoch ms); tests move it. Default Date.now. */
  now?: () => number
  logger?: Logger
}

interface KeyEntry {
  client: CallerClientSettings
  id: string
  /** Epoch ms after which the key is refused; undefined: never. */
  expires?: number
  matcher: (mailbox: MailboxIdentity) => boolean
}

interface State {
  settings: AuthSettings
  keys: Map<string, KeyEntry>
  apps: Map<string, { client: CallerClientSettings, matcher: (mailbox: MailboxIdentity) => boolean }>
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const SCOPE = new Set<string>(CALLER_SCOPES)

function single (value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1) throw new Unauthenticated(`send one ${name} header, not ${value.length}`)
    return value[0]
  }
  return value
}

function compile (settings: AuthSettings): State {
  const keys = new Map<string, KeyEntry>()
  const apps = new Map<string, { client: CallerClientSettings, matcher: (m: MailboxIdentity) => boolean }>()
  for (const client of settings.clients) {
    const matcher = mailboxMatcher(client)
    for (const key of client.apiKeys) {
      keys.set(key.sha256, {
        client,
        id: key.id,
        matcher,
        // An instant that does not parse retires the key at once (fail closed; the configuration check refuses it).
        ...(key.expires !== undefined
          ? { expires: Number.isNaN(Date.parse(key.expires)) ? 0 : Date.parse(key.expires) }
          : {})
      })
    }
    for (const appId of client.appIds) apps.set(appId.toLowerCase(), { client, matcher })
  }
  return { settings, keys, apps }
}

/** Scopes a token claims: app roles (`roles`, client credentials) and delegated scopes (`scp`, space-separated). */
function claimedScopes (payload: JWTPayload): Set<string> {
  const out = new Set<string>()
  if (Array.isArray(payload.roles)) for (const r of payload.roles) if (typeof r === 'string') out.add(r)
  if (typeof payload.scp === 'string') for (const s of payload.scp.split(' ')) if (s !== '') out.add(s)
  return out
}

/** Why jose refused a token, in words a caller can act on (never the token itself). */
function tokenProblem (err: unknown): Error {
  if (err instanceof joseErrors.JWTExpired) return new Unauthenticated('the bearer token has expired')
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new Unauthenticated('the bearer token is meant for another audience')
    if (err.claim === 'iss') return new Unauthenticated('the bearer token comes from another issuer')
    if (err.claim === 'nbf') return new Unauthenticated('the bearer token is not valid yet')
    return new Unauthenticated(`the bearer token's ${err.claim} claim does not hold`)
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid ||
    (err instanceof Error && !(err instanceof joseErrors.JOSEError))) {
    // The issuer's keys could not be fetched: not the caller's fault.
    return new UpstreamUnavailable('the token issuer\'s signing keys cannot be fetched; retry later')
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new Unauthenticated('the bearer token\'s signature does not verify with the issuer\'s keys')
  }
  return new Unauthenticated('the bearer token is not a valid JWT')
}

/**
 * Authenticates callers against `auth` settings. Errors: MBG_ERR_UNAUTHENTICATED (401) for a missing or bad
 * credential, MBG_ERR_UPSTREAM_UNAVAILABLE (503) when the issuer's keys cannot be fetched.
 */
export class CallerAuthenticator {
  private state: State
  private jwks?: ReturnType<typeof createRemoteJWKSet>
  private jwksFor?: string
  private readonly now: () => number
  private readonly dispatcher?: Agent

  constructor (settings: AuthSettings, private readonly options: AuthenticatorOptions = {}) {
    this.state = compile(settings)
    this.now = options.now ?? Date.now
    if (options.ca !== undefined) this.dispatcher = new Agent({ connect: { ca: options.ca } })
  }

  /** The settings in force. */
  get settings (): AuthSettings { return this.state.settings }

  /** Replaces the clients, keys and limits in force (key rotation without restart); new requests see them. */
  reload (settings: AuthSettings): void {
    this.state = compile(settings)
    if (settings.oidc?.jwksUri !== this.jwksFor) this.jwks = undefined
  }

  /**
   * The caller background work of `client` acts as (a copy job's pass, ./service/jobs/runner.ts): the client as
   * configured now, with its current allow-list and no scopes (the work was authorized when it was asked for);
   * undefined when no client of that name is configured any more. With `auth.mode` none, the anonymous caller.
   * A reload (key rotation, a narrowed allow-list) applies to the next pass.
   */
  workCaller (client: string): Caller | undefined {
    const { settings } = this.state
    if (settings.mode === 'none') return client === 'anonymous' ? anonymousCaller(settings.rateLimit) : undefined
    const configured = settings.clients.find((c) => c.name === client)
    if (configured === undefined) return undefined
    return { ...clientCaller(configured, 'apiKey', 'background', [], settings.rateLimit), credential: 'none' }
  }

  /** The caller a request's headers prove, or MBG_ERR_UNAUTHENTICATED saying what is missing or wrong. */
  async authenticate (headers: CredentialHeaders): Promise<Caller> {
    const { settings } = this.state
    if (settings.mode === 'none') return anonymousCaller(settings.rateLimit)
    const apiKey = single(headers['x-api-key'], 'X-API-Key')
    const authorization = single(headers.authorization, 'Authorization')
    if (apiKey !== undefined && authorization !== undefined) {
      throw new Unauthenticated('send either X-API-Key or Authorization, not both')
    }
    if (apiKey !== undefined) return this.byApiKey(apiKey)
    if (authorization !== undefined) return await this.byBearer(authorization)
    throw new Unauthenticated('send an API key (X-API-Key) or a bearer token (Authorization: Bearer …)')
  }

  private byApiKey (key: string): Caller {
    const entry = this.state.keys.get(hashApiKey(key.trim()))
    if (entry === undefined) throw new Unauthenticated('unknown API key')
    if (entry.expires !== undefined && this.now() >= entry.expires) {
      throw new Unauthenticated(`API key ${entry.id} has expired`)
    }
    return clientCaller(entry.client, 'apiKey', entry.id, entry.client.scopes, this.state.settings.rateLimit,
      entry.matcher)
  }

  private async byBearer (authorization: string): Promise<Caller> {
    const { settings, apps } = this.state
    const oidc = settings.oidc
    if (oidc === undefined) throw new Unauthenticated('bearer tokens are not accepted here; send an API key')
    const match = BEARER.exec(authorization)
    if (match === null) throw new Unauthenticated('the Authorization header is not "Bearer <token>"')
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(match[1], await this.keys(oidc), {
        issuer: oidc.issuer,
        audience: oidc.audience,
        clockTolerance: oidc.clockToleranceSec,
        // A token without an expiry would be good for ever.
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384']
      }))
    } catch (err) {
      const problem = tokenProblem(err)
      if (problem instanceof UpstreamUnavailable) this.options.logger?.warn({ err }, 'token issuer keys unavailable')
      throw problem
    }
    const appId = typeof payload.azp === 'string' ? payload.azp : typeof payload.appid === 'string' ? payload.appid : ''
    const entry = apps.get(appId.toLowerCase())
    const claimed = claimedScopes(payload)
    if (entry === undefined) {
      // A valid token of an app no client names: it is authenticated but may do nothing.
      return {
        client: `app:${appId === '' ? 'unknown' : appId}`,
        credential: 'bearer',
        credentialId: appId,
        scopes: new Set(),
        mayAccess: () => false,
        rateLimit: settings.rateLimit
      }
    }
    const scopes = entry.client.scopes.filter((s): s is CallerScope => SCOPE.has(s) && claimed.has(s))
    return clientCaller(entry.client, 'bearer', appId, scopes, settings.rateLimit, entry.matcher)
  }

  private async keys (oidc: NonNullable<AuthSettings['oidc']>): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const uri = oidc.jwksUri ?? await this.discoverJwksUri(oidc.issuer)
    if (this.jwks === undefined || this.jwksFor !== uri) {
      const dispatcher = this.dispatcher
      const fetchWithCa = async (url: string, init: RequestInit): Promise<Response> =>
        await undiciFetch(url, { ...init as object, dispatcher }) as unknown as Response
      this.jwks = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: 10_000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        ...(dispatcher !== undefined ? { [customFetch]: fetchWithCa } : {})
      })
      this.jwksFor = uri
    }
    return this.jwks
  }

  private discovered?: { issuer: string, uri: string }

  /** `jwks_uri` of the issuer's OpenID Connect discovery document (OpenID Connect Discovery 1.0 section 4). */
  private async discoverJwksUri (issuer: string): Promise<string> {
    if (this.discovered?.issuer === issuer) return this.discovered.uri
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    try {
      const res = await undiciFetch(url, {
        signal: AbortSignal.timeout(10_000),
        ...(this.dispatcher !== undefined ? { dispatcher: this.dispatcher } : {})
      })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const doc = await res.json() as { jwks_uri?: unknown }
      if (typeof doc.jwks_uri !== 'string' || !doc.jwks_uri.startsWith('https://')) throw new Error('no https jwks_uri')
      this.discovered = { issuer, uri: doc.jwks_uri }
      return doc.jwks_uri
    } catch (err) {
      this.options.logger?.warn({ err, url }, 'token issuer discovery failed')
      throw new UpstreamUnavailable('the token issuer\'s discovery document cannot be fetched; retry later')
    }
  }

  async close (): Promise<void> {
    await this.dispatcher?.close()
  }
}
