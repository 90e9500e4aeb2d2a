/**
 * OpenAPI-driven fuzzing (issue 9): thousands of malformed and boundary requests, generated from
 * openapi/openapi.json by test/helpers/fuzz.ts with fast-check, against the real gateway over the
 * real simulators. Every answer must be a status the document lists for the operation (or one of
 * Fastify's own: 400, 404, 405, 413, 415), problem+json for every 4xx, never a 5xx; the gateway stays
 * up and keeps serving valid requests; Object.prototype gains nothing; and the simulator store does
 * not change under requests the gateway must refuse. Requests that may be valid and write go to a
 * second gateway, whose store may change.
 *
 * Seeded: FUZZ_SEED (default below) and FUZZ_RUNS override; the seed is printed, and a failure names
 * the exact request (fast-check shrinks it first) and how to replay just it (FUZZ_SEED and FUZZ_PATH).
 * FUZZ_COLLECT=1 lists every failing request instead of stopping at the first.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestGateway, json, MAILBOXES, TEST_API_KEY, type TestGateway } from '../helper.js'
import {
  FRAMEWORK_STATUSES, OPERATIONS, operationOf, requestArb, showRequest, credentialsFor,
  type Baseline, type Credential, type FuzzRequest
} from '../helpers/fuzz.js'
import { clientCredentialsToken } from '../helpers/tokens.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { DEMO_CREDENTIALS } from '../../src/simulators/index.js'
import type { AuthSettings } from '../../src/config.js'
import { encodeItemStream, PROP, PT_UNICODE_CP1200 } from '../../src/simulators/store/fts.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20260109)
const RUNS = Number(process.env.FUZZ_RUNS ?? 5200)
/** FUZZ_COLLECT=1: list every failing request instead of stopping (and shrinking) at the first. */
const COLLECT = process.env.FUZZ_COLLECT === '1'

const READ_ONLY_KEY = generateApiKey()
/** Requests of the suite itself (baseline, liveness checks) carry the demo client's key. */
const AUTH = { 'x-api-key': TEST_API_KEY }

/** The fuzz gateways' clients: the demo one, plus one that may only read. */
function withReader (auth: AuthSettings): void {
  auth.clients.push({
    name: 'reader', apiKeys: [{ id: 'r', sha256: hashApiKey(READ_ONLY_KEY) }], appIds: [], scopes: ['mailboxes:read'], mailboxes: ['*']
  })
}

/** Cheap per-request check: every change to the store advances its sequence or its counts. */
function signature (store: MailboxStore): string {
  return `${store.sequence}/${store.items.size}/${store.folders.size}`
}

/** Everything a request could change, hashed. */
function storeHash (store: MailboxStore): string {
  const h = createHash('sha256')
  for (const f of store.folders.values()) {
    h.update(JSON.stringify([f.id, f.displayName, f.parentId, f.folderClass, f.changeKey, f.childIds.length,
      f.itemIds.length]))
  }
  for (const i of store.items.values()) h.update(JSON.stringify([i.id, i.folderId, i.changeKey, i.isRead]))
  for (const m of store.mailboxes.values()) h.update(`${m.guid}:${m.log.length}`)
  return h.digest('hex')
}

function prototypeKeys (): string {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype]
    .map((p) => Object.getOwnPropertyNames(p).sort().join(',')).join('|')
}

async function baselineOf (gw: TestGateway): Promise<Baseline> {
  const mailboxes = [MAILBOXES.ews.primary, MAILBOXES.graph.primary]
  const folderIds: string[] = []
  const itemIds: string[] = []
  const scratchFolderIds: string[] = []
  for (const mbx of mailboxes) {
    const m = encodeURIComponent(mbx)
    const inbox = json<{ id: string }>(await gw.app.inject({ url: `/mailboxes/${m}/folders/inbox`, headers: AUTH }))
    folderIds.push(inbox.id)
    const items = json<{ items: Array<{ id: string, size: number }> }>(
      await gw.app.inject({ url: `/mailboxes/${m}/folders/inbox/items?pageSize=20`, headers: AUTH })).items
    itemIds.push(items.reduce((a, b) => (b.size < a.size ? b : a)).id)
    const created = await gw.app.inject({
      method: 'POST', url: `/mailboxes/${m}/folders`, payload: { displayName: 'Fuzz scratch' }, headers: AUTH
    })
    scratchFolderIds.push(json<{ id: string }>(created).id)
  }
  const importData = encodeItemStream({
    props: [
      { type: PT_UNICODE_CP1200, id: PROP.MessageClass, value: 'IPM.Note' },
      { type: PT_UNICODE_CP1200, id: PROP.Subject, value: 'fuzz' }
    ],
    recipients: [],
    attachments: []
  }).toString('base64')
  return { mailboxes, folderIds, itemIds, scratchFolderIds, importData }
}

/** Why an answer breaks the rules, or undefined. */
function violation (r: FuzzRequest, res: LightMyRequestResponse, credentials: Credential[]): string | undefined {
  const status = res.statusCode
  const path = r.url.split('?')[0]
  const op = operationOf(r.method, path)
  // The one 5xx a valid request may get: 501 MBG_ERR_NOT_SUPPORTED where the operation documents it (a Graph
  // mailbox has no item move). Its code is checked below with every problem's.
  const notSupported = status === 501 && op?.statuses.includes(501) === true &&
    (JSON.parse(res.body) as { code?: unknown }).code === 'MBG_ERR_NOT_SUPPORTED'
  if (status >= 500 && !notSupported) return `a ${status}`
  const credential = credentials.find((c) => c.name === r.credential)
  const allowed = new Set([...(op?.statuses ?? []), ...FRAMEWORK_STATUSES, ...(credential?.statuses ?? [])])
  if (!allowed.has(status)) return `status ${status} is not documented for ${op?.name ?? 'an unknown route'}`
  if (status >= 400) {
    const type = String(res.headers['content-type'] ?? '')
    if (!type.startsWith('application/problem+json')) return `a ${status} with content-type ${type}`
    if (r.method !== 'HEAD') {
      let problem: { status?: unknown, code?: unknown }
      try { problem = JSON.parse(res.body) as typeof problem } catch { return `a ${status} whose body is not JSON` }
      if (problem.status !== status || typeof problem.code !== 'string') {
        return `a ${status} problem without status/code`
      }
    }
  }
  if (!r.safe) return undefined
  if (status < 300 && op?.writes === true) return `a ${status}: a request that must be refused was accepted`
  return undefined
}

t.test('generated malformed and boundary requests: documented statuses, problem+json, no 5xx, store unchanged',
  async (t) => {
    t.comment(`fuzz seed ${SEED} (FUZZ_SEED overrides), ${RUNS} generated requests (FUZZ_RUNS)`)
    const main = await buildTestGateway(t, { credentials: false, auth: withReader })
    const second = await buildTestGateway(t, { credentials: false, auth: withReader })
    const credentials = credentialsFor({
      apiKey: TEST_API_KEY,
      bearer: await clientCredentialsToken(main.sims, DEMO_CREDENTIALS.caller),
      readOnlyKey: READ_ONLY_KEY,
      wrongAudience: await clientCredentialsToken(main.sims, DEMO_CREDENTIALS.app, 'https://graph.microsoft.com/.default')
    })
    const secondBearer = await clientCredentialsToken(second.sims, DEMO_CREDENTIALS.caller)
    for (const gw of [main, second]) {
      // Readiness answers 503 until the backends' start-up checks have passed.
      gw.app.backendHealth.start()
      await gw.app.backendHealth.firstChecks()
    }
    const baseline = await baselineOf(main)
    const other = await baselineOf(second)
    t.same(other, baseline, 'both gateways serve the same ids (the seed data and the run\'s folders)')
    const before = storeHash(main.sims.store)
    const proto = prototypeKeys()
    const counts = new Map<string, Map<number, number>>()
    const generated = new Map<string, number>()
    let sentToSecond = 0
    let checks = 0
    let sent = 0
    const collected: string[] = []

    const alive = async (gw: TestGateway): Promise<void> => {
      const mailbox = encodeURIComponent(baseline.mailboxes[checks++ % 2])
      const res = await gw.app.inject({ url: `/mailboxes/${mailbox}/folders/inbox`, headers: AUTH })
      if (res.statusCode !== 200) {
        throw new Error(`a valid request failed afterwards: ${res.statusCode} ${res.body.slice(0, 300)}`)
      }
    }

    const property = fc.asyncProperty(requestArb(baseline, credentials), async (r) => {
      const gw = r.safe ? main : second
      const sig = signature(gw.sims.store)
      let res: LightMyRequestResponse
      try {
        // Each gateway has its own identity simulator: the second one's bearer token is its own.
        const headers = gw === second && r.credential === 'bearer'
          ? { ...r.headers, authorization: `Bearer ${secondBearer}` }
          : r.headers
        res = await gw.app.inject({
          method: r.method as 'GET',
          url: r.url,
          headers,
          ...(r.payload !== undefined ? { payload: r.payload } : {})
        })
      } catch (err) {
        throw new Error(`the request failed: ${(err as Error).stack ?? String(err)}\n${showRequest(r)}`)
      }
      generated.set(r.op, (generated.get(r.op) ?? 0) + 1)
      // Counted by the operation the request reached (a wrong method or suffix reaches none, or another).
      const reached = operationOf(r.method, r.url.split('?')[0])?.name ?? 'no route'
      const byStatus = counts.get(reached) ?? new Map<number, number>()
      byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1)
      counts.set(reached, byStatus)
      if (!r.safe) sentToSecond++
      const answer = `${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 400)}`
      let broken = violation(r, res, credentials)
      if (broken === undefined && r.safe && signature(gw.sims.store) !== sig) {
        broken = 'a refused request changed the store'
      }
      if (broken === undefined && prototypeKeys() !== proto) broken = 'a prototype gained keys'
      if (broken !== undefined) {
        const message = `${broken}\n${showRequest(r)}\nanswer: ${answer}`
        if (!COLLECT) throw new Error(message)
        collected.push(message)
      }
      if (++sent % 100 === 0) await alive(gw)
    })

    const started = Date.now()
    const replay = process.env.FUZZ_PATH
    const details = await fc.check(property, {
      seed: SEED, numRuns: RUNS, endOnFailure: false, ...(replay !== undefined ? { path: replay } : {})
    })
    if (details.failed) {
      t.fail(`fuzz failure (replay: FUZZ_SEED=${SEED} FUZZ_PATH=${String(details.counterexamplePath)}):\n` +
        String(details.errorInstance instanceof Error ? details.errorInstance.message : details.errorInstance))
    }
    for (const message of collected) t.fail(message)
    const total = [...counts.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0)
    const table = [...counts.entries()].sort().map(([op, m]) =>
      `${op}: ${[...m.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`)
    const ms = Date.now() - started
    t.comment(`${total} requests (${sentToSecond} to the second gateway) in ${ms} ms\n${table.join('\n')}`)

    t.ok(details.numRuns >= 5000 || process.env.FUZZ_RUNS !== undefined, `${details.numRuns} generated requests`)
    for (const op of OPERATIONS) {
      const n = generated.get(op.name) ?? 0
      t.ok(n >= Math.min(100, RUNS / 50), `${op.name}: ${n} requests made from it`)
    }
    // 501 MBG_ERR_NOT_SUPPORTED (checked per answer in `violation`) is the answer to a valid Graph move, not a fault.
    const fiveXX = [...counts.entries()].flatMap(([name, m]) => [...m.entries()]
      .filter(([s]) => s >= 500 && !(s === 501 && name.endsWith('/items:move'))).map((e) => [name, ...e]))
    t.same(fiveXX, [], 'no 5xx (but the documented 501 of items:move)')
    t.equal(storeHash(main.sims.store), before, 'the store of the gateway that got only refused requests is unchanged')
    t.equal(prototypeKeys(), proto, 'no prototype gained keys')
    for (const gw of [main, second]) {
      t.equal((await gw.app.inject({ url: '/health/live' })).statusCode, 200, 'still alive')
      const exported = await gw.app.inject({
        method: 'POST',
        url: `/mailboxes/${encodeURIComponent(baseline.mailboxes[0])}/items:export`,
        payload: { itemIds: [baseline.itemIds[0]] },
        headers: AUTH
      })
      t.equal(exported.statusCode, 200, 'a valid export still works')
    }
  })

/** Requests broken at the HTTP level, over a real socket. */
const RAW: string[] = [
  'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
  'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
  'GET /health/live HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n',
  'GET /health/live HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n',
  `GET /health/live HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(70_000)}\r\n\r\n`,
  `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  'GET /mailboxes/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /mailboxes/a b HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET mailboxes HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://evil.example/mailboxes HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /mailboxes/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /mailboxes/..%2F..%2F HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /health/live HTTP/1.1\r\n\r\n',
  'GET /health/live HTTP/1.0\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n' +
    'Content-Length: 3\r\n\r\n{}',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
  'POST /mailboxes/x/items:export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Content-Length: 99999999999999999999\r\n\r\n{}',
  'POST /mailboxes/x/folders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\n' +
    'Content-Encoding: gzip\r\n\r\n{',
  'GET /health/live HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ' GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET  /health/live  HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /health/live HTTP/1.1\nHost: x\n\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
  'GET /health/live HTTP/1.1\r\nHost: x\r\n X: folded\r\n\r\n',
  'GET /health/live HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'
]

/**
 * Sends the bytes and reads the answer's head: the socket is closed once the head is in (or when the server closes
 * it). The request is not ended first: a half-closed socket makes Node drop an answer still being prepared.
 */
async function rawExchange (port: number, request: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(Buffer.from(request, 'latin1')) })
    let out = ''
    socket.on('data', (c: Buffer) => {
      out += c.toString('latin1')
      if (out.includes('\r\n\r\n')) socket.destroy()
    })
    socket.on('close', () => { resolve(out) })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') resolve(out)
      else reject(err)
    })
  })
}

t.test('requests broken at the HTTP level, over a socket: problem+json 4xx, never a 5xx, server stays up',
  async (t) => {
    const gw = await buildTestGateway(t)
    const address = await gw.app.listen({ host: '127.0.0.1', port: 0 })
    const port = Number(new URL(address).port)
    const before = storeHash(gw.sims.store)
    const generated = fc.sample(fc.string({
      unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 200
    }).map((s) => `GET /${s} HTTP/1.1\r\nHost: x\r\n\r\n`), { seed: SEED, numRuns: 50 })
    for (const request of [...RAW, ...generated]) {
      const answer = await rawExchange(port, request)
      const shown = JSON.stringify(request.length > 200 ? `${request.slice(0, 200)}…(${request.length})` : request)
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(answer)?.[1]
      if (status === undefined) {
        // Closing the connection without an answer is allowed only for what is not HTTP/1 at all.
        t.ok(request.startsWith('PRI') || request.startsWith('\x16'), `no HTTP answer to ${shown}`)
        continue
      }
      const n = Number(status)
      t.ok(n < 500, `${n} for ${shown}`)
      if (n >= 400) {
        t.match(answer, /\r\ncontent-type: application\/problem\+json/i, `problem+json for ${shown}`)
      }
    }
    t.equal(storeHash(gw.sims.store), before, 'the store is unchanged')
    const res = await fetch(`${address}/health/live`)
    t.equal(res.status, 200, 'still serving')
  })
