/** EWS simulator transport behaviour: auth, impersonation, SOAP headers, namespaces, fault knobs. */
import t from 'tap'
import {
  ALICE,
  ALICE_LOGIN,
  BOB,
  dfid,
  envelope,
  faultCode,
  harness,
  m,
  messages,
  parse,
  post,
  shape,
  SVC,
  M,
  T,
  SOAP,
  foldersOf
} from './ews-test-client.js'
import { captureLogs } from '../helpers/logs.js'

const getInbox = m('GetFolder', shape('FolderShape', 'Default') + m('FolderIds', dfid('inbox')))

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
  // Mailbox element on a DistinguishedFolderId is honoured for impersonating callers only.
  const other = m(
    'GetFolder',
    shape('FolderShape', 'IdOnly') +
      m(
        'FolderIds',
        `<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>${BOB}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
      )
  )
  t.equal(idOf((await h.call(other)).text), bobInbox)
  t.same(
    messages((await h.call(other, { impersonate: null, auth: ALICE_LOGIN })).text, 'GetFolder').map(
      (x) => x.ResponseCode
    ),
    ['ErrorAccessDenied']
  )
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
  const started = Date.now()
  await h.call(getInbox)
  t.ok(Date.now() - started >= 140, 'latency added')
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
