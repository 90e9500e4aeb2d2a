/**
 * Item delete and move over the mailbox import/export API.
 *
 * Delete: `DELETE /admin/exchange/mailboxes/{mailboxId}/folders/{mailboxFolderId}/items/{mailboxItemId}
 * ?disposalType=softDelete|hardDelete`, one item a request, 204 No Content; hardDelete of an item under hold,
 * retention, audit or compliance protection is a 403 (https://learn.microsoft.com/graph/api/mailboxfolder-delete-items,
 * v1.0 and beta; protocol brief graph.md §4.12). The item is addressed through its folder, so the caller names it.
 * `disposalType` knows no "move to Deleted Items": that mode is MBG_ERR_NOT_SUPPORTED. (The v1.0 CSDL marks
 * mailboxFolder/items `Deletable=false`; the docs, which this follows, contradict it: graph.md §3.)
 *
 * Move: the API documents none. The mailboxItem resource lists List, Get, delta and extended properties only
 * (https://learn.microsoft.com/graph/api/resources/mailboxitem), the CSDL fragments (v1.0 and beta) bind no move
 * action to mailboxItem, and the item create/update pages are stubs (graph.md §4.12). The Outlook mail API's
 * `POST /users/{id}/messages/{id}/move` (https://learn.microsoft.com/graph/api/message-move) moves messages only,
 * takes mailFolder and message ids of another API (translateExchangeIds would be needed, and is not documented for
 * mailboxItem ids), needs Mail.ReadWrite, and does not reach archive mailboxes (graph.md §12): a move on a Graph
 * mailbox is MBG_ERR_NOT_SUPPORTED (501), nothing is sent.
 */
import { BadRequest, IdMalformed, isGatewayError, NotSupported, toItemError } from '../../errors.js'
import type { DeleteRequest, ItemWriteResult } from '../mailbox-backend.js'
import { callFor, type GraphContext, type GraphMailbox } from './context.js'
import type { Folders } from './folders.js'
import { pathSegment, tryFromPublicId } from './ids.js'

/** Graph's `disposalType` for the port's modes it documents. */
const DISPOSAL_TYPE = { soft: 'softDelete', hard: 'hardDelete' } as const

/** Errors that are about the one item a DELETE names: that item's result, never the call's. */
const ITEM_CODES = new Set([
  'MBG_ERR_ITEM_NOT_FOUND', 'MBG_ERR_FOLDER_NOT_FOUND', 'MBG_ERR_ACCESS_DENIED', 'MBG_ERR_ID_MALFORMED'
])

/**
 * Deletes `ids` from the folder `request.folderId`, one DELETE each (the service sends batches of one). Throws
 * MBG_ERR_NOT_SUPPORTED for `moveToDeletedItems`, MBG_ERR_BAD_REQUEST without a folder. A DELETE is sent again
 * after a lost answer (deleting twice leaves the same state): a 404 then means the lost attempt deleted it.
 */
export async function deleteItems (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, ids: string[],
  request: DeleteRequest, signal?: AbortSignal): Promise<ItemWriteResult[]> {
  if (request.mode === 'moveToDeletedItems') {
    throw new NotSupported('delete mode moveToDeletedItems: Graph\'s item delete knows only disposalType ' +
      'softDelete and hardDelete (https://learn.microsoft.com/graph/api/mailboxfolder-delete-items)')
  }
  if (request.folderId === undefined) {
    throw new BadRequest('a Graph mailbox deletes an item through its folder: give folderId, the folder the ' +
      'items are in')
  }
  const seg = await folders.segment(mailbox, request.folderId)
  const disposal = DISPOSAL_TYPE[request.mode]
  return await Promise.all(ids.map(async (id): Promise<ItemWriteResult> => {
    const graphId = tryFromPublicId(id)
    if (graphId === undefined) return { id, error: toItemError(new IdMalformed(id.slice(0, 80))) }
    try {
      await ctx.policy.run(callFor(ctx, mailbox, 'deleteItem', true, signal), async (attempt) => {
        try {
          await ctx.http.graph({
            method: 'DELETE',
            url: `${mailbox.base}/folders/${pathSegment(seg)}/items/${pathSegment(graphId)}?disposalType=${disposal}`,
            subject: { kind: 'item', ref: id },
            ...(signal !== undefined ? { signal } : {})
          })
        } catch (err) {
          if (attempt > 1 && isGatewayError(err) && err.code === 'MBG_ERR_ITEM_NOT_FOUND') return
          throw err
        }
      })
      return { id, status: 'deleted' }
    } catch (err) {
      if (isGatewayError(err) && ITEM_CODES.has(err.code) && signal?.aborted !== true) {
        return { id, error: toItemError(err) }
      }
      throw err
    }
  }))
}

/** No documented move (see the module doc): MBG_ERR_NOT_SUPPORTED, nothing sent. */
export function moveNotSupported (): never {
  throw new NotSupported('item move: the Graph mailbox import/export API documents no move of a mailboxItem ' +
    '(https://learn.microsoft.com/graph/api/resources/mailboxitem); export the items, import them into the ' +
    'target folder, then delete them')
}
