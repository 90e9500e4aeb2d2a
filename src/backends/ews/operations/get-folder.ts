/** GetFolder (ews.md §6.4): read folders by id or distinguished name. */
import { el } from '../soap/xml.js'
import { fieldUris, folderIdXml, type FolderTarget } from './common.js'

export const FOLDER_FIELDS = [
  'folder:ParentFolderId', 'folder:FolderClass', 'folder:DisplayName', 'folder:TotalCount', 'folder:ChildFolderCount'
]

export function buildGetFolder (targets: FolderTarget[], shape: 'Default' | 'IdOnly' = 'Default'): string {
  return el('m:GetFolder', {},
    el('m:FolderShape', {}, el('t:BaseShape', {}, shape), shape === 'Default' ? fieldUris(FOLDER_FIELDS) : undefined),
    el('m:FolderIds', {}, ...targets.map(folderIdXml)))
}
