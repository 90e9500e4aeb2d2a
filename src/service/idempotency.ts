/**
 * Idempotency keys for writes (draft-ietf-httpapi-idempotency-key-header-06, "The Idempotency-Key
 * HTTP Header Field"): a request repeated with the same key and the same body gets the first one's
 * answer again and does nothing again. Transports (routes now, jobs later) parse the key, scope it,
 * fingerprint the request and call `begin`, then `finish` with the answer they sent.
 *
 * What is recorded: the final answer of a request that may have written something — every 2xx
 * (per-item results included, whatever they say), and the problems that do not mean "not done"
 * (MBG_ERR_OUTCOME_UNKNOWN, MBG_ERR_INTERNAL). Every other problem means nothing was done
 * (README "Error model"), so the key is freed and the same request may be sent again with it.
 * A request that never finishes frees its key when its lease runs out (the store's lease).
 */
import { createHash } from 'node:crypto'
import { BadRequest, IdempotencyKeyInUse, IdempotencyKeyReused, OutcomeUnknown, Internal } from '../errors.js'
import type { IdempotencyRecord, IdempotencyStore } from '../state/store.js'

/** Most characters of a key (the draft sets no limit; Stripe's is 255). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255
/** Longest Retry-After (seconds) a 409 MBG_ERR_IDEMPOTENCY_KEY_IN_USE asks for. */
export const IN_USE_RETRY_AFTER_SEC = 5

/** Problem codes that do not mean "not done": their answers are recorded, not freed. */
const MAY_HAVE_WRITTEN = new Set([new OutcomeUnknown('').code, new Internal().code])

/** Printable ASCII, space included (RFC 8941 §3.3.3 sf-string characters). */
const PRINTABLE = /^[\x20-\x7e]*$/

/**
 * The key of an `Idempotency-Key` header value, or undefined when there is none. The draft makes the
 * field an RFC 8941 sf-string (`"8e03978e-…"`, with `\"` and `\\` escapes); a bare value (`8e03978e-…`,
 * as Stripe takes it) is accepted too and names the same key. Throws MBG_ERR_BAD_REQUEST (400) for an
 * empty key, one over MAX_IDEMPOTENCY_KEY_LENGTH characters, one with other than printable ASCII,
 * a malformed quoted string, or the field given twice.
 */
export function parseIdempotencyKey (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) throw new BadRequest('Idempotency-Key is given more than once')
  const text = value.trim()
  let key = text
  if (text.startsWith('"')) {
    const m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(text)
    if (m === null) throw new BadRequest('Idempotency-Key is not a valid quoted string (RFC 8941 sf-string)')
    key = m[1].replace(/\\(["\\])/g, '$1')
  }
  if (key.length === 0) throw new BadRequest('Idempotency-Key is empty')
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadRequest(`Idempotency-Key is ${key.length} characters long; at most ${MAX_IDEMPOTENCY_KEY_LENGTH}`)
  }
  if (!PRINTABLE.test(key)) throw new BadRequest('Idempotency-Key may hold printable ASCII characters only')
  return key
}

/** Whose key it is: keys of different scopes never meet. */
export interface IdempotencyScope {
  /** The gateway mailbox id the request writes to (resolved, so an address and the id are one scope). */
  mailboxId: string
  /** The authenticated caller's client (`auth.clients[].name`); absent (auth.mode none): one shared scope. */
  principal?: string
}

/** The store key of `key` in `scope`: a JSON array text, so no part can run into the next. */
export function scopedKey (scope: IdempotencyScope, key: string): string {
  return JSON.stringify([scope.principal ?? null, scope.mailboxId, key])
}

/**
 * The fingerprint of a request: SHA-256 (hex) over the method, the route (its pattern, e.g.
 * `/mailboxes/:mailbox/items::import`: the mailbox is in the scope), the route's other path parameters (the folder
 * of `POST /mailboxes/:mailbox/folders/:folder/items`: one key never creates in two folders), the body's media
 * type when it is not JSON (an .eml and the same bytes as an .ics are two requests) and the SHA-256 of the body
 * bytes exactly as received. A body sent again must be the same bytes (what a retry sends); the same JSON spelled
 * differently counts as another request.
 */
export function requestFingerprint (
  method: string, route: string, bodySha256: string,
  more: { params?: Record<string, string>, mediaType?: string } = {}
): string {
  const params = Object.entries(more.params ?? {}).filter(([name]) => name !== 'mailbox').sort(([a], [b]) =>
    a < b ? -1 : 1)
  const media = more.mediaType === undefined || more.mediaType === 'application/json' ? '' : more.mediaType
  // Requests with neither keep the fingerprint they always had (keys recorded before stay valid).
  const extra = params.length > 0 || media !== '' ? `\n${JSON.stringify([params, media])}` : ''
  return createHash('sha256').update(`${method.toUpperCase()} ${route}${extra}\n${bodySha256}`).digest('hex')
}

/** A request holding its key: hand it back to `finish` or `abandon`. */
export interface IdempotencyClaim {
  key: string
  lease: string
}

/** What `begin` decided: run the request (holding the key), or answer with the recorded answer. */
export type IdempotencyStart = { claim: IdempotencyClaim } | { replay: IdempotencyRecord }

export interface IdempotencyKeysOptions {
  store: IdempotencyStore
  /** Clock for Retry-After, epoch ms; default Date.now. Give the store's when it has its own. */
  now?: () => number
}

/** The service transports call for Idempotency-Key handling; the store is the only state. */
export class IdempotencyKeys {
  private readonly store: IdempotencyStore
  private readonly now: () => number

  constructor (options: IdempotencyKeysOptions) {
    this.store = options.store
    this.now = options.now ?? Date.now
  }

  /**
   * Claims `key` in `scope` for a request with `fingerprint`. Resolves the claim to run the request
   * with, or the recorded answer to send again. Throws MBG_ERR_IDEMPOTENCY_KEY_REUSED (422) when the key
   * belongs to another request, MBG_ERR_IDEMPOTENCY_KEY_IN_USE (409, Retry-After ≤ IN_USE_RETRY_AFTER_SEC
   * seconds) while the first request with it is still running.
   */
  async begin (scope: IdempotencyScope, key: string, fingerprint: string): Promise<IdempotencyStart> {
    const stored = scopedKey(scope, key)
    const found = await this.store.begin(stored, fingerprint)
    switch (found.status) {
      case 'started': return { claim: { key: stored, lease: found.lease } }
      case 'replay': return { replay: found.record }
      case 'mismatch':
        throw new IdempotencyKeyReused('a key names one request (method, path and body); use a new key for ' +
          'another request')
      case 'inProgress': {
        const left = Math.ceil((found.leaseExpiresAt - this.now()) / 1000)
        const err = new IdempotencyKeyInUse('repeat the request later to get its answer')
        throw Object.assign(err, { retryAfter: Math.min(IN_USE_RETRY_AFTER_SEC, Math.max(1, left)) })
      }
    }
  }

  /**
   * Ends a claimed request with the answer it sent: records it (kept for the store's time to live)
   * when it may have written something — any status below 400, and problems whose `code` is
   * MBG_ERR_OUTCOME_UNKNOWN or MBG_ERR_INTERNAL — and frees the key otherwise (the problem says
   * nothing was done). A status of 499 (the caller went away, no answer) frees it as well. Resolves
   * what happened; 'lost' when the claim's lease had already run out (nothing recorded).
   */
  async finish (claim: IdempotencyClaim, answer: IdempotencyRecord): Promise<'recorded' | 'freed' | 'lost'> {
    if (!mayHaveWritten(answer)) {
      await this.store.abandon(claim.key, claim.lease)
      return 'freed'
    }
    return await this.store.complete(claim.key, claim.lease, answer) ? 'recorded' : 'lost'
  }

  /** Frees a claimed key without an answer (the request failed before it had one). */
  async abandon (claim: IdempotencyClaim): Promise<void> {
    await this.store.abandon(claim.key, claim.lease)
  }

  async close (): Promise<void> {
    await this.store.close()
  }
}

function mayHaveWritten (answer: IdempotencyRecord): boolean {
  if (answer.status < 400) return true
  if (answer.status === 499 || answer.body === '') return false
  try {
    const code = (JSON.parse(answer.body) as { code?: unknown }).code
    return typeof code === 'string' && MAY_HAVE_WRITTEN.has(code)
  } catch {
    return true // not a problem document: nothing says it was not done
  }
}
