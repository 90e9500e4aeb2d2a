/**
 * SyncFolderItems: item Create/Update/Delete/ReadFlagChange of one folder since the SyncState,
 * MaxChangesReturned per page. A change of the read state alone is a ReadFlagChange (ItemId, IsRead), as
 * SyncFolderItemsReadFlagType in types.xsd has it; combined with a content change it is an Update.
 */
import type { RequestContext } from '../context.js'
import { resolveFolder, targetFolderEl } from '../context.js'
import { EwsFault, toEwsError } from '../errors.js'
import { parseShape, renderItem } from '../shapes.js'
import { decodeSyncState, encodeSyncState } from '../sync-state.js'
import { NS, child, required, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

export function syncFolderItems (ctx: RequestContext, req: XmlEl): string {
  const shape = parseShape(required(req, NS.m, 'ItemShape'))
  const folderEl = targetFolderEl(required(req, NS.m, 'SyncFolderId'))
  const rawState = child(req, NS.m, 'SyncState')?.text
  const maxRaw = required(req, NS.m, 'MaxChangesReturned').text
  const max = /^\d+$/.test(maxRaw) ? Number(maxRaw) : NaN
  if (!(max >= 1 && max <= 512)) {
    throw EwsFault.schema(
      `The request failed schema validation: The 'MaxChangesReturned' element is invalid - The value '${maxRaw}' is invalid according to its datatype 'MaxSyncChangesReturnedType'.`
    )
  }
  const scope = child(req, NS.m, 'SyncScope')?.text ?? 'NormalItems'
  const withAssociated = scope === 'NormalAndAssociatedItems'
  const ignore = new Set((child(req, NS.m, 'Ignore')?.children ?? []).map((c) => c.attrs.Id))
  try {
    const folder = resolveFolder(ctx, folderEl)
    const since = decodeSyncState(rawState, `i:${folder.id}`, ctx.store)
    const relevant = ctx.store.changesSince(folder.contentMailboxGuid, since,
      { kind: 'item', folderId: folder.id }).filter((c) => {
      if (ignore.has(c.id)) return false
      const item = ctx.store.items.get(c.id)
      return item === undefined || withAssociated || !item.associated
    })
    const batch = relevant.slice(0, max)
    const last = batch.length === relevant.length
    const nextSeq = last ? ctx.store.sequence : batch[batch.length - 1].seq
    let xml = ''
    for (const c of batch) {
      const item = ctx.store.items.get(c.id)
      if (c.op === 'delete' || item === undefined) {
        xml += `<t:Delete><t:ItemId Id="${c.id}"/></t:Delete>`
      } else if (c.op === 'readFlag') {
        xml += `<t:ReadFlagChange><t:ItemId Id="${item.id}" ChangeKey="${item.changeKey}"/>` +
          `<t:IsRead>${item.isRead}</t:IsRead></t:ReadFlagChange>`
      } else {
        const tag = c.op === 'create' ? 'Create' : 'Update'
        xml += `<t:${tag}>${renderItem(item, shape)}</t:${tag}>`
      }
    }
    return operationResponse('SyncFolderItems', [successMessage('SyncFolderItems',
      `<m:SyncState>${encodeSyncState(`i:${folder.id}`, nextSeq, ctx.store)}</m:SyncState>` +
      `<m:IncludesLastItemInRange>${last}</m:IncludesLastItemInRange><m:Changes>${xml}</m:Changes>`)])
  } catch (err) {
    return operationResponse('SyncFolderItems', [errorMessage('SyncFolderItems', toEwsError(err))])
  }
}
