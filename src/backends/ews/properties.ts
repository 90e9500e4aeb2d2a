/**
 * EWS items ↔ the property-set JSON (`ItemProperties`, src/schemas/item-properties.ts): reading a GetItem answer
 * (operations/get-item.ts) into it, and writing it as the item element of a CreateItem (operations/create-item.ts).
 *
 * The mapping, by ItemProperties field (EWS elements of types.xsd; element reference:
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/ews-xml-elements-in-exchange):
 *
 * - kind: the item's element: t:Message and the meeting messages derived from it (message), t:CalendarItem
 *   (appointment), t:Contact (contact), t:Task (task).
 * - itemClass, subject: t:ItemClass, t:Subject.
 * - body.html / body.text: t:Body (BodyType HTML / Text), read with BodyType Best (the body as stored), and
 *   t:TextBody (Exchange 2013+: the text beside an HTML body). Written as one t:Body: HTML when there is HTML.
 * - importance, sensitivity: t:Importance, t:Sensitivity (lower-case). categories: t:Categories/t:String.
 * - createdDateTime, lastModifiedDateTime: t:DateTimeCreated, t:LastModifiedTime (export only: the server sets them).
 * - flag: t:Flag (FlagStatus, StartDate, DueDate, CompleteDate; Exchange 2013+).
 * - attachments: t:Attachments/t:FileAttachment (file), t:ItemAttachment (item), t:ReferenceAttachment
 *   (reference) with Name, ContentType, Size, IsInline, ContentId; `contentBytes`: t:Content, from GetAttachment.
 * - extendedProperties: t:ExtendedProperty (t:ExtendedFieldURI, t:Value); only the ones asked for.
 * - from, sender: t:From, t:Sender. toRecipients, ccRecipients, bccRecipients, replyTo: t:ToRecipients,
 *   t:CcRecipients, t:BccRecipients, t:ReplyTo; each t:Mailbox as t:Name and t:EmailAddress.
 * - sentDateTime, receivedDateTime: t:DateTimeSent, t:DateTimeReceived; read-only in EWS, so written as
 *   PidTagClientSubmitTime (0x0039) and PidTagMessageDeliveryTime (0x0E06).
 * - internetMessageId: t:InternetMessageId; written as PidTagInternetMessageId (0x1035).
 * - isRead, isDraft: t:IsRead, t:IsDraft; written as PidTagMessageFlags (0x0E07): mfRead as isRead says, never
 *   mfUnsent (an imported message is not a draft).
 * - start, end, isAllDay, location, uid: t:Start, t:End, t:IsAllDayEvent, t:Location, t:UID.
 * - timeZone: t:StartTimeZone@Id, else t:StartTimeZoneId (a Windows time zone id); an IANA name is written as its
 *   Windows id (CLDR windowsZones, by the windows-iana package).
 * - organizer, attendees: t:Organizer; t:RequiredAttendees, t:OptionalAttendees, t:Resources (type required,
 *   optional, resource; t:ResponseType as response). Export only: a meeting with attendees is refused on import.
 * - displayName, givenName, middleName, surname, nickName, companyName, department, jobTitle: t:DisplayName,
 *   t:GivenName, t:MiddleName, t:Surname, t:Nickname, t:CompanyName, t:Department, t:JobTitle.
 * - emailAddresses: t:EmailAddresses/t:Entry Key EmailAddress1–3 (its Name attribute the name): at most 3.
 * - businessPhones, homePhones, mobilePhone: t:PhoneNumbers/t:Entry Key BusinessPhone, BusinessPhone2 /
 *   HomePhone, HomePhone2 / MobilePhone: at most 2 each. Other phone kinds are not in ItemProperties.
 * - businessAddress, homeAddress: t:PhysicalAddresses/t:Entry Key Business / Home (Street, City, State,
 *   CountryOrRegion, PostalCode).
 * - birthday: t:Birthday (a dateTime: its nearest UTC midnight is the date; written at 00:00Z).
 * - status, percentComplete, startDateTime, dueDateTime, completedDateTime: t:Status, t:PercentComplete,
 *   t:StartDate, t:DueDate, t:CompleteDate.
 */
import { DISTINGUISHED_PROPERTY_SETS, EWS_RESPONSE_TYPES } from '../../protocol/ews-properties.js'
import { findIana, findWindows } from 'windows-iana'
import { isStrictBase64 } from '../../base64.js'
import { BadRequest, DataIncompatible, NotSupported, UpstreamBadResponse } from '../../errors.js'
import { isDateTime, nonNegativeInteger } from '../answers.js'
import type { ItemKind, ItemProperties } from '../mailbox-backend.js'
import { MESSAGE_FLAGS_TAG, MF_READ, MF_UNSENT } from './operations/create-item.js'
import { NS, child, childText, childrenOf, el, notXmlText, text, type XmlNode } from './soap/xml.js'

export type ExtendedProperty = NonNullable<ItemProperties['extendedProperties']>[number]
type Recipient = NonNullable<ItemProperties['toRecipients']>[number]
type Attendee = NonNullable<ItemProperties['attendees']>[number]
type Attachment = NonNullable<ItemProperties['attachments']>[number]
type Address = NonNullable<ItemProperties['businessAddress']>

/** `map[key]` when `map` has it as its own property (never one of Object.prototype's). */
export function own<T> (map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined
}

/** The item elements each kind is read from: MessageType and the meeting messages derived from it are messages. */
export const KIND_OF_ELEMENT: Readonly<Record<string, ItemKind>> = {
  Message: 'message',
  MeetingMessage: 'message',
  MeetingRequest: 'message',
  MeetingResponse: 'message',
  MeetingCancellation: 'message',
  CalendarItem: 'appointment',
  Contact: 'contact',
  Task: 'task'
}

/** The element a kind is created as. */
export const ELEMENT_OF_KIND: Readonly<Record<ItemKind, string>> = {
  message: 'Message', appointment: 'CalendarItem', contact: 'Contact', task: 'Task'
}

/** The message class (PidTagMessageClass) family a created item of each kind must be of. */
const CLASS_OF_KIND: Readonly<Record<ItemKind, string>> = {
  message: 'IPM.Note', appointment: 'IPM.Appointment', contact: 'IPM.Contact', task: 'IPM.Task'
}

// ------------------------------------------------------------------ extended properties

/** A PropertyTag (hex `0x0E07` or decimal, types.xsd PropertyTagType) as a number, or undefined. */
function tagNumber (value: string | undefined): number | undefined {
  const v = value?.trim() ?? ''
  const n = /^0x[0-9a-f]{1,4}$/i.test(v) ? parseInt(v.slice(2), 16) : /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN
  return Number.isInteger(n) && n >= 0 && n <= 0xffff ? n : undefined
}

/**
 * What names one extended property, as a string to compare: by tag, or by property set GUID and name or id
 * ("only a couple of valid attribute combinations": types.xsd PathToExtendedFieldType), and its type.
 */
function identity (p: { tag?: number, set?: string, name?: string, id?: number, type: string }): string {
  if (p.tag !== undefined) return `tag:${p.tag}:${p.type}`
  return `set:${p.set ?? ''}:${p.name !== undefined ? `name:${p.name}` : `id:${p.id ?? ''}`}:${p.type}`
}

/** The identity of a property as the caller named it; MBG_ERR_BAD_REQUEST when the combination is not one EWS has. */
function callerIdentity (p: ExtendedProperty, where: string): string {
  const named = p.propertyName !== undefined || p.propertyId !== undefined
  if (p.propertyTag !== undefined) {
    if (p.propertySetId !== undefined || named) {
      throw new BadRequest(`${where}: give propertyTag alone, or propertySetId with propertyName or propertyId`)
    }
    const tag = tagNumber(p.propertyTag)
    if (tag === undefined) throw new BadRequest(`${where}: propertyTag is not a property id`)
    return identity({ tag, type: p.propertyType })
  }
  if (p.propertySetId === undefined || (p.propertyName === undefined) === (p.propertyId === undefined)) {
    throw new BadRequest(`${where}: give propertyTag alone, or propertySetId with propertyName or propertyId`)
  }
  return identity({
    set: p.propertySetId.toLowerCase(),
    ...(p.propertyName !== undefined ? { name: p.propertyName } : { id: p.propertyId as number }),
    type: p.propertyType
  })
}

/**
 * The `t:ExtendedFieldURI` of a property as the caller named it (types.xsd PathToExtendedFieldType). Throws
 * MBG_ERR_BAD_REQUEST for a combination EWS does not take, or text XML cannot carry.
 */
export function extendedFieldXml (p: ExtendedProperty, where: string): string {
  callerIdentity(p, where)
  if (p.propertyName !== undefined && notXmlText(p.propertyName) !== undefined) {
    throw new BadRequest(`${where}: propertyName holds a character XML cannot carry`)
  }
  return el('t:ExtendedFieldURI', {
    PropertySetId: p.propertySetId,
    PropertyTag: p.propertyTag,
    PropertyName: p.propertyName,
    PropertyId: p.propertyId,
    PropertyType: p.propertyType
  })
}

/** The identity of a `t:ExtendedFieldURI` in an answer (a distinguished set named by name is its GUID). */
function answerIdentity (uri: XmlNode): string | undefined {
  const a = uri.attrs
  if (a.PropertyType === undefined) return undefined
  if (a.PropertyTag !== undefined) {
    const tag = tagNumber(a.PropertyTag)
    return tag === undefined ? undefined : identity({ tag, type: a.PropertyType })
  }
  const set = a.PropertySetId?.toLowerCase() ?? (a.DistinguishedPropertySetId !== undefined
    ? own(DISTINGUISHED_PROPERTY_SETS, a.DistinguishedPropertySetId)
    : undefined)
  if (set === undefined) return undefined
  if (a.PropertyName !== undefined) return identity({ set, name: a.PropertyName, type: a.PropertyType })
  const id = a.PropertyId !== undefined && /^\d+$/.test(a.PropertyId.trim()) ? Number(a.PropertyId) : undefined
  return id === undefined ? undefined : identity({ set, id, type: a.PropertyType })
}

/** The ExtendedFieldURI elements to ask for, one per requested property (MBG_ERR_BAD_REQUEST for a bad one). */
export function extendedFieldsToRead (requested: ExtendedProperty[]): string[] {
  return requested.map((p, i) => extendedFieldXml(p, `extended property ${i}`))
}

// ------------------------------------------------------------------ reading

/** An item read as its property set, with what the reader left out (for a log line, never the caller). */
export interface PropertiesRead {
  id: string
  changeKey?: string
  item: ItemProperties
  /** The AttachmentIds of file attachments, by their position in `item.attachments`. */
  fileAttachments: Array<{ index: number, id: string }>
  /** Values the reader could not carry and left out (recipients without an address): field names only. */
  omitted: string[]
}

const bad = (what: string, problem: string): never => {
  throw new UpstreamBadResponse(`GetItem: ${what} ${problem}`)
}

/** An xs:dateTime of an answer as RFC 3339 UTC (`…Z`); MBG_ERR_UPSTREAM_BAD_RESPONSE for anything else. */
function utc (value: string, what: string): string {
  const v = value.trim()
  if (!isDateTime(v)) return bad(what, 'is not an RFC 3339 date-time')
  if (v.endsWith('Z')) return v
  return new Date(v).toISOString().replace(/\.000Z$/, 'Z')
}

function booleanOf (value: string, what: string): boolean {
  const v = value.trim()
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  return bad(what, 'is not a boolean')
}

/** An enumeration value by its EWS name; MBG_ERR_UPSTREAM_BAD_RESPONSE for a value the schema does not list. */
function enumOf<T extends string> (value: string, names: Readonly<Record<string, T>>, what: string): T {
  const v = own(names, value.trim())
  if (v === undefined) return bad(what, `is ${JSON.stringify(value.slice(0, 40))}, not one the schema lists`)
  return v
}

const IMPORTANCE = { Low: 'low', Normal: 'normal', High: 'high' } as const
const SENSITIVITY = {
  Normal: 'normal', Personal: 'personal', Private: 'private', Confidential: 'confidential'
} as const
const FLAG_STATUS = { NotFlagged: 'notFlagged', Flagged: 'flagged', Complete: 'complete' } as const
const TASK_STATUS = {
  NotStarted: 'notStarted',
  InProgress: 'inProgress',
  Completed: 'completed',
  WaitingOnOthers: 'waitingOnOthers',
  Deferred: 'deferred'
} as const

/** Reads one item element into ItemProperties, as the mapping above says. */
class Reader {
  readonly item: Record<string, unknown>
  readonly omitted: string[] = []

  constructor (readonly node: XmlNode, kind: ItemKind) {
    this.item = { kind }
  }

  text (local: string, field: string): void {
    const v = childText(this.node, NS.t, local)
    if (v !== undefined) this.item[field] = v
  }

  time (local: string, field: string, node: XmlNode = this.node): string | undefined {
    const v = childText(node, NS.t, local)
    if (v === undefined) return undefined
    const t = utc(v, local)
    if (node === this.node) this.item[field] = t
    return t
  }

  bool (local: string, field: string): void {
    const v = childText(this.node, NS.t, local)
    if (v !== undefined) this.item[field] = booleanOf(v, local)
  }

  choice<T extends string> (local: string, field: string, names: Readonly<Record<string, T>>): void {
    const v = childText(this.node, NS.t, local)
    if (v !== undefined) this.item[field] = enumOf(v, names, local)
  }

  /** A t:Mailbox as a Recipient; undefined (and noted) without an EmailAddress, which the schema requires. */
  mailbox (node: XmlNode | undefined, field: string): Recipient | undefined {
    if (node === undefined) return undefined
    const address = childText(node, NS.t, 'EmailAddress')?.trim()
    const name = childText(node, NS.t, 'Name')
    if (address === undefined || address === '') {
      this.omitted.push(field)
      return undefined
    }
    return { ...(name !== undefined && name !== '' ? { name } : {}), address }
  }

  single (local: string, field: string): void {
    const r = this.mailbox(child(child(this.node, NS.t, local), NS.t, 'Mailbox'), field)
    if (r !== undefined) this.item[field] = r
  }

  list (local: string, field: string): void {
    const holder = child(this.node, NS.t, local)
    if (holder === undefined) return
    const out: Recipient[] = []
    for (const m of childrenOf(holder, NS.t, 'Mailbox')) {
      const r = this.mailbox(m, field)
      if (r !== undefined) out.push(r)
    }
    this.item[field] = out
  }
}

/** Common ItemType fields (all kinds). */
function readCommon (r: Reader): void {
  r.text('ItemClass', 'itemClass')
  r.text('Subject', 'subject')
  r.choice('Sensitivity', 'sensitivity', SENSITIVITY)
  const body = child(r.node, NS.t, 'Body')
  const textBody = childText(r.node, NS.t, 'TextBody')
  if (body !== undefined) {
    const type = body.attrs.BodyType
    if (type === 'HTML') r.item.body = { html: body.text, ...(textBody !== undefined ? { text: textBody } : {}) }
    else if (type === 'Text') r.item.body = { text: body.text }
    else bad('Body', 'has no BodyType HTML or Text')
  }
  const categories = child(r.node, NS.t, 'Categories')
  if (categories !== undefined) r.item.categories = childrenOf(categories, NS.t, 'String').map((s) => s.text)
  r.choice('Importance', 'importance', IMPORTANCE)
  r.time('DateTimeCreated', 'createdDateTime')
  r.time('LastModifiedTime', 'lastModifiedDateTime')
  const flag = child(r.node, NS.t, 'Flag')
  if (flag !== undefined) {
    const status = childText(flag, NS.t, 'FlagStatus')
    if (status === undefined) bad('Flag', 'has no FlagStatus')
    const start = r.time('StartDate', '', flag)
    const due = r.time('DueDate', '', flag)
    const complete = r.time('CompleteDate', '', flag)
    r.item.flag = {
      flagStatus: enumOf(status as string, FLAG_STATUS, 'FlagStatus'),
      ...(start !== undefined ? { startDateTime: start } : {}),
      ...(due !== undefined ? { dueDateTime: due } : {}),
      ...(complete !== undefined ? { completedDateTime: complete } : {})
    }
  }
}

const ATTACHMENT_KINDS: Readonly<Record<string, Attachment['kind']>> = {
  FileAttachment: 'file', ItemAttachment: 'item', ReferenceAttachment: 'reference'
}

function readAttachments (r: Reader, files: Array<{ index: number, id: string }>): void {
  const holder = child(r.node, NS.t, 'Attachments')
  if (holder === undefined) return
  const out: Attachment[] = []
  for (const a of childrenOf(holder, NS.t)) {
    const kind = own(ATTACHMENT_KINDS, a.local)
    if (kind === undefined) continue
    const contentType = childText(a, NS.t, 'ContentType')
    const contentId = childText(a, NS.t, 'ContentId')
    const sizeText = childText(a, NS.t, 'Size')
    const size = sizeText !== undefined ? nonNegativeInteger(sizeText) : undefined
    if (sizeText !== undefined && size === undefined) bad('attachment Size', 'is not a non-negative integer')
    const inline = childText(a, NS.t, 'IsInline')
    const id = child(a, NS.t, 'AttachmentId')?.attrs.Id
    if (kind === 'file' && id !== undefined && id !== '') files.push({ index: out.length, id })
    out.push({
      name: childText(a, NS.t, 'Name') ?? '',
      ...(contentType !== undefined ? { contentType } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(inline !== undefined ? { isInline: booleanOf(inline, 'IsInline') } : {}),
      ...(contentId !== undefined ? { contentId } : {}),
      kind
    })
  }
  r.item.attachments = out
}

function readExtended (r: Reader, requested: ExtendedProperty[]): void {
  if (requested.length === 0) return
  const values = new Map<string, string>()
  for (const p of childrenOf(r.node, NS.t, 'ExtendedProperty')) {
    const uri = child(p, NS.t, 'ExtendedFieldURI')
    const key = uri !== undefined ? answerIdentity(uri) : undefined
    const value = childText(p, NS.t, 'Value')
    if (key !== undefined && value !== undefined) values.set(key, value)
  }
  r.item.extendedProperties = requested.map((p, i) => {
    const { value: _ignored, ...spec } = p
    const value = values.get(callerIdentity(p, `extended property ${i}`))
    return value !== undefined ? { ...spec, value } : spec
  })
}

function readMessage (r: Reader): void {
  r.single('From', 'from')
  r.single('Sender', 'sender')
  r.list('ToRecipients', 'toRecipients')
  r.list('CcRecipients', 'ccRecipients')
  r.list('BccRecipients', 'bccRecipients')
  r.list('ReplyTo', 'replyTo')
  r.time('DateTimeSent', 'sentDateTime')
  r.time('DateTimeReceived', 'receivedDateTime')
  r.text('InternetMessageId', 'internetMessageId')
  r.bool('IsRead', 'isRead')
  r.bool('IsDraft', 'isDraft')
}

function readAppointment (r: Reader): void {
  r.time('Start', 'start')
  r.time('End', 'end')
  const zone = child(r.node, NS.t, 'StartTimeZone')?.attrs.Id ?? childText(r.node, NS.t, 'StartTimeZoneId')
  if (zone !== undefined && zone !== '') r.item.timeZone = zone
  r.bool('IsAllDayEvent', 'isAllDay')
  r.text('Location', 'location')
  r.single('Organizer', 'organizer')
  const attendees: Attendee[] = []
  const groups: Array<[string, Attendee['type']]> = [
    ['RequiredAttendees', 'required'], ['OptionalAttendees', 'optional'], ['Resources', 'resource']
  ]
  for (const [local, type] of groups) {
    for (const a of childrenOf(child(r.node, NS.t, local), NS.t, 'Attendee')) {
      const who = r.mailbox(child(a, NS.t, 'Mailbox'), 'attendees')
      if (who === undefined) continue
      const response = childText(a, NS.t, 'ResponseType')
      attendees.push({
        ...who,
        type,
        ...(response !== undefined ? { response: enumOf(response, EWS_RESPONSE_TYPES, 'ResponseType') } : {})
      })
    }
  }
  if (attendees.length > 0) r.item.attendees = attendees
  r.text('UID', 'uid')
}

/** A contact's dictionary entries (`t:Entry Key="…"`) by key. */
function entries (node: XmlNode, local: string): Map<string, XmlNode> {
  const out = new Map<string, XmlNode>()
  for (const e of childrenOf(child(node, NS.t, local), NS.t, 'Entry')) {
    if (e.attrs.Key !== undefined) out.set(e.attrs.Key, e)
  }
  return out
}

const ADDRESS_PARTS: Array<[string, keyof Address]> = [
  ['Street', 'street'], ['City', 'city'], ['State', 'state'], ['PostalCode', 'postalCode'],
  ['CountryOrRegion', 'countryOrRegion']
]

function readContact (r: Reader): void {
  r.text('DisplayName', 'displayName')
  r.text('GivenName', 'givenName')
  r.text('MiddleName', 'middleName')
  r.text('Surname', 'surname')
  r.text('Nickname', 'nickName')
  r.text('CompanyName', 'companyName')
  r.text('Department', 'department')
  r.text('JobTitle', 'jobTitle')
  const emails = entries(r.node, 'EmailAddresses')
  const addresses: Recipient[] = []
  for (const key of ['EmailAddress1', 'EmailAddress2', 'EmailAddress3']) {
    const e = emails.get(key)
    const address = e?.text.trim()
    if (e === undefined || address === undefined || address === '') continue
    const name = e.attrs.Name
    addresses.push({ ...(name !== undefined && name !== '' ? { name } : {}), address })
  }
  if (addresses.length > 0) r.item.emailAddresses = addresses
  const phones = entries(r.node, 'PhoneNumbers')
  const phone = (key: string): string | undefined => {
    const v = phones.get(key)?.text.trim()
    return v !== undefined && v !== '' ? v : undefined
  }
  const business = ['BusinessPhone', 'BusinessPhone2'].map(phone).filter((p) => p !== undefined)
  const home = ['HomePhone', 'HomePhone2'].map(phone).filter((p) => p !== undefined)
  if (business.length > 0) r.item.businessPhones = business
  if (home.length > 0) r.item.homePhones = home
  const mobile = phone('MobilePhone')
  if (mobile !== undefined) r.item.mobilePhone = mobile
  const physical = entries(r.node, 'PhysicalAddresses')
  for (const [key, field] of [['Business', 'businessAddress'], ['Home', 'homeAddress']]) {
    const e = physical.get(key)
    if (e === undefined) continue
    const address: Address = {}
    for (const [local, part] of ADDRESS_PARTS) {
      const v = childText(e, NS.t, local)
      if (v !== undefined && v !== '') address[part] = v
    }
    if (Object.keys(address).length > 0) r.item[field] = address
  }
  const birthday = childText(r.node, NS.t, 'Birthday')
  if (birthday !== undefined) {
    // Clients store a birthday as midnight where they are: the nearest UTC midnight is the date.
    const ms = Date.parse(utc(birthday, 'Birthday')) + 12 * 3600_000
    r.item.birthday = new Date(ms - (ms % 86_400_000)).toISOString().slice(0, 10)
  }
}

function readTask (r: Reader): void {
  r.choice('Status', 'status', TASK_STATUS)
  const percent = childText(r.node, NS.t, 'PercentComplete')
  if (percent !== undefined) {
    const n = Number(percent.trim())
    if (percent.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) bad('PercentComplete', 'is not 0 to 100')
    r.item.percentComplete = n
  }
  r.time('StartDate', 'startDateTime')
  r.time('DueDate', 'dueDateTime')
  r.time('CompleteDate', 'completedDateTime')
}

/**
 * The item element of a GetItem answer as ItemProperties, with the extended properties asked for (`requested`,
 * in that order: `value` absent when the item has none). Throws 501 MBG_ERR_NOT_SUPPORTED for an element no kind
 * maps (t:Item, t:PostItem, t:DistributionList, …), 502 MBG_ERR_UPSTREAM_BAD_RESPONSE for an answer without
 * ItemId or with a value the schema cannot carry (a date that is not one, an enumeration value it does not list).
 */
export function readItemProperties (node: XmlNode, requested: ExtendedProperty[]): PropertiesRead {
  const kind = own(KIND_OF_ELEMENT, node.local)
  if (kind === undefined) {
    throw new NotSupported(`EWS t:${node.local} items have no property set: it maps t:Message, t:CalendarItem, ` +
      't:Contact and t:Task (messages, appointments, contacts, tasks)')
  }
  const idNode = child(node, NS.t, 'ItemId')
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') return bad('item', 'has no ItemId')
  const r = new Reader(node, kind)
  const fileAttachments: Array<{ index: number, id: string }> = []
  readCommon(r)
  readAttachments(r, fileAttachments)
  readExtended(r, requested)
  if (kind === 'message') readMessage(r)
  else if (kind === 'appointment') readAppointment(r)
  else if (kind === 'contact') readContact(r)
  else readTask(r)
  const changeKey = idNode?.attrs.ChangeKey
  return {
    id,
    ...(changeKey !== undefined && changeKey !== '' ? { changeKey } : {}),
    item: r.item as ItemProperties,
    fileAttachments,
    omitted: [...new Set(r.omitted)]
  }
}

// ------------------------------------------------------------------ writing

const COMMON_FIELDS = [
  'kind', 'itemClass', 'subject', 'body', 'importance', 'sensitivity', 'categories', 'createdDateTime',
  'lastModifiedDateTime', 'flag', 'attachments', 'extendedProperties'
]
const KIND_FIELDS: Readonly<Record<ItemKind, string[]>> = {
  message: [
    'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'sentDateTime', 'receivedDateTime',
    'internetMessageId', 'isRead', 'isDraft'
  ],
  appointment: ['start', 'end', 'timeZone', 'isAllDay', 'location', 'organizer', 'attendees', 'uid'],
  contact: [
    'displayName', 'givenName', 'middleName', 'surname', 'nickName', 'companyName', 'department', 'jobTitle',
    'emailAddresses', 'businessPhones', 'homePhones', 'mobilePhone', 'businessAddress', 'homeAddress', 'birthday'
  ],
  task: ['status', 'percentComplete', 'startDateTime', 'dueDateTime', 'completedDateTime']
}

/** What the server supports of what a write may need. */
export interface WriteSupport {
  /** t:Flag (Exchange 2013 and later). */
  flag: boolean
  /** t:StartTimeZone / t:EndTimeZone (Exchange 2010 and later). */
  timeZoneDefinition: boolean
}

/** The item element of a CreateItem, with the file attachments' contents to put where U+0000 marks them. */
export interface ItemWrite {
  element: string
  xml: string
  contents: string[]
}

const invert = <T extends string>(names: Readonly<Record<string, T>>): Record<T, string> =>
  Object.fromEntries(Object.entries(names).map(([k, v]) => [v, k])) as Record<T, string>

const mailboxXml = (r: Recipient): string =>
  el('t:Mailbox', {}, r.name !== undefined ? el('t:Name', {}, text(r.name)) : undefined,
    el('t:EmailAddress', {}, text(r.address)))

const recipientsXml = (local: string, list: Recipient[] | undefined): string | undefined =>
  list !== undefined && list.length > 0 ? el(`t:${local}`, {}, ...list.map(mailboxXml)) : undefined

const textXml = (local: string, value: string | undefined): string | undefined =>
  value !== undefined ? el(`t:${local}`, {}, text(value)) : undefined

const timeXml = (local: string, value: string | undefined): string | undefined =>
  value !== undefined ? el(`t:${local}`, {}, text(value)) : undefined

/** The Windows time zone id EWS takes for `zone` (a Windows id, or an IANA name: CLDR windowsZones). */
export function windowsZone (zone: string): string {
  if (findIana(zone).length > 0) return zone
  const windows = findWindows(zone)[0]
  if (windows === undefined) {
    throw new BadRequest(`timeZone ${JSON.stringify(zone.slice(0, 64))} is neither a ` +
    'Windows time zone id nor an IANA time zone name')
  }
  return windows
}

/** A property id as a PropertyTag attribute: `0x0E07`. */
const tagText = (tag: number): string => `0x${tag.toString(16).toUpperCase().padStart(4, '0')}`

/** A SystemTime value compared as an instant; other values as they are written. */
function sameValue (type: string, a: string, b: string): boolean {
  return type === 'SystemTime' ? Date.parse(a) === Date.parse(b) : a === b
}

/**
 * The extended properties to write: the ones the gateway derives from fields of a message (`derived`, by tag) and
 * the caller's. A caller's property the gateway also derives is written once: it must agree with the field
 * (else 400), and PidTagMessageFlags must not make a draft (422).
 */
function extendedXml (item: ItemProperties, derived: Map<number, { type: string, value: string, field: string }>):
string[] {
  const out: string[] = []
  const seen = new Set<string>()
  for (const [i, p] of (item.extendedProperties ?? []).entries()) {
    const where = `extendedProperties[${i}]`
    const key = callerIdentity(p, where)
    if (seen.has(key)) throw new BadRequest(`${where}: the same property is given twice`)
    seen.add(key)
    if (p.value === undefined) throw new BadRequest(`${where}: an imported extended property needs a value`)
    if (notXmlText(p.value) !== undefined) {
      throw new BadRequest(`${where}: the value holds a character XML cannot carry`)
    }
    const tag = p.propertyTag !== undefined ? tagNumber(p.propertyTag) : undefined
    const ours = tag !== undefined ? derived.get(tag) : undefined
    if (tag === MESSAGE_FLAGS_TAG && item.kind === 'message') {
      const flags = /^\d{1,10}$/.test(p.value.trim()) ? Number(p.value.trim()) : NaN
      if (!Number.isInteger(flags) || p.propertyType !== 'Integer') {
        throw new BadRequest(`${where}: PidTagMessageFlags (0x0E07) is an Integer`)
      }
      if ((flags & MF_UNSENT) !== 0) {
        throw new DataIncompatible(`${where}: PidTagMessageFlags with mfUnsent makes a draft; an imported message ` +
          'is never a draft')
      }
      if (item.isRead !== undefined && ((flags & MF_READ) !== 0) !== item.isRead) {
        throw new BadRequest(`${where}: PidTagMessageFlags (0x0E07) disagrees with isRead`)
      }
      derived.delete(tag)
    } else if (ours !== undefined && tag !== undefined) {
      if (ours.type !== p.propertyType || !sameValue(ours.type, ours.value, p.value)) {
        throw new BadRequest(`${where}: property ${p.propertyTag ?? ''} disagrees with ${ours.field}, which is ` +
          'written to it')
      }
      derived.delete(tag)
    }
    out.push(el('t:ExtendedProperty', {}, extendedFieldXml(p, where), el('t:Value', {}, text(p.value))))
  }
  for (const [tag, d] of derived) {
    out.push(el('t:ExtendedProperty', {},
      el('t:ExtendedFieldURI', { PropertyTag: tagText(tag), PropertyType: d.type }),
      el('t:Value', {}, text(d.value))))
  }
  return out
}

/** File attachments with their content (the markers and the contents to put there). */
function attachmentsXml (item: ItemProperties, contents: string[]): string | undefined {
  const list = item.attachments ?? []
  if (list.length === 0) return undefined
  return el('t:Attachments', {}, ...list.map((a, i) => {
    const what = `attachments[${i}] (${JSON.stringify(a.name.slice(0, 64))})`
    if (a.kind !== undefined && a.kind !== 'file') {
      throw new DataIncompatible(`${what} is an ${a.kind} attachment: its content is not in the property set, ` +
        'only file attachments can be imported')
    }
    if (a.contentBytes === undefined) {
      throw new DataIncompatible(`${what} has no contentBytes: export with attachment content to import it`)
    }
    if (a.contentBytes !== '' && !isStrictBase64(a.contentBytes)) {
      throw new BadRequest(`${what}: contentBytes is not standard base64`)
    }
    contents.push(a.contentBytes)
    return el('t:FileAttachment', {},
      el('t:Name', {}, text(a.name)),
      textXml('ContentType', a.contentType),
      textXml('ContentId', a.contentId),
      a.isInline !== undefined && el('t:IsInline', {}, String(a.isInline)),
      el('t:Content', {}, '\u0000'))
  }))
}

function bodyXml (item: ItemProperties): string | undefined {
  const b = item.body
  // Exchange stores one body: an HTML body (its text is made from it), or a text one.
  if (b?.html !== undefined) return el('t:Body', { BodyType: 'HTML' }, text(b.html))
  if (b?.text !== undefined) return el('t:Body', { BodyType: 'Text' }, text(b.text))
  return undefined
}

function flagXml (item: ItemProperties, support: WriteSupport): string | undefined {
  const f = item.flag
  if (f === undefined) return undefined
  if (!support.flag) throw new NotSupported('a follow-up flag (t:Flag) needs Exchange 2013 or later')
  return el('t:Flag', {},
    el('t:FlagStatus', {}, invert(FLAG_STATUS)[f.flagStatus]),
    timeXml('StartDate', f.startDateTime),
    timeXml('DueDate', f.dueDateTime),
    timeXml('CompleteDate', f.completedDateTime))
}

/** Refuses fields the kind does not have, and an item class outside the kind's family. */
function checkShape (item: ItemProperties): void {
  const allowed = new Set([...COMMON_FIELDS, ...KIND_FIELDS[item.kind]])
  const foreign = Object.entries(item).filter(([k, v]) => v !== undefined && !allowed.has(k)).map(([k]) => k)
  if (foreign.length > 0) throw new BadRequest(`${foreign.join(', ')} do not apply to ${item.kind} items`)
  const family = CLASS_OF_KIND[item.kind]
  const c = item.itemClass ?? family
  const lower = c.toLowerCase()
  if (lower !== family.toLowerCase() && !lower.startsWith(`${family.toLowerCase()}.`)) {
    throw new DataIncompatible(`itemClass ${JSON.stringify(c.slice(0, 64))}: a ${item.kind} is created as EWS ` +
      `t:${ELEMENT_OF_KIND[item.kind]}, of class ${family} or one of its subclasses`)
  }
}

/** The message fields EWS has no writable element for, as the MAPI properties that hold them. */
function messageDerived (item: ItemProperties): Map<number, { type: string, value: string, field: string }> {
  const derived = new Map<number, { type: string, value: string, field: string }>()
  // PidTagMessageFlags: read (or not, as isRead says), never mfUnsent: not a draft.
  const flags = String(item.isRead === false ? 0 : MF_READ)
  derived.set(MESSAGE_FLAGS_TAG, { type: 'Integer', value: flags, field: 'isRead' })
  // PidTagClientSubmitTime ([MS-OXPROPS] 2.633), PidTagMessageDeliveryTime (2.780), PidTagInternetMessageId (2.742).
  if (item.sentDateTime !== undefined) {
    derived.set(0x0039, { type: 'SystemTime', value: item.sentDateTime, field: 'sentDateTime' })
  }
  if (item.receivedDateTime !== undefined) {
    derived.set(0x0e06, { type: 'SystemTime', value: item.receivedDateTime, field: 'receivedDateTime' })
  }
  if (item.internetMessageId !== undefined) {
    derived.set(0x1035, { type: 'String', value: item.internetMessageId, field: 'internetMessageId' })
  }
  return derived
}

function contactXml (item: ItemProperties): string[] {
  const emails = item.emailAddresses ?? []
  const business = item.businessPhones ?? []
  const home = item.homePhones ?? []
  if (emails.length > 3) throw new DataIncompatible('an EWS contact holds 3 e-mail addresses (EmailAddress1–3)')
  if (business.length > 2) {
    throw new DataIncompatible('an EWS contact holds 2 business phones (BusinessPhone, BusinessPhone2)')
  }
  if (home.length > 2) throw new DataIncompatible('an EWS contact holds 2 home phones (HomePhone, HomePhone2)')
  const phones: Array<[string, string]> = [
    ...business.map((p, i): [string, string] => [i === 0 ? 'BusinessPhone' : 'BusinessPhone2', p]),
    ...home.map((p, i): [string, string] => [i === 0 ? 'HomePhone' : 'HomePhone2', p]),
    ...(item.mobilePhone !== undefined ? [['MobilePhone', item.mobilePhone] as [string, string]] : [])
  ]
  const address = (key: string, a: Address | undefined): string | undefined => {
    if (a === undefined || Object.values(a).every((v) => v === undefined)) return undefined
    return el('t:Entry', { Key: key },
      textXml('Street', a.street), textXml('City', a.city), textXml('State', a.state),
      textXml('CountryOrRegion', a.countryOrRegion), textXml('PostalCode', a.postalCode))
  }
  const addresses = [address('Business', item.businessAddress), address('Home', item.homeAddress)]
    .filter((a) => a !== undefined)
  // Schema order (types.xsd ContactItemType): DisplayName, GivenName, MiddleName, Nickname, CompanyName,
  // EmailAddresses, PhysicalAddresses, PhoneNumbers, Birthday, Department, JobTitle, Surname.
  return [
    textXml('DisplayName', item.displayName),
    textXml('GivenName', item.givenName),
    textXml('MiddleName', item.middleName),
    textXml('Nickname', item.nickName),
    textXml('CompanyName', item.companyName),
    emails.length > 0
      ? el('t:EmailAddresses', {}, ...emails.map((e, i) =>
        el('t:Entry', { Key: `EmailAddress${i + 1}`, Name: e.name }, text(e.address))))
      : undefined,
    addresses.length > 0 ? el('t:PhysicalAddresses', {}, ...addresses) : undefined,
    phones.length > 0
      ? el('t:PhoneNumbers', {}, ...phones.map(([k, v]) => el('t:Entry', { Key: k }, text(v))))
      : undefined,
    item.birthday !== undefined ? el('t:Birthday', {}, `${item.birthday}T00:00:00Z`) : undefined,
    textXml('Department', item.department),
    textXml('JobTitle', item.jobTitle),
    textXml('Surname', item.surname)
  ].filter((x) => x !== undefined)
}

function appointmentXml (item: ItemProperties, support: WriteSupport): string[] {
  if (item.attendees !== undefined && item.attendees.length > 0) {
    throw new DataIncompatible('a meeting with attendees cannot be imported: Exchange ties organizer and attendees ' +
      'together only by sending meeting requests')
  }
  if (item.start === undefined || item.end === undefined) throw new BadRequest('an appointment needs start and end')
  let zone: string | undefined
  if (item.timeZone !== undefined) {
    if (!support.timeZoneDefinition) {
      throw new NotSupported('a time zone (t:StartTimeZone) needs Exchange 2010 or later')
    }
    zone = windowsZone(item.timeZone)
  }
  // Schema order (types.xsd CalendarItemType): UID, Start, End, IsAllDayEvent, Location, StartTimeZone, EndTimeZone.
  return [
    textXml('UID', item.uid),
    timeXml('Start', item.start),
    timeXml('End', item.end),
    item.isAllDay !== undefined ? el('t:IsAllDayEvent', {}, String(item.isAllDay)) : undefined,
    textXml('Location', item.location),
    zone !== undefined ? el('t:StartTimeZone', { Id: zone }) : undefined,
    zone !== undefined ? el('t:EndTimeZone', { Id: zone }) : undefined
  ].filter((x) => x !== undefined)
}

function taskXml (item: ItemProperties): string[] {
  // Schema order (types.xsd TaskType): CompleteDate, DueDate, PercentComplete, StartDate, Status.
  return [
    timeXml('CompleteDate', item.completedDateTime),
    timeXml('DueDate', item.dueDateTime),
    item.percentComplete !== undefined ? el('t:PercentComplete', {}, String(item.percentComplete)) : undefined,
    timeXml('StartDate', item.startDateTime),
    item.status !== undefined ? el('t:Status', {}, invert(TASK_STATUS)[item.status]) : undefined
  ].filter((x) => x !== undefined)
}

function messageXml (item: ItemProperties): string[] {
  // Schema order (types.xsd MessageType): Sender, ToRecipients, CcRecipients, BccRecipients, From, ReplyTo.
  return [
    item.sender !== undefined ? el('t:Sender', {}, mailboxXml(item.sender)) : undefined,
    recipientsXml('ToRecipients', item.toRecipients),
    recipientsXml('CcRecipients', item.ccRecipients),
    recipientsXml('BccRecipients', item.bccRecipients),
    item.from !== undefined ? el('t:From', {}, mailboxXml(item.from)) : undefined,
    recipientsXml('ReplyTo', item.replyTo)
  ].filter((x) => x !== undefined)
}

/**
 * ItemProperties as the item element of a CreateItem, children in schema order (types.xsd ItemType, then the
 * kind's type). Fields the server sets are not written (createdDateTime, lastModifiedDateTime, organizer: the
 * mailbox's owner), nor isDraft (an imported message is never a draft); everything else is written or refused:
 * 400 MBG_ERR_BAD_REQUEST for a field the kind does not have, a bad extended property, an IANA or Windows time
 * zone neither knows; 422 MBG_ERR_DATA_INCOMPATIBLE for what EWS cannot hold (a meeting with attendees, an
 * attachment without content, a fourth e-mail address, an item class of another kind); 501 MBG_ERR_NOT_SUPPORTED
 * for what the server's version lacks.
 */
export function writeItem (item: ItemProperties, support: WriteSupport): ItemWrite {
  checkShape(item)
  const contents: string[] = []
  const derived = item.kind === 'message' ? messageDerived(item) : new Map()
  const kindXml = item.kind === 'message'
    ? messageXml(item)
    : item.kind === 'appointment'
      ? appointmentXml(item, support)
      : item.kind === 'contact' ? contactXml(item) : taskXml(item)
  const element = ELEMENT_OF_KIND[item.kind]
  // Schema order (types.xsd ItemType): ItemClass, Subject, Sensitivity, Body, Attachments, Categories, Importance,
  // ExtendedProperty*, Flag; then the kind's own elements.
  const xml = el(`t:${element}`, {},
    textXml('ItemClass', item.itemClass),
    textXml('Subject', item.subject),
    item.sensitivity !== undefined ? el('t:Sensitivity', {}, invert(SENSITIVITY)[item.sensitivity]) : undefined,
    bodyXml(item),
    attachmentsXml(item, contents),
    item.categories !== undefined && item.categories.length > 0
      ? el('t:Categories', {}, ...item.categories.map((c) => el('t:String', {}, text(c))))
      : undefined,
    item.importance !== undefined ? el('t:Importance', {}, invert(IMPORTANCE)[item.importance]) : undefined,
    ...extendedXml(item, derived),
    flagXml(item, support),
    ...kindXml)
  return { element, xml, contents }
}
