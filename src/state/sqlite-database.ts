/**
 * One SQLite state file, opened once per process and shared by every SQLite store on it (idempotency keys, copy
 * jobs, ledgers, the mailbox registry): one `node:sqlite` connection (Node's built-in module, no native
 * dependency), in WAL mode (https://www.sqlite.org/wal.html) so that readers never wait for the writer and
 * processes on one host may share the file, migrated at open (src/state/migrations/sqlite.ts).
 *
 * `node:sqlite` is synchronous: each call runs to its end on the event loop, so within a process nothing
 * interleaves. Across processes, `immediate` is one `BEGIN IMMEDIATE` transaction (the write lock first,
 * https://www.sqlite.org/lang_transaction.html), and a process finding the file locked waits up to `busyTimeoutMs`
 * for it. Every commit is synced to the disk (`PRAGMA synchronous = FULL`): what a store has acknowledged survives
 * a power cut, not only a crash of the process.
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { migrateSqlite } from './migrations/sqlite.js'

/** Default longest wait for another process's write lock on the file (ms). */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000

export interface SqliteOpenOptions {
  /** Longest wait for another process's lock on the file (ms), then SQLITE_BUSY; default 5000. */
  busyTimeoutMs?: number
}

/**
 * An open state file, counted by the stores that use it: each store `retain`s it when made and `release`s it when
 * closed; the connection closes with the last release. `db` throws once it is closed.
 */
export class SqliteDatabase {
  /** The database file as given (':memory:' for a private in-memory database). */
  readonly path: string
  private readonly connection: DatabaseSync
  private users = 0

  /** Use `openSqliteDatabase`. */
  constructor (path: string, connection: DatabaseSync) {
    this.path = path
    this.connection = connection
  }

  /** The connection; throws when the file was closed (every store released it). */
  get db (): DatabaseSync {
    if (!this.connection.isOpen) throw new Error(`state store ${this.path} is closed`)
    return this.connection
  }

  get isOpen (): boolean {
    return this.connection.isOpen
  }

  /** One more store uses the file. */
  retain (): void {
    this.users++
  }

  /** A store is done with the file; the last one closes it. */
  release (): void {
    this.users = Math.max(0, this.users - 1)
    if (this.users === 0 && this.connection.isOpen) this.connection.close()
  }

  /** Closes the file now, whoever still uses it (their calls then reject). Closing twice does nothing. */
  close (): void {
    this.users = 0
    if (this.connection.isOpen) this.connection.close()
  }

  /**
   * Runs `work` in a BEGIN IMMEDIATE transaction (the file's write lock, waiting up to the busy timeout for
   * another process's): committed when it returns, rolled back when it throws.
   */
  immediate<T> (work: (db: DatabaseSync) => T): T {
    const db = this.db
    db.exec('BEGIN IMMEDIATE')
    try {
      const result = work(db)
      db.exec('COMMIT')
      return result
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw err
    }
  }
}

/**
 * Opens the state file at `path` (created with its folder, mode 0700, when missing; ':memory:' for a private
 * in-memory database), switches it to WAL mode and migrates it to this gateway's schema. Throws a plain Error
 * naming the file when it cannot be opened, when a migration fails, or when a newer gateway migrated it.
 */
export function openSqliteDatabase (path: string, options: SqliteOpenOptions = {}): SqliteDatabase {
  const inMemory = path === ':memory:'
  let db: DatabaseSync
  try {
    if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 })
    db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS })
  } catch (err) {
    throw new Error(`cannot open state store ${path}: ${(err as Error).message}`, { cause: err })
  }
  try {
    if (!inMemory) db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = FULL')
    migrateSqlite(db, path)
  } catch (err) {
    db.close()
    throw err
  }
  return new SqliteDatabase(path, db)
}
