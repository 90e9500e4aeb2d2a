/**
 * The simulator's token-signing key: one per process, like the tenant-independent
 * signing keys Entra publishes at /discovery/v2.0/keys. It comes with a self-signed
 * certificate so the JWKS carries real `x5c` and `x5t` values (kid = x5t, as Entra does).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { generate } from 'selfsigned'
import { exportJWK, type JWK } from 'jose'

export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  kid: string
  x5t: string
  jwk: JWK
}

let cached: Promise<SigningKey> | undefined

export async function signingKey (): Promise<SigningKey> {
  cached ??= create().catch((err: unknown) => {
    cached = undefined
    throw err
  })
  return await cached
}

async function create (): Promise<SigningKey> {
  const now = Date.now()
  const pems = await generate([{ name: 'commonName', value: 'accounts.accesscontrol.windows.net' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 24 * 60 * 60 * 1000),
    notAfterDate: new Date(now + 365 * 24 * 60 * 60 * 1000)
  })
  const cert = new X509Certificate(pems.cert)
  const x5t = base64url(Buffer.from(cert.fingerprint.replaceAll(':', ''), 'hex'))
  const privateKey = createPrivateKey(pems.private)
  const publicKey = cert.publicKey
  const jwk: JWK = {
    kty: 'RSA',
    use: 'sig',
    kid: x5t,
    x5t,
    ...pickRsa(await exportJWK(publicKey)),
    x5c: [cert.raw.toString('base64')]
  }
  return { privateKey, publicKey, kid: x5t, x5t, jwk }
}

function pickRsa (jwk: JWK): { n?: string, e?: string } {
  return { n: jwk.n, e: jwk.e }
}

export function base64url (bytes: Buffer): string {
  return bytes.toString('base64url')
}
