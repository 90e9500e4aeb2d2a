/** CreateFolder: one response message per folder element, folder class from FolderClass or the element type. */
import type { RequestContext } from '../context.js'
import { injectedMessageFault, resolveFolder, targetFolderEl } from '../context.js'
import { EwsError, toEwsError } from '../errors.js'
import { folderElementName } from '../shapes.js'
import { NS, child, required, type XmlEl } from '../xml.js'
import { errorMessage, idAttrs, operationResponse, successMessage } from '../writer.js'

/**
 * Class given to a folder created without FolderClass. A plain t:Folder stays
 * class-less (generic), as in Exchange; typed folders get their IPF class.
 */
const CLASS_FOR: Record<string, string> = {
  Folder: '',
  CalendarFolder: 'IPF.Appointment',
  ContactsFolder: 'IPF.Contact',
  TasksFolder: 'IPF.Task',
  SearchFolder: ''
}

export function createFolder (ctx: RequestContext, req: XmlEl): string {
  const parentEl = targetFolderEl(required(req, NS.m, 'ParentFolderId'))
  const folderEls = required(req, NS.m, 'Folders').children.filter(
    (c) => c.ns === NS.t && CLASS_FOR[c.local] !== undefined
  )
  let parentError: EwsError | undefined
  let parentId: string | undefined
  try {
    parentId = resolveFolder(ctx, parentEl).id
  } catch (err) {
    parentError = toEwsError(err)
  }
  const messages = folderEls.map((el) => {
    try {
      injectedMessageFault(ctx)
      if (parentError !== undefined) throw parentError
      const name = child(el, NS.t, 'DisplayName')?.text ?? ''
      const folderClass = child(el, NS.t, 'FolderClass')?.text ?? CLASS_FOR[el.local]
      const folder = ctx.store.createFolder(parentId as string, name, folderClass)
      const tag = folderElementName(folder.folderClass)
      return successMessage(
        'CreateFolder',
        `<m:Folders><t:${tag}><t:FolderId ${idAttrs(folder.id, folder.changeKey)}/></t:${tag}></m:Folders>`
      )
    } catch (err) {
      return errorMessage('CreateFolder', toEwsError(err), '<m:Folders/>')
    }
  })
  return operationResponse('CreateFolder', messages)
}
