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
  },
  {
    version: 2,
    name: 'copy jobs, ledgers, mailbox registry',
    // jobs: one row per JobRecord (src/state/jobs.ts); `spec` and `progress` as JSON (NULL when absent), the lease
    // as two columns (both NULL or both set). `version` grows by one with every update.
    // ledger_items: one row per (job, source item); the LedgerEntry as JSON in `entry`, with the columns it is
    // looked up by copied out of it. No CHECK on `state`: new ledger states need no migration.
    // ledger_folders, ledger_cursors: per job, source folder → target folder, and its last complete change cursor.
    // mailbox_registry: one row per lower-case address (BINARY collation: code-point order), the
    // RegisteredMailbox as JSON, its lower-case primary and archive ids copied out for `find`.
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        client TEXT,
        spec TEXT,
        progress TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        version INTEGER NOT NULL,
        CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
      ) STRICT;
      CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);
      CREATE INDEX jobs_client_newest ON jobs (client, created_at DESC, id DESC);
      CREATE INDEX jobs_runnable ON jobs (created_at, id) WHERE state IN ('queued', 'running');
      CREATE TABLE ledger_items (
        job_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        state TEXT NOT NULL,
        search_key TEXT,
        entry TEXT NOT NULL,
        PRIMARY KEY (job_id, source_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX ledger_items_state ON ledger_items (job_id, state, source_id);
      CREATE INDEX ledger_items_search_key ON ledger_items (job_id, search_key) WHERE search_key IS NOT NULL;
      CREATE TABLE ledger_folders (
        job_id TEXT NOT NULL,
        source_folder_id TEXT NOT NULL,
        target_folder_id TEXT NOT NULL,
        PRIMARY KEY (job_id, source_folder_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE ledger_cursors (
        job_id TEXT NOT NULL,
        source_folder_id TEXT NOT NULL,
        cursor TEXT NOT NULL,
        PRIMARY KEY (job_id, source_folder_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE mailbox_registry (
        address TEXT PRIMARY KEY,
        id_key TEXT NOT NULL,
        archive_key TEXT NOT NULL,
        entry TEXT NOT NULL
      ) STRICT;
      CREATE INDEX mailbox_registry_id ON mailbox_registry (id_key);
      CREATE INDEX mailbox_registry_archive ON mailbox_registry (archive_key);
    `
  },
  {
    version: 3,
    name: 'ledger items by target id',
    // LedgerStore.findTargets (verification: which target items a job wrote) looks entries up by the target id in
    // their JSON; queries must spell the expression exactly so (json_extract is deterministic, so it may index).
    sql: `
      CREATE INDEX ledger_items_target_id ON ledger_items (job_id, json_extract(entry, '$.targetId'));
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
