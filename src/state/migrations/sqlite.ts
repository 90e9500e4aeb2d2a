/**
 * Schema migrations of the SQLite state store (src/state/sqlite.ts), versioned on SQLite's
 * `PRAGMA user_version` (https://www.sqlite.org/pragma.html#pragma_user_version): an integer in the
 * database header, 0 in a new file, set to a migration's `version` in the same transaction as its DDL.
 *
 * Rules for every store's migrations (the PostgreSQL store keeps the same numbered list, with its own
 * SQL and a version table in place of the header field):
 * - versions are 1, 2, 3, … in order; a released migration is never edited, a change is a new one;
 * - forward only: a gateway refuses a database a newer gateway migrated (it cannot know its schema).
 */
import type { DatabaseSync } from 'node:sqlite'

/** One schema change: the step from `version - 1` to `version`. */
export interface Migration {
  /** 1 for the first; each next one is one more. */
  version: number
  /** What it does, for logs and errors. */
  name: string
  /** The SQL run for it, one or more statements (DDL only: SQLite runs DDL inside a transaction). */
  sql: string
}

/** The SQLite store's migrations, oldest first. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'idempotency keys',
    // One row per scoped key. In progress: `lease` set, `record` NULL, `expires_at` the lease's end.
    // Completed: `lease` NULL, `record` the IdempotencyRecord as JSON, `expires_at` the end of its time to live.
    // `bytes` is the record's size as the bounds count it; `changed_at` orders rows for dropping the oldest.
    sql: `
      CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        lease TEXT,
        record TEXT,
        bytes INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL,
        changed_at INTEGER NOT NULL,
        CHECK ((lease IS NULL) <> (record IS NULL))
      ) STRICT;
      CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
      CREATE INDEX idempotency_keys_completed ON idempotency_keys (changed_at) WHERE lease IS NULL;
    `
  }
]

/** What `migrateSqlite` did: the schema version found and the one the database has now. */
export interface MigrationResult {
  from: number
  to: number
}

/**
 * Brings the database to the last of `migrations`, each one in its own `BEGIN IMMEDIATE` transaction
 * with its `user_version`: processes opening one file at once take turns (the write lock, waiting up to
 * the connection's busy_timeout), and the second finds the work done. A migration that fails is rolled
 * back whole and thrown. Throws, changing nothing, when the database is at a version newer than the
 * last migration (`file` names it in the message).
 */
export function migrateSqlite (
  db: DatabaseSync, file: string, migrations: readonly Migration[] = SQLITE_MIGRATIONS
): MigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}; expected ${i + 1}`)
  })
  const latest = migrations.length
  const version = (): number => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
  const from = version()
  if (from > latest) {
    throw new Error(`state store ${file} has schema version ${from}, newer than this gateway's ${latest}: ` +
      'it was used by a newer gateway version')
  }
  for (const m of migrations.slice(from)) {
    db.exec('BEGIN IMMEDIATE')
    try {
      // Another process may have run it since this one looked.
      if (version() < m.version) {
        db.exec(m.sql)
        db.exec(`PRAGMA user_version = ${m.version}`)
      }
      db.exec('COMMIT')
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw new Error(`state store ${file}: migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
        { cause: err })
    }
  }
  return { from, to: version() }
}
