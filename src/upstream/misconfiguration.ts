/**
 * Upstream failures that are configuration problems, named as such: a certificate the
 * gateway does not trust, credentials the identity platform or the backend rejects, an
 * import host the gateway refuses. Each becomes MBG_ERR_BACKEND_MISCONFIGURED (502, never
 * retried) with a message naming the setting to fix, as a path into the configuration
 * document (`backends.<name>.tls.caFile`), so an operator knows what to change without
 * reading the code.
 */
import { BackendMisconfigured, type GatewayError } from '../errors.js'
import { annotate } from './errors.js'

/**
 * X.509 verification failures as Node.js reports them in `err.code` (the OpenSSL names; Node.js
 * `tls` docs, "X509 certificate error codes": https://nodejs.org/api/tls.html#x509-certificate-error-codes),
 * plus the host name check of `tls.checkServerIdentity` (`ERR_TLS_CERT_ALTNAME_INVALID`).
 */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED', 'INVALID_CA'
])
const NAME_MISMATCH = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'])
const VALIDITY = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])
const OTHER_X509 = new Set([
  'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_REJECTED'
])

/** The error code of a transport failure: the error's own, else its cause's (undici wraps some). */
export function transportCode (err: unknown): string | undefined {
  const own = (err as { code?: unknown } | null)?.code
  if (typeof own === 'string') return own
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code
  return typeof cause === 'string' ? cause : undefined
}

/** True when `code` (see transportCode) is a certificate verification failure. */
export function isCertificateFailure (code: string | undefined): boolean {
  if (code === undefined) return false
  return UNTRUSTED.has(code) || NAME_MISMATCH.has(code) || VALIDITY.has(code) || OTHER_X509.has(code)
}

/** Where the certificate came from, for the message. */
export interface TlsPeer {
  /** Name of the backend in the configuration document (`backends.<name>`). */
  backend: string
  /** `https://host:port` that presented the certificate. */
  origin: string
  /** The setting holding that origin: `url`, `graphUrl`, `authorityHost`, `allowedImportHosts`. */
  urlSetting: string
}

/**
 * A certificate verification failure (Node.js/OpenSSL code, see transportCode) as
 * MBG_ERR_BACKEND_MISCONFIGURED with the code as `upstreamCode`; undefined for any other
 * transport failure. An untrusted issuer names `backends.<name>.tls.caFile` (a PEM file
 * with the CA that issued the backend's certificate), a host name mismatch the URL
 * setting, an expired certificate the server.
 */
export function certificateError (err: unknown, peer: TlsPeer): GatewayError | undefined {
  const code = transportCode(err)
  if (code === undefined || !isCertificateFailure(code)) return undefined
  const at = `backend "${peer.backend}": ${peer.origin}`
  const caFile = `backends.${peer.backend}.tls.caFile`
  let message: string
  if (UNTRUSTED.has(code)) {
    message = `${at} presents a certificate the gateway does not trust (${code}); ` +
      `set ${caFile} to a PEM file with the CA that issued it`
  } else if (NAME_MISMATCH.has(code)) {
    message = `${at} presents a certificate that is not valid for that host name (${code}); ` +
      `check backends.${peer.backend}.${peer.urlSetting}`
  } else if (VALIDITY.has(code)) {
    message = `${at} presents a certificate outside its validity period (${code}); ` +
      'it must be renewed on that server (or this machine\'s clock is wrong)'
  } else {
    message = `${at} presents a certificate that fails verification (${code}); check it, and ${caFile}`
  }
  return annotate(new BackendMisconfigured(message), { upstreamCode: code })
}

/** What the identity platform said (the AAD error body, src/auth/msal-network-client.ts). */
export interface AadRejection {
  /** OAuth `error`: `invalid_client`, `unauthorized_client`, `invalid_request`, … */
  error?: string
  /** First of `error_codes`: the AADSTS number. */
  errorCode?: number
  /** The AADSTS sentence of `error_description`. */
  description: string
}

/** Where a backend's client credentials sit in the configuration document. */
export interface CredentialSettings {
  backend: string
  /** Path of the object holding tenantId/clientId/clientSecret/certificate: `backends.x` or `backends.x.auth`. */
  path: string
  /** Which credential the token provider sends. */
  credential: 'clientSecret' | 'certificate'
}

/**
 * AADSTS numbers that mean the configuration is wrong, and the setting each points at.
 * Microsoft's list: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 */
const AADSTS_SETTINGS: Record<number, (c: CredentialSettings) => string> = {
  90002: () => 'tenantId', // tenant not found
  900023: () => 'tenantId', // tenant identifier neither a GUID nor a domain
  700016: () => 'clientId (and tenantId: the app is not registered in that tenant)', // application not found
  7000215: () => 'clientSecret', // invalid client secret
  7000222: () => 'clientSecret', // client secret expired
  7000216: (c) => c.credential, // no client_secret or client_assertion
  700027: () => 'certificate', // assertion signature invalid / certificate unknown
  700021: () => 'certificate', // assertion issuer does not match client_id
  700024: () => 'certificate (or this machine\'s clock)', // assertion not within its valid time range
  50049: () => 'authorityHost' // unknown or invalid instance
}

/**
 * An identity platform rejection that is a configuration problem (the tenant, the app, its
 * secret or certificate, the authority host) as MBG_ERR_BACKEND_MISCONFIGURED naming the
 * setting, with `upstreamCode` AADSTSnnn; undefined for anything else (throttling, outages,
 * `invalid_grant` and scope problems stay what they were). Any other `invalid_client` points
 * at the credential in use; `unauthorized_client` at the client id.
 */
export function credentialsError (aad: AadRejection, settings: CredentialSettings): GatewayError | undefined {
  const byCode = aad.errorCode !== undefined ? AADSTS_SETTINGS[aad.errorCode] : undefined
  let setting: string | undefined
  if (byCode !== undefined) setting = byCode(settings)
  else if (aad.error === 'invalid_client') setting = settings.credential
  else if (aad.error === 'unauthorized_client') setting = 'clientId'
  if (setting === undefined) return undefined
  const upstreamCode = aad.errorCode !== undefined ? `AADSTS${aad.errorCode}` : aad.error
  const message = `backend "${settings.backend}": the identity platform rejected the gateway's app registration ` +
    `(${aad.description}); check ${settings.path}.${setting}`
  return annotate(new BackendMisconfigured(message), { upstreamCode })
}

/**
 * An EWS server refusing Basic credentials (HTTP 401 to a request with an Authorization
 * header): the configured user name or password is wrong, or the server does not take
 * them (Basic disabled there). Names `backends.<name>.auth.username` and `.password`.
 */
export function basicAuthError (backend: string, upstreamRequestId?: string): GatewayError {
  // Worded so that no "Basic <word>" reads like a credential to log scanners.
  const message = `backend "${backend}": EWS refused the configured user name and password (HTTP 401); ` +
    `check backends.${backend}.auth.username and backends.${backend}.auth.password ` +
    '(and that the server accepts them: auth.kind "basic")'
  return annotate(new BackendMisconfigured(message), { upstreamCode: 'HTTP401', upstreamRequestId })
}

/**
 * An EWS server refusing NTLM credentials (HTTP 401 to the Type 3 message of a handshake,
 * src/backends/ews/ntlm.ts): the configured Windows account or its password is wrong, or
 * the account may not use EWS. Names `backends.<name>.auth.username` and `.password`.
 */
export function ntlmAuthError (backend: string, upstreamRequestId?: string): GatewayError {
  const message = `backend "${backend}": EWS refused the configured NTLM user name and password (HTTP 401); ` +
    `check backends.${backend}.auth.username (DOMAIN\\user or user@domain) and backends.${backend}.auth.password`
  return annotate(new BackendMisconfigured(message), { upstreamCode: 'HTTP401', upstreamRequestId })
}

/**
 * An EWS server that answers an NTLM negotiation without an NTLM challenge (Windows
 * authentication off, or only Negotiate/Kerberos, Basic or OAuth on): names
 * `backends.<name>.auth.kind` and what the server offers (the schemes of its
 * `WWW-Authenticate` headers, e.g. "Basic, Negotiate").
 */
export function ntlmNotOfferedError (backend: string, offered: string[]): GatewayError {
  const schemes = offered.length > 0 ? offered.join(', ') : 'nothing'
  const message = `backend "${backend}": EWS does not offer NTLM (it offers ${schemes}); ` +
    `set backends.${backend}.auth.kind to a scheme the server accepts, or enable Windows authentication ` +
    '(NTLM) on its EWS virtual directory'
  return annotate(new BackendMisconfigured(message), { upstreamCode: 'HTTP401' })
}

/**
 * An NTLM challenge the gateway does not answer: without extended session security and target
 * information a client could only send an NTLMv1 response, which the gateway never does.
 */
export function ntlmV1OnlyError (backend: string): GatewayError {
  const message = `backend "${backend}": EWS offered only NTLMv1 (its challenge has no target information), ` +
    'which the gateway does not use; the server must allow NTLMv2 (LAN Manager authentication level)'
  return new BackendMisconfigured(message)
}

/**
 * An import URL on a host the configuration does not list: names
 * `backends.<name>.allowedImportHosts`. The URL itself (its authtoken) is never in the message.
 */
export function importHostError (backend: string, host: string): GatewayError {
  const message = `backend "${backend}": createImportSession returned an import URL on ${host}, which is not in ` +
    `backends.${backend}.allowedImportHosts; add "${host}" there if it is this backend's import endpoint`
  return new BackendMisconfigured(message)
}
