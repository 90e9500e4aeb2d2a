/**
 * UpdateFolder: the simulator supports renaming (SetFolderField folder:DisplayName).
 * A ChangeKey, when sent, must parse (ErrorInvalidChangeKey) and be current
 * (ErrorIrresolvableConflict).
 */
import type { RequestContext } from '../context.js'
import { checkChangeKey, injectedMessageFault, resolveFolder } from '../context.js'
import { EwsError, toEwsError } from '../errors.js'
import { folderElementName } from '../shapes.js'
import { NS, child, required, type XmlEl } from '../xml.js'
import { errorMessage, idAttrs, operationResponse, successMessage } from '../writer.js'

export function updateFolder (ctx: RequestContext, req: XmlEl): string {
  const changes = required(req, NS.m, 'FolderChanges').children.filter(
    (c) => c.ns === NS.t && c.local === 'FolderChange'
  )
  const messages = changes.map((change) => {
    try {
      injectedMessageFault(ctx)
      const idEl = change.children.find(
        (c) => c.ns === NS.t && (c.local === 'FolderId' || c.local === 'DistinguishedFolderId')
      )
      if (idEl === undefined) throw new EwsError('ErrorInvalidIdEmpty', 'Id is empty.')
      const changeKey = idEl.local === 'FolderId' ? idEl.attrs.ChangeKey : undefined
      checkChangeKey(changeKey)
      const folder = resolveFolder(ctx, idEl)
      const updates = required(change, NS.t, 'Updates').children
      let name: string | undefined
      for (const u of updates) {
        const field = child(u, NS.t, 'FieldURI')?.attrs.FieldURI
        if (u.local !== 'SetFolderField' ||
          field !== 'folder:DisplayName') { throw new EwsError('ErrorInvalidPropertySet') }
        const value = u.children.find((c) => c.ns === NS.t && c.local !== 'FieldURI')
        const display = value === undefined ? undefined : child(value, NS.t, 'DisplayName')
        if (display === undefined) {
          throw new EwsError('ErrorInvalidPropertySet',
            'The folder element does not carry the DisplayName to set.')
        }
        name = display.text
      }
      if (name !== undefined) {
        if (folder.distinguishedName !== undefined) {
          throw new EwsError('ErrorAccessDenied',
            'Distinguished folders cannot be renamed.')
        }
        ctx.store.renameFolder(folder.id, name, changeKey)
      } else if (changeKey !== undefined && changeKey !== folder.changeKey) {
        throw new EwsError('ErrorIrresolvableConflict')
      }
      const tag = folderElementName(folder.folderClass)
      return successMessage(
        'UpdateFolder',
        `<m:Folders><t:${tag}><t:FolderId ${idAttrs(folder.id, folder.changeKey)}/></t:${tag}></m:Folders>`
      )
    } catch (err) {
      return errorMessage('UpdateFolder', toEwsError(err), '<m:Folders/>')
    }
  })
  return operationResponse('UpdateFolder', messages)
}
