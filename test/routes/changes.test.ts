/**
 * Change feeds through the public API in demo mode, both backends (the gateway answers in-process, the
 * simulated backends over loopback HTTP): a first sync lists every item (or folder) once, in pages; after
 * items are created, updated, deleted and marked read in the simulated mailbox, the next call reports
 * exactly those; a cursor that was altered or belongs to another feed is a 400, one the backend no longer
 * accepts a 410 telling the caller to start again without it.
 */
import t, { type Test } from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { seedItemStream } from '../../src/simulators/store/seed.js'
import type { MailboxStore, StoreFolder, StoreItem } from '../../src/simulators/store/store.js'

type App = Awaited<ReturnType<typeof buildTestGateway>>['app']

interface Change {
  change: string
  id: string
  changeKey?: string
  isRead?: boolean
  item?: { id: string, changeKey: string, subject?: string }
  folder?: { id: string, displayName: string, parentId: string | null }
}
interface ChangesAnswer { changes: Change[], cursor: string, more: boolean }

const BASE = Date.parse('2024-05-01T09:00:00Z')

function itemStream (subject: string, minutes: number, size = 600): Buffer {
  const created = new Date(BASE + minutes * 60_000)
  const spec = { key: subject, itemClass: 'IPM.Note', subject, created, modified: created, size, attachment: false }
  return seedItemStream(spec).blob()
}

async function get (app: App, url: string): Promise<{ statusCode: number, body: string }> {
  return await app.inject({ method: 'GET', url })
}

/** Calls the feed from `cursor` until `more` is false; every answer holds at most `pageSize` changes. */
async function drain (t: Test, app: App, url: string, pageSize: number, cursor?: string):
Promise<{ changes: Change[], cursor: string, calls: number }> {
  const changes: Change[] = []
  let calls = 0
  for (;;) {
    const q = `pageSize=${pageSize}${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const res = await get(app, `${url}?${q}`)
    if (res.statusCode !== 200) t.fail(`answer ${calls + 1}: ${res.statusCode} ${res.body.slice(0, 500)}`)
    const answer = json<ChangesAnswer>(res)
    t.ok(answer.changes.length <= pageSize, `answer ${calls + 1} holds at most ${pageSize} changes`)
    changes.push(...answer.changes)
    cursor = answer.cursor
    calls++
    if (!answer.more || calls > 50) return { changes, cursor, calls }
  }
}

/** The store's folder of that name in the mailbox of `address`. */
function storeFolder (store: MailboxStore, address: string, name: string): StoreFolder {
  const mailbox = store.mailboxBySmtp(address)
  const folder = [...store.folders.values()].find((f) => f.displayName === name && f.mailboxGuid === mailbox?.guid)
  if (folder === undefined) throw new Error(`no folder ${name}`)
  return folder
}

function bySubject (store: MailboxStore, folder: StoreFolder, subject: string): StoreItem {
  const item = store.itemsIn(folder.id).find((i) => i.subject === subject)
  if (item === undefined) throw new Error(`no item ${subject}`)
  return item
}

/** Public item ids by subject, from the item listing. */
async function idsBySubject (t: Test, app: App, base: string, folderId: string): Promise<Map<string, string>> {
  const res = await get(app, `${base}/folders/${encodeURIComponent(folderId)}/items?pageSize=100`)
  t.equal(res.statusCode, 200, 'the item listing')
  return new Map(json<{ items: Array<{ id: string, subject: string }> }>(res).items.map((i) => [i.subject, i.id]))
}

for (const [kind, mailbox] of [['EWS', MAILBOXES.ews.primary], ['Graph', MAILBOXES.graph.primary]] as const) {
  const base = `/mailboxes/${encodeURIComponent(mailbox)}`
  // Graph delta does not tell a creation from an update after the first sync.
  const later = (ews: string): string => kind === 'Graph' ? 'createdOrUpdated' : ews

  t.test(`${kind}: item changes: full sync in pages, then exactly the creations, updates, deletions and ` +
    'read-flag changes since', async (t) => {
    const { app, sims } = await buildTestGateway(t)
    const folderName = `Changes ${kind}`
    const created = await app.inject({ method: 'POST', url: `${base}/folders`, payload: { displayName: folderName } })
    t.equal(created.statusCode, 201, 'folder created')
    const folderId = json<{ id: string }>(created).id
    const subjects = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']
    const imported = await app.inject({
      method: 'POST',
      url: `${base}/items:import`,
      payload: {
        items: subjects.map((s, i) => ({ folderId, mode: 'create', data: itemStream(s, i).toString('base64') }))
      }
    })
    t.equal(json<{ succeeded: number }>(imported).succeeded, subjects.length, 'items imported')
    const ids = await idsBySubject(t, app, base, folderId)
    const feed = `${base}/folders/${encodeURIComponent(folderId)}/items/changes`

    const first = await drain(t, app, feed, 3)
    t.ok(first.calls >= 3, `the first sync came in ${first.calls} answers of at most 3`)
    t.same(first.changes.map((c) => c.change), subjects.map(() => 'created'), 'every item as created')
    t.same(first.changes.map((c) => c.id).sort(), [...ids.values()].sort(), 'each item exactly once')
    for (const c of first.changes) t.equal(c.item?.id, c.id, 'with its summary')

    const quiet = await drain(t, app, feed, 3, first.cursor)
    t.same(quiet.changes, [], 'nothing changed: no changes')

    // Change the mailbox behind the gateway's back, as other clients would.
    const store = sims.store
    const folder = storeFolder(store, mailbox, folderName)
    const updated = bySubject(store, folder, 'a2')
    const oldKey = updated.changeKey
    store.updateItem(updated.id, itemStream('a2', 1, 900))
    const deletedId = ids.get('a3') as string
    store.deleteItem(bySubject(store, folder, 'a3').id)
    const read = bySubject(store, folder, 'a4')
    const wasRead = read.isRead
    store.setReadFlag(read.id, !wasRead)
    t.equal(read.isRead, !wasRead, 'marked')
    store.createItem(folder.id, itemStream('n1', 30))
    const transient = store.createItem(folder.id, itemStream('n2', 31))
    store.deleteItem(transient.id)
    const newId = (await idsBySubject(t, app, base, folderId)).get('n1') as string

    const next = await drain(t, app, feed, 100, quiet.cursor)
    const byId = new Map(next.changes.map((c) => [c.id, c]))
    t.equal(next.changes.length, 4, `exactly four changes: ${JSON.stringify(next.changes.map((c) => c.change))}`)
    t.equal(byId.get(ids.get('a2') as string)?.change, later('updated'), 'the update')
    t.not(byId.get(ids.get('a2') as string)?.changeKey, oldKey, 'with its new change key')
    t.equal(byId.get(ids.get('a2') as string)?.changeKey, store.items.get(updated.id)?.changeKey)
    t.equal(byId.get(deletedId)?.change, 'deleted', 'the deletion')
    t.equal(byId.get(newId)?.change, later('created'), 'the creation (an item created and deleted since is not there)')
    const flag = byId.get(ids.get('a4') as string)
    if (kind === 'EWS') {
      t.equal(flag?.change, 'readFlagChanged', 'the read-flag change (EWS ReadFlagChange)')
      t.equal(flag?.isRead, read.isRead, 'with the read state now')
      t.equal(flag?.changeKey, read.changeKey, 'and the unchanged change key')
    } else {
      t.equal(flag?.change, 'createdOrUpdated', 'the read-flag change, as a changed item (mailboxItem has no isRead)')
    }

    const after = await drain(t, app, feed, 100, next.cursor)
    t.same(after.changes, [], 'then nothing again')
  })

  t.test(`${kind}: item changes in small pages deliver each change once`, async (t) => {
    const { app, sims } = await buildTestGateway(t)
    const feed = `${base}/folders/inbox/items/changes`
    const first = await drain(t, app, feed, 1000)
    const store = sims.store
    const inbox = store.wellKnownFolder(store.mailboxBySmtp(mailbox)?.guid as string, 'inbox')
    const made = Array.from({ length: 7 }, (_, i) => store.createItem(inbox.id, itemStream(`p${i}`, 40 + i)))
    const next = await drain(t, app, feed, 2, first.cursor)
    t.ok(next.calls >= 4, `came in ${next.calls} answers of at most 2`)
    const ids = next.changes.map((c) => c.id)
    t.equal(new Set(ids).size, ids.length, 'no change twice')
    t.equal(ids.length, made.length, 'every new item once')
  })

  t.test(`${kind}: folder changes: full sync, then the folders created, renamed and deleted since`, async (t) => {
    const { app, sims } = await buildTestGateway(t)
    const feed = `${base}/folders/changes`
    const listed = await get(app, `${base}/folders?pageSize=1000`)
    const all = json<{ folders: Array<{ id: string }> }>(listed).folders.map((f) => f.id)
    const first = await drain(t, app, feed, 1000)
    t.same(first.changes.map((c) => c.id).sort(), [...all].sort(), 'every folder below root once')
    t.ok(first.changes.every((c) => c.change === 'created' && c.folder?.id === c.id), 'as created, with the folder')

    const store = sims.store
    const guid = store.mailboxBySmtp(mailbox)?.guid as string
    const inbox = store.wellKnownFolder(guid, 'inbox')
    const made = store.createFolder(inbox.id, 'Fresh')
    const renamed = store.createFolder(inbox.id, 'Old name')
    const doomed = store.createFolder(inbox.id, 'Doomed')
    /** The changes but the parent's: its child count changed, so the backend reports it as changed too. */
    const notInbox = (changes: Change[]): Change[] => {
      const parent = changes.filter((c) => c.folder?.displayName === 'Inbox')
      for (const c of parent) t.equal(c.change, later('updated'), 'the parent, as changed (its child count)')
      return changes.filter((c) => c.folder?.displayName !== 'Inbox')
    }
    const mid = await drain(t, app, feed, 1000, first.cursor)
    t.same(notInbox(mid.changes).map((c) => [c.change, c.folder?.displayName]).sort(),
      [[later('created'), 'Doomed'], [later('created'), 'Fresh'], [later('created'), 'Old name']], 'three new folders')
    store.renameFolder(renamed.id, 'New name')
    store.deleteFolder(doomed.id)
    const next = await drain(t, app, feed, 1000, mid.cursor)
    const names = notInbox(next.changes).map((c) => [c.change, c.folder?.displayName ?? c.id])
    const doomedPublic = mid.changes.find((c) => c.folder?.displayName === 'Doomed')?.id
    t.same(names.sort(), [['deleted', doomedPublic], [later('updated'), 'New name']].sort(), 'the rename and deletion')
    t.notOk(next.changes.some((c) => c.folder?.displayName === made.displayName), 'nothing about the unchanged one')
  })

  t.test(`${kind}: altered and foreign cursors are 400s; an expired one is a 410`, async (t) => {
    const { app, sims } = await buildTestGateway(t)
    const items = `${base}/folders/inbox/items/changes`
    const folders = `${base}/folders/changes`
    const first = json<ChangesAnswer>(await get(app, `${items}?pageSize=5`))
    t.equal(first.more, true, 'more to come')
    const c = first.cursor
    const altered = c.slice(0, 20) + (c[20] === 'A' ? 'B' : 'A') + c.slice(21)
    for (const [what, url] of [
      ['altered', `${items}?cursor=${altered}`],
      ['not base64url', `${items}?cursor=${encodeURIComponent('%%%')}`],
      ['another folder\'s', `${base}/folders/drafts/items/changes?cursor=${c}`],
      ['an item cursor on the folder feed', `${folders}?cursor=${c}`],
      ['another mailbox\'s', `/mailboxes/${encodeURIComponent(MAILBOXES[kind === 'EWS' ? 'ews' : 'graph'].other)}` +
        `/folders/inbox/items/changes?cursor=${c}`]
    ] as const) {
      const res = await get(app, url)
      t.equal(res.statusCode, 400, `${what}: 400`)
      t.equal(json(res).code, 'MBG_ERR_BAD_REQUEST', what)
      t.match(json(res).detail, /leave it out to start again/, `${what}: says what to do`)
    }

    // The backend forgets every sync state (too old, mailbox moved): mid-sync and up-to-date cursors alike.
    const done = await drain(t, app, folders, 1000)
    sims.store.expireSyncStates()
    const stale = [['mid-sync', `${items}?cursor=${c}`], ['up to date', `${folders}?cursor=${done.cursor}`]]
    for (const [what, url] of stale) {
      const res = await get(app, url)
      t.equal(res.statusCode, 410, `${what}: 410 (${res.body.slice(0, 300)})`)
      t.equal(json(res).code, 'MBG_ERR_CURSOR_EXPIRED', what)
      t.match(json(res).detail, /start again without a cursor/, `${what}: tells the caller to resync`)
    }
    const again = await get(app, `${items}?pageSize=5`)
    t.equal(again.statusCode, 200, 'without a cursor it starts again')
  })
}
