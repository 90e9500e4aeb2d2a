/**
 * The stable item key (`ItemSummary.searchKey`, PidTagSearchKey 0x300B) through the public API on both backends:
 * listings carry it, an item exported from EWS and imported into Graph or another EWS mailbox lists with the
 * same key on the target, a moved item keeps it, and the EWS change feed carries it.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

interface Summary { id: string, subject?: string, searchKey?: string }
interface Change { change: string, id: string, item?: Summary }

const enc = encodeURIComponent
/** A store id (standard base64) as the gateway shows it, and back. */
const storeId = (publicId: string): string => Buffer.from(publicId, 'base64url').toString('base64')

async function list (gw: TestGateway, mailbox: string, folder: string, pageSize = 50): Promise<Summary[]> {
  const url = `/mailboxes/${enc(mailbox)}/folders/${enc(folder)}/items?pageSize=${pageSize}`
  const res = await gw.app.inject({ url })
  t.equal(res.statusCode, 200, res.body)
  return json<{ items: Summary[] }>(res).items
}

async function newFolder (gw: TestGateway, mailbox: string, displayName: string): Promise<string> {
  const url = `/mailboxes/${enc(mailbox)}/folders`
  const res = await gw.app.inject({ method: 'POST', url, payload: { displayName } })
  t.equal(res.statusCode, 201, res.body)
  return json<{ id: string }>(res).id
}

/** Exports `items` from `from` and imports them into `folder` of `to`; answers the new ids in order. */
async function copy (gw: TestGateway, from: string, to: string, folder: string, items: Summary[]): Promise<string[]> {
  const exported = json<{ results: Array<{ data: string, source: string }> }>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${enc(from)}/items:export`, payload: { itemIds: items.map((i) => i.id) }
  }))
  const imported = json<{ results: Array<{ itemId?: string }>, succeeded: number }>(await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${enc(to)}/items:import`,
    payload: {
      items: exported.results.map((r) => ({ folderId: folder, mode: 'create', data: r.data, source: r.source }))
    }
  }))
  t.equal(imported.succeeded, items.length)
  return imported.results.map((r) => r.itemId as string)
}

t.test('listings on both backends carry each item\'s search key', async (t) => {
  const gw = await buildTestGateway(t)
  for (const mailbox of [MAILBOXES.ews.primary, MAILBOXES.graph.primary]) {
    const items = await list(gw, mailbox, 'inbox', 10)
    t.equal(items.length, 10)
    for (const item of items) {
      const stored = gw.sims.store.requireItem(storeId(item.id))
      t.equal(item.searchKey, stored.searchKey.toString('base64'), `${mailbox}: ${item.subject ?? item.id}`)
    }
    t.equal(new Set(items.map((i) => i.searchKey)).size, 10, 'one key per item')
  }
})

t.test('an item copied EWS → Graph and EWS → EWS lists with the same key on the target', async (t) => {
  const gw = await buildTestGateway(t)
  const source = (await list(gw, MAILBOXES.ews.primary, 'inbox', 4))
  t.ok(source.every((i) => typeof i.searchKey === 'string' && i.searchKey.length > 0))

  for (const target of [MAILBOXES.graph.primary, MAILBOXES.ews.other]) {
    const folder = await newFolder(gw, target, 'Keyed copies')
    const ids = await copy(gw, MAILBOXES.ews.primary, target, folder, source)
    const listed = new Map((await list(gw, target, folder)).map((i) => [i.id, i]))
    t.same(ids.map((id) => listed.get(id)?.searchKey), source.map((i) => i.searchKey), `${target}: same keys`)
    t.notSame(ids, source.map((i) => i.id), 'new items, new ids')
  }
})

t.test('a moved item keeps its key; the EWS change feed carries keys', async (t) => {
  const gw = await buildTestGateway(t)
  const mailbox = MAILBOXES.ews.primary
  const folder = await newFolder(gw, mailbox, 'Moved here')
  const [item] = await list(gw, mailbox, 'inbox', 1)
  const res = await gw.app.inject({
    method: 'POST', url: `/mailboxes/${enc(mailbox)}/items:move`, payload: { ids: [item.id], folderId: folder }
  })
  t.equal(res.statusCode, 200, res.body)
  const [moved] = json<{ results: Array<{ newId?: string }> }>(res).results
  t.ok(moved.newId !== undefined && moved.newId !== item.id, 'the move gave a new id')
  const after = await list(gw, mailbox, folder)
  t.same(after.map((i) => [i.id, i.searchKey]), [[moved.newId, item.searchKey]], 'same key after the move')

  const feed = await gw.app.inject({ url: `/mailboxes/${enc(mailbox)}/folders/${enc(folder)}/items/changes` })
  t.equal(feed.statusCode, 200, feed.body)
  const changes = json<{ changes: Change[] }>(feed).changes
  t.same(changes.map((c) => [c.change, c.id, c.item?.searchKey]), [['created', moved.newId, item.searchKey]])

  const inbox = await gw.app.inject({ url: `/mailboxes/${enc(mailbox)}/folders/inbox/items/changes?pageSize=5` })
  t.equal(inbox.statusCode, 200, inbox.body)
  const some = json<{ changes: Change[] }>(inbox).changes
  t.equal(some.length, 5)
  for (const c of some) {
    t.equal(c.item?.searchKey, gw.sims.store.requireItem(storeId(c.id)).searchKey.toString('base64'))
  }
})
