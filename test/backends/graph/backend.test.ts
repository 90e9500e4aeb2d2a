/**
 * The Graph adapter over the real chain, all HTTPS on loopback:
 * identity simulator → MSAL token provider → adapter → Graph simulator (+ its import origin).
 */
import t from 'tap'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { startIdentitySimulator } from '../../../src/simulators/identity/index.js'
import { startGraphSimulator } from '../../../src/simulators/graph/index.js'
import { seedDemoTenant, DEMO_MAILBOXES, DEMO_TENANT_ID } from '../../../src/simulators/store/seed.js'
import { Policy } from '../../../src/backends/policy.js'
import { graphBackendOn } from '../../helpers/backends.js'
import {
  WELL_KNOWN_FOLDERS,
  type Folder,
  type MailboxRef
} from '../../../src/backends/mailbox-backend.js'
import { decodeCursor, encodeCursor } from '../../../src/backends/graph/cursor.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const GRAPH = 'https://graph.microsoft.com'
const FULL_ROLES = [
  'User.Read.All',
  'MailboxFolder.ReadWrite.All',
  'MailboxItem.Read.All',
  'MailboxItem.ImportExport.All'
]
const APP = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0c01', clientSecret: 'graph-adapter-test-secret-7f3a' }
const WEAK_APP = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0c02', clientSecret: 'weak-app-secret-91bd' }

const wire = (storeId: string): string => storeId.replace(/\+/g, '-').replace(/\//g, '_')
const store = (wireId: string): string => wireId.replace(/-/g, '+').replace(/_/g, '/')

const ref = (name: 'carol' | 'dave' | 'bob', kind: 'primary' | 'archive' = 'primary'): MailboxRef => ({
  id: `${name}-${kind}`, address: DEMO_MAILBOXES[name].smtp, type: 'graph', kind, backend: 'graph'
})

t.test('graph adapter over identity + MSAL + Graph simulators', async (t) => {
  const tls = await loopbackCertificate()
  const tenant = seedDemoTenant()
  const lines: string[] = []
  const { logger } = captureLogs('debug', { redaction: false }, lines)

  const identity = await startIdentitySimulator({
    tenantId: DEMO_TENANT_ID,
    tls,
    apps: [
      { ...APP, roles: { [GRAPH]: FULL_ROLES } },
      // Can discover mailboxes but has no mailbox permission at all.
      { ...WEAK_APP, roles: { [GRAPH]: ['User.Read.All'] } }
    ]
  })
  t.teardown(async () => await identity.close())
  const graph = await startGraphSimulator({
    store: tenant,
    tls,
    verifyBearer: async (token) => await identity.verify(token, GRAPH),
    logger: logger.child({ simulator: 'graph' })
  })
  t.teardown(async () => await graph.close())

  const policy = new Policy({ baseDelayMs: 20, maxInlineDelayMs: 3000 })
  const chain = { identityHost: identity.host, graph, ca: tls.ca, policy, logger }
  const make = (app: typeof APP, name = 'graph'): ReturnType<typeof graphBackendOn> =>
    graphBackendOn(t, chain, app, name)
  const { backend, tokens } = make(APP)
  const carol = ref('carol')

  t.test('discover returns the MBX ids of primary and archive', async (t) => {
    const d = await backend.discover('Carol@Contoso.example')
    t.equal(d.primaryRef, graph.mailboxId(DEMO_MAILBOXES.carol.guid))
    t.equal(d.archive?.ref, graph.mailboxId(DEMO_MAILBOXES.carol.archive))
    const bob = await backend.discover(DEMO_MAILBOXES.bob.smtp)
    t.equal(bob.primaryRef, graph.mailboxId(DEMO_MAILBOXES.bob.guid))
    t.equal(bob.archive, undefined)
    await t.rejects(backend.discover('nobody@contoso.example'), { code: 'MBG_ERR_MAILBOX_NOT_FOUND' })
    await t.rejects(backend.getFolder(ref('bob', 'archive'), { wellKnown: 'inbox' }), {
      code: 'MBG_ERR_MAILBOX_NOT_FOUND'
    })
  })

  t.test('folders: the whole tree pages to completion, root excluded, parents consistent', async (t) => {
    const root = await backend.getFolder(carol, { wellKnown: 'root' })
    t.equal(root.parentId, null)
    const all: Folder[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await backend.listFolders(carol, { limit: 5, ...(cursor !== undefined ? { cursor } : {}) })
      t.ok(page.values.length <= 5)
      all.push(...page.values)
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined && pages < 100)
    t.ok(pages > 2, `paged (${pages} pages)`)
    const expected = tenant
      .descendants(tenant.requireMailbox(DEMO_MAILBOXES.carol.guid).msgRootId)
      .map((f) => wire(f.id))
    t.same(all.map((f) => f.id).sort(), [...expected].sort(), 'every folder below the root, once')
    t.notOk(all.some((f) => f.id === root.id), 'root not listed')
    const ids = new Set([root.id, ...all.map((f) => f.id)])
    t.ok(all.every((f) => f.parentId !== null && ids.has(f.parentId)), 'every parent is in the tree')
    const inbox = all.find((f) => f.displayName === 'Inbox')
    t.equal(inbox?.parentId, root.id, 'top-level parentId is the root id')
    await t.rejects(
      backend.listFolders(ref('bob'), { limit: 5, cursor: 'eyJ2IjoxLCJzIjoidHJlZSIsInAiOiIvdjEuMC91c2Vycy94In0' }),
      { code: 'MBG_ERR_BAD_REQUEST' }
    )
  })

  t.test('folders: get by id and by well-known name; children listing', async (t) => {
    const byName = await backend.getFolder(carol, { wellKnown: 'inbox' })
    t.equal(byName.id, wire(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'inbox').id))
    t.equal(byName.displayName, 'Inbox')
    t.equal(byName.folderClass, 'IPF.Note')
    t.equal(byName.totalItemCount, 35)
    const byId = await backend.getFolder(carol, { id: byName.id })
    t.same(byId, byName)
    const children = await backend.listFolders(carol, { limit: 10, parentId: { wellKnown: 'inbox' } })
    t.same(children.values.map((f) => f.displayName), ['Projects'])
    t.equal(children.values[0].parentId, byName.id)
    await t.rejects(
      backend.getFolder(carol, { id: wire(tenant.wellKnownFolder(DEMO_MAILBOXES.bob.guid, 'inbox').id) }),
      { code: 'MBG_ERR_FOLDER_NOT_FOUND' }
    )
    await t.rejects(backend.getFolder(carol, { id: 'not/a+graph id' }), { code: 'MBG_ERR_ID_MALFORMED' })
  })

  t.test('folders: create, rename, delete, and their errors', async (t) => {
    const created = await backend.createFolder(carol, { displayName: 'Adapter Test', parentId: { wellKnown: 'inbox' } })
    const inbox = await backend.getFolder(carol, { wellKnown: 'inbox' })
    t.match(created, { displayName: 'Adapter Test', parentId: inbox.id, folderClass: 'IPF.Note' })
    t.equal(tenant.requireFolder(store(created.id)).displayName, 'Adapter Test')
    await t.rejects(backend.createFolder(carol, { displayName: 'adapter test', parentId: { wellKnown: 'inbox' } }), {
      code: 'MBG_ERR_FOLDER_EXISTS'
    })
    const top = await backend.createFolder(carol, { displayName: 'Adapter Calendar', folderClass: 'IPF.Appointment' })
    t.match(top, {
      parentId: (await backend.getFolder(carol, { wellKnown: 'root' })).id,
      folderClass: 'IPF.Appointment'
    })
    const renamed = await backend.renameFolder(carol, { id: created.id }, 'Adapter Renamed')
    t.equal(renamed.displayName, 'Adapter Renamed')
    t.equal(renamed.id, created.id)
    await t.rejects(backend.renameFolder(carol, { wellKnown: 'inbox' }, 'x'), { code: 'MBG_ERR_FOLDER_PROTECTED' })
    await t.rejects(backend.deleteFolder(carol, { id: inbox.id }), { code: 'MBG_ERR_FOLDER_PROTECTED' })
    await backend.deleteFolder(carol, { id: created.id })
    await backend.deleteFolder(carol, { id: top.id })
    await t.rejects(backend.getFolder(carol, { id: created.id }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
    await t.rejects(backend.deleteFolder(carol, { id: created.id }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
  })

  t.test('items: paging with subjects', async (t) => {
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await backend.listItems(
        carol,
        { wellKnown: 'inbox' },
        { limit: 10, ...(cursor !== undefined ? { cursor } : {}) }
      )
      for (const item of page.values) {
        const s = tenant.requireItem(store(item.id))
        t.equal(item.subject, s.subject)
        t.equal(item.itemClass, s.itemClass)
        t.equal(item.changeKey, s.changeKey)
        t.equal(item.size, s.size)
      }
      seen.push(...page.values.map((i) => i.id))
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined && pages < 20)
    t.equal(pages, 4)
    t.equal(new Set(seen).size, 35)
    const expected = tenant
      .itemsIn(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'inbox').id)
      .map((i) => wire(i.id))
    t.same([...seen].sort(), [...expected].sort())
  })

  const itemIdsOf = (guid: string, name: string): string[] =>
    tenant.itemsIn(tenant.wellKnownFolder(guid, name).id).map((i) => wire(i.id))
  const blob64 = (wireId: string): string => tenant.requireItem(store(wireId)).blob().toString('base64')

  t.test('export 5 → import into another folder → export again byte-identical', async (t) => {
    const ids = itemIdsOf(DEMO_MAILBOXES.carol.guid, 'sentitems').slice(0, 5)
    const exported = await collect(exportItemsVia(backend, carol, ids))
    t.same(exported.map((r) => r.itemId), ids)
    const ok = exported.filter((r): r is { itemId: string, changeKey: string, data: string } => 'data' in r)
    t.equal(ok.length, 5)
    for (const r of ok) t.equal(r.data, blob64(r.itemId))
    const target = await backend.createFolder(carol, { displayName: 'Round Trip' })
    const imported = await collect(
      importItemsVia(
        backend,
        carol,
        ok.map((r) => ({ folderId: { id: target.id }, mode: 'create' as const, data: r.data }))
      )
    )
    t.same(imported.map((r) => r.index), [0, 1, 2, 3, 4])
    const newIds = imported.map((r) => 'itemId' in r ? r.itemId : t.fail(JSON.stringify(r)) as never)
    t.equal(tenant.itemsIn(store(target.id)).length, 5)
    const again = await collect(exportItemsVia(backend, carol, newIds))
    t.same(again.map((r) => 'data' in r ? r.data : undefined), ok.map((r) => r.data), 'byte-identical')
    // update mode: keeps the id, needs itemId + changeKey
    const first = again[0] as { itemId: string, changeKey: string, data: string }
    // Two updates with one change key: the first to arrive wins, so they go one after the other.
    const updated = [
      ...(await collect(
        importItemsVia(backend, carol, [
          {
            folderId: { id: target.id },
            mode: 'update',
            data: first.data,
            itemId: first.itemId,
            changeKey: first.changeKey
          }
        ])
      )),
      ...(
        await collect(
          importItemsVia(backend, carol, [
            {
              folderId: { id: target.id },
              mode: 'update',
              data: first.data,
              itemId: first.itemId,
              changeKey: first.changeKey
            },
            { folderId: { id: target.id }, mode: 'update', data: first.data }
          ])
        )
      ).map((r) => ({ ...r, index: r.index + 1 }))
    ]
    t.match(updated[0], { index: 0, itemId: first.itemId })
    t.match(updated[1], { index: 1, error: { code: 'MBG_ERR_CHANGE_KEY_CONFLICT' } }, 'stale change key')
    t.match(updated[2], { index: 2, error: { code: 'MBG_ERR_BAD_REQUEST' } })
    // Update failures are told apart: only a stale change key is a conflict.
    const current = (updated[0] as { changeKey: string }).changeKey
    const inboxItem = itemIdsOf(DEMO_MAILBOXES.carol.guid, 'inbox')[0]
    const bobItem = itemIdsOf(DEMO_MAILBOXES.bob.guid, 'inbox')[0]
    const upd = (
      itemId: string,
      changeKey = current
    ): { folderId: { id: string }, mode: 'update', data: string, itemId: string, changeKey: string } => ({
      folderId: { id: target.id },
      mode: 'update',
      data: first.data,
      itemId,
      changeKey
    })
    const failures = await collect(importItemsVia(backend, carol, [
      upd(inboxItem), // exists, but in another folder
      upd(bobItem), // another mailbox's item
      upd(target.id), // a folder id
      upd('bad id!'), // never leaves the gateway
      upd('AAAA'), // URL-safe, but not an id
      upd(first.itemId, 'not-a-change-key'),
      upd(first.itemId, first.changeKey) // stale
    ]))
    t.same(failures.map((r) => 'error' in r ? [r.error.code, r.error.status] : 'ok'), [
      ['MBG_ERR_ITEM_NOT_FOUND', 404], ['MBG_ERR_ITEM_NOT_FOUND', 404], ['MBG_ERR_ITEM_NOT_FOUND', 404],
      ['MBG_ERR_ID_MALFORMED', 400], ['MBG_ERR_ID_MALFORMED', 400], ['MBG_ERR_CHANGE_KEY_INVALID', 400],
      ['MBG_ERR_CHANGE_KEY_CONFLICT', 409]
    ])
    t.match(
      failures[0],
      { error: { message: new RegExp(inboxItem.replace(/[-=]/g, '.')) } },
      'the missing item is named'
    )
    t.match(failures[5], { error: { message: /^Invalid change key: the one sent for item / } }, 'names what was wrong')
    t.notOk(lines.some((l) => l.includes('bad id!')), 'a malformed id is refused before any request')
    t.equal(
      tenant.requireItem(store(inboxItem)).folderId,
      tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'inbox').id,
      'nothing moved'
    )
    const corrupt = await collect(
      importItemsVia(backend, carol, [
        { folderId: { wellKnown: 'inbox' }, mode: 'create', data: Buffer.from('not a stream').toString('base64') }
      ])
    )
    t.match(corrupt[0], { index: 0, error: { code: 'MBG_ERR_DATA_INVALID' } })
  })

  t.test('folder-associated items: the adapter refuses them itself, sending nothing for them', async (t) => {
    t.same(backend.capabilities.associatedItems.supported, false)
    const before = graph.stats.requests
    await t.rejects(backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 10, associated: true }), {
      code: 'MBG_ERR_NOT_SUPPORTED', statusCode: 501, message: /does not expose folder-associated items/
    })
    t.equal(graph.stats.requests, before, 'no list call')
    const [item] = (await backend.listItems(carol, { wellKnown: 'drafts' }, { limit: 1 })).values
    const [exported] = await backend.exportBatch(carol, [item.id])
    if ('error' in exported) throw new Error('export failed')
    const target = await backend.createFolder(carol, { displayName: 'Associated items refused' })
    const count = tenant.items.size
    // Straight to the port, past the service's own check: the adapter still refuses the associated item alone.
    const results = await backend.importBatch(carol, [
      { folderId: { id: target.id }, mode: 'create', data: exported.data, position: 0, associated: true },
      { folderId: { id: target.id }, mode: 'create', data: exported.data, position: 1 }
    ])
    t.equal(results.length, 2)
    t.match(results[0], { index: 0, error: { code: 'MBG_ERR_NOT_SUPPORTED', status: 501, retryable: false } })
    t.match(results[1], { index: 1, itemId: String })
    t.equal(tenant.items.size, count + 1, 'only the normal item was stored')
  })

  t.test('export: 45 ids in chunks of ≤ 20, correlated by itemId with duplicates and errors interleaved', async (t) => {
    const ids = [
      ...itemIdsOf(DEMO_MAILBOXES.carol.guid, 'inbox'),
      ...itemIdsOf(DEMO_MAILBOXES.carol.guid, 'sentitems'),
      ...itemIdsOf(DEMO_MAILBOXES.carol.guid, 'drafts')
    ]
    t.equal(ids.length, 45)
    const adapterPosts = (): number =>
      lines.filter((l) => l.includes('"msg":"graph http"') && l.includes('/exportItems') && l.includes('"status":200'))
        .length
    const before = adapterPosts()
    const results = await collect(exportItemsVia(backend, carol, ids))
    const posts = adapterPosts() - before
    t.equal(posts, 3, 'three exportItems POSTs')
    t.same(results.map((r) => r.itemId), ids)
    for (const r of results) t.ok('data' in r && r.data === blob64(r.itemId), `data of ${r.itemId} correlated`)
    const bobItem = itemIdsOf(DEMO_MAILBOXES.bob.guid, 'inbox')[0]
    const mixed = [ids[3], 'bad id!', ids[7], ids[3], bobItem, ids[40]]
    const out = await collect(exportItemsVia(backend, carol, mixed))
    t.same(out.map((r) => r.itemId), mixed)
    t.equal((out[0] as { data: string }).data, blob64(ids[3]))
    t.match(out[1], { error: { code: 'MBG_ERR_ID_MALFORMED' } })
    t.equal((out[2] as { data: string }).data, blob64(ids[7]))
    t.equal((out[3] as { data: string }).data, blob64(ids[3]))
    t.match(out[4], { error: { code: 'MBG_ERR_ITEM_NOT_FOUND' } }, 'an item of another mailbox')
    t.equal((out[5] as { data: string }).data, blob64(ids[40]))
  })

  t.test('import: an expired session mid-batch is renewed transparently', async (t) => {
    const source = itemIdsOf(DEMO_MAILBOXES.carol.guid, 'tasks')
    const data = (await collect(exportItemsVia(backend, carol, source))).map((r) => (r as { data: string }).data)
    const target = await backend.createFolder(carol, { displayName: 'Session Expiry' })
    const sessionsBefore = graph.stats.sessionsCreated
    const items = [...data, ...data, ...data].map((d) => ({
      folderId: { id: target.id },
      mode: 'create' as const,
      data: d
    }))
    const results = []
    for await (const r of importItemsVia(backend, carol, items)) {
      results.push(r)
      if (results.length === 3) graph.faults.expireSessions = true
    }
    t.equal(results.length, 12)
    t.same(results.filter((r) => 'error' in r), [], 'no item failed')
    t.same(results.map((r) => r.index), items.map((_, i) => i))
    t.equal(tenant.itemsIn(store(target.id)).length, 12)
    t.ok(graph.stats.sessionsCreated > sessionsBefore, 'a new session was opened')
  })

  t.test('every well-known name of the port resolves in a primary mailbox', async (t) => {
    const mailbox = tenant.requireMailbox(DEMO_MAILBOXES.carol.guid)
    t.equal(WELL_KNOWN_FOLDERS.length, 13)
    for (const name of WELL_KNOWN_FOLDERS) {
      const expected = tenant.requireFolder(
        name === 'root' ? mailbox.msgRootId : tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, name).id
      )
      const folder = await backend.getFolder(carol, { wellKnown: name })
      t.match(
        folder,
        { id: wire(expected.id), displayName: expected.displayName, folderClass: expected.folderClass },
        name
      )
    }
    t.equal((await backend.getFolder(carol, { wellKnown: 'journal' })).displayName, 'Journal')
    t.same((await backend.listItems(carol, { wellKnown: 'journal' }, { limit: 5 })).values, [])
  })

  t.test("ids of another mailbox, and folder and item ids swapped, are not found (never someone else's data)",
    async (t) => {
      const bobInbox = wire(tenant.wellKnownFolder(DEMO_MAILBOXES.bob.guid, 'inbox').id)
      const carolItem = itemIdsOf(DEMO_MAILBOXES.carol.guid, 'inbox')[0]
      const carolInbox = wire(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'inbox').id)
      const notFolder = { code: 'MBG_ERR_FOLDER_NOT_FOUND', statusCode: 404 }
      await t.rejects(backend.getFolder(carol, { id: bobInbox }), notFolder)
      await t.rejects(backend.listItems(carol, { id: bobInbox }, { limit: 5 }), notFolder)
      await t.rejects(backend.listFolders(carol, { limit: 5, parentId: { id: bobInbox } }), notFolder)
      await t.rejects(backend.getFolder(carol, { id: carolItem }), notFolder, 'an item id as a folder id')
      await t.rejects(backend.listItems(carol, { id: carolItem }, { limit: 5 }), notFolder)
      const bobItem = itemIdsOf(DEMO_MAILBOXES.bob.guid, 'inbox')[0]
      const out = await collect(exportItemsVia(backend, carol, [bobItem, carolInbox, carolItem]))
      t.same(
        out.map((r) => ('error' in r ? [r.error.code, r.error.status] : 'ok')),
        [['MBG_ERR_ITEM_NOT_FOUND', 404], ['MBG_ERR_ITEM_NOT_FOUND', 404], 'ok']
      )
    })

  t.test('cursors: only the exact listing they were issued for; a refused link is a 400', async (t) => {
    const first = await backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 10 })
    if (first.nextCursor === undefined) throw new Error('inbox has one page only')
    const issued = decodeCursor(first.nextCursor)
    t.match(issued.p, /\/folders\/inbox\/items\?/)
    const forge = (p: string, s = issued.s): string => encodeCursor({ v: 1, s, p })
    const calendarItems = forge(issued.p.replace('/folders/inbox/items', '/folders/calendar/items'))
    const bad = { code: 'MBG_ERR_BAD_REQUEST', statusCode: 400 }
    // Same label, same mailbox, another collection: refused before any request.
    await t.rejects(backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 10, cursor: calendarItems }), bad)
    await t.rejects(
      backend.listItems(
        carol,
        { wellKnown: 'inbox' },
        { limit: 10, cursor: forge(issued.p.replace(/\/items\?.*$/, '/childFolders')) }
      ),
      bad
    )
    await t.rejects(
      backend.listItems(carol, { wellKnown: 'calendar' }, { limit: 10, cursor: first.nextCursor }),
      bad,
      'another folder'
    )
    await t.rejects(
      backend.listFolders(carol, { limit: 10, cursor: forge(issued.p, 'tree') }),
      bad,
      'items as the folder tree'
    )
    await t.rejects(
      backend.listFolders(carol, { limit: 10, parentId: { wellKnown: 'inbox' }, cursor: first.nextCursor }),
      bad
    )
    // The legitimate cursor still works.
    const second = await backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 10, cursor: first.nextCursor })
    t.equal(second.values.length, 10)
    t.notSame(second.values.map((i) => i.id), first.values.map((i) => i.id))

    // Well-formed links Graph refuses (a damaged $skip, an unknown $skiptoken) are the cursor's fault: 400, not 502.
    const skipped = forge(issued.p.replace(/(%24|\$)skip=\d+/, '$1skip=ten'))
    t.not(skipped, first.nextCursor)
    const err = await backend
      .listItems(carol, { wellKnown: 'inbox' }, { limit: 10, cursor: skipped })
      .catch((e: unknown) => e)
    t.match(err, { ...bad, upstreamCode: 'BadRequest', message: /restart the listing/ })
    const tree = await backend.listFolders(carol, { limit: 3 })
    if (tree.nextCursor === undefined) throw new Error('the folder tree has one page only')
    const treeLink = decodeCursor(tree.nextCursor)
    t.match(treeLink.p, /\/folders\/delta\?.*skiptoken=/)
    const stale = forge(treeLink.p.replace(/skiptoken=[^&]+/, 'skiptoken=bm90LWEtdG9rZW4'), 'tree')
    await t.rejects(backend.listFolders(carol, { limit: 3, cursor: stale }), bad)
  })

  t.test('archives (beta): carol by well-known name, dave auto-expanded (308, export re-POST, import 409)',
    async (t) => {
      const carolArchive = ref('carol', 'archive')
      const aInbox = await backend.getFolder(carolArchive, { wellKnown: 'inbox' })
      t.equal(aInbox.id, wire(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.archive, 'archiveinbox').id))
      const aRoot = await backend.getFolder(carolArchive, { wellKnown: 'root' })
      t.equal(aInbox.parentId, aRoot.id)
      t.equal(aRoot.parentId, null)
      await t.rejects(backend.getFolder(carolArchive, { wellKnown: 'calendar' }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
      t.ok(lines.some((l) => l.includes('/beta/admin/exchange/mailboxes/')), 'archive calls use beta')

      const dave = ref('dave', 'archive')
      const tree = await backend.listFolders(dave, { limit: 100 })
      const y2018 = tree.values.find((f) => f.displayName === '2018')
      const expanded = tree.values.find((f) => f.displayName === 'Expanded')
      if (y2018 === undefined || expanded === undefined) throw new Error('2018/Expanded not listed')
      const redirectsBefore = lines.filter((l) => l.includes('graph redirect')).length
      const got = await backend.getFolder(dave, { id: y2018.id })
      t.match(got, { id: y2018.id, displayName: '2018', totalItemCount: 12 })
      t.ok(lines.filter((l) => l.includes('graph redirect')).length > redirectsBefore, '308 followed')

      const items = await backend.listItems(dave, { id: y2018.id }, { limit: 5 })
      t.equal(items.values.length, 5)
      const more = await backend.listItems(
        dave,
        { id: y2018.id },
        { limit: 5, ...(items.nextCursor !== undefined ? { cursor: items.nextCursor } : {}) }
      )
      t.equal(more.values.length, 5, 'cursor into the auxiliary archive accepted')
      const auxIds = [...items.values, ...more.values].map((i) => i.id)
      const rePosts = (): number => lines.filter((l) => l.includes('export re-POST to an auxiliary archive')).length
      const rePostsBefore = rePosts()
      const exported = await collect(exportItemsVia(backend, dave, auxIds))
      t.equal(rePosts() - rePostsBefore, 10, 'every id was re-POSTed to the auxiliary archive')
      for (const r of exported) t.ok('data' in r && r.data === blob64(r.itemId), `aux export of ${r.itemId}`)

      const countBefore = tenant.itemsIn(store(expanded.id)).length
      const imported = await collect(
        importItemsVia(
          backend,
          dave,
          exported
            .slice(0, 2)
            .map((r) => ({
              folderId: { id: expanded.id },
              mode: 'create' as const,
              data: (r as { data: string }).data
            }))
        )
      )
      t.same(imported.filter((r) => 'error' in r), [])
      t.ok(
        lines.some((l) => l.includes('import rerouted') && l.includes(graph.mailboxId(DEMO_MAILBOXES.dave.aux))),
        '409 → session on the aux MBX'
      )
      const after = tenant.itemsIn(store(expanded.id))
      t.equal(after.length, countBefore + 2)
      t.ok(after.every((i) => i.mailboxGuid === DEMO_MAILBOXES.dave.aux), 'content landed in the auxiliary archive')
    })

  t.test('a token without the role → MBG_ERR_ACCESS_DENIED with upstream details', async (t) => {
    const { backend: weak } = make(WEAK_APP, 'weak')
    const err = (await weak.getFolder(carol, { wellKnown: 'inbox' }).catch((e: unknown) => e)) as {
      code?: string
      upstreamRequestId?: string
      upstreamCode?: string
      statusCode?: number
    }
    t.equal(err.code, 'MBG_ERR_ACCESS_DENIED')
    t.equal(err.statusCode, 403)
    t.type(err.upstreamRequestId, 'string')
    t.type(err.upstreamCode, 'string')
    await t.rejects(collect(exportItemsVia(weak, carol, itemIdsOf(DEMO_MAILBOXES.carol.guid, 'inbox').slice(0, 2))), {
      code: 'MBG_ERR_ACCESS_DENIED'
    })
  })

  t.test('429 with a short Retry-After is retried by the policy; a long one is passed on', async (t) => {
    const retries = policy.stats.retries
    const throttled = graph.stats.throttled
    graph.faults.retryAfterSec = 1
    graph.faults.throttle = 1
    const f = await backend.getFolder(carol, { wellKnown: 'drafts' })
    t.equal(f.displayName, 'Drafts')
    t.equal(policy.stats.retries, retries + 1)
    t.ok(graph.stats.throttled > throttled)
    graph.faults.retryAfterSec = 120
    graph.faults.throttle = 1
    await t.rejects(backend.getFolder(carol, { wellKnown: 'sentitems' }), {
      code: 'MBG_ERR_UPSTREAM_THROTTLED',
      retryAfter: 120
    })
    graph.faults.throttle = 0
    graph.faults.retryAfterSec = 1
  })

  t.test('logs carry no bearer token, client secret or authtoken value', async (t) => {
    const token = await tokens.getToken()
    const text = lines.join('')
    t.ok(text.length > 0)
    t.notOk(text.includes(token), 'no bearer token')
    t.notMatch(text, /eyJ[\w-]{10,}\.[\w-]{10,}\./, 'nothing JWT-like')
    t.notOk(text.includes(APP.clientSecret), 'no client secret')
    t.notOk(text.includes(WEAK_APP.clientSecret), 'no client secret')
    t.notMatch(text, /authtoken=(?!\[REDACTED\])/i, 'authtoken values redacted')
    t.match(text, /authtoken=\[REDACTED\]/, 'import URLs were logged, redacted')
  })
})
