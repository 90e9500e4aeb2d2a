/**
 * UploadItems (ews.md §6.2). Children of t:Item in schema order: ParentFolderId,
 * ItemId, Data. CreateNew carries no ItemId (the docs say it must not be present).
 * `IsAssociated="true"` stores a folder-associated item; absent means a normal one (types.xsd UploadItemType).
 */
import { NS, el, child } from '../soap/xml.js'
import type { ResponseMessage } from './common.js'

export interface UploadEntry {
  parentFolderId: string
  action: 'CreateNew' | 'Update'
  itemId?: string
  changeKey?: string
  /** A folder-associated item (FAI); the attribute is left out otherwise. */
  associated?: boolean
  data: string
}

export function buildUploadItems (entries: UploadEntry[]): string {
  return el('m:UploadItems', {}, el('m:Items', {}, ...entries.map((e) =>
    el('t:Item', { CreateAction: e.action, IsAssociated: e.associated === true ? 'true' : undefined },
      el('t:ParentFolderId', { Id: e.parentFolderId }),
      e.action !== 'CreateNew' && el('t:ItemId', { Id: e.itemId as string, ChangeKey: e.changeKey }),
      el('t:Data', {}, e.data)))))
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
