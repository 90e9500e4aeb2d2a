import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Worker } from 'node:worker_threads'
import t, { type Test } from 'tap'
import { migrateSqlite, SQLITE_MIGRATIONS } from '../../src/state/migrations/sqlite.js'
import { SqliteIdempotencyStore, type SqliteIdempotencyOptions } from '../../src/state/sqlite.js'
import { idempotencyStoreContract, LEASE_MS, TTL_MS } from './idempotency-store-contract.js'

/** A fresh folder for database files, removed after the test. */
function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mbg-sqlite-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** A store on `path`, closed after the test. */
function open (t: Test, options: SqliteIdempotencyOptions): SqliteIdempotencyStore {
  const store = new SqliteIdempotencyStore(options)
  t.teardown(async () => { await store.close() })
  return store
}

const record = (body: string) => ({ status: 201, headers: { location: '/x' }, body })

t.test('contract, on a file', async (t) => {
  const dir = tempDir(t)
  let n = 0
  idempotencyStoreContract(t, (clock) => new SqliteIdempotencyStore({
    path: join(dir, `contract-${n++}.db`), ttlMs: TTL_MS, leaseMs: LEASE_MS, now: () => clock.now
  }))
})

t.test('the file is created with its folder, in WAL mode, at the last schema version', async (t) => {
  const path = join(tempDir(t), 'data', 'state.db')
  const store = open(t, { path })
  t.equal(store.path, path)
  t.ok(existsSync(path))
  await store.close()
  const db = new DatabaseSync(path)
  t.teardown(() => { db.close() })
  t.same({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' })
  t.same({ ...db.prepare('PRAGMA user_version').get() }, { user_version: SQLITE_MIGRATIONS.length })
})

t.test('a record survives closing and reopening the file', async (t) => {
  const path = join(tempDir(t), 'state.db')
  let now = 1_000_000
  const first = new SqliteIdempotencyStore({ path, ttlMs: TTL_MS, leaseMs: LEASE_MS, now: () => now })
  const done = await first.begin('done', 'fp')
  const held = await first.begin('held', 'fp')
  if (done.status !== 'started' || held.status !== 'started') throw new Error('expected started')
  t.equal(await first.complete('done', done.lease, record('{"id":"AAMk"}')), true)
  await first.close()
  await first.close()
  await t.rejects(first.begin('done', 'fp'), 'a closed store refuses work')

  const second = open(t, { path, ttlMs: TTL_MS, leaseMs: LEASE_MS, now: () => now })
  t.same(await second.begin('done', 'fp'), { status: 'replay', record: record('{"id":"AAMk"}') })
  t.same(await second.begin('held', 'fp'), { status: 'inProgress', leaseExpiresAt: held.leaseExpiresAt },
    'a lease outlives the process that took it, until it runs out')
  t.equal(await second.complete('held', held.lease, record('late')), true, 'and can be completed by its lease')
  now += TTL_MS
  t.equal((await second.begin('done', 'fp')).status, 'started', 'the time to live counts across reopening')
})

t.test('two stores on one file agree: one begin starts, the other finds it in progress', async (t) => {
  const path = join(tempDir(t), 'state.db')
  const a = open(t, { path, leaseMs: LEASE_MS })
  const b = open(t, { path, leaseMs: LEASE_MS })
  const [first, second] = await Promise.all([a.begin('k', 'fp'), b.begin('k', 'fp')])
  t.equal(first.status, 'started')
  t.equal(second.status, 'inProgress')
  if (first.status !== 'started') return
  t.same(second, { status: 'inProgress', leaseExpiresAt: first.leaseExpiresAt })
  t.same(await b.begin('k', 'other'), { status: 'mismatch' })
  t.equal(await b.complete('k', 'not-the-lease', record('x')), false)
  t.equal(await a.complete('k', first.lease, record('x')), true)
  t.same(await b.begin('k', 'fp'), { status: 'replay', record: record('x') }, 'b sees what a recorded')
  const next = await b.begin('k2', 'fp')
  if (next.status !== 'started') throw new Error('expected started')
  await b.abandon('k2', next.lease)
  t.equal((await a.begin('k2', 'fp')).status, 'started', 'a sees what b freed')
})

t.test('expired keys are deleted by the sweep, not only when met', async (t) => {
  let now = 0
  const store = open(t, { path: join(tempDir(t), 'state.db'), ttlMs: 1000, leaseMs: 1000, now: () => now })
  for (const key of ['a', 'b']) {
    const begun = await store.begin(key, 'fp')
    if (begun.status === 'started') await store.complete(key, begun.lease, record(key))
  }
  await store.begin('lapsing', 'fp')
  t.equal(store.size, 3)
  now += 59_000
  await store.begin('other', 'fp')
  t.equal(store.size, 4, 'no sweep within a minute of the last')
  now += 1000
  await store.begin('another', 'fp')
  t.equal(store.size, 1, 'only the new key is left (the one before it lapsed too)')
})

t.test('past maxEntries the oldest completed keys go first; keys in progress never', async (t) => {
  let now = 0
  const store = open(t, { path: join(tempDir(t), 'state.db'), maxEntries: 3, now: () => now })
  t.equal((await store.begin('held', 'fp')).status, 'started')
  for (const key of ['a', 'b', 'c']) {
    const begun = await store.begin(key, 'fp')
    if (begun.status === 'started') await store.complete(key, begun.lease, record(key))
    now += 1
  }
  t.equal(store.size, 4, 'the bound is checked by the sweep')
  now += 60_000
  t.equal((await store.begin('held', 'fp')).status, 'inProgress', 'kept')
  t.equal(store.size, 3)
  t.equal((await store.begin('c', 'fp')).status, 'replay', 'newer ones stay')
  t.equal((await store.begin('b', 'fp')).status, 'replay')
  t.equal((await store.begin('a', 'fp')).status, 'started', 'the oldest record went (a runs again)')
})

t.test('past maxBytes the oldest completed keys go first', async (t) => {
  let now = 0
  const store = open(t, { path: join(tempDir(t), 'state.db'), maxBytes: 40, now: () => now })
  for (const key of ['a', 'b', 'c']) {
    const begun = await store.begin(key, 'fp')
    // 10 body characters + 'location' and '/x': 20 each.
    if (begun.status === 'started') await store.complete(key, begun.lease, record('0123456789'))
    now += 1
  }
  now += 60_000
  t.equal((await store.begin('c', 'fp')).status, 'replay')
  t.equal((await store.begin('b', 'fp')).status, 'replay')
  t.equal((await store.begin('a', 'fp')).status, 'started', 'a dropped to stay within 40')
})

t.test('a file migrated by a newer gateway is refused, unchanged', async (t) => {
  const path = join(tempDir(t), 'state.db')
  const db = new DatabaseSync(path)
  db.exec(`PRAGMA user_version = ${SQLITE_MIGRATIONS.length + 1}`)
  db.close()
  t.throws(() => new SqliteIdempotencyStore({ path }),
    { message: new RegExp(`state store .*state\\.db has schema version ${SQLITE_MIGRATIONS.length + 1}, newer`) })
  const again = new DatabaseSync(path)
  t.teardown(() => { again.close() })
  t.same({ ...again.prepare('PRAGMA user_version').get() }, { user_version: SQLITE_MIGRATIONS.length + 1 })
})

t.test('migrations: run once each, in order; a failing one is rolled back whole', async (t) => {
  const db = new DatabaseSync(':memory:')
  t.teardown(() => { db.close() })
  const steps = [
    { version: 1, name: 'one', sql: 'CREATE TABLE one (x INTEGER) STRICT' },
    { version: 2, name: 'two', sql: 'CREATE TABLE two (x INTEGER) STRICT' }
  ]
  t.same(migrateSqlite(db, 'mem', steps.slice(0, 1)), { from: 0, to: 1 })
  t.same(migrateSqlite(db, 'mem', steps), { from: 1, to: 2 })
  t.same(migrateSqlite(db, 'mem', steps), { from: 2, to: 2 }, 'nothing left to do')
  const broken = [...steps, { version: 3, name: 'three', sql: 'CREATE TABLE three (x INTEGER); SELECT nonsense()' }]
  t.throws(() => migrateSqlite(db, 'mem', broken), { message: /state store mem: migration 3 \(three\) failed/ })
  t.same({ ...db.prepare('PRAGMA user_version').get() }, { user_version: 2 })
  t.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'three'").get(), undefined, 'no table three')
  t.throws(() => migrateSqlite(db, 'mem', [steps[1]]), { message: /version 2; expected 1/ })
})

t.test('a file that cannot be opened names itself', async (t) => {
  const dir = tempDir(t)
  t.throws(() => new SqliteIdempotencyStore({ path: dir }), { message: new RegExp(`^cannot open state store ${dir}`) })
})

t.test('stores on one file in parallel threads: each key is started exactly once', async (t) => {
  const path = join(tempDir(t), 'state.db')
  open(t, { path })
  const WORKERS = 2
  const keys = Array.from({ length: 500 }, (_, i) => `k${i}`)
  const barrier = new SharedArrayBuffer(8)
  new Int32Array(barrier)[0] = WORKERS
  const workers = Array.from({ length: WORKERS }, () =>
    new Worker(new URL('./sqlite-begin-worker.ts', import.meta.url), {
      workerData: { path, keys, workers: WORKERS, barrier }
    }))
  // A worker that fails leaves the others waiting at the barrier: they are stopped with the test.
  t.teardown(async () => { await Promise.all(workers.map(async (w) => await w.terminate())) })
  const runs = await Promise.all(workers.map(async (worker) => await new Promise<string[]>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', (code) => { reject(new Error(`worker exited (${code}) without an answer`)) })
  })))
  keys.forEach((key, i) => {
    const statuses = runs.map((r) => r[i]).sort()
    if (statuses.join() !== 'inProgress,started') t.fail(`${key}: ${statuses.join()}`)
  })
  t.equal(runs.flat().filter((s) => s === 'started').length, keys.length)
})
