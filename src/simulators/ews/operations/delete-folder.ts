/**
 * DeleteFolder: HardDelete and SoftDelete remove the subtree (the simulator keeps
 * no dumpster); MoveToDeletedItems moves it below the mailbox's Deleted Items.
 */
import type { StoreFolder } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { folderIdEls, injectedMessageFault, isWithin, resolveFolder } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { NS, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

/** Moves the folder below Deleted Items (or deletes it when it is already there). */
function moveToDeletedItems (ctx: RequestContext, folder: StoreFolder): void {
  const mailbox = ctx.store.requireMailbox(folder.mailboxGuid)
  const bin = mailbox.wellKnown.get(mailbox.kind === 'primary' ? 'deleteditems' : 'archivedeleteditems')
  if (bin === undefined || isWithin(ctx, folder, bin)) {
    ctx.store.deleteFolder(folder.id)
    return
  }
  ctx.store.moveFolder(folder.id, bin)
}

export function deleteFolder (ctx: RequestContext, req: XmlEl): string {
  const type = requiredAttr(req, 'DeleteType')
  if (type !== 'HardDelete' && type !== 'SoftDelete' && type !== 'MoveToDeletedItems') {
    throw EwsFault.schema(
      `The request failed schema validation: The 'DeleteType' attribute is invalid - The value '${type}' is invalid according to its datatype 'DisposalType'.`
    )
  }
  const ids = folderIdEls(required(req, NS.m, 'FolderIds'))
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const folder = resolveFolder(ctx, el)
      if (folder.distinguishedName !== undefined) throw new EwsError('ErrorDeleteDistinguishedFolder')
      if (type === 'MoveToDeletedItems') moveToDeletedItems(ctx, folder)
      else ctx.store.deleteFolder(folder.id)
      return successMessage('DeleteFolder')
    } catch (err) {
      return errorMessage('DeleteFolder', toEwsError(err))
    }
  })
  return operationResponse('DeleteFolder', messages)
}
