/**
 * UploadItems (ews.md §6.2). Children of t:Item in schema order: ParentFolderId,
 * ItemId, Data. CreateNew carries no ItemId (the docs say it must not be present).
 * `IsAssociated="true"` stores a folder-associated item; absent means a normal one (types.xsd UploadItemType).
 */
import { NS, XmlParts, el, child } from '../soap/xml.js'
import type { ItemData } from '../../mailbox-backend.js'
import type { ResponseMessage } from './common.js'

export interface UploadEntry {
  parentFolderId: string
  action: 'CreateNew' | 'Update'
  itemId?: string
  changeKey?: string
  /** A folder-associated item (FAI); the attribute is left out otherwise. */
  associated?: boolean
  /** Standard base64, as text or as its bytes (`ItemData`). */
  data: ItemData
}

/**
 * The UploadItems element, in pieces (XmlParts): each item's `data` (standard base64, checked by the service:
 * nothing to escape) is a piece of its own, text or bytes as given, never copied into a request string.
 */
export function buildUploadItems (entries: UploadEntry[]): XmlParts {
  const parts: Array<string | Buffer> = ['<m:UploadItems><m:Items>']
  for (const e of entries) {
    // U+0000 cannot be in ids or change keys (escapeXml refuses it): it marks where the data goes.
    const item = el('t:Item', { CreateAction: e.action, IsAssociated: e.associated === true ? 'true' : undefined },
      el('t:ParentFolderId', { Id: e.parentFolderId }),
      e.action !== 'CreateNew' && el('t:ItemId', { Id: e.itemId as string, ChangeKey: e.changeKey }),
      el('t:Data', {}, '\u0000'))
    const at = item.indexOf('\u0000')
    parts.push(item.slice(0, at), e.data, item.slice(at + 1))
  }
  parts.push('</m:Items></m:UploadItems>')
  return new XmlParts(parts)
}

/**
 * The m:ItemId of a successful message: Id and ChangeKey. Without an Id, `problem` says so. A
 * missing ChangeKey is '' (the item was stored all the same: the caller reports it stored).
 */
export function readUploaded (message: ResponseMessage): { id: string, changeKey: string } | { problem: string } {
  const itemId = child(message.node, NS.m, 'ItemId')
  const id = itemId?.attrs.Id
  if (id === undefined || id === '') return { problem: 'no ItemId' }
  return { id, changeKey: itemId?.attrs.ChangeKey ?? '' }
}
