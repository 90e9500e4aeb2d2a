/**
 * Client authentication at the token endpoint: `client_secret` (form or HTTP
 * Basic) or a `private_key_jwt` client assertion signed with the app's
 * certificate key. Failures are AadErrors with the AADSTS codes Entra uses.
 */
import { X509Certificate, createHash, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose'
import { AadError } from './aad-error.js'
import type { IdentityApp } from './types.js'

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface ClientCredentials {
  clientSecret?: string
  clientAssertionType?: string
  clientAssertion?: string
}

export interface AssertionContext {
  /** Audiences Entra accepts in an assertion: the token endpoint (and the issuer, for older clients). */
  audiences: string[]
}

/** Which credential type authenticated the client: Entra's `azpacr` ('1' secret, '2' certificate). */
export type AuthMethod = '1' | '2'

export async function authenticateClient (app: IdentityApp, creds: ClientCredentials,
  ctx: AssertionContext): Promise<AuthMethod> {
  if (creds.clientAssertion !== undefined || creds.clientAssertionType !== undefined) {
    if (creds.clientAssertionType !== JWT_BEARER_ASSERTION) {
      throw new AadError(400, 'invalid_request', 50027,
        `Invalid client_assertion_type '${creds.clientAssertionType ?? ''}'. It must be '${JWT_BEARER_ASSERTION}'.`)
    }
    if (creds.clientAssertion === undefined || creds.clientAssertion === '') {
      throw new AadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_assertion'."
      )
    }
    await verifyAssertion(app, creds.clientAssertion, ctx)
    return '2'
  }
  if (creds.clientSecret !== undefined) {
    if (app.clientSecret === undefined || !sameSecret(creds.clientSecret, app.clientSecret)) {
      throw new AadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`
      )
    }
    return '1'
  }
  throw new AadError(401, 'invalid_client', 7000216,
    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
}

function sameSecret (given: string, expected: string): boolean {
  // Hash first so timingSafeEqual gets equal lengths and length does not leak.
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

const invalidSignature = (why: string): AadError =>
  new AadError(401, 'invalid_client', 700027, `Client assertion failed signature validation. [Reason - ${why}]`)

async function verifyAssertion (app: IdentityApp, assertion: string, ctx: AssertionContext): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(assertion)
  } catch {
    throw new AadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.')
  }
  if (app.publicKeyPem === undefined) {
    throw invalidSignature(`The key was not found., Thumbprint of key used by client: '${String(header.x5t ?? '')}'`)
  }
  const { key, certDer } = loadKey(app.publicKeyPem)
  // The thumbprint(s) in the header must name a certificate registered on the app.
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined
  if (x5t === undefined && x5tS256 === undefined) {
    throw invalidSignature('The key was not found., Thumbprint of key used by client: \'\'')
  }
  if (x5t !== undefined) {
    const registered =
      app.certificateThumbprint ??
      (certDer !== undefined ? createHash('sha1').update(certDer).digest('hex') : undefined)
    if (registered === undefined || Buffer.from(registered.replace(/[^0-9a-f]/gi, ''),
      'hex').toString('base64url') !== x5t) {
      throw invalidSignature(
        `The key was not found., Thumbprint of key used by client: '${Buffer.from(x5t, 'base64url').toString('hex').toUpperCase()}'`
      )
    }
  }
  if (x5tS256 !== undefined && certDer !== undefined &&
    createHash('sha256').update(certDer).digest('base64url') !== x5tS256) {
    throw invalidSignature('The key was not found.')
  }
  try {
    await jwtVerify(assertion, key, {
      algorithms: ['RS256', 'PS256'],
      audience: ctx.audiences,
      issuer: app.clientId,
      subject: app.clientId,
      requiredClaims: ['exp', 'aud', 'iss', 'sub'],
      // Entra tolerates five minutes of clock skew on assertions.
      clockTolerance: 300
    })
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new AadError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.')
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'iss' || err.claim === 'sub') {
        throw new AadError(
          401,
          'invalid_client',
          700021,
          "Client assertion application identifier doesn't match 'client_id' parameter."
        )
      }
      if (err.claim === 'nbf') {
        throw new AadError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.')
      }
      throw new AadError(
        401,
        'invalid_client',
        50027,
        `Invalid JWT token. Claim '${err.claim}' is not valid: audience must be the token endpoint.`
      )
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw invalidSignature('The signature is invalid.')
    throw new AadError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.')
  }
}

function loadKey (pem: string): { key: KeyObject, certDer?: Buffer } {
  if (pem.includes('BEGIN CERTIFICATE')) {
    const cert = new X509Certificate(pem)
    return { key: cert.publicKey, certDer: cert.raw }
  }
  return { key: createPublicKey(pem) }
}
