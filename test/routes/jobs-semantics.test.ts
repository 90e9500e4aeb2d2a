/**
 * What a copy job copies where, over the simulators: folder names holding '/' are copied as they are (the job's
 * paths escape them); a job whose target lies in its own source is refused at creation (422
 * MBG_ERR_JOB_TARGET_IN_SOURCE), disjoint folders of one mailbox are not; and a job into a target folder that holds
 * copies already (another job's, a deleted job's) records them as copied (`matched`) instead of copying again.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { inboxChild, onlyFolderNamed, post, seedTree, treeContent, until, type JobView } from '../helpers/copy-jobs.js'
import { itemStream } from '../helpers/items.js'
import { displayNameOf } from '../../src/service/jobs/types.js'

type App = TestGateway['app']
type Job = Omit<JobView, 'totals' | 'folders'> & {
  totals: JobView['totals'] & { matched: number }
  folders: Array<JobView['folders'][number] & { matched: number, action?: string }>
  plan?: { items: number, foldersToCreate: string[] }
}

const EWS = MAILBOXES.ews.primary
const BOB = MAILBOXES.ews.other
const GRAPH = MAILBOXES.graph.primary

async function run (app: App, body: object): Promise<Job> {
  const res = await post(app, '/jobs', body)
  if (res.statusCode !== 202) throw new Error(`POST /jobs: ${res.statusCode} ${res.body}`)
  return await until(app, json<Job>(res).id) as Job
}

/** The public id of a folder below `parentId` (a public id or well-known name) of `mailbox`, by display name. */
async function childOf (app: App, mailbox: string, parentId: string, name: string): Promise<string> {
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await app.inject({
    method: 'GET',
    url: `/mailboxes/${encodeURIComponent(mailbox)}/folders?parentId=${encodeURIComponent(parentId)}&pageSize=1000`
  }))
  const id = list.folders.find((f) => f.displayName === name)?.id
  if (id === undefined) throw new Error(`no folder ${name} below ${parentId}`)
  return id
}

t.test('folder names holding "/" and "%": created as they are, paths escaped', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const ids = seedTree(store, EWS, [['Slashes', 2]])
  const ab = store.createFolder(ids.get('Slashes') as string, 'a/b')
  for (let i = 0; i < 3; i++) store.createItem(ab.id, itemStream(`a/b #${i}`, 200))
  const off = store.createFolder(ab.id, '50% off')
  store.createItem(off.id, itemStream('50% off #0', 200))
  const b = store.createFolder(ids.get('Slashes') as string, 'b')
  store.createItem(b.id, itemStream('b #0', 200))

  const plan = await run(gw.app, {
    source: { mailbox: EWS, folder: await inboxChild(gw.app, EWS, 'Slashes') }, target: { mailbox: GRAPH }, dryRun: true
  })
  t.same(plan.plan?.foldersToCreate.sort(), ['Slashes', 'Slashes/a%2Fb', 'Slashes/a%2Fb/50%25 off', 'Slashes/b'],
    'the plan names each folder by its escaped path')
  const job = await run(gw.app, {
    source: { mailbox: EWS, folder: await inboxChild(gw.app, EWS, 'Slashes') }, target: { mailbox: GRAPH }
  })
  t.equal(job.state, 'completed')
  t.equal(job.totals.done, 7)
  t.same(job.folders.map((f) => f.path).sort(), ['Slashes', 'Slashes/a%2Fb', 'Slashes/a%2Fb/50%25 off', 'Slashes/b'])
  const source = treeContent(store, onlyFolderNamed(store, EWS, 'Slashes'))
  const target = treeContent(store, onlyFolderNamed(store, GRAPH, 'Slashes'))
  t.same([...target.keys()].sort(), ['Slashes', 'Slashes/a/b', 'Slashes/a/b/50% off', 'Slashes/b'],
    'the target folders carry the source names, "a/b" one folder beside "b"')
  t.same(target, source, 'each target folder holds its source folder\'s items')
})

t.test('progress saved before display names were kept: the name is the path\'s last part', async (t) => {
  t.equal(displayNameOf({ path: 'Projects/Alpha' }), 'Alpha')
  t.equal(displayNameOf({ path: 'Projects/a%2Fb', displayName: 'a/b' }), 'a/b')
})

t.test('a target inside its own source is refused; disjoint folders of one mailbox are not', async (t) => {
  const gw = await buildTestGateway(t)
  seedTree(gw.sims.store, EWS, [['Loop', 2], ['Loop/Child', 1], ['Loop/Child/Grand', 1], ['Other', 1]])
  const loop = await inboxChild(gw.app, EWS, 'Loop')
  const child = await childOf(gw.app, EWS, loop, 'Child')
  const grand = await childOf(gw.app, EWS, child, 'Grand')
  const other = await inboxChild(gw.app, EWS, 'Other')
  const inbox = json<{ id: string }>(await gw.app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders/inbox`
  })).id

  const refused: Array<[string, object]> = [
    ['the whole mailbox into itself', { source: { mailbox: EWS }, target: { mailbox: EWS } }],
    ['the root into a folder of it',
      { source: { mailbox: EWS, folder: 'root' }, target: { mailbox: EWS, folder: other } }],
    ['a folder into itself', { source: { mailbox: EWS, folder: loop }, target: { mailbox: EWS, folder: loop } }],
    ['a subtree into a folder two levels below it',
      { source: { mailbox: EWS, folder: loop }, target: { mailbox: EWS, folder: grand } }],
    ['the Inbox (well-known name) into a folder below it',
      { source: { mailbox: EWS, folder: 'inbox' }, target: { mailbox: EWS, folder: loop } }],
    ['the Inbox (by id) into the Inbox (well-known name)',
      { source: { mailbox: EWS, folder: inbox }, target: { mailbox: EWS, folder: 'INBOX' } }],
    ['the Inbox with no target folder (mapped to itself)',
      { source: { mailbox: EWS, folder: inbox }, target: { mailbox: EWS } }],
    ['the mailbox by its address and by its id', { source: { mailbox: EWS }, target: { mailbox: EWS.toUpperCase() } }]
  ]
  for (const [what, body] of refused) {
    const res = await post(gw.app, '/jobs', body)
    t.equal(res.statusCode, 422, `${what}: 422`)
    t.equal(json<{ code: string }>(res).code, 'MBG_ERR_JOB_TARGET_IN_SOURCE', `${what}: the code says why`)
  }
  // A whole mailbox below a folder is a shape no copy implements: refused before any overlap is looked at.
  const below = await post(gw.app, '/jobs', { source: { mailbox: EWS }, target: { mailbox: EWS, folder: other } })
  t.equal(below.statusCode, 400, 'the whole mailbox into a folder of it: 400')
  const listed = json<{ jobs: unknown[] }>(await gw.app.inject({ method: 'GET', url: '/jobs' }))
  t.equal(listed.jobs.length, 0, 'no job was created')

  const allowed: Array<[string, object]> = [
    ['a folder into a disjoint one',
      { source: { mailbox: EWS, folder: loop }, target: { mailbox: EWS, folder: other } }],
    ['a folder without its subtree into its subfolder',
      { source: { mailbox: EWS, folder: loop, subtree: false }, target: { mailbox: EWS, folder: child } }],
    ['a folder below the Inbox with no target folder (a new folder below the root)',
      { source: { mailbox: EWS, folder: child }, target: { mailbox: EWS } }],
    ['a folder into the folder above it',
      { source: { mailbox: EWS, folder: child }, target: { mailbox: EWS, folder: loop } }],
    ['the Inbox into another mailbox\'s Inbox', { source: { mailbox: EWS, folder: 'inbox' }, target: { mailbox: BOB } }]
  ]
  for (const [what, body] of allowed) {
    const res = await post(gw.app, '/jobs', { ...body, dryRun: true })
    t.equal(res.statusCode, 202, `${what}: accepted`)
    if (res.statusCode === 202) t.equal((await until(gw.app, json<Job>(res).id)).state, 'completed', `${what}: planned`)
  }
  const job = await run(gw.app, { source: { mailbox: EWS, folder: loop }, target: { mailbox: EWS, folder: other } })
  t.equal(job.state, 'completed')
  t.equal(job.totals.done, 4, 'a disjoint copy in one mailbox runs')
  const again = await post(gw.app, `/jobs/${job.id}:run`)
  t.equal(again.statusCode, 200)
  t.equal((await until(gw.app, job.id)).totals.done, 0, 'and does not grow')
})

t.test('the primary mailbox and the archive of one address: ids of one used through the other are no way around',
  async (t) => {
    const gw = await buildTestGateway(t)
    const mailboxes = json<{ mailboxes: Array<{ id: string, address: string, kind: string }> }>(
      await gw.app.inject({ method: 'GET', url: '/mailboxes?pageSize=100' })).mailboxes
    const archive = mailboxes.find((m) => m.address === EWS && m.kind === 'archive')?.id as string
    t.ok(archive, 'alice has an archive')
    const folderOf = async (mailbox: string, ref: string): Promise<string> => json<{ id: string }>(
      await gw.app.inject({ method: 'GET', url: `/mailboxes/${encodeURIComponent(mailbox)}/folders/${ref}` })).id
    const archiveInbox = await folderOf(archive, 'inbox')
    const primaryInbox = await folderOf(EWS, 'inbox')
    const refused: Array<[string, object]> = [
      ['the archive Inbox (named through the primary) into the archive Inbox',
        {
          source: { mailbox: EWS, folder: archiveInbox, subtree: false },
          target: { mailbox: archive, folder: 'inbox' }
        }],
      ['the primary Inbox (named through the archive) into the primary Inbox',
        {
          source: { mailbox: archive, folder: primaryInbox, subtree: false },
          target: { mailbox: EWS, folder: 'inbox' }
        }],
      ['an archive folder (through the primary) into the archive, no target folder',
        { source: { mailbox: EWS, folder: archiveInbox }, target: { mailbox: archive } }]
    ]
    for (const [what, body] of refused) {
      const res = await post(gw.app, '/jobs', body)
      t.equal(res.statusCode, 422, `${what}: ${res.body}`)
      t.equal(json<{ code: string }>(res).code, 'MBG_ERR_JOB_TARGET_IN_SOURCE', what)
    }
    const res = await post(gw.app, '/jobs',
      { source: { mailbox: EWS, folder: 'inbox' }, target: { mailbox: archive }, dryRun: true })
    t.equal(res.statusCode, 202, `the primary Inbox into the archive: accepted (${res.body})`)
    const whole = await post(gw.app, '/jobs', { source: { mailbox: EWS }, target: { mailbox: archive }, dryRun: true })
    t.equal(whole.statusCode, 202, `the whole primary mailbox into its archive: accepted (${whole.body})`)
  })

t.test('a job into a target that holds copies already: matched by search key, not copied again', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const ids = seedTree(store, EWS, [['Twice', 20], ['Twice/Sub', 10]])
  // Two source items with one search key (an item copied on the source): two target items, one of them a match.
  const first = store.itemsIn(ids.get('Twice') as string)[0]
  store.createItem(ids.get('Twice') as string, first.blob())
  const spec = { source: { mailbox: EWS, folder: await inboxChild(gw.app, EWS, 'Twice') }, target: { mailbox: GRAPH } }
  const sourceTree = (): Map<string, string[]> => treeContent(store, onlyFolderNamed(store, EWS, 'Twice'))
  const targetTree = (): Map<string, string[]> => treeContent(store, onlyFolderNamed(store, GRAPH, 'Twice'))

  const one = await run(gw.app, spec)
  t.equal(one.totals.done, 31)
  t.equal(one.totals.matched, 0, 'into folders it creates, the first job matches nothing')
  t.same(targetTree(), sourceTree())

  const two = await run(gw.app, spec)
  t.equal(two.state, 'completed')
  t.equal(two.totals.done, 0, 'a second job with the same source and target copies nothing')
  t.equal(two.totals.matched, 31, 'it finds every item in the target')
  t.same(two.folders.map((f) => f.action), ['existing', 'existing'])
  t.same(targetTree(), sourceTree(), 'each item is there once')

  // The target lost some items (deleted there, or never copied): a new job copies those only.
  const targetTwice = onlyFolderNamed(store, GRAPH, 'Twice')
  const gone = store.itemsIn(targetTwice).slice(0, 5)
  for (const item of gone) store.deleteItem(item.id)
  const plan = await run(gw.app, { ...spec, dryRun: true })
  t.equal(plan.plan?.items, 5, 'a dry run plans only the items the target lacks')
  t.equal(plan.totals.matched, 26)
  const three = await run(gw.app, spec)
  t.equal(three.totals.done, 5)
  t.equal(three.totals.matched, 26)
  t.same(targetTree(), sourceTree(), 'each item is there once again')
  const verified = await post(gw.app, `/jobs/${three.id}:verify`)
  t.equal(verified.statusCode, 202)
  const graded = await until(gw.app, three.id) as Job & { verification?: { grade: string } }
  t.equal(graded.verification?.grade, 'Perfect')
  // Its next pass runs from its own ledger: nothing copied, nothing matched.
  t.equal((await post(gw.app, `/jobs/${three.id}:run`)).statusCode, 200)
  const rerun = await until(gw.app, three.id) as Job
  t.equal(rerun.totals.done, 0)
  t.equal(rerun.totals.matched, 0)
  t.same(targetTree(), sourceTree())
})
