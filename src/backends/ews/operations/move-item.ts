/**
 * MoveItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/moveitem-operation):
 * `m:ToFolderId` (a FolderId or DistinguishedFolderId), `m:ItemIds`, then `m:ReturnNewItemIds` (Exchange 2010 SP1
 * and later: https://learn.microsoft.com/exchange/client-developer/web-service-reference/returnnewitemids),
 * in that schema order (messages.xsd BaseMoveCopyItemType). Answers one `m:MoveItemResponseMessage` per id, in
 * order, each with `m:Items` holding the moved item and its new `t:ItemId`: a move gives the item a new id. The
 * docs add that no id comes back for a move across mailboxes or into a public folder.
 */
import { el, NS, child, childrenOf } from '../soap/xml.js'
import { folderIdXml, type FolderTarget, type ResponseMessage } from './common.js'

export function buildMoveItem (target: FolderTarget, ids: string[]): string {
  return el('m:MoveItem', {},
    el('m:ToFolderId', {}, folderIdXml(target)),
    el('m:ItemIds', {}, ...ids.map((id) => el('t:ItemId', { Id: id }))),
    el('m:ReturnNewItemIds', {}, 'true'))
}

/**
 * The new id of a successfully moved item, or undefined when the answer carries none (the documented case of a
 * move across mailboxes). The docs' sample spells the element `t:ItemID`; both spellings are read.
 */
export function readMovedId (message: ResponseMessage): string | undefined {
  const item = childrenOf(child(message.node, NS.m, 'Items'), NS.t)[0]
  if (item === undefined) return undefined
  const id = (child(item, NS.t, 'ItemId') ?? child(item, NS.t, 'ItemID'))?.attrs.Id
  return id !== undefined && id !== '' ? id : undefined
}
