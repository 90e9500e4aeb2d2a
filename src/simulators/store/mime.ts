/**
 * MIME conversions of item content, as Exchange makes them for EWS `MimeContent` ("Exporting and importing items
 * by using EWS in Exchange", seed 000): a message is an RFC 5322 / MIME message (.eml) with its attachments, an
 * appointment an iCalendar object (RFC 5545, .ics) with one VEVENT and no attendees ("attendee information is not
 * provided in the MIME stream"), a contact a vCard 3.0 (RFC 2426, .vcf). Imports: .eml into a message and .ics into
 * an appointment; a vCard cannot be imported ("you cannot import a contact by using the vCard MIME stream").
 *
 * Libraries: nodemailer's MailComposer builds .eml (headers, encodings, multipart/alternative + related + mixed
 * trees), postal-mime parses it, ical.js builds and parses iCalendar and vCard. Conversion is lossy by nature: what
 * each direction keeps is listed on the functions.
 */
import ICAL from 'ical.js'
import MailComposer from 'nodemailer/lib/mail-composer'
import PostalMime from 'postal-mime'
import { ianaZone, instantOf } from '../../protocol/time-zones.js'
import type { ContactContent, ContentAttachment, ContentAttendee, ItemContent, MailAddress } from './content.js'

/** A MIME text that cannot be converted (unparseable, or not the kind asked for): EWS ErrorMimeContentInvalid. */
export class MimeConversionError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MimeConversionError'
  }
}

const IMPORTANCE_HEADER = { low: 'low', normal: 'normal', high: 'high' } as const
/** RFC 2156 §5.3 Sensitivity header values, as Exchange writes them. */
const SENSITIVITY_HEADER = {
  normal: undefined, personal: 'Personal', private: 'Private', confidential: 'Company-Confidential'
} as const

const mailbox = (a: MailAddress): { name: string, address: string } => ({ name: a.name ?? '', address: a.address })

// ------------------------------------------------------------------ messages

/**
 * The message as an RFC 5322 / MIME message: From, Sender, To, Cc, Bcc (kept, as Exchange keeps it in a saved
 * item's MIME), Subject, Date (sent time, else creation time), Message-ID, Importance (with X-Priority),
 * Sensitivity, Keywords (categories); text and HTML bodies as multipart/alternative; inline attachments with a
 * Content-ID in multipart/related beside the HTML; other attachments in multipart/mixed.
 */
export async function messageToMime (content: ItemContent): Promise<Buffer> {
  const byType = (t: 'to' | 'cc' | 'bcc'): Array<{ name: string, address: string }> =>
    content.recipients.filter((r) => r.type === t && r.address !== '').map(mailbox)
  const headers: Record<string, string> = {}
  const sensitivity = content.sensitivity !== undefined ? SENSITIVITY_HEADER[content.sensitivity] : undefined
  if (sensitivity !== undefined) headers.Sensitivity = sensitivity
  if (content.categories !== undefined && content.categories.length > 0) {
    headers.Keywords = content.categories.join(', ')
  }
  const date = content.sent ?? content.created ?? content.modified ?? new Date()
  const composer = new MailComposer({
    ...(content.from !== undefined && content.from.address !== '' ? { from: mailbox(content.from) } : {}),
    ...(content.sender !== undefined && content.sender.address !== '' &&
      content.sender.address !== content.from?.address
      ? { sender: mailbox(content.sender) }
      : {}),
    to: byType('to'),
    cc: byType('cc'),
    bcc: byType('bcc'),
    subject: content.subject ?? '',
    date,
    ...(content.internetMessageId !== undefined ? { messageId: content.internetMessageId } : {}),
    ...(content.importance !== undefined && content.importance !== 'normal'
      ? { priority: IMPORTANCE_HEADER[content.importance] }
      : {}),
    ...(content.body?.text !== undefined ? { text: content.body.text } : {}),
    ...(content.body?.html !== undefined ? { html: content.body.html } : {}),
    attachments: content.attachments.map((a) => ({
      filename: a.name,
      content: a.data,
      ...(a.contentType !== undefined ? { contentType: a.contentType } : {}),
      ...(a.contentId !== undefined ? { cid: a.contentId } : {}),
      contentDisposition: a.isInline === true ? 'inline' : 'attachment'
    })),
    headers
  })
  const node = composer.compile()
  node.keepBcc = true
  return await node.build()
}

const parseImportance = (headers: Array<{ key: string, value: string }>): ItemContent['importance'] => {
  const h = (k: string): string | undefined => headers.find((x) => x.key === k)?.value.trim().toLowerCase()
  const importance = h('importance')
  if (importance === 'high' || importance === 'low' || importance === 'normal') return importance
  const priority = h('x-priority')?.[0]
  if (priority === '1' || priority === '2') return 'high'
  if (priority === '4' || priority === '5') return 'low'
  return undefined
}

const parseSensitivity = (value: string | undefined): ItemContent['sensitivity'] => {
  switch (value?.trim().toLowerCase()) {
    case 'personal': return 'personal'
    case 'private': return 'private'
    case 'company-confidential': return 'confidential'
    default: return undefined
  }
}

/**
 * A text part's content as the message carries it: line breaks CRLF (MIME's canonical form, RFC 2046 §4.1.1), where
 * postal-mime gives LF, and without the one line break postal-mime leaves at its end (the CRLF before a boundary
 * belongs to the boundary, RFC 2046 §5.1.1), so a body read and written again does not grow.
 */
function canonicalText (text: string): string {
  return text.replace(/\r?\n$/, '').replace(/\r?\n/g, '\r\n')
}

/**
 * A message's content from an RFC 5322 / MIME message: the fields `messageToMime` writes (addresses, subject, Date
 * as the sent time, Message-ID, bodies, attachments with content ids, Importance/X-Priority, Sensitivity,
 * Keywords). Throws MimeConversionError when the text has no header section at all.
 */
export async function messageFromMime (mime: Buffer): Promise<Omit<ItemContent, 'itemClass'>> {
  if (!/^[\x21-\x39\x3b-\x7e]+:/m.test(mime.subarray(0, 4096).toString('latin1'))) {
    throw new MimeConversionError('The MIME content has no header fields.')
  }
  let email: Awaited<ReturnType<typeof PostalMime.parse>>
  try {
    email = await PostalMime.parse(mime, { attachmentEncoding: 'arraybuffer' })
  } catch (err) {
    // A structure the converter cannot read (postal-mime stops at nesting it does not follow).
    throw new MimeConversionError(`The MIME content cannot be converted: ${(err as Error).message}`)
  }
  const addr = (a: { name?: string, address?: string } | undefined): MailAddress | undefined =>
    a?.address !== undefined && a.address !== ''
      ? { ...(a.name !== undefined && a.name !== '' ? { name: a.name } : {}), address: a.address }
      : undefined
  const list = (as: Array<{ name?: string, address?: string, group?: unknown[] }> | undefined): MailAddress[] =>
    (as ?? []).flatMap((a) => Array.isArray(a.group) ? a.group as Array<{ name?: string, address?: string }> : [a])
      .map(addr).filter((a): a is MailAddress => a !== undefined)
  const date = email.date !== undefined ? new Date(email.date) : undefined
  const header = (k: string): string | undefined => email.headers.find((h) => h.key === k)?.value
  const keywords = header('keywords')?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const importance = parseImportance(email.headers)
  const sensitivity = parseSensitivity(header('sensitivity'))
  const from = addr(email.from)
  const sender = addr(email.sender) ?? from
  const attachments: ContentAttachment[] = email.attachments.map((a) => ({
    name: a.filename ?? 'attachment',
    contentType: a.mimeType,
    data: Buffer.from(a.content as ArrayBuffer),
    ...(a.contentId !== undefined && a.contentId !== '' ? { contentId: a.contentId.replace(/^<|>$/g, '') } : {}),
    ...(a.disposition === 'inline' || (a.related === true) ? { isInline: true } : {})
  }))
  return {
    ...(email.subject !== undefined ? { subject: email.subject } : {}),
    ...(email.text !== undefined || email.html !== undefined
      ? {
          body: {
            ...(email.text !== undefined ? { text: canonicalText(email.text) } : {}),
            ...(email.html !== undefined ? { html: canonicalText(email.html) } : {})
          }
        }
      : {}),
    ...(from !== undefined ? { from } : {}),
    ...(sender !== undefined ? { sender } : {}),
    recipients: [
      ...list(email.to).map((a) => ({ ...a, type: 'to' as const })),
      ...list(email.cc).map((a) => ({ ...a, type: 'cc' as const })),
      ...list(email.bcc).map((a) => ({ ...a, type: 'bcc' as const }))
    ],
    ...(date !== undefined && !Number.isNaN(date.getTime()) ? { sent: date } : {}),
    ...(email.messageId !== undefined && email.messageId !== '' ? { internetMessageId: email.messageId } : {}),
    ...(importance !== undefined ? { importance } : {}),
    ...(sensitivity !== undefined ? { sensitivity } : {}),
    ...(keywords !== undefined && keywords.length > 0 ? { categories: keywords } : {}),
    attachments,
    extended: []
  }
}

// ------------------------------------------------------------------ appointments

const PRODID = '-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN'
const CLASS = { normal: 'PUBLIC', personal: 'PRIVATE', private: 'PRIVATE', confidential: 'CONFIDENTIAL' } as const
const PRIORITY = { high: 1, normal: 5, low: 9 } as const
const BUSY_CDO = {
  free: 'FREE', tentative: 'TENTATIVE', busy: 'BUSY', oof: 'OOF', workingElsewhere: 'WORKINGELSEWHERE'
}

const utc = (d: Date): ICAL.Time => ICAL.Time.fromJSDate(d, true)
const dateOnly = (d: Date): ICAL.Time => ICAL.Time.fromData({
  year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), isDate: true
})

/**
 * The appointment as an iCalendar object (METHOD:PUBLISH, one VEVENT): UID, SUMMARY, DESCRIPTION (text body),
 * DTSTART/DTEND (UTC, or dates for an all-day event), LOCATION, ORGANIZER, CLASS (sensitivity), PRIORITY
 * (importance), CATEGORIES, TRANSP and X-MICROSOFT-CDO-BUSYSTATUS (free/busy), CREATED, LAST-MODIFIED, DTSTAMP.
 * No ATTENDEE lines, as Exchange's MIME of a meeting has none.
 */
export function appointmentToIcs (content: ItemContent): Buffer {
  const appt = content.appointment
  if (appt === undefined) throw new MimeConversionError('The item is not an appointment.')
  const cal = new ICAL.Component(['vcalendar', [], []])
  cal.addPropertyWithValue('method', 'PUBLISH')
  cal.addPropertyWithValue('prodid', PRODID)
  cal.addPropertyWithValue('version', '2.0')
  const ev = new ICAL.Component('vevent')
  if (appt.uid !== undefined) ev.addPropertyWithValue('uid', appt.uid)
  ev.addPropertyWithValue('summary', content.subject ?? '')
  if (content.body?.text !== undefined) ev.addPropertyWithValue('description', content.body.text)
  const allDay = appt.isAllDay === true
  ev.addPropertyWithValue('dtstart', allDay ? dateOnly(appt.start) : utc(appt.start))
  ev.addPropertyWithValue('dtend', allDay ? dateOnly(appt.end) : utc(appt.end))
  if (appt.location !== undefined) ev.addPropertyWithValue('location', appt.location)
  const organizer = appt.organizer ?? content.from
  if (organizer !== undefined && organizer.address !== '') {
    const p = ev.addPropertyWithValue('organizer', `mailto:${organizer.address}`)
    if (organizer.name !== undefined) p.setParameter('cn', organizer.name)
  }
  ev.addPropertyWithValue('class', CLASS[content.sensitivity ?? 'normal'])
  ev.addPropertyWithValue('priority', PRIORITY[content.importance ?? 'normal'])
  if (content.categories !== undefined && content.categories.length > 0) {
    const p = new ICAL.Property('categories')
    p.setValues(content.categories)
    ev.addProperty(p)
  }
  const busy = appt.busyStatus ?? 'busy'
  ev.addPropertyWithValue('transp', busy === 'free' ? 'TRANSPARENT' : 'OPAQUE')
  ev.addPropertyWithValue('x-microsoft-cdo-busystatus', BUSY_CDO[busy])
  ev.addPropertyWithValue('x-microsoft-cdo-alldayevent', allDay ? 'TRUE' : 'FALSE')
  if (content.created !== undefined) ev.addPropertyWithValue('created', utc(content.created))
  if (content.modified !== undefined) ev.addPropertyWithValue('last-modified', utc(content.modified))
  ev.addPropertyWithValue('dtstamp', utc(content.modified ?? content.created ?? appt.start))
  cal.addSubcomponent(ev)
  return Buffer.from(cal.toString().replace(/\r?\n/g, '\r\n') + '\r\n', 'utf8')
}

const PARTSTAT: Record<string, ContentAttendee['response']> = {
  ACCEPTED: 'accepted', DECLINED: 'declined', TENTATIVE: 'tentativelyAccepted', 'NEEDS-ACTION': 'notResponded'
}

function mailtoAddress (value: unknown): string {
  return String(value).replace(/^mailto:/i, '')
}

/**
 * An appointment's content from an iCalendar object's first VEVENT: SUMMARY, DESCRIPTION, DTSTART/DTEND (a date
 * value makes an all-day event), LOCATION, UID, ORGANIZER, ATTENDEE (ROLE and PARTSTAT), CLASS, PRIORITY,
 * CATEGORIES, TRANSP / X-MICROSOFT-CDO-BUSYSTATUS. Throws MimeConversionError when the text is not iCalendar or has
 * no VEVENT with a DTSTART.
 */
export function appointmentFromIcs (ics: Buffer): Omit<ItemContent, 'itemClass'> {
  let cal: ICAL.Component
  try {
    cal = new ICAL.Component(ICAL.parse(ics.toString('utf8')) as unknown[])
  } catch (err) {
    throw new MimeConversionError(`The iCalendar content cannot be parsed: ${(err as Error).message}`)
  }
  if (cal.name !== 'vcalendar') throw new MimeConversionError('The MIME content is not an iCalendar object.')
  const ev = cal.getFirstSubcomponent('vevent')
  if (ev === null) throw new MimeConversionError('The iCalendar object has no VEVENT.')
  const event = new ICAL.Event(ev)
  if (ev.getFirstProperty('dtstart') === null) throw new MimeConversionError('The VEVENT has no DTSTART.')
  let allDay: boolean
  let start: Date
  let end: Date
  try {
    allDay = event.startDate.isDate
    start = instantOfTime(event.startDate)
    end = event.endDate !== null && event.endDate !== undefined
      ? instantOfTime(event.endDate)
      : new Date(start.getTime() + (allDay ? 86_400_000 : 0))
  } catch (err) {
    throw new MimeConversionError(`The VEVENT's times cannot be read: ${(err as Error).message}`)
  }
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start.getUTCFullYear() < 1601) {
    throw new MimeConversionError('The VEVENT\'s DTSTART or DTEND is not a time Exchange stores.')
  }
  const str = (name: string): string | undefined => {
    const v = ev.getFirstPropertyValue(name)
    return v === null || v === undefined ? undefined : String(v)
  }
  const organizerProp = ev.getFirstProperty('organizer')
  const organizer: MailAddress | undefined = organizerProp !== null
    ? {
        address: mailtoAddress(organizerProp.getFirstValue()),
        ...(organizerProp.getParameter('cn') !== undefined ? { name: String(organizerProp.getParameter('cn')) } : {})
      }
    : undefined
  const attendees: ContentAttendee[] = ev.getAllProperties('attendee').map((p) => {
    const role = String(p.getParameter('role') ?? 'REQ-PARTICIPANT').toUpperCase()
    const cutype = String(p.getParameter('cutype') ?? '').toUpperCase()
    const response = PARTSTAT[String(p.getParameter('partstat') ?? '').toUpperCase()]
    const cn = p.getParameter('cn')
    return {
      address: mailtoAddress(p.getFirstValue()),
      ...(cn !== undefined ? { name: String(cn) } : {}),
      type: cutype === 'RESOURCE' || cutype === 'ROOM'
        ? 'resource'
        : role === 'OPT-PARTICIPANT' ? 'optional' : 'required',
      ...(response !== undefined ? { response } : {})
    }
  })
  const cls = str('class')?.toUpperCase()
  const priority = Number(str('priority') ?? 5)
  const busyCdo = str('x-microsoft-cdo-busystatus')?.toUpperCase()
  const busy = Object.entries(BUSY_CDO).find(([, v]) => v === busyCdo)?.[0] as
    NonNullable<ItemContent['appointment']>['busyStatus'] | undefined
  const categories = ev.getAllProperties('categories').flatMap((p) => p.getValues().map(String))
  const summary = str('summary')
  const description = str('description')
  const location = str('location')
  const uid = str('uid')
  return {
    ...(summary !== undefined ? { subject: summary } : {}),
    ...(description !== undefined ? { body: { text: description } } : {}),
    ...(organizer !== undefined ? { from: organizer } : {}),
    sensitivity: cls === 'PRIVATE' ? 'private' : cls === 'CONFIDENTIAL' ? 'confidential' : 'normal',
    importance: priority >= 1 && priority <= 4 ? 'high' : priority >= 6 ? 'low' : 'normal',
    ...(categories.length > 0 ? { categories } : {}),
    recipients: [],
    attachments: [],
    extended: [],
    appointment: {
      start,
      end,
      isAllDay: allDay,
      ...(location !== undefined ? { location } : {}),
      busyStatus: busy ?? (str('transp')?.toUpperCase() === 'TRANSPARENT' ? 'free' : 'busy'),
      ...(organizer !== undefined ? { organizer } : {}),
      attendees,
      ...(uid !== undefined ? { uid } : {})
    }
  }
}

/**
 * The instant of an iCalendar time: UTC or floating as ical.js reads it; a TZID with no VTIMEZONE in the file read
 * as the IANA or Windows zone it names (Exchange knows both), not as UTC; a TZID it knows nothing of refused.
 */
function instantOfTime (time: ICAL.Time): Date {
  // ical.js keeps a TZID it has no VTIMEZONE for as `timezone`, the time itself floating.
  const tzid = (time as ICAL.Time & { timezone?: unknown }).timezone
  if (typeof tzid === 'string' && tzid !== '' && (time.zone === undefined || time.zone === null ||
      time.zone.tzid === 'floating')) {
    const iana = ianaZone(tzid)
    if (iana === undefined) throw new Error(`TZID ${tzid} is not a known time zone`)
    const wall = `${String(time.year).padStart(4, '0')}-${String(time.month).padStart(2, '0')}-` +
      `${String(time.day).padStart(2, '0')}T${String(time.hour).padStart(2, '0')}:` +
      `${String(time.minute).padStart(2, '0')}:${String(time.second).padStart(2, '0')}`
    const at = time.isDate ? new Date(`${wall.slice(0, 10)}T00:00:00Z`) : instantOf(wall, iana)
    if (at === undefined) throw new Error(`${wall} is not a wall-clock time`)
    return at
  }
  const at = time.toJSDate()
  // ical.js reads years below 100 as 19xx (Date's two-digit years); Exchange stores none before 1601 (FILETIME).
  if (time.year < 1601) {
    throw new Error(`year ${time.year} is out of range`)
  }
  return at
}

// ------------------------------------------------------------------ contacts

/**
 * The contact as a vCard 3.0 (RFC 2426): FN, N, NICKNAME, ORG (company; department), TITLE, EMAIL;TYPE=INTERNET
 * (up to three), TEL (WORK, HOME, CELL), ADR (WORK, HOME), BDAY, NOTE (text body), CATEGORIES, UID-less (Exchange's
 * vCard carries none), REV (last modification).
 */
export function contactToVcf (content: ItemContent): Buffer {
  const c: ContactContent | undefined = content.contact
  if (c === undefined) throw new MimeConversionError('The item is not a contact.')
  const card = new ICAL.Component(['vcard', [], []])
  card.addPropertyWithValue('version', '3.0')
  const display = c.displayName ?? [c.givenName, c.middleName, c.surname].filter((x) => x !== undefined).join(' ')
  card.addPropertyWithValue('fn', display)
  card.addPropertyWithValue('n', [c.surname ?? '', c.givenName ?? '', c.middleName ?? '', '', ''])
  if (c.nickName !== undefined) card.addPropertyWithValue('nickname', c.nickName)
  if (c.companyName !== undefined || c.department !== undefined) {
    card.addPropertyWithValue('org', [c.companyName ?? '', ...(c.department !== undefined ? [c.department] : [])])
  }
  if (c.jobTitle !== undefined) card.addPropertyWithValue('title', c.jobTitle)
  c.emailAddresses.forEach((e, i) => {
    const p = card.addPropertyWithValue('email', e.address)
    p.setParameter('type', i === 0 ? ['INTERNET', 'PREF'] : ['INTERNET'])
  })
  const tel = (value: string, types: string[]): void => {
    card.addPropertyWithValue('tel', value).setParameter('type', types)
  }
  for (const p of c.businessPhones) tel(p, ['WORK', 'VOICE'])
  for (const p of c.homePhones) tel(p, ['HOME', 'VOICE'])
  if (c.mobilePhone !== undefined) tel(c.mobilePhone, ['CELL', 'VOICE'])
  for (const [kind, a] of [['WORK', c.businessAddress], ['HOME', c.homeAddress]] as const) {
    if (a === undefined) continue
    card.addPropertyWithValue('adr', ['', '', a.street ?? '', a.city ?? '', a.state ?? '', a.postalCode ?? '',
      a.countryOrRegion ?? '']).setParameter('type', [kind])
  }
  if (c.birthday !== undefined) {
    card.addPropertyWithValue('bday', ICAL.VCardTime.fromDateAndOrTimeString(c.birthday, 'date'))
  }
  if (content.body?.text !== undefined) card.addPropertyWithValue('note', content.body.text)
  if (content.categories !== undefined && content.categories.length > 0) {
    const p = new ICAL.Property('categories')
    p.setValues(content.categories)
    card.addProperty(p)
  }
  if (content.modified !== undefined) {
    const rev = content.modified.toISOString().replace(/\.\d{3}Z$/, 'Z')
    card.addPropertyWithValue('rev', ICAL.VCardTime.fromDateAndOrTimeString(rev, 'date-time'))
  }
  return Buffer.from(card.toString().replace(/\r?\n/g, '\r\n') + '\r\n', 'utf8')
}
