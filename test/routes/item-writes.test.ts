/**
 * Item delete and move (POST …/items:delete, …/items:move) over the real simulators: per-item results in request
 * order, one bad id never failing its neighbours, a move whose answer was lost reported MBG_ERR_OUTCOME_UNKNOWN
 * for its items and not sent again, a delete whose answer was lost sent again and reported done; Graph deletes
 * through the folder and answers 501 MBG_ERR_NOT_SUPPORTED for what its API does not document (move, delete into
 * Deleted Items).
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

const ews = encodeURIComponent(MAILBOXES.ews.primary)
const graph = encodeURIComponent(MAILBOXES.graph.primary)

interface Result { id: string, status?: 'deleted' | 'moved', newId?: string, error?: { code: string, status: number } }
interface Answer { results: Result[], succeeded: number, failed: number }

async function itemIds (gw: TestGateway, mbx: string, folder: string, count: number): Promise<string[]> {
  const res = await gw.app.inject({ url: `/mailboxes/${mbx}/folders/${folder}/items?pageSize=${count}` })
  t.equal(res.statusCode, 200, res.body)
  return json<{ items: Array<{ id: string }> }>(res).items.map((i) => i.id)
}

async function newFolder (gw: TestGateway, mbx: string, displayName: string): Promise<string> {
  const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName } })
  t.equal(res.statusCode, 201, res.body)
  return json<{ id: string }>(res).id
}

async function post (gw: TestGateway, mbx: string, op: 'delete' | 'move', payload: object) {
  return await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:${op}`, payload })
}

/** Every id of a folder (one page is enough for these small folders). */
async function listed (gw: TestGateway, mbx: string, folder: string): Promise<string[]> {
  return await itemIds(gw, mbx, folder, 1000)
}

/** The next `count` calls of `operations` are carried out, then their connection drops before the answer. */
function resetAfter (gw: TestGateway, operations: string[], count: number): void {
  gw.sims.ews.faults.plan.configure({ rules: [{ operations, rate: 1, kinds: ['resetAfter'], count }] })
}

t.test('EWS delete: per-item results in order; a bad id among good ones fails alone', async (t) => {
  const gw = await buildTestGateway(t)
  const [a, b, c] = await itemIds(gw, ews, 'inbox', 3)
  // A well-formed id of an item that is gone: deleted first.
  t.equal(json<Answer>(await post(gw, ews, 'delete', { ids: [c], mode: 'hard' })).succeeded, 1)
  const res = await post(gw, ews, 'delete', { ids: [a, c, 'not~an~id', b], mode: 'hard' })
  t.equal(res.statusCode, 200, res.body)
  const body = json<Answer>(res)
  t.same(body.results.map((r) => r.id), [a, c, 'not~an~id', b], 'one result per id, in request order')
  t.same(body.results.map((r) => r.status ?? r.error?.code),
    ['deleted', 'MBG_ERR_ITEM_NOT_FOUND', 'MBG_ERR_ID_MALFORMED', 'deleted'])
  t.equal(body.results[1].error?.status, 404, 'an already deleted item is its own 404')
  t.same([body.succeeded, body.failed], [2, 2])
  const left = await listed(gw, ews, 'inbox')
  t.notOk(left.includes(a) || left.includes(b) || left.includes(c), 'the deleted items are gone')
})

t.test('EWS delete: modes soft (default) and moveToDeletedItems', async (t) => {
  const gw = await buildTestGateway(t)
  const [a, b] = await itemIds(gw, ews, 'inbox', 2)
  const binBefore = (await listed(gw, ews, 'deleteditems')).length
  const soft = json<Answer>(await post(gw, ews, 'delete', { ids: [a] }))
  t.same(soft.results, [{ id: a, status: 'deleted' }])
  const moved = json<Answer>(await post(gw, ews, 'delete', { ids: [b], mode: 'moveToDeletedItems' }))
  t.same(moved.results, [{ id: b, status: 'deleted' }])
  t.equal((await listed(gw, ews, 'deleteditems')).length, binBefore + 1, 'moveToDeletedItems put it in Deleted Items')
  const bad = await post(gw, ews, 'delete', { ids: [a], mode: 'purge' })
  t.equal(bad.statusCode, 400, 'an unknown mode is a 400')
})

t.test('EWS delete: the answer was lost: sent again, the items are reported deleted', async (t) => {
  const gw = await buildTestGateway(t)
  const ids = await itemIds(gw, ews, 'inbox', 3)
  resetAfter(gw, ['DeleteItem'], 1)
  const before = gw.sims.ews.stats.byOperation.DeleteItem ?? 0
  const res = await post(gw, ews, 'delete', { ids, mode: 'hard' })
  t.equal(res.statusCode, 200, res.body)
  t.same(json<Answer>(res).results.map((r) => r.status), ['deleted', 'deleted', 'deleted'],
    'not found on the second attempt: deleted by the first')
  t.equal((gw.sims.ews.stats.byOperation.DeleteItem ?? 0) - before, 2, 'sent again once (deleting is idempotent)')
  const left = await listed(gw, ews, 'inbox')
  t.notOk(ids.some((id) => left.includes(id)))
})

t.test('EWS move: new ids in the target folder; a bad id fails alone', async (t) => {
  const gw = await buildTestGateway(t)
  const target = await newFolder(gw, ews, 'Moved here')
  const [a, b, c] = await itemIds(gw, ews, 'inbox', 3)
  t.equal(json<Answer>(await post(gw, ews, 'delete', { ids: [b], mode: 'hard' })).succeeded, 1)
  const res = await post(gw, ews, 'move', { ids: [a, b, c], folderId: target })
  t.equal(res.statusCode, 200, res.body)
  const body = json<Answer>(res)
  t.same(body.results.map((r) => r.status ?? r.error?.code), ['moved', 'MBG_ERR_ITEM_NOT_FOUND', 'moved'])
  const newIds = [body.results[0].newId, body.results[2].newId]
  t.ok(newIds.every((id) => typeof id === 'string' && id !== a && id !== c), 'a moved item has a new id')
  t.same((await listed(gw, ews, target)).sort(), [...newIds].sort(), 'the target holds the moved items, by new id')
  const left = await listed(gw, ews, 'inbox')
  t.notOk(left.includes(a) || left.includes(c), 'and the source no longer does')
  // To a well-known folder, and to a folder that does not exist.
  const [d] = await itemIds(gw, ews, 'inbox', 1)
  const toDrafts = json<Answer>(await post(gw, ews, 'move', { ids: [d], folderId: 'drafts' }))
  t.equal(toDrafts.results[0].status, 'moved')
  t.ok((await listed(gw, ews, 'drafts')).includes(toDrafts.results[0].newId as string))
  const removed = await newFolder(gw, ews, 'Removed')
  t.equal((await gw.app.inject({ method: 'DELETE', url: `/mailboxes/${ews}/folders/${removed}` })).statusCode, 204)
  const gone = json<Answer>(await post(gw, ews, 'move', { ids: [toDrafts.results[0].newId], folderId: removed }))
  t.equal(gone.results[0].error?.code, 'MBG_ERR_FOLDER_NOT_FOUND', 'a target folder that is gone: its 404')
  t.match(gone.results[0].error, { status: 404, message: new RegExp(removed) })
})

t.test('EWS move: the answer was lost: each item of the call is an unknown outcome, not sent again', async (t) => {
  const gw = await buildTestGateway(t)
  const target = await newFolder(gw, ews, 'Lost move')
  const ids = await itemIds(gw, ews, 'inbox', 3)
  resetAfter(gw, ['MoveItem'], 1)
  const before = gw.sims.ews.stats.byOperation.MoveItem ?? 0
  const res = await post(gw, ews, 'move', { ids, folderId: target })
  t.equal(res.statusCode, 200, res.body)
  const body = json<Answer>(res)
  t.same(body.results.map((r) => r.error?.code), Array(3).fill('MBG_ERR_OUTCOME_UNKNOWN'))
  t.ok(body.results.every((r) => (r.error as { retryable?: boolean }).retryable === false),
    'not retryable: check first')
  t.equal((gw.sims.ews.stats.byOperation.MoveItem ?? 0) - before, 1, 'MoveItem was not sent again')
  t.equal((await listed(gw, ews, target)).length, 3, 'the server did move them: exactly once')
})

t.test('Graph: delete through the folder; move and moveToDeletedItems are 501', async (t) => {
  const gw = await buildTestGateway(t)
  const [a, b, c] = await itemIds(gw, graph, 'inbox', 3)
  t.equal(json<Answer>(await post(gw, graph, 'delete', { ids: [c], folderId: 'inbox', mode: 'hard' })).succeeded, 1)
  const res = await post(gw, graph, 'delete', { ids: [a, c, b], folderId: 'inbox' })
  t.equal(res.statusCode, 200, res.body)
  t.same(json<Answer>(res).results.map((r) => r.status ?? r.error?.code),
    ['deleted', 'MBG_ERR_ITEM_NOT_FOUND', 'deleted'])
  const left = await listed(gw, graph, 'inbox')
  t.notOk(left.includes(a) || left.includes(b), 'deleted')

  const noFolder = await post(gw, graph, 'delete', { ids: [left[0]] })
  t.equal(noFolder.statusCode, 400, noFolder.body)
  t.match(json(noFolder).detail, /folderId/)

  const deletesBefore = gw.sims.graph.stats.byOperation.deleteItem ?? 0
  const toBin = await post(gw, graph, 'delete', { ids: [left[0]], folderId: 'inbox', mode: 'moveToDeletedItems' })
  t.equal(toBin.statusCode, 501, toBin.body)
  t.equal(json(toBin).code, 'MBG_ERR_NOT_SUPPORTED')
  const move = await post(gw, graph, 'move', { ids: [left[0], left[1]], folderId: 'drafts' })
  t.equal(move.statusCode, 501, move.body)
  t.equal(json(move).code, 'MBG_ERR_NOT_SUPPORTED')
  t.match(json(move).detail, /documents no move/)
  t.equal(gw.sims.graph.stats.byOperation.deleteItem ?? 0, deletesBefore, 'nothing was sent')
  t.ok((await listed(gw, graph, 'inbox')).includes(left[0]), 'nothing was done')
})
