/**
 * Graph's Outlook resources (message, event, contact, attachment: https://learn.microsoft.com/graph/api/resources/message
 * and siblings) ↔ the port's property set (ItemProperties, src/schemas/item-properties.ts, whose field names follow
 * these resources). Reading checks what it takes (a value the schema cannot carry is left out when optional, else a
 * 502); writing builds the create bodies of mailfolder-post-messages, user-post-events and contactfolder-post-contacts.
 * What a kind has no Graph field for is set through single-value extended properties on create
 * (singlevaluelegacyextendedproperty-post-singlevalueextendedproperties), or refused: nothing is dropped in silence.
 */
import { DataIncompatible, DataInvalid, NotSupported, TooLarge, UpstreamBadResponse } from '../../errors.js'
import { isDateTime } from '../answers.js'
import type { ItemProperties } from '../mailbox-backend.js'
import type { ExtendedPropertyT } from '../../schemas/item-properties.js'
import { ianaZone, instantOf, wallClock } from '../../protocol/time-zones.js'

type Json = Record<string, unknown>
type Recipient = NonNullable<ItemProperties['from']>
type Attachment = NonNullable<ItemProperties['attachments']>[number]
type Address = NonNullable<ItemProperties['businessAddress']>

/** Graph's emailAddress inside a recipient. */
export interface GraphRecipient { emailAddress?: { name?: string | null, address?: string | null } | null }
export interface GraphDateTimeTimeZone { dateTime?: string, timeZone?: string }
export interface GraphBody { contentType?: string, content?: string }

/** The largest attachment a create request carries in its JSON body (https://learn.microsoft.com/graph/outlook-large-attachments). */
export const MAX_INLINE_ATTACHMENT_BYTES = 3 * 1024 * 1024

/**
 * PidTagMessageFlags ([MS-OXCMSG] 2.2.1.6): settable until the first save; mfRead = 1, mfUnsent (draft) = 8. The
 * adapter writes 1 or 0 on create, so an imported message is never a draft.
 */
export const MESSAGE_FLAGS_ID = 'Integer 0x0E07'
/** PidTagClientSubmitTime ([MS-OXOMSG] 2.2.3.11): Graph's sentDateTime. */
export const CLIENT_SUBMIT_TIME_ID = 'SystemTime 0x0039'
/** PidTagMessageDeliveryTime ([MS-OXOMSG] 2.2.3.9): Graph's receivedDateTime. */
export const DELIVERY_TIME_ID = 'SystemTime 0x0E06'
/** PidTagSensitivity ([MS-OXCMSG] 2.2.1.13): messages have no sensitivity field in Graph v1.0. */
export const SENSITIVITY_ID = 'Integer 0x0036'
/** PidTagEntryId ([MS-OXPROPS] 2.683): the bridge between the mailbox API and the Outlook APIs. */
export const ENTRY_ID_ID = 'Binary 0x0FFF'

const SENSITIVITIES = ['normal', 'personal', 'private', 'confidential'] as const
const IMPORTANCES = ['low', 'normal', 'high'] as const

const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

/**
 * A Graph time as RFC 3339 UTC: a DateTimeOffset (`…Z` or with an offset) as it is, a dateTimeTimeZone (wall clock +
 * zone) converted. Undefined when absent or unreadable.
 */
export function utcOf (v: unknown): string | undefined {
  if (typeof v === 'string') return isDateTime(v) ? new Date(v).toISOString() : undefined
  if (v === null || typeof v !== 'object') return undefined
  const { dateTime, timeZone } = v as GraphDateTimeTimeZone
  if (typeof dateTime !== 'string') return undefined
  const iana = ianaZone(typeof timeZone === 'string' ? timeZone : 'UTC')
  if (iana === undefined) return undefined
  return instantOf(dateTime, iana)?.toISOString()
}

export function recipientOf (r: unknown): Recipient | undefined {
  const email = (r as GraphRecipient | null | undefined)?.emailAddress
  const address = str(email?.address)
  if (address === undefined) return undefined
  const name = str(email?.name)
  return { ...(name !== undefined ? { name } : {}), address }
}

function recipientsOf (list: unknown): Recipient[] | undefined {
  if (!Array.isArray(list)) return undefined
  return list.map(recipientOf).filter((r): r is Recipient => r !== undefined)
}

function bodyOf (b: unknown): ItemProperties['body'] {
  const body = b as GraphBody | null | undefined
  if (typeof body?.content !== 'string') return undefined
  return body.contentType?.toLowerCase() === 'html' ? { html: body.content } : { text: body.content }
}

function strings (v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined
}

function pick<T extends string> (v: unknown, allowed: readonly T[]): T | undefined {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v) ? v as T : undefined
}

/** Drops undefined fields (ItemProperties leaves out what an item does not have). */
function compact<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** The Graph id of an extended property (extended-properties-overview: `{type} {tag}`, `{type} {guid} Name|Id …`). */
export function extendedPropertyId (p: ExtendedPropertyT): string {
  if (p.propertyTag !== undefined) return `${p.propertyType} ${p.propertyTag}`
  if (p.propertySetId !== undefined && p.propertyName !== undefined) {
    return `${p.propertyType} {${p.propertySetId}} Name ${p.propertyName}`
  }
  if (p.propertySetId !== undefined && p.propertyId !== undefined) {
    return `${p.propertyType} {${p.propertySetId}} Id 0x${p.propertyId.toString(16)}`
  }
  throw new DataInvalid('an extended property needs propertyTag, or propertySetId with propertyName or propertyId')
}

/** Outlook echoes tags normalized (`String 0x0037` → `String 0x37`) and GUIDs in any case: compare loosely. */
export function sameExtendedId (a: string, b: string): boolean {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, ' ')
    .replace(/0x0*([0-9a-f]+)/g, (_m, hex: string) => `0x${hex}`).replace(/[{}]/g, '')
  return norm(a) === norm(b)
}

/** The `$expand` of the requested extended properties (undefined when none). */
export function extendedExpand (ids: string[]): string | undefined {
  if (ids.length === 0) return undefined
  return `singleValueExtendedProperties($filter=${ids.map((id) => `id eq '${id.replace(/'/g, "''")}'`).join(' or ')})`
}

/** The requested extended properties with the values Graph answered (absent value: the item has none). */
export function extendedPropertiesOf (requested: ExtendedPropertyT[], answered: unknown): ExtendedPropertyT[] {
  const list = Array.isArray(answered) ? answered as Array<{ id?: unknown, value?: unknown }> : []
  return requested.map((p) => {
    const id = extendedPropertyId(p)
    const hit = list.find((e) => typeof e.id === 'string' && sameExtendedId(e.id, id))
    const { value: _ignored, ...rest } = p
    return typeof hit?.value === 'string' ? { ...rest, value: hit.value } : rest
  })
}

/** The value of one extended property in an answer, by id. */
export function extendedValue (answered: unknown, id: string): string | undefined {
  const list = Array.isArray(answered) ? answered as Array<{ id?: unknown, value?: unknown }> : []
  const hit = list.find((e) => typeof e.id === 'string' && sameExtendedId(e.id, id))
  return typeof hit?.value === 'string' ? hit.value : undefined
}

/** A Graph attachment (fileAttachment, itemAttachment, referenceAttachment) as AttachmentInfo. */
export function attachmentOf (a: Json): Attachment | undefined {
  const name = typeof a.name === 'string' ? a.name : undefined
  if (name === undefined) return undefined
  const type = typeof a['@odata.type'] === 'string' ? a['@odata.type'].toLowerCase() : ''
  const kind = type.endsWith('itemattachment') ? 'item' : type.endsWith('referenceattachment') ? 'reference' : 'file'
  const size = typeof a.size === 'number' && Number.isSafeInteger(a.size) && a.size >= 0 ? a.size : undefined
  return compact({
    name,
    contentType: str(a.contentType),
    size,
    isInline: typeof a.isInline === 'boolean' ? a.isInline : undefined,
    contentId: str(a.contentId),
    kind,
    contentBytes: kind === 'file' ? str(a.contentBytes) : undefined
  }) as Attachment
}

function flagOf (f: unknown): ItemProperties['flag'] {
  const flag = f as Json | null | undefined
  const status = pick(flag?.flagStatus, ['notFlagged', 'flagged', 'complete'] as const)
  if (status === undefined) return undefined
  return compact({
    flagStatus: status,
    startDateTime: utcOf(flag?.startDateTime),
    dueDateTime: utcOf(flag?.dueDateTime),
    completedDateTime: utcOf(flag?.completedDateTime)
  })
}

/** The fields every kind shares. */
function common (o: Json, itemClass: string | undefined): Partial<ItemProperties> {
  return {
    itemClass,
    subject: typeof o.subject === 'string' ? o.subject : undefined,
    importance: pick(o.importance, IMPORTANCES),
    categories: strings(o.categories),
    createdDateTime: utcOf(o.createdDateTime),
    lastModifiedDateTime: utcOf(o.lastModifiedDateTime)
  }
}

/** A Graph message (message-get) as ItemProperties; `sensitivity` from PidTagSensitivity when it was expanded. */
export function messageProperties (m: Json, itemClass: string | undefined): ItemProperties {
  const sensitivity = Number(extendedValue(m.singleValueExtendedProperties, SENSITIVITY_ID))
  return compact({
    kind: 'message',
    ...common(m, itemClass),
    body: bodyOf(m.body),
    sensitivity: Number.isInteger(sensitivity) ? SENSITIVITIES[sensitivity] : undefined,
    flag: flagOf(m.flag),
    from: recipientOf(m.from),
    sender: recipientOf(m.sender),
    toRecipients: recipientsOf(m.toRecipients),
    ccRecipients: recipientsOf(m.ccRecipients),
    bccRecipients: recipientsOf(m.bccRecipients),
    replyTo: recipientsOf(m.replyTo),
    sentDateTime: utcOf(m.sentDateTime),
    receivedDateTime: utcOf(m.receivedDateTime),
    internetMessageId: str(m.internetMessageId),
    isRead: typeof m.isRead === 'boolean' ? m.isRead : undefined,
    isDraft: typeof m.isDraft === 'boolean' ? m.isDraft : undefined
  }) as ItemProperties
}

const ATTENDEE_TYPES = ['required', 'optional', 'resource'] as const
const RESPONSES = ['none', 'organizer', 'tentativelyAccepted', 'accepted', 'declined', 'notResponded'] as const

/**
 * A Graph event (event-get, read with `Prefer: outlook.timezone="UTC"`) as ItemProperties. A series master
 * (`recurrence` set) is refused: the property set has no field for a recurrence, and leaving it out would
 * turn a series into one meeting.
 */
export function eventProperties (e: Json, itemClass: string | undefined): ItemProperties {
  if (e.recurrence !== null && e.recurrence !== undefined) {
    throw new NotSupported('the property set has no field for the recurrence of a recurring appointment: export ' +
      'it as mime (.ics, which carries the RRULE) or as the full-fidelity stream')
  }
  const start = utcOf(e.start)
  const end = utcOf(e.end)
  if (start === undefined || end === undefined) throw new UpstreamBadResponse('event without a readable start and end')
  const location = (e.location as Json | null | undefined)?.displayName
  const zone = str(e.originalStartTimeZone)
  const attendees = Array.isArray(e.attendees)
    ? (e.attendees as Json[]).map((a) => {
        const r = recipientOf(a)
        if (r === undefined) return undefined
        return compact({
          ...r,
          type: pick(a.type, ATTENDEE_TYPES),
          response: pick((a.status as Json | null | undefined)?.response, RESPONSES)
        })
      }).filter((a) => a !== undefined)
    : undefined
  return compact({
    kind: 'appointment',
    ...common(e, itemClass),
    body: bodyOf(e.body),
    sensitivity: pick(e.sensitivity, SENSITIVITIES),
    start,
    end,
    timeZone: zone,
    isAllDay: typeof e.isAllDay === 'boolean' ? e.isAllDay : undefined,
    location: typeof location === 'string' && location !== '' ? location : undefined,
    organizer: recipientOf(e.organizer),
    attendees,
    uid: str(e.iCalUId)
  }) as ItemProperties
}

function addressOf (a: unknown): Address | undefined {
  const p = a as Json | null | undefined
  if (p === null || p === undefined) return undefined
  const out = compact({
    street: str(p.street),
    city: str(p.city),
    state: str(p.state),
    postalCode: str(p.postalCode),
    countryOrRegion: str(p.countryOrRegion)
  })
  return Object.keys(out).length > 0 ? out : undefined
}

/** A Graph contact (contact-get) as ItemProperties; `personalNotes` is the body. */
export function contactProperties (c: Json, itemClass: string | undefined): ItemProperties {
  const birthday = utcOf(c.birthday)?.slice(0, 10)
  const emails = Array.isArray(c.emailAddresses)
    ? (c.emailAddresses as Array<{ name?: unknown, address?: unknown }>).map((e) => recipientOf({ emailAddress: e }))
        .filter((r): r is Recipient => r !== undefined)
    : undefined
  return compact({
    kind: 'contact',
    ...common(c, itemClass),
    subject: undefined,
    body: typeof c.personalNotes === 'string' && c.personalNotes !== '' ? { text: c.personalNotes } : undefined,
    displayName: str(c.displayName),
    givenName: str(c.givenName),
    middleName: str(c.middleName),
    surname: str(c.surname),
    nickName: str(c.nickName),
    companyName: str(c.companyName),
    department: str(c.department),
    jobTitle: str(c.jobTitle),
    emailAddresses: emails,
    businessPhones: strings(c.businessPhones),
    homePhones: strings(c.homePhones),
    mobilePhone: str(c.mobilePhone),
    businessAddress: addressOf(c.businessAddress),
    homeAddress: addressOf(c.homeAddress),
    birthday
  }) as ItemProperties
}

// ------------------------------------------------------------------------------------------------ create bodies

const graphRecipient = (r: Recipient): Json => ({ emailAddress: compact({ name: r.name, address: r.address }) })
const graphRecipients = (list: Recipient[] | undefined): Json[] | undefined => list?.map(graphRecipient)

function graphBody (body: ItemProperties['body']): Json | undefined {
  if (body === undefined) return undefined
  if (body.html !== undefined) return { contentType: 'html', content: body.html }
  if (body.text !== undefined) return { contentType: 'text', content: body.text }
  return undefined
}

const utcDateTime = (iso: string): Json =>
  ({ dateTime: new Date(iso).toISOString().replace(/Z$/, ''), timeZone: 'UTC' })

function extendedCreate (props: ExtendedPropertyT[] | undefined): Json[] {
  return (props ?? []).map((p) => {
    if (p.value === undefined) throw new DataInvalid(`extended property ${extendedPropertyId(p)} has no value to set`)
    return { id: extendedPropertyId(p), value: p.value }
  })
}

function fileAttachments (list: ItemProperties['attachments'], what: string): Json[] | undefined {
  if (list === undefined || list.length === 0) return undefined
  return list.map((a, i) => {
    const label = `${what}: attachment ${i + 1} (${a.name})`
    if (a.kind !== undefined && a.kind !== 'file') {
      throw new DataInvalid(`${label} is an ${a.kind} attachment; Graph creates file attachments only from a ` +
        'property set')
    }
    if (a.contentBytes === undefined) {
      throw new DataInvalid(`${label} has no contentBytes: export with attachment content to import it`)
    }
    const bytes = Math.floor(a.contentBytes.replace(/=+$/, '').length * 3 / 4)
    if (bytes > MAX_INLINE_ATTACHMENT_BYTES) {
      throw new TooLarge(`${label} is ${bytes} bytes; Graph takes at most 3 MB per attachment in a create request`)
    }
    return compact({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: a.name,
      contentType: a.contentType,
      isInline: a.isInline,
      contentId: a.contentId,
      contentBytes: a.contentBytes
    })
  })
}

function graphFlag (flag: ItemProperties['flag']): Json | undefined {
  if (flag === undefined) return undefined
  return compact({
    flagStatus: flag.flagStatus,
    startDateTime: flag.startDateTime !== undefined ? utcDateTime(flag.startDateTime) : undefined,
    dueDateTime: flag.dueDateTime !== undefined ? utcDateTime(flag.dueDateTime) : undefined,
    completedDateTime: flag.completedDateTime !== undefined ? utcDateTime(flag.completedDateTime) : undefined
  })
}

/**
 * The body of `POST /users/{id}/mailFolders/{id}/messages` (mailfolder-post-messages) for a property set. The
 * message is not a draft: PidTagMessageFlags is set on create (1 read, 0 unread); sent and received times, which
 * Graph's message fields do not take, go to PidTagClientSubmitTime and PidTagMessageDeliveryTime, sensitivity to
 * PidTagSensitivity.
 */
export function messageCreateBody (item: ItemProperties): Json {
  const flags = item.isRead === false ? '0' : '1'
  const extended: Json[] = [{ id: MESSAGE_FLAGS_ID, value: flags }]
  if (item.sentDateTime !== undefined) extended.push({ id: CLIENT_SUBMIT_TIME_ID, value: item.sentDateTime })
  if (item.receivedDateTime !== undefined) extended.push({ id: DELIVERY_TIME_ID, value: item.receivedDateTime })
  if (item.sensitivity !== undefined) {
    extended.push({ id: SENSITIVITY_ID, value: String(SENSITIVITIES.indexOf(item.sensitivity)) })
  }
  const own = extendedCreate(item.extendedProperties)
  for (const e of own) {
    if (extended.some((x) => sameExtendedId(String(x.id), String(e.id)))) {
      throw new DataInvalid(`extended property ${String(e.id)} is set by the gateway from the property set`)
    }
  }
  return compact({
    subject: item.subject,
    body: graphBody(item.body),
    importance: item.importance,
    categories: item.categories,
    flag: graphFlag(item.flag),
    from: item.from !== undefined ? graphRecipient(item.from) : undefined,
    sender: item.sender !== undefined ? graphRecipient(item.sender) : undefined,
    toRecipients: graphRecipients(item.toRecipients),
    ccRecipients: graphRecipients(item.ccRecipients),
    bccRecipients: graphRecipients(item.bccRecipients),
    replyTo: graphRecipients(item.replyTo),
    internetMessageId: item.internetMessageId,
    attachments: fileAttachments(item.attachments, 'message'),
    singleValueExtendedProperties: [...extended, ...own]
  })
}

/**
 * An event time for create: the wall clock in the item's own zone when it names one Graph and the gateway know
 * (so the event keeps its zone), else UTC. An all-day event's times must be midnights in that zone.
 */
function eventTime (iso: string, zone: string | undefined): Json {
  if (zone === undefined) return utcDateTime(iso)
  const iana = ianaZone(zone)
  if (iana === undefined) {
    throw new DataInvalid(`timeZone '${zone}' is neither an IANA nor a Windows time zone name`)
  }
  return { dateTime: wallClock(new Date(iso), iana), timeZone: zone }
}

/** The body of `POST /users/{id}/calendars/{id}/events` (user-post-events) for an appointment without attendees. */
export function eventCreateBody (item: ItemProperties): Json {
  if ((item.attendees ?? []).length > 0) {
    throw new DataInvalid('an appointment with attendees is a meeting: importing it would send invitations')
  }
  if (item.start === undefined || item.end === undefined) throw new DataInvalid('an appointment needs start and end')
  if ((item.attachments ?? []).length > 0) {
    throw new NotSupported('attachments of an appointment: Graph adds them to an event only after it is created ' +
      '(event-post-attachments), which this version does not do; import without them or as the full-fidelity stream')
  }
  const start = eventTime(item.start, item.timeZone)
  const end = eventTime(item.end, item.timeZone)
  if (item.isAllDay === true && (!String(start.dateTime).endsWith('T00:00:00') ||
    !String(end.dateTime).endsWith('T00:00:00'))) {
    throw new DataInvalid('an all-day appointment must start and end at midnight in its time zone')
  }
  return compact({
    subject: item.subject,
    body: graphBody(item.body),
    importance: item.importance,
    sensitivity: item.sensitivity,
    categories: item.categories,
    start,
    end,
    isAllDay: item.isAllDay,
    location: item.location !== undefined ? { displayName: item.location } : undefined,
    singleValueExtendedProperties: nonEmpty(extendedCreate(item.extendedProperties))
  })
}

const graphAddress = (a: Address | undefined): Json | undefined => a === undefined ? undefined : { ...a }
const nonEmpty = (list: Json[]): Json[] | undefined => list.length > 0 ? list : undefined

/** The item class each kind's Outlook create gives (Graph has no field for another). */
const GRAPH_CLASS: Record<string, string> = {
  message: 'IPM.Note', appointment: 'IPM.Appointment', contact: 'IPM.Contact'
}

/**
 * Refuses (422 MBG_ERR_DATA_INCOMPATIBLE) a property set whose values a Graph create cannot keep, rather than
 * creating the item without them: an item class other than the one the kind's Outlook create gives (message,
 * event and contact resources have no class field), and on a contact the fields Graph's contact resource does not
 * have (https://learn.microsoft.com/graph/api/resources/contact) unless they hold what Exchange gives every contact:
 * a subject equal to the display name, normal importance and sensitivity.
 */
export function refuseWhatGraphDrops (item: ItemProperties): void {
  const base = GRAPH_CLASS[item.kind]
  if (item.itemClass !== undefined && base !== undefined && item.itemClass.toLowerCase() !== base.toLowerCase()) {
    throw new DataIncompatible(`itemClass ${JSON.stringify(item.itemClass.slice(0, 100))}: a Graph mailbox ` +
      `creates ${item.kind === 'appointment' ? 'an' : 'a'} ${item.kind} as ${base} and has no way to set another ` +
      'class; leave itemClass out to import it as ' +
      `${base}, or import it into an EWS mailbox`)
  }
  if (item.kind !== 'contact') return
  const dropped = [
    ...(item.subject !== undefined && item.subject !== item.displayName ? ['subject (other than displayName)'] : []),
    ...(item.importance !== undefined && item.importance !== 'normal' ? [`importance ${item.importance}`] : []),
    ...(item.sensitivity !== undefined && item.sensitivity !== 'normal' ? [`sensitivity ${item.sensitivity}`] : []),
    // Exchange keeps three e-mail addresses and two business and two home phones on a contact.
    ...((item.emailAddresses?.length ?? 0) > 3 ? ['more than 3 emailAddresses'] : []),
    ...((item.businessPhones?.length ?? 0) > 2 ? ['more than 2 businessPhones'] : []),
    ...((item.homePhones?.length ?? 0) > 2 ? ['more than 2 homePhones'] : []),
    ...((item.attachments?.length ?? 0) > 0 ? ['attachments'] : [])
  ]
  if (dropped.length > 0) {
    const them = dropped.length > 1 ? 'them' : 'it'
    throw new DataIncompatible(`a Graph contact has no ${dropped.join(', ')}: leave ${them} out to import the ` +
      'contact without, or import it into an EWS mailbox')
  }
}

/** The body of `POST /users/{id}/contactFolders/{id}/contacts` (contactfolder-post-contacts). */
export function contactCreateBody (item: ItemProperties): Json {
  if (item.body?.html !== undefined && item.body.text === undefined) {
    throw new DataInvalid('a contact\'s notes (Graph personalNotes) are text: give body.text')
  }
  return compact({
    displayName: item.displayName,
    givenName: item.givenName,
    middleName: item.middleName,
    surname: item.surname,
    nickName: item.nickName,
    companyName: item.companyName,
    department: item.department,
    jobTitle: item.jobTitle,
    emailAddresses: item.emailAddresses?.map((e) => compact({ name: e.name, address: e.address })),
    businessPhones: item.businessPhones,
    homePhones: item.homePhones,
    mobilePhone: item.mobilePhone,
    businessAddress: graphAddress(item.businessAddress),
    homeAddress: graphAddress(item.homeAddress),
    birthday: item.birthday !== undefined ? `${item.birthday}T00:00:00Z` : undefined,
    personalNotes: item.body?.text,
    categories: item.categories,
    singleValueExtendedProperties: nonEmpty(extendedCreate(item.extendedProperties))
  })
}
