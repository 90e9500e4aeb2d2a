/**
 * Copy jobs through the API, over the simulators: an EWS subtree copied into a Graph mailbox, its tree and every
 * item's data compared (both exported through the gateway); a second pass copies nothing; a dry run writes
 * nothing and reports the plan; pause, resume and cancel; with faults on both sides the end state is the same.
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { hashApiKey, generateApiKey } from '../../src/access/authenticator.js'

type App = TestGateway['app']
interface JobBody {
  id: string
  state: string
  pass: number
  totals: { expected: number, planned: number, done: number, failed: number, skipped: number, bytes: number }
  folders: Array<{
    path: string
    action?: string
    targetId?: string
    planned: number
    done: number
    skipped: number
    failed: number
    bytes: number
    complete: boolean
  }>
  failures: Array<{ code: string }>
  plan?: { foldersToCreate: string[], items: number, bytes: number, tooLarge: unknown[] }
}

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
/** The seeded tree below alice's Inbox: path → items. Three levels below Projects. */
const TREE: Array<[string, number]> = [
  ['Migration', 60], ['Migration/Alpha', 70], ['Migration/Beta', 40], ['Migration/Alpha/Deep', 50]
]
const ITEMS = TREE.reduce((n, [, c]) => n + c, 0)

/** Seeds TREE below alice's Inbox in the simulator store; returns the id of Projects (a public EWS id). */
async function seed (gw: TestGateway): Promise<string> {
  const store = gw.sims.store
  const guid = store.mailboxBySmtp(EWS)?.guid as string
  const ids = new Map<string, string>()
  ids.set('', store.wellKnownFolder(guid, 'inbox').id)
  for (const [path, count] of TREE) {
    const parent = ids.get(path.split('/').slice(0, -1).join('/')) as string
    const folder = store.createFolder(parent, path.split('/').pop() as string)
    ids.set(path, folder.id)
    for (let i = 0; i < count; i++) store.createItem(folder.id, itemStream(`${path} #${i}`, 100 + (i * 37) % 900))
  }
  // The public id, as the gateway names the folder.
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await gw.app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  }))
  return list.folders.find((f) => f.displayName === 'Migration')?.id as string
}

async function post (app: App, url: string, payload?: object):
Promise<{ statusCode: number, body: string, headers: Record<string, unknown> }> {
  return await app.inject({ method: 'POST', url, ...(payload !== undefined ? { payload } : {}) })
}

async function getJob (app: App, id: string): Promise<JobBody> {
  const res = await app.inject({ method: 'GET', url: `/jobs/${id}` })
  if (res.statusCode !== 200) throw new Error(`GET /jobs/${id}: ${res.statusCode} ${res.body}`)
  return json<JobBody>(res)
}

/** Polls the job until it is in one of `states` (no time limit beyond tap's own). */
async function until (app: App, id: string, states: string[]): Promise<JobBody> {
  for (;;) {
    const job = await getJob(app, id)
    if (states.includes(job.state)) return job
    await sleep(20)
  }
}

/** Every item's data of a folder, exported through the gateway, sorted. */
async function folderData (app: App, mailbox: string, folder: string): Promise<string[]> {
  const base = `/mailboxes/${encodeURIComponent(mailbox)}`
  const ids: string[] = []
  let token: string | undefined
  do {
    const q = `pageSize=100${token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''}`
    const page = json<{ items: Array<{ id: string }>, nextPageToken?: string }>(await app.inject({
      method: 'GET', url: `${base}/folders/${encodeURIComponent(folder)}/items?${q}`
    }))
    ids.push(...page.items.map((i) => i.id))
    token = page.nextPageToken
  } while (token !== undefined)
  const data: string[] = []
  for (let i = 0; i < ids.length; i += 50) {
    const res = json<{ results: Array<{ data?: string, error?: unknown }> }>(
      await post(app, `${base}/items:export`, { itemIds: ids.slice(i, i + 50) }))
    for (const r of res.results) {
      if (r.data === undefined) throw new Error(`export failed: ${JSON.stringify(r.error)}`)
      data.push(r.data)
    }
  }
  return data.sort()
}

/** The target folder of each source path, found by name in the target tree (not by what the job says). */
async function targetTree (app: App): Promise<Map<string, string>> {
  const all = json<{ folders: Array<{ id: string, displayName: string, parentId: string | null }> }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${encodeURIComponent(GRAPH)}/folders?pageSize=1000` })).folders
  const out = new Map<string, string>()
  const top = all.filter((f) => f.displayName === 'Migration')
  if (top.length !== 1) throw new Error(`${top.length} folders named Migration in the target`)
  const walk = (id: string, path: string): void => {
    out.set(path, id)
    for (const c of all.filter((f) => f.parentId === id)) walk(c.id, `${path}/${c.displayName}`)
  }
  walk(top[0].id, 'Migration')
  return out
}

async function sourceTree (app: App, projects: string): Promise<Map<string, string>> {
  const all = json<{ folders: Array<{ id: string, displayName: string, parentId: string | null }> }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders?pageSize=1000` })).folders
  const out = new Map<string, string>()
  const walk = (id: string, path: string): void => {
    out.set(path, id)
    for (const c of all.filter((f) => f.parentId === id)) walk(c.id, `${path}/${c.displayName}`)
  }
  walk(projects, 'Migration')
  return out
}

/** The target holds the source tree, and each folder exactly the source folder's items, byte for byte. */
async function sameEndState (t: Test, app: App, projects: string): Promise<void> {
  const source = await sourceTree(app, projects)
  const target = await targetTree(app)
  t.same([...target.keys()].sort(), [...source.keys()].sort(), 'the target tree is the source tree')
  for (const [path, id] of source) {
    const want = await folderData(app, EWS, id)
    const got = await folderData(app, GRAPH, target.get(path) as string)
    t.equal(got.length, want.length, `${path}: ${want.length} items`)
    t.ok(got.length === want.length && got.every((d, i) => d === want[i]), `${path}: every item's data matches`)
  }
}

const copyRequest = (projects: string, extra: object = {}): object => ({
  source: { mailbox: EWS, folder: projects, subtree: true }, target: { mailbox: GRAPH }, ...extra
})

t.test('an EWS subtree is copied into a Graph mailbox; a second pass copies nothing', async (t) => {
  const gw = await buildTestGateway(t)
  const { app } = gw
  const projects = await seed(gw)
  const res = await post(app, '/jobs', copyRequest(projects))
  t.equal(res.statusCode, 202, res.body)
  const created = json<JobBody>(res)
  t.equal(res.headers.location, `/jobs/${created.id}`, 'Location names the job')
  const done = await until(app, created.id, ['completed', 'failed'])
  t.equal(done.state, 'completed', JSON.stringify(done.failures.slice(0, 3)))
  t.same(done.folders.map((f) => f.path), TREE.map(([p]) => p), 'every folder, parents first')
  t.same(done.folders.map((f) => f.action), ['created', 'created', 'created', 'created'])
  t.match(done.totals, { planned: ITEMS, done: ITEMS, failed: 0, skipped: 0, expected: ITEMS })
  t.ok(done.totals.bytes > 0, 'bytes counted')
  t.same(done.failures, [])
  await sameEndState(t, app, projects)

  const itemsBefore = gw.sims.store.items.size
  const foldersBefore = gw.sims.store.folders.size
  const again = await post(app, `/jobs/${created.id}:run`)
  t.equal(again.statusCode, 200, again.body)
  t.equal(json<JobBody>(again).pass, 2)
  const second = await until(app, created.id, ['completed', 'failed'])
  t.equal(second.state, 'completed')
  t.match(second.totals, { planned: 0, done: 0, updated: 0, deleted: 0, moved: 0, skipped: 0, failed: 0 },
    'the second pass reads only changes (none) and copies 0 items')
  t.equal(gw.sims.store.items.size, itemsBefore, 'no item added')
  t.equal(gw.sims.store.folders.size, foldersBefore, 'no folder added')
  t.equal((await post(app, `/jobs/${created.id}:resume`)).statusCode, 409, 'a completed job is not resumed')

  const list = json<{ jobs: JobBody[] }>(await app.inject({ method: 'GET', url: '/jobs' }))
  t.same(list.jobs.map((j) => j.id), [created.id], 'listed')
  const audit = gw.audit().filter((a) => a.event.startsWith('job.'))
  t.same(audit.map((a) => [a.event, a.status]), [['job.create', 202], ['job.run', 200], ['job.resume', 409]])
})

t.test('a dry run writes nothing and reports the plan', async (t) => {
  const gw = await buildTestGateway(t)
  const { app } = gw
  const projects = await seed(gw)
  const itemsBefore = gw.sims.store.items.size
  const foldersBefore = gw.sims.store.folders.size
  const res = await post(app, '/jobs', copyRequest(projects, { dryRun: true }))
  t.equal(res.statusCode, 202, res.body)
  const job = await until(app, json<JobBody>(res).id, ['completed', 'failed'])
  t.equal(job.state, 'completed')
  t.same(job.plan?.foldersToCreate, TREE.map(([p]) => p), 'the folders to create')
  t.equal(job.plan?.items, ITEMS, 'the items to copy')
  t.ok((job.plan?.bytes ?? 0) > 0)
  t.same(job.plan?.tooLarge, [], 'none too large for Graph')
  t.same(job.folders.map((f) => [f.path, f.planned, f.action]), TREE.map(([p, n]) => [p, n, 'create']))
  t.equal(job.totals.done, 0)
  t.equal(gw.sims.store.items.size, itemsBefore, 'no item written')
  t.equal(gw.sims.store.folders.size, foldersBefore, 'no folder written')
})

t.test('pause, resume, cancel; states that do not allow it are 409; other clients do not see a job', async (t) => {
  const OTHER_KEY = generateApiKey()
  const ALICE_KEY = generateApiKey()
  const gw = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push(
        {
          name: 'other',
          apiKeys: [{ id: 'o1', sha256: hashApiKey(OTHER_KEY) }],
          appIds: [],
          scopes: ['jobs:read', 'jobs:write'],
          mailboxes: ['*']
        },
        {
          name: 'alice-only',
          apiKeys: [{ id: 'a1', sha256: hashApiKey(ALICE_KEY) }],
          appIds: [],
          scopes: ['jobs:write', 'mailboxes:read'],
          mailboxes: [EWS]
        }
      )
    }
  })
  const { app } = gw
  const projects = await seed(gw)
  const job = json<JobBody>(await post(app, '/jobs', copyRequest(projects)))
  const paused = await post(app, `/jobs/${job.id}:pause`)
  t.equal(paused.statusCode, 200, paused.body)
  t.equal(json<JobBody>(paused).state, 'paused')
  // Whatever the runner had in hand, it stops at its next checkpoint and stays paused.
  await sleep(200)
  const held = await getJob(app, job.id)
  t.equal(held.state, 'paused', 'stays paused')
  t.ok(held.totals.done < ITEMS, `not finished while paused (${held.totals.done} done)`)
  t.equal((await post(app, `/jobs/${job.id}:pause`)).statusCode, 409, 'pausing a paused job')
  t.equal((await post(app, `/jobs/${job.id}:resume`)).statusCode, 200)
  const done = await until(app, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed')
  t.equal(done.totals.done + done.totals.skipped, ITEMS, 'every item once over the pause')
  t.equal(done.totals.failed, 0)
  await sameEndState(t, app, projects)

  const second = json<JobBody>(await post(app, '/jobs', copyRequest(projects)))
  const canceled = await post(app, `/jobs/${second.id}:cancel`)
  t.equal(json<JobBody>(canceled).state, 'canceled')
  await sleep(100)
  t.equal((await getJob(app, second.id)).state, 'canceled', 'stays canceled')
  for (const action of ['pause', 'resume', 'cancel', 'run']) {
    const res = await post(app, `/jobs/${second.id}:${action}`)
    t.equal(res.statusCode, 409, `${action} a canceled job`)
    t.equal(json(res).code, 'MBG_ERR_JOB_STATE')
  }
  t.equal((await app.inject({ method: 'GET', url: '/jobs/nope' })).statusCode, 404)
  const foreign = await app.inject({ method: 'GET', url: `/jobs/${job.id}`, headers: { 'x-api-key': OTHER_KEY } })
  t.equal(foreign.statusCode, 404, 'another client\'s job is not found')
  t.equal(json(foreign).code, 'MBG_ERR_JOB_NOT_FOUND')
  const mine = await app.inject({ method: 'GET', url: '/jobs', headers: { 'x-api-key': OTHER_KEY } })
  t.same(json(mine).jobs, [], 'and not listed')
  const outside = await app.inject({
    method: 'POST', url: '/jobs', payload: copyRequest(projects), headers: { 'x-api-key': ALICE_KEY }
  })
  t.equal(outside.statusCode, 403, 'the allow-list must admit both mailboxes')
  t.equal(json(outside).code, 'MBG_ERR_MAILBOX_FORBIDDEN')
  const unscoped = await app.inject({ method: 'GET', url: '/jobs', headers: { 'x-api-key': ALICE_KEY } })
  t.equal(unscoped.statusCode, 403, 'jobs:read is needed to list')
})

t.test('with 10% faults on both sides the end state is the same', async (t) => {
  const gw = await buildTestGateway(t)
  const { app, sims } = gw
  const projects = await seed(gw)
  sims.ews.faults.plan.configure({ seed: 7, rules: [{ rate: 0.1, kinds: ['serverBusy'], backOffMs: 10 }] })
  sims.graph.faults.plan.configure({
    seed: 11, rules: [{ rate: 0.1, kinds: ['throttle', 'unavailable'], retryAfter: 'decimal', retryAfterSec: 0.05 }]
  })
  const job = json<JobBody>(await post(app, '/jobs', copyRequest(projects)))
  const done = await until(app, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed', JSON.stringify(done))
  t.same(done.failures, [], 'no fault reached the job\'s failures')
  t.equal(done.totals.done, ITEMS)
  t.ok((sims.ews.stats.faults.serverBusy ?? 0) > 0, 'EWS faults fired')
  t.ok((sims.graph.stats.faults.throttle ?? 0) + (sims.graph.stats.faults.unavailable ?? 0) > 0, 'Graph faults fired')
  sims.ews.faults.plan.clear()
  sims.graph.faults.plan.clear()
  await sameEndState(t, app, projects)
})

t.test(':verify queues a verification of a completed job (202, audited); other states and dry runs are 409',
  async (t) => {
    const gw = await buildTestGateway(t)
    const { app } = gw
    const projects = await seed(gw)
    const created = json<JobBody>(await post(app, '/jobs', copyRequest(projects)))
    const early = await post(app, `/jobs/${created.id}:verify`)
    t.equal(early.statusCode, 409, 'not while the pass is queued or running')
    t.equal(json(early).code, 'MBG_ERR_JOB_STATE')
    await until(app, created.id, ['completed', 'failed'])
    const res = await post(app, `/jobs/${created.id}:verify`)
    t.equal(res.statusCode, 202, res.body)
    t.equal(res.headers.location, `/jobs/${created.id}`)
    t.match(json(res), { state: 'queued', phase: 'verify' })
    let job: JobBody & { phase?: string, verification?: { grade: string, folders: unknown[] } }
    do { job = await getJob(app, created.id) } while (job.phase === 'verify' && await sleep(20) === undefined)
    t.equal(job.state, 'completed', 'back to completed')
    t.equal(job.verification?.folders.length, TREE.length, 'every folder compared')
    for (const [path, n] of TREE) {
      t.match(job.verification?.folders.find((f) => (f as { path: string }).path === path), {
        source: { items: n }, target: { items: n }, missing: 0, extra: 0, sizeMismatch: 0
      }, `${path}: ${n} items on both sides, nothing missing, extra or of another size`)
    }
    const dry = json<JobBody>(await post(app, '/jobs', copyRequest(projects, { dryRun: true })))
    await until(app, dry.id, ['completed', 'failed'])
    t.equal((await post(app, `/jobs/${dry.id}:verify`)).statusCode, 409, 'a dry run copied nothing to verify')
    const audit = gw.audit().filter((a) => a.event === 'job.verify')
    t.same(audit.map((a) => a.status), [409, 202, 409])
  })
