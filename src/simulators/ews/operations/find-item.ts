/** FindItem: Shallow or Associated traversal of each parent folder, optional SortOrder, IndexedPageItemView paging. */
import type { StoreItem } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { folderIdEls, resolveFolder } from '../context.js'
import { EwsFault, toEwsError } from '../errors.js'
import { page } from '../paging.js'
import { parseShape, renderItem } from '../shapes.js'
import { NS, child, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

type Comparator = (a: StoreItem, b: StoreItem) => number

const SORT_KEYS: Record<string, (i: StoreItem) => number> = {
  'item:DateTimeCreated': (i) => i.created.getTime(),
  'item:DateTimeReceived': (i) => i.created.getTime(),
  'item:LastModifiedTime': (i) => i.modified.getTime(),
  'item:Size': (i) => i.size
}

/** Builds the comparator for `m:SortOrder`; fields the simulator cannot sort on are ignored. */
function sortOrder (el: XmlEl | undefined): Comparator | undefined {
  if (el === undefined) return undefined
  const parts: Comparator[] = []
  for (const order of el.children.filter((c) => c.ns === NS.t && c.local === 'FieldOrder')) {
    const key = SORT_KEYS[child(order, NS.t, 'FieldURI')?.attrs.FieldURI ?? '']
    if (key === undefined) continue
    const dir = order.attrs.Order === 'Descending' ? -1 : 1
    parts.push((a, b) => dir * (key(a) - key(b)))
  }
  if (parts.length === 0) return undefined
  return (a, b) => {
    for (const p of parts) {
      const r = p(a, b)
      if (r !== 0) return r
    }
    return 0
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
  const view = child(req, NS.m, 'IndexedPageItemView')
  const compare = sortOrder(child(req, NS.m, 'SortOrder'))
  const parents = folderIdEls(required(req, NS.m, 'ParentFolderIds'))
  const messages = parents.map((el) => {
    try {
      const folder = resolveFolder(ctx, el)
      // The simulator keeps no dumpster, so SoftDeleted finds nothing.
      let all = traversal === 'SoftDeleted' ? [] : ctx.store.itemsIn(folder.id, traversal === 'Associated')
      if (compare !== undefined) all = [...all].sort(compare)
      const { entries, attrs } = page(all, view)
      const items = entries.map((i) => renderItem(i, shape)).join('')
      return successMessage('FindItem', `<m:RootFolder ${attrs}><t:Items>${items}</t:Items></m:RootFolder>`)
    } catch (err) {
      return errorMessage('FindItem', toEwsError(err))
    }
  })
  return operationResponse('FindItem', messages)
}
