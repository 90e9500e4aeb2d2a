/** EWS simulator operation semantics: paging, sync, change keys, bulk transfer, archives, folder management. */
import t from 'tap'
import { makeId } from '../../src/simulators/store/store.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import {
  ALICE,
  DAVE,
  codes,
  dfid,
  fid,
  foldersOf,
  harness,
  iid,
  itemsOf,
  m,
  messages,
  shape,
  type Harness
} from './ews-test-client.js'

const aliceGuid = DEMO_MAILBOXES.alice.guid

async function exportOne (h: Harness, id: string): Promise<{ id: string, changeKey: string, data: string }> {
  const msg = messages((await h.call(m('ExportItems', m('ItemIds', iid(id))))).text, 'ExportItems')[0]
  return { id: msg.ItemId['@Id'], changeKey: msg.ItemId['@ChangeKey'], data: msg.Data }
}

async function upload (h: Harness, items: string,
  opts = {}): Promise<Array<{ code: string, id?: string, changeKey?: string }>> {
  const res = await h.call(m('UploadItems', m('Items', items)), opts)
  return messages(res.text, 'UploadItems').map((x) => ({
    code: x.ResponseCode,
    id: x.ItemId?.['@Id'],
    changeKey: x.ItemId?.['@ChangeKey']
  }))
}

t.test('FindItem pages to completion, in sort order, with paging attributes', async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(aliceGuid, 'inbox')
  const expected = h.store
    .itemsIn(inbox.id)
    .map((i) => i)
    .sort((a, b) => a.created.getTime() - b.created.getTime())
    .map((i) => i.id)
  const seen: string[] = []
  let offset = 0
  for (let guard = 0; guard < 50; guard++) {
    const res = await h.call(
      m(
        'FindItem',
        shape('ItemShape', 'IdOnly', ['item:Subject', 'item:ItemClass']) +
          `<m:IndexedPageItemView MaxEntriesReturned="7" Offset="${offset}" BasePoint="Beginning"/>` +
          '<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:DateTimeReceived"/></t:FieldOrder></m:SortOrder>' +
          m('ParentFolderIds', dfid('inbox')),
        'Traversal="Shallow"'
      )
    )
    const root = messages(res.text, 'FindItem')[0].RootFolder
    const items = itemsOf(root.Items)
    t.ok(items.length <= 7)
    t.equal(root['@TotalItemsInView'], String(expected.length))
    seen.push(...items.map((i) => i.ItemId['@Id']))
    offset = Number(root['@IndexedPagingOffset'])
    if (root['@IncludesLastItemInRange'] === 'true') break
  }
  t.same(seen, expected, 'every item once, ascending by received time')
  const assoc = messages(
    (
      await h.call(
        m(
          'FindItem',
          shape('ItemShape', 'IdOnly', ['item:ItemClass']) + m('ParentFolderIds', dfid('inbox')),
          'Traversal="Associated"'
        )
      )
    ).text,
    'FindItem'
  )[0]
  t.same(
    itemsOf(assoc.RootFolder.Items)
      .map((i) => i.ItemClass)
      .sort(),
    ['IPM.Configuration.MRM', 'IPM.Microsoft.FolderDesign.NamedView', 'IPM.Rule.Version2.Message']
  )
  const calendarAssoc = messages(
    (
      await h.call(
        m(
          'FindItem',
          shape('ItemShape', 'IdOnly', ['item:ItemClass', 'item:IsAssociated']) +
            m('ParentFolderIds', dfid('calendar')),
          'Traversal="Associated"'
        )
      )
    ).text,
    'FindItem'
  )[0]
  t.same(
    itemsOf(calendarAssoc.RootFolder.Items).map((i) => [i.ItemClass, i.IsAssociated]).sort(),
    [['IPM.Configuration.Calendar', 'true'], ['IPM.Configuration.WorkHours', 'true']],
    'the calendar holds its settings as associated items'
  )
  const cal = messages(
    (
      await h.call(
        m('FindItem', shape('ItemShape', 'IdOnly') + m('ParentFolderIds', dfid('calendar')), 'Traversal="Shallow"')
      )
    ).text,
    'FindItem'
  )[0]
  t.equal(
    cal.RootFolder.Items.CalendarItem.length,
    h.store.itemsIn(h.store.wellKnownFolder(aliceGuid, 'calendar').id).length,
    'calendar items are t:CalendarItem'
  )
})

t.test('FindFolder Deep pages through the whole tree', async (t) => {
  const h = await harness(t)
  const root = h.store.wellKnownFolder(aliceGuid, 'msgfolderroot')
  const expected = h.store.descendants(root.id).map((f) => f.id)
  const seen: string[] = []
  let offset = 0
  for (let guard = 0; guard < 20; guard++) {
    const res = await h.call(
      m(
        'FindFolder',
        shape('FolderShape', 'IdOnly', ['folder:DisplayName']) +
          `<m:IndexedPageFolderView MaxEntriesReturned="4" Offset="${offset}" BasePoint="Beginning"/>` +
          m('ParentFolderIds', dfid('msgfolderroot')),
        'Traversal="Deep"'
      )
    )
    const rf = messages(res.text, 'FindFolder')[0].RootFolder
    seen.push(...foldersOf(rf.Folders).map((f) => f.FolderId['@Id']))
    offset = Number(rf['@IndexedPagingOffset'])
    if (rf['@IncludesLastItemInRange'] === 'true') break
  }
  t.same([...seen].sort(), [...expected].sort())
  const shallow = messages(
    (
      await h.call(
        m(
          'FindFolder',
          shape('FolderShape', 'Default') + m('ParentFolderIds', dfid('msgfolderroot')),
          'Traversal="Shallow"'
        )
      )
    ).text,
    'FindFolder'
  )[0]
  t.equal(foldersOf(shallow.RootFolder.Folders).length, h.store.children(root.id).length)
})

t.test('SyncFolderItems: full sync in pages, then only the delta', async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(aliceGuid, 'inbox')
  const sync = async (
    state?: string
  ): Promise<{ state: string, last: boolean, creates: string[], updates: string[], deletes: string[] }> => {
    const res = await h.call(
      m(
        'SyncFolderItems',
        shape('ItemShape', 'IdOnly') +
          m('SyncFolderId', fid(inbox.id)) +
          (state !== undefined ? `<m:SyncState>${state}</m:SyncState>` : '') +
          '<m:MaxChangesReturned>25</m:MaxChangesReturned>'
      )
    )
    const msg = messages(res.text, 'SyncFolderItems')[0]
    const ch = msg.Changes === '' ? {} : msg.Changes
    return {
      state: msg.SyncState,
      last: msg.IncludesLastItemInRange === 'true',
      creates: (ch.Create ?? []).flatMap((c: object) => itemsOf(c).map((i) => i.ItemId['@Id'])),
      updates: (ch.Update ?? []).flatMap((c: object) => itemsOf(c).map((i) => i.ItemId['@Id'])),
      deletes: (ch.Delete ?? []).map((d: { ItemId: { '@Id': string } }) => d.ItemId['@Id'])
    }
  }
  const all: string[] = []
  let page = await sync()
  let pages = 1
  all.push(...page.creates)
  while (!page.last) {
    page = await sync(page.state)
    all.push(...page.creates)
    pages++
  }
  t.equal(pages, Math.ceil(60 / 25), 'normal items only, 25 per page')
  t.same(all.sort(), h.store.itemsIn(inbox.id).map((i) => i.id).sort())
  const empty = await sync(page.state)
  t.same([empty.creates, empty.updates, empty.deletes], [[], [], []])
  t.equal(empty.last, true)

  const [victim, changed] = h.store.itemsIn(inbox.id)
  h.store.deleteItem(victim.id)
  h.store.updateItem(changed.id, changed.blob())
  const added = h.store.createItem(inbox.id, changed.blob())
  const delta = await sync(empty.state)
  t.same(delta.creates, [added.id])
  t.same(delta.updates, [changed.id])
  t.same(delta.deletes, [victim.id])
  const foreign = await h.call(
    m(
      'SyncFolderItems',
      shape('ItemShape', 'IdOnly') +
        m('SyncFolderId', dfid('drafts')) +
        `<m:SyncState>${delta.state}</m:SyncState><m:MaxChangesReturned>5</m:MaxChangesReturned>`
    )
  )
  t.same(codes(foreign.text, 'SyncFolderItems'), ['ErrorInvalidSyncStateData'], 'state of another folder is rejected')

  // Read state alone: a ReadFlagChange; read state and content: an Update; then a deletion wins over both.
  const [flagged, both] = h.store.itemsIn(inbox.id)
  h.store.setReadFlag(flagged.id, !flagged.isRead)
  h.store.setReadFlag(both.id, !both.isRead)
  h.store.updateItem(both.id, both.blob())
  const res = await h.call(m('SyncFolderItems', shape('ItemShape', 'IdOnly') + m('SyncFolderId', fid(inbox.id)) +
    `<m:SyncState>${delta.state}</m:SyncState><m:MaxChangesReturned>25</m:MaxChangesReturned>`))
  const msg = messages(res.text, 'SyncFolderItems')[0]
  const flags = [msg.Changes.ReadFlagChange ?? []].flat() as Array<{ ItemId: { '@Id': string }, IsRead: string }>
  t.same(flags.map((f) => [f.ItemId['@Id'], f.IsRead]), [[flagged.id, String(flagged.isRead)]], 'one ReadFlagChange')
  t.same([msg.Changes.Update ?? []].flat().flatMap((c: object) => itemsOf(c).map((i) => i.ItemId['@Id'])), [both.id],
    'a read-state change with a content change is an Update')

  // States issued before the store expires them, or by another store (a sequence it never reached), are refused.
  h.store.expireSyncStates()
  const expired = await h.call(m('SyncFolderItems', shape('ItemShape', 'IdOnly') + m('SyncFolderId', fid(inbox.id)) +
    `<m:SyncState>${msg.SyncState}</m:SyncState><m:MaxChangesReturned>25</m:MaxChangesReturned>`))
  t.same(codes(expired.text, 'SyncFolderItems'), ['ErrorInvalidSyncStateData'], 'an expired state is rejected')
  const future = Buffer.from(JSON.stringify({ v: 1, scope: `i:${inbox.id}`, seq: h.store.sequence + 5, e: 1 }))
    .toString('base64')
  const ahead = await h.call(m('SyncFolderItems', shape('ItemShape', 'IdOnly') + m('SyncFolderId', fid(inbox.id)) +
    `<m:SyncState>${future}</m:SyncState><m:MaxChangesReturned>25</m:MaxChangesReturned>`))
  t.same(codes(ahead.text, 'SyncFolderItems'), ['ErrorInvalidSyncStateData'], 'a state from the future is rejected')
})

t.test('SyncFolderHierarchy: initial state, then create/rename/delete deltas', async (t) => {
  const h = await harness(t)
  const call = async (
    state?: string
  ): Promise<{ state: string, creates: string[], updates: string[], deletes: string[] }> => {
    const res = await h.call(
      m(
        'SyncFolderHierarchy',
        shape('FolderShape', 'IdOnly', ['folder:DisplayName']) +
          m('SyncFolderId', dfid('msgfolderroot')) +
          (state !== undefined ? `<m:SyncState>${state}</m:SyncState>` : '')
      )
    )
    const msg = messages(res.text, 'SyncFolderHierarchy')[0]
    t.equal(msg.IncludesLastFolderInRange, 'true')
    const ch = msg.Changes === '' ? {} : msg.Changes
    return {
      state: msg.SyncState,
      creates: (ch.Create ?? []).flatMap((c: object) => foldersOf(c).map((f) => f.DisplayName)),
      updates: (ch.Update ?? []).flatMap((c: object) => foldersOf(c).map((f) => f.DisplayName)),
      deletes: (ch.Delete ?? []).map((d: { FolderId: { '@Id': string } }) => d.FolderId['@Id'])
    }
  }
  const first = await call()
  t.equal(first.creates.length, h.store.descendants(h.store.wellKnownFolder(aliceGuid, 'msgfolderroot').id).length)
  t.notOk(first.creates.includes('Recoverable Items'), 'scoped to msgfolderroot')
  const inbox = h.store.wellKnownFolder(aliceGuid, 'inbox')
  const a = h.store.createFolder(inbox.id, 'Sync A')
  const b = h.store.createFolder(inbox.id, 'Sync B')
  const second = await call(first.state)
  t.same(second.creates, ['Sync A', 'Sync B'])
  h.store.renameFolder(a.id, 'Sync A2')
  h.store.deleteFolder(b.id)
  const third = await call(second.state)
  t.same(third.creates, [])
  t.ok(third.updates.includes('Sync A2'))
  t.same(third.deletes, [b.id])
})

t.test('ExportItems / UploadItems: CreateNew round trip is byte-identical; Update bumps the ChangeKey', async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(aliceGuid, 'inbox')
  const receipts = h.store.children(inbox.id).find((f) => f.displayName === 'Receipts')
  if (receipts === undefined) throw new Error('seed changed: no Receipts folder')
  const source = h.store.itemsIn(inbox.id).slice(0, 8)
  const exported = messages(
    (await h.call(m('ExportItems', m('ItemIds', source.map((i) => iid(i.id, i.changeKey)).join(''))))).text,
    'ExportItems'
  )
  t.same(exported.map((x) => x.ItemId['@Id']), source.map((i) => i.id), 'one message per id, in order')
  t.same(exported.map((x) => Buffer.from(x.Data, 'base64').equals(i2b(h, x.ItemId['@Id']))), source.map(() => true))

  const created = await upload(
    h,
    exported
      .map(
        (x) =>
          `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${receipts.id}"/><t:Data>${x.Data}</t:Data></t:Item>`
      )
      .join('')
  )
  t.same(created.map((c) => c.code), source.map(() => 'NoError'))
  const again = messages(
    (await h.call(m('ExportItems', m('ItemIds', created.map((c) => iid(c.id ?? '')).join(''))))).text,
    'ExportItems'
  )
  t.same(again.map((x) => x.Data), exported.map((x) => x.Data), 'export → CreateNew → export: equal bytes')
  t.ok(created.every((c) => h.store.items.get(c.id ?? '')?.folderId === receipts.id))

  const target = created[0]
  const updated = await upload(
    h,
    `<t:Item CreateAction="Update"><t:ParentFolderId Id="${receipts.id}"/>${iid(target.id ?? '', target.changeKey)}<t:Data>${exported[1].Data}</t:Data></t:Item>`
  )
  t.equal(updated[0].code, 'NoError')
  t.equal(updated[0].id, target.id)
  t.not(updated[0].changeKey, target.changeKey, 'ChangeKey changes on update')
  t.same((await exportOne(h, target.id ?? '')).data, exported[1].Data, 'content replaced')
  const stale = await upload(
    h,
    `<t:Item CreateAction="Update"><t:ParentFolderId Id="${receipts.id}"/>${iid(target.id ?? '', target.changeKey)}<t:Data>${exported[2].Data}</t:Data></t:Item>`
  )
  t.equal(stale[0].code, 'ErrorIrresolvableConflict')
  const wrongFolder = await upload(
    h,
    `<t:Item CreateAction="Update"><t:ParentFolderId Id="${inbox.id}"/>${iid(target.id ?? '')}<t:Data>${exported[2].Data}</t:Data></t:Item>`
  )
  t.equal(wrongFolder[0].code, 'ErrorItemNotFound', 'Update needs the item in ParentFolderId')

  const upsert = await upload(
    h,
    `<t:Item CreateAction="UpdateOrCreate"><t:ParentFolderId Id="${receipts.id}"/>${iid(target.id ?? '')}<t:Data>${exported[3].Data}</t:Data></t:Item>` +
      `<t:Item CreateAction="UpdateOrCreate"><t:ParentFolderId Id="${receipts.id}"/>${iid(source[0].id)}<t:Data>${exported[0].Data}</t:Data></t:Item>` +
      `<t:Item CreateAction="CreateNew" IsAssociated="true"><t:ParentFolderId Id="${receipts.id}"/><t:Data>${exported[4].Data}</t:Data></t:Item>` +
      `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${receipts.id}"/><t:Data>${Buffer.from('not a stream').toString('base64')}</t:Data></t:Item>` +
      `<t:Item CreateAction="Update"><t:ParentFolderId Id="${receipts.id}"/>${iid(target.id ?? '', '%%%')}<t:Data>${exported[3].Data}</t:Data></t:Item>`
  )
  t.same(upsert.map((u) => u.code), ['NoError', 'NoError', 'NoError', 'ErrorCorruptData', 'ErrorInvalidChangeKey'])
  t.equal(upsert[0].id, target.id, 'UpdateOrCreate updates an item that is in the folder')
  t.not(upsert[1].id, source[0].id, 'UpdateOrCreate copies an item that is elsewhere')
  t.equal(h.store.items.get(upsert[2].id ?? '')?.associated, true, 'IsAssociated creates an FAI item')
  const long = exported[0].Data.length > 1024 ? exported[0].Data : exported[0].Data.repeat(4)
  const corrupt = await upload(h, ['%%%=', `${long.slice(0, 1500)}*${long.slice(1501)}`, `-${long.slice(1)}`,
    exported[0].Data.replace(/(.{76})/g, '$1\r\n')].map((data) => '<t:Item CreateAction="CreateNew">' +
    `<t:ParentFolderId Id="${receipts.id}"/><t:Data>${data}</t:Data></t:Item>`).join(''))
  t.same(corrupt.map((u) => u.code), ['ErrorCorruptData', 'ErrorCorruptData', 'ErrorCorruptData', 'NoError'],
    'data that is not base64 is corrupt, short or long; base64 broken into lines is not')
  const fault = await h.call(
    m(
      'UploadItems',
      m(
        'Items',
        `<t:Item CreateAction="UpdateOrCreate"><t:ParentFolderId Id="${receipts.id}"/><t:Data>${exported[0].Data}</t:Data></t:Item>`
      )
    )
  )
  t.equal(fault.status, 500, 'UpdateOrCreate without ItemId is a SOAP fault')
})

function i2b (h: Harness, id: string): Buffer {
  return h.store.requireItem(id).blob()
}

t.test('per-item errors keep input order and carry the right codes', async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(aliceGuid, 'inbox')
  const [a] = h.store.itemsIn(inbox.id)
  const bobItem = h.store.itemsIn(h.store.wellKnownFolder(DEMO_MAILBOXES.bob.guid, 'inbox').id)[0]
  const ghostGuid = '00000000-0000-4000-8000-0000000000aa'
  const res = await h.call(
    m(
      'ExportItems',
      m(
        'ItemIds',
        iid(a.id) +
          iid(makeId(ghostGuid, 2, 'x')) +
          iid('AAMk!!') +
          iid(bobItem.id) +
          iid(a.id, 'not-a-key') +
          iid(makeId(aliceGuid, 2, 'gone'))
      )
    )
  )
  const msgs = messages(res.text, 'ExportItems')
  t.equal(res.status, 200)
  t.same(
    msgs.map((x) => x.ResponseCode),
    [
      'NoError',
      'ErrorNonExistentMailbox',
      'ErrorInvalidIdMalformed',
      'ErrorAccessDenied',
      'ErrorInvalidChangeKey',
      'ErrorItemNotFound'
    ]
  )
  t.same(msgs.map((x) => x['@ResponseClass']), ['Success', 'Error', 'Error', 'Error', 'Error', 'Error'])
  t.same(msgs[1].MessageXml.Value, [{ '#text': ghostGuid, '@Name': 'MailboxGuid' }])
  t.ok(msgs.slice(1).every((x) => typeof x.MessageText === 'string' && x.MessageText.length > 0))
})

t.test('archives: distinguished archive folders and archive/aux-archive items through the primary', async (t) => {
  const h = await harness(t)
  const res = await h.call(
    m(
      'GetFolder',
      shape('FolderShape', 'Default') +
        m('FolderIds', dfid('archivemsgfolderroot') + dfid('archiveinbox') + dfid('archivedeleteditems'))
    )
  )
  const msgs = messages(res.text, 'GetFolder')
  t.same(msgs.map((x) => x.ResponseCode), ['NoError', 'NoError', 'NoError'])
  t.equal(
    foldersOf(msgs[0].Folders)[0].FolderId['@Id'],
    h.store.wellKnownFolder(DEMO_MAILBOXES.alice.archive, 'archivemsgfolderroot').id
  )
  const archived = h.store.itemsIn(h.store.wellKnownFolder(DEMO_MAILBOXES.alice.archive, 'archiveinbox').id)[0]
  t.same(codes((await h.call(m('ExportItems', m('ItemIds', iid(archived.id))))).text, 'ExportItems'), ['NoError'])
  t.same(
    codes((await h.call(m('ExportItems', m('ItemIds', iid(archived.id))), { impersonate: DAVE })).text, 'ExportItems'),
    ['ErrorAccessDenied']
  )
  // Dave's 2018 folder keeps its content in the auxiliary archive.
  const y2018 = h.store
    .descendants(h.store.wellKnownFolder(DEMO_MAILBOXES.dave.archive, 'archivemsgfolderroot').id)
    .find((f) => f.displayName === '2018')
  if (y2018 === undefined) throw new Error('seed changed: no 2018 folder')
  const found = messages(
    (
      await h.call(
        m('FindItem', shape('ItemShape', 'IdOnly') + m('ParentFolderIds', fid(y2018.id)), 'Traversal="Shallow"'),
        { impersonate: DAVE }
      )
    ).text,
    'FindItem'
  )[0]
  const auxIds = itemsOf(found.RootFolder.Items).map((i) => i.ItemId['@Id'])
  t.equal(auxIds.length, 12)
  t.equal(h.store.requireItem(auxIds[0]).mailboxGuid, DEMO_MAILBOXES.dave.aux)
  t.same(
    codes((await h.call(m('ExportItems', m('ItemIds', iid(auxIds[0]))), { impersonate: DAVE })).text, 'ExportItems'),
    ['NoError']
  )
  t.same(
    codes((await h.call(m('ExportItems', m('ItemIds', iid(auxIds[0]))), { impersonate: ALICE })).text, 'ExportItems'),
    ['ErrorAccessDenied']
  )
})

t.test('folder management: create, exists, rename with change keys, delete rules', async (t) => {
  const h = await harness(t)
  const created = messages(
    (
      await h.call(
        m(
          'CreateFolder',
          m('ParentFolderId', dfid('msgfolderroot')) +
            m(
              'Folders',
              '<t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Restored</t:DisplayName></t:Folder><t:CalendarFolder><t:DisplayName>Cal 2</t:DisplayName></t:CalendarFolder><t:Folder><t:DisplayName>restored</t:DisplayName></t:Folder>'
            )
        )
      )
    ).text,
    'CreateFolder'
  )
  t.same(created.map((x) => x.ResponseCode), ['NoError', 'NoError', 'ErrorFolderExists'])
  const restored = created[0].Folders.Folder[0].FolderId
  t.equal(h.store.requireFolder(created[1].Folders.CalendarFolder[0].FolderId['@Id']).folderClass, 'IPF.Appointment')

  const rename = (id: string, ck: string | undefined, name: string): string =>
    m(
      'UpdateFolder',
      m(
        'FolderChanges',
        `<t:FolderChange>${fid(id, ck)}<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>${name}</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange>`
      )
    )
  const r1 = messages(
    (await h.call(rename(restored['@Id'], restored['@ChangeKey'], 'Restored 2'))).text,
    'UpdateFolder'
  )[0]
  t.equal(r1.ResponseCode, 'NoError')
  t.not(r1.Folders.Folder[0].FolderId['@ChangeKey'], restored['@ChangeKey'], 'rename bumps the ChangeKey')
  t.equal(h.store.requireFolder(restored['@Id']).displayName, 'Restored 2')
  t.same(codes((await h.call(rename(restored['@Id'], restored['@ChangeKey'], 'Restored 3'))).text, 'UpdateFolder'), [
    'ErrorIrresolvableConflict'
  ])
  t.same(codes((await h.call(rename(restored['@Id'], 'zz', 'Restored 3'))).text, 'UpdateFolder'), [
    'ErrorInvalidChangeKey'
  ])

  const del = (ids: string, type: string): string => m('DeleteFolder', m('FolderIds', ids), `DeleteType="${type}"`)
  t.same(codes((await h.call(del(dfid('inbox'), 'HardDelete'))).text, 'DeleteFolder'), [
    'ErrorDeleteDistinguishedFolder'
  ])
  t.same(codes((await h.call(del(fid(restored['@Id']), 'MoveToDeletedItems'))).text, 'DeleteFolder'), ['NoError'])
  t.equal(
    h.store.requireFolder(restored['@Id']).parentId,
    h.store.wellKnownFolder(aliceGuid, 'deleteditems').id,
    'moved to Deleted Items'
  )
  t.same(codes((await h.call(del(fid(restored['@Id']), 'HardDelete'))).text, 'DeleteFolder'), ['NoError'])
  t.notOk(h.store.folders.has(restored['@Id']))
  t.same(codes((await h.call(del(fid(restored['@Id']), 'HardDelete'))).text, 'DeleteFolder'), ['ErrorFolderNotFound'])
})
