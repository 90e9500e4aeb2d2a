/**
 * The EWS adapter's MIME and property-set operations against a loopback stand-in (recorder.ts) whose answers are
 * written here by hand after Microsoft's examples (ews.md §6.11, §6.12; the GetItem, GetAttachment and CreateItem
 * operation pages) and validated against Microsoft's schema, as every request the adapter sends is.
 */
import t from 'tap'
import pino from 'pino'
import PostalMime from 'postal-mime'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import { Policy } from '../../../src/backends/policy.js'
import type { ItemProperties, MailboxBackend, MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { ewsConfig } from '../../helpers/backends.js'
import { validateEws } from '../../helpers/ews-schema.js'
import { M, T, startRecorder } from './recorder.js'

const logger = pino({ level: 'silent' })
const alice: MailboxRef = {
  id: 'alice', address: 'alice@contoso.example', type: 'ews', kind: 'primary', backend: 'ews1'
}

const ews = (name: string): string => Buffer.from(`formats-${name}-0123456789`).toString('base64')
const ID = {
  message: ews('message'),
  calendar: ews('calendar'),
  contact: ews('contact'),
  task: ews('task'),
  post: ews('post'),
  missing: ews('missing'),
  notBase64: ews('not-base64'),
  big: ews('big'),
  folder: ews('folder'),
  missingFolder: ews('missing-folder'),
  created: ews('created')
}

const CRLF = '\r\n'
const EML = [
  'From: Alice <alice@contoso.example>',
  'To: Bob <bob@contoso.example>',
  'Subject: Quarterly report',
  'Date: Mon, 02 Mar 2026 09:14:00 +0000',
  'Message-ID: <q1@contoso.example>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello Bob',
  '--b1',
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Disposition: attachment; filename="report.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--b1--',
  ''
].join(CRLF)
const ICS = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:Microsoft Exchange Server 2010', 'BEGIN:VEVENT',
  'UID:040000008200E00074C5B7101A82E008', 'SUMMARY:Planning', 'DTSTART:20260310T090000Z',
  'DTEND:20260310T100000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join(CRLF)
const VCF = ['BEGIN:VCARD', 'VERSION:3.0', 'N:Doe;Jane;;;', 'FN:Jane Doe', 'EMAIL;TYPE=INTERNET:jane@fabrikam.example',
  'END:VCARD', ''].join(CRLF)
// Large enough that the reader hands MimeContent over as bytes (more than a kilobyte of base64), not as text.
const BIG = EML + 'y'.repeat(3 * 1024 * 1024)

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

function response (op: string, messages: string[]): string {
  return `<m:${op}Response xmlns:m="${M}" xmlns:t="${T}"><m:ResponseMessages>${messages.join('')}` +
    `</m:ResponseMessages></m:${op}Response>`
}
const success = (op: string, payload: string): string =>
  `<m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${payload}` +
  `</m:${op}ResponseMessage>`
const failure = (op: string, code: string, payload: string): string =>
  `<m:${op}ResponseMessage ResponseClass="Error"><m:MessageText>refused</m:MessageText>` +
  `<m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${payload}` +
  `</m:${op}ResponseMessage>`

const itemId = (id: string): string => `<t:ItemId Id="${id}" ChangeKey="CQAAABYAAAA${id.slice(0, 4)}"/>`

/** MIME answers (GetItem IdOnly + IncludeMimeContent + ItemClass + Subject), by item id. */
const MIME_ITEMS: Record<string, string> = {
  [ID.message]: `<t:Message><t:MimeContent CharacterSet="UTF-8">${b64(EML)}</t:MimeContent>${itemId(ID.message)}` +
    '<t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Quarterly report</t:Subject></t:Message>',
  [ID.calendar]: `<t:CalendarItem><t:MimeContent CharacterSet="UTF-8">${b64(ICS)}</t:MimeContent>` +
    `${itemId(ID.calendar)}<t:ItemClass>IPM.Appointment</t:ItemClass><t:Subject>Planning</t:Subject></t:CalendarItem>`,
  [ID.contact]: `<t:Contact><t:MimeContent CharacterSet="UTF-8">${b64(VCF)}</t:MimeContent>${itemId(ID.contact)}` +
    '<t:ItemClass>IPM.Contact</t:ItemClass><t:Subject>Jane Doe</t:Subject></t:Contact>',
  [ID.task]: `<t:Task><t:MimeContent CharacterSet="UTF-8">${b64(EML)}</t:MimeContent>${itemId(ID.task)}` +
    '<t:ItemClass>IPM.Task</t:ItemClass><t:Subject>Call back</t:Subject></t:Task>',
  [ID.post]: `<t:PostItem><t:MimeContent CharacterSet="UTF-8">${b64(EML)}</t:MimeContent>${itemId(ID.post)}` +
    '<t:ItemClass>IPM.Post</t:ItemClass></t:PostItem>',
  [ID.notBase64]: `<t:Message><t:MimeContent CharacterSet="UTF-8">not*base64</t:MimeContent>${itemId(ID.notBase64)}` +
    '</t:Message>',
  [ID.big]: `<t:Message><t:MimeContent CharacterSet="UTF-8">${b64(BIG)}</t:MimeContent>${itemId(ID.big)}` +
    '<t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Big</t:Subject></t:Message>'
}

const mailbox = (name: string, address: string): string =>
  `<t:Mailbox><t:Name>${name}</t:Name><t:EmailAddress>${address}</t:EmailAddress>` +
  '<t:RoutingType>SMTP</t:RoutingType></t:Mailbox>'

/** Property-set answers (GetItem AllProperties), children in schema order (types.xsd ItemType, then the kind's). */
const PROPERTY_ITEMS: Record<string, string> = {
  [ID.message]: '<t:Message>' + itemId(ID.message) +
    '<t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Quarterly report &amp; plan</t:Subject>' +
    '<t:Sensitivity>Private</t:Sensitivity>' +
    '<t:Body BodyType="HTML">&lt;html&gt;&lt;body&gt;&lt;p&gt;Hello Bob&lt;/p&gt;&lt;/body&gt;&lt;/html&gt;</t:Body>' +
    '<t:Attachments>' +
    '<t:FileAttachment><t:AttachmentId Id="ATT-1"/><t:Name>report.pdf</t:Name>' +
    '<t:ContentType>application/pdf</t:ContentType><t:ContentId>r1@contoso.example</t:ContentId><t:Size>9</t:Size>' +
    '<t:LastModifiedTime>2026-03-02T09:14:00</t:LastModifiedTime><t:IsInline>false</t:IsInline>' +
    '<t:IsContactPhoto>false</t:IsContactPhoto></t:FileAttachment>' +
    '<t:ItemAttachment><t:AttachmentId Id="ATT-2"/><t:Name>Forwarded</t:Name><t:Size>300</t:Size>' +
    '<t:IsInline>false</t:IsInline></t:ItemAttachment>' +
    '</t:Attachments>' +
    '<t:DateTimeReceived>2026-03-02T09:15:00Z</t:DateTimeReceived><t:Size>2048</t:Size>' +
    '<t:Categories><t:String>Red</t:String><t:String>Finance</t:String></t:Categories>' +
    '<t:Importance>High</t:Importance><t:IsSubmitted>false</t:IsSubmitted><t:IsDraft>false</t:IsDraft>' +
    '<t:DateTimeSent>2026-03-02T09:14:00Z</t:DateTimeSent><t:DateTimeCreated>2026-03-02T09:15:01Z</t:DateTimeCreated>' +
    '<t:HasAttachments>true</t:HasAttachments>' +
    '<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0xe07" PropertyType="Integer"/><t:Value>17</t:Value>' +
    '</t:ExtendedProperty>' +
    '<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="x-crm-id" ' +
    'PropertyType="String"/><t:Value>C-42</t:Value></t:ExtendedProperty>' +
    '<t:LastModifiedTime>2026-03-02T10:00:00Z</t:LastModifiedTime>' +
    '<t:Flag><t:FlagStatus>Flagged</t:FlagStatus><t:StartDate>2026-03-03T00:00:00Z</t:StartDate>' +
    '<t:DueDate>2026-03-04T00:00:00Z</t:DueDate></t:Flag>' +
    '<t:TextBody BodyType="Text">Hello Bob</t:TextBody>' +
    `<t:Sender>${mailbox('Alice', 'alice@contoso.example')}</t:Sender>` +
    `<t:ToRecipients>${mailbox('Bob', 'bob@contoso.example')}<t:Mailbox><t:Name>Only a name</t:Name></t:Mailbox>` +
    '</t:ToRecipients>' +
    `<t:CcRecipients>${mailbox('Carol', 'carol@contoso.example')}</t:CcRecipients>` +
    `<t:From>${mailbox('Alice', 'alice@contoso.example')}</t:From>` +
    '<t:InternetMessageId>&lt;q1@contoso.example&gt;</t:InternetMessageId><t:IsRead>true</t:IsRead>' +
    `<t:ReplyTo>${mailbox('Desk', 'desk@contoso.example')}</t:ReplyTo>` +
    '</t:Message>',
  [ID.calendar]: '<t:CalendarItem>' + itemId(ID.calendar) +
    '<t:ItemClass>IPM.Appointment</t:ItemClass><t:Subject>Planning</t:Subject>' +
    '<t:Body BodyType="Text">Agenda</t:Body><t:Importance>Normal</t:Importance>' +
    '<t:DateTimeCreated>2026-03-01T08:00:00Z</t:DateTimeCreated>' +
    '<t:UID>040000008200E00074C5B7101A82E008</t:UID>' +
    '<t:Start>2026-03-10T09:00:00Z</t:Start><t:End>2026-03-10T10:00:00Z</t:End>' +
    '<t:IsAllDayEvent>false</t:IsAllDayEvent><t:Location>Room 4</t:Location>' +
    `<t:Organizer>${mailbox('Alice', 'alice@contoso.example')}</t:Organizer>` +
    `<t:RequiredAttendees><t:Attendee>${mailbox('Bob', 'bob@contoso.example')}` +
    '<t:ResponseType>Accept</t:ResponseType></t:Attendee></t:RequiredAttendees>' +
    `<t:Resources><t:Attendee>${mailbox('Room 4', 'room4@contoso.example')}</t:Attendee></t:Resources>` +
    '<t:StartTimeZone Id="W. Europe Standard Time" Name="(UTC+01:00) Amsterdam, Berlin"/>' +
    '</t:CalendarItem>',
  [ID.contact]: '<t:Contact>' + itemId(ID.contact) +
    '<t:ItemClass>IPM.Contact</t:ItemClass><t:Subject>Jane Doe</t:Subject>' +
    '<t:DisplayName>Jane Doe</t:DisplayName><t:GivenName>Jane</t:GivenName><t:MiddleName>Q</t:MiddleName>' +
    '<t:Nickname>JD</t:Nickname><t:CompanyName>Fabrikam</t:CompanyName>' +
    '<t:EmailAddresses><t:Entry Key="EmailAddress1" Name="Jane (work)">jane@fabrikam.example</t:Entry>' +
    '<t:Entry Key="EmailAddress2">jane@home.example</t:Entry></t:EmailAddresses>' +
    '<t:PhysicalAddresses><t:Entry Key="Business"><t:Street>1 Main St</t:Street><t:City>Springfield</t:City>' +
    '<t:CountryOrRegion>US</t:CountryOrRegion><t:PostalCode>12345</t:PostalCode></t:Entry></t:PhysicalAddresses>' +
    '<t:PhoneNumbers><t:Entry Key="BusinessPhone">+1 555 0100</t:Entry><t:Entry Key="HomePhone">+1 555 0101</t:Entry>' +
    '<t:Entry Key="MobilePhone">+1 555 0102</t:Entry><t:Entry Key="BusinessFax">+1 555 0103</t:Entry>' +
    '</t:PhoneNumbers>' +
    '<t:Birthday>1980-05-16T23:00:00Z</t:Birthday><t:Department>Sales</t:Department>' +
    '<t:JobTitle>Manager</t:JobTitle><t:Surname>Doe</t:Surname>' +
    '</t:Contact>',
  [ID.task]: '<t:Task>' + itemId(ID.task) +
    '<t:ItemClass>IPM.Task</t:ItemClass><t:Subject>Call back</t:Subject><t:Importance>Low</t:Importance>' +
    '<t:DueDate>2026-03-20T00:00:00Z</t:DueDate><t:PercentComplete>50</t:PercentComplete>' +
    '<t:StartDate>2026-03-15T00:00:00Z</t:StartDate><t:Status>InProgress</t:Status>' +
    '</t:Task>',
  [ID.post]: `<t:PostItem>${itemId(ID.post)}<t:ItemClass>IPM.Post</t:ItemClass></t:PostItem>`
}

const PDF = Buffer.from('%PDF-1.4\n')
const ATTACHMENTS: Record<string, string> = {
  'ATT-1': '<t:FileAttachment><t:AttachmentId Id="ATT-1"/><t:Name>report.pdf</t:Name>' +
    `<t:ContentType>application/pdf</t:ContentType><t:Content>${PDF.toString('base64')}</t:Content></t:FileAttachment>`
}

const answered: string[] = []
const keep = (xml: string): string => { answered.push(xml); return xml }

function getItem (body: string): string {
  const id = /<t:ItemId Id="([^"]+)"/.exec(body)?.[1] ?? ''
  const items = body.includes('<t:IncludeMimeContent>true</t:IncludeMimeContent>') ? MIME_ITEMS : PROPERTY_ITEMS
  const item = items[id]
  return keep(response('GetItem', [item !== undefined
    ? success('GetItem', `<m:Items>${item}</m:Items>`)
    : failure('GetItem', id === ID.missing ? 'ErrorItemNotFound' : 'ErrorInvalidIdMalformed', '<m:Items/>')]))
}

function getAttachment (body: string): string {
  const ids = [...body.matchAll(/<t:AttachmentId Id="([^"]+)"/g)].map((m) => m[1])
  return keep(response('GetAttachment', ids.map((id) => ATTACHMENTS[id] !== undefined
    ? success('GetAttachment', `<m:Attachments>${ATTACHMENTS[id]}</m:Attachments>`)
    : failure('GetAttachment', 'ErrorInvalidIdMalformed', '<m:Attachments/>'))))
}

function createItem (body: string): string {
  const element = /<m:Items><t:(\w+)/.exec(body)?.[1] ?? 'Message'
  const mime = /<t:MimeContent>([^<]*)<\/t:MimeContent>/.exec(body)?.[1]
  const content = mime !== undefined ? Buffer.from(mime, 'base64').toString('utf8') : ''
  if (body.includes(`<t:FolderId Id="${ID.missingFolder}"/>`)) {
    return keep(response('CreateItem', [failure('CreateItem', 'ErrorFolderNotFound', '<m:Items/>')]))
  }
  if (content.includes('X-Test: invalid')) {
    return keep(response('CreateItem', [failure('CreateItem', 'ErrorMimeContentInvalid', '<m:Items/>')]))
  }
  if (content.includes('X-Test: no-id')) {
    return keep(response('CreateItem', [success('CreateItem', `<m:Items><t:${element}/></m:Items>`)]))
  }
  return keep(response('CreateItem', [success('CreateItem', `<m:Items><t:${element}>${itemId(ID.created)}` +
    `</t:${element}></m:Items>`)]))
}

const rec = await startRecorder({ GetItem: getItem, GetAttachment: getAttachment, CreateItem: createItem })
const backend: MailboxBackend = createEwsBackend(
  ewsConfig('ews1', { url: rec.url, auth: { kind: 'basic', username: 'svc', password: 'pw' } }),
  { policy: new Policy({ baseDelayMs: 1 }), logger }
)
t.teardown(async () => { await backend.close(); await rec.close() })

/** The body elements (what is inside soap:Body) of the requests of `op`, in order. */
const bodiesOf = (op: string): string[] => rec.requests.filter((r) => r.op === op)
  .map((r) => /<soap:Body>(.*)<\/soap:Body>/s.exec(r.body)?.[1] ?? '')

t.test('capabilities: what EWS documents per format, kind and direction', async (t) => {
  const f = backend.capabilities.formats
  t.same([f.mime.export.message, f.mime.export.appointment, f.mime.export.contact].map((c) => c.supported),
    [true, true, true])
  t.equal(f.mime.export.task.supported, false)
  t.match(f.mime.export.task, { reason: /tasks/ })
  t.same([f.mime.import.message.supported, f.mime.import.appointment.supported], [true, true])
  t.match(f.mime.import.contact, { supported: false, reason: /vCard/ })
  t.equal(f.mime.import.task.supported, false)
  for (const dir of ['export', 'import'] as const) {
    for (const kind of ['message', 'appointment', 'contact', 'task'] as const) {
      t.equal(f.json[dir][kind].supported, true, `json ${dir} ${kind}`)
    }
  }
})

t.test('MIME export: the stream as the server gave it, labelled by kind', async (t) => {
  const before = rec.requests.length
  const message = await backend.getItemMime(alice, toPublicId(ID.message))
  t.same({ ...message, data: undefined }, {
    itemId: toPublicId(ID.message),
    kind: 'message',
    contentType: 'message/rfc822',
    subject: 'Quarterly report',
    data: undefined
  })
  t.ok(Buffer.isBuffer(message.data))
  t.equal(message.data.toString('utf8'), EML, 'the .eml bytes, decoded once, unchanged')
  const parsed = await PostalMime.parse(message.data)
  t.equal(parsed.subject, 'Quarterly report')
  t.equal(parsed.from?.address, 'alice@contoso.example')
  t.equal(parsed.attachments[0]?.filename, 'report.pdf')

  const calendar = await backend.getItemMime(alice, toPublicId(ID.calendar))
  t.same([calendar.kind, calendar.contentType, calendar.data.toString('utf8')], ['appointment', 'text/calendar', ICS])
  const contact = await backend.getItemMime(alice, toPublicId(ID.contact))
  t.same([contact.kind, contact.contentType, contact.data.toString('utf8')], ['contact', 'text/vcard', VCF])

  const big = await backend.getItemMime(alice, toPublicId(ID.big))
  t.equal(big.data.length, Buffer.byteLength(BIG))
  t.ok(big.data.equals(Buffer.from(BIG, 'utf8')), 'a large stream decodes from the answer bytes unchanged')

  const request = rec.requests[before].body
  t.match(request, '<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>' +
    '<t:AdditionalProperties><t:FieldURI FieldURI="item:ItemClass"/><t:FieldURI FieldURI="item:Subject"/>' +
    '</t:AdditionalProperties></m:ItemShape>')
})

t.test('MIME and attachment answers are read under the item data cap, not the one for other answers', async (t) => {
  const capped = (answerCaps: Record<string, number>): MailboxBackend => createEwsBackend(
    ewsConfig('ews2', { url: rec.url, auth: { kind: 'basic', username: 'svc', password: 'pw' }, answerCaps }),
    { policy: new Policy({ baseDelayMs: 1 }), logger })
  const small = capped({ otherBytes: 64 * 1024, dataBytes: 16 * 1024 * 1024 })
  const tight = capped({ otherBytes: 16 * 1024 * 1024, dataBytes: 64 * 1024 })
  t.teardown(async () => { await small.close(); await tight.close() })
  t.equal((await small.getItemMime(alice, toPublicId(ID.big))).data.length, Buffer.byteLength(BIG))
  await t.rejects(tight.getItemMime(alice, toPublicId(ID.big)),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', message: /answerCaps\.dataBytes/ })
})

t.test('MIME export: what has no MIME, and errors', async (t) => {
  await t.rejects(backend.getItemMime(alice, toPublicId(ID.task)), { code: 'MBG_ERR_NOT_SUPPORTED', message: /tasks/ })
  await t.rejects(backend.getItemMime(alice, toPublicId(ID.post)),
    { code: 'MBG_ERR_NOT_SUPPORTED', message: /t:PostItem/ })
  await t.rejects(backend.getItemMime(alice, toPublicId(ID.missing)),
    { code: 'MBG_ERR_ITEM_NOT_FOUND', statusCode: 404 })
  await t.rejects(backend.getItemMime(alice, toPublicId(ID.notBase64)),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', message: /not base64/ })
  const sent = rec.requests.length
  await t.rejects(backend.getItemMime(alice, 'not an id!'), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 })
  t.equal(rec.requests.length, sent, 'a malformed id is not sent')
})

t.test('property-set export: each kind mapped onto ItemProperties', async (t) => {
  const message = await backend.getItemProperties(alice, toPublicId(ID.message), {
    attachmentContent: true,
    extendedProperties: [
      { propertyTag: '0x0E07', propertyType: 'Integer' },
      { propertySetId: '00020329-0000-0000-C000-000000000046', propertyName: 'x-crm-id', propertyType: 'String' },
      { propertyTag: '0x1000', propertyType: 'String' }
    ]
  })
  t.equal(message.itemId, toPublicId(ID.message))
  t.equal(message.changeKey, `CQAAABYAAAA${ID.message.slice(0, 4)}`)
  t.same(message.item, {
    kind: 'message',
    itemClass: 'IPM.Note',
    subject: 'Quarterly report & plan',
    sensitivity: 'private',
    body: { html: '<html><body><p>Hello Bob</p></body></html>', text: 'Hello Bob' },
    categories: ['Red', 'Finance'],
    importance: 'high',
    createdDateTime: '2026-03-02T09:15:01Z',
    lastModifiedDateTime: '2026-03-02T10:00:00Z',
    flag: { flagStatus: 'flagged', startDateTime: '2026-03-03T00:00:00Z', dueDateTime: '2026-03-04T00:00:00Z' },
    attachments: [
      {
        name: 'report.pdf',
        contentType: 'application/pdf',
        size: 9,
        isInline: false,
        contentId: 'r1@contoso.example',
        kind: 'file',
        contentBytes: PDF.toString('base64')
      },
      { name: 'Forwarded', size: 300, isInline: false, kind: 'item' }
    ],
    extendedProperties: [
      { propertyTag: '0x0E07', propertyType: 'Integer', value: '17' },
      {
        propertySetId: '00020329-0000-0000-C000-000000000046',
        propertyName: 'x-crm-id',
        propertyType: 'String',
        value: 'C-42'
      },
      { propertyTag: '0x1000', propertyType: 'String' }
    ],
    from: { name: 'Alice', address: 'alice@contoso.example' },
    sender: { name: 'Alice', address: 'alice@contoso.example' },
    toRecipients: [{ name: 'Bob', address: 'bob@contoso.example' }],
    ccRecipients: [{ name: 'Carol', address: 'carol@contoso.example' }],
    replyTo: [{ name: 'Desk', address: 'desk@contoso.example' }],
    sentDateTime: '2026-03-02T09:14:00Z',
    receivedDateTime: '2026-03-02T09:15:00Z',
    internetMessageId: '<q1@contoso.example>',
    isRead: true,
    isDraft: false
  })
  const [get, attachments] = [bodiesOf('GetItem').at(-1) ?? '', bodiesOf('GetAttachment').at(-1) ?? '']
  t.match(get, '<t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Best</t:BodyType>')
  t.match(get, '<t:FieldURI FieldURI="item:TextBody"/><t:FieldURI FieldURI="item:Flag"/>')
  t.match(get, '<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/>')
  t.match(get, '<t:ExtendedFieldURI PropertySetId="00020329-0000-0000-C000-000000000046" PropertyName="x-crm-id" ' +
    'PropertyType="String"/>')
  t.equal(attachments, '<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="ATT-1"/></m:AttachmentIds>' +
    '</m:GetAttachment>', 'file attachments only')

  const calendar = await backend.getItemProperties(alice, toPublicId(ID.calendar), {})
  t.same(calendar.item, {
    kind: 'appointment',
    itemClass: 'IPM.Appointment',
    subject: 'Planning',
    body: { text: 'Agenda' },
    importance: 'normal',
    createdDateTime: '2026-03-01T08:00:00Z',
    start: '2026-03-10T09:00:00Z',
    end: '2026-03-10T10:00:00Z',
    timeZone: 'W. Europe Standard Time',
    isAllDay: false,
    location: 'Room 4',
    organizer: { name: 'Alice', address: 'alice@contoso.example' },
    attendees: [
      { name: 'Bob', address: 'bob@contoso.example', type: 'required', response: 'accepted' },
      { name: 'Room 4', address: 'room4@contoso.example', type: 'resource' }
    ],
    uid: '040000008200E00074C5B7101A82E008'
  })

  const contact = await backend.getItemProperties(alice, toPublicId(ID.contact), { attachmentContent: true })
  t.same(contact.item, {
    kind: 'contact',
    itemClass: 'IPM.Contact',
    subject: 'Jane Doe',
    displayName: 'Jane Doe',
    givenName: 'Jane',
    middleName: 'Q',
    surname: 'Doe',
    nickName: 'JD',
    companyName: 'Fabrikam',
    department: 'Sales',
    jobTitle: 'Manager',
    emailAddresses: [{ name: 'Jane (work)', address: 'jane@fabrikam.example' }, { address: 'jane@home.example' }],
    businessPhones: ['+1 555 0100'],
    homePhones: ['+1 555 0101'],
    mobilePhone: '+1 555 0102',
    businessAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', countryOrRegion: 'US' },
    birthday: '1980-05-17'
  }, 'a birthday stored at midnight an hour east of UTC is that date')

  const task = await backend.getItemProperties(alice, toPublicId(ID.task), {})
  t.same(task.item, {
    kind: 'task',
    itemClass: 'IPM.Task',
    subject: 'Call back',
    importance: 'low',
    status: 'inProgress',
    percentComplete: 50,
    startDateTime: '2026-03-15T00:00:00Z',
    dueDateTime: '2026-03-20T00:00:00Z'
  })
})

t.test('property-set export: errors', async (t) => {
  await t.rejects(backend.getItemProperties(alice, toPublicId(ID.missing), {}), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
  await t.rejects(backend.getItemProperties(alice, toPublicId(ID.post), {}),
    { code: 'MBG_ERR_NOT_SUPPORTED', message: /t:PostItem/ })
  const sent = rec.requests.length
  await t.rejects(backend.getItemProperties(alice, '~~~', {}), { code: 'MBG_ERR_ID_MALFORMED' })
  await t.rejects(backend.getItemProperties(alice, toPublicId(ID.message), {
    extendedProperties: [{ propertyTag: '0x0E07', propertyName: 'x', propertyType: 'Integer' }]
  }), { code: 'MBG_ERR_BAD_REQUEST', message: /propertyTag alone/ })
  t.equal(rec.requests.length, sent, 'nothing is sent for a malformed id or a bad property')
})

t.test('MIME import: a message not a draft, a calendar item without invitations', async (t) => {
  const created = await backend.createItemFromMime(alice, { id: toPublicId(ID.folder) },
    { contentType: 'message/rfc822', data: Buffer.from(EML) })
  t.same(created, { itemId: toPublicId(ID.created), changeKey: `CQAAABYAAAA${ID.created.slice(0, 4)}` })
  t.equal(bodiesOf('CreateItem').at(-1), '<m:CreateItem MessageDisposition="SaveOnly">' +
    `<m:SavedItemFolderId><t:FolderId Id="${ID.folder}"/></m:SavedItemFolderId><m:Items><t:Message>` +
    `<t:MimeContent>${b64(EML)}</t:MimeContent><t:ExtendedProperty>` +
    '<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/><t:Value>1</t:Value></t:ExtendedProperty>' +
    '</t:Message></m:Items></m:CreateItem>')
  await backend.createItemFromMime(alice, { wellKnown: 'calendar' },
    { contentType: 'text/calendar', data: Buffer.from(ICS) })
  t.equal(bodiesOf('CreateItem').at(-1), '<m:CreateItem MessageDisposition="SaveOnly" ' +
    'SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/>' +
    `</m:SavedItemFolderId><m:Items><t:CalendarItem><t:MimeContent>${b64(ICS)}</t:MimeContent></t:CalendarItem>` +
    '</m:Items></m:CreateItem>')
  const large = Buffer.from(BIG)
  await backend.createItemFromMime(alice, { wellKnown: 'inbox' }, { contentType: 'message/rfc822', data: large })
  const sentBig = /<t:MimeContent>([^<]*)<\/t:MimeContent>/.exec(bodiesOf('CreateItem').at(-1) ?? '')?.[1] ?? ''
  t.ok(Buffer.from(sentBig, 'base64').equals(large), 'a large .eml goes as its base64, unchanged')
})

t.test('MIME import: errors blame the right party', async (t) => {
  const eml = (header: string): Buffer => Buffer.from(`${header}${CRLF}${EML}`)
  await t.rejects(backend.createItemFromMime(alice, { id: toPublicId(ID.folder) },
    { contentType: 'message/rfc822', data: eml('X-Test: invalid') }), { code: 'MBG_ERR_DATA_INVALID', statusCode: 422 })
  await t.rejects(backend.createItemFromMime(alice, { id: toPublicId(ID.missingFolder) },
    { contentType: 'message/rfc822', data: Buffer.from(EML) }), { code: 'MBG_ERR_FOLDER_NOT_FOUND', statusCode: 404 })
  await t.rejects(backend.createItemFromMime(alice, { id: toPublicId(ID.folder) },
    { contentType: 'message/rfc822', data: eml('X-Test: no-id') }), { code: 'MBG_ERR_OUTCOME_UNKNOWN' })
  const sent = rec.requests.length
  await t.rejects(backend.createItemFromMime(alice, { wellKnown: 'contacts' },
    { contentType: 'text/vcard', data: Buffer.from(VCF) }), { code: 'MBG_ERR_NOT_SUPPORTED', message: /vCard/ })
  await t.rejects(backend.createItemFromMime(alice, { id: 'bad id' },
    { contentType: 'message/rfc822', data: Buffer.from(EML) }), { code: 'MBG_ERR_ID_MALFORMED' })
  await t.rejects(backend.createItemFromMime(alice, { wellKnown: 'inbox' },
    { contentType: 'message/rfc822', data: Buffer.alloc(0) }), { code: 'MBG_ERR_BAD_REQUEST' })
  t.equal(rec.requests.length, sent, 'what is refused up front is not sent')
})

const MESSAGE: ItemProperties = {
  kind: 'message',
  itemClass: 'IPM.Note',
  subject: 'Hello <there> & co',
  sensitivity: 'personal',
  body: { html: '<p>Hi</p>', text: 'Hi' },
  categories: ['Blue'],
  importance: 'low',
  createdDateTime: '2020-01-01T00:00:00Z',
  flag: { flagStatus: 'complete', completedDateTime: '2026-01-02T00:00:00Z' },
  attachments: [{ name: 'a.txt', contentType: 'text/plain', isInline: false, contentBytes: 'aGk=' }],
  extendedProperties: [
    { propertySetId: '00020329-0000-0000-C000-000000000046', propertyName: 'x', propertyType: 'String', value: 'y' }
  ],
  from: { name: 'Alice', address: 'alice@contoso.example' },
  sender: { address: 'alice@contoso.example' },
  toRecipients: [{ name: 'Bob', address: 'bob@contoso.example' }],
  ccRecipients: [{ address: 'carol@contoso.example' }],
  bccRecipients: [{ address: 'dave@contoso.example' }],
  replyTo: [{ address: 'desk@contoso.example' }],
  sentDateTime: '2026-01-01T10:00:00Z',
  receivedDateTime: '2026-01-01T10:00:05Z',
  internetMessageId: '<m1@contoso.example>',
  isRead: false,
  isDraft: true
}

t.test('property-set import: the CreateItem of each kind, in schema order', async (t) => {
  await backend.createItemFromProperties(alice, { wellKnown: 'inbox' }, MESSAGE)
  const message = bodiesOf('CreateItem').at(-1) ?? ''
  t.match(message, '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId ' +
    'Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message><t:ItemClass>IPM.Note</t:ItemClass>' +
    '<t:Subject>Hello &lt;there&gt; &amp; co</t:Subject><t:Sensitivity>Personal</t:Sensitivity>' +
    '<t:Body BodyType="HTML">&lt;p&gt;Hi&lt;/p&gt;</t:Body><t:Attachments><t:FileAttachment><t:Name>a.txt</t:Name>' +
    '<t:ContentType>text/plain</t:ContentType><t:IsInline>false</t:IsInline><t:Content>aGk=</t:Content>' +
    '</t:FileAttachment></t:Attachments><t:Categories><t:String>Blue</t:String></t:Categories>' +
    '<t:Importance>Low</t:Importance>')
  t.match(message, '<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/><t:Value>0</t:Value>',
    'unread, not a draft')
  t.match(message, '<t:ExtendedFieldURI PropertyTag="0x0039" PropertyType="SystemTime"/>' +
    '<t:Value>2026-01-01T10:00:00Z</t:Value>')
  t.match(message, '<t:ExtendedFieldURI PropertyTag="0x0E06" PropertyType="SystemTime"/>')
  t.match(message, '<t:ExtendedFieldURI PropertyTag="0x1035" PropertyType="String"/>' +
    '<t:Value>&lt;m1@contoso.example&gt;</t:Value>')
  t.match(message, '<t:Flag><t:FlagStatus>Complete</t:FlagStatus><t:CompleteDate>2026-01-02T00:00:00Z' +
    '</t:CompleteDate></t:Flag><t:Sender><t:Mailbox><t:EmailAddress>alice@contoso.example</t:EmailAddress>' +
    '</t:Mailbox></t:Sender><t:ToRecipients>')
  t.notMatch(message, 'DateTimeCreated', 'what the server sets is not sent')
  t.notMatch(message, 'IsDraft')

  const created = await backend.createItemFromProperties(alice, { wellKnown: 'calendar' }, {
    kind: 'appointment',
    subject: 'Planning',
    start: '2026-03-10T09:00:00Z',
    end: '2026-03-10T10:00:00Z',
    timeZone: 'Europe/Berlin',
    isAllDay: false,
    location: 'Room 4',
    uid: 'new-uid-1',
    organizer: { address: 'alice@contoso.example' }
  })
  t.equal(created.itemId, toPublicId(ID.created))
  t.equal(bodiesOf('CreateItem').at(-1), '<m:CreateItem MessageDisposition="SaveOnly" ' +
    'SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/>' +
    '</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Planning</t:Subject><t:UID>new-uid-1</t:UID>' +
    '<t:Start>2026-03-10T09:00:00Z</t:Start><t:End>2026-03-10T10:00:00Z</t:End>' +
    '<t:IsAllDayEvent>false</t:IsAllDayEvent><t:Location>Room 4</t:Location>' +
    '<t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/>' +
    '</t:CalendarItem></m:Items></m:CreateItem>', 'an IANA zone goes as its Windows id')

  await backend.createItemFromProperties(alice, { wellKnown: 'contacts' }, {
    kind: 'contact',
    displayName: 'Jane Doe',
    givenName: 'Jane',
    surname: 'Doe',
    emailAddresses: [{ name: 'Jane', address: 'jane@fabrikam.example' }, { address: 'j@home.example' }],
    businessPhones: ['1', '2'],
    homePhones: ['3'],
    mobilePhone: '4',
    homeAddress: { city: 'Springfield', countryOrRegion: 'US' },
    birthday: '1980-05-17',
    jobTitle: 'Manager'
  })
  t.match(bodiesOf('CreateItem').at(-1), '<t:Contact><t:DisplayName>Jane Doe</t:DisplayName>' +
    '<t:GivenName>Jane</t:GivenName><t:EmailAddresses><t:Entry Key="EmailAddress1" Name="Jane">' +
    'jane@fabrikam.example</t:Entry><t:Entry Key="EmailAddress2">j@home.example</t:Entry></t:EmailAddresses>' +
    '<t:PhysicalAddresses><t:Entry Key="Home"><t:City>Springfield</t:City><t:CountryOrRegion>US</t:CountryOrRegion>' +
    '</t:Entry></t:PhysicalAddresses><t:PhoneNumbers><t:Entry Key="BusinessPhone">1</t:Entry>' +
    '<t:Entry Key="BusinessPhone2">2</t:Entry><t:Entry Key="HomePhone">3</t:Entry><t:Entry Key="MobilePhone">4' +
    '</t:Entry></t:PhoneNumbers><t:Birthday>1980-05-17T00:00:00Z</t:Birthday><t:JobTitle>Manager</t:JobTitle>' +
    '<t:Surname>Doe</t:Surname></t:Contact>')

  await backend.createItemFromProperties(alice, { wellKnown: 'tasks' }, {
    kind: 'task',
    subject: 'Call back',
    status: 'waitingOnOthers',
    percentComplete: 25.5,
    startDateTime: '2026-03-15T00:00:00Z',
    dueDateTime: '2026-03-20T00:00:00Z'
  })
  t.match(bodiesOf('CreateItem').at(-1), '<t:Task><t:Subject>Call back</t:Subject>' +
    '<t:DueDate>2026-03-20T00:00:00Z</t:DueDate><t:PercentComplete>25.5</t:PercentComplete>' +
    '<t:StartDate>2026-03-15T00:00:00Z</t:StartDate><t:Status>WaitingOnOthers</t:Status></t:Task>')
})

t.test('property-set import: what EWS cannot hold is refused, never dropped', async (t) => {
  const sent = rec.requests.length
  const folder = { wellKnown: 'inbox' } as const
  const refuse = async (item: ItemProperties, expected: { code: string, message?: RegExp }, what: string):
  Promise<void> => { await t.rejects(backend.createItemFromProperties(alice, folder, item), expected, what) }
  await refuse({
    kind: 'appointment',
    start: '2026-01-01T00:00:00Z',
    end: '2026-01-01T01:00:00Z',
    attendees: [{ address: 'bob@contoso.example' }]
  }, { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /attendees/ },
  'a meeting with attendees')
  await refuse({ kind: 'appointment', subject: 'x' }, { code: 'MBG_ERR_BAD_REQUEST', message: /start and end/ },
    'an appointment without times')
  const hour = { start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' }
  await refuse({ kind: 'appointment', ...hour, timeZone: 'Mars/Olympus' },
    { code: 'MBG_ERR_BAD_REQUEST', message: /time zone/ }, 'an unknown time zone')
  await refuse({ kind: 'contact', emailAddresses: ['a', 'b', 'c', 'd'].map((a) => ({ address: `${a}@x.example` })) },
    { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /3 e-mail/ }, 'a fourth e-mail address')
  await refuse({ kind: 'contact', homePhones: ['1', '2', '3'] }, { code: 'MBG_ERR_DATA_INCOMPATIBLE' }, 'a third phone')
  await refuse({ kind: 'contact', toRecipients: [{ address: 'a@x.example' }] },
    { code: 'MBG_ERR_BAD_REQUEST', message: /toRecipients/ }, 'a field of another kind')
  await refuse({ kind: 'task', itemClass: 'IPM.Note' }, { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /IPM.Task/ },
    'a class of another kind')
  await refuse({ kind: 'message', attachments: [{ name: 'a.pdf', kind: 'file' }] },
    { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /contentBytes/ }, 'an attachment without content')
  await refuse({ kind: 'message', attachments: [{ name: 'fwd', kind: 'item', contentBytes: 'aGk=' }] },
    { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /item attachment/ }, 'an item attachment')
  await refuse({ kind: 'message', attachments: [{ name: 'a', contentBytes: 'not base64!' }] },
    { code: 'MBG_ERR_BAD_REQUEST', message: /base64/ }, 'content that is not base64')
  const flags = (value: string): ItemProperties['extendedProperties'] =>
    [{ propertyTag: '0x0E07', propertyType: 'Integer', value }]
  await refuse({ kind: 'message', extendedProperties: flags('9') },
    { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /draft/ }, 'flags that make a draft')
  await refuse({ kind: 'message', isRead: true, extendedProperties: flags('0') },
    { code: 'MBG_ERR_BAD_REQUEST', message: /isRead/ }, 'flags that disagree with isRead')
  await refuse({
    kind: 'message',
    sentDateTime: '2026-01-01T00:00:00Z',
    extendedProperties: [{ propertyTag: '0x0039', propertyType: 'SystemTime', value: '2025-01-01T00:00:00Z' }]
  },
  { code: 'MBG_ERR_BAD_REQUEST', message: /sentDateTime/ }, 'a submit time that disagrees with sentDateTime')
  await refuse({ kind: 'message', extendedProperties: [{ propertyTag: '0x1000', propertyType: 'String' }] },
    { code: 'MBG_ERR_BAD_REQUEST', message: /value/ }, 'an extended property without a value')
  await refuse({ kind: 'message', subject: 'bad \u0001' }, { code: 'MBG_ERR_BAD_REQUEST' }, 'text XML cannot carry')
  t.equal(rec.requests.length, sent, 'nothing refused was sent')

  // One the gateway derives and the caller gives alike is sent once.
  await backend.createItemFromProperties(alice, folder, {
    kind: 'message',
    sentDateTime: '2026-01-01T00:00:00Z',
    extendedProperties: [{ propertyTag: '0x0039', propertyType: 'SystemTime', value: '2026-01-01T00:00:00.000Z' }]
  })
  t.equal((bodiesOf('CreateItem').at(-1)?.match(/PropertyTag="0x0039"/g) ?? []).length, 1)
})

t.test('every request sent and every answer given is valid against Microsoft\'s schema', async (t) => {
  const requests = await validateEws(rec.requests.map((r, i) => ({ name: `req-${i}-${r.op}.xml`, xml: r.body })))
  t.ok(requests.valid, requests.errors.join('\n'))
  const answers = await validateEws(answered.map((xml, i) => ({ name: `answer-${i}.xml`, xml })), 'body')
  t.ok(answers.valid, answers.errors.join('\n'))
  t.ok(rec.requests.length > 20 && answered.length > 20, `${rec.requests.length} requests, ${answered.length} answers`)
})
