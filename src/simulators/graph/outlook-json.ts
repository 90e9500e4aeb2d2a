/**
 * The simulator's Outlook resources: message, event, contact and fileAttachment JSON (shapes of the v1.0 CSDL,
 * msgraph-metadata schemas/v1.0-Prod.csdl; test/simulators/graph-outlook-csdl/) from an item's content
 * (src/simulators/store/content.ts), and item content from the create bodies the Outlook APIs take
 * (mailfolder-post-messages, user-post-events, contactfolder-post-contacts), with single-value extended
 * properties on both sides (extended-properties-overview: `{type} {tag}` or `{type} {guid} Name|Id …`).
 */
import { findWindows } from 'windows-iana'
import {
  contentKind, MSGFLAG, newGlobalObjectId, type ContentAttachment, type ContentExtendedProperty, type ItemContent,
  type MailAddress
} from '../store/content.js'
import {
  PT_BINARY, PT_BOOLEAN, PT_CLSID, PT_DOUBLE, PT_INT32, PT_INT64, PT_SHORT, PT_SYSTIME, PT_UNICODE,
  PT_UNICODE_CP1200, fromFileTime, toFileTime, type PropValue
} from '../store/fts.js'
import type { StoreItem, StoreMailbox } from '../store/store.js'
import { badRequest, notFound, type GraphError } from './http.js'
import { isoDate } from './ids.js'
import { entryIdOf, restIdOf } from './outlook-ids.js'
import { normalizePropId } from './serialize.js'
import { graphDateTime, ianaZone, instantOf } from '../../protocol/time-zones.js'

type Json = Record<string, unknown>

/** MAPI property types ([MS-OXCDATA] 2.11.1) ↔ the type names of Graph's extended-property ids. */
const TYPE_NAMES: Array<[number, string]> = [
  [PT_UNICODE_CP1200, 'String'], [PT_UNICODE, 'String'], [PT_INT32, 'Integer'], [PT_BOOLEAN, 'Boolean'],
  [PT_SYSTIME, 'SystemTime'], [PT_BINARY, 'Binary'], [PT_INT64, 'Long'], [PT_DOUBLE, 'Double'], [PT_CLSID, 'CLSID'],
  [PT_SHORT, 'Short']
]
const typeName = (type: number): string | undefined => TYPE_NAMES.find(([t]) => t === type)?.[1]
const typeOf = (name: string): number | undefined =>
  TYPE_NAMES.find(([, n]) => n.toLowerCase() === name.toLowerCase())?.[0]

function guidText (b: Buffer): string {
  const h = Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8, 16)]).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** A MAPI value as Graph writes it in `singleValueLegacyExtendedProperty.value`: text. */
function valueText (type: number, v: PropValue): string | undefined {
  if (type === PT_SYSTIME && typeof v === 'bigint') return isoDate(fromFileTime(v))
  if (type === PT_BOOLEAN) return v !== 0 ? 'true' : 'false'
  if (type === PT_CLSID && Buffer.isBuffer(v)) return guidText(v)
  if (Buffer.isBuffer(v)) return v.toString('base64')
  if (Array.isArray(v)) return undefined
  return String(v)
}

/** Graph's text of a value as a MAPI value of `type`; undefined when it does not read as one. */
function valueOf (type: number, text: string): PropValue | undefined {
  switch (type) {
    case PT_UNICODE: case PT_UNICODE_CP1200: return text
    case PT_INT32: case PT_SHORT: return /^-?\d+$/.test(text.trim()) ? Number(text) : undefined
    case PT_DOUBLE: return Number.isFinite(Number(text)) ? Number(text) : undefined
    case PT_BOOLEAN: return /^(true|false)$/i.test(text) ? (text.toLowerCase() === 'true' ? 1 : 0) : undefined
    case PT_INT64: return /^-?\d+$/.test(text.trim()) ? BigInt(text) : undefined
    case PT_SYSTIME: return Number.isNaN(Date.parse(text)) ? undefined : toFileTime(new Date(text))
    case PT_BINARY: return /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined
    default: return undefined
  }
}

/** An extended property's Graph id, as Outlook echoes it (`String 0x37`, `String {guid} Name X`). */
export function extendedIdOf (p: ContentExtendedProperty): string | undefined {
  const name = typeName(p.type)
  if (name === undefined) return undefined
  if (p.tag !== undefined) return normalizePropId(`${name} 0x${p.tag.toString(16)}`)
  if (p.name === undefined) return undefined
  return p.name.name !== undefined
    ? `${name} {${p.name.guid}} Name ${p.name.name}`
    : `${name} {${p.name.guid}} Id 0x${(p.name.lid ?? 0).toString(16)}`
}

/** A Graph extended-property id parsed: tag or name, and type; undefined when malformed. */
export function parseExtendedId (id: string): Omit<ContentExtendedProperty, 'value'> | undefined {
  const tag = /^(\w+)\s+0x([0-9a-f]{1,4})$/i.exec(id.trim())
  if (tag !== null) {
    const type = typeOf(tag[1])
    return type === undefined ? undefined : { tag: parseInt(tag[2], 16), type }
  }
  const named = /^(\w+)\s+\{([0-9a-f-]{36})\}\s+(Name|Id)\s+(.+)$/i.exec(id.trim())
  if (named === null) return undefined
  const type = typeOf(named[1])
  if (type === undefined) return undefined
  const guid = named[2].toLowerCase()
  if (named[3].toLowerCase() === 'name') return { type, name: { guid, name: named[4] } }
  const lid = Number(named[4])
  return Number.isInteger(lid) ? { type, name: { guid, lid } } : undefined
}

/** Same property id, Outlook-style loose comparison (tag spelling, GUID case and braces). */
function sameId (a: string, b: string): boolean {
  const norm = (s: string): string => normalizePropId(s).toLowerCase().replace(/[{}]/g, '').replace(/\s+/g, ' ')
  return norm(a) === norm(b)
}

/**
 * The extended properties Graph can expand on an item: its entry id, the modelled MAPI properties it shows by tag,
 * and every unmodelled property of its stream.
 */
function extendedOf (item: StoreItem, content: ItemContent): Array<[string, string | undefined]> {
  const t = (d: Date | undefined): string | undefined => d !== undefined ? isoDate(d) : undefined
  const flags = (content.messageFlags ?? 0) | (item.isRead ? MSGFLAG.read : 0)
  const out: Array<[string, string | undefined]> = [
    ['Binary 0xfff', entryIdOf(item.id).toString('base64')],
    ['String 0x1a', content.itemClass],
    ['String 0x37', content.subject],
    ['Integer 0xe07', String(flags)],
    ['SystemTime 0x39', t(content.sent)],
    ['SystemTime 0xe06', t(content.received)],
    ['Integer 0x36', content.sensitivity !== undefined
      ? String(['normal', 'personal', 'private', 'confidential'].indexOf(content.sensitivity))
      : undefined],
    ['String 0x1035', content.internetMessageId],
    ['Binary 0x300b', item.searchKey.toString('base64')]
  ]
  for (const p of content.extended) {
    const id = extendedIdOf(p)
    if (id !== undefined) out.push([id, valueText(p.type, p.value)])
  }
  return out
}

/** `singleValueExtendedProperties` for an `$expand` filter (ids) or all ('all'). */
export function expandedProperties (item: StoreItem, content: ItemContent,
  spec: string[] | 'all'): Array<{ id: string, value: string }> {
  const out: Array<{ id: string, value: string }> = []
  for (const [id, value] of extendedOf(item, content)) {
    if (value === undefined) continue
    if (spec === 'all' || spec.some((s) => sameId(s, id))) out.push({ id, value })
  }
  return out
}

const recipient = (a: MailAddress | undefined): Json | null =>
  a === undefined ? null : { emailAddress: { name: a.name ?? a.address, address: a.address } }

/** The body as Graph answers it, in the type `Prefer: outlook.body-content-type` asks for (default: as stored). */
export function bodyJson (body: ItemContent['body'], want: 'text' | 'html' | undefined): Json {
  const text = body?.text
  const html = body?.html
  if (want === 'text' || (want === undefined && html === undefined)) {
    return { contentType: 'text', content: text ?? (html !== undefined ? htmlToText(html) : '') }
  }
  return { contentType: 'html', content: html ?? `<html><body>${escapeHtml(text ?? '')}</body></html>` }
}

function htmlToText (html: string): string {
  return html.replace(/<(br|\/p|\/div)\s*\/?>/gi, '\n').replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&').trim()
}

function escapeHtml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '<br>')
}

function preview (body: ItemContent['body']): string {
  const text = body?.text ?? (body?.html !== undefined ? htmlToText(body.html) : '')
  return text.replace(/\s+/g, ' ').trim().slice(0, 255)
}

const common = (item: StoreItem, content: ItemContent): Json => ({
  '@odata.etag': `W/"${item.changeKey}"`,
  id: restIdOf(item.id),
  createdDateTime: isoDate(item.created),
  lastModifiedDateTime: isoDate(item.modified),
  changeKey: item.changeKey,
  categories: content.categories ?? []
})

const flagTime = (d: Date | undefined): Json | undefined =>
  d === undefined ? undefined : { dateTime: graphDateTime(d, 'UTC'), timeZone: 'UTC' }

/** A message resource (message-get). */
export function messageJson (item: StoreItem, content: ItemContent, bodyType: 'text' | 'html' | undefined): Json {
  const to = content.recipients.filter((r) => r.type === 'to')
  const cc = content.recipients.filter((r) => r.type === 'cc')
  const bcc = content.recipients.filter((r) => r.type === 'bcc')
  const flag = content.flag
  return {
    ...common(item, content),
    receivedDateTime: isoDate(content.received ?? item.created),
    sentDateTime: content.sent !== undefined ? isoDate(content.sent) : null,
    hasAttachments: content.attachments.some((a) => a.isInline !== true),
    internetMessageId: content.internetMessageId ?? null,
    subject: content.subject ?? '',
    bodyPreview: preview(content.body),
    importance: content.importance ?? 'normal',
    parentFolderId: restIdOf(item.folderId),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: item.isRead,
    isDraft: content.isDraft === true,
    inferenceClassification: 'focused',
    body: bodyJson(content.body, bodyType),
    sender: recipient(content.sender ?? content.from),
    from: recipient(content.from ?? content.sender),
    toRecipients: to.map(recipient),
    ccRecipients: cc.map(recipient),
    bccRecipients: bcc.map(recipient),
    replyTo: [],
    flag: flag === undefined
      ? { flagStatus: 'notFlagged' }
      : Object.fromEntries(Object.entries({
        flagStatus: flag.status,
        startDateTime: flagTime(flag.start),
        dueDateTime: flagTime(flag.due),
        completedDateTime: flagTime(flag.completed)
      }).filter(([, v]) => v !== undefined))
  }
}

const ATTENDEE_TYPE = ['required', 'optional', 'resource']

/**
 * An event resource (event-get): times in the zone `Prefer: outlook.timezone` names (UTC when absent), as Graph
 * answers them; `originalStartTimeZone` the event's own zone.
 */
export function eventJson (item: StoreItem, content: ItemContent, mailbox: StoreMailbox,
  zone: { name: string, iana: string }, bodyType: 'text' | 'html' | undefined): Json {
  const a = content.appointment
  if (a === undefined) throw notFound()
  const own = a.timeZone ?? 'UTC'
  const organizer = a.organizer ?? content.from ?? { name: mailbox.displayName, address: mailbox.smtp }
  return {
    ...common(item, content),
    originalStartTimeZone: own,
    originalEndTimeZone: own,
    iCalUId: a.uid ?? null,
    reminderMinutesBeforeStart: 15,
    isReminderOn: false,
    hasAttachments: content.attachments.length > 0,
    subject: content.subject ?? '',
    bodyPreview: preview(content.body),
    importance: content.importance ?? 'normal',
    sensitivity: content.sensitivity ?? 'normal',
    isAllDay: a.isAllDay === true,
    isCancelled: false,
    isOrganizer: a.attendees.length === 0 || organizer.address.toLowerCase() === mailbox.smtp,
    responseRequested: true,
    seriesMasterId: null,
    showAs: a.busyStatus ?? 'busy',
    type: 'singleInstance',
    body: bodyJson(content.body, bodyType),
    start: { dateTime: graphDateTime(a.start, zone.iana), timeZone: zone.name },
    end: { dateTime: graphDateTime(a.end, zone.iana), timeZone: zone.name },
    location: { displayName: a.location ?? '', locationType: 'default', uniqueIdType: 'unknown' },
    locations: a.location !== undefined ? [{ displayName: a.location, locationType: 'default' }] : [],
    recurrence: null,
    attendees: a.attendees.filter((x) => x.isOrganizer !== true).map((x) => ({
      type: ATTENDEE_TYPE.includes(x.type) ? x.type : 'required',
      status: { response: x.response ?? 'none', time: '0001-01-01T00:00:00Z' },
      emailAddress: { name: x.name ?? x.address, address: x.address }
    })),
    organizer: recipient(organizer)
  }
}

const postal = (p: object | undefined): Json => ({ ...(p ?? {}) })

/** A contact resource (contact-get). */
export function contactJson (item: StoreItem, content: ItemContent): Json {
  const c = content.contact
  if (c === undefined) throw notFound()
  return {
    ...common(item, content),
    parentFolderId: restIdOf(item.folderId),
    birthday: c.birthday !== undefined ? `${c.birthday}T00:00:00Z` : null,
    fileAs: c.fileAs ?? '',
    displayName: c.displayName ?? '',
    givenName: c.givenName ?? null,
    initials: null,
    middleName: c.middleName ?? null,
    nickName: c.nickName ?? null,
    surname: c.surname ?? null,
    title: null,
    generation: null,
    imAddresses: [],
    jobTitle: c.jobTitle ?? null,
    companyName: c.companyName ?? null,
    department: c.department ?? null,
    officeLocation: null,
    profession: null,
    businessHomePage: null,
    assistantName: null,
    manager: null,
    homePhones: c.homePhones,
    mobilePhone: c.mobilePhone ?? null,
    businessPhones: c.businessPhones,
    spouseName: null,
    personalNotes: content.body?.text ?? '',
    children: [],
    emailAddresses: c.emailAddresses.map((e) => ({ name: e.name ?? e.address, address: e.address })),
    homeAddress: postal(c.homeAddress),
    businessAddress: postal(c.businessAddress),
    otherAddress: {}
  }
}

/** An attachment id: the item's entry id and the attachment's position, URL-safe base64. */
export function attachmentId (item: StoreItem, index: number): string {
  return Buffer.concat([entryIdOf(item.id), Buffer.from([0, index & 0xff, index >> 8])]).toString('base64')
    .replace(/\+/g, '-').replace(/\//g, '_')
}

/** A fileAttachment resource (attachment-get). */
export function attachmentJson (item: StoreItem, a: ContentAttachment, index: number): Json {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType ?? 'application/octet-stream',
    id: attachmentId(item, index),
    lastModifiedDateTime: isoDate(a.lastModified ?? item.modified),
    name: a.name,
    contentType: a.contentType ?? 'application/octet-stream',
    size: a.data.length,
    isInline: a.isInline === true,
    contentId: a.contentId ?? null,
    contentLocation: null,
    contentBytes: a.data.toString('base64')
  }
}

// ------------------------------------------------------------------------------------------------ create bodies

const invalid = (message: string): GraphError => badRequest(message, 'ErrorInvalidRequest')

/** Graph's answer to a zone it does not know (in dateTimeTimeZone or Prefer: outlook.timezone). */
export const zoneNotSupported = (zone: string): GraphError => badRequest('A valid TimeZone value must be specified. ' +
  `The following TimeZone value is not supported: '${zone}'.`, 'TimeZoneNotSupportedException')

function str (v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw invalid(`The property '${field}' has an invalid value.`)
  return v
}

function addressOf (v: unknown, field: string): MailAddress | undefined {
  if (v === undefined || v === null) return undefined
  const email = (v as { emailAddress?: unknown }).emailAddress as Json | undefined
  const address = str(email?.address, `${field}.emailAddress.address`)
  if (address === undefined || !address.includes('@')) {
    throw badRequest(`At least one recipient is not valid., Recipient '${String(address)}' is not resolved.`,
      'ErrorInvalidRecipients')
  }
  const name = str(email?.name, `${field}.emailAddress.name`)
  return name !== undefined ? { name, address } : { address }
}

function addresses (v: unknown, field: string): MailAddress[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw invalid(`The property '${field}' has an invalid value.`)
  return v.map((r, i) => addressOf(r, `${field}[${i}]`) as MailAddress)
}

function bodyOf (v: unknown): ItemContent['body'] {
  if (v === undefined || v === null) return undefined
  const b = v as Json
  const content = str(b.content, 'body.content') ?? ''
  return String(b.contentType ?? 'text').toLowerCase() === 'html' ? { html: content } : { text: content }
}

function pick<T extends string> (v: unknown, allowed: readonly T[], field: string): T | undefined {
  if (v === undefined || v === null) return undefined
  const s = typeof v === 'string' ? allowed.find((a) => a.toLowerCase() === v.toLowerCase()) : undefined
  if (s === undefined) throw invalid(`The property '${field}' has an invalid value.`)
  return s
}

function categoriesOf (v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) {
    throw invalid("The property 'categories' has an invalid value.")
  }
  return v as string[]
}

/** A `dateTimeTimeZone` as an instant and the zone named (400 as Graph answers a bad one). */
export function instantOfDateTimeTimeZone (v: unknown, field: string): { at: Date, zone: string } {
  const d = v as Json | undefined
  const dateTime = str(d?.dateTime, `${field}.dateTime`)
  const zone = str(d?.timeZone, `${field}.timeZone`) ?? 'UTC'
  if (dateTime === undefined) throw invalid(`The property '${field}' is required.`)
  const iana = ianaZone(zone)
  if (iana === undefined) {
    throw zoneNotSupported(zone)
  }
  const at = instantOf(dateTime.replace(/Z$/, ''), iana)
  if (at === undefined) throw invalid(`The property '${field}.dateTime' has an invalid value.`)
  return { at, zone }
}

function attachmentsOf (v: unknown): ContentAttachment[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw invalid("The property 'attachments' has an invalid value.")
  return (v as Json[]).map((a, i) => {
    const type = String(a['@odata.type'] ?? '')
    if (!/fileAttachment$/i.test(type)) {
      throw invalid(`attachments[${i}]: only #microsoft.graph.fileAttachment is supported in this request.`)
    }
    const name = str(a.name, `attachments[${i}].name`) ?? ''
    const bytes = str(a.contentBytes, `attachments[${i}].contentBytes`)
    if (bytes === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) {
      throw badRequest('Invalid base64 string for attachment contentBytes.', 'ErrorInvalidRequest')
    }
    const contentType = str(a.contentType, `attachments[${i}].contentType`)
    const contentId = str(a.contentId, `attachments[${i}].contentId`)
    return {
      name,
      data: Buffer.from(bytes, 'base64'),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(contentId !== undefined ? { contentId } : {}),
      ...(a.isInline === true ? { isInline: true } : {})
    }
  })
}

/** singleValueExtendedProperties of a create body, parsed (400 for a malformed id or value). */
function extendedOfBody (v: unknown): ContentExtendedProperty[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw invalid("The property 'singleValueExtendedProperties' has an invalid value.")
  return (v as Json[]).map((e) => {
    const id = str(e.id, 'singleValueExtendedProperties.id') ?? ''
    const parsed = parseExtendedId(id)
    if (parsed === undefined) {
      throw badRequest(`The extended property id '${id}' is not valid.`, 'ErrorInvalidExtendedPropertyValue')
    }
    const value = valueOf(parsed.type, str(e.value, 'singleValueExtendedProperties.value') ?? '')
    if (value === undefined) {
      throw badRequest(`The value of extended property '${id}' is not valid for its type.`,
        'ErrorInvalidExtendedPropertyValue')
    }
    return { ...parsed, value }
  })
}

const IMPORTANCE = ['low', 'normal', 'high'] as const
const SENSITIVITY = ['normal', 'personal', 'private', 'confidential'] as const
const SHOW_AS = ['free', 'tentative', 'busy', 'oof', 'workingElsewhere'] as const

/**
 * The content of a message created from JSON (mailfolder-post-messages). Graph creates a draft
 * (PidTagMessageFlags mfUnsent) unless the create sets PidTagMessageFlags itself, which [MS-OXCMSG] 2.2.1.6 allows
 * until the first save; PidTagClientSubmitTime and PidTagMessageDeliveryTime set on create become the sent and
 * received times.
 */
export function messageFromJson (body: Json, now: Date): ItemContent {
  const extended = extendedOfBody(body.singleValueExtendedProperties)
  const content: ItemContent = {
    itemClass: 'IPM.Note',
    recipients: [
      ...addresses(body.toRecipients, 'toRecipients').map((a) => ({ ...a, type: 'to' as const })),
      ...addresses(body.ccRecipients, 'ccRecipients').map((a) => ({ ...a, type: 'cc' as const })),
      ...addresses(body.bccRecipients, 'bccRecipients').map((a) => ({ ...a, type: 'bcc' as const }))
    ],
    attachments: attachmentsOf(body.attachments),
    extended: [],
    created: now,
    isDraft: true,
    messageFlags: MSGFLAG.read | MSGFLAG.unsent
  }
  const subject = str(body.subject, 'subject')
  if (subject !== undefined) content.subject = subject
  const b = bodyOf(body.body)
  if (b !== undefined) content.body = b
  const importance = pick(body.importance, IMPORTANCE, 'importance')
  if (importance !== undefined) content.importance = importance
  const categories = categoriesOf(body.categories)
  if (categories !== undefined) content.categories = categories
  const from = addressOf(body.from, 'from')
  if (from !== undefined) content.from = from
  const sender = addressOf(body.sender, 'sender')
  if (sender !== undefined) content.sender = sender
  const mid = str(body.internetMessageId, 'internetMessageId')
  if (mid !== undefined) content.internetMessageId = mid
  const flag = body.flag as Json | undefined
  if (flag !== undefined && flag !== null) {
    const status = pick(flag.flagStatus, ['notFlagged', 'flagged', 'complete'] as const, 'flag.flagStatus')
    const when = (k: string): Date | undefined => flag[k] !== undefined && flag[k] !== null
      ? instantOfDateTimeTimeZone(flag[k], `flag.${k}`).at
      : undefined
    content.flag = {
      status: status ?? 'notFlagged',
      ...(when('startDateTime') !== undefined ? { start: when('startDateTime') } : {}),
      ...(when('dueDateTime') !== undefined ? { due: when('dueDateTime') } : {}),
      ...(when('completedDateTime') !== undefined ? { completed: when('completedDateTime') } : {})
    }
  }
  for (const e of extended) {
    if (e.tag === 0x0e07 && typeof e.value === 'number') {
      content.messageFlags = e.value
      content.isDraft = (e.value & MSGFLAG.unsent) !== 0
      content.isRead = (e.value & MSGFLAG.read) !== 0
    } else if (e.tag === 0x0039 && typeof e.value === 'bigint') {
      content.sent = fromFileTime(e.value)
    } else if (e.tag === 0x0e06 && typeof e.value === 'bigint') {
      content.received = fromFileTime(e.value)
    } else if (e.tag === 0x0036 && typeof e.value === 'number') {
      content.sensitivity = SENSITIVITY[e.value] ?? 'normal'
    } else {
      content.extended.push(e)
    }
  }
  if (content.isRead === undefined) content.isRead = body.isRead !== false
  return content
}

/** The content of an event created from JSON (user-post-events), organized by the mailbox's owner. */
export function eventFromJson (body: Json, mailbox: StoreMailbox, now: Date): ItemContent {
  const start = instantOfDateTimeTimeZone(body.start, 'start')
  const end = instantOfDateTimeTimeZone(body.end, 'end')
  if (end.at.getTime() < start.at.getTime()) throw invalid('The end of an event must not be before its start.')
  const isAllDay = body.isAllDay === true
  if (isAllDay && !(/T00:00(:00(\.0+)?)?$/.test(String((body.start as Json).dateTime)) &&
    /T00:00(:00(\.0+)?)?$/.test(String((body.end as Json).dateTime)))) {
    throw badRequest('For an all-day event, the start and end must be midnight in the same time zone.',
      'ErrorPropertyValidationFailure')
  }
  const windows = ianaZone(start.zone) === 'UTC' ? 'UTC' : findWindows(ianaZone(start.zone) as string)?.[0]
  const attendees = Array.isArray(body.attendees)
    ? (body.attendees as Json[]).map((a, i) => ({
        ...(addressOf(a, `attendees[${i}]`) as MailAddress),
        type: pick(a.type, ['required', 'optional', 'resource'] as const, `attendees[${i}].type`) ?? 'required',
        response: 'none' as const
      }))
    : []
  const location = (body.location as Json | undefined)?.displayName
  const content: ItemContent = {
    itemClass: 'IPM.Appointment',
    recipients: [],
    attachments: [],
    extended: extendedOfBody(body.singleValueExtendedProperties),
    created: now,
    from: { name: mailbox.displayName, address: mailbox.smtp },
    appointment: {
      start: start.at,
      end: end.at,
      isAllDay,
      attendees,
      organizer: { name: mailbox.displayName, address: mailbox.smtp },
      uid: newGlobalObjectId(now).toString('hex').toUpperCase(),
      ...(typeof location === 'string' && location !== '' ? { location } : {}),
      ...(windows !== undefined ? { timeZone: /\//.test(start.zone) ? windows : start.zone } : {}),
      busyStatus: pick(body.showAs, SHOW_AS, 'showAs') ?? 'busy',
      isMeeting: attendees.length > 0
    }
  }
  const subject = str(body.subject, 'subject')
  if (subject !== undefined) content.subject = subject
  const b = bodyOf(body.body)
  if (b !== undefined) content.body = b
  const importance = pick(body.importance, IMPORTANCE, 'importance')
  if (importance !== undefined) content.importance = importance
  const sensitivity = pick(body.sensitivity, SENSITIVITY, 'sensitivity')
  if (sensitivity !== undefined) content.sensitivity = sensitivity
  const categories = categoriesOf(body.categories)
  if (categories !== undefined) content.categories = categories
  return content
}

function postalOf (v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined
  const p = v as Json
  const out: Record<string, string> = {}
  for (const k of ['street', 'city', 'state', 'postalCode', 'countryOrRegion']) {
    const s = str(p[k], `${field}.${k}`)
    if (s !== undefined && s !== '') out[k] = s
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function stringList (v: unknown, field: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalid(`The property '${field}' has an invalid value.`)
  }
  return v as string[]
}

/** The content of a contact created from JSON (contactfolder-post-contacts). */
export function contactFromJson (body: Json, now: Date): ItemContent {
  const emails = Array.isArray(body.emailAddresses)
    ? (body.emailAddresses as Json[])
        .map((e, i) => addressOf({ emailAddress: e }, `emailAddresses[${i}]`) as MailAddress)
    : []
  if (emails.length > 3) throw invalid('A contact has at most three e-mail addresses.')
  const s = (k: string): string | undefined => str(body[k], k)
  const birthday = s('birthday')
  if (birthday !== undefined && Number.isNaN(Date.parse(birthday))) {
    throw invalid("The property 'birthday' has an invalid value.")
  }
  const notes = s('personalNotes')
  const contact = Object.fromEntries(Object.entries({
    displayName: s('displayName'),
    givenName: s('givenName'),
    middleName: s('middleName'),
    surname: s('surname'),
    nickName: s('nickName'),
    fileAs: s('fileAs'),
    companyName: s('companyName'),
    department: s('department'),
    jobTitle: s('jobTitle'),
    emailAddresses: emails,
    businessPhones: stringList(body.businessPhones, 'businessPhones'),
    homePhones: stringList(body.homePhones, 'homePhones'),
    mobilePhone: s('mobilePhone'),
    businessAddress: postalOf(body.businessAddress, 'businessAddress'),
    homeAddress: postalOf(body.homeAddress, 'homeAddress'),
    birthday: birthday !== undefined ? new Date(birthday).toISOString().slice(0, 10) : undefined
  }).filter(([, v]) => v !== undefined)) as unknown as NonNullable<ItemContent['contact']>
  const displayName = contact.displayName ?? [contact.givenName, contact.middleName, contact.surname]
    .filter((x) => x !== undefined).join(' ')
  const content: ItemContent = {
    itemClass: 'IPM.Contact',
    recipients: [],
    attachments: [],
    extended: extendedOfBody(body.singleValueExtendedProperties),
    created: now,
    subject: displayName,
    contact: { ...contact, displayName }
  }
  if (notes !== undefined && notes !== '') content.body = { text: notes }
  const categories = categoriesOf(body.categories)
  if (categories !== undefined) content.categories = categories
  return content
}

/** Whether the class of a stored item is served by a resource (`messages`, `events`, `contacts`). */
export function servedBy (itemClass: string, resource: 'messages' | 'events' | 'contacts'): boolean {
  const kind = contentKind(itemClass)
  if (resource === 'events') return kind === 'appointment'
  return resource === 'contacts' ? kind === 'contact' : kind === 'message'
}
