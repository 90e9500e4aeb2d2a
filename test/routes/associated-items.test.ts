/**
 * Folder-associated items (FAI: rules, views, forms) through the public API: listed with `associated=true` on EWS
 * mailboxes (FindItem Traversal="Associated"), exported by id, imported with `associated: true` (UploadItems
 * IsAssociated); on Graph mailboxes, whose import/export API has no such thing, a clear 501 MBG_ERR_NOT_SUPPORTED.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { toPublicId } from '../../src/backends/ews/ids.js'

const alice = encodeURIComponent(MAILBOXES.ews.primary)
const carol = encodeURIComponent(MAILBOXES.graph.primary)

interface Item { id: string, changeKey: string, itemClass: string, associated?: true }
interface Page { items: Item[], nextPageToken?: string }
interface Problem { status: number, code: string, detail: string }
interface ItemError { status: number, code: string, message: string }
type ImportResult = { index: number, itemId: string, changeKey: string } | { index: number, error: ItemError }

const list = (mailbox: string, folder: string, query = ''): string =>
  `/mailboxes/${mailbox}/folders/${folder}/items${query}`

t.test('EWS: associated items are listed on request, never in the normal listing', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?associated=true` })
  t.equal(res.statusCode, 200)
  const fai = json<Page>(res)
  t.same(fai.items.map((i) => i.itemClass).sort(),
    ['IPM.Configuration.MRM', 'IPM.Microsoft.FolderDesign.NamedView', 'IPM.Rule.Version2.Message'])
  t.ok(fai.items.every((i) => i.associated === true), 'each one marked associated')
  const inbox = sims.store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
  t.same(fai.items.map((i) => i.id).sort(), sims.store.itemsIn(inbox.id, true).map((i) => toPublicId(i.id)).sort(),
    "exactly the store's associated items")

  const normal = json<Page>(await app.inject({ method: 'GET', url: list(alice, 'inbox', '?pageSize=1000') }))
  t.equal(normal.items.length, sims.store.itemsIn(inbox.id).length, 'the normal listing is unchanged')
  t.notOk(normal.items.some((i) => i.associated !== undefined || fai.items.some((f) => f.id === i.id)),
    'no associated item in the normal listing')

  const calendar = json<Page>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/calendar/items?associated=true` }))
  t.same(calendar.items.map((i) => i.itemClass).sort(), ['IPM.Configuration.Calendar', 'IPM.Configuration.WorkHours'])
  const empty = json<Page>(await app.inject({ method: 'GET', url: list(alice, 'drafts', '?associated=true') }))
  t.same(empty, { items: [] }, 'a folder without associated items lists none')
})

t.test('EWS: an associated listing pages, and its tokens hold for it alone', async (t) => {
  const { app } = await buildTestGateway(t)
  const seen: string[] = []
  let token: string | undefined
  let pages = 0
  do {
    const url = `/mailboxes/${alice}/folders/inbox/items?associated=true&pageSize=1` +
      (token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : '')
    const page = json<Page>(await app.inject({ method: 'GET', url }))
    seen.push(...page.items.map((i) => i.id))
    token = page.nextPageToken
    pages++
  } while (token !== undefined && pages < 10)
  t.equal(seen.length, 3, 'every associated item (two share a creation second)')
  t.equal(new Set(seen).size, 3, 'each once')

  const first = json<Page>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?associated=true&pageSize=1` }))
  const token1 = encodeURIComponent(first.nextPageToken ?? '')
  const crossed = await app.inject({ method: 'GET', url: list(alice, 'inbox', `?pageToken=${token1}`) })
  t.equal(crossed.statusCode, 400, 'a token of the associated listing does not page the normal one')
  t.equal(json<Problem>(crossed).code, 'MBG_ERR_BAD_REQUEST')
  const normal = json<Page>(await app.inject({ method: 'GET', url: list(alice, 'inbox', '?pageSize=1') }))
  const token2 = encodeURIComponent(normal.nextPageToken ?? '')
  const back = await app.inject({
    method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?associated=true&pageToken=${token2}`
  })
  t.equal(back.statusCode, 400, 'nor the other way round')
})

t.test('EWS: an associated item exported and imported with associated: true stays associated', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const fai = json<Page>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?associated=true` })).items
  const rule = fai.find((i) => i.itemClass === 'IPM.Rule.Version2.Message')
  if (rule === undefined) throw new Error('no rule in the inbox')
  const exported = json<{ results: Array<{ itemId: string, data: string, source: string }>, succeeded: number }>(
    await app.inject({ method: 'POST', url: `/mailboxes/${alice}/items:export`, payload: { itemIds: [rule.id] } }))
  t.equal(exported.succeeded, 1, 'associated items export by id like any item')
  const data = exported.results[0].data

  const target = json<{ id: string }>(await app.inject({
    method: 'POST', url: `/mailboxes/${alice}/folders`, payload: { displayName: 'Rules copy', parentId: 'inbox' }
  }))
  const imported = json<{ results: ImportResult[], succeeded: number }>(await app.inject({
    method: 'POST',
    url: `/mailboxes/${alice}/items:import`,
    payload: {
      items: [
        { folderId: target.id, mode: 'create', data, source: 'ews', associated: true },
        { folderId: target.id, mode: 'create', data, source: 'ews' }
      ]
    }
  }))
  t.equal(imported.succeeded, 2)
  const [asFai, asNormal] = imported.results.map((r) => ('itemId' in r ? r.itemId : ''))

  const assocList = json<Page>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/${target.id}/items?associated=true` }))
  t.same(assocList.items.map((i) => i.id), [asFai], 'the associated import is in the associated listing')
  t.equal(assocList.items[0].itemClass, 'IPM.Rule.Version2.Message')
  const normalList = json<Page>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/${target.id}/items` }))
  t.same(normalList.items.map((i) => i.id), [asNormal], 'and not in the normal one; the plain import is')
  const folder = json<{ totalItemCount: number }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/${target.id}` }))
  t.equal(folder.totalItemCount, 1, 'folder counts leave associated items out, as Exchange does')

  const again = json<{ results: Array<{ data: string }> }>(
    await app.inject({ method: 'POST', url: `/mailboxes/${alice}/items:export`, payload: { itemIds: [asFai] } }))
  t.equal(again.results[0].data, data, 'byte-identical round trip')
  const stored = [...sims.store.items.values()].filter((i) => i.folderId !== undefined &&
    sims.store.folders.get(i.folderId)?.displayName === 'Rules copy')
  t.same(stored.map((i) => i.associated).sort(), [false, true], 'the store holds one FAI and one normal item')
})

t.test('Graph: associated items are not supported, and say why', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  // The first call of a mailbox discovers it (settings/exchange); what follows is counted.
  const normal = json<Page>(await app.inject({ method: 'GET', url: list(carol, 'inbox', '?pageSize=1000') }))
  const requestsBefore = sims.graph.stats.requests
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?associated=true` })
  t.equal(res.statusCode, 501)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  const problem = json<Problem>(res)
  t.equal(problem.code, 'MBG_ERR_NOT_SUPPORTED')
  t.match(problem.detail, /Graph mailbox import\/export API does not expose folder-associated items/)
  t.match(problem.detail, MAILBOXES.graph.primary)
  t.equal(sims.graph.stats.requests, requestsBefore, 'nothing was sent to Graph')

  // The store behind the simulated Graph mailbox has associated items; Graph never shows them.
  const inbox = sims.store.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'inbox')
  t.ok(sims.store.itemsIn(inbox.id, true).length > 0)
  t.equal(normal.items.length, sims.store.itemsIn(inbox.id).length)
  t.notOk(normal.items.some((i) => i.associated !== undefined))

  const exported = json<{ results: Array<{ data: string }> }>(await app.inject({
    method: 'POST', url: `/mailboxes/${carol}/items:export`, payload: { itemIds: [normal.items[0].id] }
  }))
  const data = exported.results[0].data
  const itemsBefore = sims.store.items.size
  const imported = json<{ results: ImportResult[], succeeded: number, failed: number }>(await app.inject({
    method: 'POST',
    url: `/mailboxes/${carol}/items:import`,
    payload: {
      items: [
        { folderId: 'inbox', mode: 'create', data, source: 'graph', associated: true },
        { folderId: 'inbox', mode: 'create', data, source: 'graph', associated: false }
      ]
    }
  }))
  t.same([imported.succeeded, imported.failed], [1, 1], 'the refused item does not fail its neighbour')
  const refused = imported.results[0]
  t.ok('error' in refused)
  if ('error' in refused) {
    t.same([refused.error.status, refused.error.code], [501, 'MBG_ERR_NOT_SUPPORTED'])
    t.match(refused.error.message, /import item 0.*does not expose folder-associated items/)
  }
  t.equal(sims.store.items.size, itemsBefore + 1, 'only the normal item was stored')
})
