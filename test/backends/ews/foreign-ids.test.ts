/**
 * Ids of another mailbox, as the Graph backend reports them: "not found in this
 * mailbox" (404), with EWS's ErrorAccessDenied kept as upstreamCode. A denial of the
 * whole call (impersonation refused, another user's distinguished folder without
 * rights) stays a 403.
 */
import t from 'tap'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { ewsConfig, ewsMailbox } from '../../helpers/backends.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import { type ExportResult, type ImportResult } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { startEwsSimulator } from '../../../src/simulators/ews/index.js'
import { DEMO_MAILBOXES, seedDemoTenant } from '../../../src/simulators/store/seed.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const { logger } = captureLogs('debug', { redaction: false })
const alice = ewsMailbox('alice')
const bob = ewsMailbox('bob')

const store = seedDemoTenant()
const sim = await startEwsSimulator({
  store,
  accounts: [
    { username: 'svc-gateway', password: 'pw', impersonation: true },
    { username: 'svc-plain', password: 'pw', impersonation: false },
    { username: 'alice-user', password: 'pw', impersonation: false, smtp: DEMO_MAILBOXES.alice.smtp }
  ]
})
const policy = new Policy({ baseDelayMs: 5 })
const make = (name: string, username: string, impersonation = true): ReturnType<typeof createEwsBackend> =>
  createEwsBackend(
    ewsConfig(name, { url: sim.url, auth: { kind: 'basic', username, password: 'pw' }, impersonation }),
    { policy, logger }
  )
const backend = make('ews', 'svc-gateway')
t.teardown(async () => { await backend.close(); await sim.close() })

const codeOf = (r: ExportResult | ImportResult): string => 'error' in r ? r.error.code : 'ok'

// Real ids of Bob's mailbox, straight from the store: what a caller could paste into Alice's URLs.
const bobMailbox = store.mailboxBySmtp(bob.address)
const bobInboxEws = bobMailbox?.wellKnown.get('inbox') as string
const bobItemEws = store.folders.get(bobInboxEws)?.itemIds[0] as string
const bobInbox = toPublicId(bobInboxEws)
const bobItem = toPublicId(bobItemEws)

t.test('folder ids of another mailbox are not found in this one', async (t) => {
  t.ok(bobInboxEws !== undefined && bobItemEws !== undefined, 'fixture ids exist')
  // Bob's own calls see the folder: the id is real, only the mailbox is wrong.
  t.equal((await backend.getFolder(bob, { id: bobInbox })).displayName, 'Inbox')

  const notFound = { code: 'MBG_ERR_FOLDER_NOT_FOUND', statusCode: 404, upstreamCode: 'ErrorAccessDenied' }
  await t.rejects(backend.getFolder(alice, { id: bobInbox }), notFound, 'getFolder')
  await t.rejects(
    backend.listFolders(alice, { limit: 5, parentId: { id: bobInbox } }),
    notFound,
    'listFolders under it'
  )
  await t.rejects(backend.listItems(alice, { id: bobInbox }, { limit: 5 }), notFound, 'listItems')
  await t.rejects(backend.renameFolder(alice, { id: bobInbox }, 'Mine now'), notFound, 'renameFolder')
  await t.rejects(backend.deleteFolder(alice, { id: bobInbox }), notFound, 'deleteFolder')
  const err = await backend.createFolder(alice, { displayName: 'Planted', parentId: { id: bobInbox } }).then(
    () => undefined,
    (e: Error) => e
  )
  t.match(err, notFound, 'createFolder under it')
  t.match(err?.message, bobInbox, 'the message names the parent, not the new name')
  t.equal(store.folders.get(bobInboxEws)?.displayName, 'Inbox', 'Bob\'s folder is untouched')
})

t.test('item ids of another mailbox are not found in this one, per item', async (t) => {
  const [mine] = (await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 1 })).values
  const exported = await collect(exportItemsVia(backend, alice, [mine.id, bobItem]))
  t.same(exported.map(codeOf), ['ok', 'MBG_ERR_ITEM_NOT_FOUND'])
  t.match((exported[1] as { error: object }).error, { status: 404, upstreamCode: 'ErrorAccessDenied' })
  t.match((exported[1] as { error: { message: string } }).error.message, bobItem)

  const data = (exported[0] as { data: string }).data
  const [current] = (await backend.listItems(bob, { id: bobInbox }, { limit: 1 })).values
  const imported = await collect(importItemsVia(backend, alice, [
    { folderId: { id: bobInbox }, mode: 'create', data },
    { folderId: { wellKnown: 'inbox' }, mode: 'update', itemId: bobItem, changeKey: current.changeKey, data },
    { folderId: { wellKnown: 'inbox' }, mode: 'create', data }
  ]))
  t.same(imported.map(codeOf), ['MBG_ERR_FOLDER_NOT_FOUND', 'MBG_ERR_ITEM_NOT_FOUND', 'ok'])
  t.match((imported[0] as { error: object }).error, { status: 404, upstreamCode: 'ErrorAccessDenied' })
  t.match((imported[0] as { error: { message: string } }).error.message, bobInbox, 'names the folder')
  t.match((imported[1] as { error: { message: string } }).error.message, bobItem, 'names the item')
  t.equal(store.folders.get(bobInboxEws)?.itemIds.length, 40, 'nothing was written to Bob\'s inbox')
})

t.test('denials of the whole call stay 403', async (t) => {
  const plain = make('ews-plain', 'svc-plain')
  const delegate = make('ews-delegate', 'alice-user', false)
  t.teardown(async () => { await plain.close(); await delegate.close() })
  // Impersonation refused: a SOAP fault for the request.
  await t.rejects(plain.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_ACCESS_DENIED',
    statusCode: 403,
    upstreamCode: 'ErrorImpersonateUserDenied'
  })
  await t.rejects(collect(exportItemsVia(plain, alice, [bobItem])), { code: 'MBG_ERR_ACCESS_DENIED', statusCode: 403 })
  // Delegate access to another user's distinguished folder without rights: per message, but about the mailbox,
  // not an id.
  t.equal((await delegate.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  await t.rejects(delegate.getFolder(bob, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_ACCESS_DENIED',
    statusCode: 403,
    upstreamCode: 'ErrorAccessDenied'
  })
  await t.rejects(delegate.listItems(bob, { wellKnown: 'inbox' }, { limit: 1 }), {
    code: 'MBG_ERR_ACCESS_DENIED',
    statusCode: 403
  })
  // Renaming a distinguished folder is refused with ErrorAccessDenied too: that is a protected folder.
  const inbox = await backend.getFolder(alice, { wellKnown: 'inbox' })
  await t.rejects(backend.renameFolder(alice, { id: inbox.id }, 'Not inbox'), { code: 'MBG_ERR_FOLDER_PROTECTED' })
})
