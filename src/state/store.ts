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

/**
 * A mailbox registered at runtime (POST /mailboxes), as a MailboxRegistryStore keeps it: the gateway's own
 * routing facts, never anything the backend said (discovery is cached by the router, src/backends/router.ts).
 */
export interface RegisteredMailbox {
  /** Primary SMTP address, lower-case: the key (one registration per address). */
  address: string
  /** Name of the configured backend that serves it (`backends` of the configuration document). */
  backend: string
  /** Display name given when registering, if any (otherwise the backend's, once discovered). */
  displayName?: string
  /** Gateway id of the primary mailbox (`mailboxId(backend, address, 'primary')`): `find` matches it. */
  id: string
  /** Gateway id its archive has, when it has one (`mailboxId(backend, address, 'archive')`): `find` matches it. */
  archiveId: string
  /** When it was registered, epoch ms from the store's clock (set by `add`). */
  addedAt: number
  /** The client that registered it (`auth.clients[].name`), when known. */
  addedBy?: string
}

/**
 * What `add` found: `added` (stored now, with the store's `addedAt`) or `exists` (the address was registered
 * already; `entry` is the registration kept, unchanged).
 */
export type MailboxRegistryAdd =
  | { status: 'added', entry: RegisteredMailbox }
  | { status: 'exists', entry: RegisteredMailbox }

/**
 * Mailboxes registered at runtime (README "Mailboxes at runtime"): a migration wave registers thousands, so they
 * live here rather than in the configuration document, shared by every replica using the same store.
 *
 * Addresses are kept lower-case and listed in code-point order (`compareAddresses`; a SQL store compares bytes:
 * SQLite's BINARY collation, PostgreSQL's `COLLATE "C"`). `add` is atomic: of two concurrent adds of one address,
 * exactly one is `added`.
 */
export interface MailboxRegistryStore {
  /**
   * At most `limit` (≥ 1) registrations whose address sorts after `afterAddress` (all when absent), in address
   * order. A listing page by page sees every registration that stays registered throughout, once.
   */
  list: (afterAddress: string | undefined, limit: number) => Promise<RegisteredMailbox[]>
  /** The registration whose address, `id` or `archiveId` is `key` (compared lower-case); undefined when none. */
  find: (key: string) => Promise<RegisteredMailbox | undefined>
  /** Registers `entry` (its address lower-cased) unless the address is registered already. */
  add: (entry: Omit<RegisteredMailbox, 'addedAt'>) => Promise<MailboxRegistryAdd>
  /** Removes the registration of `address` (any letter case): `removed`, or `absent` when there was none. */
  remove: (address: string) => Promise<'removed' | 'absent'>
  /** Releases what the store holds (connections, timers). */
  close: () => Promise<void>
}

/**
 * Orders addresses by Unicode code point (negative, 0, positive), the order every MailboxRegistryStore lists in:
 * the byte order of their UTF-8, unlike JavaScript's `<` on strings (UTF-16 code units) for characters past U+FFFF.
 */
export function compareAddresses (a: string, b: string): number {
  if (a === b) return 0
  const x = [...a]
  const y = [...b]
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return (x[i].codePointAt(0) as number) - (y[i].codePointAt(0) as number)
  }
  return x.length - y.length
}
