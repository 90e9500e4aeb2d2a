/**
 * The EWS simulator's MIME and property-set operations over real sockets: GetItem with IncludeMimeContent (.eml,
 * .ics, .vcf, read back with postal-mime and ical.js), GetItem's shapes (AllProperties, BodyType, extended
 * properties by tag and by name), GetAttachment, and CreateItem from MIME and from properties (draft rule of
 * PidTagMessageFlags, refusals of what Exchange refuses or the simulator cannot do). Every answer validates against
 * Microsoft's schema.
 */
import ICAL from 'ical.js'
import PostalMime from 'postal-mime'
import t from 'tap'
import { readItemContent } from '../../src/simulators/store/content.js'
import { DEMO_MAILBOXES, SEED_PNG } from '../../src/simulators/store/seed.js'
import type { StoreItem } from '../../src/simulators/store/store.js'
import { validateEws } from '../helpers/ews-schema.js'
import { dfid, harness, iid, itemsOf, m, messages, codes, type HttpResult, type Xml } from './ews-test-client.js'

const ALICE = DEMO_MAILBOXES.alice
const answers: Array<{ name: string, xml: string }> = []
const keep = (name: string, res: HttpResult): HttpResult => {
  answers.push({ name, xml: res.text })
  return res
}

const itemShape = (base: string, opts: { mime?: boolean, body?: string, fields?: string[], extended?: string[] } = {}):
string => m('ItemShape', `<t:BaseShape>${base}</t:BaseShape>` +
  (opts.mime === true ? '<t:IncludeMimeContent>true</t:IncludeMimeContent>' : '') +
  (opts.body !== undefined ? `<t:BodyType>${opts.body}</t:BodyType>` : '') +
  ((opts.fields ?? []).length + (opts.extended ?? []).length > 0
    ? `<t:AdditionalProperties>${(opts.fields ?? []).map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}` +
      `${(opts.extended ?? []).join('')}</t:AdditionalProperties>`
    : ''))

t.test('GetItem and CreateItem: MIME, property sets, attachments', async (t) => {
  const h = await harness(t)
  const folder = (name: string): StoreItem[] => h.store.itemsIn(h.store.wellKnownFolder(ALICE.guid, name).id)
  const getOne = async (name: string, id: string, shapeXml: string): Promise<Xml> => {
    const res = keep(name, await h.call(m('GetItem', shapeXml + m('ItemIds', iid(id)))))
    t.equal(res.status, 200, name)
    const msg = messages(res.text, 'GetItem')[0]
    t.equal(msg.ResponseCode, 'NoError', name)
    return itemsOf(msg.Items)[0]
  }
  const mimeOf = (x: Xml): Buffer => Buffer.from(String(x.MimeContent['#text'] ?? x.MimeContent), 'base64')

  // ------------------------------------------------------------ a message as .eml
  const inline = folder('inbox').find((i) => readItemContent(i).attachments.some((a) => a.isInline === true))
  if (inline === undefined) throw new Error('the seed has an inline-image message')
  const expected = readItemContent(inline)
  const msg = await getOne('eml', inline.id, itemShape('IdOnly', { mime: true }))
  t.equal(msg.MimeContent['@CharacterSet'], 'UTF-8')
  const eml = await PostalMime.parse(mimeOf(msg))
  t.equal(eml.subject, expected.subject)
  t.equal(eml.from?.address, expected.from?.address)
  t.equal(eml.from?.name, expected.from?.name)
  t.same(eml.to?.map((a) => a.address), expected.recipients.filter((r) => r.type === 'to').map((r) => r.address))
  t.same((eml.cc ?? []).map((a) => a.address), expected.recipients.filter((r) => r.type === 'cc').map((r) => r.address))
  t.equal(new Date(eml.date ?? '').getTime(), expected.sent?.getTime(), 'Date is the sent time')
  t.equal(eml.messageId, expected.internetMessageId)
  t.equal(eml.text?.trim(), expected.body?.text?.trim(), 'text body')
  t.equal(eml.html?.trim(), expected.body?.html?.trim(), 'HTML body')
  const png = eml.attachments.find((a) => a.mimeType === 'image/png')
  t.ok(png !== undefined && Buffer.from(png.content as ArrayBuffer).equals(SEED_PNG), 'inline image bytes')
  t.equal(png?.contentId?.replace(/^<|>$/g, ''), expected.attachments.find((a) => a.isInline === true)?.contentId)
  const file = expected.attachments.find((a) => a.isInline !== true)
  const fileBack = eml.attachments.find((a) => a.filename === file?.name)
  t.ok(fileBack !== undefined && file !== undefined && Buffer.from(fileBack.content as ArrayBuffer).equals(file.data),
    'file attachment bytes')

  // ------------------------------------------------------------ AllProperties of a message
  const all = await getOne('message-all', inline.id, itemShape('AllProperties'))
  t.equal(all.Body['@BodyType'], 'HTML', 'Best is HTML when the item has HTML')
  t.ok(String(all.Body['#text']).includes('<img'), 'the HTML body')
  t.equal(all.Sender.Mailbox.EmailAddress, expected.sender?.address)
  t.equal(all.From.Mailbox.EmailAddress, expected.from?.address)
  t.equal(all.ToRecipients.Mailbox.EmailAddress ?? all.ToRecipients.Mailbox[0].EmailAddress, ALICE.smtp)
  t.equal(all.Importance, expected.importance === 'high' ? 'High' : expected.importance === 'low' ? 'Low' : 'Normal')
  t.ok(['Normal', 'Personal', 'Private', 'Confidential'].includes(all.Sensitivity))
  t.equal(all.IsDraft, 'false')
  t.equal(all.InternetMessageId, expected.internetMessageId)
  const attachments = [all.Attachments.FileAttachment].flat()
  t.equal(attachments.length, 2, 'both attachments listed')
  t.ok(attachments.some((a: Xml) => a.IsInline === 'true' && a.ContentType === 'image/png'))
  const text = await getOne('message-text', inline.id, itemShape('IdOnly', { body: 'Text', fields: ['item:Body'] }))
  t.equal(text.Body['@BodyType'], 'Text')
  t.equal(String(text.Body['#text']).trim(), expected.body?.text?.trim())

  // Extended properties by tag and by name.
  const ext = await getOne('extended', inline.id, itemShape('IdOnly', {
    extended: [
      '<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/>',
      '<t:ExtendedFieldURI PropertyTag="0x0037" PropertyType="String"/>',
      '<t:ExtendedFieldURI PropertyTag="0x7777" PropertyType="String"/>'
    ]
  }))
  const props = [ext.ExtendedProperty].flat()
  t.equal(props.length, 2, 'the properties the item has, not the missing one')
  t.equal(Number(props[0].Value) & 1, inline.isRead ? 1 : 0, 'PidTagMessageFlags with the read state')
  t.equal(props[1].Value[0], expected.subject)

  // GetAttachment gives the file's bytes.
  const fileId = attachments.find((a: Xml) => a.IsInline === 'false').AttachmentId['@Id']
  const attachmentIds = (id: string): string => m('GetAttachment', m('AttachmentIds', `<t:AttachmentId Id="${id}"/>`))
  const got = keep('attachment', await h.call(attachmentIds(fileId)))
  const gotMsg = messages(got.text, 'GetAttachment')[0]
  t.equal(gotMsg.ResponseCode, 'NoError')
  t.ok(Buffer.from(gotMsg.Attachments.FileAttachment.Content, 'base64').equals(file?.data ?? Buffer.alloc(1)),
    'GetAttachment content')
  const bad = keep('attachment-bad', await h.call(attachmentIds('AAAA')))
  t.same(codes(bad.text, 'GetAttachment'), ['ErrorInvalidIdMalformed'])

  // ------------------------------------------------------------ calendar items as .ics
  const meeting = folder('calendar').find((i) => (readItemContent(i).appointment?.attendees.length ?? 0) > 0)
  if (meeting === undefined) throw new Error('the seed has a meeting')
  const appt = readItemContent(meeting).appointment
  const cal = await getOne('ics', meeting.id, itemShape('AllProperties', { mime: true }))
  const vcal = new ICAL.Component(ICAL.parse(mimeOf(cal).toString('utf8')) as unknown[])
  const vevent = vcal.getFirstSubcomponent('vevent')
  if (vevent === null) throw new Error('a VEVENT')
  const event = new ICAL.Event(vevent)
  t.equal(event.summary, readItemContent(meeting).subject)
  t.equal(event.startDate.toJSDate().getTime(), appt?.start.getTime())
  t.equal(event.endDate.toJSDate().getTime(), appt?.end.getTime())
  t.equal(event.location, appt?.location)
  t.equal(event.uid, appt?.uid)
  t.equal(vevent.getAllProperties('attendee').length, 0, 'no attendees in the MIME')
  t.equal(cal.UID, appt?.uid)
  t.equal(cal.IsMeeting, 'true')
  t.ok(cal.RequiredAttendees !== undefined, 'attendees in the property set')
  t.equal(cal.Organizer.Mailbox.EmailAddress, ALICE.smtp)
  // Named properties: PidLidLocation by distinguished set and id, PidLidGlobalObjectId by set GUID and id.
  const named = await getOne('named', meeting.id, itemShape('IdOnly', {
    extended: [
      '<t:ExtendedFieldURI DistinguishedPropertySetId="Appointment" PropertyId="33288" PropertyType="String"/>',
      '<t:ExtendedFieldURI PropertySetId="6ED8DA90-450B-101B-98DA-00AA003F1305" PropertyId="3" PropertyType="Binary"/>',
      '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="NoSuchName" PropertyType="String"/>'
    ]
  }))
  const namedProps = [named.ExtendedProperty].flat()
  t.equal(namedProps.length, 2)
  t.equal(namedProps[0].Value[0], appt?.location)
  t.equal(Buffer.from(namedProps[1].Value[0], 'base64').toString('hex').toUpperCase(), appt?.uid)

  // ------------------------------------------------------------ contacts as .vcf
  const contactItem = folder('contacts')[0]
  const person = readItemContent(contactItem).contact
  const contact = await getOne('vcf', contactItem.id, itemShape('AllProperties', { mime: true }))
  const vcard = new ICAL.Component(ICAL.parse(mimeOf(contact).toString('utf8')) as unknown[])
  t.equal(vcard.getFirstPropertyValue('version'), '3.0')
  t.equal(vcard.getFirstPropertyValue('fn'), person?.displayName)
  t.same((vcard.getFirstPropertyValue('n') as unknown as string[]).slice(0, 2), [person?.surname, person?.givenName])
  t.same(vcard.getAllProperties('email').map((p) => p.getFirstValue()), person?.emailAddresses.map((e) => e.address))
  t.ok(vcard.getAllProperties('tel').some((p) => p.getFirstValue() === person?.businessPhones[0]), 'phones')
  t.equal(contact.GivenName, person?.givenName)
  t.equal([contact.EmailAddresses.Entry].flat()[0]['#text'], person?.emailAddresses[0].address)

  // ------------------------------------------------------------ CreateItem from .eml
  const source = Buffer.from([
    'From: Zed Zulu <zed@fabrikam.example>',
    'To: Alice Archer <alice@contoso.example>',
    'Cc: Bob Baker <bob@contoso.example>',
    'Subject: Imported =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
    'Date: Mon, 01 Jun 2026 10:00:00 +0000',
    'Message-ID: <import-1@fabrikam.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello from the archive.',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Hello from the <b>archive</b>.</p>',
    '--b1--',
    ''
  ].join('\r\n'))
  const flags = (v: number): string => '<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x0E07" ' +
    `PropertyType="Integer"/><t:Value>${v}</t:Value></t:ExtendedProperty>`
  const create = async (name: string, items: string, attrs = 'MessageDisposition="SaveOnly"',
    saved = m('SavedItemFolderId', dfid('inbox'))): Promise<Xml[]> => {
    const res = keep(name, await h.call(m('CreateItem', saved + m('Items', items), attrs)))
    t.equal(res.status, 200, name)
    return messages(res.text, 'CreateItem')
  }
  const mimeXml = `<t:MimeContent CharacterSet="UTF-8">${source.toString('base64')}</t:MimeContent>`
  const [sent] = await create('create-eml', `<t:Message>${mimeXml}${flags(1)}</t:Message>`)
  t.equal(sent.ResponseCode, 'NoError')
  const sentId = itemsOf(sent.Items)[0].ItemId['@Id']
  t.ok(itemsOf(sent.Items)[0].ItemId['@ChangeKey'], 'a ChangeKey')
  const stored = h.store.requireItem(sentId)
  t.equal(stored.folderId, h.store.wellKnownFolder(ALICE.guid, 'inbox').id, 'in SavedItemFolderId')
  t.ok(h.store.itemsIn(stored.folderId).some((i) => i.id === sentId), 'listed in its folder')
  const exported = keep('export-created', await h.call(m('ExportItems', m('ItemIds', iid(sentId)))))
  const data = Buffer.from(String(messages(exported.text, 'ExportItems')[0].Data), 'base64')
  t.equal(readItemContent(data).subject, 'Imported Grüße', 'a full-fidelity export carries its content')
  const idOnly = m('ItemShape', '<t:BaseShape>IdOnly</t:BaseShape>')
  const sync = keep('sync-created', await h.call(m('SyncFolderItems', idOnly + m('SyncFolderId', dfid('inbox')) +
    '<m:MaxChangesReturned>512</m:MaxChangesReturned>')))
  const changes = [messages(sync.text, 'SyncFolderItems')[0].Changes.Create].flat()
  t.ok(changes.some((c: Xml) => itemsOf(c)[0]?.ItemId['@Id'] === sentId), 'in the change feed')
  const back = await getOne('create-eml-back', sentId, itemShape('AllProperties', { mime: true }))
  t.equal(back.IsDraft, 'false', 'PidTagMessageFlags=1: not a draft')
  t.equal(back.IsRead, 'true')
  t.equal(back.Subject, 'Imported Grüße')
  const again = await PostalMime.parse(mimeOf(back))
  t.equal(again.subject, 'Imported Grüße')
  t.equal(again.from?.address, 'zed@fabrikam.example')
  t.same(again.to?.map((a) => a.address), ['alice@contoso.example'])
  t.same(again.cc?.map((a) => a.address), ['bob@contoso.example'])
  t.equal(again.messageId, '<import-1@fabrikam.example>')
  t.equal(new Date(again.date ?? '').toISOString(), '2026-06-01T10:00:00.000Z')
  t.equal(again.text?.trim(), 'Hello from the archive.')
  t.equal(again.html?.trim(), '<p>Hello from the <b>archive</b>.</p>')

  const [draft] = await create('create-eml-draft', `<t:Message>${mimeXml}</t:Message>`)
  const draftId = itemsOf(draft.Items)[0].ItemId['@Id']
  const draftBack = await getOne('create-eml-draft-back', draftId, itemShape('AllProperties'))
  t.equal(draftBack.IsDraft, 'true', 'without PidTagMessageFlags: a draft, as on Exchange')

  // ------------------------------------------------------------ CreateItem from property sets
  const [c1] = await create('create-contact', '<t:Contact><t:FileAs>Plate, Tanja</t:FileAs>' +
    '<t:GivenName>Tanja</t:GivenName><t:CompanyName>Blue Yonder Airlines</t:CompanyName>' +
    '<t:EmailAddresses><t:Entry Key="EmailAddress1">tplate@example.com</t:Entry></t:EmailAddresses>' +
    '<t:PhysicalAddresses><t:Entry Key="Business"><t:Street>1234 56th Ave</t:Street><t:City>La Habra</t:City>' +
    '<t:State>CA</t:State><t:CountryOrRegion>USA</t:CountryOrRegion></t:Entry></t:PhysicalAddresses>' +
    '<t:PhoneNumbers><t:Entry Key="BusinessPhone">4255550199</t:Entry><t:Entry Key="MobilePhone">4255550100</t:Entry>' +
    '</t:PhoneNumbers><t:JobTitle>Manager</t:JobTitle><t:Surname>Plate</t:Surname></t:Contact>', '',
  m('SavedItemFolderId', dfid('contacts')))
  t.equal(c1.ResponseCode, 'NoError')
  const cBack = await getOne('create-contact-back', itemsOf(c1.Items)[0].ItemId['@Id'], itemShape('AllProperties'))
  t.equal(cBack.FileAs, 'Plate, Tanja')
  t.equal(cBack.GivenName, 'Tanja')
  t.equal(cBack.Surname, 'Plate')
  t.equal(cBack.CompanyName, 'Blue Yonder Airlines')
  t.equal(cBack.JobTitle, 'Manager')
  t.equal([cBack.EmailAddresses.Entry].flat()[0]['#text'], 'tplate@example.com')
  t.equal([cBack.PhysicalAddresses.Entry].flat()[0].City, 'La Habra')
  t.same([cBack.PhoneNumbers.Entry].flat().map((e: Xml) => [e['@Key'], e['#text']]),
    [['BusinessPhone', '4255550199'], ['MobilePhone', '4255550100']])

  const [t1] = await create('create-task', '<t:Task><t:Subject>File the report</t:Subject>' +
    '<t:DueDate>2026-07-10T17:00:00Z</t:DueDate><t:PercentComplete>40</t:PercentComplete>' +
    '<t:StartDate>2026-07-01T09:00:00Z</t:StartDate><t:Status>InProgress</t:Status></t:Task>', '',
  m('SavedItemFolderId', dfid('tasks')))
  t.equal(t1.ResponseCode, 'NoError')
  const tBack = await getOne('create-task-back', itemsOf(t1.Items)[0].ItemId['@Id'], itemShape('AllProperties'))
  t.equal(tBack.Subject, 'File the report')
  t.equal(tBack.DueDate, '2026-07-10T17:00:00Z')
  t.equal(tBack.StartDate, '2026-07-01T09:00:00Z')
  t.equal(tBack.PercentComplete, '40')
  t.equal(tBack.Status, 'InProgress')

  const [a1] = await create('create-appointment', '<t:CalendarItem><t:Subject>Dentist</t:Subject>' +
    '<t:Body BodyType="Text">Bring the card.</t:Body>' +
    '<t:Start>2026-07-02T08:00:00Z</t:Start><t:End>2026-07-02T09:00:00Z</t:End><t:Location>Main St 1</t:Location>' +
    '</t:CalendarItem>', 'SendMeetingInvitations="SendToNone"', m('SavedItemFolderId', dfid('calendar')))
  t.equal(a1.ResponseCode, 'NoError')
  const aBack = await getOne('create-appointment-back', itemsOf(a1.Items)[0].ItemId['@Id'],
    itemShape('AllProperties', { mime: true }))
  t.equal(aBack.Subject, 'Dentist')
  t.equal(aBack.Start, '2026-07-02T08:00:00Z')
  t.equal(aBack.End, '2026-07-02T09:00:00Z')
  t.equal(aBack.Location, 'Main St 1')
  t.equal(String(aBack.Body['#text']), 'Bring the card.')
  t.match(aBack.UID, /^040000008200E00074C5B7101A82E008/, 'a new UID')
  t.equal(aBack.IsMeeting, 'false')

  // An .ics import keeps its UID.
  const ics = Buffer.from(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT',
    'UID:ics-import-1@example.com', 'SUMMARY:Board meeting', 'DTSTART:20260703T130000Z', 'DTEND:20260703T150000Z',
    'LOCATION:HQ', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'))
  const [i1] = await create('create-ics', `<t:CalendarItem><t:MimeContent>${ics.toString('base64')}</t:MimeContent>` +
    '</t:CalendarItem>', 'SendMeetingInvitations="SendToNone"', m('SavedItemFolderId', dfid('calendar')))
  t.equal(i1.ResponseCode, 'NoError')
  const iBack = await getOne('create-ics-back', itemsOf(i1.Items)[0].ItemId['@Id'], itemShape('AllProperties'))
  t.equal(iBack.UID, 'ics-import-1@example.com')
  t.equal(iBack.Subject, 'Board meeting')
  t.equal(iBack.Start, '2026-07-03T13:00:00Z')
  t.equal(iBack.Location, 'HQ')

  // ------------------------------------------------------------ refusals
  const vcf = Buffer.from('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Vee Card\r\nN:Card;Vee;;;\r\nEND:VCARD\r\n')
  const [v1] = await create('create-vcf', `<t:Contact><t:MimeContent>${vcf.toString('base64')}</t:MimeContent>` +
    '</t:Contact>', '', m('SavedItemFolderId', dfid('contacts')))
  t.equal(v1.ResponseCode, 'ErrorUnsupportedMimeConversion', 'a vCard cannot be imported')
  const [s1] = await create('create-send', `<t:Message>${mimeXml}</t:Message>`, 'MessageDisposition="SendAndSaveCopy"')
  t.equal(s1.ResponseCode, 'ErrorMessageSubmissionBlocked', 'the simulator sends no mail')
  const [s2] = await create('create-no-disposition', `<t:Message>${mimeXml}</t:Message>`, '')
  t.equal(s2.ResponseCode, 'ErrorMessageDispositionRequired')
  const [s3] = await create('create-invite', '<t:CalendarItem><t:Subject>Sync</t:Subject>' +
    '<t:Start>2026-07-02T08:00:00Z</t:Start><t:End>2026-07-02T09:00:00Z</t:End><t:RequiredAttendees><t:Attendee>' +
    '<t:Mailbox><t:EmailAddress>bob@contoso.example</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>' +
    '</t:CalendarItem>', 'SendMeetingInvitations="SendToAllAndSaveCopy"', m('SavedItemFolderId', dfid('calendar')))
  t.equal(s3.ResponseCode, 'ErrorMessageSubmissionBlocked', 'no invitations sent')
  const [s4] = await create('create-bad-mime', '<t:Message><t:MimeContent>%%%</t:MimeContent></t:Message>')
  t.equal(s4.ResponseCode, 'ErrorMimeContentInvalid')

  const result = await validateEws(answers)
  t.same(result.errors, [], 'every answer validates against the schema')
  t.ok(result.valid)
})
