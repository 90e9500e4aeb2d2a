/**
 * FindItem (ews.md §6.9): Shallow (normal items) or Associated (folder-associated items), IdOnly + the summary
 * fields and the search key (PidTagSearchKey, SEARCH_KEY_FIELD), as a keyset query: sorted
 * by creation time ascending (immutable, so an item never moves in this order) and, after
 * the first page, restricted to items created at or after the last second already listed.
 * Offsets alone would shift under items arriving in front of the ones already read.
 */
import { el } from '../soap/xml.js'
import { SEARCH_KEY_FIELD, fieldUris, folderIdXml, type FolderTarget } from './common.js'

export const ITEM_FIELDS = [
  'item:ItemClass',
  'item:Subject',
  'item:Size',
  'item:DateTimeCreated',
  'item:LastModifiedTime'
]

/**
 * `max` entries from the start of the view; `from`: ISO 8601 UTC, items created at or after it.
 * `traversal`: `Associated` lists the folder's associated items (FAI) instead of its normal ones.
 */
export function buildFindItem (folder: FolderTarget, max: number, from?: string,
  traversal: 'Shallow' | 'Associated' = 'Shallow'): string {
  const created = el('t:FieldURI', { FieldURI: 'item:DateTimeCreated' })
  return el('m:FindItem', { Traversal: traversal },
    el('m:ItemShape', {}, el('t:BaseShape', {}, 'IdOnly'), fieldUris(ITEM_FIELDS, [SEARCH_KEY_FIELD])),
    el('m:IndexedPageItemView', { MaxEntriesReturned: max, Offset: 0, BasePoint: 'Beginning' }),
    from !== undefined && el('m:Restriction', {},
      el('t:IsGreaterThanOrEqualTo', {}, created, el('t:FieldURIOrConstant', {}, el('t:Constant', { Value: from })))),
    el('m:SortOrder', {}, el('t:FieldOrder', { Order: 'Ascending' }, created)),
    el('m:ParentFolderIds', {}, folderIdXml(folder)))
}
