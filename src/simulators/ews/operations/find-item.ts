/**
 * FindItem: Shallow or Associated traversal of each parent folder, optional Restriction
 * and SortOrder (query.ts), IndexedPageItemView paging. Views, grouping and AQS searches the
 * simulator does not model are refused per message, never answered as if applied.
 */
import type { StoreItem } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { folderIdEls, injectedMessageFault, resolveFolder } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { page } from '../paging.js'
import { checkView, ITEM_PROPS, restriction, sortOrder, type Comparator, type Predicate } from '../query.js'
import { parseShape, renderItem } from '../shapes.js'
import { NS, child, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

interface Query { filter?: Predicate<StoreItem>, compare?: Comparator<StoreItem>, view?: XmlEl }

function parseQuery (req: XmlEl): Query {
  const view = checkView(req, 'IndexedPageItemView',
    ['FractionalPageItemView', 'SeekToConditionPageItemView', 'CalendarView', 'ContactsView'])
  for (const name of ['GroupBy', 'DistinguishedGroupBy']) {
    if (child(req, NS.m, name) !== undefined) {
      throw new EwsError('ErrorInvalidOperation', `${name} is not supported by this server.`)
    }
  }
  // Exchange runs AQS through its content index, which the simulator does not have.
  if (child(req, NS.m, 'QueryString') !== undefined) {
    throw new EwsError('ErrorUnsupportedQueryFilter',
      'QueryString (AQS) searches are not supported by this server; use a Restriction.')
  }
  const filter = restriction(child(req, NS.m, 'Restriction'), ITEM_PROPS)
  const compare = sortOrder(child(req, NS.m, 'SortOrder'), ITEM_PROPS)
  return {
    ...(filter !== undefined ? { filter } : {}),
    ...(compare !== undefined ? { compare } : {}),
    ...(view !== undefined ? { view } : {})
  }
}

export function findItem (ctx: RequestContext, req: XmlEl): string {
  const traversal = requiredAttr(req, 'Traversal')
  if (traversal !== 'Shallow' && traversal !== 'Associated' && traversal !== 'SoftDeleted') {
    throw EwsFault.schema(
      `The request failed schema validation: The 'Traversal' attribute is invalid - The value '${traversal}' is invalid according to its datatype 'ItemQueryTraversalType'.`
    )
  }
  const shape = parseShape(required(req, NS.m, 'ItemShape'))
  if (ctx.faults?.omitItemFields !== undefined) shape.omit = new Set(ctx.faults.omitItemFields)
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
      const folder = resolveFolder(ctx, el)
      // The simulator keeps no dumpster, so SoftDeleted finds nothing.
      let all = traversal === 'SoftDeleted' ? [] : ctx.store.itemsIn(folder.id, traversal === 'Associated')
      if (query.filter !== undefined) all = all.filter(query.filter)
      // Array.prototype.sort is stable: ties keep store (creation) order, the same on every call.
      if (query.compare !== undefined) all = [...all].sort(query.compare)
      const { entries, attrs } = page(all, query.view)
      const items = entries.map((i) => renderItem(i, shape)).join('')
      return successMessage('FindItem', `<m:RootFolder ${attrs}><t:Items>${items}</t:Items></m:RootFolder>`)
    } catch (err) {
      return errorMessage('FindItem', toEwsError(err))
    }
  })
  return operationResponse('FindItem', messages)
}
