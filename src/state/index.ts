/**
 * Opens the state store that configuration names (STATE_STORE, src/config.ts).
 */
import type { StateStoreSetting } from '../config.js'
import { MemoryIdempotencyStore } from './memory.js'
import { SqliteIdempotencyStore } from './sqlite.js'
import type { IdempotencyStore } from './store.js'

/** Time to live and lease of every key, whichever store keeps them (ms). */
export interface IdempotencyTimes {
  /** How long a completed key is kept (IDEMPOTENCY_TTL_SEC × 1000). */
  ttlMs: number
  /** How long an unfinished request holds its key (REQUEST_TIMEOUT_MS). */
  leaseMs: number
}

/**
 * The Idempotency-Key store for `setting`: a MemoryIdempotencyStore, or a SqliteIdempotencyStore on the
 * file (created with its folder, migrated). Throws a plain Error naming the file when it cannot be opened
 * or a newer gateway migrated it.
 */
export function openIdempotencyStore (setting: StateStoreSetting, times: IdempotencyTimes): IdempotencyStore {
  return setting.kind === 'memory'
    ? new MemoryIdempotencyStore(times)
    : new SqliteIdempotencyStore({ path: setting.path, ...times })
}
