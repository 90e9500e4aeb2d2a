/**
 * FindFolder: Shallow/Deep traversal below each parent, optional Restriction (query.ts),
 * IndexedPageFolderView paging. FractionalPageFolderView is refused, not ignored.
 */
import type { StoreFolder } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { folderIdEls, injectedMessageFault, resolveFolder } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { page } from '../paging.js'
import { checkView, FOLDER_PROPS, restriction, type Predicate } from '../query.js'
import { parseShape, renderFolder } from '../shapes.js'
import { NS, child, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

interface Query { filter?: Predicate<StoreFolder>, view?: XmlEl }

function parseQuery (req: XmlEl): Query {
  const view = checkView(req, 'IndexedPageFolderView', ['FractionalPageFolderView'])
  const filter = restriction(child(req, NS.m, 'Restriction'), FOLDER_PROPS)
  return { ...(filter !== undefined ? { filter } : {}), ...(view !== undefined ? { view } : {}) }
}

export function findFolder (ctx: RequestContext, req: XmlEl): string {
  const traversal = requiredAttr(req, 'Traversal')
  if (traversal !== 'Shallow' && traversal !== 'Deep' && traversal !== 'SoftDeleted') {
    throw EwsFault.schema(
      `The request failed schema validation: The 'Traversal' attribute is invalid - The value '${traversal}' is invalid according to its datatype 'FolderQueryTraversalType'.`
    )
  }
  const shape = parseShape(required(req, NS.m, 'FolderShape'))
  const parents = folderIdEls(required(req, NS.m, 'ParentFolderIds'))
  let query: Query | EwsError
  try {
    query = parseQuery(req)
  } catch (err) {
    query = toEwsError(err)
  }
  const messages = parents.map((el) => {
    try {
      injectedMessageFault(ctx)
      if (query instanceof EwsError) throw query
      const parent = resolveFolder(ctx, el)
      // The simulator keeps no soft-deleted folders, so that traversal is always empty.
      let all: StoreFolder[] = traversal === 'Shallow'
        ? ctx.store.children(parent.id)
        : traversal === 'Deep' ? ctx.store.descendants(parent.id) : []
      if (query.filter !== undefined) all = all.filter(query.filter)
      const { entries, attrs } = page(all, query.view)
      const folders = entries.map((f) => renderFolder(ctx.store, f, shape)).join('')
      return successMessage('FindFolder', `<m:RootFolder ${attrs}><t:Folders>${folders}</t:Folders></m:RootFolder>`)
    } catch (err) {
      return errorMessage('FindFolder', toEwsError(err))
    }
  })
  return operationResponse('FindFolder', messages)
}
