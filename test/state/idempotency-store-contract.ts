/**
 * What every IdempotencyStore must do (src/state/store.ts), as one suite each implementation runs
 * (memory now; SQLite and PostgreSQL next): `make` builds a fresh, empty store on the given clock with
 * a time to live of `TTL_MS` and a lease of `LEASE_MS`.
 */
import type { Test } from 'tap'
import type { IdempotencyRecord, IdempotencyStore } from '../../src/state/store.js'

export const TTL_MS = 60_000
export const LEASE_MS = 10_000

const RECORD: IdempotencyRecord = {
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: '{"results":[{"index":0,"itemId":"AAMk…","changeKey":"CQAA"}],"succeeded":1,"failed":0}'
}

async function started (t: Test, store: IdempotencyStore, key: string, fingerprint = 'fp'): Promise<string> {
  const begun = await store.begin(key, fingerprint)
  if (begun.status !== 'started') throw new Error(`${key}: ${begun.status}, expected started`)
  t.ok(begun.lease.length > 0)
  return begun.lease
}

export function idempotencyStoreContract (t: Test,
  make: (clock: { now: number }) => IdempotencyStore | Promise<IdempotencyStore>): void {
  const fresh = async (t: Test): Promise<{ store: IdempotencyStore, clock: { now: number } }> => {
    const clock = { now: Date.parse('2026-07-01T00:00:00Z') }
    const store = await make(clock)
    t.teardown(async () => { await store.close() })
    return { store, clock }
  }

  t.test('a free key is started; while held, the same request is in progress and another a mismatch', async (t) => {
    const { store, clock } = await fresh(t)
    const begun = await store.begin('k', 'fp')
    t.equal(begun.status, 'started')
    t.equal(begun.status === 'started' && begun.leaseExpiresAt, clock.now + LEASE_MS)
    t.same(await store.begin('k', 'fp'), { status: 'inProgress', leaseExpiresAt: clock.now + LEASE_MS })
    t.same(await store.begin('k', 'other'), { status: 'mismatch' })
    t.equal((await store.begin('k2', 'fp')).status, 'started', 'keys are independent')
  })

  t.test('a completed key replays its record, verbatim, to the same fingerprint only', async (t) => {
    const { store } = await fresh(t)
    const lease = await started(t, store, 'k')
    t.equal(await store.complete('k', lease, RECORD), true)
    t.same(await store.begin('k', 'fp'), { status: 'replay', record: RECORD })
    t.same(await store.begin('k', 'other'), { status: 'mismatch' })
    const replay = await store.begin('k', 'fp')
    if (replay.status === 'replay') replay.record.body = 'changed by a caller'
    t.same(await store.begin('k', 'fp'), { status: 'replay', record: RECORD }, 'a replay hands out a copy')
  })

  t.test('abandon frees the key; only its own lease can complete or abandon it', async (t) => {
    const { store } = await fresh(t)
    const lease = await started(t, store, 'k')
    t.equal(await store.complete('k', 'not-the-lease', RECORD), false)
    await store.abandon('k', 'not-the-lease')
    t.equal((await store.begin('k', 'fp')).status, 'inProgress', 'still held')
    await store.abandon('k', lease)
    const again = await started(t, store, 'k', 'another fingerprint')
    t.not(again, lease, 'a new lease')
    t.equal(await store.complete('k', lease, RECORD), false, 'the old lease completes nothing')
    await store.abandon('k', lease)
    t.equal((await store.begin('k', 'another fingerprint')).status, 'inProgress', 'the old lease frees nothing')
  })

  t.test('an unfinished request loses its key when its lease runs out', async (t) => {
    const { store, clock } = await fresh(t)
    const lease = await started(t, store, 'k')
    clock.now += LEASE_MS - 1
    t.equal((await store.begin('k', 'fp')).status, 'inProgress')
    clock.now += 1
    const next = await started(t, store, 'k')
    t.equal(await store.complete('k', lease, RECORD), false, 'the lapsed lease records nothing')
    t.equal(await store.complete('k', next, RECORD), true)
    t.same(await store.begin('k', 'fp'), { status: 'replay', record: RECORD })
  })

  t.test('a lapsed lease cannot complete even when nobody took the key', async (t) => {
    const { store, clock } = await fresh(t)
    const lease = await started(t, store, 'k')
    clock.now += LEASE_MS
    t.equal(await store.complete('k', lease, RECORD), false)
    t.equal((await store.begin('k', 'fp')).status, 'started')
  })

  t.test('a record is kept for the time to live from its completion', async (t) => {
    const { store, clock } = await fresh(t)
    const lease = await started(t, store, 'k')
    clock.now += 5000
    await store.complete('k', lease, RECORD)
    clock.now += TTL_MS - 1
    t.equal((await store.begin('k', 'fp')).status, 'replay')
    clock.now += 1
    t.equal((await store.begin('k', 'other')).status, 'started', 'expired: free for any request')
  })

  t.test('one of two concurrent begins starts', async (t) => {
    const { store } = await fresh(t)
    const results = await Promise.all(Array.from({ length: 8 }, async () => await store.begin('k', 'fp')))
    t.equal(results.filter((r) => r.status === 'started').length, 1)
    t.equal(results.filter((r) => r.status === 'inProgress').length, 7)
  })
}
