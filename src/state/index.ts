/**
 * Opens the state store that configuration names (STATE_STORE, src/config.ts).
 */
import type { StateStoreSetting } from '../config.js'
import type { JobStore, LedgerStore } from './jobs.js'
import { MemoryIdempotencyStore, MemoryMailboxRegistry } from './memory.js'
import { MemoryJobStore, MemoryLedgerStore } from './memory-jobs.js'
import { SqliteIdempotencyStore, SqliteMailboxRegistry } from './sqlite.js'
import { openSqliteDatabase } from './sqlite-database.js'
import { SqliteJobStore, SqliteLedgerStore } from './sqlite-jobs.js'
import type { IdempotencyStore, MailboxRegistryStore } from './store.js'

/** Time to live and lease of every key, whichever store keeps them (ms). */
export interface IdempotencyTimes {
  /** How long a completed key is kept (IDEMPOTENCY_TTL_SEC × 1000). */
  ttlMs: number
  /** How long an unfinished request holds its key (REQUEST_TIMEOUT_MS). */
  leaseMs: number
}

/**
 * Every kind of state the gateway keeps, in one place. Each store is closed by whoever uses it (the app closes
 * the idempotency, job and ledger stores, the router its registry); on SQLite the file closes with the last of
 * them. `close` closes all four (closing a store twice does nothing).
 */
export interface StateStores {
  idempotency: IdempotencyStore
  jobs: JobStore
  ledger: LedgerStore
  registry: MailboxRegistryStore
  close: () => Promise<void>
}

/**
 * The stores for `setting`: in this process's memory (nothing survives a restart), or all on the one SQLite
 * file (created with its folder, WAL mode, migrated; src/state/sqlite-database.ts) so that keys, copy jobs,
 * their ledgers and cursors, and mailboxes registered at runtime survive a restart. Throws a plain Error naming
 * the file when it cannot be opened or a newer gateway migrated it.
 */
export function openStateStores (setting: StateStoreSetting, times: IdempotencyTimes): StateStores {
  let stores: Omit<StateStores, 'close'>
  if (setting.kind === 'memory') {
    stores = {
      idempotency: new MemoryIdempotencyStore(times),
      jobs: new MemoryJobStore(),
      ledger: new MemoryLedgerStore(),
      registry: new MemoryMailboxRegistry()
    }
  } else {
    const database = openSqliteDatabase(setting.path)
    try {
      stores = {
        idempotency: new SqliteIdempotencyStore({ database, ...times }),
        jobs: new SqliteJobStore({ database }),
        ledger: new SqliteLedgerStore({ database }),
        registry: new SqliteMailboxRegistry({ database })
      }
    } catch (err) {
      database.close()
      throw err
    }
  }
  return {
    ...stores,
    close: async () => {
      await Promise.all([stores.idempotency.close(), stores.jobs.close(), stores.ledger.close(),
        stores.registry.close()])
    }
  }
}
