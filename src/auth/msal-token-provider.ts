/**
 * Client-credentials bearer tokens through MSAL (ConfidentialClientApplication).
 *
 * MSAL's in-memory cache answers repeat calls until the token is near expiry;
 * `forceRefresh` (after a 401 from the backend) skips it. The authority may be
 * Microsoft Entra ID or the identity simulator: for a non-Microsoft host the
 * host is a known authority (no instance discovery against Microsoft) and the
 * network client trusts the extra CA. Failures become MBG_ERR_* errors; neither
 * the secret nor tokens are ever put in errors or logs.
 */
import {
  AuthError,
  ClientConfigurationError,
  ConfidentialClientApplication,
  LogLevel,
  ServerError,
  type Configuration
} from '@azure/msal-node'
import type { Logger } from 'pino'
import { ConfigInvalid, UpstreamAuth, UpstreamBadResponse, UpstreamThrottled, UpstreamUnavailable } from '../errors.js'
import { annotate } from '../upstream/errors.js'
import {
  certificateError, credentialsError, type CredentialSettings, type TlsPeer
} from '../upstream/misconfiguration.js'
import { MsalNetworkClient } from './msal-network-client.js'
import type { TokenProvider } from './token-provider.js'
import type { ResolvedOAuth } from '../config.js'

/**
 * One backend's resolved client-credentials settings (src/config.ts, ResolvedOAuth: the
 * authority host already validated and normalized, secret and key file read) plus a logger,
 * and where those settings sit in the configuration document, so that a rejection caused by
 * them (an untrusted certificate, a wrong secret) names the setting to fix
 * (MBG_ERR_BACKEND_MISCONFIGURED, src/upstream/misconfiguration.ts).
 */
export type MsalTokenProviderOptions = ResolvedOAuth & {
  logger: Logger
  /** Default: backend "(token provider)", credentials at `backends.(token provider)`. */
  settings?: { backend: string, path: string }
}

export type MsalTokenProvider = TokenProvider & { close: () => Promise<void> }

// Hosts MSAL knows from its own metadata; any other host is declared a known authority.
const MICROSOFT_HOSTS = new Set([
  'login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'sts.windows.net',
  'login.microsoftonline.us', 'login.usgovcloudapi.net', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn'
])
const JWT_LIKE = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g
const BENIGN_WARNINGS = /No client info in response/

export function createMsalTokenProvider (options: MsalTokenProviderOptions): MsalTokenProvider {
  const authorityHost = options.authorityHost
  const hostUrl = new URL(authorityHost)
  const microsoft = MICROSOFT_HOSTS.has(hostUrl.host.toLowerCase())
  const log = options.logger.child({ component: 'msal', clientId: options.clientId })
  const redact = redactor(options.clientSecret)
  const backend = options.settings?.backend ?? '(token provider)'
  const where: Where = {
    credentials: {
      backend,
      path: options.settings?.path ?? `backends.${backend}`,
      credential: options.certificate !== undefined ? 'certificate' : 'clientSecret'
    },
    peer: { backend, origin: hostUrl.origin, urlSetting: 'authorityHost' }
  }

  const network = new MsalNetworkClient({
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    // Instance discovery is answered by the authority host itself when it is not Microsoft's.
    ...(microsoft ? {} : { instanceDiscoveryOrigin: hostUrl.origin })
  })

  const config: Configuration = {
    auth: {
      clientId: options.clientId,
      authority: `${authorityHost}/${options.tenantId}`,
      ...(options.certificate !== undefined
        ? {
            clientCertificate: {
              thumbprint: options.certificate.thumbprint.replace(/[^0-9a-f]/gi, ''),
              privateKey: options.certificate.privateKey,
              ...(options.certificate.x5c !== undefined ? { x5c: options.certificate.x5c } : {})
            }
          }
        : { clientSecret: options.clientSecret }),
      ...(microsoft ? {} : { knownAuthorities: [hostUrl.host] })
    },
    system: {
      networkClient: network,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message, containsPii) => {
          if (containsPii) return
          const text = redact(message)
          // Client-credentials responses never carry client_info (nor do Entra's), so
          // MSAL's warning about it is noise on every acquisition.
          if (BENIGN_WARNINGS.test(text)) log.debug(text)
          else if (level === LogLevel.Error) log.error(text)
          else if (level === LogLevel.Warning) log.warn(text)
        }
      }
    }
  }
  const cca = new ConfidentialClientApplication(config)
  // The last token MSAL gave and until when MSAL's cache would give it again: MSAL's cache lookup (authority,
  // cache keys, a copy of the result) cost about 4 % of the gateway's CPU in a Graph export, one lookup per call.
  let held: { token: string, until: number } | undefined
  // Acquisitions started, and the last forced one: an acquisition that started before a forced refresh (one whose
  // token a backend just refused) must not put its token back as `held` when it ends after it.
  let started = 0
  let lastForced = 0

  return {
    async getToken (opts?: { forceRefresh?: boolean }): Promise<string> {
      if (opts?.forceRefresh !== true && held !== undefined && Date.now() < held.until) return held.token
      const seq = ++started
      if (opts?.forceRefresh === true) {
        held = undefined
        lastForced = seq
      }
      const before = network.failureSeq
      let result
      try {
        result = await cca.acquireTokenByClientCredential({
          scopes: [options.scope],
          skipCache: opts?.forceRefresh === true
        })
      } catch (err) {
        const failure = network.failureSeq > before ? network.lastFailure : undefined
        const mapped = toGatewayError(err, failure, redact, where)
        log.warn(
          { code: mapped.code, upstreamCode: (mapped as { upstreamCode?: string }).upstreamCode },
          'token acquisition failed'
        )
        throw mapped
      }
      if (result === null || result.accessToken === '') {
        throw new UpstreamAuth('the identity platform returned no access token')
      }
      if (seq >= lastForced) held = reuseUntil(result.accessToken, result.expiresOn, result.refreshOn)
      return result.accessToken
    },
    async close (): Promise<void> {
      await network.close()
    }
  }
}

/**
 * Seconds before its expiry that MSAL stops answering a token from its cache (its default
 * `tokenRenewalOffsetSeconds`, https://learn.microsoft.com/entra/msal/javascript/node/configuration).
 */
const RENEWAL_OFFSET_MS = 300_000

/**
 * The token MSAL just gave and until when (epoch ms) it may be given again without asking MSAL: while MSAL's cache
 * would still answer it, i.e. before `refreshOn` and more than RENEWAL_OFFSET_MS before `expiresOn`. Undefined
 * (ask MSAL every time) when MSAL gave no expiry.
 */
function reuseUntil (token: string, expiresOn: Date | null, refreshOn: Date | undefined):
{ token: string, until: number } | undefined {
  if (expiresOn === null) return undefined
  const until = Math.min(expiresOn.getTime() - RENEWAL_OFFSET_MS, refreshOn?.getTime() ?? Infinity)
  return Number.isFinite(until) ? { token, until } : undefined
}

type Failure = MsalNetworkClient['lastFailure']

/** Where the token provider's settings are, for errors that name them. */
interface Where {
  credentials: CredentialSettings
  /** The authority host, whose certificate must be trusted. */
  peer: TlsPeer
}

function toGatewayError (
  err: unknown, failure: Failure, redact: (s: string) => string, where: Where
): Error & { code: string } {
  if (err instanceof ServerError || (err instanceof AuthError && failure?.kind === 'aad')) {
    const e = err as ServerError
    const status = e.status ?? (failure?.kind === 'aad' ? failure.status : undefined)
    const errorNo =
      e.errorNo ?? (failure?.kind === 'aad' && failure.errorCode !== undefined ? String(failure.errorCode) : undefined)
    const upstreamCode = errorNo !== undefined ? `AADSTS${errorNo}` : (e.errorCode !== '' ? e.errorCode : undefined)
    // A discovery failure surfaces from MSAL as a generic client error; the AAD body says more.
    const raw = err instanceof ServerError ? e.errorMessage : failure?.kind === 'aad' ? failure.description : undefined
    const description = redact(firstLine(raw !== undefined && raw !== '' ? raw : e.errorCode))
    const retryAfterMs = failure?.kind === 'aad' ? failure.retryAfterMs : undefined
    if (status === 429) {
      return annotate(new UpstreamThrottled(description), { upstreamCode, retry: 'safe', retryAfterMs })
    }
    if (status !== undefined && status >= 500) {
      // Asking for a token again is harmless, and no mailbox call was sent: 'safe' for whatever call needed it.
      return annotate(new UpstreamUnavailable(description), { upstreamCode, retry: 'safe', retryAfterMs })
    }
    const aadError = failure?.kind === 'aad' ? failure.error : (e.errorCode !== '' ? e.errorCode : undefined)
    const errorCode = errorNo !== undefined && /^\d+$/.test(errorNo) ? Number(errorNo) : undefined
    const misconfigured = credentialsError({
      ...(aadError !== undefined ? { error: aadError } : {}),
      ...(errorCode !== undefined ? { errorCode } : {}),
      description
    }, where.credentials)
    if (misconfigured !== undefined) return misconfigured
    return annotate(new UpstreamAuth(description), { upstreamCode })
  }
  if (failure?.kind === 'transport') {
    // A certificate the gateway does not trust is a setting to fix, not an outage.
    const misconfigured = certificateError({ code: failure.code }, where.peer)
    if (misconfigured !== undefined) return misconfigured
  }
  if (failure?.kind === 'transport' || (err instanceof AuthError && err.errorCode === 'network_error')) {
    const message = failure?.kind === 'transport' ? failure.message : 'network error'
    // Whether the token endpoint saw the request is unknown; asking again is harmless, and no mailbox
    // call was sent yet: 'safe' for whatever call needed the token.
    return annotate(new UpstreamUnavailable(redact(message)), { retry: 'safe' })
  }
  if (failure?.kind === 'bad-response') {
    return new UpstreamBadResponse(redact(failure.message))
  }
  if (err instanceof ClientConfigurationError) {
    return new ConfigInvalid(`MSAL: ${redact(firstLine(err.errorMessage !== '' ? err.errorMessage : err.errorCode))}`)
  }
  if (err instanceof AuthError) {
    return annotate(new UpstreamAuth(redact(firstLine(err.errorMessage !== '' ? err.errorMessage : err.errorCode))), {
      upstreamCode: err.errorCode
    })
  }
  return new UpstreamAuth(redact(err instanceof Error ? err.message : String(err)))
}

/**
 * MSAL's server error message is "Error(s): ... - Description: AADSTS...: text\r\nTrace ID..."; keep the
 * AADSTS sentence (or the first line) so callers see the cause without the trailer noise.
 */
function firstLine (message: string): string {
  const desc = /Description: (.*?)(?:\r?\n|$)/.exec(message)
  return (desc?.[1] ?? message.split(/\r?\n/)[0]).trim()
}

function redactor (secret: string | undefined): (s: string) => string {
  return (s) => {
    let out = s.replace(JWT_LIKE, '[redacted-jwt]')
    if (secret !== undefined && secret !== '') out = out.split(secret).join('[redacted]')
    return out
  }
}
