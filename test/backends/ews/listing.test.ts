/**
 * EWS adapter listings: keyset item pages and folder pages against servers that misbehave
 * (more entries than asked, answers that cannot advance, restrictions ignored, wrong order)
 * and against the simulator while items sharing one creation second keep arriving.
 */
import t, { type Test } from 'tap'
import pino from 'pino'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import type { Folder, ItemSummary, MailboxBackend } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import { startEwsSimulator } from '../../../src/simulators/ews/index.js'
import { DEMO_MAILBOXES, seedDemoTenant } from '../../../src/simulators/store/seed.js'
import { ewsConfig, ewsMailbox } from '../../helpers/backends.js'

const logger = pino({ level: 'silent' })
const alice = ewsMailbox('alice')
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
const T = 'http://schemas.microsoft.com/exchange/services/2006/types'

/** A loopback EWS stand-in whose Find* answers `answer(op, request body)` builds (the RootFolder). */
async function fakeEws (t: Test, answer: (op: string, body: string) => string): Promise<MailboxBackend> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const op = /<soap:Body><m:(\w+)/.exec(body)?.[1] ?? 'unknown'
      const xml =
        '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
        `<m:${op}Response xmlns:m="${M}" xmlns:t="${T}"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Success">` +
        `<m:ResponseCode>NoError</m:ResponseCode>${answer(op, body)}</m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(xml)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const backend = createEwsBackend(ewsConfig('ews', {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx`,
    auth: { kind: 'basic', username: 'u', password: 'p' }
  }), { policy: new Policy({ baseDelayMs: 1 }), logger })
  t.teardown(async () => {
    await backend.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return backend
}

const id = (prefix: string, n: number): string =>
  Buffer.from(`${prefix}-${String(n).padStart(4, '0')}-padding-x`).toString('base64')
const message = (n: number, created: string): string =>
  `<t:Message><t:ItemId Id="${id('item', n)}" ChangeKey="CQAAAA=="/><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>s${n}</t:Subject>` +
  `<t:Size>10</t:Size><t:DateTimeCreated>${created}</t:DateTimeCreated></t:Message>`
const folder = (n: number): string =>
  `<t:Folder><t:FolderId Id="${id('folder', n)}" ChangeKey="AQAAAA=="/><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>f${n}</t:DisplayName></t:Folder>`
const root = (offset: number, total: number, last: boolean, container: string, entries: string): string =>
  `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${total}" IncludesLastItemInRange="${last}"><t:${container}>${entries}</t:${container}></m:RootFolder>`

async function listAll<T> (next: (cursor?: string) => Promise<{ values: T[], nextCursor?: string }>, limit: number,
  t: Test): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await next(cursor)
    t.ok(page.values.length <= limit, `page ${pages + 1}: ${page.values.length} ≤ ${limit} entries`)
    out.push(...page.values)
    cursor = page.nextCursor
  } while (cursor !== undefined && ++pages < 50)
  t.equal(cursor, undefined, 'the listing ends')
  return out
}

t.test('a server answering more entries than asked never makes a page exceed the limit', async (t) => {
  // Ten items and ten folders; every answer holds all that match the restriction, whatever MaxEntriesReturned says.
  const created = (n: number): string => `2024-01-01T00:00:${String(n).padStart(2, '0')}Z`
  const folders = Array.from({ length: 10 }, (_, n) => folder(n)).join('')
  const backend = await fakeEws(t, (op, body) => {
    if (op !== 'FindItem') return root(10, 10, true, 'Folders', folders)
    const from = /<t:Constant Value="([^"]+)"\/>/.exec(body)?.[1] ?? ''
    const matching = Array.from({ length: 10 }, (_, n) => n).filter((n) => created(n) >= from)
    return root(matching.length, matching.length, true, 'Items', matching.map((n) => message(n, created(n))).join(''))
  })
  const listed = await listAll<ItemSummary>(
    async (cursor) =>
      await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 3, ...(cursor !== undefined ? { cursor } : {}) }),
    3,
    t
  )
  t.same(
    listed.map((i) => i.subject),
    ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'],
    'every item once, in order'
  )
  const tree = await listAll<Folder>(
    async (cursor) => await backend.listFolders(alice, { limit: 4, ...(cursor !== undefined ? { cursor } : {}) }),
    4,
    t
  )
  t.equal(new Set(tree.map((f) => f.id)).size, 10, 'every folder once')
  t.equal(tree.length, 10)
})

t.test('a server that ignores the restriction (the same items again, "more to come") is a 502, not a silent end',
  async (t) => {
  // 5 items exist; the server always answers the first two and says more follow.
    const backend = await fakeEws(t, () =>
      root(2, 5, false, 'Items', message(0, '2024-01-01T00:00:00Z') + message(1, '2024-01-01T00:00:01Z'))
    )
    const first = await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 2 })
    t.equal(first.values.length, 2)
    t.ok(first.nextCursor)
    await t.rejects(backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 2, cursor: first.nextCursor }),
      { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', statusCode: 502 })
  })

t.test('answers that cannot advance or break the asked order are 502s', async (t) => {
  const stalled = await fakeEws(t, (op, body) => {
    const offset = /Offset="(\d+)"/.exec(body)?.[1] ?? '0'
    return op === 'FindItem'
      ? `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="5" IncludesLastItemInRange="false"><t:Items>${message(0, '2024-01-01T00:00:00Z')}${message(1, '2024-01-01T00:00:01Z')}</t:Items></m:RootFolder>`
      : `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="5" IncludesLastItemInRange="false"><t:Folders>${folder(0)}${folder(1)}</t:Folders></m:RootFolder>`
  })
  await t.rejects(stalled.listItems(alice, { wellKnown: 'inbox' }, { limit: 2 }), {
    code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE'
  })
  await t.rejects(stalled.listFolders(alice, { limit: 2 }), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  await t.rejects(stalled.listFolders(alice, { limit: 2, parentId: { wellKnown: 'inbox' } }), {
    code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE'
  })

  const empty = await fakeEws(t, () => root(1, 5, false, 'Items', ''))
  await t.rejects(
    empty.listItems(alice, { wellKnown: 'inbox' }, { limit: 2 }),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' },
    'more announced, nothing returned'
  )

  const unordered = await fakeEws(t, () =>
    root(2, 2, true, 'Items', message(0, '2024-01-02T00:00:00Z') + message(1, '2024-01-01T00:00:00Z'))
  )
  await t.rejects(
    unordered.listItems(alice, { wellKnown: 'inbox' }, { limit: 2 }),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' },
    'not in creation order'
  )

  const undated = await fakeEws(t, () =>
    root(
      1,
      1,
      true,
      'Items',
      `<t:Message><t:ItemId Id="${id('item', 1)}" ChangeKey="CQAAAA=="/><t:ItemClass>IPM.Note</t:ItemClass><t:Size>10</t:Size></t:Message>`
    )
  )
  await t.rejects(
    undated.listItems(alice, { wellKnown: 'inbox' }, { limit: 2 }),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' },
    'no DateTimeCreated'
  )
})

t.test('simulator: items sharing one creation second, more arriving mid-listing, each listed once', async (t) => {
  const store = seedDemoTenant()
  const sim = await startEwsSimulator({ store, accounts: [{ username: 'svc', password: 'pw', impersonation: true }] })
  const backend = createEwsBackend(
    ewsConfig('ews', { url: sim.url, auth: { kind: 'basic', username: 'svc', password: 'pw' }, pageSize: 2 }),
    { policy: new Policy(), logger }
  )
  t.teardown(async () => { await backend.close(); await sim.close() })
  const inbox = store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
  const target = store.createFolder(inbox.id, 'Same second', 'IPF.Note')
  const second = Date.parse('2024-05-01T12:00:00Z')
  const add = (n: number, ms: number): void => {
    store.createItem(
      target.id,
      { size: 10, itemClass: 'IPM.Note', subject: `s${n}`, hasAttachments: false, blob: () => Buffer.alloc(0) },
      { created: new Date(second + ms) }
    )
  }
  for (let n = 0; n < 7; n++) add(n, n * 100)
  const folderRef = { id: toPublicId(target.id) }
  const seen: ItemSummary[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    // limit 5 is capped to pageSize 2
    const page = await backend.listItems(alice, folderRef, { limit: 5, ...(cursor !== undefined ? { cursor } : {}) })
    t.ok(page.values.length <= 2, 'capped by pageSize')
    seen.push(...page.values)
    cursor = page.nextCursor
    pages++
    // Items keep arriving within the same second, and one before it, and one already listed goes.
    if (pages === 2) {
      add(7, 50)
      add(8, 950)
      add(9, -1000)
      store.deleteItem(store.itemsIn(target.id).find((i) => i.subject === 's0')?.id as string)
    }
  } while (cursor !== undefined && pages < 50)
  t.equal(cursor, undefined)
  const subjects = seen.map((i) => i.subject as string)
  t.equal(new Set(subjects).size, subjects.length, `no repeats: ${subjects.join(',')}`)
  for (let n = 1; n < 7; n++) t.ok(subjects.includes(`s${n}`), `s${n} listed`)
  t.ok(subjects.includes('s0'), 's0 was listed before it went')

  // The folder tree read in FindFolder pages of 2, cut into pages of 3.
  const tree = await listAll<Folder>(
    async (c) => await backend.listFolders(alice, { limit: 3, ...(c !== undefined ? { cursor: c } : {}) }),
    3,
    t
  )
  t.equal(tree.length, store.descendants(store.requireMailbox(DEMO_MAILBOXES.alice.guid).msgRootId).length)
  t.equal(new Set(tree.map((f) => f.id)).size, tree.length)
  const position = new Map(tree.map((f, i) => [f.id, i]))
  t.ok(
    tree.every((f, i) => f.parentId === null || (position.get(f.parentId) ?? -1) < i),
    'every parent listed before its subfolders'
  )
})

t.test('item and folder cursors: foreign or old-format cursors are bad requests', async (t) => {
  const backend = await fakeEws(t, () => root(0, 0, true, 'Items', ''))
  for (const cursor of [
    'not-a-cursor!',
    Buffer.from('{"o":20}').toString('base64url'),
    Buffer.from('{"k":"2024-01-01T00:00:00.5Z","s":""}').toString('base64url'),
    Buffer.from('{"k":"2024-01-01T00:00:00Z","s":"AAA"}').toString('base64url')
  ]) {
    await t.rejects(
      backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 2, cursor }),
      { code: 'MBG_ERR_BAD_REQUEST' },
      cursor
    )
  }
  await t.rejects(backend.listFolders(alice, { limit: 2, cursor: Buffer.from('{"a":"x y"}').toString('base64url') }), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
})

t.test('simulator: by default a page holds up to 1000 items, the most one FindItem call answers', async (t) => {
  const store = seedDemoTenant()
  const sim = await startEwsSimulator({ store, accounts: [{ username: 'svc', password: 'pw', impersonation: true }] })
  const backend = createEwsBackend(
    ewsConfig('ews', { url: sim.url, auth: { kind: 'basic', username: 'svc', password: 'pw' } }),
    { policy: new Policy(), logger }
  )
  t.teardown(async () => { await backend.close(); await sim.close() })
  const inbox = store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
  const target = store.createFolder(inbox.id, 'Thousand', 'IPF.Note')
  const start = Date.parse('2024-05-01T12:00:00Z')
  for (let n = 0; n < 1100; n++) {
    store.createItem(target.id,
      { size: 10, itemClass: 'IPM.Note', subject: `s${n}`, hasAttachments: false, blob: () => Buffer.alloc(0) },
      { created: new Date(start + n * 1000) })
  }
  const folderRef = { id: toPublicId(target.id) }
  const first = await backend.listItems(alice, folderRef, { limit: 1000 })
  t.equal(first.values.length, 1000)
  t.type(first.nextCursor, 'string')
  const second = await backend.listItems(alice, folderRef, { limit: 1000, cursor: first.nextCursor as string })
  t.equal(second.values.length, 100)
  t.equal(second.nextCursor, undefined)
  t.equal(new Set([...first.values, ...second.values].map((v) => v.id)).size, 1100, 'each item once')
})
