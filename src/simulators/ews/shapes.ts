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
  /** Tagged MAPI properties asked for with `t:ExtendedFieldURI PropertyTag=… PropertyType=…`, in request order. */
  extended: ExtendedTag[]
}

/** A tagged property asked for by ExtendedFieldURI: `tag` is the property id (PropertyTag), `type` PropertyType. */
export interface ExtendedTag { tag: number, type: string }

/** PidTagSearchKey ([MS-OXPROPS] 2.1017): property id 0x300B, PT_BINARY. */
export const SEARCH_KEY_TAG = 0x300b

/** A PropertyTag attribute value (PropertyTagType: hex `0x3fa4` or decimal 0–65535); undefined when malformed. */
function parsePropertyTag (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  const n = /^0x[0-9a-f]{1,4}$/i.test(v) ? parseInt(v.slice(2), 16) : /^[0-9]{1,5}$/.test(v) ? Number(v) : NaN
  return Number.isInteger(n) && n >= 0 && n <= 0xffff ? n : undefined
}

/**
 * Parses `m:FolderShape` / `m:ItemShape`; unknown FieldURIs are accepted and simply not returned. Tagged
 * ExtendedFieldURIs are kept in `extended`; the item renderer answers the ones the store knows (PidTagSearchKey).
 */
export function parseShape (shapeEl: XmlEl): Shape {
  const base = required(shapeEl, NS.t, 'BaseShape').text
  if (base !== 'IdOnly' && base !== 'Default' && base !== 'AllProperties') {
    throw EwsFault.schema(
      `The request failed schema validation: The value '${base}' is invalid according to its datatype 'DefaultShapeNamesType'.`
    )
  }
  const extra = new Set<string>()
  const extended: ExtendedTag[] = []
  const props = child(shapeEl, NS.t, 'AdditionalProperties')
  if (props !== undefined) {
    for (const f of childrenNamed(props, NS.t, 'FieldURI')) {
      if (f.attrs.FieldURI !== undefined) extra.add(f.attrs.FieldURI)
    }
    for (const f of childrenNamed(props, NS.t, 'ExtendedFieldURI')) {
      const tag = parsePropertyTag(f.attrs.PropertyTag)
      const type = f.attrs.PropertyType
      if (tag !== undefined && type !== undefined && !extended.some((e) => e.tag === tag && e.type === type)) {
        extended.push({ tag, type })
      }
    }
  }
  return { base, extra, extended }
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

/**
 * `t:ExtendedProperty` elements for the tagged properties the shape asks for and the item has. Exchange echoes the
 * tag in lower-case hex without leading zeros (`0x300b`) and a Binary value in base64 (ExtendedPropertyType,
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/extendedproperty). Properties the
 * item does not have are left out, as Exchange does.
 */
function extendedProperties (item: StoreItem, shape: Shape): string {
  let out = ''
  for (const { tag, type } of shape.extended) {
    if (tag !== SEARCH_KEY_TAG || type !== 'Binary') continue
    out += `<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x${tag.toString(16)}" PropertyType="${type}"/>` +
      `<t:Value>${item.searchKey.toString('base64')}</t:Value></t:ExtendedProperty>`
  }
  return out
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
  out += extendedProperties(item, shape)
  if (w('item:LastModifiedTime')) out += `<t:LastModifiedTime>${dateTime(item.modified)}</t:LastModifiedTime>`
  if (w('item:IsAssociated')) out += `<t:IsAssociated>${item.associated}</t:IsAssociated>`
  if (el === 'Message' && w('message:IsRead')) out += `<t:IsRead>${item.isRead}</t:IsRead>`
  return `${out}</t:${el}>`
}
