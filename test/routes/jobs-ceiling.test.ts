/**
 * Copy jobs at the backend's ceiling: a Graph simulator throttling at a low request budget, two jobs copying into
 * the same target mailbox at once. The simulator answers 429s (so the ceiling was reached), yet no 429 reaches a
 * job's failures; every item is copied exactly once; and the jobs share the mailbox's budget fairly: when the last
 * item of the first job arrives at the simulator, at least a third of the other job's items have arrived. Counts in
 * the simulator's order of arrival (its store's change sequence), not times nor snapshots of the jobs' progress: a
 * job's `totals` move only at its checkpoints (after each page of a folder's feed), so a snapshot says little of how
 * far a job is, and when the test looks depends on the machine's load.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'
import { getJob, inboxChild, onlyFolderNamed, post, seedTree, treeContent, until } from '../helpers/copy-jobs.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
const TREES: Array<Array<[string, number]>> = [
  [['CeilingA', 30], ['CeilingA/Sub', 10]],
  [['CeilingB', 30], ['CeilingB/Sub', 10]]
]
const ITEMS = 40

/**
 * When the items created in folder `rootId` of mailbox `guid` (and below it) since change `since` arrived: their
 * places in the store's change sequence, ascending.
 */
function arrivals (store: MailboxStore, guid: string, rootId: string, since: number): number[] {
  return [rootId, ...store.descendants(rootId).map((f) => f.id)]
    .flatMap((folderId) => store.changesSince(guid, since, { kind: 'item', folderId }))
    .filter((c) => c.op === 'create')
    .map((c) => c.seq)
    .sort((a, b) => a - b)
}

t.test('two jobs into one Graph mailbox at a low ceiling: no failures, each item once, fair shares', async (t) => {
  const gw = await buildTestGateway(t, {
    // Far below Outlook's 10,000 per 10 minutes, and unknown to the gateway (its budget is Outlook's): the
    // simulator's 429s are what holds the jobs back.
    graphThrottling: { requestsPerMailbox: 5, windowSec: 0.5 },
    // One retry of an ordinary failure: a throttled call of a job must not spend the call's attempts.
    configure: (config) => { config.policy = { ...config.policy, maxAttempts: 2 } }
  })
  const { app, sims } = gw
  for (const tree of TREES) seedTree(sims.store, EWS, tree)
  const sources = await Promise.all(TREES.map(async (tree) => await inboxChild(app, EWS, tree[0][0])))
  const target = sims.store.mailboxBySmtp(GRAPH)?.guid as string
  const since = sims.store.mailboxBySmtp(GRAPH)?.log.at(-1)?.seq ?? 0
  // Each job is paused as soon as it is made, and both are resumed together: on a loaded machine the second
  // request could otherwise come so late that the first job were done before the second began.
  const ids: string[] = []
  for (const folder of sources) {
    const res = await post(app, '/jobs',
      { source: { mailbox: EWS, folder, subtree: true }, target: { mailbox: GRAPH } })
    t.equal(res.statusCode, 202, res.body)
    const id = json<{ id: string }>(res).id
    ids.push(id)
    t.equal((await post(app, `/jobs/${id}:pause`)).statusCode, 200, 'paused until both are made')
  }
  for (const id of ids) {
    // A job paused while running stops at its next checkpoint: wait until it has let go before resuming it.
    while ((await getJob(app, id)).state !== 'paused') await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await Promise.all(ids.map(async (id) => { t.equal((await post(app, `/jobs/${id}:resume`)).statusCode, 200) }))

  const ended = await Promise.all(ids.map(async (id) => await until(app, id)))
  for (const job of ended) {
    t.equal(job.state, 'completed', JSON.stringify(job.error ?? job.failures.slice(0, 3)))
    t.same(job.failures, [], 'no 429 reached the job\'s failures')
    t.match(job.totals, { planned: ITEMS, done: ITEMS, failed: 0, skipped: 0 })
  }
  t.ok(sims.graph.stats.throttled > 0, `the simulator answered ${sims.graph.stats.throttled} 429s: the ceiling held`)
  t.equal(sims.graph.stats.concurrencyViolations, 0, 'the app\'s concurrency cap was never passed')
  // The job whose last item arrived first, and how many of the other job's items had arrived before it.
  const arrived = TREES.map((tree) =>
    arrivals(sims.store, target, onlyFolderNamed(sims.store, GRAPH, tree[0][0]), since))
  for (const [i, seqs] of arrived.entries()) t.equal(seqs.length, ITEMS, `${TREES[i][0][0]}: ${ITEMS} items arrived`)
  const first = arrived[0][ITEMS - 1] < arrived[1][ITEMS - 1] ? 0 : 1
  const other = arrived[1 - first].filter((seq) => seq < arrived[first][ITEMS - 1]).length
  t.ok(other >= ITEMS / 3,
    `when the last item of ${TREES[first][0][0]} arrived, ${other} of ${ITEMS} items of the other job had arrived`)

  for (const tree of TREES) {
    const name = tree[0][0]
    const want = treeContent(sims.store, onlyFolderNamed(sims.store, EWS, name))
    const got = treeContent(sims.store, onlyFolderNamed(sims.store, GRAPH, name))
    t.same([...got.keys()], [...want.keys()], `${name}: the target tree is the source tree`)
    for (const [path, items] of want) {
      t.equal(got.get(path)?.length, items.length, `${path}: ${items.length} items, each once`)
      t.ok(got.get(path)?.every((d, i) => d === items[i]), `${path}: every item's stream matches`)
    }
  }
})
