/**
 * The public shapes of the formats beyond the full-fidelity stream (README "Formats: MIME and property sets"):
 * `mime` (.eml RFC 5322, .ics RFC 5545, .vcf RFC 6350) and `json` (the property set, src/schemas/item-properties.ts
 * `ItemProperties`), in exports, imports, the single-item download and upload, and the capabilities a mailbox's
 * backend has for each.
 */
import { Type } from '@sinclair/typebox'
import { ItemKind, ItemProperties } from './item-properties.js'

/** How items are exported or imported: the opaque full-fidelity stream (default), MIME, or the property set. */
export const ItemFormat = Type.Union([Type.Literal('fullFidelity'), Type.Literal('mime'), Type.Literal('json')], {
  description: '`fullFidelity` (default): the opaque item stream, everything kept, for Exchange only; `mime`: a ' +
    'message as .eml (message/rfc822), a calendar item as .ics (text/calendar), a contact as .vcf (text/vcard; ' +
    'export only); `json`: the property set (ItemProperties). What each keeps and loses: README "Formats".'
})

/** The media types of `mime`, one per kind of item that has one. */
export const MimeMediaType = Type.Union([
  Type.Literal('message/rfc822'), Type.Literal('text/calendar'), Type.Literal('text/vcard')
], { description: 'message/rfc822 (.eml, RFC 5322), text/calendar (.ics, RFC 5545), text/vcard (.vcf, RFC 6350).' })

/**
 * An extended (MAPI) property to read: by tag (`propertyTag`), or by name (`propertySetId` with `propertyName` or
 * `propertyId`), and its type (EWS t:ExtendedFieldURI, Graph singleValueLegacyExtendedProperty id).
 */
export const ExtendedPropertyName = Type.Object({
  propertyTag: Type.Optional(Type.String({ pattern: '^0x[0-9A-Fa-f]{1,4}$', description: 'e.g. 0x0E07.' })),
  propertySetId: Type.Optional(Type.String({
    pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$',
    description: 'The property set GUID of a named property.'
  })),
  propertyName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  propertyId: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
  propertyType: Type.Union([
    Type.Literal('String'), Type.Literal('Integer'), Type.Literal('Boolean'), Type.Literal('SystemTime'),
    Type.Literal('Binary'), Type.Literal('Long'), Type.Literal('Double'), Type.Literal('CLSID'),
    Type.Literal('Short')
  ])
}, {
  $id: 'ExtendedPropertyName',
  title: 'ExtendedPropertyName',
  additionalProperties: false,
  description: 'Either `propertyTag`, or `propertySetId` with exactly one of `propertyName` and `propertyId`.'
})

/** The most extended properties one export may ask for. */
export const MAX_EXTENDED_PROPERTIES = 64

/** One item exported as MIME (`format: "mime"`). */
export const MimeExportedItem = Type.Object({
  itemId: Type.String(),
  format: Type.Literal('mime'),
  kind: Type.Ref(ItemKind),
  contentType: MimeMediaType,
  fileName: Type.String({
    description: 'A safe file name for it: the subject (characters file systems refuse replaced by _, at most 100 ' +
      'characters; `item` without one) and .eml, .ics or .vcf.'
  }),
  data: Type.String({ contentEncoding: 'base64', description: 'The .eml, .ics or .vcf bytes, base64.' })
}, { title: 'MimeExportedItem', additionalProperties: false })

/** One item as its property set, with its id and (EWS) change key: an export result, or the single-item JSON. */
export const PropertySetItem = Type.Object({
  itemId: Type.String(),
  changeKey: Type.Optional(Type.String({ description: 'The change key it was read at, when the backend has one.' })),
  item: Type.Ref(ItemProperties)
}, { $id: 'PropertySetItem', title: 'PropertySetItem', additionalProperties: false })

/** One item exported as its property set (`format: "json"`). */
export const PropertySetExportedItem = Type.Object({
  itemId: Type.String(),
  format: Type.Literal('json'),
  changeKey: Type.Optional(Type.String()),
  item: Type.Ref(ItemProperties)
}, { title: 'PropertySetExportedItem', additionalProperties: false })

/** An appointment's UID the gateway replaced on import (never silently: the answer says so). */
export const UidReplaced = Type.Object({
  from: Type.String({ description: 'The UID the .ics or property set carried; empty when it carried none.' }),
  to: Type.Optional(Type.String({
    description: 'The UID the created appointment has: the gateway\'s new one, or (a backend that lets no create ' +
      'set it: Graph) the one Exchange gave it, read back. Absent only when that read failed: the item was ' +
      'created, with a UID other than `from`.'
  }))
}, {
  additionalProperties: false,
  description: 'Present when an appointment\'s UID (iCalendar UID, RFC 5545 §3.8.4.7) was replaced with a new ' +
    'one, as Microsoft advises for imports: a copy keeping the UID would be taken for the original meeting.'
})

const FOLDER_ID = Type.String({ minLength: 1, maxLength: 1024, description: 'Target folder id or well-known name.' })
const CREATE_ONLY = Type.Literal('create', {
  description: 'Items in these formats are created; `update` is full fidelity only.'
})

/** An import item in MIME: an .eml (a message) or an .ics (an appointment). */
export const MimeImportItem = Type.Object({
  folderId: FOLDER_ID,
  format: Type.Literal('mime'),
  mode: Type.Optional(CREATE_ONLY),
  contentType: Type.String({
    minLength: 1,
    maxLength: 255,
    description: '`message/rfc822` (an .eml: a message) or `text/calendar` (an .ics with one VEVENT: an ' +
      'appointment; its UID is replaced). `text/vcard` is refused per item (422 MBG_ERR_DATA_INCOMPATIBLE: Exchange ' +
      'has no vCard import; send the contact as `json`), so is an .ics with ATTENDEE (a meeting); another type is a ' +
      'per-item 415.'
  }),
  data: Type.String({ minLength: 4, contentEncoding: 'base64', description: 'The file\'s bytes, standard base64.' })
}, { $id: 'MimeImportItem', title: 'MimeImportItem', additionalProperties: false })

/** An import item as a property set. */
export const PropertySetImportItem = Type.Object({
  folderId: FOLDER_ID,
  format: Type.Literal('json'),
  mode: Type.Optional(CREATE_ONLY),
  item: Type.Ref(ItemProperties)
}, { $id: 'PropertySetImportItem', title: 'PropertySetImportItem', additionalProperties: false })

/** What a MIME or property-set import created. */
const createdFields = {
  itemId: Type.String(),
  changeKey: Type.Optional(Type.String({ description: 'When the backend gives one (EWS).' })),
  format: Type.Union([Type.Literal('mime'), Type.Literal('json')]),
  kind: Type.Ref(ItemKind),
  uidReplaced: Type.Optional(UidReplaced)
}

/** An import result of a MIME or property-set item (in an `ImportResult`). */
export const FormatImportResult = Type.Object({ index: Type.Integer(), ...createdFields },
  { title: 'FormatImportResult', additionalProperties: false })

/** The 201 answer of a single-item upload. */
export const CreatedItem = Type.Object(createdFields,
  { $id: 'CreatedItem', title: 'CreatedItem', additionalProperties: false })

/** Whether a backend can do something; when it cannot, why. */
export const Capability = Type.Union([
  Type.Object({ supported: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object({ supported: Type.Literal(false), reason: Type.String() }, { additionalProperties: false })
], { $id: 'Capability', title: 'Capability' })

const perKind = Type.Object({
  message: Type.Ref(Capability),
  appointment: Type.Ref(Capability),
  contact: Type.Ref(Capability),
  task: Type.Ref(Capability)
}, { additionalProperties: false })
const perDirection = Type.Object({ export: perKind, import: perKind }, { additionalProperties: false })

/** What a mailbox's backend can do beyond the core every backend has (src/backends/mailbox-backend.ts). */
export const MailboxCapabilities = Type.Object({
  associatedItems: Type.Ref(Capability, {
    description: 'Folder-associated items (rules, views, forms): `?associated=true` listings and imports.'
  }),
  classlessFolders: Type.Ref(Capability, { description: 'Folders without a folder class.' }),
  formats: Type.Object({
    fullFidelity: Type.Object({ export: Type.Ref(Capability), import: Type.Ref(Capability) }, {
      additionalProperties: false, description: 'The opaque item stream: every backend, every kind.'
    }),
    mime: perDirection,
    json: perDirection
  }, {
    additionalProperties: false,
    description: 'Per format, direction and kind of item. A request for one that is not supported is a 501 ' +
      'MBG_ERR_NOT_SUPPORTED with the reason, before anything is sent to the backend.'
  })
}, { $id: 'MailboxCapabilities', title: 'MailboxCapabilities', additionalProperties: false })
