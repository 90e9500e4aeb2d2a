/**
 * Issue 10's crash acceptance point: a copy job EWS → Graph is killed mid-way with `kill -9` (the gateway process
 * gets SIGKILL: no shutdown, its lease still held, imports in flight) and a new gateway process on the same
 * STATE_STORE file takes the job up by itself once the lease (JOB_LEASE_SEC) has run out (no `:resume`). The end
 * state is the same as without the crash: every source item is in the target exactly once (by search key, and its
 * stream byte for byte), and the job's totals account for every item. The simulators run in this process, so they
 * outlive the gateway and the test reads their store. Graph imports are slowed so that the kill surely lands
 * mid-job with imports in flight (their `sending` entries are settled by reconciliation). Every wait ends on an
 * event or a state; PROCESS_BUDGET_MS only bounds what hangs. No time is asserted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { simulatorDocument } from '../../src/demo.js'
import { startSimulators, type Simulators } from '../../src/simulators/index.js'
import { MAILBOXES } from '../helper.js'
import { onlyFolderNamed, seedTree, treeContent } from '../helpers/copy-jobs.js'
import { captureLogs } from '../helpers/logs.js'
import {
  PROCESS_API_KEY, PROCESS_BUDGET_MS, startGatewayProcess, waitForOutput, type GatewayProcess
} from '../helpers/process.js'

const EWS = MAILBOXES.ews.primary
const GRAPH = MAILBOXES.graph.primary
/** Below alice's Inbox: three folders, 300 items (feed pages of 100: several checkpoints per folder). */
const TREE: Array<[string, number]> = [['KillNine', 120], ['KillNine/Alpha', 100], ['KillNine/Alpha/Deep', 80]]
const ITEMS = TREE.reduce((n, [, c]) => n + c, 0)

interface Totals {
  expected: number
  planned: number
  done: number
  failed: number
  skipped: number
  reconciled: number
  resent: number
  unresolved: number
}
interface JobView {
  id: string
  state: string
  pass: number
  totals: Totals
  folders: Array<{ path: string, complete: boolean }>
  failures: unknown[]
  error?: unknown
}

/** A gateway process in configured mode over `configFile`, its state in `stateFile`; resolves once it listens. */
async function startGateway (t: Test, configFile: string, stateFile: string):
Promise<GatewayProcess & { url: string }> {
  const gw = startGatewayProcess(t, {
    MBG_CONFIG_FILE: configFile,
    STATE_STORE: `sqlite:${stateFile}`,
    LOG_LEVEL: 'info',
    // A job whose gateway died is taken up 5 s after its last lease renewal; an idle runner looks every second.
    JOB_LEASE_SEC: '5',
    JOB_POLL_SEC: '1'
  })
  const m = await waitForOutput(gw.child, 'stdout', /"gateway":"(http:\/\/[^"]+)"/)
  return { ...gw, url: m[1] }
}

async function call (url: string, method = 'GET', body?: object): Promise<{ status: number, body: any }> {
  const res = await fetch(url, {
    method,
    headers: { 'x-api-key': PROCESS_API_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  return { status: res.status, body: await res.json() }
}

/** Polls the job until `done(job)`; a job the gateway does not know (404) or a budget run out fails the wait. */
async function pollJob (gw: { url: string, output: () => string }, id: string, done: (job: JobView) => boolean,
  budgetMs = PROCESS_BUDGET_MS): Promise<JobView> {
  const deadline = Date.now() + budgetMs
  for (;;) {
    const res = await call(`${gw.url}/jobs/${id}`)
    if (res.status !== 200) throw new Error(`GET /jobs/${id}: ${res.status} ${JSON.stringify(res.body)}`)
    const job = res.body as JobView
    if (done(job)) return job
    if (Date.now() > deadline) {
      throw new Error(`job ${id} still ${job.state} after ${budgetMs / 1000} s: ${JSON.stringify(job.totals)}\n` +
        gw.output().split('\n').slice(-30).join('\n'))
    }
    await sleep(100)
  }
}

/** Simulators in this process (they outlive the gateways), and a configured-mode document for them in a file. */
async function simulators (t: Test, dir: string): Promise<{ sims: Simulators, configFile: string }> {
  const sims = await startSimulators({ logger: captureLogs('info').logger })
  t.teardown(async () => { await sims.close() })
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, sims.ca)
  const configFile = join(dir, 'gateway.json')
  writeFileSync(configFile, JSON.stringify(simulatorDocument(sims, { caFile, apiKey: PROCESS_API_KEY })))
  return { sims, configFile }
}

t.test(`kill -9 mid-job, restart on the same state file: the job completes by itself, ${ITEMS} items each once`,
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mbg-kill9-'))
    t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
    const stateFile = join(dir, 'state.db')
    const { sims, configFile } = await simulators(t, dir)
    seedTree(sims.store, EWS, TREE)
    // Every Graph import waits 150 ms before it is acted on: the job takes many seconds, imports are in flight.
    sims.graph.faults.plan.configure({
      rules: [{ operations: ['importItem'], rate: 1, kinds: ['slow'], delayMs: 150 }]
    })

    const first = await startGateway(t, configFile, stateFile)
    const inbox = await call(`${first.url}/mailboxes/${encodeURIComponent(EWS)}/folders?parentId=inbox&pageSize=1000`)
    t.equal(inbox.status, 200, JSON.stringify(inbox.body))
    const folder = (inbox.body.folders as Array<{ id: string, displayName: string }>)
      .find((f) => f.displayName === 'KillNine')?.id
    t.ok(folder, 'the source folder is listed')
    const created = await call(`${first.url}/jobs`, 'POST',
      { source: { mailbox: EWS, folder, subtree: true }, target: { mailbox: GRAPH } })
    t.equal(created.status, 202, JSON.stringify(created.body))
    const id = created.body.id as string

    // Mid-way: some items copied (a checkpoint saved them), not all.
    const mid = await pollJob(first, id, (j) => j.totals.done > 0 || j.state === 'completed' || j.state === 'failed')
    t.equal(mid.state, 'running', 'the job is running when the gateway is killed')
    t.ok(mid.totals.done < ITEMS, `killed mid-way: ${mid.totals.done} of ${ITEMS} items done`)
    // Kill while an import is in flight: one the Graph simulator received since the last look (5 ms ago) is still
    // in its 150 ms wait (this process's timers run in due order), so its ledger entry says `sending`.
    const imports = (): number => sims.graph.stats.byOperation.importItem ?? 0
    let seen = imports()
    for (const deadline = Date.now() + PROCESS_BUDGET_MS; ;) {
      await sleep(5)
      const now = imports()
      if (now > seen && now > mid.totals.done) break
      seen = now
      if (Date.now() > deadline) throw new Error(`no import after ${seen}:\n${first.output()}`)
    }
    const importsBefore = imports()
    first.child.kill('SIGKILL')
    const code = await first.closed
    t.equal(code, null, 'killed, no exit code')
    t.equal(first.child.signalCode, 'SIGKILL')
    t.comment(`killed with ${mid.totals.done} items saved as done, ${importsBefore} Graph imports sent`)
    t.notMatch(first.output(), /job stopped at a checkpoint|job pass ended/, 'the job never got to stop cleanly')

    // A new process on the same file: the job shows as it was saved, then resumes once the lease has run out.
    const second = await startGateway(t, configFile, stateFile)
    const done = await pollJob(second, id, (j) => j.state === 'completed' || j.state === 'failed')
    t.comment(`after the restart: ${JSON.stringify(done.totals)}`)
    t.equal(done.state, 'completed', JSON.stringify(done.error ?? done.failures.slice(0, 3)))
    t.equal(done.pass, 1, 'the same pass went on')
    t.same(done.failures, [])
    t.match(second.output(), /job pass running/, 'the new gateway took the job up')
    t.ok(done.folders.every((f) => f.complete), 'every folder is complete')
    const n = done.totals
    t.match(n, { expected: ITEMS, planned: ITEMS, failed: 0, unresolved: 0 })
    // Each item counted once: copied by this run (`done`, resends included) or skipped because the ledger had it
    // (copied before the kill, or settled by reconciliation: `reconciled` and `resent` are among those).
    t.equal(n.done - n.resent + n.skipped, ITEMS, 'every item is accounted for once')
    t.ok(n.reconciled + n.resent > 0, 'the imports in flight at the kill were settled (found in the target or resent)')
    t.ok(n.reconciled + n.resent <= n.skipped, 'settled items are among the skipped ones')
    t.ok(n.done >= ITEMS - mid.totals.done - n.skipped, 'the rest was copied after the restart')

    // The end state, read from the simulators' store.
    const source = treeContent(sims.store, onlyFolderNamed(sims.store, EWS, 'KillNine'))
    const target = treeContent(sims.store, onlyFolderNamed(sims.store, GRAPH, 'KillNine'))
    t.same([...target.keys()], [...source.keys()], 'the target tree is the source tree')
    let same = 0
    for (const [path, items] of source) {
      const copy = target.get(path) ?? []
      t.equal(copy.length, items.length, `${path}: ${items.length} items, each once`)
      if (copy.length === items.length && copy.every((d, i) => d === items[i])) same += items.length
    }
    t.equal(same, ITEMS, 'every item\'s stream matches its source, byte for byte')
    const keys = (smtp: string): string[] => {
      const root = onlyFolderNamed(sims.store, smtp, 'KillNine')
      return [root, ...sims.store.descendants(root).map((f) => f.id)]
        .flatMap((f) => sims.store.itemsIn(f).map((i) => i.searchKey.toString('base64')))
        .sort()
    }
    const targetKeys = keys(GRAPH)
    t.equal(new Set(targetKeys).size, targetKeys.length, 'no search key twice in the target: 0 duplicates')
    t.same(targetKeys, keys(EWS), 'each source item\'s search key is in the target once')
    sims.graph.faults.plan.clear()
  })
