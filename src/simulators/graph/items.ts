/**
 * mailboxItem operations: list, get, delete (softDelete | hardDelete) and item delta.
 * Folder-associated (hidden) items are not part of the items collection.
 */
import type { StoreFolder, StoreItem, StoreMailbox } from '../store/store.js'
import type { GraphCall, SimContext } from './context.js'
import { deltaReply } from './delta-handler.js'
import type { DeltaEntry } from './delta.js'
import { badRequest, type Reply } from './http.js'
import { applyOrderBy, pageOf, parseFilter, preferredPageSize, type FieldGetters } from './odata.js'
import { mailboxContext } from './folders.js'
import { fromStoreError } from './resolve.js'
import { ITEM_PROPS, itemJson, parseExpand, parseSelect } from './serialize.js'

const itemFields = (ctx: SimContext): FieldGetters<StoreItem> => ({
  id: (i) => ctx.wireId(i.id),
  createdDateTime: (i) => i.created,
  lastModifiedDateTime: (i) => i.modified,
  changeKey: (i) => i.changeKey,
  type: (i) => i.itemClass,
  size: (i) => i.size
})

function itemsContext (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, folder: StoreFolder): string {
  return `${mailboxContext(ctx, call.version, mailbox)}/folders('${ctx.wireId(folder.id)}')/items`
}

/** GET .../folders/{id}/items; `faults.omitItemProps` leaves chosen properties out of every entry (see GraphFaults). */
export function listItems (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, folder: StoreFolder): Reply {
  const select = parseSelect(call.query.get('$select'), ITEM_PROPS, 'mailboxItem')
  const expand = parseExpand(call.query.get('$expand'))
  const filter = parseFilter(call.query.get('$filter'), itemFields(ctx), 'mailboxItem')
  let list = ctx.store.itemsIn(folder.id)
  if (filter !== undefined) list = list.filter(filter)
  list = applyOrderBy(list, call.query.get('$orderby'), itemFields(ctx), 'mailboxItem')
  const { page, nextLink, count } = pageOf(
    list,
    call.query,
    `${ctx.url}${call.path}`,
    preferredPageSize(call.headers.prefer)
  )
  const body: Record<string, unknown> = { '@odata.context': itemsContext(ctx, call, mailbox, folder) }
  if (count !== undefined) body['@odata.count'] = count
  const omit = ctx.faults.omitItemProps ?? []
  body.value = page.map((i) => {
    const json = itemJson(ctx, i, { select, expand })
    for (const name of omit) delete json[name]
    return json
  })
  if (nextLink !== undefined) body['@odata.nextLink'] = nextLink
  return { status: 200, body }
}

export function getItem (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, folder: StoreFolder,
  item: StoreItem): Reply {
  const select = parseSelect(call.query.get('$select'), ITEM_PROPS, 'mailboxItem')
  const expand = parseExpand(call.query.get('$expand'))
  const context = `${itemsContext(ctx, call, mailbox, folder)}/$entity`
  return { status: 200, body: { '@odata.context': context, ...itemJson(ctx, item, { select, expand }) } }
}

/** DELETE ...?disposalType=softDelete|hardDelete (required). softDelete keeps a copy in Recoverable Items\Deletions. */
export function deleteItem (ctx: SimContext, call: GraphCall, item: StoreItem): Reply {
  const disposal = call.query.get('disposalType')
  if (disposal === null) {
    throw badRequest(
      "The 'disposalType' query parameter is required. Allowed values: softDelete, hardDelete.",
      'ErrorInvalidRequest'
    )
  }
  const kind = disposal.toLowerCase()
  if (kind !== 'softdelete' && kind !== 'harddelete') {
    throw badRequest(
      `Invalid value '${disposal}' for 'disposalType'. Allowed values: softDelete, hardDelete.`,
      'ErrorInvalidRequest'
    )
  }
  const store = ctx.store
  try {
    if (kind === 'softdelete') {
      const physical = store.requireMailbox(item.mailboxGuid)
      const deletions =
        physical.wellKnown.get('recoverableitemsdeletions') ??
        physical.wellKnown.get('archiverecoverableitemsdeletions')
      if (deletions !== undefined && deletions !== item.folderId) {
        store.createItem(
          deletions,
          {
            size: item.size,
            itemClass: item.itemClass,
            ...(item.subject !== undefined ? { subject: item.subject } : {}),
            hasAttachments: item.hasAttachments,
            searchKey: item.searchKey,
            blob: item.blob
          },
          { created: item.created, isRead: item.isRead }
        )
      }
    }
    store.deleteItem(item.id)
  } catch (err) {
    throw fromStoreError(err)
  }
  return { status: 204 }
}

export function itemDelta (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, folder: StoreFolder): Reply {
  const store = ctx.store
  const compute = (since: number): DeltaEntry[] => {
    if (since === 0) return store.itemsIn(folder.id).map((i) => ({ id: i.id, removed: false }))
    return store.changesSince(folder.contentMailboxGuid, since, { kind: 'item', folderId: folder.id })
      .filter((c) => c.op === 'delete' || store.items.get(c.id)?.associated === false)
      .map((c) => ({ id: c.id, removed: c.op === 'delete' }))
  }
  return deltaReply(ctx, call, {
    scope: { kind: 'item', mailboxGuid: mailbox.guid, scope: folder.id },
    compute,
    checkSelect: (select) => { parseSelect(select, ITEM_PROPS, 'mailboxItem') },
    render: (id, select) => {
      const item = store.items.get(id)
      if (item === undefined || item.folderId !== folder.id) return undefined
      return itemJson(ctx, item, { select: parseSelect(select, ITEM_PROPS, 'mailboxItem') })
    },
    contextUrl: `${ctx.url}/${call.version}/$metadata#Collection(microsoft.graph.mailboxItem)`
  })
}
