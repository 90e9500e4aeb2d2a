/**
 * Page tokens as callers see them: the adapter's own cursor, bound by an HMAC to
 * the listing it came from (mailbox, collection, folder or parent). A token that
 * was altered, or is replayed against another listing, is a 400 before any
 * backend sees it. Set PAGE_TOKEN_SECRET so tokens survive restarts and work
 * across replicas; otherwise each process uses a random key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { BadRequest } from '../errors.js'

export class PageTokens {
  private readonly key: Buffer

  constructor (secret?: string) {
    this.key = secret !== undefined ? Buffer.from(secret, 'utf8') : randomBytes(32)
  }

  private mac (scope: string, payload: string): Buffer {
    return createHmac('sha256', this.key).update(scope).update('\0').update(payload).digest().subarray(0, 16)
  }

  seal (scope: string, cursor: string): string {
    const payload = Buffer.from(cursor, 'utf8').toString('base64url')
    return `${payload}.${this.mac(scope, payload).toString('base64url')}`
  }

  /** Returns the adapter cursor; throws MBG_ERR_BAD_REQUEST for anything not sealed for this scope. */
  open (scope: string, token: string): string {
    const dot = token.lastIndexOf('.')
    const payload = token.slice(0, dot)
    const given = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = this.mac(scope, payload)
    if (dot <= 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new BadRequest(
        'pageToken is not a token this listing issued (pass nextPageToken back unchanged, with the same mailbox, folder and parentId)'
      )
    }
    return Buffer.from(payload, 'base64url').toString('utf8')
  }
}
