/** FindFolder: Shallow/Deep traversal below each parent, IndexedPageFolderView paging. */
import type { StoreFolder } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { folderIdEls, resolveFolder } from '../context.js'
import { EwsFault, toEwsError } from '../errors.js'
import { page } from '../paging.js'
import { parseShape, renderFolder } from '../shapes.js'
import { NS, child, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

export function findFolder (ctx: RequestContext, req: XmlEl): string {
  const traversal = requiredAttr(req, 'Traversal')
  if (traversal !== 'Shallow' && traversal !== 'Deep' && traversal !== 'SoftDeleted') {
    throw EwsFault.schema(
      `The request failed schema validation: The 'Traversal' attribute is invalid - The value '${traversal}' is invalid according to its datatype 'FolderQueryTraversalType'.`
    )
  }
  const shape = parseShape(required(req, NS.m, 'FolderShape'))
  const view = child(req, NS.m, 'IndexedPageFolderView')
  const parents = folderIdEls(required(req, NS.m, 'ParentFolderIds'))
  const messages = parents.map((el) => {
    try {
      const parent = resolveFolder(ctx, el)
      // The simulator keeps no soft-deleted folders, so that traversal is always empty.
      const all: StoreFolder[] = traversal === 'Shallow'
        ? ctx.store.children(parent.id)
        : traversal === 'Deep' ? ctx.store.descendants(parent.id) : []
      const { entries, attrs } = page(all, view)
      const folders = entries.map((f) => renderFolder(ctx.store, f, shape)).join('')
      return successMessage('FindFolder', `<m:RootFolder ${attrs}><t:Folders>${folders}</t:Folders></m:RootFolder>`)
    } catch (err) {
      return errorMessage('FindFolder', toEwsError(err))
    }
  })
  return operationResponse('FindFolder', messages)
}
