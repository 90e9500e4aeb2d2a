/**
 * Opaque SyncState strings: base64 of a small JSON document naming the scope
 * it belongs to, the last store sequence number the client has seen, and the
 * store's sync epoch (MailboxStore.expireSyncStates).
 */
import { EwsError } from './errors.js'
import type { MailboxStore } from '../store/store.js'

interface SyncState { v: 1, scope: string, seq: number, e: number }

export function encodeSyncState (scope: string, seq: number, store: Pick<MailboxStore, 'syncEpoch'>): string {
  const state: SyncState = { v: 1, scope, seq, e: store.syncEpoch }
  return Buffer.from(JSON.stringify(state)).toString('base64')
}

/**
 * Returns the sequence to sync from; absent/empty state = 0 (full sync). Foreign or corrupt state, one past
 * the store's sequence now (another store instance issued it, e.g. before a restart) or of an expired epoch
 * → ErrorInvalidSyncStateData.
 */
export function decodeSyncState (raw: string | undefined, scope: string,
  store: Pick<MailboxStore, 'sequence' | 'syncEpoch'>): number {
  if (raw === undefined || raw.trim() === '') return 0
  try {
    const state = JSON.parse(Buffer.from(raw.trim(), 'base64').toString('utf8')) as Partial<SyncState>
    if (state.v === 1 && state.scope === scope && Number.isInteger(state.seq) && (state.seq as number) >= 0 &&
      (state.seq as number) <= store.sequence && state.e === store.syncEpoch) {
      return state.seq as number
    }
  } catch {
    // fall through: not our state
  }
  throw new EwsError('ErrorInvalidSyncStateData')
}
