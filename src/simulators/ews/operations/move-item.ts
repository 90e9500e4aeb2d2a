/**
 * MoveItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/moveitem-operation): every
 * item of `m:ItemIds` goes to the one `m:ToFolderId`; one `m:MoveItemResponseMessage` per id, in order, whose
 * `m:Items` holds the moved item with its new `t:ItemId` (a move gives a new id: ews.md §5). `m:Items` is required
 * even on error (messages.xsd ItemInfoResponseMessageType), so an error message carries it empty.
 * `m:ReturnNewItemIds` false leaves the id out (https://learn.microsoft.com/exchange/client-developer/
 * web-service-reference/returnnewitemids). A target folder in another mailbox than the item's is refused with
 * ErrorCrossMailboxMoveCopy (responsecode: "an attempt was made to move or copy an item between mailboxes");
 * the docs' note that cross-mailbox moves answer no id is therefore never reached here.
 */
import type { RequestContext } from '../context.js'
import { injectedMessageFault, itemById, resolveFolder, targetFolderEl } from '../context.js'
import { EwsError, toEwsError } from '../errors.js'
import { itemElementName } from '../shapes.js'
import { NS, child, required, type XmlEl } from '../xml.js'
import { errorMessage, idAttrs, operationResponse, successMessage } from '../writer.js'

export function moveItem (ctx: RequestContext, req: XmlEl): string {
  const toFolder = targetFolderEl(required(req, NS.m, 'ToFolderId'))
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const returnIds = child(req, NS.m, 'ReturnNewItemIds')?.text.trim()
  const withIds = returnIds !== 'false' && returnIds !== '0'
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const item = itemById(ctx, el.attrs.Id)
      // Resolved per message, as Exchange reports a missing target folder in each one.
      const folder = resolveFolder(ctx, toFolder)
      if (folder.contentMailboxGuid !== item.mailboxGuid) throw new EwsError('ErrorCrossMailboxMoveCopy')
      const moved = ctx.store.moveItem(item.id, folder.id)
      const name = itemElementName(moved.itemClass)
      const payload = withIds ? `<t:${name}><t:ItemId ${idAttrs(moved.id, moved.changeKey)}/></t:${name}>` : ''
      return successMessage('MoveItem', `<m:Items>${payload}</m:Items>`)
    } catch (err) {
      return errorMessage('MoveItem', toEwsError(err), '<m:Items/>')
    }
  })
  return operationResponse('MoveItem', messages)
}
