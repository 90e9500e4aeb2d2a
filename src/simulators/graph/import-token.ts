/**
 * The `authtoken` of pre-authenticated import URLs: a JWT-shaped, HMAC-signed token bound to one
 * mailbox, one app and an expiry. Only this simulator instance can verify it (random key).
 * "Expire all sessions" bumps a generation number that every token carries.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'

export interface ImportClaims {
  /** Mailbox GUID the session is for. */
  mbx: string
  app: string
  /** Expiry, seconds since the epoch. */
  exp: number
  gen: number
  sid: string
}

export class ImportTokens {
  private readonly key = randomBytes(32)
  generation = 0

  issue (mailboxGuid: string, appId: string, expiresAt: Date): string {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
    const claims: ImportClaims = {
      mbx: mailboxGuid,
      app: appId,
      exp: Math.floor(expiresAt.getTime() / 1000),
      gen: this.generation,
      sid: randomUUID()
    }
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`
  }

  private sign (input: string): string {
    return createHmac('sha256', this.key).update(input).digest('base64url')
  }

  /** Returns the claims, or a reason why the token is not acceptable. */
  verify (token: string, nowMs: number): ImportClaims | { invalid: string } {
    const parts = token.split('.')
    if (parts.length !== 3) return { invalid: 'The auth token is malformed.' }
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`))
    const given = Buffer.from(parts[2])
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { invalid: 'The auth token signature is invalid.' }
    }
    let claims: ImportClaims
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as ImportClaims
    } catch {
      return { invalid: 'The auth token is malformed.' }
    }
    if (claims.gen !== this.generation || claims.exp * 1000 <= nowMs) return { invalid: 'The auth token has expired.' }
    return claims
  }
}
