/**
 * Answers real Graph servers give that differ from the documented default, as callers see them
 * through the public API: settings/exchange as a collection, folders/delta entries carrying only
 * id and displayName, change keys only in @odata.etag, and ids in standard base64 ('+', '/', '=').
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

const carol = encodeURIComponent(MAILBOXES.graph.primary)

interface Folder {
  id: string
  displayName: string
  parentId: string | null
  folderClass: string
  childFolderCount: number
  totalItemCount: number
  wellKnownName?: string
}
interface Item { id: string, changeKey: string, subject?: string }
interface Problem { status: number, code: string, detail?: string }

/** Every id a caller may put in a URL path or query: nothing that needs percent-encoding. */
const URL_SAFE = /^[A-Za-z0-9._~=-]+$/

t.test('settings/exchange answered as a collection: the archive is found and the mailbox works', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.graph.quirks.settingsShape = 'collection'
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}` })
  t.equal(res.statusCode, 200, res.body)
  const archiveId = json<{ archiveId?: string }>(res).archiveId
  t.ok(archiveId, 'the archive is discovered')
  const inbox = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox` })
  t.equal(inbox.statusCode, 200, inbox.body)
  const archived = await app.inject({ method: 'GET', url: `/mailboxes/${archiveId ?? 'none'}/folders?pageSize=5` })
  t.equal(archived.statusCode, 200, archived.body)
})

t.test('an unusable settings/exchange answer is a 502 naming it', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  sims.graph.quirks.settingsShape = 'emptyCollection'
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox` })
  t.equal(res.statusCode, 502, res.body)
  const p = json<Problem>(res)
  t.equal(p.code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
  t.match(p.detail, /settings\/exchange/)
})

t.test('folders/delta entries with only id and displayName keep the hierarchy, classes and counts', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const tree = async (): Promise<Folder[]> => {
    const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders?pageSize=1000` })
    t.equal(res.statusCode, 200, res.body)
    return json<{ folders: Folder[] }>(res).folders.sort((a, b) => a.id < b.id ? -1 : 1)
  }
  const full = await tree()
  t.ok(full.length > 10)
  t.ok(full.every((f) => typeof f.parentId === 'string'), 'no folder of the tree is a root')
  t.ok(full.some((f) => f.wellKnownName === 'inbox'))

  sims.graph.quirks.deltaFolders = 'sparse'
  t.same(await tree(), full, 'sparse entries by default: the gateway selects what it needs')
  sims.graph.quirks.deltaFolders = 'idAndNameOnly'
  t.same(await tree(), full, 'a server that still omits fields: they are fetched')
})

t.test('a change key only in @odata.etag reaches callers and works for update imports', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const list = async (): Promise<Item[]> => {
    const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?pageSize=5` })
    return json<{ items: Item[] }>(res).items
  }
  const before = await list()
  sims.graph.quirks.etagOnlyChangeKey = true
  const items = await list()
  t.same(items.map((i) => i.changeKey), before.map((i) => i.changeKey), 'the change key comes from @odata.etag')
  t.ok(items.every((i) => i.changeKey.length > 0))
  const exported = json<{ results: Array<{ itemId: string, data: string, changeKey: string }> }>(await app.inject({
    method: 'POST', url: `/mailboxes/${carol}/items:export`, payload: { itemIds: [items[0].id] }
  })).results[0]
  const imported = await app.inject({
    method: 'POST',
    url: `/mailboxes/${carol}/items:import`,
    payload: {
      items: [{
        folderId: 'inbox', mode: 'update', itemId: items[0].id, changeKey: items[0].changeKey, data: exported.data
      }]
    }
  })
  const body = json<{ succeeded: number, results: Array<{ itemId: string, changeKey: string }> }>(imported)
  t.equal(body.succeeded, 1, imported.body)
  t.ok(body.results[0].changeKey.length > 0, 'the import answer\'s etag-only change key is passed on')
  t.not(body.results[0].changeKey, items[0].changeKey, 'a new version')
  const after = (await list()).find((i) => i.id === items[0].id)
  t.equal(after?.changeKey, body.results[0].changeKey)
})

t.test('ids in standard base64 are handed out URL-safe and accepted back', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  type Res = { statusCode: number, body: string }
  const get = async (url: string): Promise<Res> => await app.inject({ method: 'GET', url })
  const send = async (method: 'POST' | 'PATCH', url: string, payload: object): Promise<Res> =>
    await app.inject({ method, url, payload })
  // Ids handed out before the switch (URL-safe on the wire) must keep working afterwards.
  const oldInbox = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox` }))
  sims.graph.quirks.standardBase64Ids = true

  const folders = json<{ folders: Folder[] }>(await get(`/mailboxes/${carol}/folders?pageSize=1000`)).folders
  const storeIds = [...sims.store.folders.keys()]
  t.ok(storeIds.some((id) => /[+/]/.test(id)), 'the seed has ids with + or /')
  for (const f of folders) {
    t.match(f.id, URL_SAFE, `folder id ${f.id} is URL-safe`)
    if (f.parentId !== null) t.match(f.parentId, URL_SAFE)
  }
  for (const f of folders) {
    const got = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/${f.id}` })
    t.equal(got.statusCode, 200, `get folder ${f.displayName} by its id (${got.body.slice(0, 200)})`)
    t.same(json<Folder>(got), f)
  }
  const inbox = folders.find((f) => f.wellKnownName === 'inbox')
  if (inbox === undefined) throw new Error('no inbox')
  const old = await get(`/mailboxes/${carol}/folders/${oldInbox.id}`)
  t.equal(old.statusCode, 200, 'an id handed out earlier still works')

  // Paging through items of a folder addressed by id: cursors carry the id too.
  const items: Item[] = []
  let token: string | undefined
  do {
    const q = token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''
    const res = await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/${inbox.id}/items?pageSize=7${q}` })
    t.equal(res.statusCode, 200, res.body)
    const page = json<{ items: Item[], nextPageToken?: string }>(res)
    items.push(...page.items)
    token = page.nextPageToken
  } while (token !== undefined)
  t.equal(items.length, inbox.totalItemCount)
  for (const i of items) t.match(i.id, URL_SAFE, `item id ${i.id} is URL-safe`)
  const sample = items.filter((i) => /[-_]/.test(i.id) || i.id.startsWith('~')).slice(0, 5)
  t.ok(sample.length > 0, 'some ids had characters that needed encoding')

  const exp = await send('POST', `/mailboxes/${carol}/items:export`, { itemIds: sample.map((i) => i.id) })
  const exported = json<{ succeeded: number, results: Array<{ itemId: string, data: string, changeKey: string }> }>(exp)
  t.equal(exported.succeeded, sample.length, exp.body)
  t.same(exported.results.map((r) => r.itemId), sample.map((i) => i.id), 'export results carry the ids as asked')

  const imp = await app.inject({
    method: 'POST',
    url: `/mailboxes/${carol}/items:import`,
    payload: {
      items: [
        ...sample.map((i, n) => ({
          folderId: inbox.id, mode: 'update', itemId: i.id, changeKey: i.changeKey, data: exported.results[n].data
        })),
        { folderId: inbox.id, mode: 'create', data: exported.results[0].data }
      ]
    }
  })
  const imported = json<{ succeeded: number, results: Array<{ itemId: string }> }>(imp)
  t.equal(imported.succeeded, sample.length + 1, imp.body)
  const updatedIds = imported.results.slice(0, sample.length).map((r) => r.itemId)
  t.same(updatedIds, sample.map((i) => i.id), 'update keeps the item id')
  t.match(imported.results[sample.length].itemId, URL_SAFE, 'a created item\'s id is URL-safe')
  const created = imported.results[sample.length].itemId
  const recheck = await send('POST', `/mailboxes/${carol}/items:export`, { itemIds: [created] })
  t.equal(json<{ succeeded: number }>(recheck).succeeded, 1, 'the created item\'s id is accepted back')
  const after = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/${inbox.id}` }))
  t.equal(after.totalItemCount, inbox.totalItemCount + 1)

  const child = await send('POST', `/mailboxes/${carol}/folders`, { displayName: 'Nested', parentId: inbox.id })
  t.equal(child.statusCode, 201, child.body)
  const made = json<Folder>(child)
  t.match(made.id, URL_SAFE)
  t.equal(made.parentId, inbox.id)
  const children = json<{ folders: Folder[] }>(await get(`/mailboxes/${carol}/folders?parentId=${inbox.id}`)).folders
  t.ok(children.some((f) => f.id === made.id), 'listed under its parent')
  const renamed = await send('PATCH', `/mailboxes/${carol}/folders/${made.id}`, { displayName: 'Renamed' })
  t.equal(renamed.statusCode, 200, renamed.body)
  t.equal((await app.inject({ method: 'DELETE', url: `/mailboxes/${carol}/folders/${made.id}` })).statusCode, 204)
})
