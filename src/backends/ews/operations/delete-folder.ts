/** DeleteFolder (ews.md §6.8). HardDelete: the gateway's delete is final, like Graph's permanent delete. */
import { el } from '../soap/xml.js'

export function buildDeleteFolder (id: string): string {
  return el('m:DeleteFolder', { DeleteType: 'HardDelete' }, el('m:FolderIds', {}, el('t:FolderId', { Id: id })))
}
