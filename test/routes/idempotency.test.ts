/**
 * Idempotency-Key on items:import and folder creation, against the real simulators, both backends:
 * a repeat replays the first answer and writes nothing; another body is a 422; a repeat while the
 * first runs is a 409; scopes are per mailbox; keys expire; bad keys are 400; no key, no change.
 * Items are counted by listing the target folder through the gateway.
 */
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway, TEST_API_KEY } from '../helper.js'
import { MemoryIdempotencyStore } from '../../src/state/memory.js'
import type { IdempotencyBegin } from '../../src/state/store.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { CALLER_SCOPES } from '../../src/config.js'

type Backend = 'ews' | 'graph'
const BACKENDS: Backend[] = ['ews', 'graph']

interface ImportBody { items: Array<{ folderId: string, mode: 'create', data: string, source?: string }> }

const mbx = (address: string): string => encodeURIComponent(address)

/** A new folder below the inbox; its id. */
async function newFolder (gw: TestGateway, mailbox: string, name: string): Promise<string> {
  const res = await gw.app.inject({
    method: 'POST', url: `/mailboxes/${mbx(mailbox)}/folders`, payload: { displayName: name, parentId: 'inbox' }
  })
  if (res.statusCode !== 201) throw new Error(`folder ${name}: ${res.statusCode} ${res.body}`)
  return json<{ id: string }>(res).id
}

async function countItems (gw: TestGateway, mailbox: string, folder: string): Promise<number> {
  const res = await gw.app.inject({ url: `/mailboxes/${mbx(mailbox)}/folders/${folder}/items?pageSize=1000` })
  if (res.statusCode !== 200) throw new Error(`listing: ${res.statusCode} ${res.body}`)
  return json<{ items: unknown[] }>(res).items.length
}

/** An import body of `n` real item streams (exported from the mailbox's inbox) into `folder`. */
async function importBody (gw: TestGateway, mailbox: string, folder: string, n = 2): Promise<ImportBody> {
  const listed = json<{ items: Array<{ id: string }> }>(
    await gw.app.inject({ url: `/mailboxes/${mbx(mailbox)}/folders/inbox/items?pageSize=${n}` }))
  const exported = json<{ results: Array<{ data: string, source: string }> }>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${mbx(mailbox)}/items:export`, payload: { itemIds: listed.items.map((i) => i.id) }
  }))
  return { items: exported.results.map((r) => ({ folderId: folder, mode: 'create', data: r.data, source: r.source })) }
}

async function importWith (gw: TestGateway, mailbox: string, body: unknown, key?: string) {
  return await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${mbx(mailbox)}/items:import`,
    headers: key !== undefined ? { 'idempotency-key': key } : {},
    payload: body as object
  })
}

/** A store that tells when a key was claimed. */
class WatchedStore extends MemoryIdempotencyStore {
  started = 0
  override async begin (key: string, fingerprint: string): Promise<IdempotencyBegin> {
    const found = await super.begin(key, fingerprint)
    if (found.status === 'started') this.started++
    return found
  }
}

async function until (what: string, test: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await test()); waited += 20) {
    if (waited > 60_000) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function setDelay (gw: TestGateway, backend: Backend, ms: number): void {
  if (backend === 'ews') gw.sims.ews.faults.delayMs = ms
  else gw.sims.graph.faults.delayMs = ms
}

for (const backend of BACKENDS) {
  const { primary, other } = MAILBOXES[backend]

  t.test(`${backend}: a repeat with the same key and body replays the answer and imports nothing`, async (t) => {
    const gw = await buildTestGateway(t)
    const folder = await newFolder(gw, primary, `idem replay ${backend}`)
    const body = await importBody(gw, primary, folder)

    const first = await importWith(gw, primary, body, '"replay-1"')
    t.equal(first.statusCode, 200, first.body)
    t.equal(json(first).succeeded, 2)
    t.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is no replay')
    t.equal(await countItems(gw, primary, folder), 2)

    const again = await importWith(gw, primary, body, '"replay-1"')
    t.equal(again.statusCode, 200)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.body, first.body, 'byte-identical body')
    t.equal(again.headers['content-type'], first.headers['content-type'])
    t.equal(await countItems(gw, primary, folder), 2, 'nothing imported again')

    // The same key, bare instead of quoted, to the same mailbox named by its id: the same request.
    const id = json<{ id: string }>(await gw.app.inject({ url: `/mailboxes/${mbx(primary)}` })).id
    const byId = await importWith(gw, id, body, 'replay-1')
    t.equal(byId.headers['idempotent-replayed'], 'true', 'scoped by the resolved mailbox, key unquoted')
    t.equal(byId.body, first.body)
    t.equal(await countItems(gw, primary, folder), 2)
  })

  t.test(`${backend}: the same key with another body is a 422 and imports nothing`, async (t) => {
    const gw = await buildTestGateway(t)
    const folder = await newFolder(gw, primary, `idem reuse ${backend}`)
    const body = await importBody(gw, primary, folder)
    t.equal((await importWith(gw, primary, body, 'reuse-1')).statusCode, 200)

    const changed = { items: body.items.slice(0, 1) }
    const res = await importWith(gw, primary, changed, 'reuse-1')
    t.equal(res.statusCode, 422)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(json(res).code, 'MBG_ERR_IDEMPOTENCY_KEY_REUSED')
    t.equal(await countItems(gw, primary, folder), 2, 'nothing imported')

    // The same key on another operation of the same mailbox is another request too.
    const create = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx(primary)}/folders`,
      headers: { 'idempotency-key': 'reuse-1' },
      payload: { displayName: `idem reuse other ${backend}`, parentId: 'inbox' }
    })
    t.equal(create.statusCode, 422)
    t.equal(json(create).code, 'MBG_ERR_IDEMPOTENCY_KEY_REUSED')
  })

  t.test(`${backend}: a repeat while the first request runs is a 409 with Retry-After`, async (t) => {
    const store = new WatchedStore()
    const gw = await buildTestGateway(t, { idempotency: { store } })
    const folder = await newFolder(gw, primary, `idem busy ${backend}`)
    const body = await importBody(gw, primary, folder)

    setDelay(gw, backend, 4000)
    const first = importWith(gw, primary, body, 'busy-1')
    await until('the first request to claim its key', () => store.started === 1)
    const second = await importWith(gw, primary, body, 'busy-1')
    t.equal(second.statusCode, 409, second.body)
    t.equal(json(second).code, 'MBG_ERR_IDEMPOTENCY_KEY_IN_USE')
    t.ok(Number(second.headers['retry-after']) >= 1, 'Retry-After')
    t.equal(json(second).retryAfter, Number(second.headers['retry-after']))
    setDelay(gw, backend, 0)

    const done = await first
    t.equal(done.statusCode, 200)
    const third = await importWith(gw, primary, body, 'busy-1')
    t.equal(third.headers['idempotent-replayed'], 'true', 'once done, the repeat gets the answer')
    t.equal(third.body, done.body)
    t.equal(await countItems(gw, primary, folder), 2, 'imported once')
  })

  t.test(`${backend}: a caller who goes away does not cut a keyed import; the retry gets its answer`, async (t) => {
    const store = new WatchedStore()
    const gw = await buildTestGateway(t, { idempotency: { store } })
    const folder = await newFolder(gw, primary, `idem gone ${backend}`)
    const body = await importBody(gw, primary, folder, 3)
    await gw.app.listen({ port: 0, host: '127.0.0.1' })
    const address = gw.app.server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0

    setDelay(gw, backend, 1500)
    const req = httpRequest({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: `/mailboxes/${mbx(primary)}/items:import`,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', 'idempotency-key': 'gone-1' }
    })
    req.on('error', () => {})
    req.end(JSON.stringify(body))
    await until('the request to claim its key', () => store.started === 1)
    req.destroy()
    if (!req.destroyed) await once(req, 'close')
    await until('the caller going away to be seen', () => gw.logs.some((l) => l.includes('caller went away')))
    setDelay(gw, backend, 0)

    let retry = await importWith(gw, primary, body, 'gone-1')
    for (let waited = 0; retry.statusCode === 409 && waited < 60_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      retry = await importWith(gw, primary, body, 'gone-1')
    }
    t.equal(retry.statusCode, 200, retry.body)
    t.equal(retry.headers['idempotent-replayed'], 'true', 'the first run finished and its answer was kept')
    t.equal(json(retry).succeeded, 3)
    t.equal(await countItems(gw, primary, folder), 3, 'every item imported once')
  })

  t.test(`${backend}: the same key in another mailbox is another request`, async (t) => {
    const gw = await buildTestGateway(t)
    const mine = await newFolder(gw, primary, `idem scope ${backend}`)
    const theirs = await newFolder(gw, other, `idem scope ${backend}`)
    const a = await importWith(gw, primary, await importBody(gw, primary, mine), 'shared-1')
    const b = await importWith(gw, other, await importBody(gw, other, theirs), 'shared-1')
    t.equal(a.statusCode, 200)
    t.equal(b.statusCode, 200, b.body)
    t.equal(b.headers['idempotent-replayed'], undefined)
    t.equal(await countItems(gw, primary, mine), 2)
    t.equal(await countItems(gw, other, theirs), 2)
  })

  t.test(`${backend}: the same key and body from another client is another request, never a replay`, async (t) => {
    const otherKey = generateApiKey()
    const gw = await buildTestGateway(t, {
      auth: (auth) => {
        auth.clients.push({
          name: 'other-client',
          apiKeys: [{ id: 'o', sha256: hashApiKey(otherKey) }],
          appIds: [],
          scopes: [...CALLER_SCOPES],
          mailboxes: ['*']
        })
      }
    })
    const folder = await newFolder(gw, primary, `idem clients ${backend}`)
    const body = await importBody(gw, primary, folder)
    const a = await importWith(gw, primary, body, 'client-scope-1')
    const b = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx(primary)}/items:import`,
      headers: { 'idempotency-key': 'client-scope-1', 'x-api-key': otherKey },
      payload: body as object
    })
    t.equal(a.statusCode, 200)
    t.equal(b.statusCode, 200, b.body)
    t.equal(b.headers['idempotent-replayed'], undefined, 'another client never gets the first one\'s answer')
    t.equal(await countItems(gw, primary, folder), 4, 'both ran')
  })

  t.test(`${backend}: a recorded answer expires after the time to live`, async (t) => {
    let now = Date.parse('2026-07-01T00:00:00Z')
    const gw = await buildTestGateway(t, { idempotency: { ttlMs: 60_000, now: () => now } })
    const folder = await newFolder(gw, primary, `idem expiry ${backend}`)
    const body = await importBody(gw, primary, folder, 1)
    const first = await importWith(gw, primary, body, 'ttl-1')
    t.equal(first.statusCode, 200)

    now += 59_999
    const kept = await importWith(gw, primary, body, 'ttl-1')
    t.equal(kept.headers['idempotent-replayed'], 'true', 'kept until the time to live is over')
    t.equal(await countItems(gw, primary, folder), 1)

    now += 1
    const expired = await importWith(gw, primary, body, 'ttl-1')
    t.equal(expired.statusCode, 200)
    t.equal(expired.headers['idempotent-replayed'], undefined, 'expired: run again')
    t.not(expired.body, first.body)
    t.equal(await countItems(gw, primary, folder), 2)
  })

  t.test(`${backend}: an invalid key is a 400 and imports nothing`, async (t) => {
    const gw = await buildTestGateway(t)
    const folder = await newFolder(gw, primary, `idem invalid ${backend}`)
    const body = await importBody(gw, primary, folder, 1)
    const invalid: Array<[string, string]> = [
      ['empty', ''],
      ['empty quoted', '""'],
      ['256 characters', 'k'.repeat(256)],
      ['256 characters quoted', `"${'k'.repeat(256)}"`],
      ['not ASCII', 'clé-1'],
      ['unterminated quoted string', '"abc'],
      ['bad escape', '"a\\b"']
    ]
    for (const [why, key] of invalid) {
      const res = await importWith(gw, primary, body, key)
      t.equal(res.statusCode, 400, `${why}: 400`)
      t.equal(json(res).code, 'MBG_ERR_BAD_REQUEST', why)
      t.match(json(res).detail, /Idempotency-Key/, why)
    }
    t.equal(await countItems(gw, primary, folder), 0)
    const longest = await importWith(gw, primary, body, `"${'k'.repeat(255)}"`)
    t.equal(longest.statusCode, 200, '255 characters are fine')
  })

  t.test(`${backend}: without a key, every request runs`, async (t) => {
    const gw = await buildTestGateway(t)
    const folder = await newFolder(gw, primary, `idem none ${backend}`)
    const body = await importBody(gw, primary, folder)
    const a = await importWith(gw, primary, body)
    const b = await importWith(gw, primary, body)
    t.equal(a.statusCode, 200)
    t.equal(b.statusCode, 200)
    t.equal(b.headers['idempotent-replayed'], undefined)
    t.not(a.body, b.body)
    t.equal(await countItems(gw, primary, folder), 4)
  })

  t.test(`${backend}: folder creation with a key`, async (t) => {
    const gw = await buildTestGateway(t)
    const create = async (name: string, key?: string) => await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx(primary)}/folders`,
      headers: key !== undefined ? { 'idempotency-key': key } : {},
      payload: { displayName: name, parentId: 'inbox' }
    })
    const children = async (name: string): Promise<Array<{ id: string }>> => {
      const res = await gw.app.inject({ url: `/mailboxes/${mbx(primary)}/folders?parentId=inbox&pageSize=1000` })
      return json<{ folders: Array<{ id: string, displayName: string }> }>(res).folders
        .filter((f) => f.displayName === name)
    }

    const first = await create('idem folder', 'folder-1')
    t.equal(first.statusCode, 201)
    const again = await create('idem folder', 'folder-1')
    t.equal(again.statusCode, 201, 'replayed, not 409 MBG_ERR_FOLDER_EXISTS')
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.headers.location, first.headers.location)
    t.equal(again.body, first.body)
    t.equal((await children('idem folder')).length, 1)

    // A problem that means "not done" frees the key: the same request may be sent again with it.
    const taken = await create('idem taken')
    t.equal(taken.statusCode, 201)
    const refused = await create('idem taken', 'folder-2')
    t.equal(refused.statusCode, 409)
    t.equal(json(refused).code, 'MBG_ERR_FOLDER_EXISTS')
    const del = await gw.app.inject({
      method: 'DELETE', url: `/mailboxes/${mbx(primary)}/folders/${json<{ id: string }>(taken).id}`
    })
    t.equal(del.statusCode, 204)
    const retried = await create('idem taken', 'folder-2')
    t.equal(retried.statusCode, 201, 'the key was freed, not bound to the 409')
    t.equal(retried.headers['idempotent-replayed'], undefined)
    t.equal((await children('idem taken')).length, 1)
  })
}

/**
 * Sends `lines` (request line and header lines) and `body` over a raw socket, so a header can be given on two
 * lines; the answer's status and body (the gateway answers with Content-Length; the socket closes after it).
 */
async function rawRequest (port: number, lines: string[], body: string): Promise<{ status: number, body: string }> {
  const socket = connect({ port, host: '127.0.0.1' })
  let text = ''
  socket.on('data', (c: Buffer) => { text += c.toString() })
  // Written, not ended: a half-closed socket would count as a caller gone away.
  socket.write([...lines, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n'))
  await once(socket, 'close')
  const split = text.indexOf('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0), body: split < 0 ? '' : text.slice(split + 4) }
}

t.test('Idempotency-Key on two header lines is a 400, not one key "k1, k2"', async (t) => {
  const gw = await buildTestGateway(t)
  const { primary } = MAILBOXES.ews
  const folder = await newFolder(gw, primary, 'idem twice')
  const body = JSON.stringify(await importBody(gw, primary, folder, 1))
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const address = gw.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const heads = [
    ['same case', 'Idempotency-Key: k1', 'Idempotency-Key: k2'],
    ['other case', 'Idempotency-Key: k1', 'idempotency-KEY: k2'],
    ['same key twice', 'idempotency-key: k1', 'idempotency-key: k1']
  ]
  for (const [why, ...keys] of heads) {
    const res = await rawRequest(port, [
      `POST /mailboxes/${mbx(primary)}/items:import HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json',
      `X-API-Key: ${TEST_API_KEY}`, ...keys
    ], body)
    t.equal(res.status, 400, `${why}: 400`)
    t.match(res.body, /"code":"MBG_ERR_BAD_REQUEST"/, why)
    t.match(res.body, /Idempotency-Key is given more than once/, why)
  }
  t.equal(await countItems(gw, primary, folder), 0, 'nothing imported')
  const joined = await importWith(gw, primary, JSON.parse(body), 'k1, k2')
  t.equal(joined.statusCode, 200, 'one line holding a comma is one key')
})

t.test('the header is documented on both operations', async (t) => {
  const gw = await buildTestGateway(t)
  type Operation = { parameters?: Array<{ in: string, name: string }> }
  const doc = gw.app.swagger() as { paths: Record<string, { post?: Operation }> }
  for (const path of ['/mailboxes/{mailbox}/items:import', '/mailboxes/{mailbox}/folders']) {
    const params = doc.paths[path]?.post?.parameters ?? []
    t.ok(params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'), `POST ${path}`)
  }
})

t.test('a store that cannot record does not fail the answer; the key stays held until its lease ends', async (t) => {
  class FailingStore extends MemoryIdempotencyStore {
    override async complete (): Promise<boolean> { throw new Error('state store unreachable') }
  }
  const gw = await buildTestGateway(t, { idempotency: { store: new FailingStore() } })
  const { primary } = MAILBOXES.ews
  const folder = await newFolder(gw, primary, 'idem store down')
  const body = await importBody(gw, primary, folder, 1)
  const res = await importWith(gw, primary, body, 'down-1')
  t.equal(res.statusCode, 200, 'the answer goes out')
  t.ok(gw.logs.some((l) => l.includes('idempotency key could not be settled') && l.includes('state store unreachable')))
  const again = await importWith(gw, primary, body, 'down-1')
  t.equal(again.statusCode, 409, 'not run twice: the key is held, not freed')
  t.equal(await countItems(gw, primary, folder), 1)
})
