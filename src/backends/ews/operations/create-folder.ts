/** CreateFolder (ews.md §6.6): FolderClass before DisplayName (schema order). */
import { el, text } from '../soap/xml.js'
import { folderIdXml, type FolderTarget } from './common.js'

export function buildCreateFolder (parent: FolderTarget, displayName: string, folderClass: string): string {
  return el(
    'm:CreateFolder',
    {},
    el('m:ParentFolderId', {}, folderIdXml(parent)),
    el(
      'm:Folders',
      {},
      el('t:Folder', {}, el('t:FolderClass', {}, text(folderClass)), el('t:DisplayName', {}, text(displayName)))
    )
  )
}
