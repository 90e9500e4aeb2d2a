/**
 * A throwaway TLS identity for simulators on loopback.
 *
 * MSAL refuses `http:` authorities, so the identity (and Graph) simulators serve
 * HTTPS. Clients trust the returned `ca` (the self-signed certificate itself)
 * explicitly; nothing is added to the process-wide trust store.
 */
import { generate } from 'selfsigned'

export interface LoopbackCertificate {
  /** PEM private key (PKCS#8). */
  key: string
  /** PEM certificate, valid for 127.0.0.1, ::1 and localhost. */
  cert: string
  /** PEM to trust on the client side (same as `cert`: it is self-signed). */
  ca: string
}

// One key pair per process: RSA generation costs ~100 ms, and every simulator
// and test client of a process can share the same certificate.
let cached: Promise<LoopbackCertificate> | undefined

/** The process-wide loopback certificate (selfsigned v5 is async, so this is too). */
export async function loopbackCertificate (): Promise<LoopbackCertificate> {
  cached ??= create().catch((err: unknown) => {
    // Do not cache a failure: a later call may succeed.
    cached = undefined
    throw err
  })
  return await cached
}

async function create (): Promise<LoopbackCertificate> {
  const now = Date.now()
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    // Back-dated a little so small clock differences never make it "not yet valid".
    notBeforeDate: new Date(now - 60 * 60 * 1000),
    notAfterDate: new Date(now + 30 * 24 * 60 * 60 * 1000),
    extensions: [
      // cA so that strict verifiers accept it as its own trust anchor.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' }
        ]
      }
    ]
  })
  return { key: pems.private, cert: pems.cert, ca: pems.cert }
}
