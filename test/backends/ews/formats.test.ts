/**
 * The EWS adapter's MIME and property-set operations against the EWS simulator over real sockets: a seeded
 * message's MIME carries what the item holds; an .eml imported is a message that is not a draft and exports the
 * same headers and body; a property set exported and imported again keeps the documented fields of each kind;
 * errors blame the right party.
 */
import t from 'tap'
import PostalMime from 'postal-mime'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import type { ItemProperties, MailboxBackend } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { startEwsSimulator } from '../../../src/simulators/ews/index.js'
import { readItemContent } from '../../../src/simulators/store/content.js'
import { DEMO_MAILBOXES, seedDemoTenant } from '../../../src/simulators/store/seed.js'
import { makeId, type StoreItem } from '../../../src/simulators/store/store.js'
import { ewsConfig, ewsMailbox } from '../../helpers/backends.js'
import { captureLogs } from '../../helpers/logs.js'

const { logger } = captureLogs('debug', { redaction: false })
const ALICE = DEMO_MAILBOXES.alice
const alice = ewsMailbox('alice')

const store = seedDemoTenant()
const sim = await startEwsSimulator({
  store,
  accounts: [{ username: 'svc-gateway', password: 'pw', impersonation: true }]
})
const backend: MailboxBackend = createEwsBackend(
  ewsConfig('ews', { url: sim.url, auth: { kind: 'basic', username: 'svc-gateway', password: 'pw' } }),
  { policy: new Policy({ baseDelayMs: 5, maxInlineDelayMs: 1000 }), logger }
)
t.teardown(async () => { await backend.close(); await sim.close() })

const folderItems = (name: string): StoreItem[] => store.itemsIn(store.wellKnownFolder(ALICE.guid, name).id)
const time = (d: Date | string | undefined): number | undefined => d === undefined ? undefined : new Date(d).getTime()

t.test('the MIME of a seeded message carries what the item holds', async (t) => {
  const item = folderItems('inbox').find((i) => readItemContent(i).attachments.some((a) => a.isInline !== true))
  if (item === undefined) throw new Error('the seed has a message with a file attachment')
  const expected = readItemContent(item)
  const mime = await backend.getItemMime(alice, toPublicId(item.id))
  t.same([mime.kind, mime.contentType, mime.subject], ['message', 'message/rfc822', expected.subject])
  const eml = await PostalMime.parse(mime.data)
  t.equal(eml.subject, expected.subject)
  t.equal(eml.from?.address, expected.from?.address)
  t.same(eml.to?.map((a) => a.address), expected.recipients.filter((r) => r.type === 'to').map((r) => r.address))
  t.equal(time(eml.date), time(expected.sent), 'Date is when it was sent')
  t.equal(eml.messageId, expected.internetMessageId)
  t.equal(eml.text?.trim(), expected.body?.text?.trim(), 'the text body')
  const file = expected.attachments.find((a) => a.isInline !== true)
  const back = eml.attachments.find((a) => a.filename === file?.name)
  t.ok(back !== undefined && file !== undefined && Buffer.from(back.content as ArrayBuffer).equals(file.data),
    'the file attachment, byte for byte')

  const calendar = folderItems('calendar')[0]
  const ics = await backend.getItemMime(alice, toPublicId(calendar.id))
  t.same([ics.kind, ics.contentType], ['appointment', 'text/calendar'])
  t.match(ics.data.toString('utf8'), /^BEGIN:VCALENDAR\r?\n[\s\S]*BEGIN:VEVENT/)
  const contact = folderItems('contacts')[0]
  const vcf = await backend.getItemMime(alice, toPublicId(contact.id))
  t.same([vcf.kind, vcf.contentType], ['contact', 'text/vcard'])
  t.match(vcf.data.toString('utf8'), /^BEGIN:VCARD/)
  await t.rejects(backend.getItemMime(alice, toPublicId(folderItems('tasks')[0].id)),
    { code: 'MBG_ERR_NOT_SUPPORTED', message: /tasks/ })
})

const CRLF = '\r\n'
const EML = [
  'From: Erin Example <erin@fabrikam.example>',
  'To: Alice <alice@contoso.example>',
  'Cc: Bob <bob@contoso.example>',
  'Subject: Imported from an archive',
  'Date: Tue, 03 Feb 2026 08:30:00 +0000',
  'Message-ID: <import-1@fabrikam.example>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="x"',
  '',
  '--x',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'The minutes, as promised.',
  '--x',
  'Content-Type: text/plain; name="minutes.txt"',
  'Content-Disposition: attachment; filename="minutes.txt"',
  '',
  'Minutes.',
  '--x--',
  ''
].join(CRLF)

t.test('an .eml imported is a message that is not a draft, and exports the same headers and body', async (t) => {
  const created = await backend.createItemFromMime(alice, { wellKnown: 'inbox' },
    { contentType: 'message/rfc822', data: Buffer.from(EML) })
  t.match(created, { itemId: /^[A-Za-z0-9_-]+$/, changeKey: /./ })
  const props = await backend.getItemProperties(alice, created.itemId, {})
  t.equal(props.item.isDraft, false, 'not a draft (PidTagMessageFlags)')
  t.equal(props.item.isRead, true)
  t.equal(props.item.subject, 'Imported from an archive')

  const original = await PostalMime.parse(Buffer.from(EML))
  const back = await PostalMime.parse((await backend.getItemMime(alice, created.itemId)).data)
  t.equal(back.subject, original.subject)
  t.same([back.from?.name, back.from?.address], [original.from?.name, original.from?.address])
  t.same(back.to?.map((a) => a.address), original.to?.map((a) => a.address))
  t.same(back.cc?.map((a) => a.address), original.cc?.map((a) => a.address))
  t.equal(time(back.date), time(original.date))
  t.equal(back.messageId, original.messageId)
  t.equal(back.text?.trim(), original.text?.trim())
  t.same(back.attachments.map((a) => [a.filename, Buffer.from(a.content as ArrayBuffer).toString('utf8').trim()]),
    [['minutes.txt', 'Minutes.']])

  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Fabrikam//EN', 'BEGIN:VEVENT', 'UID:ics-import-1',
    'DTSTAMP:20260201T000000Z', 'SUMMARY:Dentist', 'DTSTART:20260320T140000Z', 'DTEND:20260320T150000Z',
    'LOCATION:Main St', 'END:VEVENT', 'END:VCALENDAR', ''].join(CRLF)
  const event = await backend.createItemFromMime(alice, { wellKnown: 'calendar' },
    { contentType: 'text/calendar', data: Buffer.from(ics) })
  const appointment = await backend.getItemProperties(alice, event.itemId, {})
  t.match(appointment.item, {
    kind: 'appointment',
    subject: 'Dentist',
    start: '2026-03-20T14:00:00Z',
    end: '2026-03-20T15:00:00Z',
    location: 'Main St'
  })
})

/**
 * A property set without what only the server sets (times of creation and change, an appointment's organizer, a
 * message's draft state) and without an appointment's UID, which an import replaces (the service gives a new one).
 */
function documented (item: ItemProperties): ItemProperties {
  const { createdDateTime: _c, lastModifiedDateTime: _m, organizer: _o, isDraft: _d, uid: _u, ...rest } = item
  return rest
}

/**
 * The body without white space at its ends: the simulator's request reader trims text values (fast-xml-parser
 * `trimValues`, src/simulators/ews/xml.ts), where Exchange keeps a body as sent.
 */

t.test('a property set exported and imported again keeps the documented fields', async (t) => {
  const appointment = folderItems('calendar').find((i) => (readItemContent(i).appointment?.attendees.length ?? 1) === 0)
  const task = folderItems('tasks')[0]
  const contact = folderItems('contacts')[0]
  const message = folderItems('inbox').find((i) => readItemContent(i).attachments.length > 0)
  if (appointment === undefined || message === undefined) throw new Error('the seed has an appointment and a message')
  const targets: Record<string, 'calendar' | 'tasks' | 'contacts' | 'inbox'> = {
    appointment: 'calendar', task: 'tasks', contact: 'contacts', message: 'inbox'
  }
  for (const item of [appointment, task, contact, message]) {
    const exported = await backend.getItemProperties(alice, toPublicId(item.id), { attachmentContent: true })
    const kind = exported.item.kind
    // The fields the kind documents are there to be kept (the comparison below is not of empty sets).
    t.match(exported.item, {
      message: {
        subject: String,
        body: Object,
        from: { address: String },
        toRecipients: [{ address: String }],
        sentDateTime: String,
        receivedDateTime: String,
        internetMessageId: String,
        isRead: Boolean,
        attachments: [{ name: String, contentBytes: String }]
      },
      appointment: { subject: String, start: String, end: String },
      contact: { displayName: String, emailAddresses: [{ address: String }] },
      task: { subject: String, status: String }
    }[kind], `${kind}: the documented fields`)
    const uid = kind === 'appointment' ? { uid: `copy-of-${exported.item.uid ?? ''}` } : {}
    const created = await backend.createItemFromProperties(alice, { wellKnown: targets[kind] },
      { ...documented(exported.item), ...uid })
    t.not(created.itemId, exported.itemId)
    const copy = await backend.getItemProperties(alice, created.itemId, { attachmentContent: true })
    t.same(documented(copy.item), documented(exported.item), kind)
    if (kind === 'message') t.equal(copy.item.isDraft, false, 'an imported message is not a draft')
    if (kind === 'appointment') t.equal(copy.item.uid, uid.uid, 'the UID as given')
  }
})

t.test('text is kept as sent: white space at either end, carriage returns, a body of spaces', async (t) => {
  const subject = '  padded subject\t '
  const text = '\r\n  first line\r\nsecond line  \r\n\r\n'
  const created = await backend.createItemFromProperties(alice, { wellKnown: 'inbox' },
    { kind: 'message', subject, body: { text }, categories: [' spaced '] })
  const copy = await backend.getItemProperties(alice, created.itemId, {})
  t.equal(copy.item.subject, subject)
  t.equal(copy.item.body?.text, text)
  t.same(copy.item.categories, [' spaced '])
})

t.test('errors blame the right party', async (t) => {
  const unknown = toPublicId(makeId(ALICE.guid, 2, 'no such item'))
  await t.rejects(backend.getItemMime(alice, unknown), { code: 'MBG_ERR_ITEM_NOT_FOUND', statusCode: 404 })
  await t.rejects(backend.getItemProperties(alice, unknown, {}), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
  await t.rejects(backend.getItemMime(alice, 'not an id!'), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 })
  await t.rejects(backend.getItemProperties(alice, toPublicId('AAAA'), {}), { code: 'MBG_ERR_ID_MALFORMED' })
  const noFolder = toPublicId(makeId(ALICE.guid, 1, 'no such folder'))
  const eml = { contentType: 'message/rfc822', data: Buffer.from(EML) } as const
  await t.rejects(backend.createItemFromMime(alice, { id: noFolder }, eml),
    { code: 'MBG_ERR_FOLDER_NOT_FOUND', statusCode: 404 })
  await t.rejects(backend.createItemFromProperties(alice, { id: noFolder }, { kind: 'task', subject: 'x' }),
    { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
  await t.rejects(backend.createItemFromMime(alice, { wellKnown: 'inbox' },
    { contentType: 'message/rfc822', data: Buffer.from('not MIME at all\u0000\u0001') }),
  { code: 'MBG_ERR_DATA_INVALID', statusCode: 422 })
  await t.rejects(backend.createItemFromMime(alice, { wellKnown: 'contacts' },
    { contentType: 'text/vcard', data: Buffer.from('BEGIN:VCARD\r\nEND:VCARD\r\n') }),
  { code: 'MBG_ERR_NOT_SUPPORTED' })
})
