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
import {
  ConfigInvalid,
  UpstreamAuth,
  UpstreamBadResponse,
  UpstreamThrottled,
  UpstreamUnavailable,
  withExtras
} from '../errors.js'
import { MsalNetworkClient } from './msal-network-client.js'
import type { TokenProvider } from './token-provider.js'
import type { RetryHint, RetryableAnnotations } from '../backends/policy.js'

export interface MsalTokenProviderOptions {
  tenantId: string
  clientId: string
  clientSecret?: string
  certificate?: { thumbprint: string /* SHA-1 hex */, privateKey: string /* PEM */, x5c?: string }
  /** Default 'https://login.microsoftonline.com'; authority = `${authorityHost}/${tenantId}`. */
  authorityHost?: string
  /** e.g. 'https://graph.microsoft.com/.default' */
  scope: string
  /** Extra PEM to trust (the simulator CA). */
  ca?: string
  logger: Logger
}

export type MsalTokenProvider = TokenProvider & { close: () => Promise<void> }

const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com'
// Hosts MSAL knows from its own metadata; any other host is declared a known authority.
const MICROSOFT_HOSTS = new Set([
  'login.microsoftonline.com', 'login.microsoft.com', 'login.windows.net', 'sts.windows.net',
  'login.microsoftonline.us', 'login.usgovcloudapi.net', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn'
])
const JWT_LIKE = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g
const BENIGN_WARNINGS = /No client info in response/

export function createMsalTokenProvider (options: MsalTokenProviderOptions): MsalTokenProvider {
  const authorityHost = (options.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '')
  let hostUrl: URL
  try {
    hostUrl = new URL(authorityHost)
  } catch {
    throw new ConfigInvalid(`authority host '${authorityHost}' is not a URL`)
  }
  if (hostUrl.protocol !== 'https:') throw new ConfigInvalid('the authority host must use https')
  if (options.clientSecret === undefined && options.certificate === undefined) {
    throw new ConfigInvalid(`no client secret or certificate for app ${options.clientId}`)
  }
  const microsoft = MICROSOFT_HOSTS.has(hostUrl.host.toLowerCase())
  const log = options.logger.child({ component: 'msal', clientId: options.clientId })
  const redact = redactor(options.clientSecret)

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

  return {
    async getToken (opts?: { forceRefresh?: boolean }): Promise<string> {
      const before = network.failureSeq
      let result
      try {
        result = await cca.acquireTokenByClientCredential({
          scopes: [options.scope],
          skipCache: opts?.forceRefresh === true
        })
      } catch (err) {
        const failure = network.failureSeq > before ? network.lastFailure : undefined
        const mapped = toGatewayError(err, failure, redact)
        log.warn(
          { code: mapped.code, upstreamCode: (mapped as { upstreamCode?: string }).upstreamCode },
          'token acquisition failed'
        )
        throw mapped
      }
      if (result === null || result.accessToken === '') {
        throw withExtras(new UpstreamAuth('the identity platform returned no access token'), {})
      }
      return result.accessToken
    },
    async close (): Promise<void> {
      await network.close()
    }
  }
}

type Failure = MsalNetworkClient['lastFailure']

function toGatewayError (err: unknown, failure: Failure, redact: (s: string) => string): Error & { code: string } {
  if (err instanceof ServerError || (err instanceof AuthError && failure?.kind === 'aad')) {
    const e = err as ServerError
    const status = e.status ?? (failure?.kind === 'aad' ? failure.status : undefined)
    const errorNo =
      e.errorNo ?? (failure?.kind === 'aad' && failure.errorCode !== undefined ? String(failure.errorCode) : undefined)
    const upstreamCode = errorNo !== undefined ? `AADSTS${errorNo}` : (e.errorCode !== '' ? e.errorCode : undefined)
    // A discovery failure surfaces from MSAL as a generic client error; the AAD body says more.
    const raw = err instanceof ServerError ? e.errorMessage : failure?.kind === 'aad' ? failure.description : undefined
    const description = redact(firstLine(raw !== undefined && raw !== '' ? raw : e.errorCode))
    const retryAfter = failure?.kind === 'aad' ? failure.retryAfterSec : undefined
    if (status === 429) {
      return retryable(withExtras(new UpstreamThrottled(description), { upstreamCode, retryAfter }), 'safe', retryAfter)
    }
    if (status !== undefined && status >= 500) {
      return retryable(
        withExtras(new UpstreamUnavailable(description), { upstreamCode, retryAfter }),
        'idempotent',
        retryAfter
      )
    }
    return withExtras(new UpstreamAuth(description), { upstreamCode })
  }
  if (failure?.kind === 'transport' || (err instanceof AuthError && err.errorCode === 'network_error')) {
    const message = failure?.kind === 'transport' ? failure.message : 'network error'
    // Whether the token endpoint saw the request is unknown; asking again is harmless.
    return retryable(new UpstreamUnavailable(redact(message)), 'idempotent')
  }
  if (failure?.kind === 'bad-response') {
    return withExtras(new UpstreamBadResponse(redact(failure.message)), {})
  }
  if (err instanceof ClientConfigurationError) {
    return new ConfigInvalid(`MSAL: ${redact(firstLine(err.errorMessage !== '' ? err.errorMessage : err.errorCode))}`)
  }
  if (err instanceof AuthError) {
    return withExtras(new UpstreamAuth(redact(firstLine(err.errorMessage !== '' ? err.errorMessage : err.errorCode))), {
      upstreamCode: err.errorCode
    })
  }
  return withExtras(new UpstreamAuth(redact(err instanceof Error ? err.message : String(err))), {})
}

/** Annotates an error for the retry policy (src/backends/policy.ts). */
function retryable<E extends Error> (error: E, retry: RetryHint, retryAfterSec?: number): E & RetryableAnnotations {
  return Object.assign(error, { retry }, retryAfterSec !== undefined ? { retryAfterMs: retryAfterSec * 1000 } : {})
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
