/**
 * What a copy job's target cannot take, over the simulators: a dry run lists folders the target cannot hold (a
 * folder without a class on a Graph target, and what is below it), items above the target's `maxItemBytes`, and
 * folder-associated items the target cannot hold; a run reports the same per folder and per item and completes.
 * EWS to EWS, a job copies folder-associated items too, once. Audit records of job events carry the job id, and
 * the runner's writes are logged with it.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'

type App = TestGateway['app']
interface Assoc { count?: number, copied: number, failed: number, skipped: number, bytes: number, notCopied?: string }
interface JobBody {
  id: string
  state: string
  folders: Array<{
    path: string
    action?: string
    done: number
    failed: number
    error?: { code: string, message: string }
    associated?: Assoc
  }>
  failures: Array<{ sourceId: string, code: string, folder: string }>
  plan?: {
    foldersToCreate: string[]
    items: number
    tooLarge: Array<{ sourceId: string, folder: string, size: number }>
    foldersTargetCannotHold?: Array<{ path: string, code: string, reason: string }>
    associated?: { items: number, bytes: number, notCopied: number }
  }
}

const EWS = MAILBOXES.ews.primary
const BOB = MAILBOXES.ews.other
const GRAPH = MAILBOXES.graph.primary
/** The Graph backend's largest item in these tests (bytes). */
const MAX_ITEM = 40_000

/**
 * Below alice's Inbox: `name` (3 small items, one of 60 kB, one folder-associated item), `name/Plain` (no folder
 * class, 2 items) and `name/Plain/Under` (1 item). Returns the public id of `name`.
 */
async function seed (gw: TestGateway, name: string): Promise<string> {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, name)
  for (let i = 0; i < 3; i++) store.createItem(top.id, itemStream(`${name} ${i}`, 300 + i))
  store.createItem(top.id, itemStream(`${name} big`, 60_000))
  store.createItem(top.id, itemStream(`${name} view`, 100), { associated: true })
  const plain = store.createFolder(top.id, 'Plain', '')
  for (let i = 0; i < 2; i++) store.createItem(plain.id, itemStream(`${name} plain ${i}`, 200))
  const under = store.createFolder(plain.id, 'Under')
  store.createItem(under.id, itemStream(`${name} under`, 200))
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await gw.app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  }))
  return list.folders.find((f) => f.displayName === name)?.id as string
}

async function until (app: App, id: string): Promise<JobBody> {
  for (;;) {
    const job = json<JobBody>(await app.inject({ method: 'GET', url: `/jobs/${id}` }))
    if (['completed', 'failed', 'canceled'].includes(job.state)) return job
    await sleep(20)
  }
}

async function start (app: App, body: object): Promise<JobBody> {
  const res = await app.inject({ method: 'POST', url: '/jobs', payload: body })
  if (res.statusCode !== 202) throw new Error(`POST /jobs: ${res.statusCode} ${res.body}`)
  return await until(app, json<JobBody>(res).id)
}

async function gateway (t: Parameters<typeof buildTestGateway>[0]): Promise<TestGateway> {
  return await buildTestGateway(t, {
    configure: (config) => { (config.backends['exo-graph'] as { maxItemBytes?: number }).maxItemBytes = MAX_ITEM }
  })
}

t.test('a dry run into Graph lists the folders, items and folder-associated items the target cannot take',
  async (t) => {
    const gw = await gateway(t)
    const top = await seed(gw, 'Plan')
    const folders = gw.sims.store.folders.size
    const items = gw.sims.store.items.size
    const job = await start(gw.app, { source: { mailbox: EWS, folder: top }, target: { mailbox: GRAPH }, dryRun: true })
    t.equal(job.state, 'completed')
    const plan = job.plan as NonNullable<JobBody['plan']>
    t.same(plan.foldersToCreate, ['Plan'])
    t.match(plan.foldersTargetCannotHold, [
      { path: 'Plan/Plain', code: 'MBG_ERR_NOT_SUPPORTED', reason: /no folder class.*requires a folder class/ },
      { path: 'Plan/Plain/Under', code: 'MBG_ERR_NOT_SUPPORTED', reason: /parent folder Plan\/Plain is not copied/ }
    ])
    t.equal(plan.foldersTargetCannotHold?.length, 2)
    t.equal(plan.tooLarge.length, 1, 'the 60 kB item is above the target\'s maxItemBytes')
    t.ok(plan.tooLarge[0].size > MAX_ITEM)
    t.equal(plan.items, 4, 'the items of the folder the target holds')
    t.match(plan.associated, { items: 1, notCopied: 1 })
    t.ok((plan.associated?.bytes ?? 0) > 0)
    t.match(job.folders[0].associated, { count: 1, copied: 0, notCopied: /target cannot hold folder-associated/ })
    t.equal(gw.sims.store.folders.size, folders, 'no folder made')
    t.equal(gw.sims.store.items.size, items, 'no item made')
  })

t.test('a run into Graph reports per folder and per item what the target cannot take, and completes', async (t) => {
  const gw = await gateway(t)
  const top = await seed(gw, 'Real')
  const job = await start(gw.app, { source: { mailbox: EWS, folder: top }, target: { mailbox: GRAPH } })
  t.equal(job.state, 'completed', JSON.stringify(job))
  const [real, plain, under] = job.folders
  t.match(real, { path: 'Real', action: 'created', done: 3, failed: 1 })
  t.match(real.associated, { count: 1, copied: 0, notCopied: /Microsoft Graph/ })
  t.match(plain, { path: 'Real/Plain', error: { code: 'MBG_ERR_NOT_SUPPORTED', message: /no folder class/ } })
  t.match(under, { path: 'Real/Plain/Under', error: { code: 'MBG_ERR_NOT_SUPPORTED' } })
  t.match(job.failures, [{ code: 'MBG_ERR_TOO_LARGE', folder: 'Real' }])
  t.equal(job.failures.length, 1)
  const guid = gw.sims.store.mailboxBySmtp(GRAPH)?.guid
  const made = [...gw.sims.store.folders.values()].filter((f) => f.mailboxGuid === guid && f.displayName === 'Plain')
  t.equal(made.length, 0, 'no Plain folder in the target')

  // The job's audit records carry its id, answered or refused.
  t.equal((await gw.app.inject({ method: 'POST', url: `/jobs/${job.id}:resume` })).statusCode, 409)
  const audit = gw.audit().filter((a) => a.event.startsWith('job.'))
  t.same(audit.map((a) => [a.event, a.jobId]), [['job.create', job.id], ['job.resume', job.id]])
  // Its writes are logged with its id.
  const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
  const writes = lines.filter((l) => l.msg === 'job write' && l.job === job.id)
  t.ok(writes.some((l) => l.op === 'createFolder' && l.outcome === 'ok'), 'the folder create is logged')
  t.ok(writes.some((l) => l.op === 'importBatch' && l.items === 1), 'each import call is logged')
  t.ok(writes.every((l) => l.backend === 'exo-graph'))
  const ended = lines.find((l) => l.msg === 'job pass ended' && l.job === job.id)
  t.match(ended, { outcome: 'done', writes: { createFolder: { calls: 1 }, importBatch: { calls: 3, items: 3 } } })
})

t.test('EWS to EWS, a job copies folder-associated items too, and a second pass none again', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, 'WithFai')
  store.createItem(top.id, itemStream('normal 1', 100))
  store.createItem(top.id, itemStream('fai 1', 100), { associated: true })
  store.createItem(top.id, itemStream('fai 2', 120), { associated: true })
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await gw.app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  }))
  const id = list.folders.find((f) => f.displayName === 'WithFai')?.id as string
  const job = await start(gw.app, { source: { mailbox: EWS, folder: id }, target: { mailbox: BOB } })
  t.equal(job.state, 'completed', JSON.stringify(job))
  t.match(job.folders[0], { done: 1, associated: { count: 2, copied: 2, failed: 0, skipped: 0 } })
  t.notOk(job.folders[0].associated?.notCopied)
  const bobGuid = store.mailboxBySmtp(BOB)?.guid
  const copy = [...store.folders.values()].find((f) => f.mailboxGuid === bobGuid && f.displayName === 'WithFai')
  t.equal(copy?.associatedItemIds.length, 2, 'both folder-associated items in the target folder')
  t.equal(copy?.itemIds.length, 1, 'and the normal one')

  t.equal((await gw.app.inject({ method: 'POST', url: `/jobs/${job.id}:run` })).statusCode, 200)
  const again = await until(gw.app, job.id)
  t.equal(again.state, 'completed')
  t.match(again.folders[0].associated, { count: 2, copied: 0, skipped: 2 })
  t.equal(copy?.associatedItemIds.length, 2, 'none copied twice')
})
