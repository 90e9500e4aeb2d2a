/**
 * Page tokens as callers see them: the adapter's own cursor, encrypted and bound to the
 * listing it came from (mailbox, collection, folder or parent) with AES-256-GCM, the listing
 * as additional authenticated data (NIST SP 800-38D). Cursors can carry backend routing data
 * (a Graph `MBX:` id, upstream paths), so callers and access logs see only ciphertext. A token
 * that was altered, or is replayed against another listing, is a 400 before any backend sees
 * it. Set PAGE_TOKEN_SECRET so tokens survive restarts and work across replicas; otherwise each
 * process uses a random key.
 */
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, randomBytes, type KeyObject
} from 'node:crypto'
import { BadRequest } from '../errors.js'

/** GCM nonce and tag sizes in bytes (SP 800-38D: 96-bit nonce, 128-bit tag). */
const NONCE = 12
const TAG = 16

export class PageTokens {
  // KeyObjects, made once: given as Buffers, every seal and open would import the keys again (most of its cost).
  private readonly key: KeyObject
  private readonly nonceKey: KeyObject

  /** @param secret any string of ≥ 16 characters (hashed to the 256-bit keys); random when absent */
  constructor (secret?: string) {
    const root = secret !== undefined
      ? createHash('sha256').update('mailbox-gateway page tokens\0').update(secret, 'utf8').digest()
      : randomBytes(32)
    this.key = createSecretKey(createHash('sha256').update('encryption\0').update(root).digest())
    this.nonceKey = createSecretKey(createHash('sha256').update('nonce\0').update(root).digest())
  }

  /**
   * base64url(nonce ‖ ciphertext ‖ tag) of `cursor`, bound to `scope`. The nonce is synthetic, an HMAC of scope
   * and cursor (the SIV construction, RFC 5297 §1.3): only the same cursor of the same listing ever shares one,
   * so a token is stable (the same page gives the same token) without ever reusing a nonce for other data.
   */
  seal (scope: string, cursor: string): string {
    const mac = createHmac('sha256', this.nonceKey).update(scope).update('\0').update(cursor).digest()
    const nonce = mac.subarray(0, NONCE)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce).setAAD(Buffer.from(scope, 'utf8'))
    const body = Buffer.concat([cipher.update(cursor, 'utf8'), cipher.final()])
    return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')
  }

  /** Returns the adapter cursor; throws MBG_ERR_BAD_REQUEST for anything not sealed for this scope by this key. */
  open (scope: string, token: string): string {
    // A length of 4n+1 is no base64url text (the decoder would drop the last character): not a token sealed here.
    const raw = /^[A-Za-z0-9_-]+$/.test(token) && token.length % 4 !== 1
      ? Buffer.from(token, 'base64url')
      : Buffer.alloc(0)
    if (raw.length >= NONCE + TAG) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE))
          .setAAD(Buffer.from(scope, 'utf8'))
          .setAuthTag(raw.subarray(raw.length - TAG))
        const cursor = Buffer.concat([decipher.update(raw.subarray(NONCE, raw.length - TAG)), decipher.final()])
        return cursor.toString('utf8')
      } catch {
        // authentication failed: fall through to the caller's 400
      }
    }
    throw new BadRequest('pageToken is not a token this listing issued (pass nextPageToken back unchanged, ' +
      'to the same listing with the same parameters)')
  }
}
