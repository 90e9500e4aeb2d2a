/**
 * Graceful shutdown of the real server process (src/server.ts, src/shutdown.ts): the gateway runs
 * as a child process, in configured mode against simulators started in this process (so the test
 * can slow them down and read their store) or in demo mode. Every wait ends on an event (an
 * answer, a log line, the process's exit); PROCESS_BUDGET_MS only bounds a process that hangs, so
 * a shutdown that waits for something it should not shows as a failed wait, never as a measured time.
 */
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { simulatorDocument } from '../../src/demo.js'
import { stopAfterMs } from '../../src/shutdown.js'
import { startSimulators, type Simulators } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES, seedItemStream } from '../../src/simulators/store/seed.js'
import { captureLogs, persist } from '../helpers/logs.js'
import { PROCESS_API_KEY, PROCESS_BUDGET_MS, startTs, waitForOutput, type Child } from '../helpers/process.js'

const ALICE = encodeURIComponent(DEMO_MAILBOXES.alice.smtp)

interface Exit { code: number | null, signal: NodeJS.Signals | null }

interface Gateway {
  child: Child
  url: string
  /** Everything the process wrote so far (stdout and stderr). */
  output: () => string
  /** Resolves once the process has exited on its own and its output is read; fails the wait after the budget. */
  exited: () => Promise<Exit>
}

/** Starts `src/server.ts` with `env` on a free port and waits until it listens. */
async function startGateway (t: Test, env: Record<string, string>): Promise<Gateway> {
  const base = { ...process.env }
  delete base.MBG_CONFIG
  delete base.MBG_CONFIG_FILE
  const child = startTs('src/server.ts', [], {
    ...base,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    // On a busy machine a starting process lags: no load shedding (test/app/shedding.test.ts covers it).
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env
  })
  let text = ''
  child.stdout.on('data', (c: Buffer) => { text += c.toString() })
  child.stderr.on('data', (c: Buffer) => { text += c.toString() })
  const closed = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    persist(text.split('\n').filter((l) => l.length > 0))
  })
  const m = await waitForOutput(child, 'stdout', /"gateway":"(http:\/\/[^"]+)"/)
  return {
    child,
    url: m[1],
    output: () => text,
    exited: async () => {
      let timer: NodeJS.Timeout | undefined
      const budget = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`the gateway did not exit within ${PROCESS_BUDGET_MS / 1000} s of SIGTERM:\n${text}`))
        }, PROCESS_BUDGET_MS)
      })
      try {
        return await Promise.race([closed, budget])
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

interface Answer { status: number, headers: IncomingHttpHeaders, body: any }

/** One HTTP exchange over `agent` (keep-alive, so the connection stays open after it). */
async function send (agent: Agent, url: string, method: string, path: string, body?: unknown,
  headers: Record<string, string> = {}): Promise<Answer> {
  return await new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      agent,
      method,
      headers: {
        'x-api-key': PROCESS_API_KEY,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers
      }
    }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body !== undefined ? JSON.stringify(body) : undefined)
  })
}

/** The idle connection `agent` keeps once its last exchange is over. */
async function idleSocket (agent: Agent): Promise<Socket | undefined> {
  await new Promise((resolve) => setImmediate(resolve))
  return Object.values(agent.freeSockets).flat()[0]
}

/** Simulators in this process, and a backends/mailboxes document for them (README "Configuration"). */
async function simulators (t: Test): Promise<{ sims: Simulators, doc: any }> {
  const sims = await startSimulators({ logger: captureLogs('info').logger })
  t.teardown(async () => {
    sims.ews.faults.delayMs = 0
    await sims.close()
  })
  const caFile = join(mkdtempSync(join(tmpdir(), 'mbg-shutdown-')), 'ca.pem')
  writeFileSync(caFile, sims.ca)
  return { sims, doc: simulatorDocument(sims, { caFile, apiKey: PROCESS_API_KEY }) }
}

/** `n` distinct items (subjects `${prefix}-0` …) for an import into `folderId`. */
function importItems (prefix: string, n: number, folderId: string): Array<Record<string, string>> {
  const created = new Date('2026-01-05T10:00:00Z')
  return Array.from({ length: n }, (_, i) => ({
    folderId,
    mode: 'create',
    data: seedItemStream({
      key: `${prefix}-${i}`,
      itemClass: 'IPM.Note',
      subject: `${prefix}-${i}`,
      created,
      modified: created,
      size: 600,
      attachment: false
    }).blob().toString('base64')
  }))
}

/**
 * Resolves once the EWS simulator has received more UploadItems calls than `before`; rejects, with
 * the answer, when the request was answered first (it never reached the backend).
 */
async function uploadsBeyond (sims: Simulators, before: number, answer: Promise<unknown>): Promise<void> {
  let answered: unknown
  answer.then((a) => { answered = a ?? 'no answer' }, (err: unknown) => { answered = err })
  const uploads = (): number => sims.ews.stats.byOperation.UploadItems ?? 0
  while (uploads() <= before) {
    if (answered !== undefined) throw new Error(`answered before any upload: ${JSON.stringify(answered)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Every result is either imported (its item is in the folder exactly once) or reported not done as
 * MBG_ERR_SHUTTING_DOWN, retryable (and absent); the folder holds nothing else.
 */
function checkNothingLostOrDuplicated (t: Test, sims: Simulators, folderName: string, prefix: string,
  results: Array<{ index: number, error?: { code: string } }>): void {
  const folder = [...sims.store.folders.values()].find((f) => f.displayName === folderName)
  if (folder === undefined) { t.fail(`folder ${folderName} is in the store`); return }
  const count = new Map<string, number>()
  for (const { subject = '' } of sims.store.itemsIn(folder.id)) count.set(subject, (count.get(subject) ?? 0) + 1)
  let imported = 0
  for (const r of results) {
    const subject = `${prefix}-${r.index}`
    if (r.error === undefined) {
      imported++
      t.equal(count.get(subject), 1, `${subject} reported imported: stored exactly once`)
    } else {
      t.match(r.error, { code: 'MBG_ERR_SHUTTING_DOWN', retryable: true }, `${subject} reported not done`)
      t.equal(count.get(subject), undefined, `${subject} reported not done: not stored`)
    }
  }
  t.equal(sims.store.itemsIn(folder.id).length, imported, 'the folder holds only the items reported imported')
}

t.test('the stop point: 5 s before the deadline, half-way for deadlines under 10 s', async (t) => {
  t.equal(stopAfterMs(30_000), 25_000)
  t.equal(stopAfterMs(10_000), 5000)
  t.equal(stopAfterMs(8000), 4000)
  t.equal(stopAfterMs(1000), 500)
})

t.test('SIGTERM during an import: the answer arrives, idle and finished connections close, the process exits 0',
  async (t) => {
    const { sims, doc } = await simulators(t)
    doc.backends['onprem-ews'].uploadBatchSize = 5
    // A hang would leave the process running for 10 minutes: the wait for its exit fails first.
    const gw = await startGateway(t, {
      MBG_CONFIG: JSON.stringify(doc), SHUTDOWN_TIMEOUT_MS: '600000', MAX_BATCH_ITEMS: '200'
    })
    const idle = new Agent({ keepAlive: true })
    const work = new Agent({ keepAlive: true })
    t.teardown(() => { idle.destroy(); work.destroy() })
    const folder = await send(idle, gw.url, 'POST', `/mailboxes/${ALICE}/folders`, { displayName: 'shutdown-a' })
    t.equal(folder.status, 201)
    // That connection now sits idle in `idle`'s pool, kept alive.
    const kept = await idleSocket(idle)
    t.ok(kept, 'an idle keep-alive connection is open')
    const idleClosed = kept !== undefined ? once(kept, 'close') : Promise.resolve()

    // A caller in the middle of sending its request when the shutdown begins.
    const late = connect(Number(new URL(gw.url).port), '127.0.0.1')
    await once(late, 'connect')
    late.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\n')
    let lateAnswer = ''
    late.on('data', (c: Buffer) => { lateAnswer += c.toString() })
    const lateEnded = once(late, 'close')

    const items = importItems('a', 100, folder.body.id)
    const before = sims.ews.stats.byOperation.UploadItems ?? 0
    sims.ews.faults.only = ['UploadItems']
    sims.ews.faults.delayMs = 500
    const answer = send(work, gw.url, 'POST', `/mailboxes/${ALICE}/items:import`, { items })
    await uploadsBeyond(sims, before, answer)
    gw.child.kill('SIGTERM')
    await waitForOutput(gw.child, 'stdout', /"msg":"server closing"/)
    late.write('\r\n')

    const res = await answer
    t.equal(res.status, 200, 'the import in flight is answered')
    t.equal(res.body.results.length, items.length, 'one result per item')
    t.equal(res.headers.connection, 'close', 'its answer closes the connection')
    const exit = await gw.exited()
    t.same(exit, { code: 0, signal: null }, 'the process exits 0 on its own once the work is done')
    await idleClosed
    t.pass('the idle keep-alive connection was closed by the server')

    await lateEnded
    const [head, body] = lateAnswer.split('\r\n\r\n')
    t.match(head, /^HTTP\/1\.1 503 /, 'a request arriving during the drain is refused')
    t.match(head, /\r\ncontent-type: application\/problem\+json/i)
    t.match(head, /\r\nretry-after: 5\r\n/i)
    t.match(head, /\r\nconnection: close/i)
    t.match(JSON.parse(body), { status: 503, code: 'MBG_ERR_SHUTTING_DOWN' })

    checkNothingLostOrDuplicated(t, sims, 'shutdown-a', 'a', res.body.results)
    t.notMatch(gw.output(), /killed by timeout|shutdown deadline/, 'no deadline reached')
  })

t.test('at the stop point batch work sends nothing more: the rest is reported MBG_ERR_SHUTTING_DOWN', async (t) => {
  const { sims, doc } = await simulators(t)
  // One call at a time, two items each: 30 calls of 1 s, far longer than the 15 s to the stop point.
  doc.backends['onprem-ews'].uploadBatchSize = 2
  doc.policy = { concurrency: 1 }
  const gw = await startGateway(t, {
    MBG_CONFIG: JSON.stringify(doc), SHUTDOWN_TIMEOUT_MS: '20000', MAX_BATCH_ITEMS: '200'
  })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const folder = await send(agent, gw.url, 'POST', `/mailboxes/${ALICE}/folders`, { displayName: 'shutdown-b' })
  t.equal(folder.status, 201)
  const items = importItems('b', 60, folder.body.id)
  const before = sims.ews.stats.byOperation.UploadItems ?? 0
  sims.ews.faults.only = ['UploadItems']
  sims.ews.faults.delayMs = 1000
  const answer = send(agent, gw.url, 'POST', `/mailboxes/${ALICE}/items:import`, { items })
  await uploadsBeyond(sims, before, answer)
  gw.child.kill('SIGTERM')

  const res = await answer
  t.equal(res.status, 200, 'the import is answered')
  const results = res.body.results as Array<{ index: number, error?: { code: string } }>
  t.equal(results.length, items.length, 'one result per item')
  t.ok(results.some((r) => r.error?.code === 'MBG_ERR_SHUTTING_DOWN'), 'items not sent are reported not done')
  t.ok(results.some((r) => r.error === undefined), 'items sent before the stop point are imported')
  const exit = await gw.exited()
  t.same(exit, { code: 0, signal: null }, 'the process exits 0 once the calls in flight are done')
  checkNothingLostOrDuplicated(t, sims, 'shutdown-b', 'b', results)
})

t.test('at the deadline the requests still running are logged and the process exits 1', async (t) => {
  const { sims, doc } = await simulators(t)
  const gw = await startGateway(t, {
    MBG_CONFIG: JSON.stringify(doc), SHUTDOWN_TIMEOUT_MS: '2000', MAX_BATCH_ITEMS: '200'
  })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const folder = await send(agent, gw.url, 'POST', `/mailboxes/${ALICE}/folders`, { displayName: 'shutdown-c' })
  t.equal(folder.status, 201)
  const items = importItems('c', 10, folder.body.id)
  const before = sims.ews.stats.byOperation.UploadItems ?? 0
  // One backend call that outlasts the whole deadline.
  sims.ews.faults.only = ['UploadItems']
  sims.ews.faults.delayMs = 15_000
  const answer = send(agent, gw.url, 'POST', `/mailboxes/${ALICE}/items:import`, { items },
    { 'x-request-id': 'shutdown-deadline-1' }).then(() => 'answered', () => 'connection lost')
  await uploadsBeyond(sims, before, answer)
  gw.child.kill('SIGTERM')

  const exit = await gw.exited()
  t.same(exit, { code: 1, signal: null }, 'the process exits 1 at the deadline')
  t.equal(await answer, 'connection lost', 'the request was cut off')
  const lines = gw.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
  const cut = lines.find((l) => l.msg === 'shutdown deadline: request still running, abandoned')
  t.match(cut, {
    level: 40,
    reqId: 'shutdown-deadline-1',
    method: 'POST',
    route: '/mailboxes/:mailbox/items::import',
    runningMs: Number
  }, 'each request still running is logged at warn: method, route, request id, how long it ran')
  t.match(lines.find((l) => /^shutdown deadline \(SHUTDOWN_TIMEOUT_MS\) reached/.test(l.msg)), {
    level: 40, timeoutMs: 2000, requests: 1
  })
  t.ok(lines.some((l) => l.msg === 'shutdown stop point: batch work starts no new backend calls'), 'stop fired')
  t.notOk(gw.output().includes(items[0].data.slice(0, 64)), 'no item data in the log')
})

t.test('demo mode: SIGTERM with an idle keep-alive connection open exits 0 without waiting for it', async (t) => {
  const gw = await startGateway(t, { SHUTDOWN_TIMEOUT_MS: '600000' })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const res = await send(agent, gw.url, 'GET', '/mailboxes')
  t.equal(res.status, 200)
  const socket = await idleSocket(agent)
  t.ok(socket, 'the keep-alive connection stays open, idle')
  const socketClosed = socket !== undefined ? once(socket, 'close') : Promise.resolve()
  gw.child.kill('SIGTERM')
  t.same(await gw.exited(), { code: 0, signal: null }, 'exits 0 on its own')
  await socketClosed
  t.match(gw.output(), /"msg":"server closed"/, 'after closing the backends and the simulators')
})
