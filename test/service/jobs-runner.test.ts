/**
 * The job runner over the simulators, with stores the test holds: a runner that dies at a checkpoint leaves its
 * job `running` under a lease that runs out, and another runner takes it over and finishes it; a runner closed at a
 * shutdown puts its job back in the queue, and the next one finishes it; a whole-mailbox copy maps well-known
 * folders to their counterparts and a second job into the same mailbox creates no folder twice; a job made while the
 * runner is looking for jobs (no wait in progress to end) is claimed at once, not a poll interval later.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import type { JobStore, LedgerStore } from '../../src/state/jobs.js'
import { JobRunner, JobService, type JobView } from '../../src/service/jobs/index.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
const RULES = { crossBackendImport: 'allow' } as const

/** A folder of `count` items below alice's Inbox, with a child of `count` more. */
function seed (gw: TestGateway, name: string, count: number): void {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, name)
  const child = store.createFolder(top.id, 'Child')
  for (let i = 0; i < count; i++) {
    store.createItem(top.id, itemStream(`${name} ${i}`, 200 + i))
    store.createItem(child.id, itemStream(`${name} child ${i}`, 300 + i))
  }
}

async function folderId (gw: TestGateway, name: string): Promise<string> {
  const url = `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  const res = await gw.app.inject({ method: 'GET', url })
  return (JSON.parse(res.body) as { folders: Array<{ id: string, displayName: string }> }).folders
    .find((f) => f.displayName === name)?.id as string
}

async function until (jobs: JobService, id: string, states: string[]): Promise<JobView> {
  for (;;) {
    const job = await jobs.get(id)
    if (states.includes(job.state)) return job
    await sleep(20)
  }
}

/** Items of the Graph mailbox in the store, by subject: each must be there once. */
function targetSubjects (gw: TestGateway): string[] {
  const guid = gw.sims.store.mailboxBySmtp(GRAPH)?.guid
  return [...gw.sims.store.items.values()].filter((i) => i.mailboxGuid === guid).map((i) => i.subject ?? '')
}

/** `inner`, until `die()`: then every call throws, as a process that is gone writes nothing more. */
function mortal<T extends object> (inner: T): { store: T, die: () => void } {
  let dead = false
  const store = new Proxy(inner, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || prop === 'close') return value
      return async (...args: unknown[]) => {
        if (dead) throw new Error('gone')
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
      }
    }
  })
  return { store, die: () => { dead = true } }
}

t.test('a runner that dies at a checkpoint: its lease runs out and another runner finishes the job', async (t) => {
  const gw = await buildTestGateway(t)
  seed(gw, 'Crash', 60)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = gw.app.mailboxService
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES })
  const job = await jobs.create({
    source: { mailbox: EWS, folder: await folderId(gw, 'Crash') }, target: { mailbox: GRAPH }
  })

  const doomedJobs = mortal<JobStore>(jobStore)
  const doomedLedger = mortal<LedgerStore>(ledger)
  let checkpoints = 0
  const counting = new Proxy(doomedJobs.store, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop !== 'update') return value
      return async (...args: unknown[]) => {
        const r = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        // After the second saved checkpoint: the process is gone.
        if (++checkpoints === 2) { doomedJobs.die(); doomedLedger.die() }
        return r
      }
    }
  })
  const stop = new AbortController()
  const first = new JobRunner({
    jobs: counting, ledger: doomedLedger.store, service, rules: RULES, stop: stop.signal, owner: 'first', leaseMs: 300
  })
  first.start()
  for (;;) {
    const j = await jobStore.get(job.id)
    if (checkpoints >= 2 && j?.lease?.owner === 'first') break
    await sleep(10)
  }
  await first.close()
  const stuck = await jobs.get(job.id)
  t.equal(stuck.state, 'running', 'the dead runner\'s job is still running')
  t.ok(stuck.totals.done < 120, `partly done (${stuck.totals.done})`)

  const second = new JobRunner({
    jobs: jobStore, ledger, service, rules: RULES, stop: stop.signal, owner: 'second', pollMs: 20
  })
  second.start()
  t.teardown(async () => { await second.close() })
  const done = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed', JSON.stringify(done.error))
  t.equal(done.totals.failed, 0)
  const subjects = targetSubjects(gw).filter((s) => s.startsWith('Crash'))
  t.equal(subjects.length, 120, 'every item in the target')
  t.equal(new Set(subjects).size, 120, 'each once')
})

t.test('a runner closed at a shutdown queues its job again; the next runner finishes it, each item once', async (t) => {
  const gw = await buildTestGateway(t)
  seed(gw, 'Shutdown', 80)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = gw.app.mailboxService
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES })
  const job = await jobs.create({
    source: { mailbox: EWS, folder: await folderId(gw, 'Shutdown') }, target: { mailbox: GRAPH }
  })
  const stopping = new AbortController()
  const first = new JobRunner({ jobs: jobStore, ledger, service, rules: RULES, stop: stopping.signal, owner: 'first' })
  first.start()
  for (;;) {
    if ((await jobs.get(job.id)).totals.done > 0) break
    await sleep(5)
  }
  stopping.abort()
  await first.close()
  const queued = await jobs.get(job.id)
  t.equal(queued.state, 'queued', 'back in the queue')
  t.ok((await jobStore.get(job.id))?.lease === undefined, 'without a lease')
  t.ok(queued.totals.done < 160, `partly done (${queued.totals.done})`)

  const next = new JobRunner({ jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal })
  next.start()
  t.teardown(async () => { await next.close() })
  const done = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed')
  t.equal(done.totals.done, 160, 'the counts carry over: every item counted once as done')
  const subjects = targetSubjects(gw).filter((s) => s.startsWith('Shutdown'))
  t.equal(subjects.length, 160)
  t.equal(new Set(subjects).size, 160, 'each once')
})

t.test('paused and resumed while a batch is in hand: one runner works the job, each item is copied once', async (t) => {
  const gw = await buildTestGateway(t)
  seed(gw, 'Flicker', 100)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = gw.app.mailboxService
  const runner = new JobRunner({
    jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 5
  })
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
  runner.start()
  t.teardown(async () => { await runner.close() })
  const job = await jobs.create({
    source: { mailbox: EWS, folder: await folderId(gw, 'Flicker') }, target: { mailbox: GRAPH }
  })
  for (let flips = 0; flips < 3;) {
    const now = await jobs.get(job.id)
    if (now.state === 'completed') break
    if (now.state === 'running' && now.totals.done > flips * 40) {
      await jobs.control(job.id, 'pause')
      await jobs.control(job.id, 'resume')
      flips++
    }
    await sleep(2)
  }
  const done = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed')
  const subjects = targetSubjects(gw).filter((s) => s.startsWith('Flicker'))
  t.equal(subjects.length, 200, 'every item in the target')
  t.equal(new Set(subjects).size, 200, 'each once')
})

t.test('a whole mailbox: well-known folders mapped; a second job into the same mailbox creates no folder twice',
  async (t) => {
    const gw = await buildTestGateway(t)
    const jobStore = new MemoryJobStore()
    const ledger = new MemoryLedgerStore()
    const service = gw.app.mailboxService
    const runner = new JobRunner({
      jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
    })
    const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
    runner.start()
    t.teardown(async () => { await runner.close() })
    const job = await jobs.create({ source: { mailbox: EWS }, target: { mailbox: GRAPH } })
    const done = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(done.state, 'completed', JSON.stringify(done.error))
    const inbox = done.folders.find((f) => f.path === 'Inbox')
    t.equal(inbox?.action, 'wellKnown', 'Inbox → the target\'s inbox')
    const target = gw.sims.store.mailboxBySmtp(GRAPH)?.guid as string
    t.equal(inbox?.targetId !== undefined, true)
    for (const wk of ['inbox', 'sentitems', 'drafts', 'deleteditems', 'calendar', 'contacts']) {
      const f = done.folders.find((x) => x.action === 'wellKnown' && x.path === gw.sims.store.folders.get(
        gw.sims.store.wellKnownFolder(gw.sims.store.mailboxBySmtp(EWS)?.guid as string, wk).id)?.displayName)
      t.ok(f !== undefined, `${wk} is mapped as well-known`)
    }
    t.equal(done.totals.failed, 0, 'nothing failed')
    t.equal(done.totals.done, done.totals.expected, `every item of the mailbox copied (${done.totals.done})`)
    t.ok(done.folders.some((f) => f.action === 'existing'), 'a folder the target already had is reused')
    t.ok(done.folders.some((f) => f.action === 'created'), 'the others created')
    const foldersAfter = [...gw.sims.store.folders.values()].filter((f) => f.mailboxGuid === target).length

    const again = await jobs.create({ source: { mailbox: EWS }, target: { mailbox: GRAPH }, dryRun: true })
    const plan = await until(jobs, again.id, ['completed', 'failed'])
    t.same(plan.plan?.foldersToCreate, [], 'a new job finds every folder by name: nothing to create')
    t.ok(plan.folders.every((f) => f.action === 'wellKnown' || f.action === 'existing'))
    t.equal([...gw.sims.store.folders.values()].filter((f) => f.mailboxGuid === target).length, foldersAfter)
  })

t.test('a job queued while the runner looks for jobs is claimed at once, not at the next poll', async (t) => {
  const gw = await buildTestGateway(t)
  seed(gw, 'Prompt', 2)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = gw.app.mailboxService
  // The runner's first claim finds nothing, and its answer is held back until the job is made (and the runner
  // told of it): the wake-up comes while the runner is looking, not while it waits.
  let entered: () => void = () => {}
  const looking = new Promise<void>((resolve) => { entered = resolve })
  let answer: () => void = () => {}
  const held = new Promise<void>((resolve) => { answer = resolve })
  const claims: Array<string | undefined> = []
  const gated = new Proxy(jobStore, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop !== 'claim') return value
      return async (...args: unknown[]) => {
        const job = await (value as (...a: unknown[]) => Promise<{ id: string } | undefined>).apply(target, args)
        claims.push(job?.id)
        if (claims.length === 1) { entered(); await held }
        return job
      }
    }
  })
  // An hour between looks: a wake-up the runner missed would leave the job waiting that long.
  const runner = new JobRunner({
    jobs: gated, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 3_600_000
  })
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
  runner.start()
  t.teardown(async () => { await runner.close() })
  await looking
  const job = await jobs.create({
    source: { mailbox: EWS, folder: await folderId(gw, 'Prompt') }, target: { mailbox: GRAPH }
  })
  answer()
  // The runner's next steps on the in-memory store are promise continuations: all run before setImmediate's turn.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(claims.slice(0, 2), [undefined, job.id], 'the runner looked again at once and claimed the job')
  // (Without the claim the job would wait an hour: let the runner look, so the test ends either way.)
  runner.notify()
  const done = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(done.state, 'completed', JSON.stringify(done.error))
  t.equal(done.totals.done, 4)
})
