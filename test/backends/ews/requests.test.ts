import t from 'tap'
import pino from 'pino'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { ewsConfig, STUB_OAUTH } from '../../helpers/backends.js'
import { type MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import { encodeItemCursor } from '../../../src/backends/ews/mapping.js'
import { validateEws } from '../../helpers/ews-schema.js'
import { startRecorder } from './recorder.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const logger = pino({ level: 'silent' })
const alice: MailboxRef = {
  id: 'alice',
  address: 'alice@contoso.example',
  type: 'ews',
  kind: 'primary',
  backend: 'ews1'
}
const aliceArchive: MailboxRef = { ...alice, id: 'alice-archive', kind: 'archive' }
const FOLDER = toPublicId('AAMkAGZvbGRlci1pZC0xMjM0NTY3ODkw+/==')
const ITEM = toPublicId('AAMkAGl0ZW0taWQtMTIzNDU2Nzg5MA+/AB==')

t.test('every request the adapter sends is a schema-valid EWS envelope (impersonation)', async (t) => {
  const rec = await startRecorder()
  const backend = createEwsBackend(
    ewsConfig('ews1', { url: rec.url, auth: { kind: 'basic', username: 'svc-gateway', password: 's3cret' } }),
    { policy: new Policy(), logger }
  )
  t.teardown(async () => { await backend.close(); await rec.close() })

  const found = await backend.discover(alice.address)
  t.same(found, { archive: {} })
  const f = await backend.getFolder(alice, { id: FOLDER })
  t.equal(f.displayName, 'F')
  t.equal(f.totalItemCount, 3)
  await backend.getFolder(alice, { wellKnown: 'inbox' })
  await backend.getFolder(aliceArchive, { wellKnown: 'inbox' })
  const deep = await backend.listFolders(alice, { limit: 7 })
  t.equal(deep.values.length, 1)
  t.equal(deep.nextCursor, undefined)
  await backend.listFolders(alice, { limit: 5000, parentId: { id: FOLDER } })
  const created = await backend.createFolder(alice, {
    displayName: 'R&D <"Q1"> \'x\'',
    parentId: { wellKnown: 'inbox' },
    folderClass: 'IPF.Appointment'
  })
  // The result is the folder as the server reads it back (this stand-in always says 'F', IPF.Note, 3 items),
  // not the request echoed.
  t.same([created.displayName, created.folderClass, created.totalItemCount], ['F', 'IPF.Note', 3])
  t.same(rec.requests.slice(-2).map((r) => r.op), ['CreateFolder', 'GetFolder'], 'created folder read back')
  t.match(rec.requests[rec.requests.length - 1].body, /<m:FolderIds><t:FolderId Id="[^"]+"\/><\/m:FolderIds>/)
  const renamed = await backend.renameFolder(alice, { id: FOLDER }, 'Über & <Co>')
  t.same([renamed.displayName, renamed.totalItemCount], ['F', 3])
  t.same(rec.requests.slice(-2).map((r) => r.op), ['UpdateFolder', 'GetFolder'], 'renamed folder read back')
  await backend.deleteFolder(alice, { id: FOLDER })
  const items = await backend.listItems(
    alice,
    { id: FOLDER },
    { limit: 10, cursor: encodeItemCursor({ key: '2024-01-01T00:00:00Z', seen: new Set(['0123456789']) }) }
  )
  t.equal(items.values[0].itemClass, 'IPM.Note')
  t.equal(items.values[0].size, 10)
  const exported = await collect(exportItemsVia(backend, alice, [ITEM, 'not a valid id', ITEM]))
  t.equal(exported.length, 3)
  t.equal((exported[1] as { error: { code: string } }).error.code, 'MBG_ERR_ID_MALFORMED')
  t.equal((exported[0] as { data: string }).data, 'AQAAAAgA', 'whitespace inside m:Data is removed')
  const imported = await collect(importItemsVia(backend, alice, [
    { folderId: { id: FOLDER }, mode: 'create', data: 'AQAAAAgA' },
    { folderId: { wellKnown: 'inbox' }, mode: 'update', itemId: ITEM, changeKey: 'CQAAABYAAAA=', data: 'AQAAAAgA' }
  ]))
  t.same(imported.map((r) => r.index), [0, 1])
  t.notOk(imported.some((r) => 'error' in r))
  // Folder-associated items: listed with Traversal="Associated" (marked as such), imported with IsAssociated.
  const fai = await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 10, associated: true })
  t.equal(fai.values[0].associated, true, 'an associated listing marks its items')
  const faiImported = await collect(importItemsVia(backend, alice, [
    { folderId: { id: FOLDER }, mode: 'create', data: 'AQAAAAgA', associated: true }
  ]))
  t.notOk(faiImported.some((r) => 'error' in r))

  const ops = rec.requests.map((r) => r.op)
  for (const op of ['GetFolder', 'FindFolder', 'CreateFolder', 'UpdateFolder', 'DeleteFolder', 'FindItem',
    'ExportItems', 'UploadItems']) {
    t.ok(ops.includes(op), `sent ${op}`)
  }
  const result = await validateEws(rec.requests.map((r, i) => ({ name: `${i}-${r.op}.xml`, xml: r.body })))
  t.ok(result.valid, result.errors.join('\n'))
  t.equal(result.errors.length, 0)

  for (const r of rec.requests) {
    t.equal(r.headers['content-type'], 'text/xml; charset=utf-8')
    t.equal(r.headers['x-anchormailbox'], alice.address)
    t.equal(r.headers.authorization, 'Basic ' + Buffer.from('svc-gateway:s3cret').toString('base64'))
    t.match(r.headers['client-request-id'], /^[0-9a-f-]{36}$/)
    t.equal(r.headers['user-agent'], 'mailbox-gateway/0.1')
    t.match(r.body, '<t:RequestServerVersion Version="Exchange2013_SP1"/>')
    t.match(
      r.body,
      '<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>alice@contoso.example</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>'
    )
  }
  const byOp = (op: string): string[] => rec.requests.filter((r) => r.op === op).map((r) => r.body)
  t.match(
    byOp('GetFolder').join(''),
    '<t:DistinguishedFolderId Id="archiveinbox"/>',
    'archive inbox maps to archiveinbox'
  )
  // Folder pages are cut from the whole listing, read in FindFolder pages of the configured size.
  t.match(
    byOp('FindFolder')[0],
    /Traversal="Deep".*MaxEntriesReturned="1000" Offset="0".*<t:DistinguishedFolderId Id="msgfolderroot"\/>/
  )
  t.match(byOp('FindFolder')[1], /Traversal="Shallow".*MaxEntriesReturned="1000"/, 'page size is capped by config')
  // Item pages are keyset queries: the cursor's second as a restriction, creation order, the window
  // one larger than the page for the one item already listed at that second.
  t.match(
    byOp('FindItem')[0],
    '<m:IndexedPageItemView MaxEntriesReturned="11" Offset="0" BasePoint="Beginning"/>' +
      '<m:Restriction><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeCreated"/><t:FieldURIOrConstant>' +
      '<t:Constant Value="2024-01-01T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo></m:Restriction>' +
      '<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:DateTimeCreated"/></t:FieldOrder></m:SortOrder>'
  )
  t.match(
    byOp('CreateFolder')[0],
    '<t:FolderClass>IPF.Appointment</t:FolderClass><t:DisplayName>R&amp;D &lt;&quot;Q1&quot;&gt; &apos;x&apos;</t:DisplayName>'
  )
  t.match(
    byOp('UpdateFolder')[0],
    /<t:FolderId Id="AAMkAGZvbGRlci1pZC0xMjM0NTY3ODkw\+\/==" ChangeKey="AQAAABYAAAA="\/>/
  )
  t.match(byOp('DeleteFolder')[0], 'DeleteType="HardDelete"')
  t.equal((byOp('ExportItems')[0].match(/<t:ItemId /g) ?? []).length, 2, 'the malformed id is not sent')
  const upload = byOp('UploadItems')[0]
  t.match(
    upload,
    /<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="[^"]+"\/><t:Data>AQAAAAgA<\/t:Data><\/t:Item>/
  )
  t.match(
    upload,
    /<t:Item CreateAction="Update"><t:ParentFolderId Id="[^"]+"\/><t:ItemId Id="AAMkAGl0ZW0taWQtMTIzNDU2Nzg5MA\+\/AB==" ChangeKey="CQAAABYAAAA="\/><t:Data>AQAAAAgA<\/t:Data>/
  )
  t.notMatch(upload, 'DistinguishedFolderId', 'UploadItems gets real folder ids')
  t.notMatch(upload, 'IsAssociated', 'normal items carry no IsAssociated')
  t.match(byOp('FindItem')[0], '<m:FindItem Traversal="Shallow">', 'normal listings are Shallow')
  t.match(byOp('FindItem')[1], '<m:FindItem Traversal="Associated">', 'associated listings traverse Associated')
  t.match(
    byOp('UploadItems')[1],
    /<t:Item CreateAction="CreateNew" IsAssociated="true"><t:ParentFolderId Id="[^"]+"\/><t:Data>AQAAAAgA<\/t:Data>/
  )
})

t.test('without impersonation: no impersonation header or anchor, delegate mailbox on distinguished ids', async (t) => {
  const rec = await startRecorder()
  const tokens: Array<boolean | undefined> = []
  const config = ewsConfig('ews2', {
    url: rec.url,
    auth: STUB_OAUTH,
    impersonation: false,
    serverVersion: 'Exchange2016'
  })
  const backend = createEwsBackend(
    { ...config, userAgent: 'ua/1' },
    {
      policy: new Policy(),
      logger,
      tokenProvider: {
        getToken: async (o) => {
          tokens.push(o?.forceRefresh)
          return 'tok-123'
        }
      }
    }
  )
  t.teardown(async () => { await backend.close(); await rec.close() })
  await backend.getFolder(alice, { wellKnown: 'calendar' })
  await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 1 })
  const result = await validateEws(rec.requests.map((r, i) => ({ name: `d${i}.xml`, xml: r.body })))
  t.ok(result.valid, result.errors.join('\n'))
  for (const r of rec.requests) {
    t.equal(r.headers.authorization, 'Bearer tok-123')
    t.equal(r.headers['x-anchormailbox'], undefined)
    t.equal(r.headers['user-agent'], 'ua/1')
    t.notMatch(r.body, 'ExchangeImpersonation')
    t.match(r.body, 'Version="Exchange2016"')
    t.match(
      r.body,
      /<t:DistinguishedFolderId Id="\w+"><t:Mailbox><t:EmailAddress>alice@contoso.example<\/t:EmailAddress><\/t:Mailbox><\/t:DistinguishedFolderId>/
    )
  }
  t.same(tokens, [undefined, undefined].map(() => undefined))
})
