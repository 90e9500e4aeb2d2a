/**
 * Delta passes of copy jobs over the simulators, EWS → Graph and EWS → EWS: after a first pass, the source gets
 * new, changed, deleted and moved items; `:run` carries exactly those changes (the target then holds what the source
 * holds, each item once, with the same data), reports them in the counts, and on an EWS target moves the target
 * copies of moved items rather than importing them again; a store failing right after the target moved items leaves
 * them `moving`, and the next run finds them by search key instead of copying them again. A scheduled job is queued
 * again by the runner once its next pass is due by the runner's clock, and not once paused.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import { JobRunner, JobService, type JobView } from '../../src/service/jobs/index.js'
import type { ItemSummary, MailboxBackend } from '../../src/backends/mailbox-backend.js'
import type { MailboxService } from '../../src/service/mailbox-service.js'

const EWS = MAILBOXES.ews.primary
const RULES = { crossBackendImport: 'allow' } as const

/**
 * Search keys until every backend lists them (`ItemSummary.searchKey`): one derived from the subject (unique in
 * these tests) where the backend gave none. A move keeps the subject, as it keeps PR_SEARCH_KEY.
 */
function keyed (item: ItemSummary): ItemSummary {
  const given = (item as { searchKey?: string }).searchKey
  if (given !== undefined || item.subject === undefined) return item
  const searchKey = createHash('sha256').update(item.subject).digest().subarray(0, 16).toString('base64')
  return { ...item, searchKey } as ItemSummary
}

interface Calls { imports: { create: number, update: number }, moved: number, deleted: number }

/** The gateway's service, its backends wrapped: listings with search keys, and the target's writes counted. */
function instrument (service: MailboxService, target: string, calls: Calls): MailboxService {
  const wrap = (backend: MailboxBackend, counted: boolean): MailboxBackend => new Proxy(backend, {
    get (b, prop, receiver) {
      const value = Reflect.get(b, prop, receiver)
      if (prop === 'listItemChanges') {
        return async (...args: Parameters<MailboxBackend['listItemChanges']>) => {
          const page = await b.listItemChanges(...args)
          return { ...page, changes: page.changes.map((c) => c.item !== undefined ? { ...c, item: keyed(c.item) } : c) }
        }
      }
      if (prop === 'listItems') {
        return async (...args: Parameters<MailboxBackend['listItems']>) => {
          const page = await b.listItems(...args)
          return { ...page, values: page.values.map(keyed) }
        }
      }
      if (counted && prop === 'importBatch') {
        return async (...args: Parameters<MailboxBackend['importBatch']>) => {
          for (const i of args[1]) calls.imports[i.mode]++
          return await b.importBatch(...args)
        }
      }
      if (counted && prop === 'moveItems') {
        return async (...args: Parameters<MailboxBackend['moveItems']>) => {
          const r = await b.moveItems(...args)
          calls.moved += r.filter((x) => 'status' in x && x.status === 'moved').length
          return r
        }
      }
      if (counted && prop === 'deleteItems') {
        return async (...args: Parameters<MailboxBackend['deleteItems']>) => {
          const r = await b.deleteItems(...args)
          calls.deleted += r.filter((x) => 'status' in x && x.status === 'deleted').length
          return r
        }
      }
      return typeof value === 'function' ? value.bind(b) : value
    }
  })
  return new Proxy(service, {
    get (s, prop, receiver) {
      if (prop === 'resolve') {
        return async (...args: Parameters<MailboxService['resolve']>) => {
          const r = await s.resolve(...args)
          return { ...r, backend: wrap(r.backend, r.mailbox.address === target) }
        }
      }
      const value = Reflect.get(s, prop, receiver)
      return typeof value === 'function' ? value.bind(s) : value
    }
  })
}

async function until (jobs: JobService, id: string, states: string[]): Promise<JobView> {
  for (;;) {
    const job = await jobs.get(id)
    if (states.includes(job.state)) return job
    await sleep(20)
  }
}

/** Subject → stream bytes (base64) of the normal items of the folder named `name` in mailbox `smtp`. */
function contents (gw: TestGateway, smtp: string, name: string): Map<string, string[]> {
  const store = gw.sims.store
  const guid = store.mailboxBySmtp(smtp)?.guid
  const folder = [...store.folders.values()].find((f) => f.mailboxGuid === guid && f.displayName === name)
  const out = new Map<string, string[]>()
  if (folder === undefined) return out
  for (const item of store.itemsIn(folder.id)) {
    const list = out.get(item.subject ?? '') ?? []
    list.push(item.blob().toString('base64'))
    out.set(item.subject ?? '', list)
  }
  return out
}

for (const [label, targetAddress, targetType] of [
  ['EWS → Graph', MAILBOXES.graph.primary, 'graph'],
  ['EWS → EWS', MAILBOXES.ews.other, 'ews']
] as const) {
  t.test(`${label}: a delta pass carries new, changed, deleted and moved items, each once`, async (t) => {
    const gw = await buildTestGateway(t)
    const store = gw.sims.store
    const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
    const top = store.createFolder(inbox.id, 'DeltaTop')
    const child = store.createFolder(top.id, 'DeltaChild')
    const a = Array.from({ length: 8 }, (_, i) => store.createItem(top.id, itemStream(`top ${i}`, 200 + i)))
    Array.from({ length: 4 }, (_, i) => store.createItem(child.id, itemStream(`child ${i}`, 300 + i)))
    const calls: Calls = { imports: { create: 0, update: 0 }, moved: 0, deleted: 0 }
    const service = instrument(gw.app.mailboxService, targetAddress, calls)
    const jobStore = new MemoryJobStore()
    const ledger = new MemoryLedgerStore()
    const runner = new JobRunner({
      jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
    })
    const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
    runner.start()
    t.teardown(async () => { await runner.close() })
    const topId = (await gw.app.inject({ method: 'GET', url: `/mailboxes/${EWS}/folders?parentId=inbox` })).json()
      .folders.find((f: { displayName: string }) => f.displayName === 'DeltaTop').id as string
    const job = await jobs.create({ source: { mailbox: EWS, folder: topId }, target: { mailbox: targetAddress } })
    const first = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(first.state, 'completed', JSON.stringify(first.error))
    t.equal(first.totals.done, 12, 'pass 1 copies every item')
    const before = contents(gw, targetAddress, 'DeltaTop')
    const targetIdsBefore = new Set([...store.items.values()].map((i) => i.id))

    // On the source: 3 new, 2 changed, 2 deleted, 2 moved into the child folder.
    for (let i = 0; i < 3; i++) store.createItem(top.id, itemStream(`new ${i}`, 500 + i))
    store.updateItem(a[0].id, itemStream('top 0', 900))
    store.updateItem(a[1].id, itemStream('top 1', 901))
    store.deleteItem(a[2].id)
    store.deleteItem(a[3].id)
    store.moveItem(a[4].id, child.id)
    store.moveItem(a[5].id, child.id)
    calls.imports.create = 0
    calls.imports.update = 0

    await jobs.control(job.id, 'run')
    const second = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(second.state, 'completed', JSON.stringify(second.error))
    t.equal(second.pass, 2)
    t.match(second.totals, { done: 3, updated: 2, deleted: 2, moved: 2, failed: 0 }, 'the changes, counted')
    t.same(second.failures, [])
    const topCounts = second.folders.find((f) => f.path === 'DeltaTop')
    const childCounts = second.folders.find((f) => f.path === 'DeltaTop/DeltaChild')
    t.match(topCounts, { done: 3, updated: 2, deleted: 2, moved: 0 }, 'per folder: DeltaTop')
    t.match(childCounts, { done: 0, updated: 0, deleted: 0, moved: 2 }, 'per folder: DeltaChild (moved into it)')

    for (const name of ['DeltaTop', 'DeltaChild']) {
      const source = contents(gw, EWS, name)
      const target = contents(gw, targetAddress, name)
      t.same([...target.keys()].sort(), [...source.keys()].sort(), `${name}: the same items as the source`)
      for (const [subject, blobs] of target) {
        t.equal(blobs.length, 1, `${name}/${subject}: once`)
        t.equal(blobs[0], source.get(subject)?.[0], `${name}/${subject}: the same data`)
      }
    }
    t.not(contents(gw, targetAddress, 'DeltaTop').get('top 0')?.[0], before.get('top 0')?.[0], 'the change arrived')
    t.equal(calls.imports.update, 2, 'changes go as update-mode imports')
    if (targetType === 'ews') {
      t.equal(calls.moved, 2, 'the moved items were moved on the target')
      t.equal(calls.imports.create, 3, 'only the new items were imported')
      const moved = [...store.items.values()].filter((i) => i.subject === 'top 4' || i.subject === 'top 5')
      t.equal(moved.filter((i) => !targetIdsBefore.has(i.id)).length, 4, 'new ids on both sides (moves)')
    } else {
      t.equal(calls.moved, 0, 'a Graph target has no move')
      t.equal(calls.imports.create, 5, 'the new items, and the moved ones again (deleted from the old folder)')
    }
    t.equal(calls.deleted, targetType === 'ews' ? 2 : 4,
      'deleted on the target: the deleted items (and on Graph the moved ones)')

    // A third pass with no change on the source writes nothing.
    calls.imports.create = 0
    calls.imports.update = 0
    await jobs.control(job.id, 'run')
    const third = await until(jobs, job.id, ['completed', 'failed'])
    t.match(third.totals, { planned: 0, done: 0, updated: 0, deleted: 0, moved: 0, failed: 0 }, 'nothing to do')
    t.same(calls.imports, { create: 0, update: 0 })
  })
}

t.test('a changed item whose target copy is gone is imported again, once', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, 'Replace')
  const items = Array.from({ length: 3 }, (_, i) => store.createItem(top.id, itemStream(`r ${i}`, 100 + i)))
  const service = gw.app.mailboxService
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const runner = new JobRunner({ jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal })
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
  runner.start()
  t.teardown(async () => { await runner.close() })
  const target = MAILBOXES.graph.primary
  const topId = (await gw.app.inject({ method: 'GET', url: `/mailboxes/${EWS}/folders?parentId=inbox` })).json()
    .folders.find((f: { displayName: string }) => f.displayName === 'Replace').id as string
  const job = await jobs.create({ source: { mailbox: EWS, folder: topId }, target: { mailbox: target } })
  t.equal((await until(jobs, job.id, ['completed', 'failed'])).state, 'completed')
  const guid = store.mailboxBySmtp(target)?.guid
  const copies = [...store.folders.values()].find((f) => f.mailboxGuid === guid && f.displayName === 'Replace')
  // Copies in the target's folder (a soft-deleted one is in the recoverable items).
  const copyOf = (subject: string): string[] => store.itemsIn(copies?.id as string)
    .filter((i) => i.subject === subject).map((i) => i.id)
  // The target copy of r 0 goes away; the one of r 1 is changed on the target (its change key moves on).
  store.deleteItem(copyOf('r 0')[0])
  store.updateItem(copyOf('r 1')[0], itemStream('r 1', 50))
  store.updateItem(items[0].id, itemStream('r 0', 700))
  store.updateItem(items[1].id, itemStream('r 1', 701))
  await jobs.control(job.id, 'run')
  const done = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed')
  t.equal(done.totals.updated, 2)
  t.equal(done.totals.failed, 0, JSON.stringify(done.failures))
  for (const [i, s] of ['r 0', 'r 1'].entries()) {
    const found = copyOf(s)
    t.equal(found.length, 1, `${s}: one copy`)
    t.equal(store.items.get(found[0])?.blob().toString('base64'), store.items.get(items[i].id)?.blob()
      .toString('base64'), `${s}: the source's data`)
  }
})

t.test('a scheduled job: queued again once due by the runner\'s clock; paused, its schedule stops', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, 'Scheduled')
  store.createItem(top.id, itemStream('s 0', 100))
  let clock = 1_700_000_000_000
  const now = (): number => clock
  const service = gw.app.mailboxService
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  // A poll far away: the test looks for due jobs itself (queueDue), then wakes the runner.
  const runner = new JobRunner({
    jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 600_000, now
  })
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner, now })
  runner.start()
  t.teardown(async () => { await runner.close() })
  const topId = (await gw.app.inject({ method: 'GET', url: `/mailboxes/${EWS}/folders?parentId=inbox` })).json()
    .folders.find((f: { displayName: string }) => f.displayName === 'Scheduled').id as string
  const job = await jobs.create({
    source: { mailbox: EWS, folder: topId }, target: { mailbox: MAILBOXES.graph.primary }, delta: { everySeconds: 120 }
  })
  const first = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(first.state, 'completed')
  t.same(first.delta, { everySeconds: 120 })
  t.equal(first.nextPassAt, new Date(clock + 120_000).toISOString(), 'the next pass is due 120 s after the end')
  clock += 119_000
  t.equal(await runner.queueDue(), 0, 'not yet due')
  store.createItem(top.id, itemStream('s 1', 101))
  clock += 1_000
  t.equal(await runner.queueDue(), 1, 'due: queued')
  runner.notify()
  const second = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(second.pass, 2)
  t.equal(second.totals.done, 1, 'the delta pass copied the new item')
  t.equal(second.nextPassAt, new Date(clock + 120_000).toISOString())

  const paused = await jobs.control(job.id, 'pause')
  t.equal(paused.state, 'paused', 'a scheduled job between passes can be paused')
  clock += 600_000
  t.equal(await runner.queueDue(), 0, 'paused: its schedule stops')
  const resumed = await jobs.control(job.id, 'resume')
  t.equal(resumed.pass, 3, 'resumed between passes: the next pass')
  t.equal((await until(jobs, job.id, ['completed', 'failed'])).state, 'completed')
  t.equal((await jobs.control(job.id, 'cancel')).state, 'canceled', 'canceled between passes')
  clock += 600_000
  t.equal(await runner.queueDue(), 0, 'canceled: no more passes')

  const plain = await jobs.create({ source: { mailbox: EWS, folder: topId }, target: { mailbox: EWS }, dryRun: true })
  await until(jobs, plain.id, ['completed', 'failed'])
  await t.rejects(jobs.control(plain.id, 'pause'), { code: 'MBG_ERR_JOB_STATE' }, 'an unscheduled job is over')

  const bad = await gw.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: { source: { mailbox: EWS }, target: { mailbox: MAILBOXES.graph.primary }, delta: { everySeconds: 59 } }
  })
  t.equal(bad.statusCode, 400, 'everySeconds below 60: 400')
})

t.test('EWS → EWS: the store fails right after the target moved the items; the next run finds them, no copy twice',
  async (t) => {
    const gw = await buildTestGateway(t)
    const store = gw.sims.store
    const target = MAILBOXES.ews.other
    const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
    const top = store.createFolder(inbox.id, 'CrashTop')
    const child = store.createFolder(top.id, 'CrashChild')
    const a = Array.from({ length: 4 }, (_, i) => store.createItem(top.id, itemStream(`c ${i}`, 200 + i)))
    const calls: Calls = { imports: { create: 0, update: 0 }, moved: 0, deleted: 0 }
    const service = instrument(gw.app.mailboxService, target, calls)
    const jobStore = new MemoryJobStore()
    const inner = new MemoryLedgerStore()
    let armed = false
    // Once the target answered a move, the next ledger write fails: as a store gone at the worst moment.
    const ledger = new Proxy(inner, {
      get (l, prop, receiver) {
        const value = Reflect.get(l, prop, receiver)
        if (prop === 'putItems') {
          return async (...args: Parameters<MemoryLedgerStore['putItems']>) => {
            if (armed && calls.moved > 0) { armed = false; throw new Error('store gone') }
            return await l.putItems(...args)
          }
        }
        return typeof value === 'function' ? value.bind(l) : value
      }
    })
    const runner = new JobRunner({
      jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
    })
    const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
    runner.start()
    t.teardown(async () => { await runner.close() })
    const topId = (await gw.app.inject({ method: 'GET', url: `/mailboxes/${EWS}/folders?parentId=inbox` })).json()
      .folders.find((f: { displayName: string }) => f.displayName === 'CrashTop').id as string
    const job = await jobs.create({ source: { mailbox: EWS, folder: topId }, target: { mailbox: target } })
    t.equal((await until(jobs, job.id, ['completed', 'failed'])).state, 'completed')

    store.moveItem(a[0].id, child.id)
    store.moveItem(a[1].id, child.id)
    calls.imports.create = 0
    armed = true
    await jobs.control(job.id, 'run')
    const broken = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(broken.state, 'failed', 'the pass failed after the move')
    t.equal(calls.moved, 2, 'the target moved both')
    t.same((await inner.countItems(job.id)).moving, 2, 'the ledger still has them as moving')

    await jobs.control(job.id, 'run')
    const again = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(again.state, 'completed', JSON.stringify(again.error))
    t.equal(again.totals.moved, 2, 'found where the move put them')
    t.equal(calls.moved, 2, 'not moved again')
    t.equal(calls.imports.create, 0, 'nothing imported')
    for (const name of ['CrashTop', 'CrashChild']) {
      const source = contents(gw, EWS, name)
      const copies = contents(gw, target, name)
      t.same([...copies.keys()].sort(), [...source.keys()].sort(), `${name}: the same items as the source`)
      t.ok([...copies.values()].every((b) => b.length === 1), `${name}: each once`)
    }
    const counts = await inner.countItems(job.id)
    t.match(counts, { copied: 4, moving: 0, orphaned: 0, pending: 0, sending: 0 }, 'the ledger settled')
  })

t.test('Graph target: deleting the old copy of a moved item fails; the next run moves it, never updates it in place',
  async (t) => {
    const gw = await buildTestGateway(t)
    const store = gw.sims.store
    const target = MAILBOXES.graph.primary
    const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
    const top = store.createFolder(inbox.id, 'MoveFailTop')
    const child = store.createFolder(top.id, 'MoveFailChild')
    const a = Array.from({ length: 3 }, (_, i) => store.createItem(top.id, itemStream(`m ${i}`, 200 + i)))
    const service = gw.app.mailboxService
    const jobStore = new MemoryJobStore()
    const ledger = new MemoryLedgerStore()
    const runner = new JobRunner({
      jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
    })
    const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
    runner.start()
    t.teardown(async () => { await runner.close() })
    const topId = (await gw.app.inject({ method: 'GET', url: `/mailboxes/${EWS}/folders?parentId=inbox` })).json()
      .folders.find((f: { displayName: string }) => f.displayName === 'MoveFailTop').id as string
    const job = await jobs.create({ source: { mailbox: EWS, folder: topId }, target: { mailbox: target } })
    t.equal((await until(jobs, job.id, ['completed', 'failed'])).state, 'completed')

    store.moveItem(a[0].id, child.id)
    store.moveItem(a[1].id, child.id)
    // The first target delete goes through (late); every later one is refused (a known outcome: nothing deleted).
    gw.sims.graph.faults.plan.configure({
      rules: [
        { operations: ['deleteItem'], rate: 1, kinds: ['slow'], delayMs: 1, count: 1 },
        { operations: ['deleteItem'], rate: 1, kinds: ['serverError'] }
      ]
    })
    await jobs.control(job.id, 'run')
    const refused = await until(jobs, job.id, ['completed', 'failed'])
    t.match(refused.totals, { moved: 1, failed: 1 }, 'one moved, the other refused')
    gw.sims.graph.faults.plan.clear()

    await jobs.control(job.id, 'run')
    const again = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(again.state, 'completed', JSON.stringify(again.error))
    t.match(again.totals, { moved: 1, updated: 0, failed: 0 }, 'moved on the next run, not updated in place')
    for (const name of ['MoveFailTop', 'MoveFailChild']) {
      const source = contents(gw, EWS, name)
      const copies = contents(gw, target, name)
      t.same([...copies.keys()].sort(), [...source.keys()].sort(), `${name}: the same items as the source`)
      t.ok([...copies.values()].every((b) => b.length === 1), `${name}: each once`)
    }
    t.match(await ledger.countItems(job.id), { copied: 3, moving: 0, orphaned: 0, failed: 0 }, 'the ledger settled')
  })
