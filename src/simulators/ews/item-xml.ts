/**
 * GetItem's rendering of an item from its content (store/content.ts): t:Message, t:CalendarItem, t:Contact and
 * t:Task with the properties the ItemShape asks for, in the schema's element order (ItemType, then MessageType,
 * CalendarItemType, ContactItemType or TaskType: types.xsd), MimeContent, Body in the asked BodyType, attachment
 * metadata, and extended properties by tag or by name
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/getitem-operation).
 *
 * BaseShape: IdOnly answers the ItemId; Default the properties FindItem's Default has plus, per kind, what
 * Microsoft's GetItem examples show (Sensitivity, Body, Attachments, recipients and From of a message; Start, End,
 * Location, Organizer of a calendar item; names, e-mail addresses and phones of a contact; status and dates of a
 * task); AllProperties every property the simulator models. MimeContent only with IncludeMimeContent or
 * item:MimeContent, as on Exchange.
 */
import {
  contentKind, readItemContent, type ContentAttendee, type ItemContent, type MailAddress
} from '../store/content.js'
import {
  decodeItemStream, fromFileTime, PT_BINARY, PT_BOOLEAN, PT_CLSID, PT_DOUBLE, PT_INT32, PT_INT64,
  PT_MV_UNICODE, PT_SHORT, PT_SYSTIME, PT_UNICODE, PT_UNICODE_CP1200, type Prop
} from '../store/fts.js'
import { appointmentToIcs, contactToVcf, messageToMime } from '../store/mime.js'
import type { MailboxStore, StoreItem } from '../store/store.js'
import { attachmentId } from './attachments.js'
import { itemElementName, type ExtendedField, type Shape } from './shapes.js'
import { dateTime, esc, idAttrs, text } from './writer.js'

const ITEM_DEFAULT = [
  'item:ParentFolderId', 'item:ItemClass', 'item:Subject', 'item:DateTimeReceived', 'item:Size', 'item:DateTimeSent',
  'item:DateTimeCreated', 'item:HasAttachments', 'item:LastModifiedTime', 'message:IsRead',
  'item:Sensitivity', 'item:Body', 'item:Attachments'
]
const KIND_DEFAULT: Record<string, string[]> = {
  Message: ['message:ToRecipients', 'message:CcRecipients', 'message:From'],
  CalendarItem: ['calendar:Start', 'calendar:End', 'calendar:IsAllDayEvent', 'calendar:LegacyFreeBusyStatus',
    'calendar:Location', 'calendar:Organizer', 'calendar:UID'],
  Contact: ['contacts:DisplayName', 'contacts:GivenName', 'contacts:Surname', 'contacts:CompanyName',
    'contacts:EmailAddresses', 'contacts:PhoneNumbers'],
  Task: ['task:DueDate', 'task:PercentComplete', 'task:StartDate', 'task:Status'],
  Item: []
}
const ITEM_ALL = [
  ...ITEM_DEFAULT, 'item:IsAssociated', 'item:Categories', 'item:Importance', 'item:IsDraft', 'item:DisplayCc',
  'item:DisplayTo', 'item:Flag'
]
const KIND_ALL: Record<string, string[]> = {
  Message: [...KIND_DEFAULT.Message, 'message:Sender', 'message:BccRecipients', 'message:InternetMessageId'],
  CalendarItem: [...KIND_DEFAULT.CalendarItem, 'calendar:IsMeeting', 'calendar:IsRecurring',
    'calendar:CalendarItemType', 'calendar:RequiredAttendees', 'calendar:OptionalAttendees', 'calendar:Resources',
    'calendar:StartTimeZone', 'calendar:EndTimeZone'],
  Contact: [...KIND_DEFAULT.Contact, 'contacts:FileAs', 'contacts:MiddleName', 'contacts:Nickname',
    'contacts:PhysicalAddresses', 'contacts:Birthday', 'contacts:Department', 'contacts:JobTitle'],
  Task: [...KIND_DEFAULT.Task, 'task:CompleteDate', 'task:IsComplete', 'task:IsRecurring'],
  Item: []
}
const DEFAULT_SETS = Object.fromEntries(Object.entries(KIND_DEFAULT)
  .map(([k, v]) => [k, new Set([...ITEM_DEFAULT, ...v])]))
const ALL_SETS = Object.fromEntries(Object.entries(KIND_ALL).map(([k, v]) => [k, new Set([...ITEM_ALL, ...v])]))

/** The MIME text of an item, as GetItem's MimeContent has it: .eml, .ics (appointments) or .vcf (contacts). */
export async function itemMime (content: ItemContent): Promise<Buffer> {
  switch (contentKind(content.itemClass)) {
    case 'appointment': return appointmentToIcs(content)
    case 'contact': return contactToVcf(content)
    default: return await messageToMime(content)
  }
}

/** HTML for a text body, as Exchange converts one (the text, escaped, in a pre-formatted block). */
function textToHtml (s: string): string {
  return `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><pre>${
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</pre></body></html>`
}

/** Text for an HTML body: tags dropped, line breaks for block ends, the common entities decoded. */
function htmlToText (s: string): string {
  return s
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h[1-6])>/gi, '\r\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'").replace(/&amp;/g, '&')
}

/** The Body element for the asked BodyType (Best: HTML when the item has HTML, else text). */
function bodyXml (content: ItemContent, bodyType: Shape['bodyType']): string {
  const html = content.body?.html
  const plain = content.body?.text
  const wantHtml = bodyType === 'HTML' || ((bodyType ?? 'Best') === 'Best' && html !== undefined)
  if (wantHtml) return `<t:Body BodyType="HTML">${text(html ?? textToHtml(plain ?? ''))}</t:Body>`
  return `<t:Body BodyType="Text">${text(plain ?? (html !== undefined ? htmlToText(html) : ''))}</t:Body>`
}

function mailboxXml (store: MailboxStore, a: MailAddress): string {
  const type = a.address !== '' && store.mailboxBySmtp(a.address) !== undefined ? 'Mailbox' : 'OneOff'
  return `<t:Mailbox>${a.name !== undefined ? `<t:Name>${text(a.name)}</t:Name>` : ''}` +
    (a.address !== ''
      ? `<t:EmailAddress>${text(a.address)}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType>`
      : '') +
    `<t:MailboxType>${type}</t:MailboxType></t:Mailbox>`
}

const RESPONSE_TYPE: Record<NonNullable<ContentAttendee['response']>, string> = {
  none: 'Unknown',
  organizer: 'Organizer',
  tentativelyAccepted: 'Tentative',
  accepted: 'Accept',
  declined: 'Decline',
  notResponded: 'NoResponseReceived'
}
const FREE_BUSY = {
  free: 'Free', tentative: 'Tentative', busy: 'Busy', oof: 'OOF', workingElsewhere: 'WorkingElsewhere'
}
const TASK_STATUS = {
  notStarted: 'NotStarted',
  inProgress: 'InProgress',
  completed: 'Completed',
  waitingOnOthers: 'WaitingOnOthers',
  deferred: 'Deferred'
}
const cap = (s: string): string => s[0].toUpperCase() + s.slice(1)

/** MapiPropertyTypeType names → MAPI property types the store writes. */
const MAPI_TYPES: Record<string, number[]> = {
  Integer: [PT_INT32],
  Long: [PT_INT64],
  Short: [PT_SHORT],
  Boolean: [PT_BOOLEAN],
  SystemTime: [PT_SYSTIME],
  Binary: [PT_BINARY],
  String: [PT_UNICODE, PT_UNICODE_CP1200],
  StringArray: [PT_MV_UNICODE],
  Double: [PT_DOUBLE],
  CLSID: [PT_CLSID]
}

function extendedValue (prop: Prop): string {
  const v = prop.value
  switch (prop.type) {
    case PT_BOOLEAN: return v !== 0 ? 'true' : 'false'
    case PT_SYSTIME: return dateTime(fromFileTime(v as bigint))
    case PT_BINARY: return (v as Buffer).toString('base64')
    case PT_CLSID: {
      const h = Buffer.from(v as Buffer)
      const g = Buffer.concat([h.subarray(0, 4).reverse(), h.subarray(4, 6).reverse(), h.subarray(6, 8).reverse(),
        h.subarray(8)]).toString('hex')
      return `${g.slice(0, 8)}-${g.slice(8, 12)}-${g.slice(12, 16)}-${g.slice(16, 20)}-${g.slice(20)}`
    }
    default: return text(String(v))
  }
}

/**
 * `t:ExtendedProperty` elements for the asked MAPI properties the item has (top-level properties of its stream,
 * PidTagMessageFlags with the store's read state); properties the item does not
 * have, or has with another type, are left out, as Exchange does.
 */
function extendedXml (item: StoreItem, fields: ExtendedField[]): string {
  if (fields.length === 0) return ''
  const stream = decodeItemStream(item.blob())
  let out = ''
  for (const f of fields) {
    const types = MAPI_TYPES[f.type] ?? []
    let prop: Prop | undefined
    if (f.tag !== undefined) {
      prop = stream.props.find((p) => p.id === f.tag && types.includes(p.type))
      if (prop !== undefined && f.tag === 0x0e07) {
        prop = { ...prop, value: (Number(prop.value) & ~1) | (item.isRead ? 1 : 0) }
      }
    } else {
      const id = [...(stream.names ?? new Map())].find(([, n]) => n.guid === f.setId &&
        (f.name !== undefined ? n.name === f.name : n.lid === f.id))?.[0]
      prop = id === undefined ? undefined : stream.props.find((p) => p.id === id && types.includes(p.type))
    }
    if (prop === undefined) continue
    // Exchange echoes a tag in lower-case hex without leading zeros (0x300b), a named property as asked.
    const uri = f.tag !== undefined
      ? `<t:ExtendedFieldURI PropertyTag="0x${f.tag.toString(16)}" PropertyType="${esc(f.type)}"/>`
      : `<t:ExtendedFieldURI ${f.attrs.map(([k, v]) => `${k}="${esc(v)}"`).join(' ')}/>`
    const value = Array.isArray(prop.value)
      ? `<t:Values>${prop.value.map((v) => `<t:Value>${text(v)}</t:Value>`).join('')}</t:Values>`
      : `<t:Value>${extendedValue(prop)}</t:Value>`
    out += `<t:ExtendedProperty>${uri}${value}</t:ExtendedProperty>`
  }
  return out
}

/** Attachment metadata (t:FileAttachment without Content), as GetItem answers it. */
export function attachmentsXml (item: StoreItem, content: ItemContent): string {
  return content.attachments.map((a, i) =>
    `<t:FileAttachment><t:AttachmentId Id="${attachmentId(item.id, i)}" RootItemId="${esc(item.id)}" ` +
    `RootItemChangeKey="${esc(item.changeKey)}"/><t:Name>${text(a.name)}</t:Name>` +
    `${a.contentType !== undefined ? `<t:ContentType>${text(a.contentType)}</t:ContentType>` : ''}` +
    `${a.contentId !== undefined ? `<t:ContentId>${text(a.contentId)}</t:ContentId>` : ''}` +
    `<t:Size>${a.data.length}</t:Size>` +
    `${a.lastModified !== undefined ? `<t:LastModifiedTime>${dateTime(a.lastModified)}</t:LastModifiedTime>` : ''}` +
    `<t:IsInline>${a.isInline === true}</t:IsInline><t:IsContactPhoto>false</t:IsContactPhoto></t:FileAttachment>`
  ).join('')
}

/**
 * One item as GetItem answers it (the element named by its class: Message, CalendarItem, Contact, Task; other
 * classes as Item, folder-associated ones as Message). Throws FtsFormatError for a damaged stream.
 */
export async function renderFullItem (store: MailboxStore, item: StoreItem, shape: Shape): Promise<string> {
  const named = itemElementName(item.itemClass)
  const el = named === 'Item' && item.associated ? 'Message' : named
  const defaults = (shape.base === 'Default' ? DEFAULT_SETS : shape.base === 'AllProperties' ? ALL_SETS : {})[el]
  const w = (f: string): boolean => shape.extra.has(f) || (defaults?.has(f) ?? false)
  const content = readItemContent(item)
  const kind = contentKind(item.itemClass)
  let out = `<t:${el}>`
  if (shape.includeMime === true) {
    out += `<t:MimeContent CharacterSet="UTF-8">${(await itemMime(content)).toString('base64')}</t:MimeContent>`
  }
  out += `<t:ItemId ${idAttrs(item.id, item.changeKey)}/>`
  if (w('item:ParentFolderId')) out += `<t:ParentFolderId Id="${esc(item.folderId)}"/>`
  if (w('item:ItemClass')) out += `<t:ItemClass>${text(item.itemClass)}</t:ItemClass>`
  if (w('item:Subject') && content.subject !== undefined) out += `<t:Subject>${text(content.subject)}</t:Subject>`
  if (w('item:Sensitivity')) out += `<t:Sensitivity>${cap(content.sensitivity ?? 'normal')}</t:Sensitivity>`
  if (w('item:Body') && content.body !== undefined) out += bodyXml(content, shape.bodyType)
  if (w('item:Attachments') && content.attachments.length > 0) {
    out += `<t:Attachments>${attachmentsXml(item, content)}</t:Attachments>`
  }
  if (w('item:DateTimeReceived')) {
    out += `<t:DateTimeReceived>${dateTime(content.received ?? item.created)}</t:DateTimeReceived>`
  }
  if (w('item:Size')) out += `<t:Size>${item.size}</t:Size>`
  if (w('item:Categories') && (content.categories?.length ?? 0) > 0) {
    const list = (content.categories ?? []).map((c) => `<t:String>${text(c)}</t:String>`).join('')
    out += `<t:Categories>${list}</t:Categories>`
  }
  if (w('item:Importance')) out += `<t:Importance>${cap(content.importance ?? 'normal')}</t:Importance>`
  if (w('item:IsDraft')) out += `<t:IsDraft>${content.isDraft === true}</t:IsDraft>`
  if (w('item:DateTimeSent')) out += `<t:DateTimeSent>${dateTime(content.sent ?? item.created)}</t:DateTimeSent>`
  if (w('item:DateTimeCreated')) out += `<t:DateTimeCreated>${dateTime(item.created)}</t:DateTimeCreated>`
  const names = (type: 'to' | 'cc'): string => content.recipients.filter((r) => r.type === type)
    .map((r) => r.name ?? r.address).join('; ')
  if (kind === 'message' && w('item:DisplayCc')) out += `<t:DisplayCc>${text(names('cc'))}</t:DisplayCc>`
  if (kind === 'message' && w('item:DisplayTo')) out += `<t:DisplayTo>${text(names('to'))}</t:DisplayTo>`
  if (w('item:HasAttachments')) out += `<t:HasAttachments>${item.hasAttachments}</t:HasAttachments>`
  out += extendedXml(item, shape.extended)
  if (w('item:LastModifiedTime')) out += `<t:LastModifiedTime>${dateTime(item.modified)}</t:LastModifiedTime>`
  if (w('item:IsAssociated')) out += `<t:IsAssociated>${item.associated}</t:IsAssociated>`
  if (w('item:Flag') && kind === 'message') {
    const f = content.flag
    out += `<t:Flag><t:FlagStatus>${f === undefined ? 'NotFlagged' : cap(f.status)}</t:FlagStatus>` +
      `${f?.start !== undefined ? `<t:StartDate>${dateTime(f.start)}</t:StartDate>` : ''}` +
      `${f?.due !== undefined ? `<t:DueDate>${dateTime(f.due)}</t:DueDate>` : ''}` +
      `${f?.completed !== undefined ? `<t:CompleteDate>${dateTime(f.completed)}</t:CompleteDate>` : ''}</t:Flag>`
  }
  if (el === 'Message') out += messageXml(store, item, content, w)
  else if (el === 'CalendarItem') out += calendarXml(store, content, w)
  else if (el === 'Contact') out += contactXml(content, w)
  else if (el === 'Task') out += taskXml(content, w)
  return `${out}</t:${el}>`
}

function messageXml (store: MailboxStore, item: StoreItem, c: ItemContent, w: (f: string) => boolean): string {
  let out = ''
  const single = (tag: string, a: MailAddress | undefined): string =>
    a === undefined ? '' : `<t:${tag}>${mailboxXml(store, a)}</t:${tag}>`
  const list = (tag: string, type: 'to' | 'cc' | 'bcc'): string => {
    const rs = c.recipients.filter((r) => r.type === type)
    return rs.length === 0 ? '' : `<t:${tag}>${rs.map((r) => mailboxXml(store, r)).join('')}</t:${tag}>`
  }
  if (w('message:Sender')) out += single('Sender', c.sender ?? c.from)
  if (w('message:ToRecipients')) out += list('ToRecipients', 'to')
  if (w('message:CcRecipients')) out += list('CcRecipients', 'cc')
  if (w('message:BccRecipients')) out += list('BccRecipients', 'bcc')
  if (w('message:From')) out += single('From', c.from)
  if (w('message:InternetMessageId') && c.internetMessageId !== undefined) {
    out += `<t:InternetMessageId>${text(c.internetMessageId)}</t:InternetMessageId>`
  }
  if (w('message:IsRead')) out += `<t:IsRead>${item.isRead}</t:IsRead>`
  return out
}

function calendarXml (store: MailboxStore, c: ItemContent, w: (f: string) => boolean): string {
  const a = c.appointment
  if (a === undefined) return ''
  let out = ''
  if (w('calendar:UID') && a.uid !== undefined) out += `<t:UID>${text(a.uid)}</t:UID>`
  if (w('calendar:Start')) out += `<t:Start>${dateTime(a.start)}</t:Start>`
  if (w('calendar:End')) out += `<t:End>${dateTime(a.end)}</t:End>`
  if (w('calendar:IsAllDayEvent')) out += `<t:IsAllDayEvent>${a.isAllDay === true}</t:IsAllDayEvent>`
  if (w('calendar:LegacyFreeBusyStatus')) {
    out += `<t:LegacyFreeBusyStatus>${FREE_BUSY[a.busyStatus ?? 'busy']}</t:LegacyFreeBusyStatus>`
  }
  if (w('calendar:Location') && a.location !== undefined) out += `<t:Location>${text(a.location)}</t:Location>`
  const meeting = a.isMeeting ?? a.attendees.length > 0
  if (w('calendar:IsMeeting')) out += `<t:IsMeeting>${meeting}</t:IsMeeting>`
  if (w('calendar:IsRecurring')) out += '<t:IsRecurring>false</t:IsRecurring>'
  if (w('calendar:CalendarItemType')) out += '<t:CalendarItemType>Single</t:CalendarItemType>'
  const organizer = a.organizer ?? c.from
  if (w('calendar:Organizer') && organizer !== undefined) {
    out += `<t:Organizer>${mailboxXml(store, organizer)}</t:Organizer>`
  }
  const attendees = (tag: string, type: ContentAttendee['type']): string => {
    const list = a.attendees.filter((x) => x.type === type && x.isOrganizer !== true)
    return list.length === 0
      ? ''
      : `<t:${tag}>${list.map((x) => `<t:Attendee>${mailboxXml(store, x)}` +
        (x.response !== undefined ? `<t:ResponseType>${RESPONSE_TYPE[x.response]}</t:ResponseType>` : '') +
        '</t:Attendee>')
        .join('')}</t:${tag}>`
  }
  if (w('calendar:RequiredAttendees')) out += attendees('RequiredAttendees', 'required')
  if (w('calendar:OptionalAttendees')) out += attendees('OptionalAttendees', 'optional')
  if (w('calendar:Resources')) out += attendees('Resources', 'resource')
  if (a.timeZone !== undefined) {
    if (w('calendar:StartTimeZone')) out += `<t:StartTimeZone Id="${esc(a.timeZone)}"/>`
    if (w('calendar:EndTimeZone')) out += `<t:EndTimeZone Id="${esc(a.timeZone)}"/>`
  }
  return out
}

function contactXml (c: ItemContent, w: (f: string) => boolean): string {
  const k = c.contact
  if (k === undefined) return ''
  let out = ''
  const s = (field: string, tag: string, v: string | undefined): void => {
    if (w(field) && v !== undefined) out += `<t:${tag}>${text(v)}</t:${tag}>`
  }
  s('contacts:FileAs', 'FileAs', k.fileAs)
  s('contacts:DisplayName', 'DisplayName', k.displayName)
  s('contacts:GivenName', 'GivenName', k.givenName)
  s('contacts:MiddleName', 'MiddleName', k.middleName)
  s('contacts:Nickname', 'Nickname', k.nickName)
  s('contacts:CompanyName', 'CompanyName', k.companyName)
  if (w('contacts:EmailAddresses') && k.emailAddresses.length > 0) {
    out += `<t:EmailAddresses>${k.emailAddresses.map((e, i) => `<t:Entry Key="EmailAddress${i + 1}"` +
      `${e.name !== undefined ? ` Name="${esc(e.name)}"` : ''} RoutingType="SMTP">${text(e.address)}</t:Entry>`)
      .join('')}</t:EmailAddresses>`
  }
  const addresses = ([['Business', k.businessAddress], ['Home', k.homeAddress]] as const)
    .filter(([, a]) => a !== undefined)
  if (w('contacts:PhysicalAddresses') && addresses.length > 0) {
    out += `<t:PhysicalAddresses>${addresses.map(([key, a]) => `<t:Entry Key="${key}">` +
      (['street', 'city', 'state', 'countryOrRegion', 'postalCode'] as const)
        .map((f) => a?.[f] !== undefined ? `<t:${cap(f)}>${text(a[f] ?? '')}</t:${cap(f)}>` : '').join('') +
      '</t:Entry>').join('')}</t:PhysicalAddresses>`
  }
  const phones: Array<[string, string | undefined]> = [
    ['BusinessPhone', k.businessPhones[0]], ['BusinessPhone2', k.businessPhones[1]],
    ['HomePhone', k.homePhones[0]], ['HomePhone2', k.homePhones[1]], ['MobilePhone', k.mobilePhone]
  ]
  const present = phones.filter(([, v]) => v !== undefined)
  if (w('contacts:PhoneNumbers') && present.length > 0) {
    out += `<t:PhoneNumbers>${present.map(([key, v]) => `<t:Entry Key="${key}">${text(v ?? '')}</t:Entry>`)
      .join('')}</t:PhoneNumbers>`
  }
  if (w('contacts:Birthday') && k.birthday !== undefined) out += `<t:Birthday>${k.birthday}T00:00:00Z</t:Birthday>`
  s('contacts:Department', 'Department', k.department)
  s('contacts:JobTitle', 'JobTitle', k.jobTitle)
  s('contacts:Surname', 'Surname', k.surname)
  return out
}

function taskXml (c: ItemContent, w: (f: string) => boolean): string {
  const t = c.task
  if (t === undefined) return ''
  let out = ''
  if (w('task:CompleteDate') && t.completed !== undefined) {
    out += `<t:CompleteDate>${dateTime(t.completed)}</t:CompleteDate>`
  }
  if (w('task:DueDate') && t.due !== undefined) out += `<t:DueDate>${dateTime(t.due)}</t:DueDate>`
  if (w('task:IsComplete')) out += `<t:IsComplete>${t.status === 'completed'}</t:IsComplete>`
  if (w('task:IsRecurring')) out += '<t:IsRecurring>false</t:IsRecurring>'
  if (w('task:PercentComplete')) out += `<t:PercentComplete>${t.percentComplete ?? 0}</t:PercentComplete>`
  if (w('task:StartDate') && t.start !== undefined) out += `<t:StartDate>${dateTime(t.start)}</t:StartDate>`
  if (w('task:Status')) out += `<t:Status>${TASK_STATUS[t.status]}</t:Status>`
  return out
}
