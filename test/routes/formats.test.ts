/**
 * The MIME and property-set formats through the public API (README "Formats: MIME and property sets"), for an EWS
 * and a Graph mailbox over real sockets to the simulators: what a request may ask (400s), what no backend can do
 * (a meeting, a vCard import: 422, before anything is sent), what this backend cannot (501 with the capability's
 * reason, before anything is sent), content negotiation (406), the capabilities in GET /mailboxes/{mailbox}, and
 * the raw upload's media types, bounds and scope.
 */
import t, { type Test } from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { formatCapabilities, type MailboxBackend } from '../../src/backends/mailbox-backend.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'

const READER_KEY = generateApiKey()

interface Problem { status: number, code: string, detail: string }
interface ItemError { code: string, status: number, message: string, retryable: boolean }
interface ImportResult { index: number, itemId?: string, error?: ItemError, [field: string]: unknown }
interface Capability { supported: boolean, reason?: string }
type PerKind = Record<'message' | 'appointment' | 'contact' | 'task', Capability>

const b64 = (text: string): string => Buffer.from(text).toString('base64')

/** An .ics of one event; `extra` lines go into the VEVENT. */
function ics (extra: string[] = [], uid = 'original-uid-1@contoso.example'): string {
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Contoso//Test//EN', 'BEGIN:VEVENT', `UID:${uid}`,
    'DTSTAMP:20260101T090000Z', 'DTSTART:20260105T100000Z', 'DTEND:20260105T110000Z', 'SUMMARY:Planning',
    ...extra, 'END:VEVENT', 'END:VCALENDAR', ''
  ].join('\r\n')
}
const MEETING = ics(['ORGANIZER;CN=Alice:mailto:alice@contoso.example', 'ATTENDEE;CN=Bob:mailto:bob@contoso.example'])
const VCARD = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Erin Evans\r\nEMAIL:erin@contoso.example\r\nEND:VCARD\r\n'
const EML = 'From: Alice <alice@contoso.example>\r\nTo: bob@contoso.example\r\nSubject: Hello\r\n' +
  'Date: Mon, 05 Jan 2026 10:00:00 +0000\r\nMessage-ID: <m1@contoso.example>\r\nMIME-Version: 1.0\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n\r\nHi Bob.\r\n'

/** Requests the simulators of `gw` have answered so far (EWS and Graph together). */
const backendRequests = (gw: TestGateway): number => gw.sims.ews.stats.requests + gw.sims.graph.stats.requests

/** The backend object serving `address` (the router's, shared by every request). */
async function backendOf (gw: TestGateway, address: string): Promise<MailboxBackend> {
  const router = (gw.app.mailboxService as unknown as {
    router: { backendOf: (a: string) => Promise<{ backend: MailboxBackend } | undefined> }
  }).router
  const found = await router.backendOf(address)
  if (found === undefined) throw new Error(`no backend for ${address}`)
  return found.backend
}

/** Declares the backend of `address` without any format for this test (restored at teardown). */
async function withoutFormats (t: Test, gw: TestGateway, address: string, reason: string): Promise<void> {
  const backend = await backendOf(gw, address) as { capabilities: MailboxBackend['capabilities'] }
  const before = backend.capabilities
  backend.capabilities = { ...before, formats: formatCapabilities(reason) }
  t.teardown(() => { backend.capabilities = before })
}

for (const type of ['ews', 'graph'] as const) {
  const address = MAILBOXES[type].primary
  const mbx = encodeURIComponent(address)

  t.test(`${type}: GET /mailboxes/{mailbox} lists what its backend can do, with why not`, async (t) => {
    const gw = await buildTestGateway(t)
    const res = await gw.app.inject({ url: `/mailboxes/${mbx}` })
    t.equal(res.statusCode, 200)
    const { capabilities } = json<{
      capabilities: {
        associatedItems: Capability
        classlessFolders: Capability
        formats: { fullFidelity: Record<'export' | 'import', Capability> } &
        Record<'mime' | 'json', Record<'export' | 'import', PerKind>>
      }
    }>(res)
    const declared = (await backendOf(gw, address)).capabilities
    t.same(capabilities.associatedItems, declared.associatedItems, 'associated items as the adapter declares them')
    t.same(capabilities.classlessFolders, declared.classlessFolders ?? { supported: true })
    t.same(capabilities.formats.fullFidelity, { export: { supported: true }, import: { supported: true } })
    for (const format of ['mime', 'json'] as const) {
      for (const direction of ['export', 'import'] as const) {
        t.same(capabilities.formats[format][direction], declared.formats[format][direction],
          `${format} ${direction}: per kind, as declared`)
        for (const [kind, can] of Object.entries(capabilities.formats[format][direction])) {
          t.ok(can.supported || (typeof can.reason === 'string' && can.reason.length > 0),
            `${format} ${direction} ${kind}: supported, or why not`)
        }
      }
    }
    if (type === 'graph') t.equal(capabilities.associatedItems.supported, false, 'Graph has no associated items')

    const list = json<{ mailboxes: Array<Record<string, unknown>> }>(await gw.app.inject({ url: '/mailboxes' }))
    t.notOk(list.mailboxes.some((m) => 'capabilities' in m), 'the listing stays as it was')
  })

  t.test(`${type}: export requests are validated before any backend call (400)`, async (t) => {
    const gw = await buildTestGateway(t)
    const ids = json<{ items: Array<{ id: string }> }>(
      await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` })).items.map((i) => i.id)
    const before = backendRequests(gw)
    const bad = async (body: Record<string, unknown>, detail: RegExp): Promise<void> => {
      const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: body })
      t.equal(res.statusCode, 400, `${JSON.stringify(body).slice(0, 120)}: ${res.body.slice(0, 300)}`)
      t.equal(json<Problem>(res).code, 'MBG_ERR_BAD_REQUEST')
      t.match(json<Problem>(res).detail, detail)
    }
    await bad({ itemIds: ids, format: 'msg' }, /format/)
    await bad({ itemIds: ids, format: 'mime', attachmentContent: true }, /format "json" only/)
    await bad({ itemIds: ids, extendedProperties: [{ propertyTag: '0x0E07', propertyType: 'Integer' }] },
      /format "json" only/)
    await bad({ itemIds: ids, format: 'json', extendedProperties: [{ propertyTag: '0x0E07' }] }, /propertyType/)
    await bad({
      itemIds: ids, format: 'json', extendedProperties: [{ propertyTag: 'PR_FLAGS', propertyType: 'Integer' }]
    }, /propertyTag/)
    const guid = '00062008-0000-0000-c000-000000000046'
    await bad({
      itemIds: ids,
      format: 'json',
      extendedProperties: [{ propertyTag: '0x0E07', propertySetId: guid, propertyId: 0x8503, propertyType: 'Boolean' }]
    }, /either by propertyTag, or by propertySetId/)
    await bad({
      itemIds: ids,
      format: 'json',
      extendedProperties: [{ propertySetId: guid, propertyName: 'x', propertyId: 1, propertyType: 'String' }]
    }, /exactly one of propertyName and propertyId/)
    await bad({
      itemIds: ids,
      format: 'json',
      extendedProperties: Array.from({ length: 65 },
        (_, i) => ({ propertyTag: `0x${(0x8000 + i).toString(16)}`, propertyType: 'String' }))
    }, /extendedProperties/)
    t.equal(backendRequests(gw), before, 'nothing was sent to the backend')
  })

  t.test(`${type}: a format the backend has for no kind is a 501 with its reason, before any call`, async (t) => {
    const gw = await buildTestGateway(t)
    const ids = json<{ items: Array<{ id: string }> }>(
      await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` })).items.map((i) => i.id)
    await withoutFormats(t, gw, address, 'switched off for this test')
    const before = backendRequests(gw)
    for (const format of ['mime', 'json']) {
      const res = await gw.app.inject({
        method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids, format }
      })
      t.equal(res.statusCode, 501, res.body)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      t.equal(json<Problem>(res).code, 'MBG_ERR_NOT_SUPPORTED')
      t.match(json<Problem>(res).detail, /switched off for this test/)
      t.match(json<Problem>(res).detail, address)
    }
    const full = await gw.app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids }
    })
    t.equal(json<{ succeeded: number }>(full).succeeded, 2, 'full fidelity is unchanged')
    const named = await gw.app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids, format: 'fullFidelity' }
    })
    t.same(json<{ results: Array<{ data: string }> }>(named).results.map((r) => Object.keys(r).sort()),
      [['changeKey', 'data', 'itemId', 'source'], ['changeKey', 'data', 'itemId', 'source']],
      'format "fullFidelity" is the default, named: the same results')
    t.ok(backendRequests(gw) > before, 'only the full-fidelity export reached the backend')
    const afterFull = backendRequests(gw)

    // The single-item download and upload alike.
    for (const accept of ['message/rfc822', 'application/json', 'text/vcard, text/calendar']) {
      const res = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${ids[0]}`, headers: { accept } })
      t.equal(res.statusCode, 501, `${accept}: ${res.body}`)
      t.match(json<Problem>(res).detail, /switched off for this test/)
    }
    const upload = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/inbox/items`,
      headers: { 'content-type': 'message/rfc822' },
      payload: EML
    })
    t.equal(upload.statusCode, 501, upload.body)
    t.match(json<Problem>(upload).detail, /MIME import of a message .*switched off for this test/)
    const imported = json<{ results: ImportResult[], failed: number }>(await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [
          { folderId: 'inbox', format: 'mime', contentType: 'message/rfc822', data: b64(EML) },
          { folderId: 'contacts', format: 'json', item: { kind: 'contact', displayName: 'Erin Evans' } }
        ]
      }
    }))
    t.equal(imported.failed, 2)
    for (const r of imported.results) {
      t.match(r.error, { code: 'MBG_ERR_NOT_SUPPORTED', status: 501, retryable: false })
      t.match(r.error?.message, /switched off for this test/)
    }
    t.equal(backendRequests(gw), afterFull, 'none of these reached the backend')
  })

  t.test(`${type}: meetings and vCards are refused (422) before any backend call; the reasons say why`, async (t) => {
    const gw = await buildTestGateway(t)
    await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox` }) // discovery, before counting
    const before = backendRequests(gw)
    const res = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [
          { folderId: 'calendar', format: 'mime', contentType: 'text/calendar; charset=utf-8', data: b64(MEETING) },
          { folderId: 'contacts', format: 'mime', contentType: 'text/vcard', data: b64(VCARD) },
          {
            folderId: 'calendar',
            format: 'json',
            item: {
              kind: 'appointment',
              subject: 'Planning',
              start: '2026-01-05T10:00:00Z',
              end: '2026-01-05T11:00:00Z',
              attendees: [{ address: 'bob@contoso.example', type: 'required' }]
            }
          },
          { folderId: 'inbox', format: 'mime', contentType: 'application/pdf', data: b64('%PDF-1.7') },
          { folderId: 'calendar', format: 'mime', contentType: 'text/calendar', data: b64('not a calendar') },
          { folderId: 'inbox', format: 'mime', contentType: 'message/rfc822', data: b64(ics()) },
          { folderId: 'inbox', format: 'mime', contentType: 'message/rfc822', data: 'AA=A' },
          { folderId: 'inbox', format: 'json', item: { kind: 'message', subject: 'x', birthday: '2000-01-01' } },
          { folderId: 'inbox', format: 'json', item: { kind: 'message', subject: 'x', isDraft: true } },
          { folderId: 'inbox', format: 'json', item: { kind: 'message', createdDateTime: '2026-01-01T00:00:00Z' } },
          {
            folderId: 'inbox',
            format: 'json',
            item: { kind: 'message', attachments: [{ name: 'a.txt', kind: 'file', size: 3 }] }
          },
          { folderId: 'calendar', format: 'json', item: { kind: 'appointment', subject: 'no times' } },
          {
            folderId: 'inbox',
            format: 'json',
            item: { kind: 'message', extendedProperties: [{ propertyTag: '0x0E07', propertyType: 'Integer' }] }
          }
        ]
      }
    })
    t.equal(res.statusCode, 200, res.body.slice(0, 500))
    const body = json<{ results: ImportResult[], succeeded: number, failed: number }>(res)
    t.same([body.succeeded, body.failed], [0, 13])
    const errors = body.results.map((r) => r.error)
    t.same(body.results.map((r) => r.index), [...Array(13).keys()], 'one result per item, in order')
    t.match(errors[0], { code: 'MBG_ERR_DATA_INCOMPATIBLE', status: 422, retryable: false })
    t.match(errors[0]?.message, /import item 0 is a meeting \(an \.ics VEVENT with ATTENDEE.*meeting requests/)
    t.match(errors[1], { code: 'MBG_ERR_DATA_INCOMPATIBLE', status: 422 })
    t.match(errors[1]?.message, /you cannot import a contact by using the vCard MIME stream.*format "json"/)
    t.match(errors[2], { code: 'MBG_ERR_DATA_INCOMPATIBLE', status: 422 })
    t.match(errors[2]?.message, /import item 2 is a meeting \(1 attendees\)/)
    t.match(errors[3], { code: 'MBG_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415 })
    t.match(errors[3]?.message, /application\/pdf.*message\/rfc822.*text\/calendar/)
    t.match(errors[4], { code: 'MBG_ERR_DATA_INVALID', status: 422 })
    t.match(errors[4]?.message, /import item 4 is not iCalendar/)
    t.match(errors[5], { code: 'MBG_ERR_DATA_INVALID' })
    t.match(errors[5]?.message, /is iCalendar; send it with its own content type/)
    t.match(errors[6], { code: 'MBG_ERR_DATA_INVALID' })
    t.match(errors[6]?.message, /not base64/)
    t.match(errors[7], { code: 'MBG_ERR_BAD_REQUEST', status: 400 })
    t.match(errors[7]?.message, /birthday is a field of a contact, not of a message/)
    t.match(errors[8]?.message, /an imported message is never a draft/)
    t.match(errors[9]?.message, /createdDateTime is set by the mailbox/)
    t.match(errors[10]?.message, /attachments\[0\] needs its bytes as contentBytes/)
    t.match(errors[11]?.message, /an appointment needs start and end/)
    t.match(errors[12]?.message, /extendedProperties\[0\] needs a value/)
    t.equal(backendRequests(gw), before, 'nothing was sent to the backend')

    const audit = gw.audit().filter((r) => r.event === 'items.import')
    t.match(audit.at(-1), { outcome: 'failure', items: { requested: 13, succeeded: 0, failed: 13 } })
  })

  t.test(`${type}: a full-fidelity item next to refused ones is imported; indices stay the request's`, async (t) => {
    const gw = await buildTestGateway(t)
    const ids = json<{ items: Array<{ id: string }> }>(
      await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=1` })).items.map((i) => i.id)
    const exported = json<{ results: Array<{ data: string, source: string }> }>(await gw.app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids }
    })).results[0]
    const res = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [
          { folderId: 'contacts', format: 'mime', contentType: 'text/x-vcard', data: b64(VCARD) },
          { folderId: 'drafts', mode: 'create', itemId: 'x', data: exported.data },
          { folderId: 'drafts', mode: 'create', data: exported.data, source: exported.source },
          { folderId: 'calendar', format: 'mime', contentType: 'text/calendar', data: b64(MEETING) }
        ]
      }
    })
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    const body = json<{ results: ImportResult[], succeeded: number, failed: number }>(res)
    t.same([body.succeeded, body.failed], [1, 3])
    t.same(body.results.map((r) => r.index), [0, 1, 2, 3])
    t.equal(body.results[0].error?.code, 'MBG_ERR_DATA_INCOMPATIBLE')
    t.match(body.results[1].error?.message, /^import item 1: create mode takes no itemId/,
      'a full-fidelity item is named by its place in the request')
    t.ok(body.results[2].itemId, 'the full-fidelity item is imported')
    t.equal(body.results[3].error?.code, 'MBG_ERR_DATA_INCOMPATIBLE')
  })

  t.test(`${type}: the raw upload takes .eml and .ics bodies; others are refused before any call`, async (t) => {
    const gw = await buildTestGateway(t)
    await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox` })
    const before = backendRequests(gw)
    const upload = async (contentType: string | undefined, payload: string | Buffer,
      headers: Record<string, string> = {}) => await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/calendar/items`,
      headers: { ...(contentType !== undefined ? { 'content-type': contentType } : {}), ...headers },
      payload
    })
    const vcard = await upload('text/vcard; charset=utf-8', VCARD)
    t.equal(vcard.statusCode, 422, vcard.body)
    t.match(json<Problem>(vcard), { code: 'MBG_ERR_DATA_INCOMPATIBLE' })
    t.match(json<Problem>(vcard).detail, /the upload is a vCard.*you cannot import a contact/)
    const meeting = await upload('text/calendar', MEETING)
    t.equal(meeting.statusCode, 422)
    t.match(json<Problem>(meeting).detail, /the upload is a meeting/)
    const folded = await upload('text/calendar',
      ics(['ATTENDEE;CN="Bob Builder";ROLE=REQ-PARTICIPANT:mai', ' lto:bob@contoso.example']))
    t.equal(folded.statusCode, 422, 'a folded ATTENDEE line is an attendee too')
    const broken = await upload('text/calendar', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n')
    t.equal(broken.statusCode, 422)
    t.match(json<Problem>(broken), { code: 'MBG_ERR_DATA_INVALID' })
    const todo = await upload('text/calendar', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1\r\n' +
      'SUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n')
    t.equal(todo.statusCode, 422)
    t.match(json<Problem>(todo).detail, /has no VEVENT/)
    const two = await upload('text/calendar', ics([], 'a').replace('END:VCALENDAR', ics([], 'b')
      .replace(/^BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:[^\r]*\r\n/, '').replace(/END:VCALENDAR\r\n$/, '') +
      'END:VCALENDAR'))
    t.equal(two.statusCode, 422)
    t.match(json<Problem>(two).detail, /VEVENTs of 2 UIDs/)
    const empty = await upload('message/rfc822', '')
    t.equal(empty.statusCode, 422, empty.body)
    const mbox = await upload('message/rfc822', `From alice@contoso.example Mon Jan  5 10:00:00 2026\n${EML}`)
    t.equal(mbox.statusCode, 422)
    t.match(json<Problem>(mbox).detail, /mbox "From " line/)
    const xml = await upload('application/xml', '<x/>')
    t.equal(xml.statusCode, 415)
    t.match(json<Problem>(xml), { code: 'MBG_ERR_UNSUPPORTED_MEDIA_TYPE' })
    const none = await upload(undefined, EML)
    t.equal(none.statusCode, 415, none.body)
    const notItem = await upload('application/json', JSON.stringify({ kind: 'note', subject: 'x' }))
    t.equal(notItem.statusCode, 400)
    t.match(json<Problem>(notItem).detail, /body/)
    const otherKind = await upload('application/json',
      JSON.stringify({ kind: 'contact', subject: 'x', start: '2026-01-01T00:00:00Z' }))
    t.equal(otherKind.statusCode, 400)
    t.match(json<Problem>(otherKind).detail, /the item: start is a field of an appointment, not of a contact/)
    const jsonMeeting = await upload('application/json', JSON.stringify({
      kind: 'appointment', start: '2026-01-05T10:00:00Z', end: '2026-01-05T11:00:00Z', attendees: [{ address: 'b@c.d' }]
    }))
    t.equal(jsonMeeting.statusCode, 422)
    t.equal(backendRequests(gw), before, 'nothing was sent to the backend')
  })

  t.test(`${type}: GET an item: an Accept it cannot meet is a 406 naming what is available`, async (t) => {
    const gw = await buildTestGateway(t)
    const ids = json<{ items: Array<{ id: string }> }>(
      await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=1` })).items.map((i) => i.id)
    const before = backendRequests(gw)
    for (const accept of ['application/xml', 'text/plain', 'image/*', 'application/json;q=0']) {
      const res = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${ids[0]}`, headers: { accept } })
      t.equal(res.statusCode, 406, `${accept}: ${res.body}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      t.equal(json<Problem>(res).code, 'MBG_ERR_NOT_ACCEPTABLE')
      t.match(json<Problem>(res).detail, /message\/rfc822, text\/calendar, text\/vcard, application\/json/)
    }
    t.equal(backendRequests(gw), before, 'nothing was sent to the backend')
    const bad = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${ids[0]}?attachmentContent=maybe` })
    t.equal(bad.statusCode, 400)
  })
}

t.test('the raw upload is bounded like an import before its body is read; both routes need their scope',
  async (t) => {
    const gw = await buildTestGateway(t, {
      auth: (auth) => {
        auth.clients.push({
          name: 'reader',
          apiKeys: [{ id: 'r1', sha256: hashApiKey(READER_KEY) }],
          appIds: [],
          scopes: ['mailboxes:read'],
          mailboxes: ['*']
        })
      }
    })
    const mbx = encodeURIComponent(MAILBOXES.ews.primary)
    const limit = await gw.app.mailboxService.importBodyLimit(MAILBOXES.ews.primary, 1)
    if (limit === undefined) throw new Error('the EWS backend has an item-size limit')
    const big = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/inbox/items`,
      headers: { 'content-type': 'message/rfc822', 'content-length': String(limit + 1) },
      payload: Buffer.alloc(16, 0x41)
    })
    t.equal(big.statusCode, 413, big.body)
    t.equal(json<Problem>(big).code, 'MBG_ERR_TOO_LARGE')

    const before = backendRequests(gw)
    const reader = { 'x-api-key': READER_KEY }
    const download = await gw.app.inject({ url: `/mailboxes/${mbx}/items/abc`, headers: reader })
    t.equal(download.statusCode, 403)
    t.match(download.headers['www-authenticate'], /scope="items:export"/)
    const upload = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/inbox/items`,
      headers: { ...reader, 'content-type': 'message/rfc822' },
      payload: EML
    })
    t.equal(upload.statusCode, 403)
    t.match(upload.headers['www-authenticate'], /scope="items:import"/)
    t.equal(backendRequests(gw), before, 'nothing was sent to the backend')
    const denied = gw.audit().filter((r) => r.event === 'access.denied')
    t.same(denied.map((r) => r.action), ['items.export', 'items.import'], 'both refusals are audited')
  })
