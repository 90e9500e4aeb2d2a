/**
 * Issue 10's acceptance test at full size: a copy job from an EWS mailbox into a Graph mailbox, a tree four levels
 * deep with 1,010 items. The target tree and every item's stream match the source (compared in the simulators'
 * store, byte for byte); a second run copies 0 items. With 10% faults injected on both sides (every kind whose
 * outcome the gateway can know), failed items are retried by `:run` until a pass ends clean, and the end state is
 * the same, each item exactly once. Then delta passes: after dozens of edits, deletions, creations and moves
 * between folders (some moved items edited too) on every level of the source, `:run` makes the target the source
 * again (per folder the same items by search key, byte for byte, each once) and the job counts what changed; the
 * same with 10% faults and `:run` until clean; and EWS → EWS, where moves are real moves on the target. A
 * verification after each end state grades it Perfect, and after one target item is deleted, no longer Perfect
 * with 1 missing. Prints the copy rate (items/s) of each run; asserts no time.
 */
import t, { type Test } from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import {
  inboxChild, onlyFolderNamed, post, seedTree, treeContent, until, type JobView
} from '../helpers/copy-jobs.js'
import { itemStream } from '../helpers/items.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
/** Below alice's Inbox: four levels, 1,010 items. */
const TREE: Array<[string, number]> = [
  ['Acceptance', 250], ['Acceptance/Alpha', 250], ['Acceptance/Alpha/Deep', 150], ['Acceptance/Alpha/Deep/Deeper', 100],
  ['Acceptance/Beta', 260]
]
const ITEMS = TREE.reduce((n, [, c]) => n + c, 0)

/**
 * The target holds the source tree, each folder exactly the source folder's items (by search key, each once),
 * byte for byte; `items`: how many the source tree holds.
 */
function sameEndState (t: Test, gw: TestGateway, target: string = GRAPH, items = ITEMS): void {
  const store = gw.sims.store
  const sourceRoot = onlyFolderNamed(store, EWS, 'Acceptance')
  const targetRoot = onlyFolderNamed(store, target, 'Acceptance')
  const want = treeContent(store, sourceRoot)
  const got = treeContent(store, targetRoot)
  t.same([...got.keys()], [...want.keys()], 'the target tree is the source tree')
  const wantKeys = searchKeys(store, sourceRoot)
  const gotKeys = searchKeys(store, targetRoot)
  let same = 0
  let total = 0
  for (const [path, streams] of want) {
    total += streams.length
    const copy = got.get(path) ?? []
    t.equal(copy.length, streams.length, `${path}: ${streams.length} items, each once`)
    t.same(gotKeys.get(path), wantKeys.get(path), `${path}: the same items by search key`)
    if (copy.length === streams.length && copy.every((d, i) => d === streams[i])) same += streams.length
  }
  t.equal(total, items, `the source holds ${items} items`)
  t.equal(same, items, 'every item\'s stream matches its source')
}

/** Below store folder `rootId`: path from the root folder's name → its items' search keys (hex), sorted. */
function searchKeys (store: MailboxStore, rootId: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const walk = (id: string, path: string): void => {
    out.set(path, store.itemsIn(id).map((i) => i.searchKey.toString('hex')).sort())
    for (const c of store.children(id)) walk(c.id, `${path}/${c.displayName}`)
  }
  walk(rootId, store.requireFolder(rootId).displayName)
  return out
}

function rate (job: JobView, ms: number): string {
  return `${job.totals.done} items in ${(ms / 1000).toFixed(1)} s (${(job.totals.done * 1000 / ms).toFixed(0)} items/s)`
}

/** Seeds the source tree and starts the job; `ids`: each path's store folder id in the source. */
async function start (gw: TestGateway, target = GRAPH): Promise<string> {
  return (await startJob(gw, target)).id
}

async function startJob (gw: TestGateway, target: string): Promise<{ id: string, ids: Map<string, string> }> {
  const ids = seedTree(gw.sims.store, EWS, TREE)
  const folder = await inboxChild(gw.app, EWS, 'Acceptance')
  const res = await post(gw.app, '/jobs',
    { source: { mailbox: EWS, folder, subtree: true }, target: { mailbox: target } })
  if (res.statusCode !== 202) throw new Error(res.body)
  return { id: json<{ id: string }>(res).id, ids }
}

t.test(`EWS → Graph, ${ITEMS} items four levels deep: the copy matches; a second run copies 0`, async (t) => {
  const gw = await buildTestGateway(t)
  const started = performance.now()
  const id = await start(gw)
  const done = await until(gw.app, id)
  t.comment(`first pass: ${rate(done, performance.now() - started)}`)
  t.equal(done.state, 'completed', JSON.stringify(done.error ?? done.failures.slice(0, 3)))
  t.same(done.failures, [])
  t.match(done.totals, { expected: ITEMS, planned: ITEMS, done: ITEMS, failed: 0, skipped: 0 })
  sameEndState(t, gw)

  const items = gw.sims.store.items.size
  const folders = gw.sims.store.folders.size
  t.equal((await post(gw.app, `/jobs/${id}:run`)).statusCode, 200)
  const again = await until(gw.app, id)
  t.equal(again.state, 'completed')
  t.match(again.totals, { planned: 0, done: 0, updated: 0, deleted: 0, moved: 0, failed: 0 },
    'the second run copies 0 items')
  t.equal(gw.sims.store.items.size, items, 'no item added')
  t.equal(gw.sims.store.folders.size, folders, 'no folder added')
})

t.test('with 10% faults on both sides, `:run` until clean ends in the same state', async (t) => {
  // One retry per call: faults reach the job's failures often enough for `:run` to have work.
  const gw = await buildTestGateway(t, {
    configure: (config) => { config.policy = { ...config.policy, maxAttempts: 2 } }
  })
  const { sims } = gw
  // The source is only read: every kind of fault. The target: faults after which the gateway knows nothing was
  // done, on writes; every kind on reads (a lost answer to a write is an unknown outcome, reconciled elsewhere).
  sims.ews.faults.plan.configure({
    seed: 7,
    rules: [{
      rate: 0.1,
      kinds: ['serverBusy', 'throttle', 'unavailable', 'serverError', 'resetBefore', 'resetAfter', 'truncatedAfter'],
      // Mostly faults a retry is charged for (a job waits out throttling answers for free).
      weights: [1, 1, 2, 2, 2, 2, 2],
      backOffMs: 10,
      retryAfter: 'decimal',
      retryAfterSec: 0.05
    }]
  })
  sims.graph.faults.plan.configure({
    seed: 11,
    rules: [
      {
        operations: ['createFolder', 'importItem'],
        rate: 0.1,
        kinds: ['throttle', 'unavailable', 'expiredSession'],
        weights: [2, 6, 2],
        retryAfter: 'decimal',
        retryAfterSec: 0.05
      },
      {
        operations: ['getExchangeSettings', 'listFolders', 'getFolder', 'listItems', 'delta', 'createImportSession'],
        rate: 0.1,
        kinds: ['throttle', 'unavailable', 'serverError', 'resetBefore', 'resetAfter', 'truncatedAfter'],
        retryAfter: 'decimal',
        retryAfterSec: 0.05
      }
    ]
  })
  const started = performance.now()
  const id = await start(gw)
  let job = await until(gw.app, id)
  let copied = job.totals.done
  const failedPerPass = [job.totals.failed + (job.error !== undefined ? 1 : 0)]
  for (let pass = 2; job.state !== 'completed' || job.totals.failed > 0; pass++) {
    if (pass > 10) break
    const res = await post(gw.app, `/jobs/${id}:run`)
    t.equal(res.statusCode, 200, res.body)
    job = await until(gw.app, id)
    copied += job.totals.done
    failedPerPass.push(job.totals.failed + (job.error !== undefined ? 1 : 0))
  }
  t.comment(`with faults: ${copied} items in ${((performance.now() - started) / 1000).toFixed(1)} s over ` +
    `${failedPerPass.length} passes; failures per pass ${JSON.stringify(failedPerPass)}`)
  t.equal(job.state, 'completed', JSON.stringify(job.error ?? job.failures.slice(0, 3)))
  t.equal(job.totals.failed, 0, 'the last pass ended clean')
  t.equal(copied, ITEMS, 'over all passes each item was copied once')
  t.ok(failedPerPass.length > 1, 'faults reached the job, and `:run` retried them')
  t.ok(Object.values(sims.ews.stats.faults).some((n) => (n ?? 0) > 0), 'EWS faults fired')
  t.ok(Object.values(sims.graph.stats.faults).some((n) => (n ?? 0) > 0), 'Graph faults fired')
  sims.ews.faults.plan.clear()
  sims.graph.faults.plan.clear()
  sameEndState(t, gw)
})

interface Counts { done: number, updated: number, deleted: number, moved: number }
type DeltaJob = Omit<JobView, 'totals' | 'folders'> & {
  totals: JobView['totals'] & Counts
  folders: Array<JobView['folders'][number] & Partial<Counts>>
  verification?: {
    grade: string
    folders: Array<{ path: string, missing: number, extra: number, sizeMismatch: number, unverifiable: number }>
  }
}

/** Per folder of the source tree: items edited, deleted, moved out (plain, and edited first), created. */
const EDITS = 8
const DELETES = 6
const MOVES = 6
const EDITED_MOVES = 2
const CREATES = 6
const CHANGED: Counts = {
  done: CREATES * TREE.length,
  updated: EDITS * TREE.length,
  deleted: DELETES * TREE.length,
  moved: (MOVES + EDITED_MOVES) * TREE.length
}

/**
 * Changes the source tree the way a mailbox's owner does between two passes, on every level: in each folder
 * EDITS items get new content, DELETES are deleted, MOVES are moved into the next folder of TREE and
 * EDITED_MOVES edited and then moved into the one after it, and CREATES new items arrive. Returns what a delta
 * pass should count per folder path (moves count in the folder they went to).
 */
function changeSource (store: MailboxStore, ids: Map<string, string>): Map<string, Counts> {
  const paths = TREE.map(([p]) => p)
  const idOf = (path: string): string => ids.get(path) as string
  const before = new Map(paths.map((p) => [p, store.itemsIn(idOf(p))]))
  const want = new Map(paths.map((p) => [p, { done: 0, updated: 0, deleted: 0, moved: 0 }]))
  const count = (path: string, k: keyof Counts): void => { (want.get(path) as Counts)[k]++ }
  const edit = (id: string, subject: string, j: number): void => {
    store.updateItem(id, itemStream(`${subject} edited`, 120 + 13 * j))
  }
  paths.forEach((path, k) => {
    const items = before.get(path) as ReturnType<MailboxStore['itemsIn']>
    let i = 0
    for (let j = 0; j < EDITS; j++, i++) { edit(items[i].id, items[i].subject ?? '', j); count(path, 'updated') }
    for (let j = 0; j < DELETES; j++, i++) { store.deleteItem(items[i].id); count(path, 'deleted') }
    const next = paths[(k + 1) % paths.length]
    for (let j = 0; j < MOVES; j++, i++) { store.moveItem(items[i].id, idOf(next)); count(next, 'moved') }
    const after = paths[(k + 2) % paths.length]
    for (let j = 0; j < EDITED_MOVES; j++, i++) {
      edit(items[i].id, items[i].subject ?? '', 50 + j)
      store.moveItem(items[i].id, idOf(after))
      count(after, 'moved')
    }
    for (let j = 0; j < CREATES; j++) {
      store.createItem(idOf(path), itemStream(`${EWS} ${path} new #${j}`, 300 + 41 * j))
      count(path, 'done')
    }
  })
  return want
}

/**
 * Counts the store writes that land in the copied tree of mailbox `smtp` (items created, moved into it, updated
 * in place; a soft delete's copy in the Recoverable Items is none of them).
 */
function targetWrites (store: MailboxStore, smtp: string): { created: number, moved: number, updated: number } {
  const root = onlyFolderNamed(store, smtp, 'Acceptance')
  const tree = new Set([root, ...store.descendants(root).map((f) => f.id)])
  const writes = { created: 0, moved: 0, updated: 0 }
  const { createItem, moveItem, updateItem } = store
  const mine = (folderId: string): boolean => tree.has(folderId)
  store.createItem = (...args: Parameters<MailboxStore['createItem']>) => {
    if (mine(args[0])) writes.created++
    return createItem.apply(store, args)
  }
  store.moveItem = (...args: Parameters<MailboxStore['moveItem']>) => {
    if (mine(args[1])) writes.moved++
    return moveItem.apply(store, args)
  }
  store.updateItem = (...args: Parameters<MailboxStore['updateItem']>) => {
    if (mine(store.items.get(args[0])?.folderId ?? '')) writes.updated++
    return updateItem.apply(store, args)
  }
  return writes
}

async function runPass (t: Test, gw: TestGateway, id: string): Promise<DeltaJob> {
  const res = await post(gw.app, `/jobs/${id}:run`)
  t.equal(res.statusCode, 200, res.body)
  return await until(gw.app, id) as DeltaJob
}

async function verify (t: Test, gw: TestGateway, id: string): Promise<NonNullable<DeltaJob['verification']>> {
  const res = await post(gw.app, `/jobs/${id}:verify`)
  t.equal(res.statusCode, 202, res.body)
  const job = await until(gw.app, id) as DeltaJob
  t.equal(job.state, 'completed', 'the job is back to completed after verifying')
  if (job.verification === undefined) throw new Error('no verification')
  return job.verification
}

function sum (folders: Array<{ missing: number, extra: number, sizeMismatch: number, unverifiable: number }>):
{ missing: number, extra: number, sizeMismatch: number, unverifiable: number } {
  const out = { missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0 }
  for (const f of folders) {
    out.missing += f.missing
    out.extra += f.extra
    out.sizeMismatch += f.sizeMismatch
    out.unverifiable += f.unverifiable
  }
  return out
}

/** A verification grades the end state Perfect; with one target item deleted, not Perfect, 1 missing there. */
async function verifyEndState (t: Test, gw: TestGateway, id: string, target: string): Promise<void> {
  const perfect = await verify(t, gw, id)
  t.equal(perfect.grade, 'Perfect', JSON.stringify(perfect.folders.filter((f) => f.missing + f.extra > 0)))
  t.same(sum(perfect.folders), { missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0 }, 'nothing differs')
  t.equal(perfect.folders.length, TREE.length, 'every folder compared')

  const store = gw.sims.store
  const guid = store.mailboxBySmtp(target)?.guid
  const deeper = [...store.folders.values()].find((f) => f.mailboxGuid === guid && f.displayName === 'Deeper')
  store.deleteItem(store.itemsIn(deeper?.id as string)[3].id)
  const short = await verify(t, gw, id)
  t.not(short.grade, 'Perfect', `one target item deleted: ${short.grade}`)
  t.same(sum(short.folders), { missing: 1, extra: 0, sizeMismatch: 0, unverifiable: 0 }, 'missing 1')
  t.match(short.folders.find((f) => f.missing > 0), { path: 'Acceptance/Alpha/Deep/Deeper', missing: 1 })
}

/** The first pass copies the tree, clean. */
async function firstPass (t: Test, gw: TestGateway, target: string): Promise<{ id: string, ids: Map<string, string> }> {
  const started = performance.now()
  const job = await startJob(gw, target)
  const done = await until(gw.app, job.id)
  t.comment(`first pass: ${rate(done, performance.now() - started)}`)
  t.equal(done.state, 'completed', JSON.stringify(done.error ?? done.failures.slice(0, 3)))
  t.equal(done.totals.done, ITEMS, 'the first pass copies every item')
  return job
}

function countsPerFolder (t: Test, job: DeltaJob, want: Map<string, Counts>): void {
  for (const [path, counts] of want) {
    const f = job.folders.find((x) => x.path === path)
    t.match({ done: f?.done, updated: f?.updated ?? 0, deleted: f?.deleted ?? 0, moved: f?.moved ?? 0 }, counts,
      `${path}: the changes counted`)
  }
}

const TARGETS: Array<[string, string]> = [['EWS → Graph', GRAPH], ['EWS → EWS', MAILBOXES.ews.other]]
for (const [label, target] of TARGETS) {
  t.test(`${label}: a delta pass after ${CHANGED.updated} edits, ${CHANGED.deleted} deletions, ` +
    `${CHANGED.done} creations and ${CHANGED.moved} moves on four levels makes the target the source again`,
  async (t) => {
    const gw = await buildTestGateway(t)
    const store = gw.sims.store
    const { id, ids } = await firstPass(t, gw, target)
    const want = changeSource(store, ids)
    const writes = targetWrites(store, target)
    const started = performance.now()
    const job = await runPass(t, gw, id)
    t.comment(`delta pass: ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `target writes ${JSON.stringify(writes)}`)
    t.equal(job.state, 'completed', JSON.stringify(job.error ?? job.failures.slice(0, 3)))
    t.equal(job.pass, 2)
    t.same(job.failures, [])
    t.match(job.totals, { ...CHANGED, failed: 0 }, 'the job counts what changed')
    countsPerFolder(t, job, want)
    sameEndState(t, gw, target)
    const moves = CHANGED.moved
    if (target === GRAPH) {
      t.same(writes, { created: CHANGED.done + moves, moved: 0, updated: CHANGED.updated },
        'Graph: no move; moved items deleted and imported again, changed ones updated in place')
    } else {
      // Moved and changed: moved along, then the moved copy replaced by the item as it is now.
      t.same(writes, { created: CHANGED.done + EDITED_MOVES * TREE.length, moved: moves, updated: CHANGED.updated },
        'EWS: moved items moved on the target')
    }
    const again = await runPass(t, gw, id)
    t.match(again.totals, { planned: 0, done: 0, updated: 0, deleted: 0, moved: 0, failed: 0 },
      'then a pass does nothing')
    await verifyEndState(t, gw, id, target)
  })
}

t.test('the same delta pass with 10% faults: `:run` until clean ends in the same state', async (t) => {
  const gw = await buildTestGateway(t, {
    configure: (config) => { config.policy = { ...config.policy, maxAttempts: 2 } }
  })
  const { sims } = gw
  const { id, ids } = await firstPass(t, gw, GRAPH)
  changeSource(sims.store, ids)
  sims.ews.faults.plan.configure({
    seed: 17,
    rules: [{
      rate: 0.1,
      kinds: ['serverBusy', 'throttle', 'unavailable', 'serverError', 'resetBefore', 'resetAfter', 'truncatedAfter'],
      weights: [1, 1, 2, 2, 2, 2, 2],
      backOffMs: 10,
      retryAfter: 'decimal',
      retryAfterSec: 0.05
    }]
  })
  sims.graph.faults.plan.configure({
    seed: 19,
    rules: [
      {
        // A write refused with a server error: the gateway cannot know it was not done (never sent blindly again).
        operations: ['importItem'],
        rate: 0.1,
        kinds: ['throttle', 'unavailable', 'expiredSession', 'serverError'],
        weights: [1, 3, 1, 5],
        retryAfter: 'decimal',
        retryAfterSec: 0.05
      },
      {
        // A delete answered or not: deleting again finds the item gone, which counts as deleted.
        operations: ['deleteItem'],
        rate: 0.1,
        kinds: ['throttle', 'unavailable', 'serverError', 'resetBefore', 'resetAfter'],
        retryAfter: 'decimal',
        retryAfterSec: 0.05
      },
      {
        operations: ['getExchangeSettings', 'listFolders', 'getFolder', 'listItems', 'delta', 'createImportSession'],
        rate: 0.1,
        kinds: ['throttle', 'unavailable', 'serverError', 'resetBefore', 'resetAfter', 'truncatedAfter'],
        retryAfter: 'decimal',
        retryAfterSec: 0.05
      }
    ]
  })
  const started = performance.now()
  const counted: Counts = { done: 0, updated: 0, deleted: 0, moved: 0 }
  const failedPerPass: number[] = []
  let job: DeltaJob | undefined
  for (let pass = 2; pass <= 40; pass++) {
    job = await runPass(t, gw, id)
    for (const k of Object.keys(counted) as Array<keyof Counts>) counted[k] += job.totals[k]
    failedPerPass.push(job.totals.failed + (job.error !== undefined ? 1 : 0))
    if (job.state === 'completed' && job.totals.failed === 0) break
  }
  t.comment(`delta with faults: ${JSON.stringify(counted)} in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
    `over ${failedPerPass.length} passes; failures per pass ${JSON.stringify(failedPerPass)}`)
  t.equal(job?.state, 'completed', JSON.stringify(job?.error ?? job?.failures.slice(0, 3)))
  t.equal(job?.totals.failed, 0, 'the last pass ended clean')
  t.ok(failedPerPass.length > 1, 'faults reached the job, and `:run` retried them')
  t.ok(Object.values(sims.ews.stats.faults).some((n) => (n ?? 0) > 0), 'EWS faults fired')
  t.ok(Object.values(sims.graph.stats.faults).some((n) => (n ?? 0) > 0), 'Graph faults fired')
  sims.ews.faults.plan.clear()
  sims.graph.faults.plan.clear()
  // A change whose target write failed with nothing left in the target (a moved item's import refused after its
  // old copy was deleted) is copied anew by a later pass and counted there as `done`: per kind the counts may
  // shift, each change is counted once.
  t.equal(counted.deleted, CHANGED.deleted, 'over all passes each deletion was counted once')
  t.equal(counted.done + counted.updated + counted.moved, CHANGED.done + CHANGED.updated + CHANGED.moved,
    'over all passes each creation, edit and move was counted once')
  sameEndState(t, gw)
  await verifyEndState(t, gw, id, GRAPH)
})
