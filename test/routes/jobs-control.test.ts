/**
 * Copy-job control through the API, at its edges: a client whose allow-list no longer admits a job's mailboxes
 * may stop the job but not make it write again; pause and cancel of a verification abandon the verification only;
 * job list page tokens are sealed to the listing and client; request shapes the copy does not implement are 400s;
 * the action is a literal part of the path (no percent-encoded colon, no GET of `{id}:run` as a job id) and a
 * scope refusal names the path as callers write it; a client's jobs that are not over are capped.
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import type { AuthSettings } from '../../src/config.js'

type App = TestGateway['app']
interface JobBody {
  id: string
  state: string
  phase: string
  pass: number
  verification?: { at: string, grade: string }
}

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary

/** A folder `name` of `count` items below alice's Inbox; its public id. */
async function seed (gw: TestGateway, name: string, count: number): Promise<string> {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const folder = store.createFolder(inbox.id, name)
  for (let i = 0; i < count; i++) store.createItem(folder.id, itemStream(`${name} ${i}`, 200 + i))
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await gw.app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  }))
  return list.folders.find((f) => f.displayName === name)?.id as string
}

async function post (app: App, url: string, payload?: object, headers?: Record<string, string>):
Promise<{ statusCode: number, body: string }> {
  return await app.inject({
    method: 'POST', url, ...(payload !== undefined ? { payload } : {}), ...(headers !== undefined ? { headers } : {})
  })
}

async function getJob (app: App, id: string, headers?: Record<string, string>): Promise<JobBody> {
  const res = await app.inject({ method: 'GET', url: `/jobs/${id}`, ...(headers !== undefined ? { headers } : {}) })
  if (res.statusCode !== 200) throw new Error(`GET /jobs/${id}: ${res.statusCode} ${res.body}`)
  return json<JobBody>(res)
}

/** Polls the job until it is in one of `states` and not verifying (no time limit beyond tap's own). */
async function until (app: App, id: string, states: string[], headers?: Record<string, string>): Promise<JobBody> {
  for (;;) {
    const job = await getJob(app, id, headers)
    if (states.includes(job.state) && job.phase !== 'verify') return job
    await sleep(20)
  }
}

/**
 * A gateway with a client `mover` (its own API key, jobs and mailbox scopes, both test mailboxes allowed); `narrow`
 * sets its allow-list and reloads the settings, as a configuration change does.
 */
async function moverGateway (t: Test): Promise<{
  gw: TestGateway
  as: Record<string, string>
  auth: AuthSettings
  narrow: (mailboxes: string[]) => void
}> {
  const KEY = generateApiKey()
  let settings: AuthSettings | undefined
  const gw = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push({
        name: 'mover',
        apiKeys: [{ id: 'm1', sha256: hashApiKey(KEY) }],
        appIds: [],
        scopes: ['jobs:read', 'jobs:write', 'mailboxes:read'],
        mailboxes: [EWS, GRAPH]
      })
      settings = auth
    }
  })
  const auth = settings as AuthSettings
  const mover = auth.clients.find((c) => c.name === 'mover')
  if (mover === undefined) throw new Error('no client mover')
  const narrow = (mailboxes: string[]): void => { mover.mailboxes = mailboxes; gw.app.authenticator.reload(auth) }
  return { gw, as: { 'x-api-key': KEY }, auth, narrow }
}

t.test('a client whose allow-list no longer admits a mailbox may pause and cancel, not run, resume or verify',
  async (t) => {
    const { gw, as, narrow } = await moverGateway(t)
    const { app } = gw
    const folder = await seed(gw, 'Revoked', 5)
    const request = { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }
    const done = json<JobBody>(await post(app, '/jobs', request, as))
    t.equal((await until(app, done.id, ['completed', 'failed'], as)).state, 'completed')
    const second = json<JobBody>(await post(app, '/jobs', request, as))
    await until(app, second.id, ['completed', 'failed'], as)
    t.equal((await post(app, `/jobs/${second.id}:verify`, undefined, as)).statusCode, 202, 'verified while admitted')
    await until(app, second.id, ['completed'], as)

    // The target mailbox leaves the client's allow-list.
    narrow([EWS])

    // A refused gateway id does not tell whose address it is.
    const byId = (await getJob(app, done.id, as) as JobBody & { target: { mailbox: string } }).target.mailbox
    const refusedId = await app.inject({ method: 'GET', url: `/mailboxes/${byId}`, headers: as })
    t.equal(refusedId.statusCode, 403)
    t.notMatch(refusedId.body, GRAPH, 'the problem names the id, not the address')
    for (const action of ['run', 'verify']) {
      const res = await post(app, `/jobs/${done.id}:${action}`, undefined, as)
      t.equal(res.statusCode, 403, `${action}: ${res.body}`)
      t.equal(json(res).code, 'MBG_ERR_MAILBOX_FORBIDDEN')
      t.equal((await getJob(app, done.id, as)).state, 'completed', `${action} changed nothing`)
    }
    // A scheduled job waiting between passes may be paused; a paused one is not resumed.
    narrow([EWS, GRAPH])
    const mine = json<JobBody>(await post(app, '/jobs', { ...request, delta: { everySeconds: 3600 } }, as))
    await until(app, mine.id, ['completed', 'failed'], as)
    narrow([EWS])
    const paused = await post(app, `/jobs/${mine.id}:pause`, undefined, as)
    t.equal(paused.statusCode, 200, `pause stops work: ${paused.body}`)
    const resumed = await post(app, `/jobs/${mine.id}:resume`, undefined, as)
    t.equal(resumed.statusCode, 403, `resume: ${resumed.body}`)
    t.equal(json(resumed).code, 'MBG_ERR_MAILBOX_FORBIDDEN')
    t.equal((await getJob(app, mine.id, as)).state, 'paused', 'still paused')
    const canceled = await post(app, `/jobs/${mine.id}:cancel`, undefined, as)
    t.equal(canceled.statusCode, 200, `cancel stops work: ${canceled.body}`)
    t.equal(json<JobBody>(canceled).state, 'canceled')
    const denied = gw.audit().filter((a) => a.event === 'access.denied' && a.code === 'MBG_ERR_MAILBOX_FORBIDDEN' &&
      a.route.startsWith('/jobs'))
    t.same(denied.map((a) => [a.route.split('::')[1], a.status, a.client]),
      [['run', 403, 'mover'], ['verify', 403, 'mover'], ['resume', 403, 'mover']], 'refusals audited')
  })

t.test('a pass no caller asked for (a scheduled one) runs only while the job\'s client is admitted', async (t) => {
  const { gw, as, auth, narrow } = await moverGateway(t)
  const { app } = gw
  const folder = await seed(gw, 'Scheduled', 3)
  const request = { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }
  const job = json<JobBody>(await post(app, '/jobs', request, as))
  t.equal((await until(app, job.id, ['completed', 'failed'], as)).state, 'completed')

  // The target leaves the allow-list; the next pass starts as a schedule starts it: without a caller.
  narrow([EWS])
  await app.jobService.control(job.id, 'run')
  const failed = await until(app, job.id, ['completed', 'failed'], as) as JobBody & { error?: { code: string } }
  t.equal(failed.state, 'failed', 'the pass did not run')
  t.equal(failed.error?.code, 'MBG_ERR_MAILBOX_FORBIDDEN', JSON.stringify(failed.error))

  // The client removed from the configuration altogether: no more passes either.
  auth.clients = auth.clients.filter((c) => c.name !== 'mover')
  narrow([EWS, GRAPH])
  await app.jobService.control(job.id, 'run')
  let ended = await app.jobService.get(job.id)
  while (ended.state !== 'failed' && ended.state !== 'completed') {
    await sleep(20)
    ended = await app.jobService.get(job.id)
  }
  t.equal(ended.state, 'failed')
  t.match(ended.error?.message, /no longer configured/)
})

t.test('canceling or pausing a queued verification abandons it: the job goes back to its state', async (t) => {
  const gw = await buildTestGateway(t)
  const { app } = gw
  const folder = await seed(gw, 'Abandon', 5)
  const job = json<JobBody>(await post(app, '/jobs', { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }))
  await until(app, job.id, ['completed', 'failed'])
  const verified = await post(app, `/jobs/${job.id}:verify`)
  t.equal(verified.statusCode, 202)
  const first = await until(app, job.id, ['completed'])
  t.ok(first.verification !== undefined, 'a first verification finished')
  for (const action of ['cancel', 'pause']) {
    t.equal((await post(app, `/jobs/${job.id}:verify`)).statusCode, 202)
    const res = await post(app, `/jobs/${job.id}:${action}`)
    t.equal(res.statusCode, 200, res.body)
    // Queued or already running: either way the verification is abandoned, the job completed again.
    t.match(json(res), { state: 'completed', phase: 'done' }, `${action}: back to completed`)
    await sleep(100)
    let after = await getJob(app, job.id)
    while (after.state === 'queued' || after.state === 'running') {
      await sleep(20)
      after = await getJob(app, job.id)
    }
    t.equal(after.state, 'completed', `${action}: stays completed`)
    if (after.state !== 'completed') return
    t.equal(after.pass, 1)
  }
  t.equal((await post(app, `/jobs/${job.id}:run`)).statusCode, 200, 'and may run again')
  t.equal((await until(app, job.id, ['completed', 'failed'])).state, 'completed')
})

t.test('job list page tokens are sealed to the listing and the client', async (t) => {
  const OTHER = generateApiKey()
  const gw = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push({
        name: 'other',
        apiKeys: [{ id: 'o1', sha256: hashApiKey(OTHER) }],
        appIds: [],
        scopes: ['jobs:read', 'jobs:write'],
        mailboxes: ['*']
      })
    },
    jobs: { run: false }
  })
  const { app } = gw
  const folder = await seed(gw, 'Paged', 1)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await post(app, '/jobs', { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } })
    ids.push(json<JobBody>(res).id)
  }
  const seen: string[] = []
  let token: string | undefined
  let first: string | undefined
  do {
    const res = await app.inject({
      method: 'GET', url: `/jobs?pageSize=1${token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''}`
    })
    t.equal(res.statusCode, 200, res.body)
    const page = json<{ jobs: JobBody[], nextPageToken?: string }>(res)
    seen.push(...page.jobs.map((j) => j.id))
    token = page.nextPageToken
    first ??= token
  } while (token !== undefined)
  t.same(seen.sort(), [...ids].sort(), 'every job once')
  if (first === undefined) throw new Error('no page token')
  t.notOk(Buffer.from(first, 'base64url').toString('latin1').includes(seen[0]), 'the store cursor does not show')
  const altered = `${first.slice(0, -2)}${first.endsWith('AA') ? 'BB' : 'AA'}`
  for (const [what, pageToken, headers] of [
    ['junk', 'junk', {}],
    ['an altered token', altered, {}],
    ['another client\'s token', first, { 'x-api-key': OTHER }]
  ] as Array<[string, string, Record<string, string>]>) {
    const res = await app.inject({ method: 'GET', url: `/jobs?pageToken=${encodeURIComponent(pageToken)}`, headers })
    t.equal(res.statusCode, 400, `${what}: ${res.body}`)
    t.equal(json(res).code, 'MBG_ERR_BAD_REQUEST')
  }
})

t.test('request shapes the copy does not implement are 400s that say so', async (t) => {
  const gw = await buildTestGateway(t, { jobs: { run: false } })
  const { app } = gw
  const folder = await seed(gw, 'Shapes', 1)
  const cases: Array<[string, object, RegExp]> = [
    ['subtree false of a whole mailbox', { source: { mailbox: EWS, subtree: false }, target: { mailbox: GRAPH } },
      /source\.subtree false needs a source\.folder/],
    ['a target folder for a whole mailbox', { source: { mailbox: EWS }, target: { mailbox: GRAPH, folder: 'inbox' } },
      /target\.folder needs a source\.folder/],
    ['a dry run on a schedule', {
      source: { mailbox: EWS, folder }, target: { mailbox: GRAPH }, dryRun: true, delta: { everySeconds: 60 }
    }, /dryRun and delta together/]
  ]
  for (const [what, body, detail] of cases) {
    const res = await post(app, '/jobs', body)
    t.equal(res.statusCode, 400, `${what}: ${res.body}`)
    t.match(json(res), { code: 'MBG_ERR_BAD_REQUEST', detail })
  }
  const huge = await app.inject({
    method: 'POST',
    url: '/jobs',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ source: { mailbox: 'x'.repeat(100_000) }, target: { mailbox: GRAPH } })
  })
  t.equal(huge.statusCode, 413, 'a body far larger than a job request is refused unread')
  t.equal(json(huge).code, 'MBG_ERR_TOO_LARGE')
  const list = json<{ jobs: unknown[] }>(await app.inject({ method: 'GET', url: '/jobs' }))
  t.same(list.jobs, [], 'no job made')
  for (const body of [
    { source: { mailbox: EWS, folder, subtree: false }, target: { mailbox: GRAPH } },
    { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH, folder: 'inbox' } },
    { source: { mailbox: EWS, subtree: true }, target: { mailbox: GRAPH } }
  ]) {
    const res = await post(app, '/jobs', body)
    t.equal(res.statusCode, 202, `${JSON.stringify(body)}: ${res.body}`)
  }
})

t.test('the action is a literal part of the path; a scope refusal names the path as callers write it', async (t) => {
  const READER = generateApiKey()
  const gw = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push({
        name: 'reader',
        apiKeys: [{ id: 'r1', sha256: hashApiKey(READER) }],
        appIds: [],
        scopes: ['jobs:read', 'mailboxes:read'],
        mailboxes: ['*']
      })
    },
    jobs: { run: false }
  })
  const { app } = gw
  const folder = await seed(gw, 'Paths', 1)
  const job = json<JobBody>(await post(app, '/jobs', { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }))

  // A percent-encoded colon finds no route, as it does for items:export.
  const exported = await post(app, `/mailboxes/${encodeURIComponent(EWS)}/items%3Aexport`, { itemIds: ['x'] })
  t.equal(exported.statusCode, 404)
  t.equal(json(exported).code, 'MBG_ERR_ROUTE_NOT_FOUND', 'items%3Aexport')
  for (const encoded of ['%3A', '%3a']) {
    const res = await post(app, `/jobs/${job.id}${encoded}cancel`)
    t.equal(res.statusCode, 404, `${encoded}: ${res.body}`)
    t.equal(json(res).code, 'MBG_ERR_ROUTE_NOT_FOUND')
    const unscoped = await post(app, `/jobs/${job.id}${encoded}cancel`, undefined, { 'x-api-key': READER })
    t.equal(unscoped.statusCode, 404, 'no way around the scope either')
  }
  const unauthenticated = await app.inject({
    method: 'POST', url: `/jobs/${job.id}%3Acancel`, headers: { authorization: 'Bearer nope' }
  })
  t.equal(unauthenticated.statusCode, 401, 'a credential first, as for any unknown route')
  t.equal((await getJob(app, job.id)).state, 'queued', 'not canceled')

  for (const action of ['run', 'pause', 'verify']) {
    const res = await app.inject({ method: 'GET', url: `/jobs/${job.id}:${action}` })
    t.equal(res.statusCode, 404, `GET {id}:${action}`)
    t.equal(json(res).code, 'MBG_ERR_ROUTE_NOT_FOUND', 'no route, rather than a job that does not exist')
  }
  t.equal(json(await app.inject({ method: 'GET', url: '/jobs/nope' })).code, 'MBG_ERR_JOB_NOT_FOUND')

  const refused = await post(app, `/jobs/${job.id}:pause`, undefined, { 'x-api-key': READER })
  t.equal(refused.statusCode, 403)
  t.match(json(refused).detail, /: POST \/jobs\/\{id\}:pause needs scope jobs:write; client reader holds jobs:read, /)
  const items = await post(app, `/mailboxes/${encodeURIComponent(EWS)}/items:export`, { itemIds: ['x'] },
    { 'x-api-key': READER })
  t.match(json(items).detail, /: POST \/mailboxes\/\{mailbox\}\/items:export needs scope items:export;/)
})

t.test('a client\'s jobs that are not over are capped (MAX_ACTIVE_JOBS_PER_CLIENT): 409', async (t) => {
  const OTHER = generateApiKey()
  const gw = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push({
        name: 'other',
        apiKeys: [{ id: 'o1', sha256: hashApiKey(OTHER) }],
        appIds: [],
        scopes: ['jobs:read', 'jobs:write'],
        mailboxes: ['*']
      })
    },
    jobs: { run: false, maxActivePerClient: 2 }
  })
  const { app } = gw
  const folder = await seed(gw, 'Capped', 1)
  const request = { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }
  const first = json<JobBody>(await post(app, '/jobs', request))
  t.equal((await post(app, `/jobs/${first.id}:pause`)).statusCode, 200, 'paused: still not over')
  t.equal((await post(app, '/jobs', request)).statusCode, 202)
  const over = await post(app, '/jobs', request)
  t.equal(over.statusCode, 409, over.body)
  t.match(json(over), {
    code: 'MBG_ERR_JOB_LIMIT', detail: /client demo has 2 jobs that are not over .*at most 2 \(MAX_ACTIVE_JOBS_PER_CLIENT\)/
  })
  t.equal((await post(app, '/jobs', request, { 'x-api-key': OTHER })).statusCode, 202, 'per client')
  t.equal((await post(app, `/jobs/${first.id}:cancel`)).statusCode, 200)
  t.equal((await post(app, '/jobs', request)).statusCode, 202, 'a canceled job is over: room again')
  t.equal(json<{ jobs: unknown[] }>(await app.inject({ method: 'GET', url: '/jobs' })).jobs.length, 3)
})

t.test('a verification whose target folder is gone counts its items missing: Poor', async (t) => {
  const gw = await buildTestGateway(t)
  const { app } = gw
  const folder = await seed(gw, 'Vanished', 30)
  const job = json<JobBody>(await post(app, '/jobs', { source: { mailbox: EWS, folder }, target: { mailbox: GRAPH } }))
  t.equal((await until(app, job.id, ['completed', 'failed'])).state, 'completed')
  const view = json<{ folders: Array<{ targetId: string }> }>(
    await app.inject({ method: 'GET', url: `/jobs/${job.id}` }))
  const gone = await app.inject({
    method: 'DELETE', url: `/mailboxes/${encodeURIComponent(GRAPH)}/folders/${view.folders[0].targetId}`
  })
  t.equal(gone.statusCode, 204, gone.body)
  t.equal((await post(app, `/jobs/${job.id}:verify`)).statusCode, 202)
  const verified = await until(app, job.id, ['completed', 'failed']) as JobBody & {
    verification: { grade: string, folders: Array<{ missing: number, error?: { code: string } }> }
  }
  t.equal(verified.verification.grade, 'Poor')
  t.equal(verified.verification.folders[0].missing, 30, 'every item of it is missing')
  t.equal(verified.verification.folders[0].error?.code, 'MBG_ERR_FOLDER_NOT_FOUND')
})
