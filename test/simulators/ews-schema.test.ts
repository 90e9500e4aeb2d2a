/**
 * Every response kind the EWS simulator produces (success, per-item errors,
 * SOAP faults with their ServerVersionInfo header) validated against Microsoft's
 * official schema, in one batch.
 */
import t from 'tap'
import { makeId } from '../../src/simulators/store/store.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { validateEws } from '../helpers/ews-schema.js'
import {
  ALICE, BOB, codes, dfid, dfidOf, faultCode, fid, harness, iid, m, messages, post, shape, envelope, SVC, SVC_DELEGATE,
  type HttpResult
} from './ews-test-client.js'

t.test('all EWS simulator responses validate against the EWS schema', async (t) => {
  const h = await harness(t)
  const { store } = h
  const alice = store.requireMailbox(DEMO_MAILBOXES.alice.guid)
  const inbox = store.wellKnownFolder(alice.guid, 'inbox')
  const inboxItems = store.itemsIn(inbox.id)
  const bobItem = store.itemsIn(store.wellKnownFolder(DEMO_MAILBOXES.bob.guid, 'inbox').id)[0]
  const ghostItem = makeId('00000000-0000-4000-8000-0000000000aa', 2, 'ghost')
  const docs: Array<{ name: string, xml: string }> = []
  const seen = new Set<string>()
  const record = (name: string, res: HttpResult, op?: string): HttpResult => {
    docs.push({ name: `${docs.length}-${name}.xml`, xml: res.text })
    if (op !== undefined && res.status === 200) for (const c of codes(res.text, op)) seen.add(c)
    if (res.status === 500) seen.add(faultCode(res.text))
    return res
  }

  // Folders
  record(
    'GetFolder',
    await h.call(
      m(
        'GetFolder',
        shape('FolderShape', 'AllProperties') +
          m(
            'FolderIds',
            dfid('msgfolderroot') +
              dfid('calendar') +
              dfid('contacts') +
              dfid('tasks') +
              dfid('archiveinbox') +
              dfid('root') +
              fid(inbox.id) +
              fid('not-an-id') +
              fid(inboxItems[0].id) +
              fid(makeId(alice.guid, 1, 'missing'))
          )
      )
    ),
    'GetFolder'
  )
  record(
    'FindFolder',
    await h.call(
      m(
        'FindFolder',
        shape('FolderShape', 'IdOnly', [
          'folder:ParentFolderId',
          'folder:DisplayName',
          'folder:FolderClass',
          'folder:TotalCount',
          'folder:ChildFolderCount',
          'folder:UnreadCount'
        ]) +
          '<m:IndexedPageFolderView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>' +
          m('ParentFolderIds', dfid('msgfolderroot') + dfid('nosuchfolder')),
        'Traversal="Deep"'
      )
    ),
    'FindFolder'
  )
  record(
    'FindFolder-default',
    await h.call(
      m(
        'FindFolder',
        shape('FolderShape', 'Default') +
          '<m:IndexedPageFolderView MaxEntriesReturned="0" Offset="0" BasePoint="Beginning"/>' +
          m('ParentFolderIds', dfid('msgfolderroot')),
        'Traversal="Shallow"'
      )
    ),
    'FindFolder'
  )
  const created = record('CreateFolder', await h.call(m('CreateFolder', m('ParentFolderId', dfid('inbox')) +
    m('Folders', '<t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Schema A</t:DisplayName></t:Folder>' +
      '<t:CalendarFolder><t:DisplayName>Schema Cal</t:DisplayName></t:CalendarFolder>' +
      '<t:ContactsFolder><t:DisplayName>Schema Contacts</t:DisplayName></t:ContactsFolder>' +
      '<t:TasksFolder><t:DisplayName>Schema Tasks</t:DisplayName></t:TasksFolder>' +
      '<t:Folder><t:DisplayName>Projects</t:DisplayName></t:Folder>'))), 'CreateFolder')
  const newFolder = messages(created.text, 'CreateFolder')[0].Folders.Folder[0].FolderId
  record(
    'UpdateFolder',
    await h.call(
      m(
        'UpdateFolder',
        m(
          'FolderChanges',
          `<t:FolderChange>${fid(newFolder['@Id'], newFolder['@ChangeKey'])}<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Schema B</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange>` +
            `<t:FolderChange>${fid(newFolder['@Id'], newFolder['@ChangeKey'])}<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Schema C</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange>` +
            `<t:FolderChange>${fid(newFolder['@Id'], '!!bad!!')}<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Schema D</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange>`
        )
      )
    ),
    'UpdateFolder'
  )
  const sh = record(
    'SyncFolderHierarchy',
    await h.call(
      m(
        'SyncFolderHierarchy',
        shape('FolderShape', 'IdOnly', ['folder:ParentFolderId', 'folder:DisplayName', 'folder:FolderClass']) +
          m('SyncFolderId', dfid('msgfolderroot'))
      )
    ),
    'SyncFolderHierarchy'
  )
  const hState = messages(sh.text, 'SyncFolderHierarchy')[0].SyncState
  record(
    'DeleteFolder',
    await h.call(
      m(
        'DeleteFolder',
        m('FolderIds', fid(newFolder['@Id']) + dfid('inbox') + fid(makeId(alice.guid, 1, 'gone'))),
        'DeleteType="HardDelete"'
      )
    ),
    'DeleteFolder'
  )
  record('SyncFolderHierarchy-delta', await h.call(m('SyncFolderHierarchy', shape('FolderShape', 'Default') +
    m('SyncFolderId', dfid('msgfolderroot')) + `<m:SyncState>${hState}</m:SyncState>`)), 'SyncFolderHierarchy')
  record(
    'SyncFolderHierarchy-bad',
    await h.call(m('SyncFolderHierarchy', shape('FolderShape', 'IdOnly') + '<m:SyncState>garbage</m:SyncState>')),
    'SyncFolderHierarchy'
  )

  // Items
  record(
    'FindItem',
    await h.call(
      m(
        'FindItem',
        shape('ItemShape', 'IdOnly', [
          'item:ItemClass',
          'item:Subject',
          'item:Size',
          'item:DateTimeCreated',
          'item:DateTimeReceived',
          'item:LastModifiedTime',
          'item:HasAttachments'
        ]) +
          '<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/>' +
          '<m:SortOrder><t:FieldOrder Order="Descending"><t:FieldURI FieldURI="item:DateTimeReceived"/></t:FieldOrder></m:SortOrder>' +
          m(
            'ParentFolderIds',
            dfid('inbox') + dfid('calendar') + dfid('contacts') + dfid('tasks') + dfid('notes') + fid('bad')
          ),
        'Traversal="Shallow"'
      )
    ),
    'FindItem'
  )
  record(
    'FindItem-assoc',
    await h.call(
      m(
        'FindItem',
        shape('ItemShape', 'Default') +
          '<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="End"/>' +
          m('ParentFolderIds', dfid('inbox')),
        'Traversal="Associated"'
      )
    ),
    'FindItem'
  )
  record(
    'FindItem-maxrows',
    await h.call(
      m(
        'FindItem',
        shape('ItemShape', 'IdOnly') +
          '<m:IndexedPageItemView MaxEntriesReturned="0" Offset="0" BasePoint="Beginning"/>' +
          m('ParentFolderIds', dfid('inbox')),
        'Traversal="Shallow"'
      )
    ),
    'FindItem'
  )
  record(
    'GetItem',
    await h.call(
      m(
        'GetItem',
        shape('ItemShape', 'Default') +
          m('ItemIds', iid(inboxItems[0].id) + iid(inboxItems[1].id) + iid('x') + iid(bobItem.id) + iid(ghostItem))
      )
    ),
    'GetItem'
  )
  const sfi = record(
    'SyncFolderItems',
    await h.call(
      m(
        'SyncFolderItems',
        shape('ItemShape', 'IdOnly') +
          m('SyncFolderId', dfid('inbox')) +
          '<m:MaxChangesReturned>5</m:MaxChangesReturned><m:SyncScope>NormalAndAssociatedItems</m:SyncScope>'
      )
    ),
    'SyncFolderItems'
  )
  record(
    'SyncFolderItems-default',
    await h.call(
      m(
        'SyncFolderItems',
        shape('ItemShape', 'Default') +
          m('SyncFolderId', dfid('calendar')) +
          '<m:MaxChangesReturned>512</m:MaxChangesReturned>'
      )
    ),
    'SyncFolderItems'
  )
  record(
    'SyncFolderItems-bad',
    await h.call(
      m(
        'SyncFolderItems',
        shape('ItemShape', 'IdOnly') +
          m('SyncFolderId', dfid('inbox')) +
          `<m:SyncState>${messages(sfi.text, 'SyncFolderItems')[0].SyncState}x</m:SyncState><m:MaxChangesReturned>5</m:MaxChangesReturned>`
      )
    ),
    'SyncFolderItems'
  )
  // A read-flag change alone is a ReadFlagChange (SyncFolderItemsReadFlagType: ItemId, then IsRead).
  const full = await h.call(m('SyncFolderItems', shape('ItemShape', 'IdOnly') + m('SyncFolderId', dfid('inbox')) +
    '<m:MaxChangesReturned>512</m:MaxChangesReturned>'))
  store.setReadFlag(inboxItems[0].id, !inboxItems[0].isRead)
  const fullState = messages(full.text, 'SyncFolderItems')[0].SyncState as string
  const flagged = record('SyncFolderItems-readflag', await h.call(m('SyncFolderItems', shape('ItemShape', 'IdOnly') +
    m('SyncFolderId', dfid('inbox')) + `<m:SyncState>${fullState}</m:SyncState>` +
    '<m:MaxChangesReturned>512</m:MaxChangesReturned>')), 'SyncFolderItems')
  t.match(flagged.text, /<t:ReadFlagChange><t:ItemId [^>]*\/><t:IsRead>(true|false)<\/t:IsRead><\/t:ReadFlagChange>/,
    'the read-flag change is reported as one')
  store.setReadFlag(inboxItems[0].id, !inboxItems[0].isRead)
  const exp = record(
    'ExportItems',
    await h.call(
      m(
        'ExportItems',
        m(
          'ItemIds',
          iid(inboxItems[0].id, inboxItems[0].changeKey) +
            iid(inboxItems[1].id, 'not*a*key') +
            iid(ghostItem) +
            iid(bobItem.id) +
            iid('@@') +
            iid(inbox.id)
        )
      )
    ),
    'ExportItems'
  )
  const data = messages(exp.text, 'ExportItems')[0].Data as string
  // Upload a changed item first so the later Update with its old ChangeKey conflicts.
  record(
    'UploadItems',
    await h.call(
      m(
        'UploadItems',
        m(
          'Items',
          `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${inbox.id}"/><t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="CreateNew" IsAssociated="true"><t:ParentFolderId Id="${inbox.id}"/><t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="Update"><t:ParentFolderId Id="${inbox.id}"/>${iid(inboxItems[2].id, inboxItems[2].changeKey)}<t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="Update"><t:ParentFolderId Id="${inbox.id}"/>${iid(inboxItems[2].id, inboxItems[2].changeKey)}<t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="UpdateOrCreate"><t:ParentFolderId Id="${inbox.id}"/>${iid(bobItem.id)}<t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${inbox.id}"/><t:Data>AAAA</t:Data></t:Item>` +
            `<t:Item CreateAction="Update"><t:ParentFolderId Id="${store.wellKnownFolder(alice.guid, 'drafts').id}"/>${iid(inboxItems[3].id)}<t:Data>${data}</t:Data></t:Item>` +
            `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${makeId(alice.guid, 1, 'nope')}"/><t:Data>${data}</t:Data></t:Item>`
        )
      )
    ),
    'UploadItems'
  )

  // Item writes: DeleteItem (each DeleteType; a second delete of one item is ErrorItemNotFound) and MoveItem
  // (a new id in m:Items; an empty m:Items on error; no id when ReturnNewItemIds is false; another mailbox's folder).
  record('DeleteItem', await h.call(m('DeleteItem', m('ItemIds', iid(inboxItems[6].id) + iid(inboxItems[6].id) +
    iid(bobItem.id) + iid('not-an-id')), 'DeleteType="HardDelete"')), 'DeleteItem')
  record('DeleteItem-toDeletedItems', await h.call(m('DeleteItem', m('ItemIds', iid(inboxItems[7].id)),
    'DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone" AffectedTaskOccurrences="AllOccurrences"')),
  'DeleteItem')
  const drafts = store.wellKnownFolder(alice.guid, 'drafts')
  record('MoveItem', await h.call(m('MoveItem', m('ToFolderId', fid(drafts.id)) +
    m('ItemIds', iid(inboxItems[8].id) + iid(inboxItems[6].id)) + '<m:ReturnNewItemIds>true</m:ReturnNewItemIds>')),
  'MoveItem')
  record('MoveItem-no-ids', await h.call(m('MoveItem', m('ToFolderId', dfid('sentitems')) +
    m('ItemIds', iid(inboxItems[9].id)) + '<m:ReturnNewItemIds>false</m:ReturnNewItemIds>')), 'MoveItem')
  record('MoveItem-errors', await h.call(m('MoveItem', m('ToFolderId', fid(makeId(alice.guid, 1, 'nowhere'))) +
    m('ItemIds', iid(inboxItems[10].id)))), 'MoveItem')
  record('MoveItem-cross-mailbox', await h.call(m('MoveItem',
    m('ToFolderId', fid(store.wellKnownFolder(alice.archiveGuid ?? '', 'archiveinbox').id)) +
    m('ItemIds', iid(inboxItems[10].id)))), 'MoveItem')

  // Ids and delegate access (a service account without a mailbox, FullAccess on alice only)
  const alt = (format: string, id: string, mailbox: string): string =>
    `<t:AlternateId Format="${format}" Id="${id}" Mailbox="${mailbox}"/>`
  const archiveInbox = store.wellKnownFolder(alice.archiveGuid ?? '', 'archiveinbox')
  record('ConvertId', await h.call(m('ConvertId', m('SourceIds', alt('EwsId', inboxItems[0].id, ALICE) +
    alt('EwsId', archiveInbox.id, ALICE) + alt('EwsId', 'DUMMY', 'DUMMY') + alt('OwaId', 'x', ALICE)),
  'DestinationFormat="HexEntryId"')), 'ConvertId')
  store.grantFullAccess(alice.guid, SVC_DELEGATE.user)
  const delegate = { impersonate: null, auth: SVC_DELEGATE }
  record('delegate-GetFolder', await h.call(m('GetFolder', shape('FolderShape', 'Default') +
    m('FolderIds', dfidOf('inbox', ALICE) + dfidOf('inbox', BOB))), delegate), 'GetFolder')

  // Faults
  record(
    'fault-version',
    await h.call(m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', dfid('inbox'))), { version: null })
  )
  record('fault-malformed', await post(h.sim.url, envelope('<m:GetFolder><m:FolderShape></m:GetFolder>'), SVC))
  record('fault-unknown-op', await h.call(m('FrobnicateItems', '')))
  record(
    'fault-wrong-ns',
    await post(
      h.sim.url,
      envelope('<x:GetFolder xmlns:x="https://schemas.microsoft.com/exchange/services/2006/messages"/>', {
        impersonate: ALICE
      }),
      SVC
    )
  )
  record('fault-missing-element', await h.call(m('GetFolder', shape('FolderShape', 'IdOnly'))))
  record(
    'fault-nonexistent-mailbox',
    await h.call(m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', dfid('inbox'))), {
      impersonate: 'nobody@contoso.example'
    })
  )
  record(
    'fault-impersonate-denied',
    await h.call(m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', dfid('inbox'))), {
      impersonate: BOB,
      auth: { user: 'alice@contoso.example', pass: 'alice-secret-1' }
    })
  )
  record('fault-missing-email', await h.call(m('GetFolder', shape('FolderShape', 'IdOnly') +
    m('FolderIds', dfid('inbox'))), delegate))
  record(
    'fault-upload-no-itemid',
    await h.call(
      m(
        'UploadItems',
        m(
          'Items',
          `<t:Item CreateAction="Update"><t:ParentFolderId Id="${inbox.id}"/><t:Data>${data}</t:Data></t:Item>`
        )
      )
    )
  )
  record(
    'fault-maxchanges',
    await h.call(
      m(
        'SyncFolderItems',
        shape('ItemShape', 'IdOnly') +
          m('SyncFolderId', dfid('inbox')) +
          '<m:MaxChangesReturned>513</m:MaxChangesReturned>'
      )
    )
  )
  h.sim.faults.serverBusy = 1
  h.sim.faults.backOffMs = 1234
  record('fault-busy', await h.call(m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', dfid('inbox')))))

  const result = await validateEws(docs)
  t.ok(result.valid, result.errors.slice(0, 20).join('\n'))
  t.equal(result.errors.length, 0)
  // The batch really covered the variants it claims to.
  t.same([...seen].sort(), [
    'ErrorAccessDenied', 'ErrorCannotUseFolderIdForItemId', 'ErrorCannotUseItemIdForFolderId', 'ErrorCorruptData',
    'ErrorCrossMailboxMoveCopy',
    'ErrorDeleteDistinguishedFolder', 'ErrorFolderExists', 'ErrorFolderNotFound', 'ErrorImpersonateUserDenied',
    'ErrorInvalidChangeKey', 'ErrorInvalidIdMalformed', 'ErrorInvalidPagingMaxRows', 'ErrorInvalidRequest',
    'ErrorInvalidServerVersion', 'ErrorInvalidSyncStateData', 'ErrorIrresolvableConflict', 'ErrorItemNotFound',
    'ErrorMissingEmailAddress', 'ErrorNonExistentMailbox', 'ErrorSchemaValidation', 'ErrorServerBusy',
    'ErrorUnsupportedTypeForConversion', 'NoError'
  ])
  t.equal(docs.length, 38)
})
