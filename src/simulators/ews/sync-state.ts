/**
 * Opaque SyncState strings: base64 of a small JSON document naming the scope
 * it belongs to and the last store sequence number the client has seen.
 */
import { EwsError } from './errors.js'

interface SyncState { v: 1, scope: string, seq: number }

export function encodeSyncState (scope: string, seq: number): string {
  const state: SyncState = { v: 1, scope, seq }
  return Buffer.from(JSON.stringify(state)).toString('base64')
}

/**
 * Returns the sequence to sync from; absent/empty state = 0 (full sync). Foreign or corrupt state →
 * ErrorInvalidSyncStateData.
 */
export function decodeSyncState (raw: string | undefined, scope: string): number {
  if (raw === undefined || raw.trim() === '') return 0
  try {
    const state = JSON.parse(Buffer.from(raw.trim(), 'base64').toString('utf8')) as Partial<SyncState>
    if (state.v === 1 && state.scope === scope && Number.isInteger(state.seq) && (state.seq as number) >= 0) {
      return state.seq as number
    }
  } catch {
    // fall through: not our state
  }
  throw new EwsError('ErrorInvalidSyncStateData')
}
