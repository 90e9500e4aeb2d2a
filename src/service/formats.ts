/**
 * The formats beyond the full-fidelity stream (README "Formats: MIME and property sets"), over the
 * port's getItemMime, getItemProperties, createItemFromMime and createItemFromProperties:
 *
 * - `mime`: a message as .eml (message/rfc822, RFC 5322 with MIME, RFC 2045), a calendar item as .ics (text/calendar,
 *   RFC 5545), a contact as .vcf (text/vcard, RFC 6350; export only);
 * - `json`: the property set (src/schemas/item-properties.ts `ItemProperties`).
 *
 * The rules that hold whatever the backend are checked here, before any backend call (Microsoft, "Exporting and
 * importing items by using EWS in Exchange", https://learn.microsoft.com/exchange/client-developer/exchange-web-services/exporting-and-importing-items-by-using-ews-in-exchange):
 * a meeting with attendees cannot be imported ("Exchange sets the relationships between the organizer and
 * attendees ... only by organizers sending and attendees receiving and responding to the meeting request"), nor can a
 * contact from a vCard ("you cannot import a contact by using the vCard MIME stream"), and an imported appointment
 * gets a new UID ("You should change the UID property of the Appointment object before you import"), which the
 * result reports (`uidReplaced`). What a backend cannot do is its `capabilities.formats` (501 MBG_ERR_NOT_SUPPORTED
 * with the reason), also before any call. One bad item never fails its neighbours.
 */
import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import ICAL from 'ical.js'
import type { Static } from '@sinclair/typebox'
import {
  BadRequest, DataIncompatible, DataInvalid, isGatewayError, NotAcceptable, NotSupported, toItemError,
  UnsupportedMediaType
} from '../errors.js'
import { decodedLength, isStrictBase64 } from '../base64.js'
import { ianaZone, wallClock } from '../protocol/time-zones.js'
import {
  parseFolderRef, type BackendCapabilities, type Capability, type CreatedItem, type ItemData, type ItemKind,
  type ItemProperties, type MailboxBackend, type MimeContent, type MimeItem, type MimeMediaType, type PropertiesItem,
  type ReadPropertiesOptions
} from '../backends/mailbox-backend.js'
import type {
  ExtendedPropertyName, FormatImportResult, MailboxCapabilities, MimeExportedItem, MimeImportItem,
  PropertySetExportedItem, PropertySetImportItem, UidReplaced
} from '../schemas/formats.js'
import type { ExtendedPropertyT } from '../schemas/item-properties.js'
import { runOrdered } from './batches.js'
import { batchOptions, type BatchOptions, type MailboxTarget } from './items.js'
import { NO_TELEMETRY, type ItemOutcome } from '../telemetry.js'

/** The formats besides the full-fidelity stream. */
export type Format = 'mime' | 'json'
export type Direction = 'export' | 'import'

/** Each kind's MIME type and file extension; a task has none (no documented MIME form in EWS or Graph). */
export const MIME_OF_KIND: Readonly<Record<ItemKind, { type: MimeMediaType, extension: string } | undefined>> = {
  message: { type: 'message/rfc822', extension: 'eml' },
  appointment: { type: 'text/calendar', extension: 'ics' },
  contact: { type: 'text/vcard', extension: 'vcf' },
  task: undefined
}

/** The kind each MIME type is (the inverse of MIME_OF_KIND). */
export const KIND_OF_MIME: Readonly<Record<MimeMediaType, ItemKind>> = {
  'message/rfc822': 'message',
  'text/calendar': 'appointment',
  'text/vcard': 'contact'
}

/** The MIME types a single-item download offers, then the property set; in this order for `Accept: *\/*`. */
export const ITEM_MEDIA_TYPES = ['message/rfc822', 'text/calendar', 'text/vcard', 'application/json'] as const
export type ItemMediaType = typeof ITEM_MEDIA_TYPES[number]

/** Names of the vCard media type (RFC 6350 §10.1, and the older ones RFC 2425/2426 clients still send). */
const VCARD_TYPES = new Set(['text/vcard', 'text/x-vcard', 'text/directory'])

const FORMAT_NAMES: Record<Format, string> = { mime: 'MIME', json: 'property-set (json)' }
const KINDS: ItemKind[] = ['message', 'appointment', 'contact', 'task']

/** A MIME or property-set import item as callers send it, `data` as text or bytes of the body (`ItemData`). */
export type MimeImportRequestItem = Omit<Static<typeof MimeImportItem>, 'data'> & { data: ItemData }
export type PropertySetImportRequestItem = Static<typeof PropertySetImportItem>
export type FormatImportRequestItem = MimeImportRequestItem | PropertySetImportRequestItem

/** A MIME or property-set export result, or the id's error. */
export type FormatExportResult = Static<typeof MimeExportedItem> | Static<typeof PropertySetExportedItem> |
{ itemId: string, error: ReturnType<typeof toItemError> }

/** A MIME or property-set import result, or the item's error. */
export type FormatImportResultT = Static<typeof FormatImportResult> |
{ index: number, error: ReturnType<typeof toItemError> }

/** What a single-item create answers (the public `CreatedItem`). */
export type CreatedItemAnswer = Omit<Static<typeof FormatImportResult>, 'index'>

/** The options of a `json` export (`ReadPropertiesOptions`), as callers send them. */
export interface FormatExportOptions {
  attachmentContent?: boolean
  extendedProperties?: Array<Static<typeof ExtendedPropertyName>>
}

/**
 * The backend's capability for `format`, `direction` and `kind`. A port without `formats` (an older test double)
 * supports none.
 */
export function formatCapability (backend: MailboxBackend, format: Format, direction: Direction,
  kind: ItemKind): Capability {
  const formats = (backend.capabilities as BackendCapabilities | undefined)?.formats
  return formats?.[format]?.[direction]?.[kind] ??
    { supported: false, reason: `the ${backend.type} adapter declares no ${FORMAT_NAMES[format]} formats` }
}

/** "a message", "an appointment". */
function aKind (kind: ItemKind): string {
  return `${kind === 'appointment' ? 'an' : 'a'} ${kind}`
}

/** The 501 for `format`, `direction` and `kind` on `target`'s backend, with the capability's reason. */
function unsupported (target: MailboxTarget, format: Format, direction: Direction, kind: ItemKind,
  reason: string): Error {
  const where = direction === 'export' ? 'from' : 'into'
  return new NotSupported(`${FORMAT_NAMES[format]} ${direction} of ${aKind(kind)} ${where} ` +
    `${target.mailbox.address} (a ${target.mailbox.type} mailbox): ${reason}`)
}

/** Null when `kind` can go in `format` and `direction`; else the 501 saying why. */
export function checkFormat (target: MailboxTarget, format: Format, direction: Direction,
  kind: ItemKind): Error | null {
  const can = formatCapability(target.backend, format, direction, kind)
  return can.supported ? null : unsupported(target, format, direction, kind, can.reason)
}

/**
 * Throws 501 MBG_ERR_NOT_SUPPORTED (before any backend call) when the backend has `format` in `direction` for no
 * kind at all, naming each kind's reason; with `kinds`, for none of those.
 */
export function requireAnyKind (target: MailboxTarget, format: Format, direction: Direction,
  kinds: readonly ItemKind[] = KINDS): void {
  const reasons: string[] = []
  for (const kind of kinds) {
    const can = formatCapability(target.backend, format, direction, kind)
    if (can.supported) return
    reasons.push(`${kind}: ${can.reason}`)
  }
  const where = direction === 'export' ? 'from' : 'into'
  throw new NotSupported(`${FORMAT_NAMES[format]} ${direction} of ${kinds.length === 1 ? aKind(kinds[0]) : 'items'} ` +
    `${where} ${target.mailbox.address} (a ${target.mailbox.type} mailbox): ${[...new Set(reasons)].join('; ')}`)
}

/** The public view of a backend's capabilities (GET /mailboxes/{mailbox}): absent ones are supported. */
export function capabilitiesView (backend: MailboxBackend): Static<typeof MailboxCapabilities> {
  const caps = backend.capabilities as BackendCapabilities | undefined
  const per = (format: Format, direction: Direction): Record<ItemKind, Capability> =>
    Object.fromEntries(KINDS.map((k) => [k, formatCapability(backend, format, direction, k)])) as
      Record<ItemKind, Capability>
  return {
    associatedItems: caps?.associatedItems ?? { supported: false, reason: 'not declared by the adapter' },
    classlessFolders: caps?.classlessFolders ?? { supported: true },
    formats: {
      fullFidelity: { export: { supported: true }, import: { supported: true } },
      mime: { export: per('mime', 'export'), import: per('mime', 'import') },
      json: { export: per('json', 'export'), import: per('json', 'import') }
    }
  }
}

/**
 * A safe file name for an item: its subject with what file systems refuse (controls, `/ \ : * ? " < > |`) as `_`,
 * blanks collapsed, leading and trailing dots and blanks dropped, at most 100 characters (`item` when nothing is
 * left), then the kind's extension. RFC 6266 §4.3: recipients take only the last path segment; this keeps none.
 */
export function fileName (subject: string | undefined, kind: ItemKind): string {
  const extension = MIME_OF_KIND[kind]?.extension ?? 'json'
  // eslint-disable-next-line no-control-regex
  let base = (subject ?? '').normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g, '_')
    // Format characters (bidi overrides such as U+202E, zero-width ones) would show a name other than the real one.
    .replace(/\p{Cf}/gu, '')
    .replace(/\s+/g, ' ').replace(/^[\s.]+|[\s.]+$/g, '')
  if ([...base].length > 100) base = [...base].slice(0, 100).join('').replace(/[\s.]+$/, '')
  return `${base === '' ? 'item' : unreserved(base)}.${extension}`
}

/**
 * `base` with a `_` before it when Windows reserves it for a device, whatever follows a dot (CON.eml opens the
 * console; COM¹ is COM1 to Windows too).
 */
function unreserved (base: string): string {
  return /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i.test(base.split('.')[0].trim())
    ? `_${base}`
    : base
}

/** The ASCII form of a file name for `filename=` (RFC 6266 §4.3: `filename*` carries the real one). */
export function asciiFileName (name: string): string {
  // Letters with diacritics lose them; any other character outside printable ASCII (an emoji too: one character,
  // two UTF-16 units) becomes one _. As long as the name at most (NFKD may spell a character as several).
  const dot = name.lastIndexOf('.')
  const ascii = (text: string): string[] =>
    [...text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^\x20-\x7e]/gu, '_')]
  const base = unreserved(ascii(dot > 0 ? name.slice(0, dot) : name).slice(0, 100).join(''))
  return dot > 0 ? `${base}${ascii(name.slice(dot)).join('')}` : base
}

/** The media type of a Content-Type value, lower case, without parameters (RFC 9110 §8.3.1). */
export function mediaTypeOf (contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase()
}

/** Errors that are about one item, not the whole request: the item fails alone. */
function aboutTheItem (err: unknown): boolean {
  return isGatewayError(err) && ((err.statusCode ?? 500) < 500 || err.code === 'MBG_ERR_NOT_SUPPORTED')
}

// ------------------------------------------------------------------------------------------------ exports

/**
 * Checks the options of an export in `format` (400 before any backend call): `attachmentContent` and
 * `extendedProperties` are `json` only, and each extended property is named either by tag or by property set and
 * name or id. Returns the port's options.
 */
export function exportOptions (format: Format, options: FormatExportOptions): ReadPropertiesOptions {
  if (format !== 'json') {
    if (options.attachmentContent !== undefined || options.extendedProperties !== undefined) {
      throw new BadRequest('attachmentContent and extendedProperties go with format "json" only')
    }
    return {}
  }
  const extended = options.extendedProperties
  extended?.forEach((p, i) => { checkPropertyName(p, `extendedProperties[${i}]`) })
  return {
    ...(options.attachmentContent !== undefined ? { attachmentContent: options.attachmentContent } : {}),
    ...(extended !== undefined ? { extendedProperties: extended } : {})
  }
}

/** An extended property is named by `propertyTag`, or by `propertySetId` with one of `propertyName`, `propertyId`. */
function checkPropertyName (p: Static<typeof ExtendedPropertyName> | ExtendedPropertyT, where: string): void {
  const byTag = p.propertyTag !== undefined
  const byName = p.propertyName !== undefined
  const byId = p.propertyId !== undefined
  const ok = byTag
    ? p.propertySetId === undefined && !byName && !byId
    : p.propertySetId !== undefined && byName !== byId
  if (!ok) {
    throw new BadRequest(`${where}: name an extended property either by propertyTag, or by propertySetId with ` +
      'exactly one of propertyName and propertyId (EWS t:ExtendedFieldURI, Graph legacy extended property ids)')
  }
}

/** One item as MIME, as an export result. */
function mimeResult (item: MimeItem): Static<typeof MimeExportedItem> {
  return {
    itemId: item.itemId,
    format: 'mime',
    kind: item.kind,
    contentType: item.contentType,
    fileName: fileName(item.subject, item.kind),
    data: item.data.toString('base64')
  }
}

/**
 * Exports `itemIds` in `format`, one backend call per id (getItemMime or getItemProperties), at most
 * `limits.export.concurrency` at once, one result per id in request order. An error about the item (not found, a
 * malformed id, a kind the backend has no such format for: 501) is that id's result; an error about every item
 * (throttled, the backend down) on the first call fails the request as a full-fidelity export does
 * (src/service/batches.ts), later ones are per item. The caller has checked `format` with `requireAnyKind`.
 */
export async function * exportInFormat (target: MailboxTarget, itemIds: Iterable<string> | AsyncIterable<string>,
  format: Format, options: ReadPropertiesOptions, batch?: BatchOptions | AbortSignal):
  AsyncGenerator<FormatExportResult> {
  const { mailbox, backend } = target
  const { signal, stop, telemetry = NO_TELEMETRY } = batchOptions(batch)
  const results = runOrdered<string, FormatExportResult>(itemIds, {
    limits: { maxItems: 1, maxBytes: Number.POSITIVE_INFINITY, concurrency: backend.limits.export.concurrency },
    run: async ([itemId], _indices, callSignal) => {
      try {
        if (format === 'mime') return [mimeResult(await backend.getItemMime(mailbox, itemId, { signal: callSignal }))]
        const read = await backend.getItemProperties(mailbox, itemId, options, { signal: callSignal })
        return [{
          itemId: read.itemId,
          format: 'json',
          ...(read.changeKey !== undefined ? { changeKey: read.changeKey } : {}),
          item: read.item
        }]
      } catch (err) {
        if (callSignal.aborted || !aboutTheItem(err)) throw err
        return [{ itemId, error: toItemError(err) }]
      }
    },
    onBatchError: (ids, _indices, err) => ids.map((itemId) => ({ itemId, error: toItemError(err) })),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
  for await (const r of results) {
    const outcome: ItemOutcome = 'error' in r ? 'failed' : 'ok'
    const bytes = 'data' in r ? decodedLength(r.data) : 0
    telemetry.items({ backend: backend.name, kind: 'export', outcome, count: 1, bytes })
    yield r
  }
}

/** The answer of a single-item read: the MIME (with its file name) or the property set. */
export type ItemRead = { mime: MimeItem & { fileName: string } } | { json: PropertiesItem }

/**
 * Reads one item in the first representation of `acceptable` (media types of ITEM_MEDIA_TYPES, in the caller's
 * order of preference: its Accept header) it has:
 *
 * - `application/json` first: the property set;
 * - else the item's MIME (one call tells its kind): served when its type is acceptable; when it is not, the
 *   property set if that is acceptable, else 406 MBG_ERR_NOT_ACCEPTABLE naming the representations the item has. An
 *   item without MIME (a task: 501 from the adapter) is served as its property set when that is acceptable.
 *
 * Before any call: 406 when `acceptable` is empty; 501 MBG_ERR_NOT_SUPPORTED when the backend has none of the
 * acceptable representations for any kind.
 */
export async function readItem (target: MailboxTarget, itemId: string, acceptable: readonly ItemMediaType[],
  options: ReadPropertiesOptions, signal?: AbortSignal): Promise<ItemRead> {
  const { mailbox, backend } = target
  const json = acceptable.includes('application/json')
  if (acceptable.length === 0) {
    throw new NotAcceptable(`an item is available as ${ITEM_MEDIA_TYPES.join(', ')} (as its kind allows)`)
  }
  const properties = async (): Promise<ItemRead> => {
    requireAnyKind(target, 'json', 'export')
    return { json: await backend.getItemProperties(mailbox, itemId, options, { signal }) }
  }
  if (acceptable[0] === 'application/json') return await properties()
  const mimeKinds = acceptable.filter((t) => t !== 'application/json').map((t) => KIND_OF_MIME[t as MimeMediaType])
  const mimeCan = mimeKinds.some((k) => formatCapability(backend, 'mime', 'export', k).supported)
  if (!mimeCan) {
    if (json) return await properties()
    requireAnyKind(target, 'mime', 'export', mimeKinds)
  }
  let mime: MimeItem
  try {
    mime = await backend.getItemMime(mailbox, itemId, { signal })
  } catch (err) {
    // No MIME for this item (a task): its property set, when the caller takes it.
    if (json && isGatewayError(err) && err.code === 'MBG_ERR_NOT_SUPPORTED') return await properties()
    throw err
  }
  if ((acceptable as readonly string[]).includes(mime.contentType)) {
    return { mime: { ...mime, fileName: fileName(mime.subject, mime.kind) } }
  }
  if (json) return await properties()
  throw new NotAcceptable(`item ${itemId.slice(0, 100)} is a ${mime.kind}: it is available as ${mime.contentType} ` +
    `or application/json, and the request accepts only ${acceptable.join(', ')}`)
}

// ------------------------------------------------------------------------------------------------ imports

/** What an import item becomes before it is sent: the port's content, its kind, the UID it replaced. */
export type PreparedImport =
  | { format: 'mime', kind: ItemKind, content: MimeContent, uidReplaced?: Static<typeof UidReplaced> }
  | { format: 'json', kind: ItemKind, item: ItemProperties, uidReplaced?: Static<typeof UidReplaced> }

/**
 * Checks and prepares MIME for import (`who` names it in messages: "import item 3", "the upload"), before any
 * backend call: `message/rfc822` must begin with a header field (RFC 5322 §2.1); `text/calendar` must parse
 * (RFC 5545, ical.js) as one VCALENDAR whose VEVENTs (at least one; a recurring series with its exceptions) share
 * one UID, and have no ATTENDEE (a meeting: 422); its UID is replaced. A vCard is a 422 (Exchange has no vCard
 * import), another media type a 415. Returns the prepared item or the error refusing it.
 */
export function prepareMime (contentType: string, data: Buffer, who: string): PreparedImport | Error {
  const type = mediaTypeOf(contentType)
  if (VCARD_TYPES.has(type)) {
    return new DataIncompatible(`${who} is a vCard (${type}): Exchange cannot create a contact from a vCard ` +
      '("you cannot import a contact by using the vCard MIME stream": Microsoft, Exporting and importing items by ' +
      'using EWS in Exchange). Import the contact as a property set instead (format "json", item.kind "contact")')
  }
  if (type !== 'message/rfc822' && type !== 'text/calendar') {
    return new UnsupportedMediaType(`${who} is ${type.slice(0, 100)}; MIME imports take message/rfc822 (an .eml) ` +
      'or text/calendar (an .ics)')
  }
  if (data.length === 0) return new DataInvalid(`${who} is empty`)
  if (type === 'message/rfc822') {
    const problem = emlProblem(data)
    if (problem !== undefined) return new DataInvalid(`${who} is not an .eml (RFC 5322): ${problem}`)
    return { format: 'mime', kind: 'message', content: { contentType: 'message/rfc822', data } }
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType)?.[1]
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return new UnsupportedMediaType(`${who} is text/calendar; charset=${charset.slice(0, 40)}: iCalendar is taken ` +
      'in UTF-8 (RFC 5545 section 3.1.4); convert the file to UTF-8')
  }
  if (!isUtf8(data)) {
    return new DataInvalid(`${who} is not UTF-8 (RFC 5545 section 3.1.4: iCalendar text is UTF-8); convert the file`)
  }
  return prepareIcs(data, who)
}

/** Why `data` is not a message (RFC 5322 §2.1: header fields first), or undefined. */
function emlProblem (data: Buffer): string | undefined {
  const head = data.subarray(0, 256).toString('latin1')
  if (/^BEGIN:(VCALENDAR|VCARD)\b/i.test(head)) {
    return `it is ${/^BEGIN:VCARD/i.test(head) ? 'a vCard' : 'iCalendar'}; send it with its own content type`
  }
  if (head.startsWith('From ')) return 'it begins with an mbox "From " line; remove that line'
  // A field name is printable ASCII but the colon (RFC 5322 §3.6.8), then a colon.
  if (!/^[\x21-\x39\x3b-\x7e]+[ \t]*:/.test(head)) return 'it does not begin with a header field ("Name: value")'
  return multipartProblem(data.toString('latin1'))
}

/** Multipart entities nested deeper than this are refused (converters give up on such messages, RFC 2046 sets none). */
export const MAX_MULTIPART_DEPTH = 64

/**
 * Why the MIME structure cannot be read (RFC 2045 §5, RFC 2046 §5.1), or undefined: a multipart entity without a
 * `boundary` parameter (its parts could not be found, so its content would be lost), or multiparts nested deeper
 * than MAX_MULTIPART_DEPTH. One pass over the lines: the header section of each entity is read for its
 * Content-Type, and boundary delimiter lines open and close the entities.
 */
function multipartProblem (text: string): string | undefined {
  // RFC 5322 §2.1: lines end in CRLF. A bare CR would leave a parser to guess where the header section ends.
  const headEnd = text.search(/\r?\n\r?\n/)
  if (/\r(?!\n)/.test(headEnd === -1 ? text : text.slice(0, headEnd))) {
    return 'its header section has line breaks that are a bare CR (RFC 5322 lines end in CRLF)'
  }
  const open: string[] = []
  // Entities nested by message/rfc822 parts count toward the depth too.
  let depth = 0
  const depths: number[] = []
  let headers: string[] | undefined = []
  let start = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    const line = text.slice(start, end).replace(/\r$/, '')
    start = end + 1
    if (headers !== undefined) {
      if (line !== '') { headers.push(line); continue }
      const fields = headers.join('\n').replace(/\n[ \t]+/g, ' ').split('\n')
      headers = undefined
      const types = fields.filter((f) => /^content-type[ \t]*:/i.test(f)).map((f) => f.slice(f.indexOf(':') + 1))
      if (types.length > 1) return 'an entity has more than one Content-Type field (RFC 2045 section 5)'
      const type = types[0] ?? ''
      if (/^\s*message\/(rfc822|global)\s*(;|$)/i.test(type)) {
        // The body is a message of its own: its header section follows.
        if (++depth + open.length > MAX_MULTIPART_DEPTH) {
          return `multipart entities and attached messages are nested deeper than ${MAX_MULTIPART_DEPTH}`
        }
        headers = []
        continue
      }
      if (!/^\s*multipart\//i.test(type)) continue
      const boundary = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(type)
      const value = boundary?.[1] ?? boundary?.[2] ?? ''
      if (value === '') return 'a multipart entity has no boundary parameter, so its parts cannot be found'
      open.push(value)
      depths.push(depth)
      if (depth + open.length > MAX_MULTIPART_DEPTH) {
        return `multipart entities and attached messages are nested deeper than ${MAX_MULTIPART_DEPTH}`
      }
      continue
    }
    if (!line.startsWith('--') || open.length === 0) continue
    const delimiter = line.trimEnd()
    for (let i = open.length - 1; i >= 0; i--) {
      if (delimiter === `--${open[i]}`) {
        open.length = i + 1
        depths.length = i + 1
        depth = depths[i]
        headers = []
        break
      }
      if (delimiter === `--${open[i]}--`) { open.length = i; depth = depths[i]; depths.length = i; break }
    }
  }
  return undefined
}

/** An .ics checked and with a new UID (see prepareMime). */
function prepareIcs (data: Buffer, who: string): PreparedImport | Error {
  let calendar: ICAL.Component
  try {
    const parsed = ICAL.parse(data.toString('utf8')) as unknown[]
    if (Array.isArray(parsed[0])) {
      return new DataIncompatible(`${who} holds ${parsed.length} VCALENDAR objects; import one appointment per item`)
    }
    calendar = new ICAL.Component(parsed as never)
  } catch (err) {
    // ical.js's own parse errors say what is wrong; a TypeError is its code tripping over what is not iCalendar.
    const why = err instanceof TypeError ? 'it does not parse as content lines' : (err as Error).message.slice(0, 200)
    return new DataInvalid(`${who} is not iCalendar (RFC 5545): ${why}`)
  }
  if (calendar.name !== 'vcalendar') {
    return new DataInvalid(`${who} is not iCalendar (RFC 5545): it is a ${calendar.name.toUpperCase()}, ` +
      'not a VCALENDAR')
  }
  const events = calendar.getAllSubcomponents('vevent')
  if (events.length === 0) {
    return new DataIncompatible(`${who} has no VEVENT: text/calendar imports create appointments (VTODO, ` +
      'VJOURNAL and free/busy are not imported)')
  }
  const uids = [...new Set(events.map((e) => String(e.getFirstPropertyValue('uid') ?? '')))]
  if (uids.length > 1) {
    return new DataIncompatible(`${who} holds VEVENTs of ${uids.length} UIDs: one appointment per item (a ` +
      'recurring series and its exceptions share one UID); split the file')
  }
  const attendees = events.reduce((n, e) => n + e.getAllProperties('attendee').length, 0)
  if (attendees > 0) return meeting(who, `an .ics VEVENT with ATTENDEE: ${attendees} attendee(s)`)
  const zones = new Set(calendar.getAllSubcomponents('vtimezone').map((z) => String(z.getFirstPropertyValue('tzid'))))
  const problem = eventTimesProblem(data, events, zones)
  if (problem !== undefined) return new DataInvalid(`${who}: ${problem}`)
  // A VEVENT without a UID (RFC 5545 requires one) gets one too: the answer says so, as for any other.
  const from = uids[0]
  const to = randomUUID()
  return {
    format: 'mime',
    kind: 'appointment',
    content: { contentType: 'text/calendar', data: replaceEventUid(data, to) },
    uidReplaced: { from, to }
  }
}

/** Days in each month of a non-leap year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Why a DATE or DATE-TIME value (RFC 5545 §3.3.4, §3.3.5: `YYYYMMDD` or `YYYYMMDDTHHMMSS[Z]`) is not one, or
 * undefined. ical.js reads month 13 as the next year's January and a year before 100 as 19xx: checked here so
 * nothing is moved silently. Exchange stores times as FILETIME ([MS-OXCDATA] 2.11.1 PtypTime), from 1601.
 */
function dateValueProblem (value: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(value)
  if (m === null) return 'is not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS, Z for UTC)'
  return timeFieldsProblem(m.slice(1, 7))
}

/**
 * Why year, month, day, hour, minute and second (as matched; an absent time part is 0) are not a time Exchange
 * stores as given: a date that does not exist, a second 60 (a leap second, which would be moved), a year before
 * 1601 (FILETIME, [MS-OXCDATA] 2.11.1 PtypTime). Undefined when they are one.
 */
function timeFieldsProblem (fields: Array<string | undefined>): string | undefined {
  const [year, month, day, hour, minute, second] = fields.map((v) => Number(v ?? '0'))
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = month === 2 && leap ? 29 : MONTH_DAYS[month - 1]
  if (month < 1 || month > 12 || day < 1 || day > days) return 'is not a calendar date'
  if (hour > 23 || minute > 59 || second > 59) return 'is not a time of day'
  if (year < 1601) return 'is before 1601, the earliest time Exchange stores'
  return undefined
}

/**
 * Why a VEVENT's times cannot be imported as given, or undefined: DTSTART is required; DTSTART, DTEND,
 * RECURRENCE-ID and EXDATE values must be dates (dateValueProblem); a TZID must name a VTIMEZONE of the file
 * (RFC 5545 §3.2.19) or a zone Exchange knows (an IANA or a Windows name), else its times would be read in
 * another zone.
 */
function eventTimesProblem (
  ics: Buffer, events: ICAL.Component[], zones: ReadonlySet<string>
): string | undefined {
  for (const event of events) {
    if (event.getFirstProperty('dtstart') === null) return 'a VEVENT has no DTSTART'
    for (const name of ['dtstart', 'dtend', 'recurrence-id', 'exdate', 'rdate']) {
      for (const property of event.getAllProperties(name)) {
        const tzid = property.getParameter('tzid')
        if (typeof tzid === 'string' && !zones.has(tzid) && ianaZone(tzid) === undefined) {
          return `${name.toUpperCase()} names TZID ${JSON.stringify(tzid.slice(0, 100))}, which is neither a ` +
            'VTIMEZONE of the file nor a known time zone (IANA or Windows name)'
        }
      }
    }
  }
  // The raw values, as written (ical.js would read them leniently), content lines unfolded (RFC 5545 §3.1).
  for (const line of ics.toString('utf8').replace(/\r?\n[ \t]/g, '').split(/\r?\n/)) {
    const rule = /^(RRULE|EXRULE)(?:;[^:]*)?:(.*)$/i.exec(line)
    const until = rule !== null ? /(?:^|;)UNTIL=([^;]*)/i.exec(rule[2])?.[1] : undefined
    if (until !== undefined) {
      const problem = dateValueProblem(until.trim())
      if (problem !== undefined) {
        return `${rule?.[1].toUpperCase() ?? ''} UNTIL ${JSON.stringify(until.slice(0, 40))} ${problem}`
      }
    }
    const m = /^(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)((?:;(?:[^:"]|"[^"]*")*)?):(.*)$/i.exec(line)
    if (m === null) continue
    const params = m[2]
    if (/;VALUE=PERIOD/i.test(params)) continue
    for (const value of m[3].split(',')) {
      const problem = dateValueProblem(value.trim())
      if (problem !== undefined) return `${m[1].toUpperCase()} ${JSON.stringify(value.slice(0, 40))} ${problem}`
      if (/;TZID=/i.test(params) && /Z$/i.test(value.trim())) {
        return `${m[1].toUpperCase()} ${JSON.stringify(value.slice(0, 40))} is UTC (Z) and names a TZID: one or the other`
      }
    }
  }
  return undefined
}

/** The 422 of a meeting with attendees (see the module comment). */
function meeting (who: string, what: string): Error {
  return new DataIncompatible(`${who} is a meeting (${what}): Exchange sets the organizer and attendee ` +
    'relationships only through meeting requests the organizer sends and attendees answer, so a meeting cannot be ' +
    'imported (Microsoft, Exporting and importing items by using EWS in Exchange). Leave the attendees out to import ' +
    'it as an appointment, or have the organizer send the meeting again')
}

/**
 * `ics` with the UID of each VEVENT (not of its VALARMs) set to `uid`, added to a VEVENT that has none; every other
 * byte as it was. Content lines
 * are unfolded to be read (RFC 5545 §3.1: a line break followed by a space or tab continues the line); a UID line
 * is written again whole, on one line, with the line break it had.
 */
export function replaceEventUid (ics: Buffer, uid: string): Buffer {
  // latin1: one character per byte, so every other byte comes back as it was.
  const text = ics.toString('latin1')
  const out: string[] = []
  const open: string[] = []
  // Per open VEVENT: whether it had a UID line (one without gets the UID before its END).
  const withUid: boolean[] = []
  for (let i = 0; i < text.length;) {
    let end = i
    for (;;) {
      const lf = text.indexOf('\n', end)
      if (lf === -1) { end = text.length; break }
      end = lf + 1
      if (text[end] !== ' ' && text[end] !== '\t') break
    }
    const line = text.slice(i, end)
    const unfolded = line.replace(/\r?\n[ \t]/g, '')
    const name = /^[A-Za-z0-9-]+(?=[;:])/.exec(unfolded)?.[0].toUpperCase()
    const value = unfolded.slice(unfolded.indexOf(':') + 1).trim().toUpperCase()
    const eol = /\r?\n$/.exec(line)?.[0] ?? '\r\n'
    if (name === 'BEGIN') open.push(value)
    if (name === 'BEGIN' && value === 'VEVENT') withUid.push(false)
    if (name === 'END' && value === 'VEVENT' && withUid.pop() === false) out.push(`UID:${uid}${eol}`)
    if (name === 'END') open.pop()
    if (name === 'UID' && open[open.length - 1] === 'VEVENT') {
      out.push(`UID:${uid}${eol}`)
      withUid[withUid.length - 1] = true
    } else out.push(line)
    i = end
  }
  return Buffer.from(out.join(''), 'latin1')
}

/**
 * The MAPI properties ([MS-OXPROPS]) the property set's own fields are written to: an extended property naming one
 * would give the item two values for one field. PidTagMessageFlags (0x0E07) is left to the adapters: the gateway
 * writes it from isRead (never a draft), and a value that agrees is taken (EWS).
 */
const FIELD_TAGS = new Map<number, string>([
  [0x0037, 'subject (PidTagSubject)'], [0x0E1D, 'subject (PidTagNormalizedSubject)'],
  [0x1000, 'body.text (PidTagBody)'], [0x1013, 'body.html (PidTagHtml)'], [0x1009, 'body (PidTagRtfCompressed)'],
  [0x0017, 'importance (PidTagImportance)'], [0x0036, 'sensitivity (PidTagSensitivity)'],
  [0x001A, 'kind and itemClass (PidTagMessageClass)'],
  [0x1035, 'internetMessageId (PidTagInternetMessageId)'], [0x0039, 'sentDateTime (PidTagClientSubmitTime)'],
  [0x0E06, 'receivedDateTime (PidTagMessageDeliveryTime)'], [0x3001, 'displayName (PidTagDisplayName)']
])

/** MAPI properties the store computes ([MS-OXCMSG] 2.2.2, [MS-OXCFXICS] 2.2.1.2): never set by a create. */
const STORE_TAGS = new Map<number, string>([
  [0x0FFF, 'PidTagEntryId'], [0x0FF9, 'PidTagRecordKey'], [0x0E08, 'PidTagMessageSize'],
  [0x3007, 'PidTagCreationTime (createdDateTime)'], [0x3008, 'PidTagLastModificationTime (lastModifiedDateTime)'],
  [0x65E0, 'PidTagSourceKey'], [0x65E2, 'PidTagChangeKey'], [0x65E3, 'PidTagPredecessorChangeList']
])

/** PS_MAPI ([MS-OXPROPS] 1.3.2): a named property in this set by id is the tagged property of that id. */
const PS_MAPI = '00020328-0000-0000-c000-000000000046'

/** The property id an extended property names: its tag, or its id in PS_MAPI; undefined for a named property. */
function tagOf (p: ExtendedPropertyT): number | undefined {
  if (p.propertyTag !== undefined) return parseInt(p.propertyTag.slice(2), 16)
  return p.propertySetId?.toLowerCase() === PS_MAPI && p.propertyId !== undefined ? p.propertyId : undefined
}

/** One key per property, whatever its type or spelling (a tag in hex, PS_MAPI by id, a set GUID in any case). */
function propertyKey (p: ExtendedPropertyT): string {
  const tag = tagOf(p)
  if (tag !== undefined) return `0x${tag.toString(16).padStart(4, '0')}`
  return `${p.propertySetId?.toLowerCase() ?? ''}/${p.propertyName ?? `#${String(p.propertyId)}`}`
}

/** The date and date-time values of a property set, by field name (flag dates included). */
function datesOf (item: ItemProperties): Array<[string, string]> {
  const fields = ['sentDateTime', 'receivedDateTime', 'start', 'end', 'startDateTime', 'dueDateTime',
    'completedDateTime', 'birthday'] as const
  const out: Array<[string, string]> = []
  for (const f of fields) {
    const v = (item as Record<string, unknown>)[f]
    if (typeof v === 'string') out.push([f, v])
  }
  for (const f of ['startDateTime', 'dueDateTime', 'completedDateTime'] as const) {
    const v = item.flag?.[f]
    if (typeof v === 'string') out.push([`flag.${f}`, v])
  }
  return out
}

/**
 * Why an ISO 8601 date or date-time (`YYYY-MM-DD`, `YYYY-MM-DDTHH:mm[:ss[.f]]` with `Z` or an offset) is not one
 * Exchange stores as given, or undefined: a date that does not exist (February 31st, which Date.parse would roll
 * into March), a second 60, a year before 1601 (timeFieldsProblem).
 */
export function isoDateProblem (value: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i.exec(value)
  if (m === null) return 'is not an ISO 8601 date or date-time'
  return timeFieldsProblem(m.slice(1, 7))
}

const INTEGER_RANGES: Partial<Record<ExtendedPropertyT['propertyType'], readonly [bigint, bigint]>> = {
  Short: [-(2n ** 15n), 2n ** 15n - 1n],
  Integer: [-(2n ** 31n), 2n ** 31n - 1n],
  Long: [-(2n ** 63n), 2n ** 63n - 1n]
}

/**
 * Why `value` is not of the MAPI type (as EWS t:Value and Graph's legacy extended properties write them:
 * [MS-OXCDATA] 2.11.1 PtypInteger16/32/64 ranges, PtypFloating64, PtypBoolean, PtypTime as xs:dateTime with a zone,
 * PtypBinary as standard base64, PtypGuid), or undefined. Checked before sending, so a value the backend would
 * refuse or cut (99999999999 as an Integer) is the caller's 400 naming it.
 */
export function extendedValueProblem (type: ExtendedPropertyT['propertyType'], value: string): string | undefined {
  const range = INTEGER_RANGES[type]
  if (range !== undefined) {
    if (!/^[-+]?\d{1,20}$/.test(value)) return 'write it as a whole number in decimal'
    const n = BigInt(value)
    return n < range[0] || n > range[1] ? `it is outside ${range[0]}…${range[1]}` : undefined
  }
  switch (type) {
    case 'Double':
      return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value) && Number.isFinite(Number(value))
        ? undefined
        : 'write it as a finite decimal number'
    case 'Boolean': return /^(true|false|1|0)$/.test(value) ? undefined : 'write it as true or false'
    case 'SystemTime':
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
        ? isoDateProblem(value)
        : 'write it as an ISO 8601 date-time with a zone (2026-01-05T10:00:00Z)'
    case 'Binary': return isStrictBase64(value) ? undefined : 'write it as standard padded base64'
    case 'CLSID':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
        ? undefined
        : 'write it as a GUID (00062008-0000-0000-c000-000000000046)'
    default: return undefined
  }
}

/** The fields of each kind (src/schemas/item-properties.ts groups them so); the common ones are every kind's. */
const KIND_FIELDS: Record<ItemKind, readonly string[]> = {
  message: ['from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'sentDateTime',
    'receivedDateTime', 'internetMessageId', 'isRead', 'isDraft'],
  appointment: ['start', 'end', 'timeZone', 'isAllDay', 'location', 'organizer', 'attendees', 'uid'],
  contact: ['displayName', 'givenName', 'middleName', 'surname', 'nickName', 'companyName', 'department', 'jobTitle',
    'emailAddresses', 'businessPhones', 'homePhones', 'mobilePhone', 'businessAddress', 'homeAddress', 'birthday'],
  task: ['status', 'percentComplete', 'startDateTime', 'dueDateTime', 'completedDateTime']
}
const OTHER_KINDS_FIELDS = new Map<string, ItemKind>(
  (Object.entries(KIND_FIELDS) as Array<[ItemKind, readonly string[]]>).flatMap(([k, fs]) => fs.map((f) => [f, k])))
/** Set by the mailbox, not by whoever creates an item. */
const STORE_FIELDS = ['createdDateTime', 'lastModifiedDateTime']

/**
 * Checks and prepares a property set for import (`who` as in prepareMime), before any backend call: only the
 * fields of its kind; none the mailbox sets itself (createdDateTime, lastModifiedDateTime); a message that is not
 * a draft (an import is never one); an appointment with start and end and no attendees (a meeting: 422), whose
 * `uid` is replaced; file attachments with their bytes; extended properties named and with a value. Nothing is
 * dropped or changed silently: what cannot be kept is refused (400, 422).
 */
export function preparePropertySet (item: ItemProperties, who: string): PreparedImport | Error {
  const kind = item.kind
  for (const field of Object.keys(item)) {
    const owner = OTHER_KINDS_FIELDS.get(field)
    if (owner !== undefined && owner !== kind) {
      return new BadRequest(`${who}: ${field} is a field of ${aKind(owner)}, not of ${aKind(kind)}`)
    }
    if (STORE_FIELDS.includes(field)) {
      return new BadRequest(`${who}: ${field} is set by the mailbox when the item is created; leave it out`)
    }
  }
  if (item.flag !== undefined && kind !== 'message' && kind !== 'task') {
    return new BadRequest(`${who}: flag is a field of messages and tasks; ${aKind(kind)} has no follow-up flag`)
  }
  for (const [field, value] of datesOf(item)) {
    const problem = isoDateProblem(value)
    if (problem !== undefined) {
      return new BadRequest(`${who}: ${field} ${JSON.stringify(value.slice(0, 40))} ${problem}`)
    }
  }
  if (kind === 'message' && item.isDraft === true) {
    return new BadRequest(`${who}: isDraft true cannot be imported: an imported message is never a draft`)
  }
  if (kind === 'appointment') {
    if ((item.attendees?.length ?? 0) > 0) return meeting(who, `${item.attendees?.length ?? 0} attendees`)
    if (item.start === undefined || item.end === undefined) {
      return new BadRequest(`${who}: an appointment needs start and end`)
    }
    if (Date.parse(item.end) < Date.parse(item.start)) return new BadRequest(`${who}: end is before start`)
    const iana = item.isAllDay === true ? ianaZone(item.timeZone ?? 'UTC') : undefined
    const midnight = (v: string): boolean => iana === undefined || wallClock(new Date(v), iana).endsWith('T00:00:00')
    if (!midnight(item.start) || !midnight(item.end)) {
      return new BadRequest(`${who}: an all-day appointment starts and ends at midnight in its time zone ` +
        `(${item.timeZone ?? 'UTC'}); Exchange would move it there`)
    }
  }
  for (const [i, a] of (item.attachments ?? []).entries()) {
    if ((a.kind ?? 'file') !== 'file') {
      return new BadRequest(`${who}: attachments[${i}] is ${a.kind === 'item' ? 'an item' : 'a reference'} ` +
        'attachment: only file attachments (with contentBytes) can be imported')
    }
    if (a.contentBytes === undefined || !isStrictBase64(a.contentBytes)) {
      return new BadRequest(`${who}: attachments[${i}] needs its bytes as contentBytes (standard base64; export ` +
        'with attachmentContent: true)')
    }
  }
  const seen = new Set<string>()
  for (const [i, p] of (item.extendedProperties ?? []).entries()) {
    try {
      checkPropertyName(p, `${who}: extendedProperties[${i}]`)
    } catch (err) {
      return err as Error
    }
    const id = propertyKey(p)
    if (seen.has(id)) {
      return new BadRequest(`${who}: extendedProperties[${i}] names a property given before (${id}): one value each`)
    }
    seen.add(id)
    if (p.value === undefined) return new BadRequest(`${who}: extendedProperties[${i}] needs a value to set`)
    const problem = extendedValueProblem(p.propertyType, p.value)
    if (problem !== undefined) {
      return new BadRequest(`${who}: extendedProperties[${i}] value ${JSON.stringify(p.value.slice(0, 40))} is not ` +
        `a${p.propertyType === 'Integer' ? 'n' : ''} ${p.propertyType}: ${problem}`)
    }
    const tag = tagOf(p)
    const field = tag !== undefined ? FIELD_TAGS.get(tag) : undefined
    const computed = tag !== undefined ? STORE_TAGS.get(tag) : undefined
    if (computed !== undefined) {
      return new BadRequest(`${who}: extendedProperties[${i}] ${p.propertyTag ?? ''} is ${computed}, which the ` +
        'mailbox sets itself; it cannot be imported')
    }
    if (field !== undefined) {
      return new BadRequest(`${who}: extendedProperties[${i}] ${p.propertyTag ?? ''} is the property behind ` +
        `${field}: set ${field} instead (one value, not two that may disagree)`)
    }
  }
  if (kind === 'appointment' && item.uid !== undefined) {
    const to = randomUUID()
    return { format: 'json', kind, item: { ...item, uid: to }, uidReplaced: { from: item.uid, to } }
  }
  return { format: 'json', kind, item }
}

/** The prepared item, or why not (the backend's capability included), for a MIME or property-set import item. */
export function prepareImport (target: MailboxTarget, item: FormatImportRequestItem, who: string,
  data?: Buffer): PreparedImport | Error {
  const prepared = item.format === 'mime'
    ? prepareMime(item.contentType, data ?? Buffer.alloc(0), who)
    : preparePropertySet(item.item, who)
  if (prepared instanceof Error) return prepared
  return checkFormat(target, prepared.format, 'import', prepared.kind) ?? prepared
}

/** Creates one prepared item in `folderId`; the answer names its kind and any UID replaced. */
export async function createPrepared (target: MailboxTarget, folderId: string, prepared: PreparedImport,
  signal?: AbortSignal): Promise<CreatedItemAnswer> {
  const { mailbox, backend } = target
  const folder = parseFolderRef(folderId)
  const created: CreatedItem = prepared.format === 'mime'
    ? await backend.createItemFromMime(mailbox, folder, prepared.content, { signal })
    : await backend.createItemFromProperties(mailbox, folder, prepared.item, { signal })
  let uidReplaced = prepared.uidReplaced
  if (prepared.format === 'json' && uidReplaced !== undefined) {
    // A backend may not let a create set the UID (Graph's iCalUId is read-only: Exchange makes a new one): the
    // answer names the UID the item has, read back; when that read fails, only the UID it no longer has.
    const { from } = uidReplaced
    uidReplaced = { from }
    try {
      const to = (await backend.getItemProperties(mailbox, created.itemId, {}, { signal })).item.uid
      if (to !== undefined) uidReplaced = { from, to }
    } catch {}
  }
  return {
    itemId: created.itemId,
    ...(created.changeKey !== undefined ? { changeKey: created.changeKey } : {}),
    format: prepared.format,
    kind: prepared.kind,
    ...(uidReplaced !== undefined ? { uidReplaced } : {})
  }
}

/** The bytes of a MIME import item's `data` (standard base64, as text or as its bytes), or the 422. */
function mimeBytes (item: MimeImportRequestItem, who: string): Buffer | Error {
  if (!isStrictBase64(item.data)) return new DataInvalid(`${who}: data is not base64`)
  return Buffer.from(typeof item.data === 'string' ? item.data : item.data.toString('latin1'), 'base64')
}

/**
 * Imports MIME and property-set items (`positions`: each one's place in the caller's request, for `index` and
 * messages), one backend call each, at most `limits.import.concurrency` at once, one result per item in order.
 * Every failure is that item's own (a create whose answer was lost: MBG_ERR_OUTCOME_UNKNOWN, never sent again):
 * these items may share a request with full-fidelity ones already done.
 */
export async function * importInFormat (target: MailboxTarget, items: readonly FormatImportRequestItem[],
  positions: readonly number[], batch?: BatchOptions | AbortSignal): AsyncGenerator<FormatImportResultT> {
  const { backend } = target
  const { signal, stop, telemetry = NO_TELEMETRY } = batchOptions(batch)
  const prepared = new Map<number, PreparedImport>()
  const sizes = new Map<number, number>()
  const results = runOrdered<FormatImportRequestItem, FormatImportResultT>(items, {
    limits: { maxItems: 1, maxBytes: Number.POSITIVE_INFINITY, concurrency: backend.limits.import.concurrency },
    refuse: (item, i) => {
      const who = `import item ${positions[i]}`
      const data = item.format === 'mime' ? mimeBytes(item, who) : undefined
      const ready = data instanceof Error ? data : prepareImport(target, item, who, data)
      if (ready instanceof Error) return { index: positions[i], error: toItemError(ready) }
      prepared.set(i, ready)
      if (ready.format === 'mime') sizes.set(positions[i], ready.content.data.length)
      return undefined
    },
    run: async ([item], [i], callSignal) => {
      const ready = prepared.get(i) as PreparedImport
      prepared.delete(i)
      try {
        return [{ index: positions[i], ...await createPrepared(target, item.folderId, ready, callSignal) }]
      } catch (err) {
        if (signal?.aborted === true) throw err
        return [{ index: positions[i], error: toItemError(err) }]
      }
    },
    onBatchError: (_items, indices, err) => indices.map((i) => ({ index: positions[i], error: toItemError(err) })),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
  for await (const r of results) {
    const outcome: ItemOutcome = !('error' in r)
      ? 'ok'
      : r.error.code === 'MBG_ERR_OUTCOME_UNKNOWN' ? 'unknown' : 'failed'
    const bytes = outcome === 'ok' ? sizes.get(r.index) ?? 0 : 0
    sizes.delete(r.index)
    telemetry.items({ backend: backend.name, kind: 'import', outcome, count: 1, bytes })
    yield r
  }
}
