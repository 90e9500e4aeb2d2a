/**
 * Copy jobs and their ledgers in the SQLite state file (src/state/jobs.ts interfaces; tables `jobs`,
 * `ledger_items`, `ledger_folders`, `ledger_cursors` of src/state/migrations/sqlite.ts). They survive a restart,
 * and gateways on one host sharing the file share the jobs: `update`, `claim` and `heartbeat` each read and write
 * in one BEGIN IMMEDIATE transaction (the file's write lock), so of two processes claiming at once at most one
 * gets a given job, and of two updates at one version exactly one wins.
 */
import type { StatementSync } from 'node:sqlite'
import {
  LEDGER_ITEM_STATES, type JobChanges, type JobRecord, type JobState, type JobStore, type LedgerEntry,
  type LedgerItemState, type LedgerStore, type NewJob
} from './jobs.js'
import type { SqliteDatabase } from './sqlite-database.js'
import { retainDatabase, type SqliteLocation } from './sqlite.js'

export type SqliteJobStoreOptions = SqliteLocation & {
  /** Clock, epoch ms (tests move it); default Date.now. */
  now?: () => number
}

interface JobRow {
  id: string
  kind: string
  state: string
  client: string | null
  spec: string | null
  progress: string | null
  created_at: number
  updated_at: number
  lease_owner: string | null
  lease_expires_at: number | null
  version: number
}

const JOB_COLUMNS = 'id, kind, state, client, spec, progress, created_at, updated_at, lease_owner, lease_expires_at, ' +
  'version'

function toRecord (row: JobRow): JobRecord {
  const job: JobRecord = {
    id: row.id,
    kind: row.kind,
    spec: row.spec !== null ? JSON.parse(row.spec) : undefined,
    state: row.state as JobState,
    progress: row.progress !== null ? JSON.parse(row.progress) : undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version
  }
  if (row.spec === null) delete job.spec
  if (row.progress === null) delete job.progress
  if (row.client !== null) job.client = row.client
  if (row.lease_owner !== null && row.lease_expires_at !== null) {
    job.lease = { owner: row.lease_owner, expiresAt: row.lease_expires_at }
  }
  return job
}

/** JSON text of a value, or null for undefined (a column left NULL). */
function json (value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value)
}

/** Page cursors of `list`: the position after the last job handed out, in newest-first order (as in memory). */
function encodeCursor (job: JobRecord): string {
  return Buffer.from(JSON.stringify([job.createdAt, job.id])).toString('base64url')
}

function decodeCursor (cursor: string): [number, string] | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]]
  } catch {}
  return undefined
}

/**
 * JobStore in a SQLite file: one row per job, `spec` and `progress` as JSON, the lease in two columns. Ids order
 * by bytes (SQLite's BINARY collation) where the memory store compares JavaScript strings: alike for the ASCII
 * ids the gateway makes. Methods reject when SQLite fails (a full disk, a lock held past the busy timeout) or the
 * store is closed; `create` rejects when the id is taken.
 */
export class SqliteJobStore implements JobStore {
  readonly path: string
  private readonly database: SqliteDatabase
  private readonly now: () => number
  private closed = false
  private readonly sql: {
    insert: StatementSync
    get: StatementSync
    list: StatementSync
    active: StatementSync
    write: StatementSync
    runnable: StatementSync
    heartbeat: StatementSync
  }

  constructor (options: SqliteJobStoreOptions) {
    this.now = options.now ?? Date.now
    this.database = retainDatabase(options)
    this.path = this.database.path
    try {
      const db = this.database.db
      this.sql = {
        insert: db.prepare(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 1)`),
        get: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`),
        // ?1 client or NULL for all; ?2, ?3 the cursor's createdAt and id (NULL from the start); ?4 the page + 1.
        list: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR client = ?1) AND ` +
          '(?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) ' +
          'ORDER BY created_at DESC, id DESC LIMIT ?4'),
        active: db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE client = ? AND (state IN (\'queued\', ' +
          '\'running\', \'paused\') OR (state = \'completed\' AND json_type(spec, \'$.delta\') IS NOT NULL))'),
        write: db.prepare('UPDATE jobs SET state = ?, progress = ?, lease_owner = ?, lease_expires_at = ?, ' +
          'updated_at = ?, version = version + 1 WHERE id = ? AND version = ?'),
        runnable: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') AND ` +
          '(lease_expires_at IS NULL OR lease_expires_at <= ?) ORDER BY created_at, id LIMIT 1'),
        heartbeat: db.prepare('UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? AND ' +
          'lease_expires_at > ?')
      }
    } catch (err) {
      this.database.release()
      throw err
    }
  }

  async create<S, P> (job: NewJob<S, P>): Promise<JobRecord<S, P>> {
    this.check()
    const now = this.now()
    try {
      this.sql.insert.run(job.id, job.kind, job.state ?? 'queued', job.client ?? null, json(job.spec),
        json(job.progress), now, now)
    } catch (err) {
      if ((err as { errcode?: number }).errcode === 1555) throw new Error(`job ${job.id} exists`, { cause: err })
      throw err
    }
    return await this.get(job.id) as JobRecord<S, P>
  }

  async get<S = unknown, P = unknown> (id: string): Promise<JobRecord<S, P> | undefined> {
    this.check()
    const row = this.sql.get.get(id) as unknown as JobRow | undefined
    return row !== undefined ? toRecord(row) as JobRecord<S, P> : undefined
  }

  async list (request: { limit: number, cursor?: string, client?: string }):
  Promise<{ jobs: JobRecord[], nextCursor?: string }> {
    this.check()
    const after = request.cursor !== undefined ? decodeCursor(request.cursor) : undefined
    const limit = Math.max(0, request.limit)
    const rows = this.sql.list.all(request.client ?? null, after?.[0] ?? null, after?.[1] ?? null, limit + 1) as
      unknown as JobRow[]
    const page = rows.slice(0, limit).map(toRecord)
    const more = rows.length > page.length && page.length > 0
    return { jobs: page, ...(more ? { nextCursor: encodeCursor(page[page.length - 1]) } : {}) }
  }

  async countActive (client: string): Promise<number> {
    this.check()
    return (this.sql.active.get(client) as { n: number }).n
  }

  async update<S = unknown, P = unknown> (id: string, version: number, changes: JobChanges<P>):
  Promise<JobRecord<S, P> | undefined> {
    this.check()
    return this.database.immediate(() => this.write(id, version, changes)) as JobRecord<S, P> | undefined
  }

  async claim (owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    this.check()
    return this.database.immediate(() => {
      const now = this.now()
      const row = this.sql.runnable.get(now) as unknown as JobRow | undefined
      if (row === undefined) return undefined
      return this.write(row.id, row.version, { state: 'running', lease: { owner, expiresAt: now + leaseMs } })
    })
  }

  async heartbeat (id: string, owner: string, leaseMs: number): Promise<boolean> {
    this.check()
    // A heartbeat changes no version: updates of progress are not disturbed by it.
    return this.database.immediate(() => {
      const now = this.now()
      return this.sql.heartbeat.run(now + leaseMs, id, owner, now).changes === 1
    })
  }

  /** Releases the file (closed with its last store); later calls reject. Closing twice does nothing. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.database.release()
  }

  /** Within a transaction: applies `changes` to job `id` at `version`; the job as written, or undefined. */
  private write (id: string, version: number, changes: JobChanges): JobRecord | undefined {
    const row = this.sql.get.get(id) as unknown as JobRow | undefined
    if (row === undefined || row.version !== version) return undefined
    const current = toRecord(row)
    const lease = changes.lease === undefined ? current.lease : changes.lease ?? undefined
    const progress = changes.progress !== undefined ? changes.progress : current.progress
    const { changes: written } = this.sql.write.run(changes.state ?? current.state, json(progress),
      lease?.owner ?? null, lease?.expiresAt ?? null, this.now(), id, version)
    if (written !== 1) return undefined
    return toRecord(this.sql.get.get(id) as unknown as JobRow)
  }

  private check (): void {
    if (this.closed) throw new Error(`state store ${this.path}: jobs closed`)
  }
}

export type SqliteLedgerStoreOptions = SqliteLocation & {
  /** Clock, epoch ms (tests move it); default Date.now. */
  now?: () => number
}

/**
 * LedgerStore in a SQLite file: per job and source item one row with the LedgerEntry as JSON and the columns it is
 * filtered on (`state`, `search_key`) copied out, its `targetId` indexed as an expression on the JSON (`findTargets`);
 * folder map and cursors in their own tables. `putItems` writes
 * all its entries in one transaction (one commit, one sync of the file, however many entries: batch them) and
 * `deleteJob` forgets a job in one. Source ids order by bytes (BINARY collation). Methods reject when SQLite fails
 * or the store is closed.
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly path: string
  private readonly database: SqliteDatabase
  private readonly now: () => number
  private closed = false
  private readonly sql: {
    getItem: StatementSync
    hasTarget: StatementSync
    putItem: StatementSync
    list: StatementSync
    listState: StatementSync
    count: StatementSync
    folders: StatementSync
    putFolder: StatementSync
    getCursor: StatementSync
    putCursor: StatementSync
    removeItem: StatementSync
    deleteItems: StatementSync
    deleteFolders: StatementSync
    deleteCursors: StatementSync
  }

  constructor (options: SqliteLedgerStoreOptions) {
    this.now = options.now ?? Date.now
    this.database = retainDatabase(options)
    this.path = this.database.path
    try {
      const db = this.database.db
      this.sql = {
        getItem: db.prepare('SELECT entry FROM ledger_items WHERE job_id = ? AND source_id = ?'),
        // The expression of the index ledger_items_target_id (migration 3), as written there.
        hasTarget: db.prepare('SELECT 1 AS found FROM ledger_items WHERE job_id = ? AND ' +
          "json_extract(entry, '$.targetId') = ? LIMIT 1"),
        putItem: db.prepare('INSERT INTO ledger_items (job_id, source_id, state, search_key, entry) ' +
          'VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, source_id) DO UPDATE SET state = excluded.state, ' +
          'search_key = excluded.search_key, entry = excluded.entry'),
        // ?2 the cursor ('' from the start: every id sorts after it).
        list: db.prepare('SELECT source_id, entry FROM ledger_items WHERE job_id = ? AND source_id > ? ' +
          'ORDER BY source_id LIMIT ?'),
        listState: db.prepare('SELECT source_id, entry FROM ledger_items WHERE job_id = ? AND state = ? AND ' +
          'source_id > ? ORDER BY source_id LIMIT ?'),
        count: db.prepare('SELECT state, COUNT(*) AS n FROM ledger_items WHERE job_id = ? GROUP BY state'),
        folders: db.prepare('SELECT source_folder_id, target_folder_id FROM ledger_folders WHERE job_id = ? ' +
          'ORDER BY source_folder_id'),
        putFolder: db.prepare('INSERT INTO ledger_folders (job_id, source_folder_id, target_folder_id) ' +
          'VALUES (?, ?, ?) ON CONFLICT (job_id, source_folder_id) ' +
          'DO UPDATE SET target_folder_id = excluded.target_folder_id'),
        getCursor: db.prepare('SELECT cursor FROM ledger_cursors WHERE job_id = ? AND source_folder_id = ?'),
        putCursor: db.prepare('INSERT INTO ledger_cursors (job_id, source_folder_id, cursor) VALUES (?, ?, ?) ' +
          'ON CONFLICT (job_id, source_folder_id) DO UPDATE SET cursor = excluded.cursor'),
        removeItem: db.prepare('DELETE FROM ledger_items WHERE job_id = ? AND source_id = ?'),
        deleteItems: db.prepare('DELETE FROM ledger_items WHERE job_id = ?'),
        deleteFolders: db.prepare('DELETE FROM ledger_folders WHERE job_id = ?'),
        deleteCursors: db.prepare('DELETE FROM ledger_cursors WHERE job_id = ?')
      }
    } catch (err) {
      this.database.release()
      throw err
    }
  }

  async getItems (jobId: string, sourceIds: string[]): Promise<Record<string, LedgerEntry>> {
    this.check()
    const out: Record<string, LedgerEntry> = {}
    for (const id of sourceIds) {
      const row = this.sql.getItem.get(jobId, id) as { entry: string } | undefined
      if (row !== undefined) out[id] = JSON.parse(row.entry) as LedgerEntry
    }
    return out
  }

  async putItems (jobId: string, entries: Record<string, LedgerEntry>): Promise<void> {
    this.check()
    const list = Object.entries(entries)
    if (list.length === 0) return
    const at = this.now()
    this.database.immediate(() => {
      for (const [id, e] of list) {
        this.sql.putItem.run(jobId, id, e.state, e.searchKey ?? null, JSON.stringify({ ...e, at: e.at ?? at }))
      }
    })
  }

  async findTargets (jobId: string, targetIds: string[]): Promise<string[]> {
    this.check()
    return [...new Set(targetIds)].filter((id) => this.sql.hasTarget.get(jobId, id) !== undefined)
  }

  async listItems (jobId: string, request: { limit: number, cursor?: string, state?: LedgerItemState }):
  Promise<{ items: Array<{ sourceId: string, entry: LedgerEntry }>, nextCursor?: string }> {
    this.check()
    const limit = Math.max(0, request.limit)
    const after = request.cursor ?? ''
    const rows = (request.state !== undefined
      ? this.sql.listState.all(jobId, request.state, after, limit + 1)
      : this.sql.list.all(jobId, after, limit + 1)) as unknown as Array<{ source_id: string, entry: string }>
    const page = rows.slice(0, limit)
    return {
      items: page.map((r) => ({ sourceId: r.source_id, entry: JSON.parse(r.entry) as LedgerEntry })),
      ...(rows.length > page.length && page.length > 0 ? { nextCursor: page[page.length - 1].source_id } : {})
    }
  }

  async removeItems (jobId: string, sourceIds: string[]): Promise<void> {
    this.check()
    if (sourceIds.length === 0) return
    this.database.immediate(() => {
      for (const id of sourceIds) this.sql.removeItem.run(jobId, id)
    })
  }

  async countItems (jobId: string): Promise<Record<LedgerItemState, number>> {
    this.check()
    const counts = Object.fromEntries(LEDGER_ITEM_STATES.map((s) => [s, 0])) as Record<LedgerItemState, number>
    for (const row of this.sql.count.all(jobId) as unknown as Array<{ state: LedgerItemState, n: number }>) {
      counts[row.state] = row.n
    }
    return counts
  }

  async getFolderMap (jobId: string): Promise<Record<string, string>> {
    this.check()
    const rows = this.sql.folders.all(jobId) as unknown as
      Array<{ source_folder_id: string, target_folder_id: string }>
    return Object.fromEntries(rows.map((r) => [r.source_folder_id, r.target_folder_id]))
  }

  async putFolder (jobId: string, sourceFolderId: string, targetFolderId: string): Promise<void> {
    this.check()
    this.sql.putFolder.run(jobId, sourceFolderId, targetFolderId)
  }

  async getCursor (jobId: string, sourceFolderId: string): Promise<string | undefined> {
    this.check()
    return (this.sql.getCursor.get(jobId, sourceFolderId) as { cursor: string } | undefined)?.cursor
  }

  async putCursor (jobId: string, sourceFolderId: string, cursor: string): Promise<void> {
    this.check()
    this.sql.putCursor.run(jobId, sourceFolderId, cursor)
  }

  async deleteJob (jobId: string): Promise<void> {
    this.check()
    this.database.immediate(() => {
      this.sql.deleteItems.run(jobId)
      this.sql.deleteFolders.run(jobId)
      this.sql.deleteCursors.run(jobId)
    })
  }

  /** Releases the file (closed with its last store); later calls reject. Closing twice does nothing. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.database.release()
  }

  private check (): void {
    if (this.closed) throw new Error(`state store ${this.path}: ledger closed`)
  }
}
