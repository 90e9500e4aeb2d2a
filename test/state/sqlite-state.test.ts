import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import t, { type Test } from 'tap'
import { openStateStores } from '../../src/state/index.js'
import { migrateSqlite, SQLITE_MIGRATIONS } from '../../src/state/migrations/sqlite.js'
import { SqliteMailboxRegistry } from '../../src/state/sqlite.js'
import { SqliteJobStore, SqliteLedgerStore } from '../../src/state/sqlite-jobs.js'
import { PROCESS_BUDGET_MS, ROOT } from '../helpers/process.js'
import { jobStoreContract, ledgerStoreContract } from './job-store-contract.js'
import { mailboxRegistryContract, registration } from './mailbox-registry-contract.js'

/** A fresh folder for database files, removed after the test. */
function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mbg-sqlite-state-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

t.test('contracts, each store on its own file', async (t) => {
  const dir = tempDir(t)
  let n = 0
  const path = () => join(dir, `contract-${n++}.db`)
  t.test('jobs', async (t) => {
    jobStoreContract(t, (clock) => new SqliteJobStore({ path: path(), now: () => clock.now }))
  })
  t.test('ledger', async (t) => {
    ledgerStoreContract(t, (clock) => new SqliteLedgerStore({ path: path(), now: () => clock.now }))
  })
  t.test('registry', async (t) => {
    mailboxRegistryContract(t, (clock) => new SqliteMailboxRegistry({ path: path(), now: () => clock.now }))
  })
})

t.test('contracts, in memory (":memory:")', async (t) => {
  t.test('jobs', async (t) => {
    jobStoreContract(t, (clock) => new SqliteJobStore({ path: ':memory:', now: () => clock.now }))
  })
  t.test('ledger', async (t) => {
    ledgerStoreContract(t, (clock) => new SqliteLedgerStore({ path: ':memory:', now: () => clock.now }))
  })
  t.test('registry', async (t) => {
    mailboxRegistryContract(t, (clock) => new SqliteMailboxRegistry({ path: ':memory:', now: () => clock.now }))
  })
})

t.test('stores sharing one file (openStateStores)', async (t) => {
  const dir = tempDir(t)
  const open = () => openStateStores({ kind: 'sqlite', path: join(dir, 'shared.db') },
    { ttlMs: 60_000, leaseMs: 60_000 })
  t.test('the stores of one file work together and close with the last', async (t) => {
    const stores = open()
    await stores.jobs.create({ id: 'j', kind: 'copy', spec: {}, progress: {} })
    await stores.ledger.putItems('j', { s: { state: 'copied', sourceFolderId: 'a', targetFolderId: 'b', size: 1 } })
    await stores.registry.add(registration('ann@contoso.example'))
    t.equal((await stores.idempotency.begin('k', 'fp')).status, 'started')
    await stores.jobs.close()
    await t.rejects(stores.jobs.get('j'), /jobs closed/, 'a closed store refuses work')
    t.equal((await stores.ledger.getItems('j', ['s'])).s.state, 'copied', 'the others go on')
    t.equal((await stores.registry.find('ann@contoso.example'))?.address, 'ann@contoso.example')
    await stores.close()
    await stores.close()
    await t.rejects(stores.ledger.getItems('j', ['s']), /ledger closed/)
  })
})

t.test('jobs, ledgers, cursors and registrations survive closing and reopening the file', async (t) => {
  const path = join(tempDir(t), 'data', 'gateway.db')
  const times = { ttlMs: 60_000, leaseMs: 60_000 }
  const first = openStateStores({ kind: 'sqlite', path }, times)
  const made = await first.jobs.create({
    id: 'job-1', kind: 'copy', spec: { from: 'a' }, progress: { done: 0 }, client: 'ops'
  })
  await first.jobs.create({ id: 'job-2', kind: 'copy', spec: { from: 'b' }, progress: { done: 0 } })
  const claimed = await first.jobs.claim('runner-1', 60_000)
  const progressed = await first.jobs.update('job-1', claimed?.version ?? 0, { progress: { done: 7 } })
  const entries = {
    s1: {
      state: 'copied' as const,
      targetId: 't1',
      sourceChangeKey: 'ck1',
      targetChangeKey: 'tk1',
      sourceFolderId: 'sf',
      targetFolderId: 'tf',
      size: 10,
      searchKey: 'AAECAwQFBgcICQoLDA0ODw=='
    },
    s2: { state: 'sending' as const, sourceFolderId: 'sf', targetFolderId: 'tf', size: 20, searchKey: 'EBESEw==' },
    s3: { state: 'orphaned' as const, targetId: 't3', sourceFolderId: 'sf', targetFolderId: 'tf', size: 30 }
  }
  await first.ledger.putItems('job-1', entries)
  await first.ledger.putFolder('job-1', 'sf', 'tf')
  await first.ledger.putCursor('job-1', 'sf', 'delta-cursor-1')
  const added = await first.registry.add(registration('Erin@Contoso.Example', { displayName: 'Erin' }))
  const jobsBefore = await first.jobs.list({ limit: 10 })
  const itemsBefore = await first.ledger.getItems('job-1', ['s1', 's2', 's3'])
  await first.close()

  const second = openStateStores({ kind: 'sqlite', path }, times)
  t.teardown(async () => { await second.close() })
  t.same(await second.jobs.list({ limit: 10 }), jobsBefore, 'the same jobs, in the same order')
  t.same(await second.jobs.get('job-1'), progressed, 'with their progress, version and lease')
  t.match(await second.jobs.get('job-1'), { state: 'running', lease: { owner: 'runner-1' }, progress: { done: 7 } })
  t.same(made.spec, (await second.jobs.get('job-1'))?.spec)
  t.equal(await second.jobs.heartbeat('job-1', 'runner-1', 60_000), true, 'the lease outlives the process')
  t.equal((await second.jobs.claim('runner-2', 60_000))?.id, 'job-2', 'the held job is not claimed again')
  t.same(await second.ledger.getItems('job-1', ['s1', 's2', 's3']), itemsBefore, 'the same ledger entries')
  t.match(itemsBefore, entries)
  t.same((await second.ledger.listItems('job-1', { limit: 10, state: 'sending' })).items.map((i) => i.sourceId),
    ['s2'])
  t.same(await second.ledger.countItems('job-1'),
    { copied: 1, failed: 0, unknown: 0, sending: 1, orphaned: 1, pending: 0, moving: 0 })
  t.same(await second.ledger.getFolderMap('job-1'), { sf: 'tf' })
  t.equal(await second.ledger.getCursor('job-1', 'sf'), 'delta-cursor-1')
  t.same(await second.registry.find('erin@contoso.example'), added.entry, 'the same registration')
  t.same(await second.registry.find(added.entry.archiveId), added.entry)
})

t.test('two processes claiming from one file never get the same job', async (t) => {
  const path = join(tempDir(t), 'jobs.db')
  const store = new SqliteJobStore({ path })
  const JOBS = 300
  for (let i = 0; i < JOBS; i++) {
    await store.create({ id: `job-${String(i).padStart(4, '0')}`, kind: 'copy', spec: {}, progress: {} })
  }
  const owners = ['proc-a', 'proc-b']
  const children = owners.map((owner) => fork(join(ROOT, 'test/state/sqlite-claim-worker.ts'), [path, owner],
    { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  t.teardown(() => { for (const c of children) if (c.exitCode === null) c.kill() })
  // Only a bound on a hung worker.
  const budget = setTimeout(() => { for (const c of children) c.kill() }, PROCESS_BUDGET_MS)
  t.teardown(() => { clearTimeout(budget) })
  const message = async (child: (typeof children)[number]) => await new Promise<unknown>((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => { reject(new Error(`worker exited (${String(code)}) without an answer`)) })
  })
  await Promise.all(children.map(async (c) => { t.equal(await message(c), 'ready') }))
  const answers = children.map(message)
  for (const c of children) c.send('go')
  const claims = (await Promise.all(answers)) as Array<{ claimed: string[] }>

  const all = claims.flatMap((c) => c.claimed)
  t.equal(all.length, JOBS, 'every job claimed')
  t.equal(new Set(all).size, JOBS, 'none twice')
  t.comment(`claims per process: ${claims.map((c) => c.claimed.length).join(', ')}`)
  const misleased: string[] = []
  for (const [i, c] of claims.entries()) {
    for (const id of c.claimed) if ((await store.get(id))?.lease?.owner !== owners[i]) misleased.push(id)
  }
  t.same(misleased, [], 'each job is leased to the process that claimed it')
  await store.close()
})

t.test('writes wait for another process\'s write lock (the busy timeout), then fail; reads do not wait', async (t) => {
  const path = join(tempDir(t), 'jobs.db')
  const store = new SqliteJobStore({ path, busyTimeoutMs: 50 })
  t.teardown(async () => { await store.close() })
  await store.create({ id: 'a', kind: 'copy', spec: {}, progress: {} })
  const other = new DatabaseSync(path)
  t.teardown(() => { if (other.isOpen) other.close() })
  other.exec('BEGIN IMMEDIATE')
  await t.rejects(store.claim('r1', 1000), { message: /database is locked/ }, 'claim waits for the lock, then fails')
  await t.rejects(store.update('a', 1, { progress: { done: 1 } }), { message: /database is locked/ })
  await t.rejects(store.heartbeat('a', 'r1', 1000), { message: /database is locked/ })
  t.same(await store.get('a').then((j) => j?.version), 1, 'reads go on (WAL)')
  other.exec('ROLLBACK')
  t.equal((await store.claim('r1', 1000))?.id, 'a', 'and once the lock is free, it is claimed')
})

t.test('putItems of many entries is one transaction: all or nothing', async (t) => {
  const store = new SqliteLedgerStore({ path: ':memory:' })
  t.teardown(async () => { await store.close() })
  const entry = { state: 'copied' as const, sourceFolderId: 'a', targetFolderId: 'b', size: 1 }
  const bad = { ...entry, state: undefined as unknown as 'copied' }
  await t.rejects(store.putItems('j', { s1: entry, s2: entry, s3: bad }))
  t.same(await store.getItems('j', ['s1', 's2']), {}, 'nothing of a failed call is kept')
})

t.test('a file of the previous schema (idempotency keys only) is migrated, its keys kept', async (t) => {
  const path = join(tempDir(t), 'v1.db')
  const old = new DatabaseSync(path)
  migrateSqlite(old, path, SQLITE_MIGRATIONS.slice(0, 1))
  old.prepare('INSERT INTO idempotency_keys (key, fingerprint, lease, record, bytes, expires_at, changed_at) ' +
    'VALUES (?, ?, NULL, ?, 0, ?, 0)').run('k', 'fp', JSON.stringify({ status: 201, headers: {}, body: 'kept' }),
    Date.now() + 60_000)
  old.close()
  const stores = openStateStores({ kind: 'sqlite', path }, { ttlMs: 60_000, leaseMs: 60_000 })
  t.teardown(async () => { await stores.close() })
  t.same(await stores.idempotency.begin('k', 'fp'),
    { status: 'replay', record: { status: 201, headers: {}, body: 'kept' } })
  t.equal((await stores.jobs.create({ id: 'j', kind: 'copy', spec: {}, progress: {} })).version, 1, 'jobs work')
  const check = new DatabaseSync(path)
  t.teardown(() => { check.close() })
  t.same({ ...check.prepare('PRAGMA user_version').get() }, { user_version: SQLITE_MIGRATIONS.length })
})

t.test('a file of schema 2 with ledger rows is migrated: findTargets finds them through an index', async (t) => {
  const path = join(tempDir(t), 'v2.db')
  const old = new DatabaseSync(path)
  migrateSqlite(old, path, SQLITE_MIGRATIONS.slice(0, 2))
  const row = old.prepare('INSERT INTO ledger_items (job_id, source_id, state, search_key, entry) ' +
    'VALUES (?, ?, ?, ?, ?)')
  for (let i = 0; i < 50; i++) {
    row.run('j', `s${i}`, 'copied', null,
      JSON.stringify({ state: 'copied', targetId: `t${i}`, sourceFolderId: 'a', targetFolderId: 'b', size: 1 }))
  }
  old.close()
  const ledger = new SqliteLedgerStore({ path })
  t.teardown(async () => { await ledger.close() })
  t.same((await ledger.findTargets('j', ['t0', 't49', 't50', 'x'])).sort(), ['t0', 't49'], 'rows written before')
  const check = new DatabaseSync(path)
  t.teardown(() => { check.close() })
  const plan = check.prepare('EXPLAIN QUERY PLAN SELECT 1 AS found FROM ledger_items WHERE job_id = ? AND ' +
    "json_extract(entry, '$.targetId') = ? LIMIT 1").all('j', 't0') as Array<{ detail: string }>
  t.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX ledger_items_target_id/,
    'a look-up in the index, no scan of the job\'s entries')
})
