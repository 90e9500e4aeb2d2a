/** GetFolder: one response message per requested folder id, in request order. */
import type { RequestContext } from '../context.js'
import { folderIdEls, injectedMessageFault, resolveFolder } from '../context.js'
import { toEwsError } from '../errors.js'
import { parseShape, renderFolder } from '../shapes.js'
import { NS, required, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

export function getFolder (ctx: RequestContext, req: XmlEl): string {
  const shape = parseShape(required(req, NS.m, 'FolderShape'))
  const ids = folderIdEls(required(req, NS.m, 'FolderIds'))
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const folder = resolveFolder(ctx, el)
      return successMessage('GetFolder', `<m:Folders>${renderFolder(ctx.store, folder, shape)}</m:Folders>`)
    } catch (err) {
      return errorMessage('GetFolder', toEwsError(err), '<m:Folders/>')
    }
  })
  return operationResponse('GetFolder', messages)
}
