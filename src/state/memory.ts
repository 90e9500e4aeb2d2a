/**
 * The state store in this process's memory: for one replica, tests, and demo mode. Nothing
 * survives a restart and nothing is shared between replicas (SQLite and PostgreSQL stores do that).
 */
import { randomUUID } from 'node:crypto'
import {
  compareAddresses, DEFAULT_IDEMPOTENCY_LEASE_MS, DEFAULT_IDEMPOTENCY_TTL_MS, type IdempotencyBegin,
  type IdempotencyRecord, type IdempotencyStore, type MailboxRegistryAdd, type MailboxRegistryStore,
  type RegisteredMailbox
} from './store.js'
/** Default most keys kept at once. */
export const DEFAULT_IDEMPOTENCY_MAX_ENTRIES = 10_000
/** Default most answer bytes (UTF-16 code units of recorded bodies) kept at once: 64 Mi. */
export const DEFAULT_IDEMPOTENCY_MAX_BYTES = 64 * 1024 * 1024

export interface MemoryIdempotencyOptions {
  /** How long a completed key is kept (ms); default DEFAULT_IDEMPOTENCY_TTL_MS. */
  ttlMs?: number
  /** How long a request holds its key before it lapses (ms); default DEFAULT_IDEMPOTENCY_LEASE_MS. */
  leaseMs?: number
  /**
   * Most keys kept; past it the oldest completed keys are dropped before their time (a repeat of such a
   * request runs again). Keys of requests in progress are never dropped, so they may exceed it for a while.
   * Default DEFAULT_IDEMPOTENCY_MAX_ENTRIES.
   */
  maxEntries?: number
  /** Most recorded answer text kept (UTF-16 code units), enforced as maxEntries is; default 64 Mi. */
  maxBytes?: number
  /** Clock, epoch ms (tests move it); default Date.now. */
  now?: () => number
}

type Entry =
  | { fingerprint: string, lease: string, expiresAt: number }
  | { fingerprint: string, record: IdempotencyRecord, bytes: number, expiresAt: number }

/** Sweeps for expired entries at most this often (ms), besides when a bound is reached. */
const SWEEP_EVERY_MS = 60_000

function recordBytes (record: IdempotencyRecord): number {
  let n = record.body.length
  for (const [name, value] of Object.entries(record.headers)) n += name.length + value.length
  return n
}

/**
 * IdempotencyStore in a Map. Entries are kept in the order they last changed, so the oldest
 * completed ones are dropped first when a bound is reached; expired ones are dropped when met
 * and by a sweep at most once a minute.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>()
  private readonly ttlMs: number
  private readonly leaseMs: number
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly now: () => number
  private bytes = 0
  private lastSweep: number

  constructor (options: MemoryIdempotencyOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
    this.leaseMs = options.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS
    this.maxEntries = options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES
    this.maxBytes = options.maxBytes ?? DEFAULT_IDEMPOTENCY_MAX_BYTES
    this.now = options.now ?? Date.now
    this.lastSweep = this.now()
  }

  /** Keys held now, expired ones not yet dropped included (for tests and metrics). */
  get size (): number {
    return this.entries.size
  }

  async begin (key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const now = this.now()
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now)
    const entry = this.entries.get(key)
    if (entry !== undefined && entry.expiresAt > now) {
      if (entry.fingerprint !== fingerprint) return { status: 'mismatch' }
      return 'record' in entry
        ? { status: 'replay', record: structuredClone(entry.record) }
        : { status: 'inProgress', leaseExpiresAt: entry.expiresAt }
    }
    if (entry !== undefined) this.drop(key, entry)
    const lease = randomUUID()
    const expiresAt = now + this.leaseMs
    this.entries.set(key, { fingerprint, lease, expiresAt })
    this.bound(now)
    return { status: 'started', lease, leaseExpiresAt: expiresAt }
  }

  async complete (key: string, lease: string, record: IdempotencyRecord): Promise<boolean> {
    const now = this.now()
    const entry = this.entries.get(key)
    if (entry === undefined || !('lease' in entry) || entry.lease !== lease || entry.expiresAt <= now) return false
    const kept = structuredClone(record)
    const bytes = recordBytes(kept)
    this.entries.delete(key)
    this.entries.set(key, { fingerprint: entry.fingerprint, record: kept, bytes, expiresAt: now + this.ttlMs })
    this.bytes += bytes
    this.bound(now)
    return true
  }

  async abandon (key: string, lease: string): Promise<void> {
    const entry = this.entries.get(key)
    if (entry !== undefined && 'lease' in entry && entry.lease === lease) this.entries.delete(key)
  }

  async close (): Promise<void> {
    this.entries.clear()
    this.bytes = 0
  }

  private drop (key: string, entry: Entry): void {
    this.entries.delete(key)
    if ('bytes' in entry) this.bytes -= entry.bytes
  }

  private sweep (now: number): void {
    this.lastSweep = now
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.drop(key, entry)
  }

  /** Drops expired entries, then the oldest completed ones, until both bounds hold (or only leases are left). */
  private bound (now: number): void {
    if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) return
    this.sweep(now)
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break
      if ('record' in entry) this.drop(key, entry)
    }
  }
}

/**
 * MailboxRegistryStore in memory: registrations by address, kept in address order (a sorted array, binary
 * search), with an index of their gateway ids. Values go in and out as copies.
 */
export class MemoryMailboxRegistry implements MailboxRegistryStore {
  private readonly byAddress = new Map<string, RegisteredMailbox>()
  private readonly byId = new Map<string, string>()
  private readonly sorted: string[] = []
  private readonly now: () => number

  /** @param options.now clock, epoch ms (tests pin it); default Date.now */
  constructor (options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now
  }

  async list (afterAddress: string | undefined, limit: number): Promise<RegisteredMailbox[]> {
    const start = afterAddress === undefined ? 0 : this.position(afterAddress.toLowerCase(), true)
    return this.sorted.slice(start, start + Math.max(0, limit))
      .map((address) => structuredClone(this.byAddress.get(address) as RegisteredMailbox))
  }

  async find (key: string): Promise<RegisteredMailbox | undefined> {
    const k = key.toLowerCase()
    const entry = this.byAddress.get(this.byId.get(k) ?? k)
    return entry !== undefined ? structuredClone(entry) : undefined
  }

  async add (entry: Omit<RegisteredMailbox, 'addedAt'>): Promise<MailboxRegistryAdd> {
    const address = entry.address.toLowerCase()
    const kept = this.byAddress.get(address)
    if (kept !== undefined) return { status: 'exists', entry: structuredClone(kept) }
    const added: RegisteredMailbox = { ...structuredClone(entry), address, addedAt: this.now() }
    this.byAddress.set(address, added)
    this.byId.set(added.id.toLowerCase(), address)
    this.byId.set(added.archiveId.toLowerCase(), address)
    this.sorted.splice(this.position(address, false), 0, address)
    return { status: 'added', entry: structuredClone(added) }
  }

  async remove (address: string): Promise<'removed' | 'absent'> {
    const key = address.toLowerCase()
    const entry = this.byAddress.get(key)
    if (entry === undefined) return 'absent'
    this.byAddress.delete(key)
    this.byId.delete(entry.id.toLowerCase())
    this.byId.delete(entry.archiveId.toLowerCase())
    this.sorted.splice(this.position(key, false), 1)
    return 'removed'
  }

  async close (): Promise<void> {
    this.byAddress.clear()
    this.byId.clear()
    this.sorted.length = 0
  }

  /** Index of the first address ≥ `address` (> it when `after`), in code-point order. */
  private position (address: string, after: boolean): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = compareAddresses(this.sorted[mid], address)
      if (c < 0 || (after && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
