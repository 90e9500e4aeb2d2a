/**
 * Job and ledger state in this process's memory (src/state/jobs.ts): for one replica, tests and demo mode.
 * Nothing survives a restart (the SQLite store does). Values are copied in and out, as a database would.
 */
import {
  LEDGER_ITEM_STATES, type JobChanges, type JobRecord, type JobStore, type LedgerEntry, type LedgerItemState,
  type LedgerStore, type NewJob
} from './jobs.js'

export interface MemoryJobStoreOptions {
  /** Clock, epoch ms (tests move it); default Date.now. */
  now?: () => number
}

/** Page cursors of `list`: the position after the last job handed out, in newest-first order. */
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

/** Newest first; ties by id, descending. */
function newestFirst (a: JobRecord, b: JobRecord): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>()
  private readonly now: () => number

  constructor (options: MemoryJobStoreOptions = {}) {
    this.now = options.now ?? Date.now
  }

  async create<S, P> (job: NewJob<S, P>): Promise<JobRecord<S, P>> {
    if (this.jobs.has(job.id)) throw new Error(`job ${job.id} exists`)
    const now = this.now()
    const record: JobRecord = {
      ...structuredClone(job), state: job.state ?? 'queued', createdAt: now, updatedAt: now, version: 1
    }
    this.jobs.set(job.id, record)
    return structuredClone(record) as JobRecord<S, P>
  }

  async get<S = unknown, P = unknown> (id: string): Promise<JobRecord<S, P> | undefined> {
    const job = this.jobs.get(id)
    return job !== undefined ? structuredClone(job) as JobRecord<S, P> : undefined
  }

  async list (request: { limit: number, cursor?: string, client?: string }):
  Promise<{ jobs: JobRecord[], nextCursor?: string }> {
    const after = request.cursor !== undefined ? decodeCursor(request.cursor) : undefined
    const all = [...this.jobs.values()]
      .filter((j) => request.client === undefined || j.client === request.client)
      .sort(newestFirst)
      .filter((j) => after === undefined || j.createdAt < after[0] || (j.createdAt === after[0] && j.id < after[1]))
    const page = all.slice(0, request.limit)
    return {
      jobs: page.map((j) => structuredClone(j)),
      ...(all.length > page.length ? { nextCursor: encodeCursor(page[page.length - 1]) } : {})
    }
  }

  async countActive (client: string): Promise<number> {
    let n = 0
    for (const j of this.jobs.values()) {
      if (j.client !== client) continue
      const scheduled = j.state === 'completed' && (j.spec as { delta?: unknown } | undefined)?.delta !== undefined
      if (j.state === 'queued' || j.state === 'running' || j.state === 'paused' || scheduled) n++
    }
    return n
  }

  async update<S = unknown, P = unknown> (id: string, version: number, changes: JobChanges<P>):
  Promise<JobRecord<S, P> | undefined> {
    const job = this.jobs.get(id)
    if (job === undefined || job.version !== version) return undefined
    const { lease, ...rest } = structuredClone(changes)
    const next: JobRecord = { ...job, ...rest, updatedAt: this.now(), version: job.version + 1 }
    if (lease === null) delete next.lease
    else if (lease !== undefined) next.lease = lease
    this.jobs.set(id, next)
    return structuredClone(next) as JobRecord<S, P>
  }

  async claim (owner: string, leaseMs: number): Promise<JobRecord | undefined> {
    const now = this.now()
    const runnable = [...this.jobs.values()]
      .filter((j) => (j.state === 'queued' || j.state === 'running') &&
        (j.lease === undefined || j.lease.expiresAt <= now))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    const job = runnable[0]
    if (job === undefined) return undefined
    return await this.update(job.id, job.version, { state: 'running', lease: { owner, expiresAt: now + leaseMs } })
  }

  async heartbeat (id: string, owner: string, leaseMs: number): Promise<boolean> {
    const job = this.jobs.get(id)
    const now = this.now()
    if (job === undefined || job.lease?.owner !== owner || job.lease.expiresAt <= now) return false
    // A heartbeat changes no version: updates of progress are not disturbed by it.
    job.lease = { owner, expiresAt: now + leaseMs }
    return true
  }

  async close (): Promise<void> {
    this.jobs.clear()
  }
}

interface JobLedger {
  items: Map<string, LedgerEntry>
  /** Target id → source ids of the entries that have it (`findTargets`). */
  targets: Map<string, Set<string>>
  folders: Map<string, string>
  cursors: Map<string, string>
}

/** Keeps `ledger.targets` in step with the entry of `sourceId` becoming `entry` (undefined: removed). */
function indexTarget (ledger: JobLedger, sourceId: string, entry: LedgerEntry | undefined): void {
  const old = ledger.items.get(sourceId)?.targetId
  if (old !== undefined && old !== entry?.targetId) {
    const ids = ledger.targets.get(old)
    ids?.delete(sourceId)
    if (ids?.size === 0) ledger.targets.delete(old)
  }
  const next = entry?.targetId
  if (next !== undefined) {
    const ids = ledger.targets.get(next)
    if (ids !== undefined) ids.add(sourceId)
    else ledger.targets.set(next, new Set([sourceId]))
  }
}

export interface MemoryLedgerStoreOptions {
  now?: () => number
}

export class MemoryLedgerStore implements LedgerStore {
  private readonly jobs = new Map<string, JobLedger>()
  private readonly now: () => number

  constructor (options: MemoryLedgerStoreOptions = {}) {
    this.now = options.now ?? Date.now
  }

  private ledger (jobId: string): JobLedger {
    let l = this.jobs.get(jobId)
    if (l === undefined) {
      l = { items: new Map(), targets: new Map(), folders: new Map(), cursors: new Map() }
      this.jobs.set(jobId, l)
    }
    return l
  }

  async getItems (jobId: string, sourceIds: string[]): Promise<Record<string, LedgerEntry>> {
    const items = this.jobs.get(jobId)?.items
    const out: Record<string, LedgerEntry> = {}
    for (const id of sourceIds) {
      const e = items?.get(id)
      if (e !== undefined) out[id] = structuredClone(e)
    }
    return out
  }

  async putItems (jobId: string, entries: Record<string, LedgerEntry>): Promise<void> {
    const ledger = this.ledger(jobId)
    const at = this.now()
    for (const [id, e] of Object.entries(entries)) {
      indexTarget(ledger, id, e)
      ledger.items.set(id, { ...structuredClone(e), at: e.at ?? at })
    }
  }

  async findTargets (jobId: string, targetIds: string[]): Promise<string[]> {
    const targets = this.jobs.get(jobId)?.targets
    return [...new Set(targetIds)].filter((id) => targets?.has(id) === true)
  }

  async listItems (jobId: string, request: { limit: number, cursor?: string, state?: LedgerItemState }):
  Promise<{ items: Array<{ sourceId: string, entry: LedgerEntry }>, nextCursor?: string }> {
    const all = [...(this.jobs.get(jobId)?.items ?? new Map<string, LedgerEntry>()).entries()]
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .filter(([id, e]) => (request.cursor === undefined || id > request.cursor) &&
        (request.state === undefined || e.state === request.state))
    const page = all.slice(0, request.limit)
    return {
      items: page.map(([sourceId, entry]) => ({ sourceId, entry: structuredClone(entry) })),
      ...(all.length > page.length ? { nextCursor: page[page.length - 1][0] } : {})
    }
  }

  async removeItems (jobId: string, sourceIds: string[]): Promise<void> {
    const ledger = this.jobs.get(jobId)
    if (ledger === undefined) return
    for (const id of sourceIds) {
      indexTarget(ledger, id, undefined)
      ledger.items.delete(id)
    }
  }

  async countItems (jobId: string): Promise<Record<LedgerItemState, number>> {
    const counts = Object.fromEntries(LEDGER_ITEM_STATES.map((s) => [s, 0])) as Record<LedgerItemState, number>
    for (const e of this.jobs.get(jobId)?.items.values() ?? []) counts[e.state]++
    return counts
  }

  async getFolderMap (jobId: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.jobs.get(jobId)?.folders ?? [])
  }

  async putFolder (jobId: string, sourceFolderId: string, targetFolderId: string): Promise<void> {
    this.ledger(jobId).folders.set(sourceFolderId, targetFolderId)
  }

  async getCursor (jobId: string, sourceFolderId: string): Promise<string | undefined> {
    return this.jobs.get(jobId)?.cursors.get(sourceFolderId)
  }

  async putCursor (jobId: string, sourceFolderId: string, cursor: string): Promise<void> {
    this.ledger(jobId).cursors.set(sourceFolderId, cursor)
  }

  async deleteJob (jobId: string): Promise<void> {
    this.jobs.delete(jobId)
  }

  async close (): Promise<void> {
    this.jobs.clear()
  }
}
