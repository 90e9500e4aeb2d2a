/**
 * What every JobStore and LedgerStore must do (src/state/jobs.ts), as suites each implementation runs (memory,
 * SQLite; PostgreSQL next). `make` builds a fresh, empty store on the given clock (epoch ms).
 */
import type { Test } from 'tap'
import type { JobStore, LedgerEntry, LedgerStore } from '../../src/state/jobs.js'

export const JOB_LEASE_MS = 30_000

type Clock = { now: number }

async function freshOf<S extends { close: () => Promise<void> }> (t: Test,
  make: (clock: Clock) => S | Promise<S>): Promise<{ store: S, clock: Clock }> {
  const clock = { now: Date.parse('2026-07-01T00:00:00Z') }
  const store = await make(clock)
  t.teardown(async () => { await store.close() })
  return { store, clock }
}

export function jobStoreContract (t: Test, make: (clock: Clock) => JobStore | Promise<JobStore>): void {
  const job = (id: string, client = 'demo') => ({ id, kind: 'copy', spec: { n: id }, progress: { done: 0 }, client })

  t.test('create, get: queued at version 1, values copied', async (t) => {
    const { store, clock } = await freshOf(t, make)
    const made = await store.create(job('a'))
    t.match(made, { id: 'a', kind: 'copy', state: 'queued', version: 1, createdAt: clock.now, updatedAt: clock.now })
    t.notOk('lease' in made)
    t.same((await store.get('a'))?.spec, { n: 'a' })
    t.equal(await store.get('nope'), undefined)
    await t.rejects(store.create(job('a')), 'an id is taken once')
  })

  t.test('update is optimistic: one of two updates at a version wins', async (t) => {
    const { store, clock } = await freshOf(t, make)
    await store.create(job('a'))
    clock.now += 5
    const first = await store.update('a', 1, { progress: { done: 1 } })
    t.match(first, { version: 2, progress: { done: 1 }, updatedAt: clock.now })
    t.equal(await store.update('a', 1, { state: 'paused' }), undefined, 'the stale writer loses')
    t.equal((await store.get('a'))?.state, 'queued', 'and changed nothing')
    t.equal(await store.update('zz', 1, { state: 'paused' }), undefined, 'an unknown job')
    const leased = await store.update('a', 2, { lease: { owner: 'r1', expiresAt: clock.now + 10 } })
    t.same(leased?.lease, { owner: 'r1', expiresAt: clock.now + 10 })
    const dropped = await store.update('a', 3, { lease: null, state: 'queued' })
    t.notOk(dropped !== undefined && 'lease' in dropped, 'lease null drops it')
  })

  t.test('list: newest first, paged, per client', async (t) => {
    const { store, clock } = await freshOf(t, make)
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      await store.create(job(id, id === 'c' ? 'other' : 'demo'))
      clock.now++
    }
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.list({ limit: 2, ...(cursor !== undefined ? { cursor } : {}) })
      t.ok(page.jobs.length <= 2)
      seen.push(...page.jobs.map((j) => j.id))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    t.same(seen, ['e', 'd', 'c', 'b', 'a'])
    t.same((await store.list({ limit: 10, client: 'other' })).jobs.map((j) => j.id), ['c'])
  })

  t.test('countActive: a client\'s jobs not over, scheduled completed ones included', async (t) => {
    const { store } = await freshOf(t, make)
    const states = ['queued', 'running', 'paused', 'completed', 'failed', 'canceled'] as const
    for (const state of states) {
      await store.create({ ...job(`${state}-1`), state })
      await store.create({ ...job(`${state}-2`), spec: { delta: { everySeconds: 60 } }, state })
      await store.create({ ...job(`${state}-3`, 'other'), state })
    }
    t.equal(await store.countActive('demo'), 7, 'queued, running, paused (2 each) and the scheduled completed one')
    t.equal(await store.countActive('other'), 3)
    t.equal(await store.countActive('nobody'), 0)
    await store.update('queued-1', 1, { state: 'canceled' })
    t.equal(await store.countActive('demo'), 6, 'a canceled job is over')
  })

  t.test('claim: oldest queued first, one claimant per job, lapsed leases taken over', async (t) => {
    const { store, clock } = await freshOf(t, make)
    await store.create(job('a')); clock.now++
    await store.create(job('b')); clock.now++
    await store.create({ ...job('p'), state: 'paused' })
    const [one, two, three] = await Promise.all([
      store.claim('r1', JOB_LEASE_MS), store.claim('r2', JOB_LEASE_MS), store.claim('r3', JOB_LEASE_MS)
    ])
    const claimed = [one, two, three].filter((j) => j !== undefined).map((j) => j?.id).sort()
    t.same(claimed, ['a', 'b'], 'each runnable job once; paused jobs are not runnable')
    t.equal(one?.id, 'a', 'the oldest first')
    t.match(one, { state: 'running', lease: { owner: 'r1', expiresAt: clock.now + JOB_LEASE_MS } })
    t.equal(await store.claim('r4', JOB_LEASE_MS), undefined, 'nothing else runnable')

    clock.now += JOB_LEASE_MS - 1
    t.ok(await store.heartbeat('a', 'r1', JOB_LEASE_MS), 'the holder renews')
    t.notOk(await store.heartbeat('a', 'r2', JOB_LEASE_MS), 'another does not')
    clock.now += 2
    const taken = await store.claim('r9', JOB_LEASE_MS)
    t.equal(taken?.id, 'b', 'b\'s lease lapsed (its runner is gone): taken over; a was renewed')
    t.notOk(await store.heartbeat('b', 'r2', JOB_LEASE_MS), 'the old holder has lost it')
    t.ok(await store.heartbeat('b', 'r9', JOB_LEASE_MS))
  })

  t.test('a job under a live lease is not claimed, whatever its state; once let go or lapsed it is', async (t) => {
    const { store, clock } = await freshOf(t, make)
    await store.create(job('a'))
    const claimed = await store.claim('r1', JOB_LEASE_MS)
    // Paused and resumed by the API while r1 still finishes a batch: queued, but r1's lease stands.
    const paused = await store.update('a', claimed?.version ?? 0, { state: 'paused' })
    await store.update('a', paused?.version ?? 0, { state: 'queued' })
    t.equal(await store.claim('r2', JOB_LEASE_MS), undefined, 'not claimed while r1 holds it')
    clock.now += JOB_LEASE_MS
    t.equal((await store.claim('r2', JOB_LEASE_MS))?.id, 'a', 'claimed once the lease lapsed')
    const current = await store.get('a')
    await store.update('a', current?.version ?? 0, { state: 'queued', lease: null })
    t.equal((await store.claim('r3', JOB_LEASE_MS))?.id, 'a', 'and once let go')
  })

  t.test('a heartbeat does not move the version', async (t) => {
    const { store } = await freshOf(t, make)
    await store.create(job('a'))
    const claimed = await store.claim('r1', JOB_LEASE_MS)
    t.ok(await store.heartbeat('a', 'r1', JOB_LEASE_MS))
    t.ok(await store.update('a', claimed?.version ?? 0, { progress: { done: 2 } }), 'an update at the claimed version')
  })
}

/** Counts of a ledger with no entries: every state, 0. */
const NO_ITEMS = { copied: 0, failed: 0, unknown: 0, sending: 0, orphaned: 0, pending: 0, moving: 0 }

export function ledgerStoreContract (t: Test, make: (clock: Clock) => LedgerStore | Promise<LedgerStore>): void {
  const entry = (state: LedgerEntry['state'], extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
    state, sourceFolderId: 'sf', targetFolderId: 'tf', size: 10, ...extra
  })

  t.test('items: put, get, replace, count, per job', async (t) => {
    const { store, clock } = await freshOf(t, make)
    await store.putItems('j1', {
      s1: entry('copied', { targetId: 't1', sourceChangeKey: 'k1', targetChangeKey: 'tk1' }),
      s2: entry('failed', { code: 'MBG_ERR_DATA_INVALID' }),
      s3: entry('unknown', { code: 'MBG_ERR_OUTCOME_UNKNOWN' })
    })
    const got = await store.getItems('j1', ['s1', 's2', 'nope'])
    t.same(Object.keys(got).sort(), ['s1', 's2'], 'absent ids left out')
    t.match(got.s1, {
      state: 'copied', targetId: 't1', sourceChangeKey: 'k1', targetChangeKey: 'tk1', size: 10, at: clock.now
    })
    t.same(await store.getItems('j2', ['s1']), {}, 'another job sees nothing')
    await store.putItems('j1', { s2: entry('copied', { targetId: 't2' }) })
    t.equal((await store.getItems('j1', ['s2'])).s2.state, 'copied', 'replaced')
    t.same(await store.countItems('j1'), { ...NO_ITEMS, copied: 2, unknown: 1 })
    t.same(await store.countItems('j2'), NO_ITEMS, 'every state, 0 when none')
  })

  t.test('items of one state are listed, with their search key', async (t) => {
    const { store } = await freshOf(t, make)
    const all: Record<string, LedgerEntry> = {}
    for (let i = 0; i < 7; i++) all[`s${i}`] = entry(i % 2 === 0 ? 'sending' : 'copied', { searchKey: `k${i}` })
    await store.putItems('j', all)
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.listItems('j', {
        limit: 2, state: 'sending', ...(cursor !== undefined ? { cursor } : {})
      })
      t.ok(page.items.every((i) => i.entry.state === 'sending' && i.entry.searchKey === `k${i.sourceId.slice(1)}`))
      seen.push(...page.items.map((i) => i.sourceId))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    t.same(seen.sort(), ['s0', 's2', 's4', 's6'])
    t.match(await store.countItems('j'), { sending: 4, copied: 3 })
  })

  t.test('sending and orphaned entries, with their search keys, are kept and counted', async (t) => {
    const { store } = await freshOf(t, make)
    await store.putItems('j', {
      s1: entry('sending', { searchKey: 'AAECAwQFBgcICQoLDA0ODw==' }),
      s2: entry('orphaned', { targetId: 't2', searchKey: 'EBESExQVFhcYGRobHB0eHw==' }),
      s3: entry('copied', { targetId: 't3' })
    })
    const got = await store.getItems('j', ['s1', 's2', 's3'])
    t.match(got.s1, { state: 'sending', searchKey: 'AAECAwQFBgcICQoLDA0ODw==' })
    t.match(got.s2, { state: 'orphaned', targetId: 't2', searchKey: 'EBESExQVFhcYGRobHB0eHw==' })
    t.notOk('searchKey' in got.s3, 'no key when none was given')
    t.same(await store.countItems('j'), { ...NO_ITEMS, copied: 1, sending: 1, orphaned: 1 })
    await store.putItems('j', { s1: entry('copied', { targetId: 't1', searchKey: 'AAECAwQFBgcICQoLDA0ODw==' }) })
    t.same(await store.countItems('j'), { ...NO_ITEMS, copied: 2, orphaned: 1 },
      'the intent became the outcome')
  })

  t.test('many entries in one putItems, read back whole', async (t) => {
    const { store } = await freshOf(t, make)
    const all: Record<string, LedgerEntry> = {}
    for (let i = 0; i < 500; i++) {
      all[`s${String(i).padStart(4, '0')}`] = entry(i % 2 === 0 ? 'copied' : 'sending', { size: i })
    }
    await store.putItems('j', all)
    const got = await store.getItems('j', Object.keys(all))
    t.equal(Object.keys(got).length, 500)
    t.ok(Object.entries(all).every(([id, e]) => got[id].size === e.size && got[id].state === e.state))
    t.same(await store.countItems('j'), { ...NO_ITEMS, copied: 250, sending: 250 })
  })

  t.test('items: listed by state, removed, with their search key and move origin', async (t) => {
    const { store } = await freshOf(t, make)
    const moveFrom = { sourceId: 's0', targetFolderId: 'tf0', size: 7 }
    await store.putItems('j', {
      s1: entry('orphaned', { targetId: 't1', searchKey: 'AAEC' }),
      s2: entry('copied', { targetId: 't2' }),
      s3: entry('moving', { targetId: 't1', searchKey: 'AAEC', moveFrom }),
      s4: entry('orphaned', { targetId: 't4' })
    })
    const orphans = await store.listItems('j', { limit: 1, state: 'orphaned' })
    t.same(orphans.items.map((i) => i.sourceId), ['s1'], 'a page of one state')
    const rest = await store.listItems('j', { limit: 10, cursor: orphans.nextCursor as string, state: 'orphaned' })
    t.same(rest.items.map((i) => i.sourceId), ['s4'])
    t.equal(rest.nextCursor, undefined)
    t.match((await store.getItems('j', ['s3'])).s3, { state: 'moving', searchKey: 'AAEC', moveFrom })
    await store.removeItems('j', ['s1', 's3', 'nope'])
    t.same(Object.keys(await store.getItems('j', ['s1', 's2', 's3', 's4'])).sort(), ['s2', 's4'])
    t.equal((await store.countItems('j')).orphaned, 1)
  })

  t.test('findTargets: the given target ids some entry of the job has, whatever its state', async (t) => {
    const { store } = await freshOf(t, make)
    await store.putItems('j', {
      s1: entry('copied', { targetId: 't1' }),
      s2: entry('orphaned', { targetId: 't2' }),
      s3: entry('moving', { targetId: 't2', moveFrom: { sourceId: 's2', targetFolderId: 'tf', size: 10 } }),
      s4: entry('sending'),
      s5: entry('failed', { targetId: 't5', code: 'MBG_ERR_DATA_INVALID' })
    })
    await store.putItems('other', { o1: entry('copied', { targetId: 'tx' }) })
    const found = async (ids: string[]): Promise<string[]> => (await store.findTargets('j', ids)).sort()
    t.same(await found(['t1', 't2', 't5', 'tx', 'nope', 't1']), ['t1', 't2', 't5'], 'each once; not another job\'s')
    t.same(await store.findTargets('j', []), [])
    t.same(await store.findTargets('none', ['t1']), [], 'a job without a ledger')
    await store.putItems('j', { s1: entry('copied', { targetId: 't1b' }) })
    t.same(await found(['t1', 't1b']), ['t1b'], 'an entry\'s new target id replaces its old one')
    await store.removeItems('j', ['s2'])
    t.same(await found(['t2']), ['t2'], 'still the target of another entry')
    await store.removeItems('j', ['s3', 's5'])
    t.same(await found(['t2', 't5']), [], 'gone with its entries')
    await store.deleteJob('j')
    t.same(await found(['t1b']), [], 'gone with the job')
  })

  t.test('items are listed in pages, each once', async (t) => {
    const { store } = await freshOf(t, make)
    const all: Record<string, LedgerEntry> = {}
    for (let i = 0; i < 7; i++) all[`s${i}`] = entry('copied')
    await store.putItems('j', all)
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.listItems('j', { limit: 3, ...(cursor !== undefined ? { cursor } : {}) })
      seen.push(...page.items.map((i) => i.sourceId))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    t.same(seen, Object.keys(all).sort(), 'in source-id order, each once')
  })

  t.test('listItems filters by state, in pages', async (t) => {
    const { store } = await freshOf(t, make)
    const states: Array<LedgerEntry['state']> = ['copied', 'sending', 'orphaned', 'failed', 'unknown']
    const all: Record<string, LedgerEntry> = {}
    for (let i = 0; i < 12; i++) all[`s${String(i).padStart(2, '0')}`] = entry(states[i % states.length])
    await store.putItems('j', all)
    await store.putItems('other', { s99: entry('sending') })
    const walk = async (state: LedgerEntry['state'], limit: number): Promise<string[]> => {
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const page = await store.listItems('j', { limit, state, ...(cursor !== undefined ? { cursor } : {}) })
        t.ok(page.items.length <= limit)
        t.ok(page.items.every((i) => i.entry.state === state), `only ${state}`)
        seen.push(...page.items.map((i) => i.sourceId))
        cursor = page.nextCursor
      } while (cursor !== undefined)
      return seen
    }
    t.same(await walk('sending', 1), ['s01', 's06', 's11'])
    t.same(await walk('orphaned', 2), ['s02', 's07'])
    t.same(await walk('copied', 10), ['s00', 's05', 's10'])
    t.same((await store.listItems('j', { limit: 5, state: 'sending', cursor: 's06' })).items.map((i) => i.sourceId),
      ['s11'], 'after a cursor')
    t.same(await store.listItems('j', { limit: 5, state: 'sending', cursor: 's11' }), { items: [] }, 'past the end')
  })

  t.test('folder map and cursors; deleteJob forgets a job', async (t) => {
    const { store } = await freshOf(t, make)
    await store.putFolder('j', 'a', 'A')
    await store.putFolder('j', 'b', 'B')
    await store.putFolder('j', 'a', 'A2')
    t.same(await store.getFolderMap('j'), { a: 'A2', b: 'B' })
    t.same(await store.getFolderMap('k'), {})
    t.equal(await store.getCursor('j', 'a'), undefined)
    await store.putCursor('j', 'a', 'c1')
    await store.putCursor('j', 'a', 'c2')
    t.equal(await store.getCursor('j', 'a'), 'c2')
    await store.putItems('j', { s: entry('copied') })
    await store.deleteJob('j')
    t.same(await store.getFolderMap('j'), {})
    t.equal(await store.getCursor('j', 'a'), undefined)
    t.same(await store.getItems('j', ['s']), {})
  })
}
