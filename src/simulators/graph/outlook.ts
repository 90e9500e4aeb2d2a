/**
 * The Outlook mail, calendar and contacts endpoints the gateway's MIME and property-set formats use, over the same
 * store as the mailbox import/export API (an item created through one is seen through the other):
 *
 *   POST /users/{id}/translateExchangeIds                      user-translateexchangeids
 *   GET  /users/{id}/messages/{id}[/$value|/attachments]       message-get, outlook-get-mime-message,
 *                                                               message-list-attachments
 *   POST /users/{id}/messages, /users/{id}/mailFolders/{id}/messages   user-post-messages, mailfolder-post-messages
 *        (application/json, or text/plain base64 MIME: a draft)
 *   GET  /users/{id}/events/{id}[/attachments]                  event-get (Prefer: outlook.timezone,
 *        outlook.body-content-type), event-list-attachments
 *   POST /users/{id}/events, /users/{id}/calendar/events, /users/{id}/calendars/{id}/events   user-post-events
 *   GET  /users/{id}/contacts/{id}                              contact-get
 *   POST /users/{id}/contacts, /users/{id}/contactFolders/{id}/contacts   contactfolder-post-contacts
 *
 * Each checks the application permission its page lists (the token's roles) before anything else. These APIs reach
 * a user's primary mailbox only ("The API does not support accessing in-place archive mailboxes",
 * mail-api-overview): an id of an item in the archive, or in another user's mailbox, is refused.
 */
import { MSGFLAG, readItemContent, writeItemStream, type ItemContent } from '../store/content.js'
import { StoreError, type StoreFolder, type StoreItem, type StoreMailbox } from '../store/store.js'
import type { GraphCall, SimContext } from './context.js'
import { badRequest, GraphError, notFound, type Reply } from './http.js'
import { messageFromMime, messageToMime, MimeConversionError } from '../store/mime.js'
import { checkQueryOptions } from './odata.js'
import {
  EXCHANGE_ID_FORMATS, idIn, restIdOf, storeIdFrom, storeIdFromRestId, type ExchangeIdFormat
} from './outlook-ids.js'
import {
  attachmentJson, contactFromJson, contactJson, eventFromJson, eventJson, expandedProperties, messageFromJson,
  messageJson, servedBy, zoneNotSupported
} from './outlook-json.js'
import { parseExpand, parseSelect } from './serialize.js'
import { findUser } from './settings.js'
import { ianaZone } from '../../protocol/time-zones.js'

/** Application permissions per endpoint (least privileged first, as each API page lists them). */
export const OUTLOOK_ROLES = {
  translate: ['User.Read.All', 'User.ReadWrite.All'],
  mailRead: ['Mail.Read', 'Mail.ReadWrite'],
  mailWrite: ['Mail.ReadWrite'],
  calendarRead: ['Calendars.Read', 'Calendars.ReadWrite'],
  calendarWrite: ['Calendars.ReadWrite'],
  contactsRead: ['Contacts.Read', 'Contacts.ReadWrite'],
  contactsWrite: ['Contacts.ReadWrite']
}

function requireRole (call: GraphCall, allowed: string[]): void {
  if (!call.identity.roles.some((r) => allowed.includes(r))) {
    throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')
  }
}

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase()
const unknownSegment = (seg: string | undefined): GraphError =>
  badRequest(`Resource not found for the segment '${seg ?? ''}'.`)
const methodNotAllowed = (): GraphError =>
  new GraphError(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.')

/** Outlook's well-known mail folder names (mailFolder resource), as the store's distinguished names. */
const MAIL_FOLDER_NAMES = new Set([
  'inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'outbox', 'archive', 'msgfolderroot',
  'recoverableitemsdeletions'
])

/** The user's primary mailbox (these APIs address users; an archive is not one). */
function userMailbox (ctx: SimContext, key: string): StoreMailbox {
  const user = findUser(ctx, key)
  if (user === undefined) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${key}' is invalid.`)
  return user
}

/** A store object named by a REST id, which must belong to the user's primary mailbox. */
function objectOf (ctx: SimContext, mailbox: StoreMailbox, restId: string): string {
  const storeId = storeIdFromRestId(restId)
  if (storeId === undefined) throw badRequest('Id is malformed.', 'ErrorInvalidIdMalformed')
  const held = ctx.store.items.get(storeId)?.mailboxGuid ?? ctx.store.folders.get(storeId)?.mailboxGuid
  if (held !== undefined && held !== mailbox.guid) {
    throw badRequest(`Item Id '${restId}' doesn't belong to the targeted mailbox '${ctx.mailboxId(mailbox.guid)}'.`,
      'ErrorInvalidMailboxItemId')
  }
  return storeId
}

function itemOf (ctx: SimContext, mailbox: StoreMailbox, restId: string,
  resource: 'messages' | 'events' | 'contacts'): StoreItem {
  const item = ctx.store.items.get(objectOf(ctx, mailbox, restId))
  if (item === undefined || item.associated || !servedBy(item.itemClass, resource)) throw notFound()
  return item
}

function folderOf (ctx: SimContext, mailbox: StoreMailbox, key: string, wellKnown: Set<string>,
  folderClass: RegExp): StoreFolder {
  const name = key.toLowerCase()
  if (wellKnown.has(name)) {
    const id = name === 'msgfolderroot' ? mailbox.msgRootId : mailbox.wellKnown.get(name)
    if (id === undefined) throw notFound()
    return ctx.store.requireFolder(id)
  }
  const folder = ctx.store.folders.get(objectOf(ctx, mailbox, key))
  if (folder === undefined || !folderClass.test(folder.folderClass)) throw notFound()
  return folder
}

/** The values of one Prefer preference (RFC 7240), e.g. outlook.timezone="UTC". */
export function preference (call: GraphCall, name: string): string | undefined {
  const raw = call.headers.prefer
  const all = (Array.isArray(raw) ? raw : raw !== undefined ? [raw] : []).join(',')
  for (const part of all.split(',')) {
    const m = /^\s*([\w.-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part)
    if (m !== null && m[1].toLowerCase() === name.toLowerCase()) return m[2]
  }
  return undefined
}

function bodyType (call: GraphCall): 'text' | 'html' | undefined {
  const v = preference(call, 'outlook.body-content-type')?.toLowerCase()
  return v === 'text' || v === 'html' ? v : undefined
}

/** Applies $select (entity properties, id always) and $expand=singleValueExtendedProperties to a resource. */
function shape (call: GraphCall, json: Record<string, unknown>, typeName: string, item: StoreItem,
  content: ItemContent): Record<string, unknown> {
  const declared = Object.keys(json).filter((k) => !k.startsWith('@'))
  const select = parseSelect(call.query.get('$select'), declared, typeName)
  const expand = parseExpand(call.query.get('$expand'))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(json)) {
    if (select === undefined || k.startsWith('@') || k === 'id' || select.has(k)) out[k] = v
  }
  if (expand !== undefined) out.singleValueExtendedProperties = expandedProperties(item, content, expand)
  return out
}

function context (ctx: SimContext, call: GraphCall, user: string, path: string): string {
  return `${ctx.url}/${call.version}/$metadata#users('${encodeURIComponent(user)}')/${path}`
}

// ------------------------------------------------------------------------------------------------ handlers

async function translate (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox): Promise<Reply> {
  const body = await call.json() as Record<string, unknown> | undefined
  const get = (name: string): unknown => {
    if (body === undefined || body === null || typeof body !== 'object') return undefined
    const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase())
    return key === undefined ? undefined : body[key]
  }
  const inputIds = get('inputIds')
  const source = get('sourceIdType')
  const target = get('targetIdType')
  if (!Array.isArray(inputIds) || inputIds.some((i) => typeof i !== 'string')) {
    throw badRequest("The parameter 'InputIds' in the request payload is not a valid collection of strings.")
  }
  if (inputIds.length > 1000) throw badRequest('The maximum number of ids in one request is 1000.')
  for (const [name, v] of [['SourceIdType', source], ['TargetIdType', target]] as const) {
    if (typeof v !== 'string' || !(EXCHANGE_ID_FORMATS as readonly string[]).includes(v)) {
      throw badRequest(`The parameter '${name}' in the request payload is not a valid exchangeIdFormat.`)
    }
    if (/Immutable/i.test(v)) {
      // The store gives moved items new ids: immutable ids would be invented. Said plainly rather than faked.
      throw new GraphError(501, 'NotImplemented', 'The simulator does not model immutable ids.')
    }
  }
  const value = (inputIds as string[]).map((sourceId) => {
    const storeId = storeIdFrom(sourceId, source as ExchangeIdFormat)
    if (storeId === undefined) {
      return { sourceId, errorDetails: { code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' } }
    }
    const held = ctx.store.items.get(storeId)?.mailboxGuid ?? ctx.store.folders.get(storeId)?.mailboxGuid
    if (held !== undefined && held !== mailbox.guid) {
      return {
        sourceId,
        errorDetails: { code: 'ErrorInvalidMailboxItemId', message: 'The id does not belong to the targeted mailbox.' }
      }
    }
    return { sourceId, targetId: idIn(storeId, target as ExchangeIdFormat) as string }
  })
  const contextUrl = `${ctx.url}/${call.version}/$metadata#Collection(microsoft.graph.convertIdResult)`
  return { status: 200, body: { '@odata.context': contextUrl, value } }
}

function content (item: StoreItem): ItemContent {
  return readItemContent(item)
}

async function getMessage (ctx: SimContext, call: GraphCall, user: string, mailbox: StoreMailbox,
  restId: string, sub: string | undefined): Promise<Reply> {
  const item = itemOf(ctx, mailbox, restId, 'messages')
  const c = content(item)
  if (sub === undefined) {
    checkQueryOptions(call.query, ['$select', '$expand'])
    const json = shape(call, messageJson(item, c, bodyType(call)), 'message', item, c)
    return { status: 200, body: { '@odata.context': context(ctx, call, user, 'messages/$entity'), ...json } }
  }
  if (eq(sub, '$value')) {
    checkQueryOptions(call.query, [])
    // Dates come from the content; a stream without any takes the item's creation time, as Exchange stamps one.
    const data = await messageToMime({ ...c, created: c.created ?? item.created })
    return { status: 200, raw: { contentType: 'text/plain', data } }
  }
  if (eq(sub, 'attachments')) return attachments(ctx, call, user, item, c, 'messages')
  throw unknownSegment(sub)
}

function attachments (ctx: SimContext, call: GraphCall, user: string, item: StoreItem, c: ItemContent,
  resource: string): Reply {
  checkQueryOptions(call.query, ['$select'])
  const declared = ['id', 'lastModifiedDateTime', 'name', 'contentType', 'size', 'isInline']
  const select = parseSelect(call.query.get('$select'), declared, 'attachment')
  const value = c.attachments.map((a, i) => {
    const full = attachmentJson(item, a, i)
    if (select === undefined) return full
    const out: Record<string, unknown> = { '@odata.type': full['@odata.type'], id: full.id }
    for (const k of select) out[k] = full[k]
    return out
  })
  return {
    status: 200,
    body: { '@odata.context': context(ctx, call, user, `${resource}('${restIdOf(item.id)}')/attachments`), value }
  }
}

/** The zone `Prefer: outlook.timezone` names (UTC when absent); 400 for one Graph does not know. */
function preferredZone (call: GraphCall): { name: string, iana: string } {
  const name = preference(call, 'outlook.timezone') ?? 'UTC'
  const iana = ianaZone(name)
  if (iana === undefined) {
    throw zoneNotSupported(name)
  }
  return { name, iana }
}

function getEvent (ctx: SimContext, call: GraphCall, user: string, mailbox: StoreMailbox, restId: string,
  sub: string | undefined): Reply {
  const item = itemOf(ctx, mailbox, restId, 'events')
  const c = content(item)
  if (sub === undefined) {
    checkQueryOptions(call.query, ['$select', '$expand'])
    const json = shape(call, eventJson(item, c, mailbox, preferredZone(call), bodyType(call)), 'event', item, c)
    return { status: 200, body: { '@odata.context': context(ctx, call, user, 'events/$entity'), ...json } }
  }
  if (eq(sub, 'attachments')) return attachments(ctx, call, user, item, c, 'events')
  throw unknownSegment(sub)
}

function getContact (ctx: SimContext, call: GraphCall, user: string, mailbox: StoreMailbox, restId: string): Reply {
  checkQueryOptions(call.query, ['$select', '$expand'])
  const item = itemOf(ctx, mailbox, restId, 'contacts')
  const c = content(item)
  const json = shape(call, contactJson(item, c), 'contact', item, c)
  return { status: 200, body: { '@odata.context': context(ctx, call, user, 'contacts/$entity'), ...json } }
}

function mediaType (call: GraphCall): string {
  const raw = call.headers['content-type']
  return (Array.isArray(raw) ? raw[0] : raw ?? '').split(';')[0].trim().toLowerCase()
}

async function jsonBody (call: GraphCall): Promise<Record<string, unknown>> {
  const body = await call.json()
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('Empty Payload. JSON content expected.')
  }
  return body as Record<string, unknown>
}

/** Stores new content in a folder and answers 201 with the resource. */
function created (ctx: SimContext, folder: StoreFolder, c: ItemContent,
  render: (item: StoreItem, c: ItemContent) => Record<string, unknown>, ctxPath: string, call: GraphCall,
  user: string): Reply {
  let item: StoreItem
  try {
    item = ctx.store.createItem(folder.id, writeItemStream(c), { isRead: c.isRead !== false })
  } catch (err) {
    if (err instanceof StoreError) throw badRequest(err.message, 'ErrorInvalidRequest')
    throw err
  }
  const json = render(item, readItemContent(item))
  return { status: 201, body: { '@odata.context': context(ctx, call, user, `${ctxPath}/$entity`), ...json } }
}

async function createMessage (ctx: SimContext, call: GraphCall, user: string, mailbox: StoreMailbox,
  folder: StoreFolder): Promise<Reply> {
  checkQueryOptions(call.query, [])
  const type = mediaType(call)
  const now = ctx.store.now()
  let c: ItemContent
  if (type === 'text/plain') {
    // MIME: base64 of the RFC 5322 message (user-post-messages); always a draft.
    const text = (await call.raw()).toString('latin1').replace(/\s+/g, '')
    if (text === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw badRequest('Invalid base64 string for MIME content.', 'ErrorMimeContentInvalidBase64String')
    }
    try {
      // Always a draft (mfUnsent): "Create a draft of a new message in either JSON or MIME format".
      c = {
        itemClass: 'IPM.Note',
        ...await messageFromMime(Buffer.from(text, 'base64')),
        created: now,
        isDraft: true,
        isRead: true,
        messageFlags: MSGFLAG.read | MSGFLAG.unsent
      }
    } catch (err) {
      if (!(err instanceof MimeConversionError)) throw err
      throw badRequest(err.message, 'ErrorMimeContentInvalid')
    }
  } else if (type === 'application/json' || type === '') {
    c = messageFromJson(await jsonBody(call), now)
  } else {
    throw new GraphError(415, 'UnsupportedMediaType', `Content-Type '${type}' is not supported.`)
  }
  return created(ctx, folder, c, (item, cc) => messageJson(item, cc, undefined), 'messages', call, user)
}

async function createEvent (ctx: SimContext, call: GraphCall, user: string, mailbox: StoreMailbox,
  folder: StoreFolder): Promise<Reply> {
  checkQueryOptions(call.query, [])
  const c = eventFromJson(await jsonBody(call), mailbox, ctx.store.now())
  const zone = preferredZone(call)
  return created(ctx, folder, c, (item, cc) => eventJson(item, cc, mailbox, zone, undefined), 'events', call, user)
}

async function createContact (ctx: SimContext, call: GraphCall, user: string, folder: StoreFolder): Promise<Reply> {
  checkQueryOptions(call.query, [])
  const c = contactFromJson(await jsonBody(call), ctx.store.now())
  return created(ctx, folder, c, contactJson, 'contacts', call, user)
}

/** Routes `/users/{id}/…` (other than settings/exchange); `segs` start at 'users'. */
export async function routeOutlook (ctx: SimContext, call: GraphCall, segs: string[]): Promise<Reply> {
  const m = call.method
  const user = segs[1]
  const rest = segs.slice(2)
  const resource = rest[0]
  if (rest.length === 1 && /^(microsoft\.graph\.)?translateExchangeIds$/i.test(resource)) {
    if (m !== 'POST') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.translate)
    checkQueryOptions(call.query, [])
    return await translate(ctx, call, userMailbox(ctx, user))
  }
  if (eq(resource, 'messages')) {
    if (rest.length === 1) {
      if (m !== 'POST') throw methodNotAllowed()
      requireRole(call, OUTLOOK_ROLES.mailWrite)
      const mailbox = userMailbox(ctx, user)
      return await createMessage(ctx, call, user, mailbox, ctx.store.wellKnownFolder(mailbox.guid, 'drafts'))
    }
    if (rest.length > 3) throw unknownSegment(rest[3])
    if (m !== 'GET') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.mailRead)
    return await getMessage(ctx, call, user, userMailbox(ctx, user), rest[1], rest[2])
  }
  if (eq(resource, 'mailFolders') && rest.length === 3 && eq(rest[2], 'messages')) {
    if (m !== 'POST') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.mailWrite)
    const mailbox = userMailbox(ctx, user)
    const folder = folderOf(ctx, mailbox, rest[1], MAIL_FOLDER_NAMES, /^IPF\.Note(\.|$)|^$/i)
    return await createMessage(ctx, call, user, mailbox, folder)
  }
  if (eq(resource, 'events')) {
    if (rest.length === 1) {
      if (m !== 'POST') throw methodNotAllowed()
      requireRole(call, OUTLOOK_ROLES.calendarWrite)
      const mailbox = userMailbox(ctx, user)
      return await createEvent(ctx, call, user, mailbox, ctx.store.wellKnownFolder(mailbox.guid, 'calendar'))
    }
    if (rest.length > 3) throw unknownSegment(rest[3])
    if (m !== 'GET') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.calendarRead)
    return getEvent(ctx, call, user, userMailbox(ctx, user), rest[1], rest[2])
  }
  if ((eq(resource, 'calendar') && rest.length === 2 && eq(rest[1], 'events')) ||
    (eq(resource, 'calendars') && rest.length === 3 && eq(rest[2], 'events'))) {
    if (m !== 'POST') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.calendarWrite)
    const mailbox = userMailbox(ctx, user)
    const folder = rest.length === 2
      ? ctx.store.wellKnownFolder(mailbox.guid, 'calendar')
      : folderOf(ctx, mailbox, rest[1], new Set(), /^IPF\.Appointment(\.|$)/i)
    return await createEvent(ctx, call, user, mailbox, folder)
  }
  if (eq(resource, 'contacts')) {
    if (rest.length === 1) {
      if (m !== 'POST') throw methodNotAllowed()
      requireRole(call, OUTLOOK_ROLES.contactsWrite)
      const mailbox = userMailbox(ctx, user)
      return await createContact(ctx, call, user, ctx.store.wellKnownFolder(mailbox.guid, 'contacts'))
    }
    if (rest.length > 2) throw unknownSegment(rest[2])
    if (m !== 'GET') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.contactsRead)
    return getContact(ctx, call, user, userMailbox(ctx, user), rest[1])
  }
  if (eq(resource, 'contactFolders') && rest.length === 3 && eq(rest[2], 'contacts')) {
    if (m !== 'POST') throw methodNotAllowed()
    requireRole(call, OUTLOOK_ROLES.contactsWrite)
    const mailbox = userMailbox(ctx, user)
    const folder = folderOf(ctx, mailbox, rest[1], new Set(), /^IPF\.Contact(\.|$)/i)
    return await createContact(ctx, call, user, folder)
  }
  throw unknownSegment(resource)
}
