/**
 * The upload behind a pre-authenticated importUrl: one item per POST, PascalCase body
 * {FolderId, Mode, Data, ItemId?, ChangeKey?}, errors as {"Message": "..."}.
 */
import { createHash } from 'node:crypto'
import {
  isParseableChangeKey,
  parseId,
  StoreError,
  type StoreFolder,
  type StoreItem,
  type StoreMailbox
} from '../store/store.js'
import type { SimContext } from './context.js'
import { ImportError, type Reply } from './http.js'
import { fromWireId } from './ids.js'
import { GRAPH_WELL_KNOWN } from './resolve.js'
import { isStrictBase64 } from '../../base64.js'

function folderFor (ctx: SimContext, session: StoreMailbox, key: string): StoreFolder {
  const name = key.toLowerCase()
  if (GRAPH_WELL_KNOWN.includes(name) && session.kind === 'primary') {
    const id = name === 'msgfolderroot' ? session.msgRootId : session.wellKnown.get(name)
    if (id !== undefined) return ctx.store.requireFolder(id)
  }
  const storeId = fromWireId(key)
  try {
    if (parseId(storeId).kind !== 'folder') throw new ImportError(400, 'The FolderId is not a folder id.')
  } catch (err) {
    if (err instanceof StoreError) throw new ImportError(400, 'Id is malformed.')
    throw err
  }
  const folder = ctx.store.folders.get(storeId)
  if (folder === undefined) throw new ImportError(404, 'The specified folder could not be found in the store.')
  if (folder.contentMailboxGuid === session.guid) return folder
  // The folder is in the same archive but its content lives in another (auxiliary or main) archive mailbox.
  const archiveOfSession = session.kind === 'auxArchive'
    ? [...ctx.store.mailboxes.values()].find((m) => m.auxGuids.includes(session.guid))?.guid
    : undefined
  if (folder.mailboxGuid === session.guid || folder.mailboxGuid === archiveOfSession) {
    throw new ImportError(
      409,
      `Invalid import session. The target session is expected in mailbox ${ctx.mailboxId(folder.contentMailboxGuid)}`
    )
  }
  throw new ImportError(404, 'The specified folder could not be found in the store.')
}

// The docs only say an update "fails" when the ItemId+ChangeKey pair does not match an item in the folder.
// Each way it can fail gets its own wording, so a client can tell a missing item from a stale version.
const ITEM_NOT_FOUND = 'The item specified by ItemId was not found in the target folder.'

/** The existing item an update replaces: well-formed ids, present in `folder`, change key well-formed. */
function updateTarget (ctx: SimContext, folder: StoreFolder, itemId: string, changeKey: string): StoreItem {
  const storeId = fromWireId(itemId)
  let kind: 'folder' | 'item'
  try {
    kind = parseId(storeId).kind
  } catch (err) {
    if (err instanceof StoreError) throw new ImportError(400, 'The ItemId is malformed.')
    throw err
  }
  if (!isParseableChangeKey(fromWireId(changeKey))) throw new ImportError(400, 'The ChangeKey is malformed.')
  // A folder id, an item of another folder or mailbox, or a deleted item: all "not in the target folder".
  const existing = kind === 'item' ? ctx.store.items.get(storeId) : undefined
  if (existing === undefined || existing.folderId !== folder.id) throw new ImportError(400, ITEM_NOT_FOUND)
  return existing
}

function storeFailure (err: unknown): unknown {
  if (!(err instanceof StoreError)) return err
  if (err.code === 'CorruptData') {
    return new ImportError(400, `The item data is not a valid item stream. ${err.message}`)
  }
  if (err.code === 'ChangeKeyMismatch') {
    return new ImportError(409, 'The ChangeKey does not match the current version of the item.')
  }
  if (err.code === 'ItemNotFound') return new ImportError(400, ITEM_NOT_FOUND)
  return new ImportError(400, err.message)
}

export function importItem (ctx: SimContext, session: StoreMailbox, gv: string, body: unknown): Reply {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ImportError(400, 'The request body must be a JSON object.')
  }
  const b = body as Record<string, unknown>
  const { FolderId, Mode, Data, ItemId, ChangeKey } = b
  if (typeof FolderId !== 'string' || FolderId === '') {
    throw new ImportError(400, "The parameter 'FolderId' is required.")
  }
  if (typeof Data !== 'string' || Data === '') throw new ImportError(400, "The parameter 'Data' is required.")
  if (Mode !== 'create' && Mode !== 'update') {
    throw new ImportError(400, "The parameter 'Mode' must be 'create' or 'update'.")
  }
  if (Mode === 'create' && (ItemId !== undefined || ChangeKey !== undefined)) {
    throw new ImportError(400, "ItemId and ChangeKey must not be specified when Mode is 'create'.")
  }
  if (Mode === 'update' && (typeof ItemId !== 'string' || typeof ChangeKey !== 'string' || ItemId === '' ||
    ChangeKey === '')) {
    throw new ImportError(400, "ItemId and ChangeKey are required when Mode is 'update'.")
  }
  const folder = folderFor(ctx, session, FolderId)
  const existing = Mode === 'update' ? updateTarget(ctx, folder, ItemId as string, ChangeKey as string) : undefined
  // Strict padded base64, checked by Node's decoder (src/base64.ts), not a regular expression over megabytes.
  if (Data !== '' && !isStrictBase64(Data)) {
    throw new ImportError(400, "The parameter 'Data' is not valid base64.")
  }
  const data = Buffer.from(Data, 'base64')
  if (!ctx.acceptForeignData && !ctx.exported.has(createHash('sha256').update(data).digest('hex'))) {
    throw new ImportError(400, 'The item data was not produced by an export from this service.')
  }
  let item: StoreItem
  try {
    item = existing === undefined
      ? ctx.store.createItem(folder.id, data)
      : ctx.store.updateItem(existing.id, data, fromWireId(ChangeKey as string))
  } catch (err) {
    throw storeFailure(err)
  }
  const answer: Record<string, unknown> = {
    '@odata.context': `${ctx.importOrigin}/api/${gv}/$metadata#microsoft.graph.importMailboxItemResponse`,
    itemId: ctx.wireId(item.id),
    ...(ctx.quirks.etagOnlyChangeKey ? { '@odata.etag': `W/"${item.changeKey}"` } : { changeKey: item.changeKey })
  }
  if ((ctx.faults.importWithoutChangeKey ?? 0) > 0) {
    ctx.faults.importWithoutChangeKey = (ctx.faults.importWithoutChangeKey ?? 0) - 1
    delete answer.changeKey
    delete answer['@odata.etag']
  }
  return { status: 200, body: answer }
}
