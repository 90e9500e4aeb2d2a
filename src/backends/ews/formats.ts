/**
 * What EWS documents of the MIME and property-set formats, per item kind and direction (the port's
 * `capabilities.formats`), and how an item's MIME stream is labelled.
 *
 * Source: "Exporting and importing items by using EWS in Exchange"
 * (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/exporting-and-importing-items-by-using-ews-in-exchange,
 * seed 000): GetItem's MimeContent gives a message as .eml, a calendar item as .ics (iCalendar, without attendee
 * information) and a contact as .vcf (vCard); CreateItem takes MimeContent for an email or a calendar item, and "you
 * cannot import a contact by using the vCard MIME stream"; tasks are not in either list. GetItem and CreateItem
 * export and import messages, calendar items, contacts and tasks "with a specified property set".
 */
import { formatCapabilities, type FormatCapabilities, type ItemKind, type MimeMediaType } from '../mailbox-backend.js'

/** Why a task has no MIME on EWS (export and import). */
export const TASK_MIME_REASON = 'EWS documents MIME streams for email (.eml), calendar items (.ics) and contacts ' +
  '(.vcf), not for tasks; use format json'

/** Why a contact cannot be imported from MIME on EWS. */
export const CONTACT_MIME_IMPORT_REASON = 'EWS cannot import a contact from a vCard: "you cannot import a contact ' +
  'by using the vCard MIME stream" (Microsoft, Exporting and importing items by using EWS); use format json'

const YES = { supported: true } as const

/** The EWS adapter's format capabilities. */
export const EWS_FORMATS: FormatCapabilities = formatCapabilities(TASK_MIME_REASON, {
  mime: {
    export: { message: YES, appointment: YES, contact: YES },
    import: { message: YES, appointment: YES, contact: { supported: false, reason: CONTACT_MIME_IMPORT_REASON } }
  },
  json: {
    export: { message: YES, appointment: YES, contact: YES, task: YES },
    import: { message: YES, appointment: YES, contact: YES, task: YES }
  }
})

/** The media type of each kind's MIME stream: .eml (RFC 5322), .ics (RFC 5545), .vcf (RFC 6350 / RFC 2426). */
export const MIME_TYPE_OF_KIND: Readonly<Record<Exclude<ItemKind, 'task'>, MimeMediaType>> = {
  message: 'message/rfc822',
  appointment: 'text/calendar',
  contact: 'text/vcard'
}
