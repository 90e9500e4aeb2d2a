/**
 * FolderShape / ItemShape handling and rendering of folders and items with
 * the requested properties, in schema order.
 */
import { DISTINGUISHED_PROPERTY_SETS } from '../../protocol/ews-properties.js'
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
  /**
   * MAPI properties asked for with `t:ExtendedFieldURI`, in request order: by PropertyTag, or by property set
   * (PropertySetId or DistinguishedPropertySetId) with PropertyName or PropertyId.
   */
  extended: ExtendedField[]
  /** `t:IncludeMimeContent` (or `item:MimeContent` among the AdditionalProperties). */
  includeMime?: boolean
  /** `t:BodyType` (BodyTypeResponseType): Best (default), HTML or Text. */
  bodyType?: 'Best' | 'HTML' | 'Text'
}

/**
 * A MAPI property asked for by `t:ExtendedFieldURI` (PathToExtendedFieldType,
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/extendedfielduri): `tag` is the
 * property id (PropertyTag), or `setId` (a lower-case GUID: PropertySetId, or the GUID of a
 * DistinguishedPropertySetId) with `name` (PropertyName) or `id` (PropertyId); `type` is PropertyType. `attrs`
 * are the attributes as the request wrote them, echoed in the answer's ExtendedFieldURI.
 */
export interface ExtendedField {
  tag?: number
  setId?: string
  name?: string
  id?: number
  type: string
  attrs: Array<[string, string]>
}

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
 * An ExtendedFieldURI element as a field; undefined when it names no property (the request is then answered without
 * it).
 */
export function parseExtendedField (f: XmlEl): ExtendedField | undefined {
  const type = f.attrs.PropertyType
  if (type === undefined) return undefined
  const attrs = Object.entries(f.attrs)
  const tag = parsePropertyTag(f.attrs.PropertyTag)
  if (tag !== undefined) return { tag, type, attrs }
  const setId = (f.attrs.PropertySetId ?? DISTINGUISHED_PROPERTY_SETS[f.attrs.DistinguishedPropertySetId ?? ''])
    ?.toLowerCase()
  if (setId === undefined) return undefined
  if (f.attrs.PropertyName !== undefined) return { setId, name: f.attrs.PropertyName, type, attrs }
  const id = f.attrs.PropertyId !== undefined ? Number(f.attrs.PropertyId) : NaN
  return Number.isInteger(id) ? { setId, id, type, attrs } : undefined
}

/** IndexedFieldURI FieldURIs (DictionaryURIType) → the dictionary property they index. */
const INDEXED_FIELDS: Record<string, string> = {
  'contacts:EmailAddress': 'contacts:EmailAddresses',
  'contacts:PhoneNumber': 'contacts:PhoneNumbers',
  'contacts:PhysicalAddress:Street': 'contacts:PhysicalAddresses',
  'contacts:PhysicalAddress:City': 'contacts:PhysicalAddresses',
  'contacts:PhysicalAddress:State': 'contacts:PhysicalAddresses',
  'contacts:PhysicalAddress:CountryOrRegion': 'contacts:PhysicalAddresses',
  'contacts:PhysicalAddress:PostalCode': 'contacts:PhysicalAddresses'
}

/**
 * Parses `m:FolderShape` / `m:ItemShape`; unknown FieldURIs are accepted and simply not returned. ExtendedFieldURIs
 * are kept in `extended`; IndexedFieldURIs ask for their whole dictionary (all its entries are answered).
 */
export function parseShape (shapeEl: XmlEl): Shape {
  const base = required(shapeEl, NS.t, 'BaseShape').text
  if (base !== 'IdOnly' && base !== 'Default' && base !== 'AllProperties') {
    throw EwsFault.schema(
      `The request failed schema validation: The value '${base}' is invalid according to its datatype 'DefaultShapeNamesType'.`
    )
  }
  const extra = new Set<string>()
  const extended: ExtendedField[] = []
  const props = child(shapeEl, NS.t, 'AdditionalProperties')
  if (props !== undefined) {
    for (const f of childrenNamed(props, NS.t, 'FieldURI')) {
      if (f.attrs.FieldURI !== undefined) extra.add(f.attrs.FieldURI)
    }
    for (const f of childrenNamed(props, NS.t, 'IndexedFieldURI')) {
      const dictionary = INDEXED_FIELDS[f.attrs.FieldURI ?? '']
      if (dictionary !== undefined) extra.add(dictionary)
    }
    for (const f of childrenNamed(props, NS.t, 'ExtendedFieldURI')) {
      const field = parseExtendedField(f)
      if (field !== undefined && !extended.some((e) => e.tag === field.tag && e.setId === field.setId &&
        e.name === field.name && e.id === field.id && e.type === field.type)) {
        extended.push(field)
      }
    }
  }
  const mime = child(shapeEl, NS.t, 'IncludeMimeContent')?.text.trim()
  const bodyType = child(shapeEl, NS.t, 'BodyType')?.text.trim()
  if (bodyType !== undefined && bodyType !== 'Best' && bodyType !== 'HTML' && bodyType !== 'Text') {
    throw EwsFault.schema(
      `The request failed schema validation: The value '${bodyType}' is invalid according to its datatype 'BodyTypeResponseType'.`
    )
  }
  return {
    base,
    extra,
    extended,
    ...(mime === 'true' || mime === '1' || extra.has('item:MimeContent') ? { includeMime: true } : {}),
    ...(bodyType !== undefined ? { bodyType } : {})
  }
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
