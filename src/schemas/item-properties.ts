/**
 * The property-set JSON of an item (`format: "json"`): a normalized, backend-independent view of a message,
 * calendar item, contact or task, for destinations that are not Exchange (archives, ticketing systems, CRMs,
 * search indexes). Field names follow the Microsoft Graph Outlook resources (message, event, contact, todoTask:
 * https://learn.microsoft.com/graph/api/resources/message and siblings); the EWS adapter maps EWS properties
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/item) onto the same names.
 * What a property set keeps and loses compared with the full-fidelity stream is in the README ("Formats").
 */
import { Type, type Static } from '@sinclair/typebox'

const DateTime = (description: string) => Type.String({ format: 'date-time', description })

/** An email address with its display name (EWS t:EmailAddressType, Graph emailAddress). */
export const Recipient = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 1024 })),
  address: Type.String({ minLength: 1, maxLength: 1024, description: 'SMTP address (RFC 5321 mailbox).' })
}, { $id: 'Recipient', title: 'Recipient', additionalProperties: false })

/** A calendar item's attendee: a recipient, its type and response (EWS t:AttendeeType, Graph attendee). */
export const Attendee = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 1024 })),
  address: Type.String({ minLength: 1, maxLength: 1024 }),
  type: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional'), Type.Literal('resource')])),
  response: Type.Optional(Type.Union([
    Type.Literal('none'), Type.Literal('organizer'), Type.Literal('tentativelyAccepted'), Type.Literal('accepted'),
    Type.Literal('declined'), Type.Literal('notResponded')
  ]))
}, { $id: 'Attendee', title: 'Attendee', additionalProperties: false })

/** A postal address (EWS t:PhysicalAddressDictionaryEntryType, Graph physicalAddress). */
export const PhysicalAddress = Type.Object({
  street: Type.Optional(Type.String()),
  city: Type.Optional(Type.String()),
  state: Type.Optional(Type.String()),
  postalCode: Type.Optional(Type.String()),
  countryOrRegion: Type.Optional(Type.String())
}, { $id: 'PhysicalAddress', title: 'PhysicalAddress', additionalProperties: false })

/** Attachment metadata, and its content (base64) when the caller asked for attachment content. */
export const AttachmentInfo = Type.Object({
  name: Type.String(),
  contentType: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 0, description: 'Bytes, as the backend reports it.' })),
  isInline: Type.Optional(Type.Boolean()),
  contentId: Type.Optional(Type.String()),
  kind: Type.Optional(Type.Union([Type.Literal('file'), Type.Literal('item'), Type.Literal('reference')], {
    description: 'file (bytes), item (an attached message or other item: metadata only), reference (a link).'
  })),
  contentBytes: Type.Optional(Type.String({
    contentEncoding: 'base64',
    description: 'The file\'s bytes, standard base64; only with `attachmentContent=true` and for `kind: file`.'
  }))
}, { $id: 'AttachmentInfo', title: 'AttachmentInfo', additionalProperties: false })

/**
 * One extended (MAPI) property: by tag (`propertyTag`, e.g. `0x0E07`) or by name (`propertySetId` GUID with
 * `propertyName` or `propertyId`), with its MAPI type name (EWS t:ExtendedFieldURI PropertyType, Graph
 * singleValueLegacyExtendedProperty id syntax). `value` as EWS and Graph write it: text.
 */
export const ExtendedProperty = Type.Object({
  propertyTag: Type.Optional(Type.String({ pattern: '^0x[0-9A-Fa-f]{1,4}$' })),
  propertySetId: Type.Optional(Type.String({
    pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
  })),
  propertyName: Type.Optional(Type.String({ minLength: 1 })),
  propertyId: Type.Optional(Type.Integer({ minimum: 0 })),
  propertyType: Type.Union([
    Type.Literal('String'), Type.Literal('Integer'), Type.Literal('Boolean'), Type.Literal('SystemTime'),
    Type.Literal('Binary'), Type.Literal('Long'), Type.Literal('Double'), Type.Literal('CLSID'),
    Type.Literal('Short')
  ]),
  value: Type.Optional(Type.String({ description: 'Absent when the item does not have the property.' }))
}, { $id: 'ExtendedProperty', title: 'ExtendedProperty', additionalProperties: false })

export const ItemKind = Type.Union([
  Type.Literal('message'), Type.Literal('appointment'), Type.Literal('contact'), Type.Literal('task')
], {
  $id: 'ItemKind',
  title: 'ItemKind',
  description: 'message (IPM.Note and its subclasses), appointment (IPM.Appointment: a calendar item; with ' +
    'attendees, a meeting), contact (IPM.Contact), task (IPM.Task).'
})

/**
 * The property-set JSON of one item. `kind` decides which groups apply; fields a kind does not have are absent.
 * Dates are RFC 3339 in UTC (`…Z`); `timeZone` names the calendar item's time zone (IANA or Windows name) where the
 * backend gives one.
 */
export const ItemProperties = Type.Object({
  kind: Type.Ref(ItemKind),
  itemClass: Type.Optional(Type.String({ description: 'MAPI message class, e.g. IPM.Note (PidTagMessageClass).' })),
  subject: Type.Optional(Type.String()),
  body: Type.Optional(Type.Object({
    text: Type.Optional(Type.String()),
    html: Type.Optional(Type.String())
  }, { additionalProperties: false, description: 'The body as text, as HTML, or both as the backend gives them.' })),
  importance: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high')])),
  sensitivity: Type.Optional(Type.Union([
    Type.Literal('normal'), Type.Literal('personal'), Type.Literal('private'), Type.Literal('confidential')
  ])),
  categories: Type.Optional(Type.Array(Type.String())),
  createdDateTime: Type.Optional(DateTime('When the item was created in the mailbox.')),
  lastModifiedDateTime: Type.Optional(DateTime('When the item was last changed.')),
  flag: Type.Optional(Type.Object({
    flagStatus: Type.Union([Type.Literal('notFlagged'), Type.Literal('flagged'), Type.Literal('complete')]),
    startDateTime: Type.Optional(DateTime('Follow-up start.')),
    dueDateTime: Type.Optional(DateTime('Follow-up due.')),
    completedDateTime: Type.Optional(DateTime('When the follow-up was completed.'))
  }, { additionalProperties: false })),
  attachments: Type.Optional(Type.Array(Type.Ref(AttachmentInfo))),
  extendedProperties: Type.Optional(Type.Array(Type.Ref(ExtendedProperty), {
    description: 'Only the extended properties the caller asked for (export), or to set (import).'
  })),
  // message
  from: Type.Optional(Type.Ref(Recipient)),
  sender: Type.Optional(Type.Ref(Recipient)),
  toRecipients: Type.Optional(Type.Array(Type.Ref(Recipient))),
  ccRecipients: Type.Optional(Type.Array(Type.Ref(Recipient))),
  bccRecipients: Type.Optional(Type.Array(Type.Ref(Recipient))),
  replyTo: Type.Optional(Type.Array(Type.Ref(Recipient))),
  sentDateTime: Type.Optional(DateTime('Message: when it was sent.')),
  receivedDateTime: Type.Optional(DateTime('Message: when it was received.')),
  internetMessageId: Type.Optional(Type.String({ description: 'Message-ID header (RFC 5322 §3.6.4).' })),
  isRead: Type.Optional(Type.Boolean()),
  isDraft: Type.Optional(Type.Boolean({ description: 'Export only: an imported message is never a draft.' })),
  // appointment
  start: Type.Optional(DateTime('Appointment: start.')),
  end: Type.Optional(DateTime('Appointment: end.')),
  timeZone: Type.Optional(Type.String()),
  isAllDay: Type.Optional(Type.Boolean()),
  location: Type.Optional(Type.String()),
  organizer: Type.Optional(Type.Ref(Recipient)),
  attendees: Type.Optional(Type.Array(Type.Ref(Attendee), {
    description: 'Export only: importing a meeting with attendees is refused (422), as it would send or lose ' +
      'meeting requests and responses.'
  })),
  uid: Type.Optional(Type.String({
    description: 'iCalendar UID (RFC 5545 §3.8.4.7). Export only: an import gets a new UID, so the copy is not ' +
      'taken for the original meeting by clients that match on it.'
  })),
  // contact
  displayName: Type.Optional(Type.String()),
  givenName: Type.Optional(Type.String()),
  middleName: Type.Optional(Type.String()),
  surname: Type.Optional(Type.String()),
  nickName: Type.Optional(Type.String()),
  companyName: Type.Optional(Type.String()),
  department: Type.Optional(Type.String()),
  jobTitle: Type.Optional(Type.String()),
  emailAddresses: Type.Optional(Type.Array(Type.Ref(Recipient))),
  businessPhones: Type.Optional(Type.Array(Type.String())),
  homePhones: Type.Optional(Type.Array(Type.String())),
  mobilePhone: Type.Optional(Type.String()),
  businessAddress: Type.Optional(Type.Ref(PhysicalAddress)),
  homeAddress: Type.Optional(Type.Ref(PhysicalAddress)),
  birthday: Type.Optional(Type.String({ format: 'date', description: 'Contact: birthday (a date).' })),
  // task
  status: Type.Optional(Type.Union([
    Type.Literal('notStarted'), Type.Literal('inProgress'), Type.Literal('completed'),
    Type.Literal('waitingOnOthers'), Type.Literal('deferred')
  ], { description: 'Task status (EWS t:TaskStatusType).' })),
  percentComplete: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  startDateTime: Type.Optional(DateTime('Task: start.')),
  dueDateTime: Type.Optional(DateTime('Task: due.')),
  completedDateTime: Type.Optional(DateTime('Task: completed.'))
}, { $id: 'ItemProperties', title: 'ItemProperties', additionalProperties: false })

export type ItemPropertiesT = Static<typeof ItemProperties>
export type ItemKindT = Static<typeof ItemKind>
export type ExtendedPropertyT = Static<typeof ExtendedProperty>
