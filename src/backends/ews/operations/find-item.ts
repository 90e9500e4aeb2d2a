/**
 * FindItem (ews.md §6.9): Shallow, IdOnly + the summary fields, sorted by creation
 * time so offsets stay meaningful while new items arrive (they sort last).
 */
import { el } from '../soap/xml.js'
import { fieldUris, folderIdXml, type FolderTarget } from './common.js'

export const ITEM_FIELDS = [
  'item:ItemClass',
  'item:Subject',
  'item:Size',
  'item:DateTimeCreated',
  'item:LastModifiedTime'
]

export function buildFindItem (folder: FolderTarget, offset: number, max: number): string {
  return el(
    'm:FindItem',
    { Traversal: 'Shallow' },
    el('m:ItemShape', {}, el('t:BaseShape', {}, 'IdOnly'), fieldUris(ITEM_FIELDS)),
    el('m:IndexedPageItemView', { MaxEntriesReturned: max, Offset: offset, BasePoint: 'Beginning' }),
    el(
      'm:SortOrder',
      {},
      el('t:FieldOrder', { Order: 'Ascending' }, el('t:FieldURI', { FieldURI: 'item:DateTimeCreated' }))
    ),
    el('m:ParentFolderIds', {}, folderIdXml(folder))
  )
}
