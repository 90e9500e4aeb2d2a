/**
 * CreateItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/createitem-operation):
 * t:Message, t:CalendarItem, t:Contact and t:Task from their properties, or a message from MimeContent (.eml) and
 * a calendar item from MimeContent (.ics), as "Import items by using EWS in Exchange" describes. Each item is one
 * response message answering its ItemId and ChangeKey; items land in SavedItemFolderId (default: Drafts for
 * messages, Calendar, Contacts, Tasks by kind) and appear in listings, change feeds and exports like any other.
 *
 * What Exchange does and the simulator keeps: a message (from MIME or properties) is a draft unless the request
 * sets PidTagMessageFlags (ExtendedProperty tag 0x0E07) — "You will need to set the PidTagMessageFlags (0x0E07)
 * extended property if the email is not a draft"; MessageDisposition is required for messages
 * (ErrorMessageDispositionRequired), SendMeetingInvitations for calendar items (ErrorSendMeetingInvitationsRequired);
 * a contact cannot be created from a vCard ("you cannot import a contact by using the vCard MIME stream":
 * ErrorUnsupportedMimeConversion), nor a task from MIME. The simulator sends no mail: SendOnly, SendAndSaveCopy and
 * meeting invitations to attendees (SendOnlyToAll, SendToAllAndSaveCopy) answer ErrorMessageSubmissionBlocked;
 * SaveOnly and SendToNone store the item.
 */
import { EWS_RESPONSE_TYPES } from '../../../protocol/ews-properties.js'
import { isStrictBase64 } from '../../../base64.js'
import {
  itemContentMessage, newGlobalObjectId, uidFromGlobalObjectId, type ContentAttachment, type ContentAttendee,
  type ContentExtendedProperty, type ContentRecipient, type ItemContent, type MailAddress
} from '../../store/content.js'
import {
  encodeItemStream, guidToBytes, toFileTime, PT_BINARY, PT_BOOLEAN, PT_CLSID, PT_DOUBLE, PT_INT32, PT_INT64,
  PT_MV_UNICODE, PT_SHORT, PT_SYSTIME, PT_UNICODE_CP1200, type PropValue
} from '../../store/fts.js'
import { appointmentFromIcs, messageFromMime, MimeConversionError } from '../../store/mime.js'
import type { StoreFolder } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { injectedMessageFault, ownMailbox, resolveFolder, targetFolderEl } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { parseExtendedField } from '../shapes.js'
import { NS, child, childrenNamed, required, type XmlEl } from '../xml.js'
import { errorMessage, idAttrs, operationResponse, successMessage } from '../writer.js'

type Kind = 'Message' | 'CalendarItem' | 'Contact' | 'Task'
const KINDS: Kind[] = ['Message', 'CalendarItem', 'Contact', 'Task']
const DEFAULT_CLASS: Record<Kind, string> = {
  Message: 'IPM.Note', CalendarItem: 'IPM.Appointment', Contact: 'IPM.Contact', Task: 'IPM.Task'
}
const DEFAULT_FOLDER: Record<Kind, string> = {
  Message: 'drafts', CalendarItem: 'calendar', Contact: 'contacts', Task: 'tasks'
}
const MESSAGE_DISPOSITIONS = ['SaveOnly', 'SendOnly', 'SendAndSaveCopy']
const INVITATIONS = ['SendToNone', 'SendOnlyToAll', 'SendToAllAndSaveCopy']
const NO_SUBMISSION = 'This server does not submit messages: use MessageDisposition="SaveOnly" and ' +
  'SendMeetingInvitations="SendToNone".'

const textOf = (el: XmlEl, local: string): string | undefined => child(el, NS.t, local)?.text

function dateOf (el: XmlEl, local: string): Date | undefined {
  const v = textOf(el, local)
  if (v === undefined) return undefined
  const d = new Date(v.trim())
  if (Number.isNaN(d.getTime())) throw new EwsError('ErrorInvalidValueForProperty', `${local} is not a valid date.`)
  return d
}

function boolOf (el: XmlEl, local: string): boolean | undefined {
  const v = textOf(el, local)?.trim()
  return v === undefined ? undefined : v === 'true' || v === '1'
}

/** An EmailAddressType (Name, EmailAddress) as a MailAddress. */
function address (mailbox: XmlEl | undefined): MailAddress | undefined {
  if (mailbox === undefined) return undefined
  const email = textOf(mailbox, 'EmailAddress')?.trim()
  const name = textOf(mailbox, 'Name')
  if (email === undefined && name === undefined) return undefined
  return { ...(name !== undefined ? { name } : {}), address: email ?? '' }
}

function recipients (el: XmlEl, local: string, type: ContentRecipient['type']): ContentRecipient[] {
  const list = child(el, NS.t, local)
  if (list === undefined) return []
  return childrenNamed(list, NS.t, 'Mailbox').map((m) => address(m)).filter((a): a is MailAddress => a !== undefined)
    .map((a) => ({ ...a, type }))
}

function attendees (el: XmlEl, local: string, type: ContentAttendee['type']): ContentAttendee[] {
  const list = child(el, NS.t, local)
  if (list === undefined) return []
  return childrenNamed(list, NS.t, 'Attendee').flatMap((a) => {
    const mailbox = address(child(a, NS.t, 'Mailbox'))
    if (mailbox === undefined) return []
    const responses: Readonly<Record<string, ContentAttendee['response']>> = EWS_RESPONSE_TYPES
    const response = responses[textOf(a, 'ResponseType')?.trim() ?? '']
    return [{ ...mailbox, type, ...(response !== undefined ? { response } : {}) }]
  })
}

function attachments (el: XmlEl): ContentAttachment[] {
  const list = child(el, NS.t, 'Attachments')
  if (list === undefined) return []
  if (list.children.some((c) => c.local === 'ItemAttachment' || c.local === 'ReferenceAttachment')) {
    throw new EwsError('ErrorInvalidItemForOperationCreateItemAttachment',
      'This server takes file attachments only in CreateItem.')
  }
  return childrenNamed(list, NS.t, 'FileAttachment').map((a) => {
    const raw = (textOf(a, 'Content') ?? '').replace(/\s+/g, '')
    if (raw !== '' && !isStrictBase64(raw)) throw new EwsError('ErrorInvalidValueForProperty', 'Content is not base64.')
    const contentType = textOf(a, 'ContentType')
    const contentId = textOf(a, 'ContentId')
    return {
      name: textOf(a, 'Name') ?? 'attachment',
      data: Buffer.from(raw, 'base64'),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(contentId !== undefined ? { contentId } : {}),
      ...(boolOf(a, 'IsInline') === true ? { isInline: true } : {})
    }
  })
}

/** A t:ExtendedProperty as a stream property (by tag or by name) with its value in the PropertyType asked for. */
function extendedProperty (el: XmlEl): ContentExtendedProperty {
  const uriEl = required(el, NS.t, 'ExtendedFieldURI')
  const field = parseExtendedField(uriEl)
  if (field === undefined) {
    throw new EwsError('ErrorInvalidExtendedProperty', 'The extended property names no property.')
  }
  const values = child(el, NS.t, 'Values')
  const raw = values !== undefined
    ? childrenNamed(values, NS.t, 'Value').map((v) => v.text)
    : [textOf(el, 'Value') ?? '']
  const one = raw[0] ?? ''
  const bad = (): never => {
    throw new EwsError('ErrorInvalidExtendedPropertyValue', `The value '${one}' is not a valid ${field.type}.`)
  }
  let type: number
  let value: PropValue
  switch (field.type) {
    case 'Integer': type = PT_INT32; value = Number(one); if (!/^-?\d+$/.test(one.trim())) bad(); break
    case 'Short': type = PT_SHORT; value = Number(one); if (!/^-?\d+$/.test(one.trim())) bad(); break
    case 'Long': type = PT_INT64; if (!/^-?\d+$/.test(one.trim())) bad(); value = BigInt(one.trim()); break
    case 'Double': type = PT_DOUBLE; value = Number(one); if (Number.isNaN(value)) bad(); break
    case 'Boolean': {
      type = PT_BOOLEAN
      const v = one.trim().toLowerCase()
      if (!['true', 'false', '1', '0'].includes(v)) bad()
      value = v === 'true' || v === '1' ? 1 : 0
      break
    }
    case 'SystemTime': {
      type = PT_SYSTIME
      const d = new Date(one.trim())
      if (Number.isNaN(d.getTime())) bad()
      value = toFileTime(d)
      break
    }
    case 'Binary':
      type = PT_BINARY
      if (!isStrictBase64(one.replace(/\s+/g, '')) && one !== '') bad()
      value = Buffer.from(one, 'base64')
      break
    case 'String': type = PT_UNICODE_CP1200; value = one; break
    case 'StringArray': type = PT_MV_UNICODE; value = raw; break
    case 'CLSID': {
      type = PT_CLSID
      try { value = guidToBytes(one.trim()) } catch { return bad() }
      break
    }
    default:
      throw new EwsError('ErrorUnsupportedMapiPropertyType', `PropertyType ${field.type} is not supported here.`)
  }
  return field.tag !== undefined
    ? { tag: field.tag, type, value }
    : {
        name: field.name !== undefined
          ? { guid: field.setId ?? '', name: field.name }
          : { guid: field.setId ?? '', lid: field.id ?? 0 },
        type,
        value
      }
}

const SENSITIVITY: Record<string, ItemContent['sensitivity']> = {
  Normal: 'normal', Personal: 'personal', Private: 'private', Confidential: 'confidential'
}
const IMPORTANCE: Record<string, ItemContent['importance']> = { Low: 'low', Normal: 'normal', High: 'high' }
const BUSY: Record<string, NonNullable<ItemContent['appointment']>['busyStatus']> = {
  Free: 'free', Tentative: 'tentative', Busy: 'busy', OOF: 'oof', WorkingElsewhere: 'workingElsewhere'
}
const TASK_STATUS: Record<string, NonNullable<ItemContent['task']>['status']> = {
  NotStarted: 'notStarted',
  InProgress: 'inProgress',
  Completed: 'completed',
  WaitingOnOthers: 'waitingOnOthers',
  Deferred: 'deferred'
}

/** Overlays the item's schematized properties on `c` (a MIME import's content, or an empty one). */
function applyProperties (kind: Kind, el: XmlEl, c: ItemContent): void {
  const itemClass = textOf(el, 'ItemClass')
  if (itemClass !== undefined) c.itemClass = itemClass
  const subject = textOf(el, 'Subject')
  if (subject !== undefined) c.subject = subject
  const sensitivity = SENSITIVITY[textOf(el, 'Sensitivity')?.trim() ?? '']
  if (sensitivity !== undefined) c.sensitivity = sensitivity
  const body = child(el, NS.t, 'Body')
  if (body !== undefined) c.body = body.attrs.BodyType === 'HTML' ? { html: body.text } : { text: body.text }
  const files = attachments(el)
  if (files.length > 0) c.attachments = [...c.attachments, ...files]
  const categories = child(el, NS.t, 'Categories')
  if (categories !== undefined) c.categories = childrenNamed(categories, NS.t, 'String').map((s) => s.text)
  const importance = IMPORTANCE[textOf(el, 'Importance')?.trim() ?? '']
  if (importance !== undefined) c.importance = importance
  if (kind === 'Message') {
    const sender = address(child(child(el, NS.t, 'Sender') ?? el, NS.t, 'Mailbox'))
    const from = address(child(child(el, NS.t, 'From') ?? el, NS.t, 'Mailbox'))
    if (child(el, NS.t, 'Sender') !== undefined && sender !== undefined) c.sender = sender
    if (child(el, NS.t, 'From') !== undefined && from !== undefined) c.from = from
    const rs = [...recipients(el, 'ToRecipients', 'to'), ...recipients(el, 'CcRecipients', 'cc'),
      ...recipients(el, 'BccRecipients', 'bcc')]
    if (rs.length > 0) c.recipients = rs
    const messageId = textOf(el, 'InternetMessageId')
    if (messageId !== undefined) c.internetMessageId = messageId
    const isRead = boolOf(el, 'IsRead')
    if (isRead !== undefined) c.isRead = isRead
  } else if (kind === 'CalendarItem') {
    const start = dateOf(el, 'Start') ?? c.appointment?.start
    const end = dateOf(el, 'End') ?? c.appointment?.end
    if (start === undefined || end === undefined) {
      throw new EwsError('ErrorInvalidPropertySet', 'A calendar item needs Start and End.')
    }
    if (end.getTime() < start.getTime()) {
      throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate', 'The end date is earlier than the start date.')
    }
    const prev = c.appointment
    const uid = textOf(el, 'UID') ?? prev?.uid
    const allDay = boolOf(el, 'IsAllDayEvent') ?? prev?.isAllDay
    const location = textOf(el, 'Location') ?? prev?.location
    const busy = BUSY[textOf(el, 'LegacyFreeBusyStatus')?.trim() ?? ''] ?? prev?.busyStatus
    const timeZone = child(el, NS.t, 'StartTimeZone')?.attrs.Id ?? textOf(el, 'StartTimeZoneId') ?? prev?.timeZone
    const people = [
      ...attendees(el, 'RequiredAttendees', 'required'), ...attendees(el, 'OptionalAttendees', 'optional'),
      ...attendees(el, 'Resources', 'resource')]
    c.appointment = {
      start,
      end,
      attendees: people.length > 0 ? people : prev?.attendees ?? [],
      ...(allDay !== undefined ? { isAllDay: allDay } : {}),
      ...(location !== undefined ? { location } : {}),
      ...(busy !== undefined ? { busyStatus: busy } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(timeZone !== undefined ? { timeZone } : {}),
      ...(prev?.organizer !== undefined ? { organizer: prev.organizer } : {})
    }
  } else if (kind === 'Contact') {
    const s = (local: string): string | undefined => textOf(el, local)
    const entries = (local: string): XmlEl[] => {
      const list = child(el, NS.t, local)
      return list === undefined ? [] : childrenNamed(list, NS.t, 'Entry')
    }
    const emails = entries('EmailAddresses')
      .sort((a, b) => (a.attrs.Key ?? '').localeCompare(b.attrs.Key ?? ''))
      .map((e) => ({ ...(e.attrs.Name !== undefined ? { name: e.attrs.Name } : {}), address: e.text.trim() }))
      .filter((e) => e.address !== '')
    const phone = (key: string): string | undefined => entries('PhoneNumbers').find((e) => e.attrs.Key === key)?.text
    const postal = (key: string): NonNullable<ItemContent['contact']>['businessAddress'] => {
      const e = entries('PhysicalAddresses').find((x) => x.attrs.Key === key)
      if (e === undefined) return undefined
      const v = (local: string): string | undefined => textOf(e, local)
      const a = {
        ...(v('Street') !== undefined ? { street: v('Street') } : {}),
        ...(v('City') !== undefined ? { city: v('City') } : {}),
        ...(v('State') !== undefined ? { state: v('State') } : {}),
        ...(v('PostalCode') !== undefined ? { postalCode: v('PostalCode') } : {}),
        ...(v('CountryOrRegion') !== undefined ? { countryOrRegion: v('CountryOrRegion') } : {})
      }
      return Object.keys(a).length > 0 ? a : undefined
    }
    const birthday = dateOf(el, 'Birthday')
    const given = s('GivenName')
    const surname = s('Surname')
    const businessAddress = postal('Business')
    const homeAddress = postal('Home')
    const display = s('DisplayName') ?? ([given, surname].filter((x) => x !== undefined).join(' ') || undefined)
    const fields = {
      displayName: display,
      givenName: given,
      middleName: s('MiddleName'),
      surname,
      nickName: s('Nickname'),
      fileAs: s('FileAs'),
      companyName: s('CompanyName'),
      department: s('Department'),
      jobTitle: s('JobTitle'),
      mobilePhone: phone('MobilePhone'),
      businessAddress,
      homeAddress,
      birthday: birthday?.toISOString().slice(0, 10)
    }
    c.contact = {
      ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      emailAddresses: emails,
      businessPhones: [phone('BusinessPhone'), phone('BusinessPhone2')].filter((p): p is string => p !== undefined),
      homePhones: [phone('HomePhone'), phone('HomePhone2')].filter((p): p is string => p !== undefined)
    }
  } else {
    const status = TASK_STATUS[textOf(el, 'Status')?.trim() ?? ''] ?? 'notStarted'
    const percent = textOf(el, 'PercentComplete')
    const start = dateOf(el, 'StartDate')
    const due = dateOf(el, 'DueDate')
    const completed = dateOf(el, 'CompleteDate')
    const pct = percent !== undefined ? Number(percent) : status === 'completed' ? 100 : undefined
    if (pct !== undefined && (Number.isNaN(pct) || pct < 0 || pct > 100)) {
      throw new EwsError('ErrorInvalidPercentCompleteValue', 'PercentComplete must be between 0 and 100.')
    }
    c.task = {
      status,
      ...(pct !== undefined ? { percentComplete: pct } : {}),
      ...(start !== undefined ? { start } : {}),
      ...(due !== undefined ? { due } : {}),
      ...(completed !== undefined ? { completed } : {})
    }
  }
}

function decodeMime (el: XmlEl): Buffer {
  const raw = el.text.replace(/\s+/g, '')
  if (raw === '' || !isStrictBase64(raw)) {
    throw new EwsError('ErrorMimeContentInvalid', 'The MIME content is not base64.')
  }
  return Buffer.from(raw, 'base64')
}

interface CreateOptions { disposition?: string, invitations?: string, folder?: StoreFolder }

async function createOne (ctx: RequestContext, kind: Kind, el: XmlEl, opts: CreateOptions):
Promise<{ id: string, changeKey: string }> {
  const now = ctx.store.now()
  const mimeEl = child(el, NS.t, 'MimeContent')
  let content: ItemContent = { itemClass: DEFAULT_CLASS[kind], recipients: [], attachments: [], extended: [] }
  if (kind === 'Message') {
    if (opts.disposition === undefined) throw new EwsError('ErrorMessageDispositionRequired')
    if (opts.disposition !== 'SaveOnly') throw new EwsError('ErrorMessageSubmissionBlocked', NO_SUBMISSION)
  }
  if (kind === 'CalendarItem' && opts.invitations === undefined) {
    throw new EwsError('ErrorSendMeetingInvitationsRequired')
  }
  if (mimeEl !== undefined) {
    if (kind === 'Contact' || kind === 'Task') {
      throw new EwsError('ErrorUnsupportedMimeConversion',
        `A ${kind === 'Contact' ? 'contact cannot be created from a vCard' : 'task cannot be created from MIME'}: ` +
        'set its properties instead.')
    }
    const mime = decodeMime(mimeEl)
    try {
      const parsed = kind === 'Message' ? await messageFromMime(mime) : appointmentFromIcs(mime)
      content = { ...parsed, itemClass: DEFAULT_CLASS[kind] }
    } catch (err) {
      if (err instanceof MimeConversionError) throw new EwsError('ErrorMimeContentInvalid', err.message)
      throw err
    }
  }
  applyProperties(kind, el, content)
  const extended = childrenNamed(el, NS.t, 'ExtendedProperty').map(extendedProperty)
  const flags = extended.find((e) => e.tag === 0x0e07 && e.type === PT_INT32)
  if (kind === 'Message') {
    // Exchange stores a created message as a draft unless PidTagMessageFlags says otherwise.
    const requested = child(el, NS.t, 'IsRead') !== undefined ? content.isRead : undefined
    if (flags !== undefined) {
      const f = Number(flags.value)
      content.messageFlags = f
      content.isRead = requested ?? (f & 1) !== 0
      content.isDraft = (f & 8) !== 0
    } else {
      content.isDraft = true
      content.isRead = requested ?? true
    }
    content.received ??= now
  } else {
    content.isDraft = false
    content.isRead = true
    if (flags !== undefined) content.messageFlags = Number(flags.value)
  }
  const appt = content.appointment
  if (appt !== undefined) {
    if (appt.attendees.length > 0 && opts.invitations !== 'SendToNone') {
      throw new EwsError('ErrorMessageSubmissionBlocked', NO_SUBMISSION)
    }
    const owner = ctx.mailbox ??
      (opts.folder !== undefined ? ctx.store.mailboxes.get(opts.folder.mailboxGuid) : undefined)
    if (appt.organizer === undefined && content.from === undefined && owner !== undefined) {
      appt.organizer = { name: owner.displayName, address: owner.smtp }
    }
    // Exchange gives every calendar item a global object id; an imported UID is kept.
    appt.uid ??= uidFromGlobalObjectId(newGlobalObjectId(now))
    appt.isMeeting = appt.attendees.length > 0
  }
  content.created = now
  content.modified = now
  content.extended = extended.filter((e) => e !== flags)
  const message = itemContentMessage(content)
  // An extended property the view also models (e.g. by tag) replaces its value rather than repeating it.
  message.props = message.props.filter((p, i) => !message.props.some((q, j) => j > i && q.id === p.id))
  const folder = opts.folder ?? ctx.store.wellKnownFolder(ownMailbox(ctx).guid, DEFAULT_FOLDER[kind])
  const stream = encodeItemStream(message)
  const item = ctx.store.createItem(folder.id, stream, { created: now, modified: now, isRead: content.isRead ?? true })
  return { id: item.id, changeKey: item.changeKey }
}

const attrValue = (req: XmlEl, name: string, allowed: string[]): string | undefined => {
  const v = req.attrs[name]
  if (v !== undefined && !allowed.includes(v)) {
    throw EwsFault.schema(`The request failed schema validation: The '${name}' attribute is invalid - The value ` +
      `'${v}' is invalid according to its datatype.`)
  }
  return v
}

export async function createItem (ctx: RequestContext, req: XmlEl): Promise<string> {
  const disposition = attrValue(req, 'MessageDisposition', MESSAGE_DISPOSITIONS)
  const invitations = attrValue(req, 'SendMeetingInvitations', INVITATIONS)
  const saved = child(req, NS.m, 'SavedItemFolderId')
  const items = required(req, NS.m, 'Items').children.filter((c) => c.ns === NS.t)
  let folder: StoreFolder | EwsError | undefined
  if (saved !== undefined) {
    try {
      folder = resolveFolder(ctx, targetFolderEl(saved))
    } catch (err) {
      if (err instanceof EwsFault) throw err
      folder = toEwsError(err)
    }
  }
  const messages: string[] = []
  for (const el of items) {
    try {
      injectedMessageFault(ctx)
      if (folder instanceof EwsError) throw folder
      const kind = KINDS.find((k) => k === el.local)
      if (kind === undefined) {
        throw new EwsError('ErrorInvalidItemForOperationCreateItem',
          `This server creates Message, CalendarItem, Contact and Task items, not ${el.local}.`)
      }
      const created = await createOne(ctx, kind, el, {
        ...(disposition !== undefined ? { disposition } : {}),
        ...(invitations !== undefined ? { invitations } : {}),
        ...(folder !== undefined ? { folder } : {})
      })
      messages.push(successMessage('CreateItem',
        `<m:Items><t:${kind}><t:ItemId ${idAttrs(created.id, created.changeKey)}/></t:${kind}></m:Items>`))
    } catch (err) {
      messages.push(errorMessage('CreateItem', toEwsError(err), '<m:Items/>'))
    }
  }
  return operationResponse('CreateItem', messages)
}
