/**
 * Errors name the right party. A 4xx only when the caller's input caused it; when the gateway
 * produced the offending value (a well-known folder spelled as a DistinguishedFolderId or resolved
 * to an id, a change key it read itself, the root it looks up on its own), the answer is a 5xx
 * carrying the backend's code in `upstreamCode`. The simulators play real servers' refusals
 * through their fault knobs (EwsFaults.messages, GraphFaults.reject).
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

const ews = encodeURIComponent(MAILBOXES.ews.primary)
const graph = encodeURIComponent(MAILBOXES.graph.primary)

interface Problem { code: string, status: number, upstreamCode?: string, detail?: string }
interface ItemError { code: string, status: number, upstreamCode?: string, message: string }
interface ItemResult { error?: ItemError, itemId?: string }
type App = TestGateway['app']
type Res = Awaited<ReturnType<App['inject']>>

/** One exported item of the mailbox's inbox, as import data. */
async function firstItemId (app: App, mbx: string): Promise<string> {
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=1` })
  return json<{ items: Array<{ id: string }> }>(res).items[0].id
}

async function oneItem (app: App, mbx: string): Promise<string> {
  const payload = { itemIds: [await firstItemId(app, mbx)] }
  const res = await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload })
  return json<{ results: Array<{ data: string }> }>(res).results[0].data
}

async function createFolder (app: App, mbx: string, payload: { displayName: string, parentId?: string }): Promise<Res> {
  return await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/folders`, payload })
}

async function importOne (app: App, mbx: string, folderId: string, data: string): Promise<ItemResult> {
  const payload = { items: [{ folderId, mode: 'create', data }] }
  const res = await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:import`, payload })
  if (res.statusCode !== 200) throw new Error(`import answered ${res.statusCode}: ${res.body}`)
  return json<{ results: ItemResult[] }>(res).results[0]
}

t.test('EWS: a well-known name the server rejects as a malformed id is the backend\'s fault (502)', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.ews.faults.messages.push({ distinguished: 'inbox', code: 'ErrorInvalidIdMalformed', count: 10 })
  const urls = ['folders/inbox', 'folders/inbox/items', 'folders?parentId=inbox'].map((p) => `/mailboxes/${ews}/${p}`)
  for (const url of urls) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 502, `${url}: ${res.body}`)
    t.match(json<Problem>(res), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorInvalidIdMalformed' })
  }
  // A caller's own malformed id is still the caller's.
  sims.ews.faults.messages.length = 0
  sims.ews.faults.messages.push({ op: 'GetFolder', code: 'ErrorInvalidIdMalformed', count: 1 })
  const own = await app.inject({ method: 'GET', url: `/mailboxes/${ews}/folders/AAMkAGI2AAA` })
  t.equal(own.statusCode, 400, own.body)
  t.match(json<Problem>(own), { code: 'MBG_ERR_ID_MALFORMED', upstreamCode: 'ErrorInvalidIdMalformed' })
})

t.test('EWS: the root the gateway looks up itself: malformed or missing is a 502', async (t) => {
  for (const code of ['ErrorInvalidIdMalformed', 'ErrorFolderNotFound']) {
    const { app, sims } = await buildTestGateway(t)
    sims.ews.faults.messages.push({ distinguished: 'msgfolderroot', code, count: 10 })
    const res = await app.inject({ method: 'GET', url: `/mailboxes/${ews}` })
    t.equal(res.statusCode, 502, `${code}: ${res.body}`)
    t.match(json<Problem>(res), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: code })
  }
})

t.test('EWS: rename re-reads a change key the server refuses and retries once', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const created = json<{ id: string }>(await createFolder(app, ews, { displayName: 'Blame A' }))
  const rename = async (displayName: string): Promise<Res> =>
    await app.inject({ method: 'PATCH', url: `/mailboxes/${ews}/folders/${created.id}`, payload: { displayName } })
  for (const code of ['ErrorInvalidChangeKey', 'ErrorIrresolvableConflict']) {
    sims.ews.faults.messages.push({ op: 'UpdateFolder', code, count: 1 })
    const before = sims.ews.stats.byOperation.UpdateFolder ?? 0
    const res = await rename(`Renamed after ${code}`)
    t.equal(res.statusCode, 200, `${code}: ${res.body}`)
    t.equal(json<{ displayName: string }>(res).displayName, `Renamed after ${code}`)
    t.equal((sims.ews.stats.byOperation.UpdateFolder ?? 0) - before, 2, 'one retry')
  }
  // Refused again after the re-read: a conflict, never a 400 for a key the caller did not send.
  sims.ews.faults.messages.push({ op: 'UpdateFolder', code: 'ErrorInvalidChangeKey', count: 2 })
  const before = sims.ews.stats.byOperation.UpdateFolder ?? 0
  const res = await rename('Never')
  t.equal(res.statusCode, 409, res.body)
  t.match(json<Problem>(res), { code: 'MBG_ERR_CHANGE_KEY_CONFLICT', upstreamCode: 'ErrorInvalidChangeKey' })
  t.equal((sims.ews.stats.byOperation.UpdateFolder ?? 0) - before, 2, 'exactly one retry')
})

t.test('EWS: the id a well-known folder was resolved to, refused by the server, is a 502', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const data = await oneItem(app, ews)
  sims.ews.faults.messages.push({ op: 'UploadItems', code: 'ErrorInvalidIdMalformed', count: 1 })
  const wk = await importOne(app, ews, 'inbox', data)
  t.match(wk.error, { code: 'MBG_ERR_UPSTREAM_REJECTED', status: 502, upstreamCode: 'ErrorInvalidIdMalformed' })
  sims.ews.faults.messages.push({ op: 'CreateFolder', code: 'ErrorInvalidIdMalformed', count: 1 })
  const folder = await createFolder(app, ews, { displayName: 'Blame B', parentId: 'inbox' })
  t.equal(folder.statusCode, 502, folder.body)
  t.match(json<Problem>(folder), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorInvalidIdMalformed' })
  // A folder id the caller sent stays the caller's.
  const target = json<{ id: string }>(await createFolder(app, ews, { displayName: 'Blame C' }))
  sims.ews.faults.messages.push({ op: 'UploadItems', code: 'ErrorInvalidIdMalformed', count: 1 })
  const own = await importOne(app, ews, target.id, data)
  t.match(own.error, { code: 'MBG_ERR_ID_MALFORMED', status: 400, upstreamCode: 'ErrorInvalidIdMalformed' })
})

t.test('EWS: an item the server cannot export is not the caller\'s data problem', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const payload = { itemIds: [await firstItemId(app, ews)] }
  sims.ews.faults.messages.push({ op: 'ExportItems', code: 'ErrorCorruptData', count: 1 })
  const res = await app.inject({ method: 'POST', url: `/mailboxes/${ews}/items:export`, payload })
  t.equal(res.statusCode, 200, res.body)
  t.match(json<{ results: ItemResult[] }>(res).results[0].error,
    { code: 'MBG_ERR_UPSTREAM_REJECTED', status: 502, upstreamCode: 'ErrorCorruptData' })
})

t.test('EWS: a folder name the caller chose and the server refuses is the caller\'s (400)', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.ews.faults.messages.push({ op: 'CreateFolder', code: 'ErrorInvalidValueForProperty', count: 1 })
  const res = await createFolder(app, ews, { displayName: 'Refused name' })
  t.equal(res.statusCode, 400, res.body)
  t.match(json<Problem>(res),
    { code: 'MBG_ERR_BAD_REQUEST', upstreamCode: 'ErrorInvalidValueForProperty', detail: /Refused name/ })
})

t.test('Graph: a well-known name the server rejects as a malformed id is a 502', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${graph}` })).statusCode, 200, 'discovery first')
  sims.graph.faults.only = ['/folders/inbox']
  sims.graph.faults.reject = { status: 400, code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.', count: 10 }
  for (const url of [`/mailboxes/${graph}/folders/inbox`, `/mailboxes/${graph}/folders/inbox/items`]) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 502, `${url}: ${res.body}`)
    t.match(json<Problem>(res), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorInvalidIdMalformed' })
  }
})

t.test('Graph: the root and resolved well-known ids are the gateway\'s values', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${graph}` })).statusCode, 200, 'discovery first')
  sims.graph.faults.only = ['/folders/msgfolderroot']
  sims.graph.faults.reject = { status: 404, code: 'ErrorItemNotFound', count: 10 }
  const list = await app.inject({ method: 'GET', url: `/mailboxes/${graph}/folders` })
  t.equal(list.statusCode, 502, list.body)
  t.match(json<Problem>(list), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorItemNotFound' })
  sims.graph.faults.reject.count = 0

  // inbox resolved to its id, then a child folder created under that id
  sims.graph.faults.only = ['/childFolders']
  sims.graph.faults.reject = { status: 400, code: 'ErrorInvalidIdMalformed', count: 1 }
  const folder = await createFolder(app, graph, { displayName: 'Blame G', parentId: 'inbox' })
  t.equal(folder.statusCode, 502, folder.body)
  t.match(json<Problem>(folder), { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorInvalidIdMalformed' })
})

t.test('Graph import: a refused well-known folder id or an unknown refusal is a 502', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const data = await oneItem(app, graph)
  sims.graph.faults.only = ['/importItem']
  sims.graph.faults.reject = { status: 400, code: 'unused', message: 'The FolderId is malformed.', count: 1 }
  const wk = await importOne(app, graph, 'inbox', data)
  t.match(wk.error, { code: 'MBG_ERR_UPSTREAM_REJECTED', status: 502 })
  sims.graph.faults.reject = { status: 400, code: 'unused', message: 'Something the gateway has never seen.', count: 1 }
  const unknown = await importOne(app, graph, 'inbox', data)
  t.match(unknown.error, { code: 'MBG_ERR_UPSTREAM_REJECTED', status: 502 })
  // A missing folder is still named as the caller named it.
  const notFound = 'The specified folder could not be found in the store.'
  sims.graph.faults.reject = { status: 404, code: 'unused', message: notFound, count: 1 }
  const missing = await importOne(app, graph, 'inbox', data)
  t.match(missing.error, { code: 'MBG_ERR_FOLDER_NOT_FOUND', status: 404, message: /inbox/ })
})
