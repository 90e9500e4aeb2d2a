import t from 'tap'
import { MemoryIdempotencyStore, MemoryMailboxRegistry } from '../../src/state/memory.js'
import { idempotencyStoreContract, LEASE_MS, TTL_MS } from './idempotency-store-contract.js'
import { mailboxRegistryContract } from './mailbox-registry-contract.js'

idempotencyStoreContract(t, (clock) => new MemoryIdempotencyStore({
  ttlMs: TTL_MS, leaseMs: LEASE_MS, now: () => clock.now
}))

const record = (body: string) => ({ status: 200, headers: {}, body })

t.test('past maxEntries the oldest completed keys go first; keys in progress never', async (t) => {
  let now = 0
  const store = new MemoryIdempotencyStore({ maxEntries: 3, now: () => now })
  const held = await store.begin('held', 'fp')
  t.equal(held.status, 'started')
  for (const key of ['a', 'b', 'c']) {
    const begun = await store.begin(key, 'fp')
    if (begun.status === 'started') await store.complete(key, begun.lease, record(key))
    now += 1
  }
  t.equal(store.size, 3)
  t.equal((await store.begin('held', 'fp')).status, 'inProgress', 'kept')
  t.equal((await store.begin('a', 'fp')).status, 'started', 'the oldest record went (a runs again)')
  t.equal((await store.begin('c', 'fp')).status, 'replay', 'newer ones stay')
  for (const key of ['x', 'y', 'z', 'w']) t.equal((await store.begin(key, 'fp')).status, 'started')
  t.equal(store.size, 6, 'keys in progress may exceed the bound for a while')
})

t.test('past maxBytes the oldest completed keys go first', async (t) => {
  const store = new MemoryIdempotencyStore({ maxBytes: 25 })
  for (const key of ['a', 'b', 'c']) {
    const begun = await store.begin(key, 'fp')
    if (begun.status === 'started') await store.complete(key, begun.lease, record('0123456789'))
  }
  t.equal((await store.begin('a', 'fp')).status, 'started', 'a dropped to stay within 25')
  t.equal((await store.begin('b', 'fp')).status, 'replay')
  t.equal((await store.begin('c', 'fp')).status, 'replay')
})

t.test('expired keys are dropped by the sweep, not only when met', async (t) => {
  let now = 0
  const store = new MemoryIdempotencyStore({ ttlMs: 1000, leaseMs: 1000, now: () => now })
  for (const key of ['a', 'b']) {
    const begun = await store.begin(key, 'fp')
    if (begun.status === 'started') await store.complete(key, begun.lease, record(key))
  }
  await store.begin('lapsing', 'fp')
  t.equal(store.size, 3)
  now += 60_000
  await store.begin('other', 'fp')
  t.equal(store.size, 1, 'only the new key is left')
})

t.test('defaults: 24 hours to live', async (t) => {
  let now = 0
  const store = new MemoryIdempotencyStore({ now: () => now })
  const begun = await store.begin('k', 'fp')
  if (begun.status === 'started') await store.complete('k', begun.lease, record('x'))
  now += 24 * 3600 * 1000 - 1
  t.equal((await store.begin('k', 'fp')).status, 'replay')
  now += 1
  t.equal((await store.begin('k', 'fp')).status, 'started')
})

t.test('mailbox registry (memory)', async (t) => {
  mailboxRegistryContract(t, (clock) => new MemoryMailboxRegistry({ now: () => clock.now }))
})
