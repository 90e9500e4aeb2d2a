/** EWS ↔ port types: well-known names, folders, item summaries, paging cursors. */
import { createHash } from 'node:crypto'
import type { Folder, ItemSummary, MailboxRef, WellKnownFolder } from '../mailbox-backend.js'
import { BadRequest, FolderNotFound, UpstreamBadResponse } from '../../errors.js'
import { boundedText, isDateTime, MAX_FOLDER_TEXT_UNITS, nonNegativeInteger } from '../answers.js'
import { shortId, toPublicId } from './ids.js'
import { NS, child, childText, childrenOf, type XmlNode } from './soap/xml.js'

/** The IPM subtree root of a mailbox: what the port calls `root`. */
export function rootName (mailbox: MailboxRef): string {
  return mailbox.kind === 'archive' ? 'archivemsgfolderroot' : 'msgfolderroot'
}

const ARCHIVE_NAMES: Partial<Record<WellKnownFolder, string>> = {
  root: 'archivemsgfolderroot',
  inbox: 'archiveinbox',
  deleteditems: 'archivedeleteditems'
}

/**
 * Port well-known name → DistinguishedFolderId. An archive has only a few
 * distinguished folders; asking it for e.g. `calendar` is a not-found, not a request to the primary.
 */
export function distinguishedName (mailbox: MailboxRef, name: WellKnownFolder): string {
  if (mailbox.kind === 'archive') {
    const mapped = ARCHIVE_NAMES[name]
    if (mapped === undefined) throw new FolderNotFound(name)
    return mapped
  }
  return name === 'root' ? 'msgfolderroot' : name
}

/** A count the backend may leave out (0 then); anything but a non-negative integer is a bad answer. */
function count (node: XmlNode, local: string, what: string): number {
  const text = childText(node, NS.t, local)
  if (text === undefined) return 0
  const n = nonNegativeInteger(text)
  if (n === undefined) throw new UpstreamBadResponse(`${what}: ${local} is not a non-negative integer`)
  return n
}

export interface EwsFolder { folder: Folder, ewsId: string, changeKey?: string, ewsParentId?: string }

/**
 * Any t:Folder / t:CalendarFolder / t:ContactsFolder / t:SearchFolder / t:TasksFolder element;
 * undefined without a FolderId. Throws MBG_ERR_UPSTREAM_BAD_RESPONSE for a count that is not a
 * non-negative integer (the Folder schema's counts are).
 */
export function readFolder (node: XmlNode, rootEwsId: string | undefined): EwsFolder | undefined {
  const idNode = child(node, NS.t, 'FolderId')
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') return undefined
  const parent = child(node, NS.t, 'ParentFolderId')?.attrs.Id
  const isRoot = rootEwsId !== undefined && id === rootEwsId
  const what = `folder ${shortId(toPublicId(id))}`
  const folder: Folder = {
    id: toPublicId(id),
    displayName: boundedText(childText(node, NS.t, 'DisplayName') ?? '', MAX_FOLDER_TEXT_UNITS, what, 'DisplayName'),
    parentId: isRoot || parent === undefined ? null : toPublicId(parent),
    folderClass: boundedText(childText(node, NS.t, 'FolderClass') ?? '', MAX_FOLDER_TEXT_UNITS, what, 'FolderClass'),
    childFolderCount: count(node, 'ChildFolderCount', what),
    totalItemCount: count(node, 'TotalCount', what)
  }
  return {
    folder,
    ewsId: id,
    ...(idNode?.attrs.ChangeKey !== undefined ? { changeKey: idNode.attrs.ChangeKey } : {}),
    ...(parent !== undefined ? { ewsParentId: parent } : {})
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * The value (base64) of the item's PidTagSearchKey `t:ExtendedProperty` (PropertyTag 0x300B, hex or decimal as
 * PropertyTagType allows, PropertyType Binary), or undefined when the answer has none or an unreadable one.
 */
function searchKeyOf (node: XmlNode): string | undefined {
  for (const prop of childrenOf(node, NS.t, 'ExtendedProperty')) {
    const uri = child(prop, NS.t, 'ExtendedFieldURI')
    const tag = uri?.attrs.PropertyTag?.trim() ?? ''
    const id = /^0x[0-9a-f]{1,4}$/i.test(tag)
      ? parseInt(tag.slice(2), 16)
      : /^[0-9]{1,5}$/.test(tag) ? Number(tag) : -1
    if (id !== 0x300b || uri?.attrs.PropertyType !== 'Binary') continue
    const value = childText(prop, NS.t, 'Value')?.replace(/\s+/g, '')
    return value !== undefined && value !== '' && BASE64.test(value) ? value : undefined
  }
  return undefined
}

/**
 * Any item element of t:Items (Message, CalendarItem, Contact, Task, Item, …) as the public
 * ItemSummary, with `searchKey` when the item carries PidTagSearchKey (FindItem and SyncFolderItems ask for it).
 * Times the server left out are left out; an item without Id, ChangeKey or a non-negative integer Size, or with
 * a time that is not an RFC 3339 date-time, is a bad answer (MBG_ERR_UPSTREAM_BAD_RESPONSE naming the item):
 * FindItem was asked for all of them (find-item.ts).
 */
export function readItemSummary (node: XmlNode): ItemSummary {
  const idNode = child(node, NS.t, 'ItemId')
  const ewsId = idNode?.attrs.Id
  if (ewsId === undefined || ewsId === '') throw new UpstreamBadResponse('FindItem: an item without ItemId')
  const id = toPublicId(ewsId)
  const changeKey = idNode?.attrs.ChangeKey
  if (changeKey === undefined || changeKey === '') throw new UpstreamBadResponse(`${itemWhat(id)} has no ChangeKey`)
  const size = nonNegativeInteger(childText(node, NS.t, 'Size'))
  if (size === undefined) throw new UpstreamBadResponse(`${itemWhat(id)} has no Size that is a non-negative integer`)
  const created = itemTime(node, id, 'DateTimeCreated')
  const modified = itemTime(node, id, 'LastModifiedTime')
  const subject = childText(node, NS.t, 'Subject')
  const searchKey = searchKeyOf(node)
  return {
    id,
    changeKey,
    itemClass: childText(node, NS.t, 'ItemClass') ?? '',
    size,
    ...(created !== undefined ? { created } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(searchKey !== undefined ? { searchKey } : {})
  }
}

/** An item as readItemSummary's errors name it. */
const itemWhat = (publicId: string): string => `FindItem: item ${shortId(publicId)}`

/** A time of an item summary: undefined when left out; not an RFC 3339 date-time → MBG_ERR_UPSTREAM_BAD_RESPONSE. */
function itemTime (node: XmlNode, publicId: string, local: string): string | undefined {
  const value = childText(node, NS.t, local)?.trim()
  if (value !== undefined && !isDateTime(value)) {
    throw new UpstreamBadResponse(`${itemWhat(publicId)}: ${local} is not an RFC 3339 date-time`)
  }
  return value
}

/**
 * Position in an item listing (keyset, ews.md §6.9): the creation time, in whole seconds, of
 * the last item returned, and short hashes of every item returned so far at that second.
 * The next page asks for items created at or after that second and drops those already
 * returned, so items that arrive, leave or sort in front meanwhile never shift the others.
 */
export interface ItemCursor { key: string, seen: Set<string> }

/** Bytes of SHA-256 kept per id: a false "already listed" needs a 40-bit collision inside one second's items. */
const SEEN_BYTES = 5

/** Short hash of a public item id, as kept in an ItemCursor. */
export function seenHash (id: string): string {
  return createHash('sha256').update(id).digest().subarray(0, SEEN_BYTES).toString('hex')
}

// A UTC time in whole seconds, as EWS sends DateTimeCreated, on a day every month has: already its own key.
const WHOLE_SECOND_UTC = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/

/** A DateTimeCreated value as the keyset key: ISO 8601 UTC whole seconds, or undefined if unreadable. */
export function creationKey (value: string | undefined): string | undefined {
  if (value !== undefined && WHOLE_SECOND_UTC.test(value)) return value
  const ms = value !== undefined ? Date.parse(value) : NaN
  if (Number.isNaN(ms)) return undefined
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z')
}

/** Cursors are opaque to callers (the service seals them): base64url JSON. Items: `{"k": key, "s": hashes}`. */
export function encodeItemCursor (cursor: ItemCursor): string {
  const seen = Buffer.from([...cursor.seen].join(''), 'hex').toString('base64url')
  return Buffer.from(JSON.stringify({ k: cursor.key, s: seen }), 'utf8').toString('base64url')
}

function decodeJson (cursor: string): Record<string, unknown> {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('charset')
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>
  } catch {}
  throw new BadRequest('invalid cursor')
}

/** Undefined cursor → undefined (first page); anything not made by encodeItemCursor → BadRequest. */
export function decodeItemCursor (cursor: string | undefined): ItemCursor | undefined {
  if (cursor === undefined) return undefined
  const { k, s } = decodeJson(cursor)
  if (typeof k !== 'string' || creationKey(k) !== k || typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new BadRequest('invalid cursor')
  }
  const bytes = Buffer.from(s, 'base64url')
  if (bytes.length % SEEN_BYTES !== 0) throw new BadRequest('invalid cursor')
  const seen = new Set<string>()
  for (let i = 0; i < bytes.length; i += SEEN_BYTES) seen.add(bytes.subarray(i, i + SEEN_BYTES).toString('hex'))
  return { key: k, seen }
}

/**
 * Position in a folder listing: the last folder returned, by its depth in the listing (0 for
 * the parent's children) and public id. Listings are ordered by (depth, id), so a parent
 * always comes before its subfolders and the order does not depend on what else exists.
 */
export interface FolderCursor { depth: number, id: string }

/** `{"d": depth, "a": public id}`, base64url JSON. */
export function encodeFolderCursor (cursor: FolderCursor): string {
  return Buffer.from(JSON.stringify({ d: cursor.depth, a: cursor.id }), 'utf8').toString('base64url')
}

/** Undefined cursor → undefined (first page); anything not made by encodeFolderCursor → BadRequest. */
export function decodeFolderCursor (cursor: string | undefined): FolderCursor | undefined {
  if (cursor === undefined) return undefined
  const { d, a } = decodeJson(cursor)
  const depthOk = typeof d === 'number' && Number.isSafeInteger(d) && d >= 0
  if (!depthOk || typeof a !== 'string' || !/^~?[A-Za-z0-9_-]+$/.test(a)) {
    throw new BadRequest('invalid cursor')
  }
  return { depth: d, id: a }
}

/** Orders (depth, id) pairs: shallower first, then by public id (code unit order). */
export function compareFolderKeys (a: FolderCursor, b: FolderCursor): number {
  if (a.depth !== b.depth) return a.depth - b.depth
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
