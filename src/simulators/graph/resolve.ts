/**
 * Resolves mailbox, folder and item keys from the URL against the store, applying the addressing
 * rules of the Graph mailbox API: MBX ids, well-known names (primary mailboxes only), URL-safe ids,
 * archives on beta only, and auxiliary-archive content reached through the main archive (→ 308).
 */
import { parseId, StoreError, type StoreFolder, type StoreItem, type StoreMailbox } from '../store/store.js'
import type { GraphVersion, SimContext } from './context.js'
import { badRequest, GraphError, notFound } from './http.js'
import { fromWireId, parseMailboxId } from './ids.js'

/** Well-known folder names Graph accepts in paths (case-insensitive), primary mailboxes only. */
export const GRAPH_WELL_KNOWN = [
  'inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'outbox', 'archive', 'calendar',
  'contacts', 'tasks', 'notes', 'journal', 'msgfolderroot', 'recoverableitemsdeletions'
]

export function resolveMailbox (ctx: SimContext, key: string, version: GraphVersion): StoreMailbox {
  const parsed = parseMailboxId(key)
  if (parsed === undefined) throw badRequest(`Invalid mailbox identifier '${key}'.`, 'ErrorInvalidMailboxId')
  const mailbox = ctx.store.mailboxes.get(parsed.guid)
  if (mailbox === undefined || parsed.tenantId !== ctx.store.tenantId.toLowerCase()) {
    throw new GraphError(404, 'ResourceNotFound', `Mailbox '${key}' was not found.`)
  }
  // Archive support is beta-only: on v1.0 an archive MBX is simply not a mailbox the service knows.
  if (version === 'v1.0' && mailbox.kind !== 'primary') {
    throw new GraphError(
      404,
      'ResourceNotFound',
      `Mailbox '${key}' was not found. Archive mailboxes are available on the beta endpoint only.`
    )
  }
  return mailbox
}

export type FolderAccess =
  | { folder: StoreFolder, redirectTo?: undefined }
  /** The folder's content lives in an auxiliary archive: content operations answer 308. */
  | { folder: StoreFolder, redirectTo: string }

/** Looks up a folder by URL key (id or well-known name) as seen from `mailbox`. */
export function resolveFolder (ctx: SimContext, mailbox: StoreMailbox, key: string): FolderAccess {
  const name = key.toLowerCase()
  if (GRAPH_WELL_KNOWN.includes(name)) {
    // Users report well-known names fail in archives; Exchange then tries to read the name as an id.
    if (mailbox.kind !== 'primary') throw badRequest('Id is malformed.', 'ErrorInvalidIdMalformed')
    const id = name === 'msgfolderroot' ? mailbox.msgRootId : mailbox.wellKnown.get(name)
    if (id === undefined) throw notFound()
    return { folder: ctx.store.requireFolder(id) }
  }
  const { storeId, kind } = wireId(key)
  const folder = ctx.store.folders.get(storeId)
  if (kind !== 'folder' || folder === undefined) throw notFound()
  if (mailbox.kind === 'auxArchive') {
    if (folder.contentMailboxGuid !== mailbox.guid) throw notFound()
    return { folder }
  }
  if (folder.mailboxGuid !== mailbox.guid) throw notFound()
  if (folder.contentMailboxGuid !== mailbox.guid) return { folder, redirectTo: folder.contentMailboxGuid }
  return { folder }
}

/** A URL-safe id as the store's id and kind; a malformed one is Exchange's ErrorInvalidIdMalformed. */
function wireId (key: string): { storeId: string, kind: 'folder' | 'item' } {
  const storeId = fromWireId(key)
  try {
    return { storeId, kind: parseId(storeId).kind }
  } catch (err) {
    if (err instanceof StoreError) throw badRequest('Id is malformed.', 'ErrorInvalidIdMalformed')
    throw err
  }
}

/** Looks up an item of `folder` by its URL-safe id. */
export function resolveItem (ctx: SimContext, folder: StoreFolder, key: string): StoreItem {
  const { storeId, kind } = wireId(key)
  const item = ctx.store.items.get(storeId)
  if (kind !== 'item' || item === undefined || item.folderId !== folder.id) throw notFound()
  return item
}

/** Maps store failures onto the Graph errors Exchange answers with. */
export function fromStoreError (err: unknown): unknown {
  if (!(err instanceof StoreError)) return err
  switch (err.code) {
    case 'FolderExists':
      return new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.')
    case 'InvalidName':
      return badRequest(err.message, 'ErrorInvalidRequest')
    case 'DeleteDistinguishedFolder':
      return new GraphError(403, 'ErrorDeleteDistinguishedFolder', err.message)
    case 'ChangeKeyMismatch':
      return new GraphError(409, 'ErrorIrresolvableConflict', err.message)
    case 'CorruptData':
      return badRequest(err.message, 'ErrorCorruptData')
    case 'InvalidId':
      return badRequest('Id is malformed.', 'ErrorInvalidIdMalformed')
    case 'MailboxNotFound':
      return new GraphError(404, 'ResourceNotFound', err.message)
    default:
      return notFound()
  }
}
