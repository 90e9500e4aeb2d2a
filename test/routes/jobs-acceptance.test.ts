/**
 * Issue 10's acceptance test at full size: a copy job from an EWS mailbox into a Graph mailbox, a tree four levels
 * deep with 1,010 items. The target tree and every item's stream match the source (compared in the simulators'
 * store, byte for byte); a second run copies 0 items. With 10% faults injected on both sides (every kind whose
 * outcome the gateway can know), failed items are retried by `:run` until a pass ends clean, and the end state is
 * the same, each item exactly once. Prints the copy rate (items/s) of each run; asserts no time.
 */
import t, { type Test } from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import {
  inboxChild, onlyFolderNamed, post, seedTree, treeContent, until, type JobView
} from '../helpers/copy-jobs.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
/** Below alice's Inbox: four levels, 1,010 items. */
const TREE: Array<[string, number]> = [
  ['Acceptance', 250], ['Acceptance/Alpha', 250], ['Acceptance/Alpha/Deep', 150], ['Acceptance/Alpha/Deep/Deeper', 100],
  ['Acceptance/Beta', 260]
]
const ITEMS = TREE.reduce((n, [, c]) => n + c, 0)

/** The target holds the source tree, each folder exactly the source folder's items, byte for byte. */
function sameEndState (t: Test, gw: TestGateway): void {
  const store = gw.sims.store
  const want = treeContent(store, onlyFolderNamed(store, EWS, 'Acceptance'))
  const got = treeContent(store, onlyFolderNamed(store, GRAPH, 'Acceptance'))
  t.same([...got.keys()], [...want.keys()], 'the target tree is the source tree')
  let same = 0
  for (const [path, items] of want) {
    const copy = got.get(path) ?? []
    t.equal(copy.length, items.length, `${path}: ${items.length} items, each once`)
    if (copy.length === items.length && copy.every((d, i) => d === items[i])) same += items.length
  }
  t.equal(same, ITEMS, 'every item\'s stream matches its source')
}

function rate (job: JobView, ms: number): string {
  return `${job.totals.done} items in ${(ms / 1000).toFixed(1)} s (${(job.totals.done * 1000 / ms).toFixed(0)} items/s)`
}

async function start (gw: TestGateway): Promise<string> {
  seedTree(gw.sims.store, EWS, TREE)
  const folder = await inboxChild(gw.app, EWS, 'Acceptance')
  const res = await post(gw.app, '/jobs',
    { source: { mailbox: EWS, folder, subtree: true }, target: { mailbox: GRAPH } })
  if (res.statusCode !== 202) throw new Error(res.body)
  return json<{ id: string }>(res).id
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
  t.match(again.totals, { planned: 0, done: 0, updated: 0, deleted: 0, moved: 0, failed: 0 }, 'the second run copies 0 items')
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
