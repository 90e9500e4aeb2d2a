/**
 * Graph events and contacts as MIME: events have no `$value` in Graph, so the adapter writes the iCalendar object
 * (RFC 5545: one VCALENDAR with one VEVENT) and the vCard (RFC 6350, vCard 4.0) itself from the JSON Graph answered
 * (event-get, contact-get), with ical.js (the iCalendar and vCard library of Mozilla's calendar projects), which
 * escapes, folds and types every value. What a Graph field has no standard property for is left out; what is written
 * is the field's meaning in the standard (e.g. Graph `sensitivity` → CLASS, `showAs` → TRANSP, attendee `status` →
 * PARTSTAT), as Exchange's own conversion does (EWS "Export items": https://learn.microsoft.com/exchange/
 * client-developer/exchange-web-services/how-to-export-items-by-using-ews-in-exchange).
 */
import ICAL from 'ical.js'
import { UpstreamBadResponse } from '../../errors.js'
import { recipientOf, utcOf } from './outlook-json.js'
import { ianaZone, wallClock } from '../../protocol/time-zones.js'

type Json = Record<string, unknown>

const PRODID = '-//mailbox-gateway//Microsoft Graph//EN'

const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

function utcTime (iso: string): ICAL.Time {
  return ICAL.Time.fromDateTimeString(new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z'))
}

/** The calendar date of an instant in a zone (an all-day event's DATE). */
function dateIn (iso: string, zone: string | undefined): ICAL.Time {
  const iana = zone !== undefined ? ianaZone(zone) ?? 'UTC' : 'UTC'
  return ICAL.Time.fromDateString(wallClock(new Date(iso), iana).slice(0, 10))
}

const PARTSTAT: Record<string, string> = {
  accepted: 'ACCEPTED',
  declined: 'DECLINED',
  tentativelyAccepted: 'TENTATIVE',
  none: 'NEEDS-ACTION',
  notResponded: 'NEEDS-ACTION'
}
const ROLE: Record<string, string> = {
  required: 'REQ-PARTICIPANT',
  optional: 'OPT-PARTICIPANT',
  resource: 'NON-PARTICIPANT'
}
const CLASS: Record<string, string> = {
  normal: 'PUBLIC',
  personal: 'PRIVATE',
  private: 'PRIVATE',
  confidential: 'CONFIDENTIAL'
}
const PRIORITY: Record<string, number> = { high: 1, normal: 5, low: 9 }
const DAY: Record<string, string> = {
  sunday: 'SU', monday: 'MO', tuesday: 'TU', wednesday: 'WE', thursday: 'TH', friday: 'FR', saturday: 'SA'
}
const INDEX: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, last: -1 }

/**
 * Graph's patternedRecurrence (https://learn.microsoft.com/graph/api/resources/patternedrecurrence) as an RRULE
 * (RFC 5545 §3.3.10). Undefined for a pattern type Graph does not document.
 */
export function rruleOf (recurrence: Json, zone: string | undefined): ICAL.Recur | undefined {
  const pattern = (recurrence.pattern ?? {}) as Json
  const range = (recurrence.range ?? {}) as Json
  const interval = typeof pattern.interval === 'number' && pattern.interval > 0 ? pattern.interval : 1
  const days = Array.isArray(pattern.daysOfWeek)
    ? (pattern.daysOfWeek as unknown[]).map((d) => DAY[String(d).toLowerCase()]).filter((d) => d !== undefined)
    : []
  const index = INDEX[String(pattern.index ?? 'first')] ?? 1
  const data: Record<string, unknown> = { interval }
  switch (pattern.type) {
    case 'daily': data.freq = 'DAILY'; break
    case 'weekly':
      data.freq = 'WEEKLY'
      if (days.length > 0) data.BYDAY = days
      if (typeof pattern.firstDayOfWeek === 'string') data.wkst = DAY[pattern.firstDayOfWeek.toLowerCase()]
      break
    case 'absoluteMonthly': data.freq = 'MONTHLY'; data.BYMONTHDAY = [pattern.dayOfMonth]; break
    case 'relativeMonthly':
      data.freq = 'MONTHLY'
      data.BYDAY = days
      data.BYSETPOS = [index]
      break
    case 'absoluteYearly':
      data.freq = 'YEARLY'
      data.BYMONTH = [pattern.month]
      data.BYMONTHDAY = [pattern.dayOfMonth]
      break
    case 'relativeYearly':
      data.freq = 'YEARLY'
      data.BYMONTH = [pattern.month]
      data.BYDAY = days
      data.BYSETPOS = [index]
      break
    default: return undefined
  }
  if (range.type === 'numbered' && typeof range.numberOfOccurrences === 'number') {
    data.count = range.numberOfOccurrences
  } else if (range.type === 'endDate' && typeof range.endDate === 'string') {
    // The last day the series may occur on, inclusive: UNTIL as the end of that day in the event's zone.
    const iana = ianaZone(str(range.recurrenceTimeZone) ?? zone ?? 'UTC') ?? 'UTC'
    const endOfDay = new Date(`${range.endDate}T23:59:59Z`)
    const shift = Date.parse(`${wallClock(endOfDay, iana)}Z`) - endOfDay.getTime()
    data.until = ICAL.Time.fromDateTimeString(new Date(endOfDay.getTime() - shift).toISOString()
      .replace(/\.\d{3}Z$/, 'Z'))
  }
  return ICAL.Recur.fromData(data as ConstructorParameters<typeof ICAL.Recur>[0])
}

/**
 * A Graph event, read with `Prefer: outlook.timezone="UTC"` and `outlook.body-content-type="text"`, as an iCalendar
 * object (RFC 5545). Times are UTC (`…Z`); an all-day event's are DATEs in its own zone (originalStartTimeZone).
 * Attachments are not included (as in Exchange's own iCalendar export).
 */
export function eventToICalendar (e: Json): Buffer {
  const start = utcOf(e.start)
  const end = utcOf(e.end)
  if (start === undefined || end === undefined) throw new UpstreamBadResponse('event without a readable start and end')
  const zone = str(e.originalStartTimeZone)
  const cal = new ICAL.Component(['vcalendar', [], []])
  cal.addPropertyWithValue('prodid', PRODID)
  cal.addPropertyWithValue('version', '2.0')
  const ev = new ICAL.Component('vevent')
  const uid = str(e.iCalUId) ?? str(e.id)
  if (uid !== undefined) ev.addPropertyWithValue('uid', uid)
  const stamp = utcOf(e.lastModifiedDateTime) ?? new Date().toISOString()
  ev.addPropertyWithValue('dtstamp', utcTime(stamp))
  const created = utcOf(e.createdDateTime)
  if (created !== undefined) ev.addPropertyWithValue('created', utcTime(created))
  const modified = utcOf(e.lastModifiedDateTime)
  if (modified !== undefined) ev.addPropertyWithValue('last-modified', utcTime(modified))
  if (e.isAllDay === true) {
    ev.addPropertyWithValue('dtstart', dateIn(start, zone))
    ev.addPropertyWithValue('dtend', dateIn(end, zone))
  } else {
    ev.addPropertyWithValue('dtstart', utcTime(start))
    ev.addPropertyWithValue('dtend', utcTime(end))
  }
  const subject = str(e.subject)
  if (subject !== undefined) ev.addPropertyWithValue('summary', subject)
  const body = e.body as { content?: unknown } | undefined
  const description = str(body?.content)
  if (description !== undefined) ev.addPropertyWithValue('description', description)
  const location = str((e.location as Json | null | undefined)?.displayName)
  if (location !== undefined) ev.addPropertyWithValue('location', location)
  const categories = Array.isArray(e.categories) ? (e.categories as unknown[]).filter((c) => typeof c === 'string') : []
  if (categories.length > 0) ev.addProperty(propertyWith('categories', categories as string[]))
  const cls = CLASS[String(e.sensitivity)]
  if (cls !== undefined) ev.addPropertyWithValue('class', cls)
  const priority = PRIORITY[String(e.importance)]
  if (priority !== undefined) ev.addPropertyWithValue('priority', priority)
  if (typeof e.showAs === 'string') ev.addPropertyWithValue('transp', e.showAs === 'free' ? 'TRANSPARENT' : 'OPAQUE')
  const organizer = recipientOf(e.organizer)
  const attendees = Array.isArray(e.attendees) ? e.attendees as Json[] : []
  if (organizer !== undefined && attendees.length > 0) {
    const p = ev.addPropertyWithValue('organizer', `mailto:${organizer.address}`)
    if (organizer.name !== undefined) p.setParameter('cn', organizer.name)
  }
  for (const a of attendees) {
    const r = recipientOf(a)
    if (r === undefined) continue
    const p = ev.addPropertyWithValue('attendee', `mailto:${r.address}`)
    if (r.name !== undefined) p.setParameter('cn', r.name)
    const type = String(a.type ?? 'required')
    if (type === 'resource') p.setParameter('cutype', 'RESOURCE')
    p.setParameter('role', ROLE[type] ?? 'REQ-PARTICIPANT')
    p.setParameter('partstat', PARTSTAT[String((a.status as Json | undefined)?.response ?? 'none')] ?? 'NEEDS-ACTION')
  }
  if (e.recurrence !== null && typeof e.recurrence === 'object') {
    const rule = rruleOf(e.recurrence as Json, zone)
    if (rule === undefined) {
      throw new UpstreamBadResponse('event with a recurrence pattern Graph does not document')
    }
    ev.addPropertyWithValue('rrule', rule)
  }
  cal.addSubcomponent(ev)
  return Buffer.from(cal.toString(), 'utf8')
}

function propertyWith (name: string, values: string[]): ICAL.Property {
  const p = new ICAL.Property(name)
  p.setValues(values)
  return p
}

function addText (card: ICAL.Component, name: string, value: unknown, type?: string): void {
  const v = str(value)
  if (v === undefined) return
  const p = card.addPropertyWithValue(name, v)
  if (type !== undefined) p.setParameter('type', type)
}

function addAddress (card: ICAL.Component, a: unknown, type: string): void {
  const addr = a as Json | null | undefined
  if (addr === null || addr === undefined) return
  const parts = [addr.street, addr.city, addr.state, addr.postalCode, addr.countryOrRegion].map((v) => str(v) ?? '')
  if (parts.every((v) => v === '')) return
  const p = new ICAL.Property('adr')
  // ADR: post office box; extended address; street; locality; region; postal code; country (RFC 6350 §6.3.1).
  p.setValue(['', '', ...parts] as unknown as string)
  p.setParameter('type', type)
  card.addProperty(p)
}

/** A Graph contact (contact-get) as a vCard 4.0 (RFC 6350). */
export function contactToVCard (c: Json): Buffer {
  const card = new ICAL.Component(['vcard', [], []])
  card.addPropertyWithValue('version', '4.0')
  card.addPropertyWithValue('prodid', PRODID)
  const given = str(c.givenName) ?? ''
  const middle = str(c.middleName) ?? ''
  const surname = str(c.surname) ?? ''
  const fn = str(c.displayName) ?? [given, middle, surname].filter((s) => s !== '').join(' ')
  // FN is required (RFC 6350 §6.2.1); an empty one is allowed when nothing names the contact.
  card.addPropertyWithValue('fn', fn)
  const n = new ICAL.Property('n')
  // N: family; given; additional; prefixes; suffixes (RFC 6350 §6.2.2).
  n.setValue([surname, given, middle, str(c.title) ?? '', str(c.generation) ?? ''] as unknown as string)
  card.addProperty(n)
  addText(card, 'nickname', c.nickName)
  const company = str(c.companyName)
  const department = str(c.department)
  if (company !== undefined || department !== undefined) {
    const org = new ICAL.Property('org')
    org.setValue([company ?? '', ...(department !== undefined ? [department] : [])] as unknown as string)
    card.addProperty(org)
  }
  addText(card, 'title', c.jobTitle)
  addText(card, 'role', c.profession)
  for (const e of Array.isArray(c.emailAddresses) ? c.emailAddresses as Json[] : []) {
    const address = str(e.address)
    if (address !== undefined) card.addPropertyWithValue('email', address)
  }
  for (const tel of Array.isArray(c.businessPhones) ? c.businessPhones : []) addText(card, 'tel', tel, 'work,voice')
  for (const tel of Array.isArray(c.homePhones) ? c.homePhones : []) addText(card, 'tel', tel, 'home,voice')
  addText(card, 'tel', c.mobilePhone, 'cell')
  addAddress(card, c.businessAddress, 'work')
  addAddress(card, c.homeAddress, 'home')
  addAddress(card, c.otherAddress, 'other')
  addText(card, 'url', c.businessHomePage, 'work')
  const birthday = utcOf(c.birthday)?.slice(0, 10)
  if (birthday !== undefined) {
    card.addPropertyWithValue('bday', ICAL.VCardTime.fromDateAndOrTimeString(birthday, 'date'))
  }
  addText(card, 'note', c.personalNotes)
  const categories = Array.isArray(c.categories) ? (c.categories as unknown[]).filter((v) => typeof v === 'string') : []
  if (categories.length > 0) card.addProperty(propertyWith('categories', categories as string[]))
  const modified = utcOf(c.lastModifiedDateTime)
  if (modified !== undefined) {
    card.addPropertyWithValue('rev', ICAL.VCardTime.fromDateAndOrTimeString(
      modified.replace(/\.\d{3}Z$/, 'Z'), 'timestamp'))
  }
  return Buffer.from(card.toString(), 'utf8')
}
