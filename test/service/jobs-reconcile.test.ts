/**
 * Unknown import outcomes of a copy job, reconciled by search key, and the verification pass, over the simulators
 * (EWS → Graph) with the job runner and stores the test holds: a Graph import whose answer is lost after the item
 * landed is found in the target (copied, there once); one lost before it landed is sent again (there once); a
 * `sending` entry left by a crash is settled the same way; without search keys nothing is sent blindly again and
 * the job reports it. Verification of a completed job is Perfect; after one target item is deleted and one
 * altered, it reports them and is not.
 *
 * Search keys: the port's listings carry `ItemSummary.searchKey` where the backend returns it. Here a thin wrapper
 * of the port gives every listed item a key derived from its subject (the seeded subjects are unique, and a copy
 * keeps its subject as it keeps its PR_SEARCH_KEY), or takes every key away (a backend that does not return it),
 * so these tests hold whatever the simulators return.
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import type { ItemSummary, MailboxBackend } from '../../src/backends/mailbox-backend.js'
import type { MailboxService } from '../../src/service/mailbox-service.js'
import type { MailboxTarget } from '../../src/service/items.js'
import { JobRunner, JobService, type JobView } from '../../src/service/jobs/index.js'
import { fromPublicId } from '../../src/backends/graph/ids.js'
import { fromWireId } from '../../src/simulators/graph/ids.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
const RULES = { crossBackendImport: 'allow' } as const

type Keys = 'subject' | 'none'

/** `item` with the search key the test gives it (see the module comment). */
function keyed (item: ItemSummary, keys: Keys): ItemSummary {
  const { searchKey: _, ...rest } = item as ItemSummary & { searchKey?: string }
  if (keys === 'none' || item.subject === undefined) return rest as ItemSummary
  return { ...rest, searchKey: Buffer.from(item.subject).toString('base64') } as ItemSummary
}

/** The port with search keys on every listed item (item listings and change feeds). */
function withKeys (backend: MailboxBackend, keys: Keys): MailboxBackend {
  return new Proxy(backend, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (prop === 'listItems') {
        return async (...args: Parameters<MailboxBackend['listItems']>) => {
          const page = await target.listItems(...args)
          return { ...page, values: page.values.map((i) => keyed(i, keys)) }
        }
      }
      if (prop === 'listItemChanges') {
        return async (...args: Parameters<MailboxBackend['listItemChanges']>) => {
          const page = await target.listItemChanges(...args)
          return {
            ...page,
            changes: page.changes.map((c) => c.item !== undefined ? { ...c, item: keyed(c.item, keys) } : c)
          }
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

function keyedService (service: MailboxService, keys: Keys): MailboxService {
  return new Proxy(service, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (prop === 'resolve') {
        return async (...args: Parameters<MailboxService['resolve']>): Promise<MailboxTarget> => {
          const resolved = await target.resolve(...args)
          return { ...resolved, backend: withKeys(resolved.backend, keys) }
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/** A folder of `count` items below alice's Inbox; its public id. */
async function seed (gw: TestGateway, name: string, count: number): Promise<string> {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, name)
  for (let i = 0; i < count; i++) store.createItem(top.id, itemStream(`${name} ${i}`, 200 + i * 13))
  const url = `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  const res = await gw.app.inject({ method: 'GET', url })
  return (JSON.parse(res.body) as { folders: Array<{ id: string, displayName: string }> }).folders
    .find((f) => f.displayName === name)?.id as string
}

async function until (jobs: JobService, id: string, test: (j: JobView) => boolean): Promise<JobView> {
  for (;;) {
    const job = await jobs.get(id)
    if (test(job)) return job
    await sleep(20)
  }
}
const over = (j: JobView): boolean => j.state === 'completed' || j.state === 'failed'

/** The simulator store's id of an item the gateway names `publicId` in the Graph mailbox. */
const storeId = (publicId: string): string => fromWireId(fromPublicId(publicId))

/** Subjects of the Graph mailbox's items that start with `prefix`, from the store: each must be there once. */
function targetSubjects (gw: TestGateway, prefix: string): string[] {
  const guid = gw.sims.store.mailboxBySmtp(GRAPH)?.guid
  return [...gw.sims.store.items.values()]
    .filter((i) => i.mailboxGuid === guid && (i.subject ?? '').startsWith(prefix))
    .map((i) => i.subject ?? '')
}

interface Setup {
  gw: TestGateway
  jobs: JobService
  ledger: MemoryLedgerStore
  folder: string
}

async function setup (t: Test, name: string, count: number, keys: Keys = 'subject'): Promise<Setup> {
  const gw = await buildTestGateway(t)
  const folder = await seed(gw, name, count)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = keyedService(gw.app.mailboxService, keys)
  const runner = new JobRunner({
    jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
  })
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
  runner.start()
  t.teardown(async () => { await runner.close() })
  return { gw, jobs, ledger, folder }
}

async function ledgerStates (ledger: MemoryLedgerStore, jobId: string): Promise<Record<string, number>> {
  const counts = await ledger.countItems(jobId)
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))
}

t.test('a Graph import whose answer is lost after the item landed: found by search key, copied, there once',
  async (t) => {
    const { gw, jobs, ledger, folder } = await setup(t, 'Landed', 30)
    gw.sims.graph.faults.plan.configure({
      seed: 3, rules: [{ operations: ['importItem'], rate: 1, count: 1, kinds: ['resetAfter'] }]
    })
    const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
    const done = await until(jobs, job.id, over)
    t.equal(gw.sims.graph.stats.faults.resetAfter, 1, 'one answer was lost')
    t.equal(done.state, 'completed', JSON.stringify(done.failures))
    t.match(done.totals, { done: 29, reconciled: 1, resent: 0, unresolved: 0, failed: 0 })
    t.same(done.failures, [], 'nothing to report')
    t.same(await ledgerStates(ledger, job.id), { copied: 30 }, 'every entry copied')
    const subjects = targetSubjects(gw, 'Landed')
    t.equal(subjects.length, 30, 'every item in the target')
    t.equal(new Set(subjects).size, 30, 'each once')

    const again = await jobs.control(job.id, 'run')
    t.equal(again.pass, 2)
    const second = await until(jobs, job.id, over)
    t.match(second.totals, { done: 0, skipped: 0, reconciled: 0, failed: 0 }, 'the next pass copies nothing')
    t.equal(targetSubjects(gw, 'Landed').length, 30)
  })

t.test('a Graph import whose answer is lost before the item landed: certainly absent, sent again, there once',
  async (t) => {
    const { gw, jobs, ledger, folder } = await setup(t, 'Absent', 30)
    gw.sims.graph.faults.plan.configure({
      seed: 3, rules: [{ operations: ['importItem'], rate: 1, count: 1, kinds: ['resetBefore'] }]
    })
    const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
    const done = await until(jobs, job.id, over)
    t.equal(gw.sims.graph.stats.faults.resetBefore, 1, 'one import was cut before it was acted on')
    t.equal(done.state, 'completed', JSON.stringify(done.failures))
    t.match(done.totals, { done: 30, reconciled: 0, resent: 1, unresolved: 0, failed: 0 })
    t.same(await ledgerStates(ledger, job.id), { copied: 30 })
    const subjects = targetSubjects(gw, 'Absent')
    t.equal(subjects.length, 30, 'every item in the target')
    t.equal(new Set(subjects).size, 30, 'each once')
  })

t.test('`sending` entries left by a crash are reconciled before anything is sent again', async (t) => {
  const { gw, jobs, ledger, folder } = await setup(t, 'Crashed', 20)
  const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
  const first = await until(jobs, job.id, over)
  t.equal(first.totals.done, 20)
  // As a gateway killed mid-import leaves it: A's import landed, B's did not; both entries say `sending`.
  const all = (await ledger.listItems(job.id, { limit: 100 })).items
  const [a, b] = all
  const store = gw.sims.store
  const landed = store.requireItem(storeId(a.entry.targetId as string)).subject as string
  const lost = store.requireItem(storeId(b.entry.targetId as string)).subject as string
  store.deleteItem(storeId(b.entry.targetId as string))
  for (const { sourceId, entry } of [a, b]) {
    const { targetId: _, targetChangeKey: __, ...rest } = entry
    await ledger.putItems(job.id, { [sourceId]: { ...rest, state: 'sending' } })
  }
  t.equal(targetSubjects(gw, 'Crashed').length, 19, 'B is not in the target')

  await jobs.control(job.id, 'run')
  const done = await until(jobs, job.id, (j) => j.pass === 2 && over(j))
  t.equal(done.state, 'completed', JSON.stringify(done.failures))
  t.match(done.totals, { reconciled: 1, resent: 1, done: 1, unresolved: 0, failed: 0 })
  t.same(await ledgerStates(ledger, job.id), { copied: 20 })
  const entries = await ledger.getItems(job.id, [a.sourceId, b.sourceId])
  t.equal(store.requireItem(storeId(entries[a.sourceId].targetId as string)).subject, landed, 'A: the one that landed')
  t.equal(store.requireItem(storeId(entries[b.sourceId].targetId as string)).subject, lost, 'B: sent again')
  const subjects = targetSubjects(gw, 'Crashed')
  t.equal(subjects.length, 20, 'every item in the target')
  t.equal(new Set(subjects).size, 20, 'each once')
})

t.test('without search keys a lost answer stays unknown: reported, never sent blindly again', async (t) => {
  const { gw, jobs, ledger, folder } = await setup(t, 'Keyless', 20, 'none')
  gw.sims.graph.faults.plan.configure({
    seed: 3, rules: [{ operations: ['importItem'], rate: 1, count: 1, kinds: ['resetBefore'] }]
  })
  const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
  const done = await until(jobs, job.id, over)
  t.match(done.totals, { done: 19, reconciled: 0, resent: 0, unresolved: 1, failed: 1 })
  t.equal(done.failures.length, 1)
  t.equal(done.failures[0]?.code, 'MBG_ERR_OUTCOME_UNKNOWN', 'reported as an unknown outcome')
  t.same(await ledgerStates(ledger, job.id), { copied: 19, unknown: 1 })
  t.equal(targetSubjects(gw, 'Keyless').length, 19, 'not sent again (it had not landed: 19 there)')

  await jobs.control(job.id, 'run')
  const second = await until(jobs, job.id, (j) => j.pass === 2 && over(j))
  t.match(second.totals, { done: 0, unresolved: 1 }, 'the next pass does not send it either')
  t.equal(targetSubjects(gw, 'Keyless').length, 19)
})

t.test('a target listing that fails leaves the entry unknown and reported', async (t) => {
  const { gw, jobs, ledger, folder } = await setup(t, 'Unlisted', 10)
  gw.sims.graph.faults.plan.configure({
    seed: 3,
    rules: [
      { operations: ['importItem'], rate: 1, count: 1, kinds: ['resetAfter'] },
      { operations: ['listItems'], rate: 1, kinds: ['serverError'] }
    ]
  })
  const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
  const done = await until(jobs, job.id, over)
  t.match(done.totals, { done: 9, reconciled: 0, resent: 0, unresolved: 1, failed: 1 })
  t.match(done.failures[0], { code: 'MBG_ERR_OUTCOME_UNKNOWN', message: /could not be listed/ })
  t.same(await ledgerStates(ledger, job.id), { copied: 9, unknown: 1 })
  t.equal(targetSubjects(gw, 'Unlisted').length, 10, 'the item that landed is there once, not sent again')
})

t.test('verification: Perfect after a copy; one target item deleted and one altered: reported, not Perfect',
  async (t) => {
    const { gw, jobs, ledger, folder } = await setup(t, 'Verified', 40)
    const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH }, verify: true })
    const done = await until(jobs, job.id, (j) => over(j) && j.verification !== undefined)
    t.equal(done.state, 'completed')
    t.equal(done.phase, 'done')
    const v = done.verification
    t.equal(v?.grade, 'Perfect', JSON.stringify(v))
    t.equal(v?.folders.length, 1)
    t.match(v?.folders[0], { path: 'Verified', missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0 })
    t.equal(v?.folders[0].source.items, 40)
    t.same(v?.folders[0].target, v?.folders[0].source, 'the same items and bytes on both sides')

    const entries = (await ledger.listItems(job.id, { limit: 100 })).items
    const store = gw.sims.store
    store.deleteItem(storeId(entries[0].entry.targetId as string))
    const altered = store.requireItem(storeId(entries[1].entry.targetId as string))
    store.updateItem(altered.id, itemStream(altered.subject as string, altered.size + 500))
    const queued = await jobs.verify(job.id)
    t.equal(queued.state, 'queued')
    t.equal(queued.phase, 'verify')
    const again = await until(jobs, job.id, (j) => over(j) && j.phase !== 'verify')
    t.equal(again.state, 'completed', 'back to completed')
    t.match(again.verification?.folders[0], { missing: 1, extra: 0, sizeMismatch: 1, unverifiable: 0 })
    t.equal(again.verification?.folders[0].target.items, 39)
    t.equal(again.verification?.grade, 'Investigate', 'one of 40 missing: not Perfect')
    t.equal(again.totals.done, 40, 'the pass\'s counts are kept')
  })

/** A folder below carol's (Graph) Inbox holding one item per subject (mail it held before any job); its public id. */
async function targetFolder (gw: TestGateway, name: string, subjects: string[]): Promise<string> {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(GRAPH)?.guid as string, 'inbox')
  const folder = store.createFolder(inbox.id, name)
  subjects.forEach((subject, i) => store.createItem(folder.id, itemStream(subject, 300 + i)))
  const url = `/mailboxes/${encodeURIComponent(GRAPH)}/folders?parentId=inbox`
  const res = await gw.app.inject({ method: 'GET', url })
  return (JSON.parse(res.body) as { folders: Array<{ id: string, displayName: string }> }).folders
    .find((f) => f.displayName === name)?.id as string
}

/** The simulator store's item of alice's (EWS) with `subject`. */
function sourceItem (gw: TestGateway, subject: string): string {
  const guid = gw.sims.store.mailboxBySmtp(EWS)?.guid
  return [...gw.sims.store.items.values()].find((i) => i.mailboxGuid === guid && i.subject === subject)?.id as string
}

t.test('verification into a folder that held mail before: that mail is unrelated, not extra, and the grade holds',
  async (t) => {
    const { gw, jobs, ledger, folder } = await setup(t, 'Graded', 40)
    const before = ['Kept before 1', 'Kept before 2', 'Kept before 3']
    const into = await targetFolder(gw, 'Graded copy', before)
    const job = await jobs.create({
      source: { mailbox: EWS, folder }, target: { mailbox: GRAPH, folder: into }, verify: true
    })
    const done = await until(jobs, job.id, (j) => over(j) && j.verification !== undefined)
    t.equal(done.state, 'completed', JSON.stringify(done.failures))
    t.equal(done.totals.done, 40)
    const v = done.verification
    t.equal(v?.grade, 'Perfect', JSON.stringify(v))
    t.match(v?.folders[0], {
      path: 'Graded', missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0, unrelated: 3, target: { items: 43 }
    })
    t.match(v?.totals, { missing: 0, extra: 0, unrelated: 3, source: { items: 40 }, target: { items: 43 } })

    // A copy deleted on the target: missing, as before; the mail of before is still only unrelated.
    const entries = (await ledger.listItems(job.id, { limit: 100 })).items
    const store = gw.sims.store
    const [deleted, doubled] = [entries[0], entries[5]]
      .map((e) => store.requireItem(storeId(e.entry.targetId as string)))
    store.deleteItem(deleted.id)
    await jobs.verify(job.id)
    const short = await until(jobs, job.id, (j) => over(j) && j.phase !== 'verify')
    t.match(short.verification?.folders[0], { missing: 1, extra: 0, sizeMismatch: 0, unrelated: 3 })
    t.equal(short.verification?.grade, 'Investigate', 'one of 40 missing')

    // Two source items deleted (no delta pass since): their copies are the job's, with no source: extra. A second
    // copy of a third item, which the job did not write, has a source item's key: a duplicate, extra too.
    const gone = Array.from({ length: 40 }, (_, i) => `Graded ${i}`)
      .filter((s) => s !== deleted.subject && s !== doubled.subject).slice(0, 2)
    for (const subject of gone) store.deleteItem(sourceItem(gw, subject))
    store.createItem(doubled.folderId, itemStream(doubled.subject as string, doubled.size))
    await jobs.verify(job.id)
    const extra = await until(jobs, job.id, (j) => over(j) && j.phase !== 'verify')
    t.match(extra.verification?.folders[0], {
      source: { items: 38 }, target: { items: 43 }, missing: 1, extra: 3, sizeMismatch: 0, unrelated: 3
    })
    t.match(extra.verification?.totals, { missing: 1, extra: 3, unrelated: 3 })
    t.equal(extra.verification?.grade, 'Investigate')
  })
