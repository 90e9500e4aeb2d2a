import t from 'tap'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { ewsConfig, ewsMailbox } from '../../helpers/backends.js'
import {
  type ExportResult,
  type Folder,
  type ImportResult,
  type ItemSummary,
  type MailboxBackend,
  type MailboxRef
} from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { startEwsSimulator } from '../../../src/simulators/ews/index.js'
import { DEMO_MAILBOXES, seedDemoTenant } from '../../../src/simulators/store/seed.js'
import { makeId } from '../../../src/simulators/store/store.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const { logger } = captureLogs('debug', { redaction: false })
const ALICE = DEMO_MAILBOXES.alice.smtp
const alice = ewsMailbox('alice')
const aliceArchive = ewsMailbox('alice', 'archive')
const bob = ewsMailbox('bob')

type Ok<T> = Exclude<T, { error: unknown }>
const isOk = <T extends object>(r: T): r is Ok<T> => !('error' in r)
const errorOf = (r: ExportResult | ImportResult): string | undefined => 'error' in r ? r.error.code : undefined

const store = seedDemoTenant()
const sim = await startEwsSimulator({
  store,
  accounts: [{ username: 'svc-gateway', password: 'pw', impersonation: true }]
})
const policy = new Policy({ baseDelayMs: 5, maxInlineDelayMs: 1000 })
const backend = createEwsBackend(
  ewsConfig('ews', {
    url: sim.url,
    auth: { kind: 'basic', username: 'svc-gateway', password: 'pw' },
    exportBatchSize: 2,
    uploadBatchSize: 2
  }),
  { policy, logger }
)
t.teardown(async () => { await backend.close(); await sim.close() })

function resetFaults (): void {
  Object.assign(sim.faults, {
    serverBusy: 0,
    backOffMs: 500,
    http503: 0,
    delayMs: 0,
    truncate: 0,
    reset: 0,
    stallPaging: 0
  })
  delete sim.faults.only
}

async function allFolders (b: MailboxBackend, mailbox: MailboxRef,
  limit: number): Promise<{ folders: Folder[], pages: number }> {
  const folders: Folder[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await b.listFolders(mailbox, { limit, ...(cursor !== undefined ? { cursor } : {}) })
    folders.push(...page.values)
    cursor = page.nextCursor
    pages++
  } while (cursor !== undefined && pages < 100)
  return { folders, pages }
}

async function allItems (mailbox: MailboxRef, folderId: string,
  limit: number): Promise<{ items: ItemSummary[], pages: number }> {
  const items: ItemSummary[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await backend.listItems(
      mailbox,
      { id: folderId },
      { limit, ...(cursor !== undefined ? { cursor } : {}) }
    )
    items.push(...page.values)
    cursor = page.nextCursor
    pages++
  } while (cursor !== undefined && pages < 100)
  return { items, pages }
}

function countIpmFolders (rootId: string): number {
  let n = 0
  const walk = (id: string): void => {
    for (const c of store.folders.get(id)?.childIds ?? []) { n++; walk(c) }
  }
  walk(rootId)
  return n
}

t.test('folders: deep listing pages to completion, get by id and by well-known name', async (t) => {
  const root = await backend.getFolder(alice, { wellKnown: 'root' })
  t.equal(root.parentId, null)
  t.equal(root.wellKnownName, 'root')
  const { folders, pages } = await allFolders(backend, alice, 3)
  const expected = countIpmFolders(store.mailboxBySmtp(ALICE)?.msgRootId as string)
  t.equal(folders.length, expected)
  t.ok(pages >= Math.ceil(expected / 3), `paged ${pages} times`)
  t.equal(new Set(folders.map((f) => f.id)).size, folders.length, 'no duplicates')
  const ids = new Set([root.id, ...folders.map((f) => f.id)])
  t.ok(folders.every((f) => f.parentId !== null && ids.has(f.parentId)), 'every parent is in the tree')
  for (const f of folders) t.match(f.id, /^[A-Za-z0-9_-]+$/)

  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  t.equal(inbox.displayName, 'Inbox')
  t.equal(inbox.totalItemCount, 60)
  t.equal(inbox.parentId, root.id)
  t.equal(inbox.folderClass, 'IPF.Note')
  const alpha = folders.find((f) => f.displayName === 'Alpha') as Folder
  const byId = await backend.getFolder(alice, { id: alpha.id })
  t.equal(byId.displayName, 'Alpha')
  t.equal(byId.totalItemCount, 8)
  t.equal(byId.childFolderCount, 1)

  const children = await backend.listFolders(alice, { limit: 50, parentId: { wellKnown: 'inbox' } })
  t.same(children.values.map((f) => f.displayName).sort(), ['Projects', 'Receipts'])
  t.equal(children.nextCursor, undefined)

  await t.rejects(
    backend.getFolder(alice, {
      id: makeId(DEMO_MAILBOXES.alice.guid, 1, 'nope').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    }),
    { code: 'MBG_ERR_FOLDER_NOT_FOUND' }
  )
  await t.rejects(backend.getFolder(alice, { id: 'a%b' }), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 })
  await t.rejects(backend.listFolders(alice, { limit: 5, cursor: 'not-a-cursor!' }), { code: 'MBG_ERR_BAD_REQUEST' })
  await t.rejects(backend.listFolders(alice, { limit: 5, cursor: Buffer.from('{"o":-1}').toString('base64url') }), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
})

t.test('folders: create, rename, delete; well-known folders are protected', async (t) => {
  const created = await backend.createFolder(alice, { displayName: 'Restore & <1>', parentId: { wellKnown: 'inbox' } })
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  t.equal(created.parentId, inbox.id)
  t.equal(created.folderClass, 'IPF.Note')
  const read = await backend.getFolder(alice, { id: created.id })
  t.equal(read.displayName, 'Restore & <1>')
  t.equal(read.parentId, inbox.id)
  await t.rejects(backend.createFolder(alice, { displayName: 'Restore & <1>', parentId: { wellKnown: 'inbox' } }), {
    code: 'MBG_ERR_FOLDER_EXISTS',
    statusCode: 409
  })
  const cal = await backend.createFolder(alice, { displayName: 'Team calendar', folderClass: 'IPF.Appointment' })
  t.equal((await backend.getFolder(alice, { id: cal.id })).folderClass, 'IPF.Appointment')

  const renamed = await backend.renameFolder(alice, { id: created.id }, 'Restored')
  t.equal(renamed.displayName, 'Restored')
  t.equal((await backend.getFolder(alice, { id: created.id })).displayName, 'Restored')

  await backend.deleteFolder(alice, { id: created.id })
  await backend.deleteFolder(alice, { id: cal.id })
  await t.rejects(backend.getFolder(alice, { id: created.id }), { code: 'MBG_ERR_FOLDER_NOT_FOUND', statusCode: 404 })
  await t.rejects(backend.deleteFolder(alice, { id: created.id }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })

  await t.rejects(backend.deleteFolder(alice, { wellKnown: 'inbox' }), { code: 'MBG_ERR_FOLDER_PROTECTED' })
  await t.rejects(backend.deleteFolder(alice, { id: inbox.id }), {
    code: 'MBG_ERR_FOLDER_PROTECTED',
    upstreamCode: 'ErrorDeleteDistinguishedFolder'
  })
  await t.rejects(backend.renameFolder(alice, { id: inbox.id }, 'Not inbox'), { code: 'MBG_ERR_FOLDER_PROTECTED' })
  await t.rejects(backend.renameFolder(alice, { wellKnown: 'root' }, 'x'), { code: 'MBG_ERR_FOLDER_PROTECTED' })
  t.equal((await backend.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
})

t.test('folders: create and rename answer with what the server stored; a name conflict names the name', async (t) => {
  // The server trims names: the answer must say what it stored, not echo the request.
  const created = await backend.createFolder(alice, {
    displayName: '  Padded name\t ',
    parentId: { wellKnown: 'inbox' }
  })
  t.equal(created.displayName, 'Padded name')
  t.same(created, await backend.getFolder(alice, { id: created.id }), 'same as a later read')
  const renamed = await backend.renameFolder(alice, { id: created.id }, ' Renamed ')
  t.equal(renamed.displayName, 'Renamed')
  t.same(renamed, await backend.getFolder(alice, { id: created.id }))

  // Renaming a folder with content keeps its real counts.
  const { folders } = await allFolders(backend, alice, 50)
  const alpha = folders.find((f) => f.displayName === 'Alpha') as Folder
  const alphaRenamed = await backend.renameFolder(alice, { id: alpha.id }, 'Alpha2 ')
  t.match(alphaRenamed, { displayName: 'Alpha2', totalItemCount: 8, childFolderCount: 1, parentId: alpha.parentId })
  await backend.renameFolder(alice, { id: alpha.id }, 'Alpha')

  const sibling = await backend.createFolder(alice, { displayName: 'Sibling', parentId: { wellKnown: 'inbox' } })
  const conflict = await backend.renameFolder(alice, { id: sibling.id }, 'Renamed').then(
    () => undefined,
    (e: Error) => e
  )
  t.match(conflict, { code: 'MBG_ERR_FOLDER_EXISTS', statusCode: 409, upstreamCode: 'ErrorFolderExists' })
  t.equal(conflict?.message, 'A folder named Renamed already exists there')
  const dup = await backend.createFolder(alice, { displayName: 'Sibling', parentId: { wellKnown: 'inbox' } }).then(
    () => undefined,
    (e: Error) => e
  )
  t.equal(dup?.message, 'A folder named Sibling already exists there')
  await backend.deleteFolder(alice, { id: sibling.id })
  await backend.deleteFolder(alice, { id: created.id })
})

t.test('items: list pages to completion in creation order', async (t) => {
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  const { items, pages } = await allItems(alice, inbox.id, 25)
  t.equal(items.length, 60)
  t.equal(pages, 3)
  t.equal(new Set(items.map((i) => i.id)).size, 60)
  const created = items.map((i) => Date.parse(i.created ?? ''))
  t.ok(created.every((c) => !Number.isNaN(c)), 'every item has a creation time')
  t.ok(created.every((c, i) => i === 0 || c >= created[i - 1]), 'ascending by creation time')
  t.ok(
    items.every(
      (i) =>
        i.itemClass === 'IPM.Note' &&
        i.size > 0 &&
        i.changeKey !== '' &&
        i.subject !== undefined &&
        !Number.isNaN(Date.parse(i.modified ?? ''))
    )
  )
})

t.test('export 5 → import CreateNew elsewhere → export again: byte-identical; stale update → 409', async (t) => {
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  const source = (await backend.listItems(alice, { id: inbox.id }, { limit: 5 })).values
  t.equal(source.length, 5)
  const exported = await collect(exportItemsVia(backend, alice, source.map((i) => i.id)))
  t.equal(exported.length, 5)
  t.ok(exported.every(isOk), 'all exported')
  const ok = exported.filter(isOk)
  t.same(ok.map((e) => e.itemId), source.map((s) => s.id), 'results in request order')
  t.same(ok.map((e) => e.changeKey), source.map((s) => s.changeKey))

  const target = await backend.createFolder(alice, { displayName: 'Copy target' })
  const imported = await collect(
    importItemsVia(
      backend,
      alice,
      ok.map((e) => ({ folderId: { id: target.id }, mode: 'create' as const, data: e.data }))
    )
  )
  t.same(imported.map((r) => r.index), [0, 1, 2, 3, 4])
  t.ok(imported.every(isOk), 'all imported')
  const newIds = imported.filter(isOk).map((r) => r.itemId)
  t.equal(new Set([...newIds, ...source.map((s) => s.id)]).size, 10, 'new ids')
  const again = await collect(exportItemsVia(backend, alice, newIds))
  t.same(again.filter(isOk).map((e) => e.data), ok.map((e) => e.data), 'byte-identical streams')
  t.equal((await allItems(alice, target.id, 2)).items.length, 5)

  // Update with the current change key works and bumps it; the old one is then stale.
  const first = imported[0] as Ok<ImportResult>
  const [updated] = await collect(
    importItemsVia(backend, alice, [
      {
        folderId: { id: target.id },
        mode: 'update',
        itemId: first.itemId,
        changeKey: first.changeKey,
        data: ok[1].data
      }
    ])
  )
  t.ok(isOk(updated), JSON.stringify(updated))
  t.not((updated as Ok<ImportResult>).changeKey, first.changeKey)
  const stale = await collect(importItemsVia(backend, alice, [
    { folderId: { id: target.id }, mode: 'update', itemId: first.itemId, changeKey: first.changeKey, data: ok[0].data },
    { folderId: { id: target.id }, mode: 'create', data: ok[2].data }
  ]))
  t.equal(errorOf(stale[0]), 'MBG_ERR_CHANGE_KEY_CONFLICT')
  t.equal((stale[0] as { error: { status: number } }).error.status, 409)
  t.ok(isOk(stale[1]), 'its neighbour is imported')
})

t.test('per-item errors: malformed ids, unknown items, bad input', async (t) => {
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  const [one] = (await backend.listItems(alice, { id: inbox.id }, { limit: 1 })).values
  const unknown = makeId(DEMO_MAILBOXES.alice.guid, 2, 'no such item')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
  const unknownFolder = makeId(DEMO_MAILBOXES.alice.guid, 1, 'no such folder')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
  const results = await collect(exportItemsVia(backend, alice, ['bad id!', one.id, unknown, '~~', one.id]))
  t.same(results.map(errorOf), [
    'MBG_ERR_ID_MALFORMED',
    undefined,
    'MBG_ERR_ITEM_NOT_FOUND',
    'MBG_ERR_ID_MALFORMED',
    undefined
  ])
  t.same(results.map((r) => r.itemId), ['bad id!', one.id, unknown, '~~', one.id])
  t.equal((results[2] as { error: { upstreamCode?: string } }).error.upstreamCode, 'ErrorItemNotFound')

  const [data] = (await collect(exportItemsVia(backend, alice, [one.id]))).filter(isOk)
  const imports = await collect(
    importItemsVia(backend, alice, [
      { folderId: { id: 'bad id!' }, mode: 'create', data: data.data },
      { folderId: { wellKnown: 'inbox' }, mode: 'update', itemId: one.id, data: data.data },
      { folderId: { wellKnown: 'inbox' }, mode: 'create', data: 'not base64 !!' },
      {
        folderId: { wellKnown: 'inbox' },
        mode: 'create',
        data: Buffer.from('garbage that is not a stream').toString('base64')
      },
      { folderId: { id: unknownFolder }, mode: 'create', data: data.data },
      { folderId: { wellKnown: 'deleteditems' }, mode: 'create', data: data.data }
    ])
  )
  t.same(imports.map((r) => r.index), [0, 1, 2, 3, 4, 5])
  t.same(imports.map(errorOf), [
    'MBG_ERR_ID_MALFORMED',
    'MBG_ERR_BAD_REQUEST',
    'MBG_ERR_DATA_INVALID',
    'MBG_ERR_DATA_INVALID',
    'MBG_ERR_FOLDER_NOT_FOUND',
    undefined
  ])
  const messages = imports.map((r) => 'error' in r ? r.error.message : '')
  t.match(messages[1], 'import item 1')
  t.match(messages[2], 'import item 2')
  t.equal(
    messages[3],
    'Item data is not valid: import item 3: the backend refuses it (ErrorCorruptData)',
    'the server rejected it: the message names the input position'
  )
  t.equal(messages[4], `Folder ${unknownFolder} not found`, 'a missing folder is named')
  t.notMatch(messages.join('\n'), /(?<!import )\bitem \d/, 'an index is always "import item N"')
})

t.test('archive mailbox', async (t) => {
  t.same(await backend.discover(ALICE), { archive: {} })
  t.same(await backend.discover(DEMO_MAILBOXES.bob.smtp), {})
  const root = await backend.getFolder(aliceArchive, { wellKnown: 'root' })
  const primaryRoot = await backend.getFolder(alice, { wellKnown: 'root' })
  t.not(root.id, primaryRoot.id)
  t.equal(root.parentId, null)
  const { folders } = await allFolders(backend, aliceArchive, 4)
  t.ok(folders.some((f) => f.displayName === '2019'))
  t.ok(folders.some((f) => f.displayName === 'Q2'))
  t.notOk(folders.some((f) => f.displayName === 'Receipts'), 'primary folders are not in the archive')
  const archInbox = await backend.getFolder(aliceArchive, { wellKnown: 'inbox' })
  t.not(archInbox.id, (await backend.getFolder(alice, { wellKnown: 'inbox' })).id)
  await t.rejects(backend.getFolder(aliceArchive, { wellKnown: 'calendar' }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
  await t.rejects(
    backend
      .getFolder(bob, { wellKnown: 'root' })
      .then(async () => await backend.getFolder({ ...bob, kind: 'archive' }, { wellKnown: 'root' })),
    { code: 'MBG_ERR_FOLDER_NOT_FOUND' }
  )
  const q1 = folders.find((f) => f.displayName === 'Q1') as Folder
  const { items } = await allItems(aliceArchive, q1.id, 4)
  t.equal(items.length, 10)
  const exported = await collect(exportItemsVia(backend, aliceArchive, items.slice(0, 3).map((i) => i.id)))
  t.ok(exported.every(isOk))
})

t.test('throttling: short ErrorServerBusy is absorbed by the policy, long is passed on', async (t) => {
  t.teardown(resetFaults)
  const before = policy.stats.retries
  Object.assign(sim.faults, { serverBusy: 2, backOffMs: 50 })
  const page = await backend.listFolders(alice, { limit: 2 })
  t.equal(page.values.length, 2)
  t.equal(policy.stats.retries - before, 2)
  t.equal(sim.faults.serverBusy, 0)

  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  const [one] = (await backend.listItems(alice, { id: inbox.id }, { limit: 1 })).values
  Object.assign(sim.faults, { serverBusy: 1, backOffMs: 60_000, only: ['ExportItems'] })
  const stats = { ...policy.stats }
  await t.rejects(collect(exportItemsVia(backend, alice, [one.id])), {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    statusCode: 503,
    retryAfter: 60,
    upstreamCode: 'ErrorServerBusy'
  })
  // The policy sleeps only before a retry: none, and one give-up, means it did not sit through the back-off.
  t.same({ retries: policy.stats.retries - stats.retries, gaveUp: policy.stats.gaveUp - stats.gaveUp },
    { retries: 0, gaveUp: 1 }, 'did not sit through the back-off')
})

t.test('transport failures: resets, 503 and truncated bodies are retried for idempotent calls', async (t) => {
  t.teardown(resetFaults)
  const before = policy.stats.retries
  sim.faults.reset = 1
  t.equal((await backend.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  sim.faults.http503 = 1
  t.equal((await backend.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  sim.faults.truncate = 1
  t.equal((await backend.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  t.equal(policy.stats.retries - before, 3)

  // A reset on UploadItems CreateNew may have created the items: not retried, reported as an unknown outcome
  // of that item (never a whole-request error, which would read as "nothing done").
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  const [one] = (await backend.listItems(alice, { id: inbox.id }, { limit: 1 })).values
  const [data] = (await collect(exportItemsVia(backend, alice, [one.id]))).filter(isOk)
  Object.assign(sim.faults, { reset: 1, only: ['UploadItems'] })
  const uploads = sim.stats.byOperation.UploadItems ?? 0
  t.match(
    await collect(importItemsVia(backend, alice, [{ folderId: { id: inbox.id }, mode: 'create', data: data.data }])),
    [{ index: 0, error: { code: 'MBG_ERR_OUTCOME_UNKNOWN', status: 502, retryable: false } }]
  )
  t.equal((sim.stats.byOperation.UploadItems ?? 0) - uploads, 1, 'sent once')
})

t.test('account and mailbox errors', async (t) => {
  const wrong = createEwsBackend(
    ewsConfig('ews-bad', { url: sim.url, auth: { kind: 'basic', username: 'svc-gateway', password: 'nope' } }),
    { policy, logger }
  )
  t.teardown(async () => await wrong.close())
  await t.rejects(wrong.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED', statusCode: 502, message: /backends\.ews-bad\.auth\.password/
  })
  await t.rejects(backend.discover('nobody@contoso.example'), { code: 'MBG_ERR_MAILBOX_NOT_FOUND', statusCode: 404 })
  const nobody: MailboxRef = { ...alice, address: 'nobody@contoso.example' }
  await t.rejects(backend.getFolder(nobody, { wellKnown: 'inbox' }), { code: 'MBG_ERR_MAILBOX_NOT_FOUND' })
  await t.rejects(collect(exportItemsVia(backend, nobody, ['AAAA'])), { code: 'MBG_ERR_MAILBOX_NOT_FOUND' })
})
