/**
 * The embedded state store: one SQLite file (src/state/sqlite-database.ts) that keeps idempotency keys and the
 * mailbox registry (here) and copy jobs with their ledgers (src/state/sqlite-jobs.ts). Everything survives a
 * restart, and processes on one host may share the file; replicas on several hosts need the PostgreSQL store
 * (next). `node:sqlite` is synchronous: within a process nothing interleaves; across processes the read-then-write
 * steps (`begin`, `add`) are one `BEGIN IMMEDIATE` transaction each.
 */
import { randomUUID } from 'node:crypto'
import type { StatementSync } from 'node:sqlite'
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js'
import {
  DEFAULT_IDEMPOTENCY_LEASE_MS, DEFAULT_IDEMPOTENCY_TTL_MS, type IdempotencyBegin, type IdempotencyRecord,
  type IdempotencyStore, type MailboxRegistryAdd, type MailboxRegistryStore, type RegisteredMailbox
} from './store.js'

export { DEFAULT_SQLITE_BUSY_TIMEOUT_MS } from './sqlite-database.js'

/** Default most keys kept at once in a SQLite store. */
export const DEFAULT_SQLITE_IDEMPOTENCY_MAX_ENTRIES = 1_000_000
/** Default most answer bytes (UTF-16 code units of recorded bodies and headers) kept at once: 1 Gi. */
export const DEFAULT_SQLITE_IDEMPOTENCY_MAX_BYTES = 1024 * 1024 * 1024
/**
 * Where a SQLite store keeps its data: `path`, a file it opens for itself (created with its folder when missing;
 * ':memory:' for a private in-memory database), or `database`, a file opened already and shared with other stores
 * (openSqliteDatabase). Either way the store's `close` releases its use of the file, which closes with the last.
 */
export type SqliteLocation =
  | { path: string, database?: undefined, busyTimeoutMs?: number }
  | { database: SqliteDatabase, path?: undefined }

/** The database of `location`, retained for one store; throws as openSqliteDatabase does. */
export function retainDatabase (location: SqliteLocation): SqliteDatabase {
  const database = location.database ?? openSqliteDatabase(location.path, {
    ...(location.busyTimeoutMs !== undefined ? { busyTimeoutMs: location.busyTimeoutMs } : {})
  })
  database.retain()
  return database
}

export type SqliteIdempotencyOptions = SqliteLocation & {
  /** How long a completed key is kept (ms); default DEFAULT_IDEMPOTENCY_TTL_MS. */
  ttlMs?: number
  /** How long a request holds its key before it lapses (ms); default DEFAULT_IDEMPOTENCY_LEASE_MS. */
  leaseMs?: number
  /**
   * Most keys kept; past it the oldest completed keys are dropped before their time (a repeat of such a
   * request runs again). Keys of requests in progress are never dropped. Checked by the sweep (see
   * `sweepEveryMs`), so the file may exceed it until the next one. Default DEFAULT_SQLITE_IDEMPOTENCY_MAX_ENTRIES.
   */
  maxEntries?: number
  /** Most recorded answer text kept (UTF-16 code units), enforced as maxEntries is; default 1 Gi. */
  maxBytes?: number
  /**
   * Expired keys are deleted, and the bounds enforced, by a sweep that a `begin` runs when the last one
   * is at least this old (ms; default 60 000). An expired key is treated as absent whether swept or not.
   */
  sweepEveryMs?: number
  /** Clock, epoch ms (tests move it); default Date.now. */
  now?: () => number
}

interface Row {
  fingerprint: string
  lease: string | null
  record: string | null
  expires_at: number
}

function recordBytes (record: IdempotencyRecord): number {
  let n = record.body.length
  for (const [name, value] of Object.entries(record.headers)) n += name.length + value.length
  return n
}

/**
 * IdempotencyStore in a SQLite file (table `idempotency_keys`, schema in src/state/migrations/sqlite.ts),
 * with the in-memory store's semantics: leases and time to live from the store's clock, expired keys
 * free, the oldest completed keys dropped first past a bound. Opening creates the file and its folder
 * when missing, switches it to WAL mode and migrates it; it throws (a plain Error naming the file) when
 * the file cannot be opened or was migrated by a newer gateway. Methods reject when SQLite fails (a
 * full disk, a lock held past `busyTimeoutMs`).
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  /** The database file as given. */
  readonly path: string
  private readonly database: SqliteDatabase
  private closed = false
  private readonly ttlMs: number
  private readonly leaseMs: number
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly sweepEveryMs: number
  private readonly now: () => number
  private lastSweep = -Infinity
  private readonly sql: {
    get: StatementSync
    claim: StatementSync
    complete: StatementSync
    abandon: StatementSync
    expire: StatementSync
    totals: StatementSync
    trim: StatementSync
    count: StatementSync
  }

  constructor (options: SqliteIdempotencyOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
    this.leaseMs = options.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS
    this.maxEntries = options.maxEntries ?? DEFAULT_SQLITE_IDEMPOTENCY_MAX_ENTRIES
    this.maxBytes = options.maxBytes ?? DEFAULT_SQLITE_IDEMPOTENCY_MAX_BYTES
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000
    this.now = options.now ?? Date.now
    this.database = retainDatabase(options)
    this.path = this.database.path
    try {
      // Every commit reaches the disk before `complete` resolves (synchronous = FULL, src/state/sqlite-database.ts):
      // a recorded answer survives a power cut.
      const db = this.database.db
      this.sql = {
        get: db.prepare('SELECT fingerprint, lease, record, expires_at FROM idempotency_keys WHERE key = ?'),
        claim: db.prepare(
          'INSERT INTO idempotency_keys (key, fingerprint, lease, record, bytes, expires_at, changed_at) ' +
          'VALUES (?, ?, ?, NULL, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, ' +
          'lease = excluded.lease, record = NULL, bytes = 0, expires_at = excluded.expires_at, ' +
          'changed_at = excluded.changed_at'),
        complete: db.prepare(
          'UPDATE idempotency_keys SET lease = NULL, record = ?, bytes = ?, expires_at = ?, changed_at = ? ' +
          'WHERE key = ? AND lease = ? AND expires_at > ?'),
        abandon: db.prepare('DELETE FROM idempotency_keys WHERE key = ? AND lease = ?'),
        expire: db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?'),
        totals: db.prepare(
          'SELECT COUNT(*) AS n, TOTAL(bytes) AS bytes, COUNT(lease) AS held FROM idempotency_keys'),
        // Completed keys, newest first, are kept while both the keys held and the bytes kept fit.
        trim: db.prepare(
          'DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM (SELECT key, ' +
          'ROW_NUMBER() OVER newest AS keys_kept, SUM(bytes) OVER newest AS bytes_kept ' +
          'FROM idempotency_keys WHERE lease IS NULL ' +
          'WINDOW newest AS (ORDER BY changed_at DESC, key DESC ROWS UNBOUNDED PRECEDING)) ' +
          'WHERE keys_kept > ? OR bytes_kept > ?)'),
        count: db.prepare('SELECT COUNT(*) AS n FROM idempotency_keys')
      }
    } catch (err) {
      this.database.release()
      throw err
    }
  }

  /** Keys held now, expired ones not yet swept included (for tests and metrics). */
  get size (): number {
    return (this.sql.count.get() as { n: number }).n
  }

  async begin (key: string, fingerprint: string): Promise<IdempotencyBegin> {
    this.check()
    const now = this.now()
    if (now - this.lastSweep >= this.sweepEveryMs) this.sweep(now)
    return this.database.immediate((): IdempotencyBegin => {
      const row = this.sql.get.get(key) as Row | undefined
      if (row !== undefined && row.expires_at > now) {
        if (row.fingerprint !== fingerprint) return { status: 'mismatch' }
        return row.record !== null
          ? { status: 'replay', record: JSON.parse(row.record) as IdempotencyRecord }
          : { status: 'inProgress', leaseExpiresAt: row.expires_at }
      }
      const lease = randomUUID()
      const expiresAt = now + this.leaseMs
      this.sql.claim.run(key, fingerprint, lease, expiresAt, now)
      return { status: 'started', lease, leaseExpiresAt: expiresAt }
    })
  }

  async complete (key: string, lease: string, record: IdempotencyRecord): Promise<boolean> {
    this.check()
    const now = this.now()
    const kept: IdempotencyRecord = { status: record.status, headers: record.headers, body: record.body }
    const { changes } = this.sql.complete.run(JSON.stringify(kept), recordBytes(kept), now + this.ttlMs, now,
      key, lease, now)
    return changes === 1
  }

  async abandon (key: string, lease: string): Promise<void> {
    this.check()
    this.sql.abandon.run(key, lease)
  }

  /** Releases the file (closed with its last store); later calls reject. Closing twice does nothing. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.database.release()
  }

  /** Throws when this store was closed (its statements may outlive it on a shared file). */
  private check (): void {
    if (this.closed) throw new Error(`state store ${this.path}: idempotency keys closed`)
  }

  /** Deletes expired keys, then the oldest completed ones until both bounds hold (or only leases are left). */
  private sweep (now: number): void {
    this.lastSweep = now
    this.sql.expire.run(now)
    const totals = this.sql.totals.get() as { n: number, bytes: number, held: number }
    if (totals.n <= this.maxEntries && totals.bytes <= this.maxBytes) return
    this.sql.trim.run(Math.max(0, this.maxEntries - totals.held), this.maxBytes)
  }
}

export type SqliteMailboxRegistryOptions = SqliteLocation & {
  /** Clock, epoch ms (tests pin it); default Date.now. */
  now?: () => number
}

/**
 * MailboxRegistryStore in a SQLite file (table `mailbox_registry`, src/state/migrations/sqlite.ts): one row per
 * lower-case address (the primary key, so `list` walks it in SQLite's BINARY collation: byte order of the UTF-8,
 * which is code-point order, `compareAddresses`), with the lower-case primary and archive ids indexed for `find`
 * and the registration kept as JSON. `add` reads and writes in one BEGIN IMMEDIATE transaction, so of two
 * processes adding one address exactly one is `added`. Methods reject when SQLite fails or the store is closed.
 */
export class SqliteMailboxRegistry implements MailboxRegistryStore {
  readonly path: string
  private readonly database: SqliteDatabase
  private readonly now: () => number
  private closed = false
  private readonly sql: {
    list: StatementSync
    listFirst: StatementSync
    find: StatementSync
    get: StatementSync
    insert: StatementSync
    remove: StatementSync
  }

  constructor (options: SqliteMailboxRegistryOptions) {
    this.now = options.now ?? Date.now
    this.database = retainDatabase(options)
    this.path = this.database.path
    try {
      const db = this.database.db
      this.sql = {
        list: db.prepare('SELECT entry FROM mailbox_registry WHERE address > ? ORDER BY address LIMIT ?'),
        listFirst: db.prepare('SELECT entry FROM mailbox_registry ORDER BY address LIMIT ?'),
        find: db.prepare('SELECT entry FROM mailbox_registry WHERE id_key = ?1 OR archive_key = ?1 OR address = ?1 ' +
          'ORDER BY address = ?1 LIMIT 1'),
        get: db.prepare('SELECT entry FROM mailbox_registry WHERE address = ?'),
        insert: db.prepare('INSERT INTO mailbox_registry (address, id_key, archive_key, entry) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (address) DO NOTHING'),
        remove: db.prepare('DELETE FROM mailbox_registry WHERE address = ?')
      }
    } catch (err) {
      this.database.release()
      throw err
    }
  }

  async list (afterAddress: string | undefined, limit: number): Promise<RegisteredMailbox[]> {
    this.check()
    const n = Math.max(0, limit)
    const rows = afterAddress === undefined
      ? this.sql.listFirst.all(n)
      : this.sql.list.all(afterAddress.toLowerCase(), n)
    return rows.map((r) => JSON.parse((r as { entry: string }).entry) as RegisteredMailbox)
  }

  async find (key: string): Promise<RegisteredMailbox | undefined> {
    this.check()
    const row = this.sql.find.get(key.toLowerCase()) as { entry: string } | undefined
    return row !== undefined ? JSON.parse(row.entry) as RegisteredMailbox : undefined
  }

  async add (entry: Omit<RegisteredMailbox, 'addedAt'>): Promise<MailboxRegistryAdd> {
    this.check()
    const address = entry.address.toLowerCase()
    const added: RegisteredMailbox = { ...entry, address, addedAt: this.now() }
    return this.database.immediate((): MailboxRegistryAdd => {
      const { changes } = this.sql.insert.run(address, added.id.toLowerCase(), added.archiveId.toLowerCase(),
        JSON.stringify(added))
      if (changes === 1) return { status: 'added', entry: JSON.parse(JSON.stringify(added)) as RegisteredMailbox }
      const kept = this.sql.get.get(address) as { entry: string }
      return { status: 'exists', entry: JSON.parse(kept.entry) as RegisteredMailbox }
    })
  }

  async remove (address: string): Promise<'removed' | 'absent'> {
    this.check()
    return this.sql.remove.run(address.toLowerCase()).changes === 1 ? 'removed' : 'absent'
  }

  /** Releases the file (closed with its last store); later calls reject. Closing twice does nothing. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.database.release()
  }

  private check (): void {
    if (this.closed) throw new Error(`state store ${this.path}: mailbox registry closed`)
  }
}
