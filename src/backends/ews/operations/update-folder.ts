/** UpdateFolder (ews.md §6.7): SetFolderField folder:DisplayName, guarded by the ChangeKey just read. */
import { el, text } from '../soap/xml.js'

export function buildRenameFolder (id: string, changeKey: string | undefined, displayName: string): string {
  return el('m:UpdateFolder', {},
    el('m:FolderChanges', {},
      el('t:FolderChange', {},
        el('t:FolderId', { Id: id, ChangeKey: changeKey }),
        el('t:Updates', {},
          el('t:SetFolderField', {},
            el('t:FieldURI', { FieldURI: 'folder:DisplayName' }),
            el('t:Folder', {}, el('t:DisplayName', {}, text(displayName))))))))
}
