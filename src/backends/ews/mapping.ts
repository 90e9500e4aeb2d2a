/** EWS ↔ port types: well-known names, folders, item summaries, paging cursors. */
import type { Folder, ItemSummary, MailboxRef, WellKnownFolder } from '../mailbox-backend.js'
import { BadRequest, FolderNotFound, UpstreamBadResponse } from '../../errors.js'
import { isDateTime, nonNegativeInteger } from '../answers.js'
import { shortId, toPublicId } from './ids.js'
import { NS, child, childText, type XmlNode } from './soap/xml.js'

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
    displayName: childText(node, NS.t, 'DisplayName') ?? '',
    parentId: isRoot || parent === undefined ? null : toPublicId(parent),
    folderClass: childText(node, NS.t, 'FolderClass') ?? '',
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

/**
 * Any item element of t:Items (Message, CalendarItem, Contact, Task, Item, …) as the public
 * ItemSummary. Times the server left out are left out; an item without Id, ChangeKey or a
 * non-negative integer Size, or with a time that is not an RFC 3339 date-time, is a bad answer
 * (MBG_ERR_UPSTREAM_BAD_RESPONSE naming the item): FindItem was asked for all of them (find-item.ts).
 */
export function readItemSummary (node: XmlNode): ItemSummary {
  const idNode = child(node, NS.t, 'ItemId')
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') throw new UpstreamBadResponse('FindItem: an item without ItemId')
  const what = `FindItem: item ${shortId(toPublicId(id))}`
  const changeKey = idNode?.attrs.ChangeKey
  if (changeKey === undefined || changeKey === '') throw new UpstreamBadResponse(`${what} has no ChangeKey`)
  const size = nonNegativeInteger(childText(node, NS.t, 'Size'))
  if (size === undefined) throw new UpstreamBadResponse(`${what} has no Size that is a non-negative integer`)
  const time = (local: string): string | undefined => {
    const value = childText(node, NS.t, local)?.trim()
    if (value !== undefined && !isDateTime(value)) {
      throw new UpstreamBadResponse(`${what}: ${local} is not an RFC 3339 date-time`)
    }
    return value
  }
  const created = time('DateTimeCreated')
  const modified = time('LastModifiedTime')
  const subject = childText(node, NS.t, 'Subject')
  return {
    id: toPublicId(id),
    changeKey,
    itemClass: childText(node, NS.t, 'ItemClass') ?? '',
    size,
    ...(created !== undefined ? { created } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(subject !== undefined ? { subject } : {})
  }
}

/** Cursors are opaque to callers: base64url JSON `{"o": offset}`. */
export function encodeCursor (offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset }), 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string | undefined): number {
  if (cursor === undefined) return 0
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('charset')
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    const o = (value as { o?: unknown }).o
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o
  } catch {}
  throw new BadRequest('invalid cursor')
}
