/**
 * The content of a simulated item as a typed view over the MAPI properties of its full-fidelity stream (fts.ts).
 *
 * The stream stays the one source of truth: `readItemContent` decodes a stored item's stream into an ItemContent,
 * `writeItemStream` encodes an ItemContent into a new stream (which `MailboxStore.createItem` / `updateItem`
 * take), so a full-fidelity export and import keep everything the view shows. Each field names the MAPI property
 * it lives in, from [MS-OXPROPS] (Exchange Server Protocols Master Property List,
 * https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxprops); message semantics from [MS-OXOMSG],
 * appointments [MS-OXOCAL], contacts [MS-OXOCNTC], tasks [MS-OXOTASK], flags [MS-OXOFLAG], attachments [MS-OXCMSG].
 * Properties the view does not model are kept in `extended` (by tag or by name), so read → write loses nothing.
 *
 * Simplifications, stated: e-mail addresses are SMTP only (address type `SMTP`, no EX/X500 entry ids); an
 * appointment's time zone is kept as its Windows time-zone id in PidLidTimeZoneDescription (Exchange keeps the
 * rules in PidLidAppointmentTimeZoneDefinitionStartDisplay, a binary TZDEFINITION the simulator does not build);
 * recurrence, reminders and reply-to are not modelled (such properties stay in `extended` when a stream has them).
 */
import { randomBytes } from 'node:crypto'
import {
  decodeItemStream, encodeItemStream, fromFileTime, toFileTime,
  PT_BINARY, PT_BOOLEAN, PT_DOUBLE, PT_INT32, PT_MV_UNICODE, PT_SYSTIME, PT_UNICODE_CP1200,
  type FtsMessage, type Prop, type PropName, type PropValue
} from './fts.js'
import type { StoreItem } from './store.js'

// ------------------------------------------------------------------ property sets and tags

/** Property set GUIDs ([MS-OXPROPS] 1.3.2), lower-case. */
export const PSETID = {
  /** PS_PUBLIC_STRINGS {00020329-0000-0000-C000-000000000046}: PidNameKeywords (categories). */
  PublicStrings: '00020329-0000-0000-c000-000000000046',
  /** PSETID_Appointment {00062002-0000-0000-C000-000000000046}. */
  Appointment: '00062002-0000-0000-c000-000000000046',
  /** PSETID_Task {00062003-0000-0000-C000-000000000046}. */
  Task: '00062003-0000-0000-c000-000000000046',
  /** PSETID_Address {00062004-0000-0000-C000-000000000046} (contacts). */
  Address: '00062004-0000-0000-c000-000000000046',
  /** PSETID_Common {00062008-0000-0000-C000-000000000046}. */
  Common: '00062008-0000-0000-c000-000000000046',
  /** PSETID_Meeting {6ED8DA90-450B-101B-98DA-00AA003F1305}: the global object ids. */
  Meeting: '6ed8da90-450b-101b-98da-00aa003f1305',
  /** PS_INTERNET_HEADERS {00020386-0000-0000-C000-000000000046}. */
  InternetHeaders: '00020386-0000-0000-c000-000000000046'
} as const

/** Property ids of tagged properties the view maps ([MS-OXPROPS] section 2, PidTag…). */
export const TAG = {
  Importance: 0x0017,
  MessageClass: 0x001a,
  Sensitivity: 0x0036,
  Subject: 0x0037,
  ClientSubmitTime: 0x0039,
  SentRepresentingName: 0x0042,
  SentRepresentingAddressType: 0x0064,
  SentRepresentingEmailAddress: 0x0065,
  SenderName: 0x0c1a,
  SenderAddressType: 0x0c1e,
  SenderEmailAddress: 0x0c1f,
  RecipientType: 0x0c15,
  MessageDeliveryTime: 0x0e06,
  MessageFlags: 0x0e07,
  MessageSize: 0x0e08,
  HasAttachments: 0x0e1b,
  AttachSize: 0x0e20,
  AttachNumber: 0x0e21,
  Body: 0x1000,
  Html: 0x1013,
  InternetMessageId: 0x1035,
  FlagStatus: 0x1090,
  FlagCompleteTime: 0x1091,
  DisplayName: 0x3001,
  AddressType: 0x3002,
  EmailAddress: 0x3003,
  CreationTime: 0x3007,
  LastModificationTime: 0x3008,
  SearchKey: 0x300b,
  AttachDataBinary: 0x3701,
  AttachFilename: 0x3704,
  AttachMethod: 0x3705,
  AttachLongFilename: 0x3707,
  AttachMimeTag: 0x370e,
  AttachContentId: 0x3712,
  AttachFlags: 0x3714,
  SmtpAddress: 0x39fe,
  GivenName: 0x3a06,
  BusinessTelephoneNumber: 0x3a08,
  HomeTelephoneNumber: 0x3a09,
  Surname: 0x3a11,
  CompanyName: 0x3a16,
  Title: 0x3a17,
  DepartmentName: 0x3a18,
  Business2TelephoneNumber: 0x3a1b,
  MobileTelephoneNumber: 0x3a1c,
  Home2TelephoneNumber: 0x3a2f,
  Birthday: 0x3a42,
  MiddleName: 0x3a44,
  Nickname: 0x3a4f,
  HomeAddressCity: 0x3a59,
  HomeAddressCountry: 0x3a5a,
  HomeAddressPostalCode: 0x3a5b,
  HomeAddressStateOrProvince: 0x3a5c,
  HomeAddressStreet: 0x3a5d,
  SenderSmtpAddress: 0x5d01,
  SentRepresentingSmtpAddress: 0x5d02,
  RecipientFlags: 0x5ffd,
  RecipientTrackStatus: 0x5fff,
  AttachmentHidden: 0x7ffe
} as const

/** Named properties the view maps ([MS-OXPROPS] section 2, PidLid… and PidName…). */
export const NAMED = {
  /** PidNameKeywords: the categories (PtypMultipleString). */
  Keywords: { guid: PSETID.PublicStrings, name: 'Keywords' },
  /** PidLidAppointmentStartWhole (PtypTime, UTC). */
  AppointmentStartWhole: { guid: PSETID.Appointment, lid: 0x820d },
  /** PidLidAppointmentEndWhole (PtypTime, UTC). */
  AppointmentEndWhole: { guid: PSETID.Appointment, lid: 0x820e },
  /** PidLidAppointmentSubType (PtypBoolean): true for an all-day event. */
  AppointmentSubType: { guid: PSETID.Appointment, lid: 0x8215 },
  /** PidLidLocation (PtypString). */
  Location: { guid: PSETID.Appointment, lid: 0x8208 },
  /** PidLidBusyStatus (PtypInteger32): 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere. */
  BusyStatus: { guid: PSETID.Appointment, lid: 0x8205 },
  /** PidLidAppointmentStateFlags (PtypInteger32): asfMeeting 0x1, asfReceived 0x2, asfCanceled 0x4. */
  AppointmentStateFlags: { guid: PSETID.Appointment, lid: 0x8217 },
  /** PidLidTimeZoneDescription (PtypString); the simulator keeps the Windows time-zone id here. */
  TimeZoneDescription: { guid: PSETID.Appointment, lid: 0x8234 },
  /** PidLidGlobalObjectId (PtypBinary, [MS-OXOCAL] 2.2.1.27). */
  GlobalObjectId: { guid: PSETID.Meeting, lid: 0x0003 },
  /** PidLidCleanGlobalObjectId (PtypBinary, [MS-OXOCAL] 2.2.1.28). */
  CleanGlobalObjectId: { guid: PSETID.Meeting, lid: 0x0023 },
  /** PidLidFileUnder (PtypString): a contact's "file as". */
  FileUnder: { guid: PSETID.Address, lid: 0x8005 },
  Email1DisplayName: { guid: PSETID.Address, lid: 0x8080 },
  Email1AddressType: { guid: PSETID.Address, lid: 0x8082 },
  Email1EmailAddress: { guid: PSETID.Address, lid: 0x8083 },
  Email2DisplayName: { guid: PSETID.Address, lid: 0x8090 },
  Email2AddressType: { guid: PSETID.Address, lid: 0x8092 },
  Email2EmailAddress: { guid: PSETID.Address, lid: 0x8093 },
  Email3DisplayName: { guid: PSETID.Address, lid: 0x80a0 },
  Email3AddressType: { guid: PSETID.Address, lid: 0x80a2 },
  Email3EmailAddress: { guid: PSETID.Address, lid: 0x80a3 },
  /** PidLidWorkAddressStreet, …City, …State, …PostalCode, …Country (PtypString): the business address. */
  WorkAddressStreet: { guid: PSETID.Address, lid: 0x8045 },
  WorkAddressCity: { guid: PSETID.Address, lid: 0x8046 },
  WorkAddressState: { guid: PSETID.Address, lid: 0x8047 },
  WorkAddressPostalCode: { guid: PSETID.Address, lid: 0x8048 },
  WorkAddressCountry: { guid: PSETID.Address, lid: 0x8049 },
  /** PidLidTaskStatus (PtypInteger32): 0 not started, 1 in progress, 2 complete, 3 waiting on others, 4 deferred. */
  TaskStatus: { guid: PSETID.Task, lid: 0x8101 },
  /** PidLidPercentComplete (PtypFloating64, 0.0–1.0). */
  PercentComplete: { guid: PSETID.Task, lid: 0x8102 },
  /** PidLidTaskStartDate (PtypTime): a task's start, or a flagged message's follow-up start ([MS-OXOFLAG]). */
  TaskStartDate: { guid: PSETID.Task, lid: 0x8104 },
  /** PidLidTaskDueDate (PtypTime): a task's due date, or a flagged message's follow-up due date. */
  TaskDueDate: { guid: PSETID.Task, lid: 0x8105 },
  /** PidLidTaskDateCompleted (PtypTime). */
  TaskDateCompleted: { guid: PSETID.Task, lid: 0x810f },
  /** PidLidTaskComplete (PtypBoolean). */
  TaskComplete: { guid: PSETID.Task, lid: 0x811c }
} as const satisfies Record<string, PropName>

/** PidTagMessageFlags bits ([MS-OXCMSG] 2.2.1.6): mfRead, mfUnsent (a draft), mfHasAttach. */
export const MSGFLAG = { read: 0x1, unsent: 0x8, hasAttach: 0x10 } as const
/** PidTagAttachMethod afByValue ([MS-OXCMSG] 2.2.2.9): the bytes are in PidTagAttachDataBinary. */
export const ATTACH_BY_VALUE = 1
/** PidTagAttachFlags attRenderedInBody ([MS-OXCMSG] 2.2.2.18): the attachment is shown in the (HTML) body. */
export const ATT_RENDERED_IN_BODY = 0x4
/** PidTagRecipientFlags recipOrganizer ([MS-OXOCAL] 2.2.4.10.1). */
export const RECIP_ORGANIZER = 0x2

// ------------------------------------------------------------------ the view

/** An e-mail address with its display name. `address` is SMTP (RFC 5321); '' when the row has none. */
export interface MailAddress { name?: string, address: string }

/** A message recipient: PidTagRecipientType 1 (MAPI_TO) → 'to', 2 (MAPI_CC) → 'cc', 3 (MAPI_BCC) → 'bcc'. */
export interface ContentRecipient extends MailAddress { type: 'to' | 'cc' | 'bcc' }

/** An attendee's response: PidTagRecipientTrackStatus 0–5 ([MS-OXOCAL] 2.2.4.10.2). */
export type AttendeeResponse = 'none' | 'organizer' | 'tentativelyAccepted' | 'accepted' | 'declined' | 'notResponded'

/**
 * A calendar item's attendee, a recipient row: PidTagRecipientType 1 → 'required', 2 → 'optional', 3 → 'resource'
 * ([MS-OXOCAL] 2.2.4.10), response in PidTagRecipientTrackStatus, the organizer's own row flagged recipOrganizer in
 * PidTagRecipientFlags (kept as `isOrganizer`).
 */
export interface ContentAttendee extends MailAddress {
  type: 'required' | 'optional' | 'resource'
  response?: AttendeeResponse
  isOrganizer?: boolean
}

/**
 * A file attachment (PidTagAttachMethod afByValue): `name` PidTagAttachLongFilename (0x3707; PidTagAttachFilename
 * 0x3704 when a stream only has that), `contentType` PidTagAttachMimeTag (0x370E), `data` PidTagAttachDataBinary
 * (0x3701), `contentId` PidTagAttachContentId (0x3712), `isInline` PidTagAttachFlags attRenderedInBody (0x3714) and
 * PidTagAttachmentHidden (0x7FFE), `lastModified` PidTagLastModificationTime of the attachment.
 * PidTagAttachSize (0x0E20) and PidTagAttachNumber (0x0E21) are written from `data` and the position.
 */
export interface ContentAttachment {
  name: string
  contentType?: string
  data: Buffer
  contentId?: string
  isInline?: boolean
  lastModified?: Date
}

/**
 * A property the view does not model, by tag (`tag`: the property id, e.g. 0x0E07) or by name (`name`), with its
 * MAPI property type (`type`, e.g. 0x0003 PtypInteger32) and value (as in fts.ts PropValue).
 */
export interface ContentExtendedProperty {
  tag?: number
  name?: PropName
  type: number
  value: PropValue
}

/** Appointment fields ([MS-OXOCAL]). */
export interface AppointmentContent {
  /** PidLidAppointmentStartWhole. */
  start: Date
  /** PidLidAppointmentEndWhole. */
  end: Date
  /** PidLidAppointmentSubType. */
  isAllDay?: boolean
  /** PidLidLocation. */
  location?: string
  /** PidLidBusyStatus. */
  busyStatus?: 'free' | 'tentative' | 'busy' | 'oof' | 'workingElsewhere'
  /**
   * The organizer: PidTagSentRepresentingName / …EmailAddress / …SmtpAddress (the message's `from`; written there
   * when `from` is not set).
   */
  organizer?: MailAddress
  /** Recipient rows of the meeting; empty for an appointment without attendees. */
  attendees: ContentAttendee[]
  /**
   * The iCalendar UID (RFC 5545 §3.8.4.7), kept as PidLidGlobalObjectId and PidLidCleanGlobalObjectId
   * ([MS-OXCICAL] 2.1.3.1.1.20.26: a UID that is a hex-encoded global object id is that id; any other UID is
   * wrapped as `vCal-Uid` data). See `globalObjectIdFromUid`.
   */
  uid?: string
  /** Windows time-zone id (e.g. "W. Europe Standard Time"), in PidLidTimeZoneDescription. */
  timeZone?: string
  /** PidLidAppointmentStateFlags asfMeeting: set when written with attendees. */
  isMeeting?: boolean
}

/** A postal address: the PidLidWorkAddress… (business) or PidTagHomeAddress… (home) properties. */
export interface ContentPostalAddress {
  street?: string
  city?: string
  state?: string
  postalCode?: string
  countryOrRegion?: string
}

/** Contact fields ([MS-OXOCNTC]). */
export interface ContactContent {
  /** PidTagDisplayName. */
  displayName?: string
  /** PidTagGivenName. */
  givenName?: string
  /** PidTagMiddleName. */
  middleName?: string
  /** PidTagSurname. */
  surname?: string
  /** PidTagNickname. */
  nickName?: string
  /** PidLidFileUnder. */
  fileAs?: string
  /** PidTagCompanyName. */
  companyName?: string
  /** PidTagDepartmentName. */
  department?: string
  /** PidTagTitle. */
  jobTitle?: string
  /** Up to three: PidLidEmail1/2/3EmailAddress with …DisplayName (address type SMTP). */
  emailAddresses: MailAddress[]
  /** PidTagBusinessTelephoneNumber, PidTagBusiness2TelephoneNumber. */
  businessPhones: string[]
  /** PidTagHomeTelephoneNumber, PidTagHome2TelephoneNumber. */
  homePhones: string[]
  /** PidTagMobileTelephoneNumber. */
  mobilePhone?: string
  /** PidLidWorkAddressStreet/City/State/PostalCode/Country. */
  businessAddress?: ContentPostalAddress
  /** PidTagHomeAddressStreet/City/StateOrProvince/PostalCode/Country. */
  homeAddress?: ContentPostalAddress
  /** PidTagBirthday (PtypTime at 00:00 UTC), as an RFC 3339 full-date `YYYY-MM-DD`. */
  birthday?: string
}

/** Task fields ([MS-OXOTASK]). */
export interface TaskContent {
  /** PidLidTaskStatus. */
  status: 'notStarted' | 'inProgress' | 'completed' | 'waitingOnOthers' | 'deferred'
  /** PidLidPercentComplete, as 0–100 (the property holds 0.0–1.0). */
  percentComplete?: number
  /** PidLidTaskStartDate. */
  start?: Date
  /** PidLidTaskDueDate. */
  due?: Date
  /** PidLidTaskDateCompleted. */
  completed?: Date
}

/** A message's follow-up flag ([MS-OXOFLAG]). */
export interface FlagContent {
  /** PidTagFlagStatus: 0 → notFlagged, 1 (followupComplete) → complete, 2 (followupFlagged) → flagged. */
  status: 'notFlagged' | 'flagged' | 'complete'
  /** PidLidTaskStartDate. */
  start?: Date
  /** PidLidTaskDueDate. */
  due?: Date
  /** PidTagFlagCompleteTime. */
  completed?: Date
}

/**
 * An item's content. `itemClass` decides which group applies: `appointment` for IPM.Appointment…, `contact` for
 * IPM.Contact…, `task` for IPM.Task…; `recipients` are a message's (an appointment's rows are its attendees).
 */
export interface ItemContent {
  /** PidTagMessageClass (0x001A), e.g. IPM.Note. */
  itemClass: string
  /** PidTagSubject (0x0037). */
  subject?: string
  /** PidTagBody (0x1000, text) and PidTagHtml (0x1013, PtypBinary: the HTML in UTF-8). */
  body?: { text?: string, html?: string }
  /** PidTagImportance (0x0017): 0 low, 1 normal, 2 high. */
  importance?: 'low' | 'normal' | 'high'
  /** PidTagSensitivity (0x0036): 0 normal, 1 personal, 2 private, 3 confidential. */
  sensitivity?: 'normal' | 'personal' | 'private' | 'confidential'
  /** PidNameKeywords (PS_PUBLIC_STRINGS "Keywords", PtypMultipleString). */
  categories?: string[]
  /** Follow-up flag (PidTagFlagStatus 0x1090 and its dates). */
  flag?: FlagContent
  /**
   * PidTagMessageFlags (0x0E07) mfRead (0x1). For a stored item `readItemContent` answers the store's read state
   * (which a client changes without changing the stream).
   */
  isRead?: boolean
  /** PidTagMessageFlags mfUnsent (0x8): a draft. */
  isDraft?: boolean
  /** PidTagMessageFlags as read, other bits than mfRead, mfUnsent and mfHasAttach are written back as they were. */
  messageFlags?: number
  /** PidTagSentRepresentingName (0x0042), …EmailAddress (0x0065), …SmtpAddress (0x5D02): the From address. */
  from?: MailAddress
  /** PidTagSenderName (0x0C1A), PidTagSenderEmailAddress (0x0C1F), PidTagSenderSmtpAddress (0x5D01). */
  sender?: MailAddress
  /**
   * A message's recipient rows: PidTagRecipientType (0x0C15), PidTagDisplayName (0x3001), PidTagEmailAddress
   * (0x3003) with PidTagAddressType (0x3002) SMTP, PidTagSmtpAddress (0x39FE).
   */
  recipients: ContentRecipient[]
  /** PidTagClientSubmitTime (0x0039): when it was sent. */
  sent?: Date
  /** PidTagMessageDeliveryTime (0x0E06): when it was received. */
  received?: Date
  /** PidTagCreationTime (0x3007). */
  created?: Date
  /** PidTagLastModificationTime (0x3008). */
  modified?: Date
  /** PidTagInternetMessageId (0x1035), the Message-ID header with its angle brackets. */
  internetMessageId?: string
  /** PidTagSearchKey (0x300B): the item's stable key. */
  searchKey?: Buffer
  /** Attachment sub-objects, in PidTagAttachNumber order. */
  attachments: ContentAttachment[]
  appointment?: AppointmentContent
  contact?: ContactContent
  task?: TaskContent
  /** Every other top-level property of the stream, by tag or by name, in stream order. */
  extended: ContentExtendedProperty[]
}

/** The kind of an item class, as ItemContent groups fields: message, appointment, contact, task. */
export function contentKind (itemClass: string): 'message' | 'appointment' | 'contact' | 'task' {
  const c = itemClass.toLowerCase()
  const is = (p: string): boolean => c === p || c.startsWith(`${p}.`)
  if (is('ipm.appointment')) return 'appointment'
  if (is('ipm.contact')) return 'contact'
  if (is('ipm.task')) return 'task'
  return 'message'
}

// ------------------------------------------------------------------ global object ids

/** The 16-byte class id that starts every global object id ([MS-OXOCAL] 2.2.1.27). */
const GOID_CLASS_ID = Buffer.from('040000008200E00074C5B7101A82E008', 'hex')
/** "vCal-Uid" followed by 0x01 0x00 0x00 0x00 ([MS-OXCICAL] 2.1.3.1.1.20.26). */
const VCAL_UID = Buffer.from('7643616c2d55696401000000', 'hex')

/**
 * PidLidGlobalObjectId bytes for an iCalendar UID ([MS-OXCICAL] 2.1.3.1.1.20.26): a UID that is the hex encoding of
 * a global object id (it starts with the class id 040000008200E000…) is decoded; any other UID becomes a global
 * object id whose data is `vCal-Uid`, 0x01000000, the UID's bytes and a NUL.
 */
export function globalObjectIdFromUid (uid: string): Buffer {
  if (/^[0-9a-fA-F]+$/.test(uid) && uid.length % 2 === 0 && uid.length >= 80 &&
    uid.slice(0, 32).toUpperCase() === GOID_CLASS_ID.toString('hex').toUpperCase()) {
    const bytes = Buffer.from(uid, 'hex')
    if (bytes.length === 40 + bytes.readUInt32LE(36)) return bytes
  }
  const data = Buffer.concat([VCAL_UID, Buffer.from(uid, 'utf8'), Buffer.from([0])])
  const head = Buffer.alloc(40)
  GOID_CLASS_ID.copy(head, 0)
  head.writeUInt32LE(data.length, 36)
  return Buffer.concat([head, data])
}

/**
 * The iCalendar UID of a global object id ([MS-OXCICAL] 2.1.3.1.1.20.26): the UID inside `vCal-Uid` data, else the
 * upper-case hex encoding of the id with its instance date (bytes 16–19) zeroed, as Exchange exports it.
 */
export function uidFromGlobalObjectId (goid: Buffer): string {
  if (goid.length >= 40) {
    const data = goid.subarray(40)
    if (data.subarray(0, VCAL_UID.length).equals(VCAL_UID)) {
      const end = data.indexOf(0, VCAL_UID.length)
      return data.toString('utf8', VCAL_UID.length, end < 0 ? data.length : end)
    }
  }
  const clean = Buffer.from(goid)
  if (clean.length >= 20) clean.fill(0, 16, 20)
  return clean.toString('hex').toUpperCase()
}

/** A new Outlook-style global object id (16 random bytes of data) and its UID, for items created without one. */
export function newGlobalObjectId (created: Date): Buffer {
  const head = Buffer.alloc(40)
  GOID_CLASS_ID.copy(head, 0)
  head.writeBigUInt64LE(toFileTime(created), 20)
  head.writeUInt32LE(16, 36)
  return Buffer.concat([head, randomBytes(16)])
}

// ------------------------------------------------------------------ reading

const IMPORTANCE = ['low', 'normal', 'high'] as const
const SENSITIVITY = ['normal', 'personal', 'private', 'confidential'] as const
const RECIPIENT_TYPE = { 1: 'to', 2: 'cc', 3: 'bcc' } as const
const ATTENDEE_TYPE = { 1: 'required', 2: 'optional', 3: 'resource' } as const
const RESPONSE: AttendeeResponse[] = [
  'none', 'organizer', 'tentativelyAccepted', 'accepted', 'declined', 'notResponded'
]
const BUSY = ['free', 'tentative', 'busy', 'oof', 'workingElsewhere'] as const
const TASK_STATUS = ['notStarted', 'inProgress', 'completed', 'waitingOnOthers', 'deferred'] as const

const nameKey = (n: PropName): string =>
  `${n.guid.toLowerCase()}/${n.name !== undefined ? `s:${n.name}` : `l:${n.lid ?? 0}`}`

/** Tagged properties the view reads (or computes on write) and so does not keep in `extended`. */
const MODELLED_TAGS = new Set<number>([
  TAG.Importance, TAG.MessageClass, TAG.Sensitivity, TAG.Subject, TAG.ClientSubmitTime,
  TAG.SentRepresentingName, TAG.SentRepresentingAddressType, TAG.SentRepresentingEmailAddress,
  TAG.SenderName, TAG.SenderAddressType, TAG.SenderEmailAddress, TAG.MessageDeliveryTime, TAG.MessageFlags,
  TAG.HasAttachments, TAG.Body, TAG.Html, TAG.InternetMessageId, TAG.FlagStatus, TAG.FlagCompleteTime,
  TAG.CreationTime, TAG.LastModificationTime, TAG.SearchKey, TAG.SenderSmtpAddress, TAG.SentRepresentingSmtpAddress
])
const CONTACT_TAGS = new Set<number>([
  TAG.DisplayName, TAG.GivenName, TAG.MiddleName, TAG.Surname, TAG.Nickname, TAG.CompanyName, TAG.DepartmentName,
  TAG.Title, TAG.BusinessTelephoneNumber, TAG.Business2TelephoneNumber, TAG.HomeTelephoneNumber,
  TAG.Home2TelephoneNumber, TAG.MobileTelephoneNumber, TAG.Birthday, TAG.HomeAddressStreet, TAG.HomeAddressCity,
  TAG.HomeAddressStateOrProvince, TAG.HomeAddressPostalCode, TAG.HomeAddressCountry
])
const KIND_NAMED: Record<'message' | 'appointment' | 'contact' | 'task', Array<keyof typeof NAMED>> = {
  message: ['Keywords', 'TaskStartDate', 'TaskDueDate'],
  appointment: ['Keywords', 'AppointmentStartWhole', 'AppointmentEndWhole', 'AppointmentSubType', 'Location',
    'BusyStatus', 'AppointmentStateFlags', 'TimeZoneDescription', 'GlobalObjectId', 'CleanGlobalObjectId'],
  contact: ['Keywords', 'FileUnder', 'Email1DisplayName', 'Email1AddressType', 'Email1EmailAddress',
    'Email2DisplayName', 'Email2AddressType', 'Email2EmailAddress', 'Email3DisplayName', 'Email3AddressType',
    'Email3EmailAddress', 'WorkAddressStreet', 'WorkAddressCity', 'WorkAddressState', 'WorkAddressPostalCode',
    'WorkAddressCountry'],
  task: ['Keywords', 'TaskStatus', 'PercentComplete', 'TaskStartDate', 'TaskDueDate', 'TaskDateCompleted',
    'TaskComplete']
}

const asDate = (v: PropValue | undefined): Date | undefined => typeof v === 'bigint' ? fromFileTime(v) : undefined

class PropBag {
  private readonly byTag = new Map<number, Prop>()
  private readonly byName = new Map<string, Prop>()
  constructor (readonly props: Prop[], readonly names: Map<number, PropName> | undefined) {
    for (const p of props) {
      if (p.id >= 0x8000) {
        const n = names?.get(p.id)
        if (n !== undefined) this.byName.set(nameKey(n), p)
      } else {
        this.byTag.set(p.id, p)
      }
    }
  }

  tag (id: number): PropValue | undefined { return this.byTag.get(id)?.value }
  named (n: PropName): PropValue | undefined { return this.byName.get(nameKey(n))?.value }
  str (id: number): string | undefined { const v = this.tag(id); return typeof v === 'string' ? v : undefined }
  num (id: number): number | undefined { const v = this.tag(id); return typeof v === 'number' ? v : undefined }
  time (id: number): Date | undefined { return asDate(this.tag(id)) }
  nstr (n: PropName): string | undefined { const v = this.named(n); return typeof v === 'string' ? v : undefined }
  nnum (n: PropName): number | undefined { const v = this.named(n); return typeof v === 'number' ? v : undefined }
  ntime (n: PropName): Date | undefined { return asDate(this.named(n)) }
}

const definedOnly = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

function address (name: string | undefined, email: string | undefined, smtp: string | undefined):
MailAddress | undefined {
  const a = smtp ?? email
  if (a === undefined && name === undefined) return undefined
  return definedOnly({ name, address: a ?? '' })
}

function rowAddress (row: PropBag): MailAddress {
  return address(row.str(TAG.DisplayName), row.str(TAG.EmailAddress), row.str(TAG.SmtpAddress)) ?? { address: '' }
}

function postal (street?: string, city?: string, state?: string, postalCode?: string, countryOrRegion?: string):
ContentPostalAddress | undefined {
  const a = definedOnly({ street, city, state, postalCode, countryOrRegion })
  return Object.keys(a).length > 0 ? a : undefined
}

/** Decodes an item stream into its content. Throws FtsFormatError when the stream is malformed. */
export function readItemContentFromStream (stream: Buffer): ItemContent {
  return fromMessage(decodeItemStream(stream))
}

/**
 * The content of a stored item (its stream, with the store's read state) or of a bare stream. Throws FtsFormatError
 * when the stream is malformed.
 */
export function readItemContent (item: StoreItem | Buffer): ItemContent {
  if (Buffer.isBuffer(item)) return readItemContentFromStream(item)
  const content = readItemContentFromStream(item.blob())
  content.isRead = item.isRead
  return content
}

function fromMessage (m: FtsMessage): ItemContent {
  const bag = new PropBag(m.props, m.names)
  const itemClass = bag.str(TAG.MessageClass) ?? 'IPM.Note'
  const kind = contentKind(itemClass)
  const text = bag.str(TAG.Body)
  const htmlBytes = bag.tag(TAG.Html)
  const html = Buffer.isBuffer(htmlBytes)
    ? htmlBytes.toString('utf8')
    : typeof htmlBytes === 'string' ? htmlBytes : undefined
  const flags = bag.num(TAG.MessageFlags)
  const importance = bag.num(TAG.Importance)
  const sensitivity = bag.num(TAG.Sensitivity)
  const keywords = bag.named(NAMED.Keywords)
  const flagStatus = bag.num(TAG.FlagStatus)
  const searchKey = bag.tag(TAG.SearchKey)
  const content: ItemContent = {
    itemClass,
    recipients: [],
    attachments: [],
    extended: []
  }
  const set = <K extends keyof ItemContent>(k: K, v: ItemContent[K] | undefined): void => {
    if (v !== undefined) content[k] = v
  }
  set('subject', bag.str(TAG.Subject))
  if (text !== undefined || html !== undefined) content.body = definedOnly({ text, html })
  set('importance', importance !== undefined ? IMPORTANCE[importance] : undefined)
  set('sensitivity', sensitivity !== undefined ? SENSITIVITY[sensitivity] : undefined)
  set('categories', Array.isArray(keywords) ? [...keywords] : undefined)
  if (flags !== undefined) {
    content.messageFlags = flags
    content.isRead = (flags & MSGFLAG.read) !== 0
    content.isDraft = (flags & MSGFLAG.unsent) !== 0
  }
  set('from', address(bag.str(TAG.SentRepresentingName), bag.str(TAG.SentRepresentingEmailAddress),
    bag.str(TAG.SentRepresentingSmtpAddress)))
  set('sender', address(bag.str(TAG.SenderName), bag.str(TAG.SenderEmailAddress), bag.str(TAG.SenderSmtpAddress)))
  set('sent', bag.time(TAG.ClientSubmitTime))
  set('received', bag.time(TAG.MessageDeliveryTime))
  set('created', bag.time(TAG.CreationTime))
  set('modified', bag.time(TAG.LastModificationTime))
  set('internetMessageId', bag.str(TAG.InternetMessageId))
  set('searchKey', Buffer.isBuffer(searchKey) ? Buffer.from(searchKey) : undefined)

  const rows = m.recipients.map((r) => new PropBag(r, m.names))
  if (kind === 'message') {
    const start = bag.ntime(NAMED.TaskStartDate)
    const due = bag.ntime(NAMED.TaskDueDate)
    const completed = bag.time(TAG.FlagCompleteTime)
    if (flagStatus !== undefined) {
      content.flag = definedOnly({
        status: flagStatus === 2 ? 'flagged' : flagStatus === 1 ? 'complete' : 'notFlagged',
        start,
        due,
        completed
      } satisfies FlagContent)
    }
    for (const row of rows) {
      const type = RECIPIENT_TYPE[row.num(TAG.RecipientType) as 1 | 2 | 3] ?? 'to'
      content.recipients.push({ ...rowAddress(row), type })
    }
  } else if (kind === 'appointment') {
    const start = bag.ntime(NAMED.AppointmentStartWhole)
    const end = bag.ntime(NAMED.AppointmentEndWhole)
    const goid = bag.named(NAMED.GlobalObjectId) ?? bag.named(NAMED.CleanGlobalObjectId)
    const busy = bag.nnum(NAMED.BusyStatus)
    const state = bag.nnum(NAMED.AppointmentStateFlags)
    const allDay = bag.named(NAMED.AppointmentSubType)
    content.appointment = definedOnly({
      start: start ?? content.created ?? new Date(0),
      end: end ?? start ?? content.created ?? new Date(0),
      isAllDay: typeof allDay === 'number' ? allDay !== 0 : undefined,
      location: bag.nstr(NAMED.Location),
      busyStatus: busy !== undefined ? BUSY[busy] : undefined,
      organizer: content.from,
      attendees: rows.map((row) => definedOnly({
        ...rowAddress(row),
        type: ATTENDEE_TYPE[row.num(TAG.RecipientType) as 1 | 2 | 3] ?? 'required',
        response: RESPONSE[row.num(TAG.RecipientTrackStatus) ?? -1],
        isOrganizer: ((row.num(TAG.RecipientFlags) ?? 0) & RECIP_ORGANIZER) !== 0 ? true : undefined
      } satisfies ContentAttendee)),
      uid: Buffer.isBuffer(goid) ? uidFromGlobalObjectId(goid) : undefined,
      timeZone: bag.nstr(NAMED.TimeZoneDescription),
      isMeeting: state !== undefined ? (state & 1) !== 0 : undefined
    } satisfies AppointmentContent)
  } else if (kind === 'contact') {
    const emails: MailAddress[] = []
    for (const [d, e] of [
      [NAMED.Email1DisplayName, NAMED.Email1EmailAddress],
      [NAMED.Email2DisplayName, NAMED.Email2EmailAddress],
      [NAMED.Email3DisplayName, NAMED.Email3EmailAddress]
    ] as const) {
      const a = bag.nstr(e)
      if (a !== undefined) emails.push(definedOnly({ name: bag.nstr(d), address: a }))
    }
    const birthday = bag.time(TAG.Birthday)
    content.contact = definedOnly({
      displayName: bag.str(TAG.DisplayName),
      givenName: bag.str(TAG.GivenName),
      middleName: bag.str(TAG.MiddleName),
      surname: bag.str(TAG.Surname),
      nickName: bag.str(TAG.Nickname),
      fileAs: bag.nstr(NAMED.FileUnder),
      companyName: bag.str(TAG.CompanyName),
      department: bag.str(TAG.DepartmentName),
      jobTitle: bag.str(TAG.Title),
      emailAddresses: emails,
      businessPhones: [bag.str(TAG.BusinessTelephoneNumber), bag.str(TAG.Business2TelephoneNumber)]
        .filter((p): p is string => p !== undefined),
      homePhones: [bag.str(TAG.HomeTelephoneNumber), bag.str(TAG.Home2TelephoneNumber)]
        .filter((p): p is string => p !== undefined),
      mobilePhone: bag.str(TAG.MobileTelephoneNumber),
      businessAddress: postal(bag.nstr(NAMED.WorkAddressStreet), bag.nstr(NAMED.WorkAddressCity),
        bag.nstr(NAMED.WorkAddressState), bag.nstr(NAMED.WorkAddressPostalCode), bag.nstr(NAMED.WorkAddressCountry)),
      homeAddress: postal(bag.str(TAG.HomeAddressStreet), bag.str(TAG.HomeAddressCity),
        bag.str(TAG.HomeAddressStateOrProvince), bag.str(TAG.HomeAddressPostalCode), bag.str(TAG.HomeAddressCountry)),
      birthday: birthday?.toISOString().slice(0, 10)
    } satisfies ContactContent)
  } else {
    const status = bag.nnum(NAMED.TaskStatus)
    const percent = bag.nnum(NAMED.PercentComplete)
    content.task = definedOnly({
      status: TASK_STATUS[status ?? 0] ?? 'notStarted',
      percentComplete: percent !== undefined ? Math.round(percent * 10000) / 100 : undefined,
      start: bag.ntime(NAMED.TaskStartDate),
      due: bag.ntime(NAMED.TaskDueDate),
      completed: bag.ntime(NAMED.TaskDateCompleted)
    } satisfies TaskContent)
  }

  content.attachments = m.attachments.map((a) => {
    const row = new PropBag(a, m.names)
    const data = row.tag(TAG.AttachDataBinary)
    const flagsA = row.num(TAG.AttachFlags) ?? 0
    const hidden = row.tag(TAG.AttachmentHidden)
    const inline = (flagsA & ATT_RENDERED_IN_BODY) !== 0 || (typeof hidden === 'number' && hidden !== 0)
    return definedOnly({
      name: row.str(TAG.AttachLongFilename) ?? row.str(TAG.AttachFilename) ?? '',
      contentType: row.str(TAG.AttachMimeTag),
      data: Buffer.isBuffer(data) ? data : Buffer.alloc(0),
      contentId: row.str(TAG.AttachContentId),
      isInline: inline ? true : undefined,
      lastModified: row.time(TAG.LastModificationTime)
    } satisfies ContentAttachment)
  })

  const modelledNames = new Set(KIND_NAMED[kind].map((k) => nameKey(NAMED[k])))
  for (const p of m.props) {
    if (p.id >= 0x8000) {
      const n = m.names?.get(p.id)
      if (n === undefined || modelledNames.has(nameKey(n))) continue
      content.extended.push({ name: n, type: p.type, value: p.value })
    } else {
      if (MODELLED_TAGS.has(p.id) || (kind === 'contact' && CONTACT_TAGS.has(p.id))) continue
      content.extended.push({ tag: p.id, type: p.type, value: p.value })
    }
  }
  return content
}

// ------------------------------------------------------------------ writing

/** Builds stream properties, assigning named-property ids (0x8000 up) as names are first used. */
class PropWriter {
  readonly names = new Map<number, PropName>()
  private readonly ids = new Map<string, number>()

  idFor (n: PropName): number {
    const key = nameKey(n)
    let id = this.ids.get(key)
    if (id === undefined) {
      id = 0x8000 + this.ids.size
      this.ids.set(key, id)
      const guid = n.guid.toLowerCase()
      this.names.set(id, n.name !== undefined ? { guid, name: n.name } : { guid, lid: n.lid ?? 0 })
    }
    return id
  }
}

const str = (id: number, value: string): Prop => ({ type: PT_UNICODE_CP1200, id, value })
const int = (id: number, value: number): Prop => ({ type: PT_INT32, id, value })
const bool = (id: number, value: boolean): Prop => ({ type: PT_BOOLEAN, id, value: value ? 1 : 0 })
const time = (id: number, value: Date): Prop => ({ type: PT_SYSTIME, id, value: toFileTime(value) })
const bin = (id: number, value: Buffer): Prop => ({ type: PT_BINARY, id, value })

function addressProps (a: MailAddress | undefined, name: number, type: number, email: number, smtp: number): Prop[] {
  if (a === undefined) return []
  return [
    ...(a.name !== undefined ? [str(name, a.name)] : []),
    ...(a.address !== '' ? [str(type, 'SMTP'), str(email, a.address), str(smtp, a.address)] : [])
  ]
}

function rowProps (a: MailAddress, recipientType: number): Prop[] {
  return [
    int(TAG.RecipientType, recipientType),
    ...(a.name !== undefined ? [str(TAG.DisplayName, a.name)] : []),
    ...(a.address !== ''
      ? [str(TAG.AddressType, 'SMTP'), str(TAG.EmailAddress, a.address), str(TAG.SmtpAddress, a.address)]
      : [])
  ]
}

/**
 * The stream's message (properties, recipient rows, attachments, name map) for an ItemContent. Properties are
 * written in a fixed order, so equal content gives equal bytes.
 */
export function itemContentMessage (content: ItemContent): FtsMessage {
  const w = new PropWriter()
  const kind = contentKind(content.itemClass)
  const named = (n: PropName, type: number, value: PropValue): Prop => ({ type, id: w.idFor(n), value })
  const props: Prop[] = [str(TAG.MessageClass, content.itemClass)]
  const push = (...p: Prop[]): void => { props.push(...p) }
  if (content.importance !== undefined) push(int(TAG.Importance, IMPORTANCE.indexOf(content.importance)))
  if (content.sensitivity !== undefined) push(int(TAG.Sensitivity, SENSITIVITY.indexOf(content.sensitivity)))
  if (content.subject !== undefined) push(str(TAG.Subject, content.subject))
  if (content.sent !== undefined) push(time(TAG.ClientSubmitTime, content.sent))
  const from = content.from ?? (kind === 'appointment' ? content.appointment?.organizer : undefined)
  push(...addressProps(from, TAG.SentRepresentingName, TAG.SentRepresentingAddressType,
    TAG.SentRepresentingEmailAddress, TAG.SentRepresentingSmtpAddress))
  push(...addressProps(content.sender, TAG.SenderName, TAG.SenderAddressType, TAG.SenderEmailAddress,
    TAG.SenderSmtpAddress))
  if (content.created !== undefined) push(time(TAG.CreationTime, content.created))
  if (content.modified !== undefined) push(time(TAG.LastModificationTime, content.modified))
  if (content.received !== undefined) push(time(TAG.MessageDeliveryTime, content.received))
  const hasAttach = content.attachments.length > 0
  if (content.messageFlags !== undefined || content.isRead !== undefined || content.isDraft !== undefined) {
    let flags = (content.messageFlags ?? 0) & ~(MSGFLAG.read | MSGFLAG.unsent | MSGFLAG.hasAttach)
    const read = content.isRead ?? ((content.messageFlags ?? 0) & MSGFLAG.read) !== 0
    const draft = content.isDraft ?? ((content.messageFlags ?? 0) & MSGFLAG.unsent) !== 0
    if (read) flags |= MSGFLAG.read
    if (draft) flags |= MSGFLAG.unsent
    if (hasAttach) flags |= MSGFLAG.hasAttach
    push(int(TAG.MessageFlags, flags))
  }
  if (content.searchKey !== undefined) push(bin(TAG.SearchKey, content.searchKey))
  push(bool(TAG.HasAttachments, hasAttach))
  if (content.internetMessageId !== undefined) push(str(TAG.InternetMessageId, content.internetMessageId))
  if (content.flag !== undefined && kind !== 'task') {
    const f = content.flag
    push(int(TAG.FlagStatus, f.status === 'flagged' ? 2 : f.status === 'complete' ? 1 : 0))
    if (f.completed !== undefined) push(time(TAG.FlagCompleteTime, f.completed))
    if (f.start !== undefined) push(named(NAMED.TaskStartDate, PT_SYSTIME, toFileTime(f.start)))
    if (f.due !== undefined) push(named(NAMED.TaskDueDate, PT_SYSTIME, toFileTime(f.due)))
  }
  if (content.categories !== undefined && content.categories.length > 0) {
    push(named(NAMED.Keywords, PT_MV_UNICODE, [...content.categories]))
  }
  const appt = kind === 'appointment' ? content.appointment : undefined
  if (appt !== undefined) {
    push(named(NAMED.AppointmentStartWhole, PT_SYSTIME, toFileTime(appt.start)))
    push(named(NAMED.AppointmentEndWhole, PT_SYSTIME, toFileTime(appt.end)))
    if (appt.isAllDay !== undefined) push(named(NAMED.AppointmentSubType, PT_BOOLEAN, appt.isAllDay ? 1 : 0))
    if (appt.location !== undefined) push(named(NAMED.Location, PT_UNICODE_CP1200, appt.location))
    if (appt.busyStatus !== undefined) push(named(NAMED.BusyStatus, PT_INT32, BUSY.indexOf(appt.busyStatus)))
    const meeting = appt.isMeeting ?? appt.attendees.length > 0
    push(named(NAMED.AppointmentStateFlags, PT_INT32, meeting ? 1 : 0))
    if (appt.timeZone !== undefined) push(named(NAMED.TimeZoneDescription, PT_UNICODE_CP1200, appt.timeZone))
    if (appt.uid !== undefined) {
      const goid = globalObjectIdFromUid(appt.uid)
      push(named(NAMED.GlobalObjectId, PT_BINARY, goid))
      push(named(NAMED.CleanGlobalObjectId, PT_BINARY, goid))
    }
  }
  const contact = kind === 'contact' ? content.contact : undefined
  if (contact !== undefined) {
    const s = (id: number, v: string | undefined): void => { if (v !== undefined) push(str(id, v)) }
    const ns = (n: PropName, v: string | undefined): void => {
      if (v !== undefined) push(named(n, PT_UNICODE_CP1200, v))
    }
    s(TAG.DisplayName, contact.displayName)
    s(TAG.GivenName, contact.givenName)
    s(TAG.MiddleName, contact.middleName)
    s(TAG.Surname, contact.surname)
    s(TAG.Nickname, contact.nickName)
    ns(NAMED.FileUnder, contact.fileAs)
    s(TAG.CompanyName, contact.companyName)
    s(TAG.DepartmentName, contact.department)
    s(TAG.Title, contact.jobTitle)
    s(TAG.BusinessTelephoneNumber, contact.businessPhones[0])
    s(TAG.Business2TelephoneNumber, contact.businessPhones[1])
    s(TAG.HomeTelephoneNumber, contact.homePhones[0])
    s(TAG.Home2TelephoneNumber, contact.homePhones[1])
    s(TAG.MobileTelephoneNumber, contact.mobilePhone)
    if (contact.birthday !== undefined) push(time(TAG.Birthday, new Date(`${contact.birthday}T00:00:00Z`)))
    const slots = [
      [NAMED.Email1DisplayName, NAMED.Email1AddressType, NAMED.Email1EmailAddress],
      [NAMED.Email2DisplayName, NAMED.Email2AddressType, NAMED.Email2EmailAddress],
      [NAMED.Email3DisplayName, NAMED.Email3AddressType, NAMED.Email3EmailAddress]
    ] as const
    contact.emailAddresses.slice(0, 3).forEach((e, i) => {
      ns(slots[i][0], e.name)
      ns(slots[i][1], 'SMTP')
      ns(slots[i][2], e.address)
    })
    const b = contact.businessAddress
    if (b !== undefined) {
      ns(NAMED.WorkAddressStreet, b.street)
      ns(NAMED.WorkAddressCity, b.city)
      ns(NAMED.WorkAddressState, b.state)
      ns(NAMED.WorkAddressPostalCode, b.postalCode)
      ns(NAMED.WorkAddressCountry, b.countryOrRegion)
    }
    const h = contact.homeAddress
    if (h !== undefined) {
      s(TAG.HomeAddressStreet, h.street)
      s(TAG.HomeAddressCity, h.city)
      s(TAG.HomeAddressStateOrProvince, h.state)
      s(TAG.HomeAddressPostalCode, h.postalCode)
      s(TAG.HomeAddressCountry, h.countryOrRegion)
    }
  }
  const task = kind === 'task' ? content.task : undefined
  if (task !== undefined) {
    push(named(NAMED.TaskStatus, PT_INT32, TASK_STATUS.indexOf(task.status)))
    push(named(NAMED.TaskComplete, PT_BOOLEAN, task.status === 'completed' ? 1 : 0))
    if (task.percentComplete !== undefined) push(named(NAMED.PercentComplete, PT_DOUBLE, task.percentComplete / 100))
    if (task.start !== undefined) push(named(NAMED.TaskStartDate, PT_SYSTIME, toFileTime(task.start)))
    if (task.due !== undefined) push(named(NAMED.TaskDueDate, PT_SYSTIME, toFileTime(task.due)))
    if (task.completed !== undefined) push(named(NAMED.TaskDateCompleted, PT_SYSTIME, toFileTime(task.completed)))
  }
  for (const e of content.extended) {
    if (e.name !== undefined) push(named(e.name, e.type, e.value))
    else if (e.tag !== undefined) push({ type: e.type, id: e.tag, value: e.value })
  }
  if (content.body?.html !== undefined) push(bin(TAG.Html, Buffer.from(content.body.html, 'utf8')))
  if (content.body?.text !== undefined) push(str(TAG.Body, content.body.text))

  const recipients: Prop[][] = appt !== undefined
    ? appt.attendees.map((a) => [
      ...rowProps(a, a.type === 'optional' ? 2 : a.type === 'resource' ? 3 : 1),
      ...(a.response !== undefined ? [int(TAG.RecipientTrackStatus, RESPONSE.indexOf(a.response))] : []),
      ...(a.isOrganizer === true ? [int(TAG.RecipientFlags, RECIP_ORGANIZER | 0x1)] : [])
    ])
    : content.recipients.map((r) => rowProps(r, r.type === 'cc' ? 2 : r.type === 'bcc' ? 3 : 1))
  const attachments = content.attachments.map((a, i): Prop[] => [
    int(TAG.AttachNumber, i),
    int(TAG.AttachMethod, ATTACH_BY_VALUE),
    str(TAG.AttachLongFilename, a.name),
    ...(a.contentType !== undefined ? [str(TAG.AttachMimeTag, a.contentType)] : []),
    ...(a.contentId !== undefined ? [str(TAG.AttachContentId, a.contentId)] : []),
    ...(a.isInline === true ? [int(TAG.AttachFlags, ATT_RENDERED_IN_BODY), bool(TAG.AttachmentHidden, true)] : []),
    ...(a.lastModified !== undefined ? [time(TAG.LastModificationTime, a.lastModified)] : []),
    int(TAG.AttachSize, a.data.length),
    bin(TAG.AttachDataBinary, a.data)
  ])
  return { props, recipients, attachments, ...(w.names.size > 0 ? { names: w.names } : {}) }
}

/** Encodes an ItemContent as a full-fidelity item stream (fts.ts), ready for `MailboxStore.createItem`. */
export function writeItemStream (content: ItemContent): Buffer {
  return encodeItemStream(itemContentMessage(content))
}
