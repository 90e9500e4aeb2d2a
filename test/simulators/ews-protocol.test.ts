/** EWS simulator transport behaviour: auth, impersonation, SOAP headers, namespaces, fault knobs. */
import t from 'tap'
import {
  ALICE, ALICE_LOGIN, BOB, codes, dfid, dfidOf, envelope, faultCode, fid, harness, iid, itemsOf, m, messages,
  parse, post, shape, SVC, SVC_DELEGATE, M, T, SOAP, foldersOf, type Xml
} from './ews-test-client.js'
import { captureLogs } from '../helpers/logs.js'

const getInbox = m('GetFolder', shape('FolderShape', 'Default') + m('FolderIds', dfid('inbox')))
const getFolders = (ids: string): string => m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', ids))

t.test('Basic auth: missing or wrong credentials get 401 with a Basic challenge', async (t) => {
  const h = await harness(t)
  for (const auth of [null, { user: 'svc-ews', pass: 'wrong' }, { user: 'nobody', pass: 'x' }, 'Basic !!!']) {
    const res = await post(h.sim.url, envelope(getInbox, { impersonate: ALICE }), auth)
    t.equal(res.status, 401)
    t.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="/)
    t.notOk(res.headers.has('x-ms-diagnostics'))
  }
  const ok = await h.call(getInbox)
  t.equal(ok.status, 200)
  t.equal(messages(ok.text, 'GetFolder')[0].Folders.Folder[0].DisplayName, 'Inbox')
  t.equal(h.sim.stats.requests, 5)
})

t.test('Bearer auth: app-only tokens need full_access_as_app and impersonation', async (t) => {
  const h = await harness(t, {
    verifyBearer: async (token) =>
      token === 'app-token'
        ? { appId: 'app-1', roles: ['full_access_as_app'] }
        : token === 'weak-token'
          ? { appId: 'app-2', roles: ['EWS.Read'] }
          : undefined
  })
  const bad = await post(h.sim.url, envelope(getInbox, { impersonate: ALICE }), 'Bearer nope')
  t.equal(bad.status, 401)
  t.match(bad.headers.get('www-authenticate') ?? '', /Basic realm=.*Bearer/)
  t.match(bad.headers.get('x-ms-diagnostics') ?? '', /^2000001;reason=/)
  const weak = await post(h.sim.url, envelope(getInbox, { impersonate: ALICE }), 'Bearer weak-token')
  t.equal(weak.status, 401)
  t.match(weak.headers.get('x-ms-diagnostics') ?? '', /^2000008;/)
  const good = await post(h.sim.url, envelope(getInbox, { impersonate: BOB }), 'Bearer app-token')
  t.equal(good.status, 200)
  const inbox = foldersOf(messages(good.text, 'GetFolder')[0].Folders)[0]
  t.equal(
    inbox.FolderId['@Id'],
    h.store.wellKnownFolder(h.store.mailboxBySmtp(BOB)?.guid ?? '', 'inbox').id,
    'acts on the impersonated mailbox'
  )
  const noImp = await post(h.sim.url, envelope(getInbox), 'Bearer app-token')
  t.equal(noImp.status, 500)
  t.equal(faultCode(noImp.text), 'ErrorMissingEmailAddress')
})

t.test('impersonation rules and mailbox selection', async (t) => {
  const h = await harness(t)
  const aliceInbox = h.store.wellKnownFolder(h.store.mailboxBySmtp(ALICE)?.guid ?? '', 'inbox').id
  const bobInbox = h.store.wellKnownFolder(h.store.mailboxBySmtp(BOB)?.guid ?? '', 'inbox').id
  const idOf = (text: string): string => foldersOf(messages(text, 'GetFolder')[0].Folders)[0].FolderId['@Id']

  t.equal(idOf((await h.call(getInbox, { impersonate: BOB })).text), bobInbox, 'svc impersonates bob')
  const own = await h.call(getInbox, { impersonate: null, auth: ALICE_LOGIN })
  t.equal(idOf(own.text), aliceInbox, 'no header: the account\'s own mailbox')
  const denied = await h.call(getInbox, { impersonate: BOB, auth: ALICE_LOGIN })
  t.equal(denied.status, 500)
  t.equal(faultCode(denied.text), 'ErrorImpersonateUserDenied')
  const unknown = await h.call(getInbox, { impersonate: 'ghost@contoso.example' })
  t.equal(faultCode(unknown.text), 'ErrorNonExistentMailbox')
  const noMailbox = await h.call(getInbox, { impersonate: null, auth: { user: 'nomailbox', pass: 'nomailbox-secret' } })
  t.equal(faultCode(noMailbox.text), 'ErrorMissingEmailAddress')
  // A Mailbox element on a DistinguishedFolderId is checked against the acting user's rights:
  // impersonating alice means alice's rights, not the service account's.
  const other = getFolders(dfidOf('inbox', BOB))
  const byId = getFolders(fid(bobInbox))
  t.same(codes((await h.call(other)).text, 'GetFolder'), ['ErrorAccessDenied'], 'impersonated alice: not bob\'s inbox')
  const asAlice = { impersonate: null, auth: ALICE_LOGIN }
  t.same(codes((await h.call(other, asAlice)).text, 'GetFolder'), ['ErrorAccessDenied'])
  t.same(codes((await h.call(byId)).text, 'GetFolder'), ['ErrorAccessDenied'], 'nor by id')
  const ghost = getFolders(dfidOf('inbox', 'ghost@contoso.example'))
  t.same(codes((await h.call(ghost)).text, 'GetFolder'), ['ErrorNonExistentMailbox'])
  // Once alice holds FullAccess on bob's mailbox, both ways of acting as alice are served.
  const bobGuid = h.store.mailboxBySmtp(BOB)?.guid ?? ''
  h.store.grantFullAccess(bobGuid, ALICE)
  t.equal(idOf((await h.call(other)).text), bobInbox, 'impersonated alice with FullAccess')
  t.equal(idOf((await h.call(other, asAlice)).text), bobInbox, 'alice with FullAccess')
  t.equal(idOf((await h.call(byId)).text), bobInbox, 'and by id')
  // The service account's own grants do not apply while it impersonates someone else.
  h.store.revokeFullAccess(bobGuid, ALICE)
  h.store.grantFullAccess(bobGuid, SVC.user)
  t.same(codes((await h.call(other)).text, 'GetFolder'), ['ErrorAccessDenied'], 'svc\'s FullAccess is not alice\'s')
  // X-AnchorMailbox is accepted but not required.
  const anchored = await fetch(h.sim.url, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${SVC.user}:${SVC.pass}`).toString('base64')}`,
      'x-anchormailbox': ALICE,
      'content-type': 'text/xml'
    },
    body: envelope(getInbox, { impersonate: ALICE })
  })
  t.equal(anchored.status, 200)
})

t.test('delegate access: an account without a mailbox is served the mailboxes it holds FullAccess on', async (t) => {
  const h = await harness(t)
  const alice = h.store.mailboxBySmtp(ALICE)
  const bob = h.store.mailboxBySmtp(BOB)
  if (alice === undefined || bob === undefined) throw new Error('seed lacks alice or bob')
  h.store.grantFullAccess(alice.guid, SVC_DELEGATE.user)
  const as = { impersonate: null, auth: SVC_DELEGATE }
  const call = async (body: string, op: string): Promise<Xml[]> => messages((await h.call(body, as)).text, op)
  const aliceInbox = h.store.wellKnownFolder(alice.guid, 'inbox')

  const both = getFolders(dfidOf('inbox', ALICE) + dfidOf('archiveinbox', ALICE))
  const [inboxMsg, archiveMsg] = await call(both, 'GetFolder')
  t.equal(foldersOf(inboxMsg.Folders)[0].FolderId['@Id'], aliceInbox.id, 'alice\'s inbox, named by Mailbox')
  t.equal(archiveMsg.ResponseCode, 'NoError', 'FullAccess covers her archive too')
  // Ids carry their mailbox: later calls by id need no Mailbox element.
  const view = '<m:IndexedPageItemView MaxEntriesReturned="1000" Offset="0" BasePoint="Beginning"/>'
  const found = await call(m('FindItem', shape('ItemShape', 'IdOnly') + view + m('ParentFolderIds', fid(aliceInbox.id)),
    'Traversal="Shallow"'), 'FindItem')
  const items = itemsOf(found[0].RootFolder.Items)
  t.equal(items.length, h.store.itemsIn(aliceInbox.id).length, 'FindItem by folder id lists every inbox item')
  const exported = await call(m('ExportItems', m('ItemIds', iid(items[0].ItemId['@Id']))), 'ExportItems')
  t.equal(exported[0].ResponseCode, 'NoError', 'ExportItems by id')
  const upload = `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${aliceInbox.id}"/>` +
    `<t:Data>${exported[0].Data as string}</t:Data></t:Item>`
  t.equal((await call(m('UploadItems', m('Items', upload)), 'UploadItems'))[0].ResponseCode, 'NoError', 'UploadItems')
  const folder = m('Folders', '<t:Folder><t:DisplayName>Delegated</t:DisplayName></t:Folder>')
  const created = await call(m('CreateFolder', m('ParentFolderId', dfidOf('inbox', ALICE)) + folder), 'CreateFolder')
  t.equal(created[0].ResponseCode, 'NoError', 'CreateFolder below her inbox')
  const syncRoot = m('SyncFolderId', dfidOf('msgfolderroot', ALICE))
  const sync = m('SyncFolderHierarchy', shape('FolderShape', 'IdOnly') + syncRoot)
  t.equal((await call(sync, 'SyncFolderHierarchy'))[0].ResponseCode, 'NoError')

  // No grant on bob: refused by name and by id, per message.
  const bobInbox = h.store.wellKnownFolder(bob.guid, 'inbox')
  const denied = await call(getFolders(dfidOf('inbox', BOB) + fid(bobInbox.id)), 'GetFolder')
  t.same(denied.map((x) => x.ResponseCode), ['ErrorAccessDenied', 'ErrorAccessDenied'])
  const deniedItem = await call(m('ExportItems', m('ItemIds', iid(h.store.itemsIn(bobInbox.id)[0].id))), 'ExportItems')
  t.same(deniedItem.map((x) => x.ResponseCode), ['ErrorAccessDenied'])
  // Without a Mailbox element an account without a mailbox has nothing to resolve a distinguished folder in.
  for (const body of [getInbox, m('SyncFolderHierarchy', shape('FolderShape', 'IdOnly'))]) {
    const missing = await h.call(body, as)
    t.equal(missing.status, 500)
    t.equal(faultCode(missing.text), 'ErrorMissingEmailAddress')
  }
  // Revoking the grant closes the mailbox again, ids included.
  h.store.revokeFullAccess(alice.guid, SVC_DELEGATE.user)
  const revoked = await call(getFolders(dfidOf('inbox', ALICE) + fid(aliceInbox.id)), 'GetFolder')
  t.same(revoked.map((x) => x.ResponseCode), ['ErrorAccessDenied', 'ErrorAccessDenied'])
  t.throws(() => h.store.grantFullAccess(alice.archiveGuid ?? '', SVC_DELEGATE.user), { code: 'MailboxNotFound' },
    'grants are on primary mailboxes')
})

t.test('every answer carries ServerVersionInfo, SOAP faults included', async (t) => {
  const h = await harness(t)
  const malformed = `<soap:Envelope xmlns:soap="${SOAP}"><soap:Body><m:GetFolder xmlns:m="${M}">` +
    '</soap:Body></soap:Envelope>'
  const answers = [
    await h.call(getInbox),
    await h.call(getFolders(fid('not-an-id'))),
    await h.call(getInbox, { version: null }),
    await h.call(getInbox, { version: 'Exchange2019' }),
    await h.call('<m:FrobnicateItems/>'),
    await h.call(getInbox, { impersonate: BOB, auth: ALICE_LOGIN }),
    await h.call(getInbox, { impersonate: null, auth: { user: 'nomailbox', pass: 'nomailbox-secret' } }),
    await post(h.sim.url, malformed, SVC)
  ]
  h.sim.faults.serverBusy = 1
  answers.push(await h.call(getInbox))
  t.same(answers.map((a) => a.status), [200, 200, 500, 500, 500, 500, 500, 500, 500])
  for (const [i, a] of answers.entries()) {
    const info = parse(a.text).Envelope.Header?.ServerVersionInfo
    t.equal(info?.['@MajorVersion'], '15', `answer ${i} names the server version`)
    t.equal(info?.['@Version'], 'V2018_01_08')
  }
})

t.test('ConvertId converts between the id formats the simulator issues, with the rights of the caller', async (t) => {
  const h = await harness(t)
  const alice = h.store.mailboxBySmtp(ALICE)
  const bob = h.store.mailboxBySmtp(BOB)
  if (alice?.archiveGuid === undefined || bob === undefined) throw new Error('seed lacks a mailbox')
  const item = h.store.itemsIn(h.store.wellKnownFolder(alice.guid, 'inbox').id)[0]
  const archived = h.store.wellKnownFolder(alice.archiveGuid, 'archiveinbox')
  const convertBody = (ids: string, to: string): string =>
    m('ConvertId', m('SourceIds', ids), `DestinationFormat="${to}"`)
  const convert = async (ids: string, to: string): Promise<Xml[]> =>
    messages((await h.call(convertBody(ids, to))).text, 'ConvertId')
  const alt = (id: string, format: string, mailbox: string = ALICE): string =>
    `<t:AlternateId Format="${format}" Id="${id}" Mailbox="${mailbox}"/>`

  const [entry] = await convert(alt(item.id, 'EwsId'), 'EntryId')
  t.equal(entry.ResponseCode, 'NoError')
  t.equal(entry.AlternateId['@Format'], 'EntryId')
  t.equal(entry.AlternateId['@Mailbox'], ALICE)
  const [hex] = await convert(alt(entry.AlternateId['@Id'], 'EntryId'), 'HexEntryId')
  t.match(hex.AlternateId['@Id'], /^[0-9A-F]+$/)
  const [back] = await convert(alt(hex.AlternateId['@Id'], 'HexEntryId'), 'EwsId')
  t.equal(back.AlternateId['@Id'], item.id, 'EwsId → EntryId → HexEntryId → EwsId round-trips')
  const [arch] = await convert(alt(archived.id, 'EwsId'), 'EwsId')
  t.equal(arch.AlternateId['@IsArchive'], 'true', 'archive ids say so')

  // exchangelib's version probe: a dummy id and mailbox, no impersonation.
  const probe = await h.call(convertBody(alt('DUMMY', 'EwsId', 'DUMMY'), 'EntryId'), { impersonate: null })
  t.equal(probe.status, 200)
  t.same(codes(probe.text, 'ConvertId'), ['ErrorNonExistentMailbox'])
  t.equal(parse(probe.text).Envelope.Header.ServerVersionInfo['@MajorVersion'], '15')
  const bobItem = h.store.itemsIn(h.store.wellKnownFolder(bob.guid, 'inbox').id)[0]
  const mixed = alt(bobItem.id, 'EwsId', BOB) + alt(bobItem.id, 'EwsId') + alt('xyz', 'HexEntryId') +
    alt(item.id, 'EwsId') + '<t:AlternatePublicFolderId Format="EwsId" FolderId="x"/>'
  t.same((await convert(mixed, 'OwaId')).map((x) => x.ResponseCode), ['ErrorAccessDenied', 'ErrorAccessDenied',
    'ErrorInvalidIdMalformed', 'ErrorUnsupportedTypeForConversion', 'ErrorUnsupportedTypeForConversion'])
  t.equal(faultCode((await h.call(convertBody(alt(item.id, 'EwsId'), 'Nope'))).text), 'ErrorSchemaValidation')
})

t.test('RequestServerVersion is required and must be a known version; ServerVersionInfo is returned', async (t) => {
  const h = await harness(t)
  t.equal(faultCode((await h.call(getInbox, { version: null })).text), 'ErrorInvalidServerVersion')
  t.equal(faultCode((await h.call(getInbox, { version: 'Exchange2099' })).text), 'ErrorInvalidServerVersion')
  const ok = await h.call(getInbox, { version: 'Exchange2010_SP1' })
  const info = parse(ok.text).Envelope.Header.ServerVersionInfo
  t.equal(info['@MajorVersion'], '15')
  t.equal(info['@MinorVersion'], '20')
  t.equal(info['@Version'], 'V2018_01_08')
})

t.test('namespace handling: any SOAP prefix, default namespaces, wrong namespaces rejected', async (t) => {
  const h = await harness(t)
  for (const soapPrefix of ['soap', 's', 'SOAP-ENV', '']) {
    const res = await h.call(getInbox, { soapPrefix })
    t.equal(res.status, 200, `prefix '${soapPrefix}'`)
    t.equal(messages(res.text, 'GetFolder')[0].ResponseCode, 'NoError')
  }
  // Default namespace on the body element, custom prefix for types.
  const body = `<GetFolder xmlns="${M}" xmlns:x="${T}"><FolderShape><x:BaseShape>IdOnly</x:BaseShape></FolderShape>` +
    '<FolderIds><x:DistinguishedFolderId Id="inbox"/></FolderIds></GetFolder>'
  const res = await h.call(body)
  t.equal(messages(res.text, 'GetFolder')[0].ResponseCode, 'NoError')
  // https:// namespaces (a documentation bug) are not EWS.
  const wrong =
    '<x:GetFolder xmlns:x="https://schemas.microsoft.com/exchange/services/2006/messages"><x:FolderShape/></x:GetFolder>'
  const rej = await h.call(wrong)
  t.equal(rej.status, 500)
  t.equal(faultCode(rej.text), 'ErrorSchemaValidation')
  const wrongEnv = `<Envelope xmlns="https://schemas.xmlsoap.org/soap/envelope/"><Body>${getInbox}</Body></Envelope>`
  t.equal(faultCode((await post(h.sim.url, wrongEnv, SVC)).text), 'ErrorSchemaValidation')
  const undeclared = await h.call('<q:GetFolder/>')
  t.equal(faultCode(undeclared.text), 'ErrorSchemaValidation')
  const malformed = await post(
    h.sim.url,
    `<soap:Envelope xmlns:soap="${SOAP}">\n<soap:Body>\n<m:GetFolder xmlns:m="${M}"></soap:Body></soap:Envelope>`,
    SVC
  )
  const fault = parse(malformed.text).Envelope.Body.Fault
  t.equal(fault.detail.ResponseCode, 'ErrorSchemaValidation')
  t.equal(fault.detail.MessageXml.LineNumber, '3')
  t.ok(Number(fault.detail.MessageXml.LinePosition) > 0)
  t.match(fault.faultcode, /ErrorSchemaValidation$/)
})

t.test('fault knobs fire, count down and respect `only`', async (t) => {
  const h = await harness(t)
  const exportBody = m(
    'ExportItems',
    m(
      'ItemIds',
      `<t:ItemId Id="${h.store.itemsIn(h.store.wellKnownFolder(h.store.mailboxBySmtp(ALICE)?.guid ?? '', 'inbox').id)[0].id}"/>`
    )
  )
  h.sim.faults.serverBusy = 2
  h.sim.faults.backOffMs = 2500
  h.sim.faults.only = ['ExportItems']
  t.equal((await h.call(getInbox)).status, 200, 'other operations unaffected')
  const busy = await h.call(exportBody)
  t.equal(busy.status, 500)
  const detail = parse(busy.text).Envelope.Body.Fault.detail
  t.equal(detail.ResponseCode, 'ErrorServerBusy')
  t.same(detail.MessageXml.Value, [{ '#text': '2500', '@Name': 'BackOffMilliseconds' }])
  t.equal(h.sim.faults.serverBusy, 1)
  t.equal((await h.call(exportBody)).status, 500)
  t.equal((await h.call(exportBody)).status, 200)
  t.equal(h.sim.faults.serverBusy, 0)

  h.sim.faults.only = undefined
  h.sim.faults.http503 = 1
  t.equal((await h.call(getInbox)).status, 503)
  t.equal((await h.call(getInbox)).status, 200)

  h.sim.faults.truncate = 1
  const cut = await h.call(getInbox)
  t.equal(cut.status, 200)
  t.ok(cut.text.endsWith('=== Truncated Data ==='))
  t.throws(() => parse(cut.text).Envelope.Body.GetFolderResponse.ResponseMessages.x.y)
  t.equal(h.sim.faults.truncate, 0)

  h.sim.faults.reset = 1
  await t.rejects(h.call(getInbox), 'socket destroyed without a response')
  t.equal(h.sim.faults.reset, 0)
  t.equal((await h.call(getInbox)).status, 200)

  h.sim.faults.delayMs = 150
  // Order, not a stopwatch: a 150 ms timer set before the call fires before the simulator's own
  // 150 ms wait ends (timers of one length run in the order they were set).
  let elapsed = false
  const mark = setTimeout(() => { elapsed = true }, 150)
  await h.call(getInbox)
  clearTimeout(mark)
  t.ok(elapsed, 'latency added')
  h.sim.faults.delayMs = 0
  t.equal(h.sim.stats.byOperation.ExportItems, 3)
})

t.test('secrets never reach the simulator log', async (t) => {
  const lines: string[] = []
  const { logger } = captureLogs('debug', { redaction: false }, lines)
  const h = await harness(t, { logger })
  await h.call(getInbox)
  await post(h.sim.url, envelope(getInbox, { impersonate: ALICE }), { user: 'svc-ews', pass: 'wrong-password-xyz' })
  h.sim.faults.serverBusy = 1
  await h.call(getInbox)
  const all = lines.join('')
  t.ok(lines.length >= 3)
  t.notMatch(all, /svc-secret-1|wrong-password-xyz|c3ZjLWV3cz/)
})
