/**
 * The item content model (src/simulators/store/content.ts): a typed view over the MAPI properties of an item's
 * stream. Seeded items read back into their kind's fields and write back to the same bytes; hand-made content
 * survives a write and a read; properties the view does not model are kept.
 */
import t from 'tap'
import {
  globalObjectIdFromUid, readItemContent, uidFromGlobalObjectId, writeItemStream, NAMED, PSETID, TAG,
  type ItemContent
} from '../../src/simulators/store/content.js'
import { decodeItemStream, PT_INT32, PT_UNICODE_CP1200 } from '../../src/simulators/store/fts.js'
import { DEMO_MAILBOXES, seedDemoTenant, SEED_PNG } from '../../src/simulators/store/seed.js'
import {
  appointmentFromIcs, messageFromMime, messageToMime, MimeConversionError
} from '../../src/simulators/store/mime.js'

t.test('seeded items: every stream reads into its kind and writes back byte for byte', async (t) => {
  const store = seedDemoTenant()
  let n = 0
  for (const item of store.items.values()) {
    if (item.size > 1024 * 1024) continue
    const content = readItemContent(item)
    t.equal(content.itemClass, item.itemClass)
    if (!writeItemStream(content).equals(item.blob())) t.fail(`stream of ${item.id} changed in a round trip`)
    n++
  }
  t.ok(n > 500, `${n} items round-tripped`)
})

t.test('seeded mailboxes: messages, inline image, meetings, appointments, contacts, tasks', async (t) => {
  const store = seedDemoTenant()
  for (const m of Object.values(DEMO_MAILBOXES)) {
    const inbox = store.itemsIn(store.wellKnownFolder(m.guid, 'inbox').id).map((i) => readItemContent(i))
    const withFile = inbox.filter((c) => c.body?.html !== undefined && c.recipients.length > 0 &&
      c.attachments.some((a) => a.isInline !== true && a.data.length > 0))
    t.ok(withFile.length >= 2, `${m.smtp}: messages with text, HTML, recipients and a file attachment`)
    for (const c of withFile) {
      t.ok(c.from?.address.includes('@'), 'a From address')
      t.ok(c.recipients.some((r) => r.type === 'to' && r.address === m.smtp), 'sent to the owner')
      t.ok(c.received instanceof Date && c.sent instanceof Date, 'sent and received times')
      t.equal(c.isDraft, false)
    }
    const inline = inbox.filter((c) => c.attachments.some((a) => a.isInline === true))
    t.equal(inline.length, 1, `${m.smtp}: one inline-image message`)
    const image = inline[0].attachments.find((a) => a.isInline === true)
    t.equal(image?.contentType, 'image/png')
    t.ok(image?.data.equals(SEED_PNG), 'the image bytes')
    t.ok(inline[0].body?.html?.includes(`cid:${image?.contentId ?? 'none'}`), 'the HTML body shows it by content id')

    const drafts = store.itemsIn(store.wellKnownFolder(m.guid, 'drafts').id).map((i) => readItemContent(i))
    t.ok(drafts.length > 0 && drafts.every((c) => c.isDraft === true && c.sent === undefined), 'drafts are unsent')

    const calendar = store.itemsIn(store.wellKnownFolder(m.guid, 'calendar').id).map((i) => readItemContent(i))
    const meetings = calendar.filter((c) => (c.appointment?.attendees.length ?? 0) > 0)
    const alone = calendar.filter((c) => c.appointment?.attendees.length === 0)
    t.ok(meetings.length > 0 && alone.length > 0, `${m.smtp}: meetings and appointments without attendees`)
    for (const c of calendar) {
      const a = c.appointment
      t.ok(a !== undefined && a.end.getTime() > a.start.getTime(), 'start before end')
      t.match(a?.uid, /^040000008200E00074C5B7101A82E008/, 'an Outlook-style UID')
      t.equal(a?.organizer?.address, m.smtp, 'organized by the owner')
    }
    t.ok(calendar.some((c) => c.appointment?.isAllDay === true), 'an all-day event')

    const contacts = store.itemsIn(store.wellKnownFolder(m.guid, 'contacts').id).map((i) => readItemContent(i))
    for (const c of contacts) {
      t.ok(c.contact?.givenName !== undefined && c.contact.surname !== undefined, 'names')
      t.ok((c.contact?.emailAddresses.length ?? 0) >= 1 && (c.contact?.businessPhones.length ?? 0) >= 1)
      t.ok(c.contact?.businessAddress?.city !== undefined, 'an address')
    }
    const tasks = store.itemsIn(store.wellKnownFolder(m.guid, 'tasks').id).map((i) => readItemContent(i))
    t.ok(tasks.length > 0 && tasks.every((c) => c.task?.due !== undefined), `${m.smtp}: tasks with due dates`)
    t.ok(tasks.some((c) => c.task?.status === 'completed' && c.task.completed !== undefined) || tasks.length < 3)
  }
})

t.test('hand-made content: every field survives a write and a read', async (t) => {
  const when = new Date('2026-03-01T10:00:00Z')
  const message: ItemContent = {
    itemClass: 'IPM.Note',
    subject: 'Grüße ✓',
    body: { text: 'Hello\r\n', html: '<p>Hello</p>' },
    importance: 'high',
    sensitivity: 'private',
    categories: ['Red', 'Blue'],
    flag: { status: 'flagged', start: when, due: new Date(when.getTime() + 86_400_000) },
    isRead: false,
    isDraft: true,
    from: { name: 'Ann', address: 'ann@example.com' },
    sender: { name: 'Ann', address: 'ann@example.com' },
    recipients: [
      { type: 'to', name: 'Bo', address: 'bo@example.com' },
      { type: 'cc', address: 'cy@example.com' },
      { type: 'bcc', name: 'Di', address: 'di@example.com' }
    ],
    sent: when,
    received: when,
    created: when,
    internetMessageId: '<1@example.com>',
    attachments: [{ name: 'a.txt', contentType: 'text/plain', data: Buffer.from('abc') }],
    extended: [
      { tag: 0x3ffa, type: PT_UNICODE_CP1200, value: 'last modifier' },
      { name: { guid: PSETID.PublicStrings, name: 'X-Custom' }, type: PT_INT32, value: 42 }
    ]
  }
  const back = readItemContent(writeItemStream(message))
  t.same({ ...back, messageFlags: undefined }, { ...message, messageFlags: undefined })
  t.equal(back.messageFlags, 0x8 | 0x10, 'PidTagMessageFlags: unsent, has attachments, unread')

  const stream = decodeItemStream(writeItemStream(message))
  const flags = stream.props.find((p) => p.id === TAG.MessageFlags)
  t.equal(flags?.type, PT_INT32)
  const keywordsId = [...(stream.names ?? new Map())].find(([, n]) => n.name === 'Keywords')?.[0]
  t.same(stream.props.find((p) => p.id === keywordsId)?.value, ['Red', 'Blue'], 'categories in PidNameKeywords')

  const appointment: ItemContent = {
    itemClass: 'IPM.Appointment',
    subject: 'Planning',
    recipients: [],
    attachments: [],
    extended: [],
    appointment: {
      start: when,
      end: new Date(when.getTime() + 3_600_000),
      isAllDay: false,
      location: 'Room 1',
      busyStatus: 'tentative',
      organizer: { name: 'Ann', address: 'ann@example.com' },
      attendees: [
        { name: 'Bo', address: 'bo@example.com', type: 'required', response: 'accepted' },
        { address: 'room@example.com', type: 'resource', response: 'declined' }
      ],
      uid: 'plain-uid-1234@example.com',
      timeZone: 'W. Europe Standard Time',
      isMeeting: true
    }
  }
  const a = readItemContent(writeItemStream(appointment))
  t.same(a.appointment, appointment.appointment)
  t.same(a.from, appointment.appointment?.organizer, 'the organizer is the From address')

  const contact: ItemContent = {
    itemClass: 'IPM.Contact',
    recipients: [],
    attachments: [],
    extended: [],
    contact: {
      displayName: 'Ann Ames',
      givenName: 'Ann',
      middleName: 'B.',
      surname: 'Ames',
      nickName: 'Annie',
      fileAs: 'Ames, Ann',
      companyName: 'Fabrikam',
      department: 'Sales',
      jobTitle: 'Buyer',
      emailAddresses: [{ name: 'Ann', address: 'ann@fabrikam.example' }, { address: 'ann@home.example' }],
      businessPhones: ['+1 1', '+1 2'],
      homePhones: ['+1 3'],
      mobilePhone: '+1 4',
      businessAddress: { street: '1 Main', city: 'Redmond', state: 'WA', postalCode: '98052', countryOrRegion: 'US' },
      homeAddress: { city: 'Lyon' },
      birthday: '1980-02-29'
    }
  }
  t.same(readItemContent(writeItemStream(contact)).contact, contact.contact)
  const contactStream = decodeItemStream(writeItemStream(contact))
  const named = [...(contactStream.names ?? new Map()).values()]
  t.ok(named.some((n) => n.guid === NAMED.Email1EmailAddress.guid && n.lid === NAMED.Email1EmailAddress.lid),
    'e-mail 1 in PidLidEmail1EmailAddress')

  const task: ItemContent = {
    itemClass: 'IPM.Task',
    subject: 'Do it',
    recipients: [],
    attachments: [],
    extended: [],
    task: { status: 'inProgress', percentComplete: 40, start: when, due: new Date(when.getTime() + 86_400_000) }
  }
  t.same(readItemContent(writeItemStream(task)).task, task.task)
})

t.test('UIDs and global object ids ([MS-OXCICAL] 2.1.3.1.1.20.26)', async (t) => {
  const plain = 'abc-123@example.com'
  const goid = globalObjectIdFromUid(plain)
  t.equal(goid.subarray(0, 16).toString('hex').toUpperCase(), '040000008200E00074C5B7101A82E008')
  t.equal(goid.subarray(40, 48).toString('latin1'), 'vCal-Uid')
  t.equal(uidFromGlobalObjectId(goid), plain)
  const outlook = '040000008200E00074C5B7101A82E00800000000D0F1F2F3F4F5D601' +
    '0000000000000000100000003A1B2C3D4E5F60718293A4B5C6D7E8F9'
  t.equal(uidFromGlobalObjectId(globalObjectIdFromUid(outlook)), outlook, 'a hex GOID UID is the id itself')
  t.equal(globalObjectIdFromUid(outlook).length, 56)
})

t.test('the simulators\' MIME conversions: times read in the zone named, what cannot be read refused', async (t) => {
  const ics = (...lines: string[]): Buffer => Buffer.from(['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', 'UID:u',
    ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'))
  const berlin = appointmentFromIcs(ics('DTSTART;TZID=Europe/Berlin:20260105T100000',
    'DTEND;TZID=W. Europe Standard Time:20260105T110000'))
  t.equal(berlin.appointment?.start.toISOString(), '2026-01-05T09:00:00.000Z', 'an IANA TZID with no VTIMEZONE')
  t.equal(berlin.appointment?.end.toISOString(), '2026-01-05T10:00:00.000Z', 'a Windows TZID with no VTIMEZONE')
  t.throws(() => appointmentFromIcs(ics('DTSTART;TZID=Mars/Olympus:20260105T100000')), MimeConversionError)
  t.throws(() => appointmentFromIcs(ics('DTSTART:00010101T000000Z')), MimeConversionError, 'year 1 is not 1901')
  t.throws(() => appointmentFromIcs(ics('DTSTART:notadate')), MimeConversionError)
  let deep = 'From: a@b.example\r\nSubject: d\r\nMIME-Version: 1.0\r\n'
  for (let i = 0; i < 1000; i++) deep += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`
  deep += 'Content-Type: text/plain\r\n\r\nx\r\n'
  for (let i = 999; i >= 0; i--) deep += `--b${i}--\r\n`
  await t.rejects(messageFromMime(Buffer.from(deep)), MimeConversionError, 'nesting the converter stops at')
  // A message written as MIME and read again keeps its bodies exactly, however often.
  const body = { text: 'first\r\nsecond\r\n\r\n', html: '<p>one</p>\r\n<p>two</p>' }
  let content: Awaited<ReturnType<typeof messageFromMime>> = {
    ...await messageFromMime(Buffer.from('From: a@b.example\r\nSubject: s\r\n\r\nx')), body
  }
  for (let round = 1; round <= 3; round++) {
    content = { ...content, ...await messageFromMime(await messageToMime({ ...content, itemClass: 'IPM.Note' })) }
    t.same(content.body, body, `round ${round}: the same bodies`)
  }
})
