/**
 * The gateway's state store: what must outlive one request and, with several replicas, be shared
 * between them (README "Architecture"). One interface per kind of state, several implementations:
 * in memory now (src/state/memory.ts), SQLite (embedded default) and PostgreSQL next.
 *
 * Every method is async and every value crosses it as JSON-serializable data (strings, numbers,
 * plain objects), never an in-process object, so a store backed by a database serves it as is.
 * Times are epoch milliseconds from the store's own clock.
 */

/**
 * Default time a completed key is kept: 24 hours, in milliseconds. Every store uses it when not told
 * otherwise (draft-ietf-httpapi-idempotency-key-header "Idempotency Key Validity and Expiry" leaves it
 * to the server; 24 hours is what Stripe keeps).
 */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** Default time an unfinished request holds its key: 5 minutes (the default request timeout), in ms. */
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 5 * 60 * 1000

/**
 * The final answer of a request made with an Idempotency-Key, as it was sent: replayed verbatim
 * (status, these headers, body byte for byte) to a repeat of the request.
 */
export interface IdempotencyRecord {
  /** HTTP status of the answer (e.g. 200, 201, 502). */
  status: number
  /**
   * Answer headers to send again, lower-case names (e.g. `content-type`, `location`); never
   * per-request headers such as `x-request-id`.
   */
  headers: Record<string, string>
  /** The answer body exactly as sent (UTF-8 text: the API answers JSON); '' for none. */
  body: string
}

/**
 * What `begin` found for a key:
 * - `started`: the key was free (never seen, expired, or abandoned); the caller now holds it under
 *   `lease` until it calls `complete` or `abandon`, or the lease runs out (`leaseExpiresAt`).
 * - `replay`: a request with this key and fingerprint already completed; answer with `record`.
 * - `mismatch`: the key is held or was completed by a request with another fingerprint.
 * - `inProgress`: a request with this key and fingerprint holds it now (until `leaseExpiresAt` at most).
 */
export type IdempotencyBegin =
  | { status: 'started', lease: string, leaseExpiresAt: number }
  | { status: 'replay', record: IdempotencyRecord }
  | { status: 'mismatch' }
  | { status: 'inProgress', leaseExpiresAt: number }

/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header, "Idempotency Fingerprint" and
 * "Responsibilities"): one entry per scoped key. `key` is the caller's key already scoped by the
 * service (mailbox, later the caller); `fingerprint` identifies the request (method, route, body).
 *
 * Implementations make `begin` atomic (one of two concurrent begins for a free key gets `started`),
 * let an in-progress entry lapse when its lease runs out (a crashed or stuck request must not hold
 * its key for ever), keep a completed entry until its time to live has passed, and may drop
 * completed entries early to stay within their bounds (the oldest first).
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `fingerprint`, or says why not (see IdempotencyBegin). */
  begin: (key: string, fingerprint: string) => Promise<IdempotencyBegin>
  /**
   * Records the final answer for `key`, kept for the store's time to live from now. Resolves false,
   * recording nothing, when `lease` no longer holds the key (it ran out and the key moved on).
   */
  complete: (key: string, lease: string, record: IdempotencyRecord) => Promise<boolean>
  /** Frees `key` if `lease` still holds it: a repeat of the request then runs anew. */
  abandon: (key: string, lease: string) => Promise<void>
  /** Releases what the store holds (connections, timers). */
  close: () => Promise<void>
}
