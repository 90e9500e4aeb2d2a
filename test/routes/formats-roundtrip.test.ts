/**
 * The MIME and property-set formats end to end, for an EWS and a Graph mailbox over real sockets to the
 * simulators: downloads as the Accept header asks (.eml, .ics, .vcf, the property set), exports in a format with
 * per-item errors, and creates from an .eml, an .ics and a property set, read back through the same API; what a
 * backend cannot do is its capability's 501, and an appointment's new UID is the one the item has.
 */
import t from 'tap'
import ICAL from 'ical.js'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

interface Problem { status: number, code: string, detail: string }
interface ItemError { code: string, status: number, message: string }
interface Capability { supported: boolean, reason?: string }
type Kind = 'message' | 'appointment' | 'contact' | 'task'
interface Capabilities { formats: Record<'mime' | 'json', Record<'export' | 'import', Record<Kind, Capability>>> }
interface PropertySet { itemId: string, changeKey?: string, item: Record<string, unknown> & { kind: Kind } }
interface Created {
  itemId: string
  changeKey?: string
  format: string
  kind: Kind
  uidReplaced?: { from: string, to: string }
  index?: number
}

const EML = 'From: Alice <alice@contoso.example>\r\nTo: bob@contoso.example\r\nSubject: Formats: round trip\r\n' +
  'Date: Mon, 05 Jan 2026 10:00:00 +0000\r\nMessage-ID: <roundtrip-1@contoso.example>\r\nMIME-Version: 1.0\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n\r\nHello from an .eml.\r\n'
const ICS = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Contoso//Test//EN', 'BEGIN:VEVENT',
  'UID:roundtrip-uid@contoso.example', 'DTSTAMP:20260101T090000Z', 'DTSTART:20260105T100000Z',
  'DTEND:20260105T110000Z', 'SUMMARY:Formats review', 'LOCATION:Room 1', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n')

const b64 = (text: string): string => Buffer.from(text).toString('base64')
const backendRequests = (gw: TestGateway): number => gw.sims.ews.stats.requests + gw.sims.graph.stats.requests

async function firstIds (gw: TestGateway, mbx: string, folder: string, n = 1): Promise<string[]> {
  const res = await gw.app.inject({ url: `/mailboxes/${mbx}/folders/${folder}/items?pageSize=${n}` })
  return json<{ items: Array<{ id: string }> }>(res).items.map((i) => i.id)
}

for (const type of ['ews', 'graph'] as const) {
  const address = MAILBOXES[type].primary
  const mbx = encodeURIComponent(address)

  t.test(`${type}: one item downloads as its Accept header asks`, async (t) => {
    const gw = await buildTestGateway(t)
    const [message] = await firstIds(gw, mbx, 'inbox')
    const url = `/mailboxes/${mbx}/items/${message}`
    const eml = await gw.app.inject({ url, headers: { accept: 'message/rfc822' } })
    t.equal(eml.statusCode, 200, eml.body.slice(0, 300))
    t.equal(eml.headers['content-type'], 'message/rfc822')
    t.match(eml.headers['content-disposition'], /^attachment; filename="[^"/\\]+\.eml"(; filename\*=UTF-8''\S+\.eml)?$/)
    t.equal(eml.headers['x-content-type-options'], 'nosniff')
    t.match(eml.headers.vary, /Accept/)
    t.match(eml.rawPayload.toString('latin1'), /^[\x21-\x39\x3b-\x7e]+:/, 'an RFC 5322 message')
    t.equal(Number(eml.headers['content-length']), eml.rawPayload.length)
    for (const accept of [undefined, '*/*', 'text/*, message/*;q=0.9']) {
      const res = await gw.app.inject({ url, ...(accept !== undefined ? { headers: { accept } } : {}) })
      t.equal(res.statusCode, 200)
      t.equal(res.headers['content-type'], 'message/rfc822', `${accept ?? 'no Accept'}: the item's own type`)
      // The same file name; not always the same bytes (Exchange converts to MIME on each read: new boundaries).
      t.equal(res.headers['content-disposition'], eml.headers['content-disposition'])
    }
    const wrong = await gw.app.inject({ url, headers: { accept: 'text/vcard' } })
    t.equal(wrong.statusCode, 406)
    t.match(json<Problem>(wrong).detail, /is a message: it is available as message\/rfc822 or application\/json/)
    const fallback = await gw.app.inject({ url, headers: { accept: 'text/vcard, application/json;q=0.5' } })
    t.equal(fallback.statusCode, 200, 'not a contact: the property set, which the caller also takes')
    t.match(fallback.headers['content-type'], /^application\/json/)
    const props = json<PropertySet>(await gw.app.inject({ url, headers: { accept: 'application/json' } }))
    t.equal(props.itemId, message)
    t.equal(props.item.kind, 'message')
    const records = gw.audit().filter((r) => r.event === 'items.export')
    t.match(records[0],
      { outcome: 'success', items: { requested: 1, succeeded: 1, failed: 0 }, bytes: eml.rawPayload.length })
    t.match(records.find((r) => r.status === 406), { outcome: 'failure', code: 'MBG_ERR_NOT_ACCEPTABLE' })

    const [appointment] = await firstIds(gw, mbx, 'calendar')
    const ics = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${appointment}`, headers: { accept: '*/*' } })
    t.equal(ics.statusCode, 200, ics.body.slice(0, 300))
    t.equal(ics.headers['content-type'], 'text/calendar')
    t.match(ics.headers['content-disposition'], /\.ics"/)
    const calendar = new ICAL.Component(ICAL.parse(ics.body) as never)
    t.equal(calendar.getAllSubcomponents('vevent').length > 0, true, 'an iCalendar object with a VEVENT')

    const [contact] = await firstIds(gw, mbx, 'contacts')
    const vcf = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${contact}` })
    t.equal(vcf.statusCode, 200, vcf.body.slice(0, 300))
    t.equal(vcf.headers['content-type'], 'text/vcard')
    t.match(vcf.body, /^BEGIN:VCARD\r?\n/)

    const [task] = await firstIds(gw, mbx, 'tasks')
    const caps = json<{ capabilities: Capabilities }>(await gw.app.inject({ url: `/mailboxes/${mbx}` })).capabilities
    const asTask = await gw.app.inject({ url: `/mailboxes/${mbx}/items/${task}` })
    if (caps.formats.json.export.task.supported) {
      t.equal(asTask.statusCode, 200, 'a task has no MIME: with */* its property set')
      t.equal(json<PropertySet>(asTask).item.kind, 'task')
    } else {
      t.equal(asTask.statusCode, 501, asTask.body)
      t.equal(json<Problem>(asTask).code, 'MBG_ERR_NOT_SUPPORTED')
    }
    const taskMime = await gw.app.inject({
      url: `/mailboxes/${mbx}/items/${task}`, headers: { accept: 'message/rfc822' }
    })
    t.equal(taskMime.statusCode, 501, 'a task as .eml: no such thing')
  })

  t.test(`${type}: items:export in mime and json: one result per id, a task's 501 its own`, async (t) => {
    const gw = await buildTestGateway(t)
    const ids = [
      ...await firstIds(gw, mbx, 'inbox'), ...await firstIds(gw, mbx, 'calendar'),
      ...await firstIds(gw, mbx, 'contacts'), ...await firstIds(gw, mbx, 'tasks'), 'AAAA-no-such-item'
    ]
    const caps = json<{ capabilities: Capabilities }>(await gw.app.inject({ url: `/mailboxes/${mbx}` })).capabilities
    const mime = json<{ results: Array<Record<string, unknown> & { error?: ItemError }>, succeeded: number }>(
      await gw.app.inject({
        method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids, format: 'mime' }
      }))
    t.same(mime.results.map((r) => r.itemId), ids, 'one result per id, in order')
    t.same(mime.results.slice(0, 3).map((r) => [r.format, r.kind, r.contentType]), [
      ['mime', 'message', 'message/rfc822'], ['mime', 'appointment', 'text/calendar'], ['mime', 'contact', 'text/vcard']
    ])
    t.match(mime.results[0].fileName, /\.eml$/)
    t.match(Buffer.from(String(mime.results[1].data), 'base64').toString('utf8'), /BEGIN:VCALENDAR/)
    t.match(mime.results[3].error, { code: 'MBG_ERR_NOT_SUPPORTED', status: 501 })
    t.ok(['MBG_ERR_ITEM_NOT_FOUND', 'MBG_ERR_ID_MALFORMED'].includes(mime.results[4].error?.code ?? ''),
      'an unknown id fails alone')
    t.equal(mime.succeeded, 3)

    const asJson = json<{ results: Array<Record<string, unknown> & { error?: ItemError, item?: { kind: Kind } }> }>(
      await gw.app.inject({
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: { itemIds: ids, format: 'json', attachmentContent: true }
      }))
    t.same(asJson.results.slice(0, 3).map((r) => r.item?.kind), ['message', 'appointment', 'contact'])
    if (caps.formats.json.export.task.supported) t.equal(asJson.results[3].item?.kind, 'task')
    else {
      t.match(asJson.results[3].error,
        { code: 'MBG_ERR_NOT_SUPPORTED', message: caps.formats.json.export.task.reason })
    }
  })

  t.test(`${type}: a property set creates a contact and an appointment; read back, the new UID is there`, async (t) => {
    const gw = await buildTestGateway(t)
    const contact = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/contacts/items`,
      payload: {
        kind: 'contact',
        displayName: 'Erin Evans',
        givenName: 'Erin',
        surname: 'Evans',
        emailAddresses: [{ name: 'Erin Evans', address: 'erin@contoso.example' }]
      }
    })
    t.equal(contact.statusCode, 201, contact.body)
    const created = json<Created>(contact)
    t.match(created, { format: 'json', kind: 'contact' })
    t.equal(contact.headers.location?.endsWith(`/items/${encodeURIComponent(created.itemId)}`), true)
    const back = json<PropertySet>(await gw.app.inject({
      url: String(contact.headers.location), headers: { accept: 'application/json' }
    }))
    t.match(back.item,
      { kind: 'contact', displayName: 'Erin Evans', emailAddresses: [{ address: 'erin@contoso.example' }] })
    const audit = gw.audit().filter((r) => r.event === 'items.import').at(-1)
    t.match(audit, { outcome: 'success', status: 201, items: { requested: 1, succeeded: 1, failed: 0 } })

    const appointment = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [{
          folderId: 'calendar',
          format: 'json',
          item: {
            kind: 'appointment',
            subject: 'Formats review',
            start: '2026-01-05T10:00:00Z',
            end: '2026-01-05T11:00:00Z',
            location: 'Room 1',
            uid: 'copied-uid@contoso.example'
          }
        }]
      }
    })
    const result = json<{ results: Array<Created & { error?: ItemError }>, succeeded: number }>(appointment)
    t.equal(result.succeeded, 1, appointment.body)
    const { uidReplaced } = result.results[0]
    t.equal(uidReplaced?.from, 'copied-uid@contoso.example')
    t.not(uidReplaced?.to, uidReplaced?.from)
    const read = json<PropertySet>(await gw.app.inject({
      url: `/mailboxes/${mbx}/items/${result.results[0].itemId}`, headers: { accept: 'application/json' }
    }))
    t.match(read.item, { kind: 'appointment', subject: 'Formats review' })
    t.equal(Date.parse(String(read.item.start)), Date.parse('2026-01-05T10:00:00Z'))
    t.equal(read.item.uid, uidReplaced?.to, 'the answer names the UID the item has')
  })
}

t.test('ews: an .eml and an .ics upload create a message and an appointment; a retry with the key replays',
  async (t) => {
    const gw = await buildTestGateway(t)
    const mbx = encodeURIComponent(MAILBOXES.ews.primary)
    const before = json<{ totalItemCount: number }>(await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox` }))
    const send = async (): Promise<Awaited<ReturnType<typeof gw.app.inject>>> => await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/inbox/items`,
      headers: { 'content-type': 'message/rfc822', 'idempotency-key': 'eml-upload-1' },
      payload: EML
    })
    const first = await send()
    t.equal(first.statusCode, 201, first.body)
    const created = json<Created>(first)
    t.match(created, { format: 'mime', kind: 'message' })
    t.equal(created.uidReplaced, undefined)
    const again = await send()
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.body, first.body, 'the same answer')
    t.equal(again.headers.location, first.headers.location)
    const after = json<{ totalItemCount: number }>(await gw.app.inject({ url: `/mailboxes/${mbx}/folders/inbox` }))
    t.equal(after.totalItemCount, before.totalItemCount + 1, 'created once')
    // The key names the request with its folder and media type: the same bytes to another folder, or sent as
    // another type, are another request (422), never the first one's answer.
    for (const [folder, type] of [['drafts', 'message/rfc822'], ['inbox', 'text/calendar']]) {
      const other = await gw.app.inject({
        method: 'POST',
        url: `/mailboxes/${mbx}/folders/${folder}/items`,
        headers: { 'content-type': type, 'idempotency-key': 'eml-upload-1' },
        payload: EML
      })
      t.equal(other.statusCode, 422, `${folder} ${type}: ${other.body}`)
      t.equal(json<{ code: string }>(other).code, 'MBG_ERR_IDEMPOTENCY_KEY_REUSED')
      t.equal(other.headers['idempotent-replayed'], undefined)
    }
    const eml = await gw.app.inject({ url: String(first.headers.location), headers: { accept: 'message/rfc822' } })
    t.equal(eml.statusCode, 200)
    t.match(eml.body, /^Subject: Formats: round trip\r?$/m)
    t.match(eml.headers['content-disposition'], /filename="Formats_ round trip\.eml"/)
    const props = json<PropertySet>(await gw.app.inject({
      url: String(first.headers.location), headers: { accept: 'application/json' }
    }))
    t.match(props.item, { kind: 'message', subject: 'Formats: round trip', isDraft: false })

    const ics = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/calendar/items`,
      headers: { 'content-type': 'text/calendar; charset=utf-8' },
      payload: ICS
    })
    t.equal(ics.statusCode, 201, ics.body)
    const appointment = json<Created>(ics)
    t.match(appointment,
      { format: 'mime', kind: 'appointment', uidReplaced: { from: 'roundtrip-uid@contoso.example' } })
    const back = await gw.app.inject({ url: String(ics.headers.location), headers: { accept: 'text/calendar' } })
    t.equal(back.statusCode, 200)
    const uids = new ICAL.Component(ICAL.parse(back.body) as never).getAllSubcomponents('vevent')
      .map((e) => e.getFirstPropertyValue('uid'))
    t.same(uids, [appointment.uidReplaced?.to], 'the appointment carries the new UID')
    t.notMatch(back.body, /roundtrip-uid@contoso\.example/)

    const mixed = json<{ results: Array<Created & { error?: ItemError }>, succeeded: number, failed: number }>(
      await gw.app.inject({
        method: 'POST',
        url: `/mailboxes/${mbx}/items:import`,
        payload: {
          items: [
            {
              folderId: 'inbox', format: 'mime', contentType: 'message/rfc822', data: b64(EML)
            },
            {
              folderId: 'calendar', format: 'mime', contentType: 'text/calendar', data: b64(ICS)
            },
            { folderId: 'tasks', format: 'json', item: { kind: 'task', subject: 'File it', status: 'inProgress' } }
          ]
        }
      }))
    t.same([mixed.succeeded, mixed.failed], [3, 0], JSON.stringify(mixed.results))
    t.same(mixed.results.map((r) => [r.index, r.kind]), [[0, 'message'], [1, 'appointment'], [2, 'task']])
  })

t.test('graph: what Graph cannot create is a 501 with its reason, before any call', async (t) => {
  const gw = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.graph.primary)
  const caps = json<{ capabilities: Capabilities }>(await gw.app.inject({ url: `/mailboxes/${mbx}` })).capabilities
  const before = backendRequests(gw)
  const uploads = [['message/rfc822', EML, 'message'], ['text/calendar', ICS, 'appointment']] as const
  for (const [contentType, body, kind] of uploads) {
    const can = caps.formats.mime.import[kind]
    const res = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders/inbox/items`,
      headers: { 'content-type': contentType },
      payload: body
    })
    if (can.supported) {
      t.equal(res.statusCode, 201)
    } else {
      t.equal(res.statusCode, 501, res.body)
      t.equal(json<Problem>(res).code, 'MBG_ERR_NOT_SUPPORTED')
      t.match(json<Problem>(res).detail, can.reason ?? '')
    }
  }
  if (!caps.formats.mime.import.message.supported) t.equal(backendRequests(gw), before, 'nothing was sent')
})
