/**
 * DeleteItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteitem-operation):
 * one `m:DeleteItemResponseMessage` per id, in order, no payload; an unknown id is ErrorItemNotFound (the docs'
 * error example), so deleting an item twice answers ErrorItemNotFound the second time. HardDelete and SoftDelete
 * remove the item (the simulator keeps no dumpster); MoveToDeletedItems moves it into the Deleted Items of its
 * mailbox (a new id, as any move), or removes it when it is there already. `DeleteType` is required
 * (messages.xsd DeleteItemType); SendMeetingCancellations and AffectedTaskOccurrences are accepted and ignored
 * (the simulator sends no mail and keeps no task series).
 */
import type { StoreItem } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { injectedMessageFault, itemById } from '../context.js'
import { EwsFault, toEwsError } from '../errors.js'
import { NS, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

const DISPOSAL_TYPES = new Set(['HardDelete', 'SoftDelete', 'MoveToDeletedItems'])

function moveToDeletedItems (ctx: RequestContext, item: StoreItem): void {
  const mailbox = ctx.store.requireMailbox(item.mailboxGuid)
  const bin = mailbox.wellKnown.get(mailbox.kind === 'primary' ? 'deleteditems' : 'archivedeleteditems')
  if (bin === undefined || item.folderId === bin) ctx.store.deleteItem(item.id)
  else ctx.store.moveItem(item.id, bin)
}

export function deleteItem (ctx: RequestContext, req: XmlEl): string {
  const type = requiredAttr(req, 'DeleteType')
  if (!DISPOSAL_TYPES.has(type)) {
    throw EwsFault.schema(
      `The request failed schema validation: The 'DeleteType' attribute is invalid - The value '${type}' is invalid according to its datatype 'DisposalType'.`
    )
  }
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const item = itemById(ctx, el.attrs.Id)
      if (type === 'MoveToDeletedItems') moveToDeletedItems(ctx, item)
      else ctx.store.deleteItem(item.id)
      return successMessage('DeleteItem')
    } catch (err) {
      return errorMessage('DeleteItem', toEwsError(err))
    }
  })
  return operationResponse('DeleteItem', messages)
}
