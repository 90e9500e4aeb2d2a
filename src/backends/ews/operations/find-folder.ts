/** FindFolder (ews.md §6.3): Deep for the whole tree, Shallow for one level, indexed paging. */
import { el } from '../soap/xml.js'
import { fieldUris, folderIdXml, type FolderTarget } from './common.js'
import { FOLDER_FIELDS } from './get-folder.js'

export function buildFindFolder (parent: FolderTarget, traversal: 'Deep' | 'Shallow', offset: number,
  max: number): string {
  return el('m:FindFolder', { Traversal: traversal },
    el('m:FolderShape', {}, el('t:BaseShape', {}, 'IdOnly'), fieldUris(FOLDER_FIELDS)),
    el('m:IndexedPageFolderView', { MaxEntriesReturned: max, Offset: offset, BasePoint: 'Beginning' }),
    el('m:ParentFolderIds', {}, folderIdXml(parent)))
}
