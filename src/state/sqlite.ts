/**
 * The embedded state store: one SQLite file, through Node's built-in `node:sqlite` (no native
 * dependency). Keys survive a restart, and processes on one host may share the file (WAL mode,
 * https://www.sqlite.org/wal.html); replicas on several hosts need the PostgreSQL store (next).
 *
 * `node:sqlite` is synchronous: each call runs to its end on the event loop, so within a process
 * nothing interleaves. Across processes, `begin` is one `BEGIN IMMEDIATE` transaction (the write lock
 * first, https://www.sqlite.org/lang_transaction.html), and a process finding the file locked waits
 * up to `busyTimeoutMs` for it.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { migrateSqlite } from './migrations/sqlite.js'
import {
  DEFAULT_IDEMPOTENCY_LEASE_MS, DEFAULT_IDEMPOTENCY_TTL_MS, type IdempotencyBegin, type IdempotencyRecord,
  type IdempotencyStore
} from './store.js'

/** Default most keys kept at once in a SQLite store. */
export const DEFAULT_SQLITE_IDEMPOTENCY_MAX_ENTRIES = 1_000_000
/** Default most answer bytes (UTF-16 code units of recorded bodies and headers) kept at once: 1 Gi. */
export const DEFAULT_SQLITE_IDEMPOTENCY_MAX_BYTES = 1024 * 1024 * 1024
/** Default longest wait for another process's write lock on the file (ms). */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000

export interface SqliteIdempotencyOptions {
  /** The database file (created with its folder when missing), or ':memory:' for a private in-memory database. */
  path: string
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
  /** Longest wait for another process's lock on the file (ms), then SQLITE_BUSY; default 5000. */
  busyTimeoutMs?: number
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
  private readonly db: DatabaseSync
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
    this.path = options.path
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
    this.leaseMs = options.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS
    this.maxEntries = options.maxEntries ?? DEFAULT_SQLITE_IDEMPOTENCY_MAX_ENTRIES
    this.maxBytes = options.maxBytes ?? DEFAULT_SQLITE_IDEMPOTENCY_MAX_BYTES
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000
    this.now = options.now ?? Date.now
    const inMemory = options.path === ':memory:'
    try {
      if (!inMemory) mkdirSync(dirname(resolve(options.path)), { recursive: true, mode: 0o700 })
      this.db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS })
    } catch (err) {
      throw new Error(`cannot open state store ${options.path}: ${(err as Error).message}`, { cause: err })
    }
    try {
      if (!inMemory) this.db.exec('PRAGMA journal_mode = WAL')
      // Every commit reaches the disk before `complete` resolves: a recorded answer survives a power cut.
      this.db.exec('PRAGMA synchronous = FULL')
      migrateSqlite(this.db, options.path)
      this.sql = {
        get: this.db.prepare('SELECT fingerprint, lease, record, expires_at FROM idempotency_keys WHERE key = ?'),
        claim: this.db.prepare(
          'INSERT INTO idempotency_keys (key, fingerprint, lease, record, bytes, expires_at, changed_at) ' +
          'VALUES (?, ?, ?, NULL, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, ' +
          'lease = excluded.lease, record = NULL, bytes = 0, expires_at = excluded.expires_at, ' +
          'changed_at = excluded.changed_at'),
        complete: this.db.prepare(
          'UPDATE idempotency_keys SET lease = NULL, record = ?, bytes = ?, expires_at = ?, changed_at = ? ' +
          'WHERE key = ? AND lease = ? AND expires_at > ?'),
        abandon: this.db.prepare('DELETE FROM idempotency_keys WHERE key = ? AND lease = ?'),
        expire: this.db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?'),
        totals: this.db.prepare(
          'SELECT COUNT(*) AS n, TOTAL(bytes) AS bytes, COUNT(lease) AS held FROM idempotency_keys'),
        // Completed keys, newest first, are kept while both the keys held and the bytes kept fit.
        trim: this.db.prepare(
          'DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM (SELECT key, ' +
          'ROW_NUMBER() OVER newest AS keys_kept, SUM(bytes) OVER newest AS bytes_kept ' +
          'FROM idempotency_keys WHERE lease IS NULL ' +
          'WINDOW newest AS (ORDER BY changed_at DESC, key DESC ROWS UNBOUNDED PRECEDING)) ' +
          'WHERE keys_kept > ? OR bytes_kept > ?)'),
        count: this.db.prepare('SELECT COUNT(*) AS n FROM idempotency_keys')
      }
    } catch (err) {
      this.db.close()
      throw err
    }
  }

  /** Keys held now, expired ones not yet swept included (for tests and metrics). */
  get size (): number {
    return (this.sql.count.get() as { n: number }).n
  }

  async begin (key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const now = this.now()
    if (now - this.lastSweep >= this.sweepEveryMs) this.sweep(now)
    return this.immediate((): IdempotencyBegin => {
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
    const now = this.now()
    const kept: IdempotencyRecord = { status: record.status, headers: record.headers, body: record.body }
    const { changes } = this.sql.complete.run(JSON.stringify(kept), recordBytes(kept), now + this.ttlMs, now,
      key, lease, now)
    return changes === 1
  }

  async abandon (key: string, lease: string): Promise<void> {
    this.sql.abandon.run(key, lease)
  }

  /** Closes the database; later calls reject. Closing twice does nothing. */
  async close (): Promise<void> {
    if (this.db.isOpen) this.db.close()
  }

  /** Deletes expired keys, then the oldest completed ones until both bounds hold (or only leases are left). */
  private sweep (now: number): void {
    this.lastSweep = now
    this.sql.expire.run(now)
    const totals = this.sql.totals.get() as { n: number, bytes: number, held: number }
    if (totals.n <= this.maxEntries && totals.bytes <= this.maxBytes) return
    this.sql.trim.run(Math.max(0, this.maxEntries - totals.held), this.maxBytes)
  }

  /** Runs `work` in a BEGIN IMMEDIATE transaction: committed when it returns, rolled back when it throws. */
  private immediate<T> (work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const result = work()
      this.db.exec('COMMIT')
      return result
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
  }
}
