/**
 * FolderShape / ItemShape handling and rendering of folders and items with
 * the requested properties, in schema order.
 */
import type { MailboxStore, StoreFolder, StoreItem } from '../store/store.js'
import { EwsFault } from './errors.js'
import { NS, child, childrenNamed, required, type XmlEl } from './xml.js'
import { dateTime, esc, idAttrs, text } from './writer.js'

export type BaseShape = 'IdOnly' | 'Default' | 'AllProperties'

export interface Shape {
  base: BaseShape
  extra: Set<string>
  /** Fields left out even when asked for (the `omitItemFields` fault knob). */
  omit?: Set<string>
}

/** Parses `m:FolderShape` / `m:ItemShape`; unknown FieldURIs are accepted and simply not returned. */
export function parseShape (shapeEl: XmlEl): Shape {
  const base = required(shapeEl, NS.t, 'BaseShape').text
  if (base !== 'IdOnly' && base !== 'Default' && base !== 'AllProperties') {
    throw EwsFault.schema(
      `The request failed schema validation: The value '${base}' is invalid according to its datatype 'DefaultShapeNamesType'.`
    )
  }
  const extra = new Set<string>()
  const props = child(shapeEl, NS.t, 'AdditionalProperties')
  if (props !== undefined) {
    for (const f of childrenNamed(props, NS.t, 'FieldURI')) {
      if (f.attrs.FieldURI !== undefined) extra.add(f.attrs.FieldURI)
    }
  }
  return { base, extra }
}

// ------------------------------------------------------------------ folders

const FOLDER_DEFAULT = new Set([
  'folder:DisplayName',
  'folder:TotalCount',
  'folder:ChildFolderCount',
  'folder:UnreadCount'
])
const FOLDER_ALL = new Set([
  ...FOLDER_DEFAULT,
  'folder:ParentFolderId',
  'folder:FolderClass',
  'folder:DistinguishedFolderId'
])

export type FolderElement = 'Folder' | 'CalendarFolder' | 'ContactsFolder' | 'TasksFolder'

export function folderElementName (folderClass: string): FolderElement {
  if (folderClass.startsWith('IPF.Appointment')) return 'CalendarFolder'
  if (folderClass.startsWith('IPF.Contact')) return 'ContactsFolder'
  if (folderClass.startsWith('IPF.Task')) return 'TasksFolder'
  return 'Folder'
}

function wants (shape: Shape, field: string, defaults: Set<string>, all: Set<string>): boolean {
  if (shape.omit?.has(field) === true) return false
  if (shape.extra.has(field)) return true
  if (shape.base === 'Default') return defaults.has(field)
  if (shape.base === 'AllProperties') return all.has(field)
  return false
}

export function renderFolder (store: MailboxStore, folder: StoreFolder, shape: Shape): string {
  const el = folderElementName(folder.folderClass)
  const w = (f: string): boolean => wants(shape, f, FOLDER_DEFAULT, FOLDER_ALL)
  let out = `<t:${el}><t:FolderId ${idAttrs(folder.id, folder.changeKey)}/>`
  if (w('folder:ParentFolderId') && folder.parentId !== null) {
    const parent = store.folders.get(folder.parentId)
    if (parent !== undefined) out += `<t:ParentFolderId ${idAttrs(parent.id, parent.changeKey)}/>`
  }
  if (w('folder:FolderClass') && folder.folderClass !== '') {
    out += `<t:FolderClass>${text(folder.folderClass)}</t:FolderClass>`
  }
  if (w('folder:DisplayName')) out += `<t:DisplayName>${text(folder.displayName)}</t:DisplayName>`
  if (w('folder:TotalCount')) out += `<t:TotalCount>${folder.itemIds.length}</t:TotalCount>`
  if (w('folder:ChildFolderCount')) out += `<t:ChildFolderCount>${folder.childIds.length}</t:ChildFolderCount>`
  if (w('folder:DistinguishedFolderId') && folder.distinguishedName !== undefined) {
    out += `<t:DistinguishedFolderId>${esc(folder.distinguishedName)}</t:DistinguishedFolderId>`
  }
  // CalendarFolderType and ContactsFolderType have no UnreadCount.
  if (w('folder:UnreadCount') && (el === 'Folder' || el === 'TasksFolder')) {
    let unread = 0
    for (const id of folder.itemIds) if (store.items.get(id)?.isRead === false) unread++
    out += `<t:UnreadCount>${unread}</t:UnreadCount>`
  }
  return `${out}</t:${el}>`
}

// -------------------------------------------------------------------- items

const ITEM_DEFAULT = new Set([
  'item:ParentFolderId',
  'item:ItemClass',
  'item:Subject',
  'item:DateTimeReceived',
  'item:Size',
  'item:DateTimeSent',
  'item:DateTimeCreated',
  'item:HasAttachments',
  'item:LastModifiedTime',
  'message:IsRead'
])
const ITEM_ALL = new Set([...ITEM_DEFAULT, 'item:IsAssociated'])

export type ItemElement = 'Message' | 'CalendarItem' | 'Contact' | 'Task' | 'Item'

export function itemElementName (itemClass: string): ItemElement {
  const c = itemClass.toLowerCase()
  const is = (prefix: string): boolean => c === prefix || c.startsWith(`${prefix}.`)
  if (is('ipm.note')) return 'Message'
  if (is('ipm.appointment')) return 'CalendarItem'
  if (is('ipm.contact')) return 'Contact'
  if (is('ipm.task')) return 'Task'
  return 'Item'
}

export function renderItem (item: StoreItem, shape: Shape): string {
  // Folder-associated items of classes the schema has no element for (IPM.Configuration.*, views, rules) come back
  // as t:Message: "FindItem returns all items that are not defined in the EWS schema as message items" (Microsoft,
  // "Manage persistent application settings by using EWS in Exchange", Traversal="Associated" example).
  const named = itemElementName(item.itemClass)
  const el = named === 'Item' && item.associated ? 'Message' : named
  const w = (f: string): boolean => wants(shape, f, ITEM_DEFAULT, ITEM_ALL)
  const received = dateTime(item.created)
  let out = `<t:${el}><t:ItemId ${idAttrs(item.id, item.changeKey)}/>`
  if (w('item:ParentFolderId')) out += `<t:ParentFolderId Id="${esc(item.folderId)}"/>`
  if (w('item:ItemClass')) out += `<t:ItemClass>${text(item.itemClass)}</t:ItemClass>`
  if (w('item:Subject') && item.subject !== undefined) out += `<t:Subject>${text(item.subject)}</t:Subject>`
  if (w('item:DateTimeReceived')) out += `<t:DateTimeReceived>${received}</t:DateTimeReceived>`
  if (w('item:Size')) out += `<t:Size>${item.size}</t:Size>`
  if (w('item:DateTimeSent')) out += `<t:DateTimeSent>${received}</t:DateTimeSent>`
  if (w('item:DateTimeCreated')) out += `<t:DateTimeCreated>${received}</t:DateTimeCreated>`
  if (w('item:HasAttachments')) out += `<t:HasAttachments>${item.hasAttachments}</t:HasAttachments>`
  if (w('item:LastModifiedTime')) out += `<t:LastModifiedTime>${dateTime(item.modified)}</t:LastModifiedTime>`
  if (w('item:IsAssociated')) out += `<t:IsAssociated>${item.associated}</t:IsAssociated>`
  if (el === 'Message' && w('message:IsRead')) out += `<t:IsRead>${item.isRead}</t:IsRead>`
  return `${out}</t:${el}>`
}
