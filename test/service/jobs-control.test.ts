/**
 * Job control against a runner at work, over the simulators: a verification paused or canceled while the runner
 * compares folders is abandoned — the job goes back to its state, and the runner stops at its next checkpoint
 * without saving over it (also when the job was run again meanwhile); a job whose mailbox was removed from the
 * registry fails with that mailbox's error.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, MAILBOXES, type TestGateway } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import type { JobChanges, JobRecord, JobStore } from '../../src/state/jobs.js'
import { JobRunner, JobService, type JobView } from '../../src/service/jobs/index.js'
import type { CopyProgress } from '../../src/service/jobs/types.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
const RULES = { crossBackendImport: 'allow' } as const

/** A folder of `count` items below alice's Inbox with a child of `count` more; the folder's public id. */
async function seed (gw: TestGateway, name: string, count: number): Promise<string> {
  const store = gw.sims.store
  const inbox = store.wellKnownFolder(store.mailboxBySmtp(EWS)?.guid as string, 'inbox')
  const top = store.createFolder(inbox.id, name)
  const child = store.createFolder(top.id, 'Child')
  for (let i = 0; i < count; i++) {
    store.createItem(top.id, itemStream(`${name} ${i}`, 200 + i))
    store.createItem(child.id, itemStream(`${name} child ${i}`, 300 + i))
  }
  const url = `/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox`
  const res = await gw.app.inject({ method: 'GET', url })
  return (JSON.parse(res.body) as { folders: Array<{ id: string, displayName: string }> }).folders
    .find((f) => f.displayName === name)?.id as string
}

async function until (jobs: JobService, id: string, states: string[]): Promise<JobView> {
  for (;;) {
    const job = await jobs.get(id)
    if (states.includes(job.state) && job.phase !== 'verify') return job
    await sleep(20)
  }
}

/** Waits until the job is neither queued nor running and no runner holds it. */
async function settled (store: JobStore, id: string): Promise<JobRecord<unknown, CopyProgress>> {
  for (;;) {
    const job = await store.get<unknown, CopyProgress>(id)
    if (job === undefined) throw new Error(`no job ${id}`)
    if (job.state !== 'queued' && job.state !== 'running' && job.lease === undefined) return job
    await sleep(20)
  }
}

/**
 * `inner`, with `before` called once before the first update that saves a verification with a compared folder
 * (the runner's checkpoint after its first folder): the test acts there, while the runner is mid-verification.
 */
function intercepting (inner: JobStore, before: (id: string) => Promise<void>): JobStore {
  let fired = false
  return new Proxy(inner, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop !== 'update') return typeof value === 'function' ? value.bind(target) : value
      return async (id: string, version: number, changes: JobChanges) => {
        const p = changes.progress as CopyProgress | undefined
        if (!fired && p?.verifying !== undefined && p.verifying.folders.length === 1) {
          fired = true
          await before(id)
        }
        return await target.update(id, version, changes)
      }
    }
  })
}

for (const action of ['cancel', 'pause'] as const) {
  t.test(`${action} while the runner verifies: the verification is abandoned, the runner saves nothing`, async (t) => {
    const gw = await buildTestGateway(t)
    const folder = await seed(gw, `Verify ${action}`, 10)
    const jobStore = new MemoryJobStore()
    const ledger = new MemoryLedgerStore()
    const service = gw.app.mailboxService
    // The service is made after the runner it notifies: the interceptor reaches it through this.
    const late: { jobs?: JobService } = {}
    const store = intercepting(jobStore, async (id) => {
      const answer = await late.jobs?.control(id, action)
      t.match(answer, { state: 'completed', phase: 'done' }, `${action} answers the job completed again`)
    })
    const runner = new JobRunner({ jobs: store, ledger, service, rules: RULES, stop: new AbortController().signal })
    const jobs = late.jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
    runner.start()
    t.teardown(async () => { await runner.close() })
    const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH }, verify: true })
    const after = await settled(jobStore, job.id)
    t.equal(after.state, 'completed', 'back to completed')
    if (after.state !== 'completed') return
    t.equal(after.progress.verifying, undefined, 'no verification under way')
    t.equal(after.progress.phase, 'done', 'the phase it had')
    t.equal(after.progress.verification, undefined, 'the abandoned verification did not finish')
    t.equal(after.progress.folders.length, 2)
    await sleep(200)
    t.equal((await jobStore.get(job.id))?.version, after.version, 'the runner wrote nothing after')

    t.equal((await jobs.verify(job.id)).state, 'queued', 'verified again')
    const verified = await until(jobs, job.id, ['completed', 'failed'])
    t.equal(verified.state, 'completed')
    t.equal(verified.verification?.grade, 'Perfect')
  })
}

t.test('canceled and run again while the runner verifies: the runner lets go, the next pass runs', async (t) => {
  const gw = await buildTestGateway(t)
  const folder = await seed(gw, 'Verify rerun', 10)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const service = gw.app.mailboxService
  const late: { jobs?: JobService } = {}
  const store = intercepting(jobStore, async (id) => {
    await late.jobs?.control(id, 'cancel')
    t.match(await late.jobs?.control(id, 'run'), { state: 'queued', pass: 2 })
  })
  const runner = new JobRunner({
    jobs: store, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
  })
  const jobs = late.jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES, runner })
  runner.start()
  t.teardown(async () => { await runner.close() })
  const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: GRAPH }, verify: true })
  const done = await until(jobs, job.id, ['completed', 'failed', 'canceled'])
  t.equal(done.state, 'completed')
  t.equal(done.pass, 2, 'the second pass ran')
  t.match(done.totals, { done: 0, failed: 0 }, 'nothing new to copy')
  t.equal(done.verification?.grade, 'Perfect', 'verified after the second pass')
})

t.test('a job whose mailbox was removed from the registry fails with that mailbox\'s error', async (t) => {
  const gw = await buildTestGateway(t)
  const store = gw.sims.store
  const erin = store.addMailbox({ smtp: 'erin@contoso.example', displayName: 'Erin', kind: 'primary' })
  store.createFolder(erin.msgRootId, 'Inbox', 'IPF.Note', { distinguishedName: 'inbox' })
  const service = gw.app.mailboxService
  await service.addMailbox({ address: 'erin@contoso.example', backend: 'exo-graph' })
  const folder = await seed(gw, 'Removed', 3)
  const jobStore = new MemoryJobStore()
  const ledger = new MemoryLedgerStore()
  const jobs = new JobService({ jobs: jobStore, ledger, service, rules: RULES })
  const job = await jobs.create({ source: { mailbox: EWS, folder }, target: { mailbox: 'erin@contoso.example' } })
  await service.removeMailbox('erin@contoso.example')
  const runner = new JobRunner({
    jobs: jobStore, ledger, service, rules: RULES, stop: new AbortController().signal, pollMs: 20
  })
  runner.start()
  t.teardown(async () => { await runner.close() })
  const failed = await until(jobs, job.id, ['completed', 'failed'])
  t.equal(failed.state, 'failed')
  t.match(failed.error, { code: 'MBG_ERR_MAILBOX_NOT_FOUND', message: /mbx-/ }, 'names the mailbox it lacks')
})
