/** EWS ↔ port types: well-known names, folders, item summaries, paging cursors. */
import type { Folder, ItemSummary, MailboxRef, WellKnownFolder } from '../mailbox-backend.js'
import { BadRequest, FolderNotFound } from '../../errors.js'
import { toPublicId } from './ids.js'
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

function int (value: string | undefined): number {
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? Math.trunc(n) : 0
}

export interface EwsFolder { folder: Folder, ewsId: string, changeKey?: string, ewsParentId?: string }

/** Any t:Folder / t:CalendarFolder / t:ContactsFolder / t:SearchFolder / t:TasksFolder element. */
export function readFolder (node: XmlNode, rootEwsId: string | undefined): EwsFolder | undefined {
  const idNode = child(node, NS.t, 'FolderId')
  const id = idNode?.attrs.Id
  if (id === undefined) return undefined
  const parent = child(node, NS.t, 'ParentFolderId')?.attrs.Id
  const isRoot = rootEwsId !== undefined && id === rootEwsId
  const folder: Folder = {
    id: toPublicId(id),
    displayName: childText(node, NS.t, 'DisplayName') ?? '',
    parentId: isRoot || parent === undefined ? null : toPublicId(parent),
    folderClass: childText(node, NS.t, 'FolderClass') ?? '',
    childFolderCount: int(childText(node, NS.t, 'ChildFolderCount')),
    totalItemCount: int(childText(node, NS.t, 'TotalCount'))
  }
  return {
    folder,
    ewsId: id,
    ...(idNode?.attrs.ChangeKey !== undefined ? { changeKey: idNode.attrs.ChangeKey } : {}),
    ...(parent !== undefined ? { ewsParentId: parent } : {})
  }
}

/** Any item element of t:Items (Message, CalendarItem, Contact, Task, Item, …). */
export function readItemSummary (node: XmlNode): ItemSummary | undefined {
  const idNode = child(node, NS.t, 'ItemId')
  if (idNode?.attrs.Id === undefined) return undefined
  const subject = childText(node, NS.t, 'Subject')
  return {
    id: toPublicId(idNode.attrs.Id),
    changeKey: idNode.attrs.ChangeKey ?? '',
    itemClass: childText(node, NS.t, 'ItemClass') ?? '',
    size: int(childText(node, NS.t, 'Size')),
    created: childText(node, NS.t, 'DateTimeCreated') ?? '',
    modified: childText(node, NS.t, 'LastModifiedTime') ?? '',
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
