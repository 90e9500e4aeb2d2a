/**
 * The one port between the HTTP layer and a mailbox backend.
 *
 * Routes see only this file (and the router that hands out implementations).
 * Every id crossing this port is a *public* id: URL-safe, opaque, produced by
 * the adapter from the backend's own id and reversible by the same adapter.
 * Adapters never import each other, the simulators, or the routes.
 */

export type MailboxType = 'ews' | 'graph'
export type MailboxKind = 'primary' | 'archive'

/** A mailbox the gateway knows, as configured or discovered. */
export interface MailboxRef {
  /** Gateway id: stable, URL-safe. */
  id: string
  /** Primary SMTP address of the owning user (the same for a primary and its archive). */
  address: string
  type: MailboxType
  kind: MailboxKind
  /** Name of the configured backend that serves the mailbox. */
  backend: string
  displayName?: string
  /** For an archive: the gateway id of its primary mailbox. */
  primaryId?: string
  /** For a primary: the gateway id of its archive, when one exists. */
  archiveId?: string
  /** Backend-specific routing data (for example a Graph `MBX:` id); never shown to callers. */
  backendRef?: string
}

/**
 * Well-known folder names accepted wherever a folder id is.
 * `root` is the top of the user-visible tree (EWS `msgfolderroot`, or `archivemsgfolderroot` in an archive).
 */
export const WELL_KNOWN_FOLDERS = [
  'root', 'inbox', 'drafts', 'sentitems', 'deleteditems', 'outbox', 'junkemail',
  'calendar', 'contacts', 'tasks', 'notes', 'journal', 'archive'
] as const
export type WellKnownFolder = typeof WELL_KNOWN_FOLDERS[number]

export function isWellKnownFolder (value: string): value is WellKnownFolder {
  return (WELL_KNOWN_FOLDERS as readonly string[]).includes(value.toLowerCase())
}

/** A folder reference as callers give it: a public id or a well-known name. */
export type FolderRef = { id: string } | { wellKnown: WellKnownFolder }

export function parseFolderRef (value: string): FolderRef {
  return isWellKnownFolder(value)
    ? { wellKnown: value.toLowerCase() as WellKnownFolder }
    : { id: value }
}

export interface Folder {
  id: string
  displayName: string
  /** Public id of the parent; null for the root of the tree. */
  parentId: string | null
  /** Folder class, such as IPF.Note or IPF.Appointment (empty when the backend does not say). */
  folderClass: string
  childFolderCount: number
  totalItemCount: number
  /** Set when the folder is a well-known folder and the backend says so. */
  wellKnownName?: string
}

export interface ItemSummary {
  id: string
  changeKey: string
  itemClass: string
  size: number
  created: string
  modified: string
  subject?: string
}

export interface Page<T> {
  values: T[]
  /** Opaque cursor for the next page; absent on the last page. */
  nextCursor?: string
}

export interface PageRequest {
  /** Page size (the route clamps it to the documented maximum). */
  limit: number
  /** Cursor returned by the previous page. */
  cursor?: string
}

export interface ListFoldersRequest extends PageRequest {
  /** When set, list only the direct children of this folder; otherwise the whole tree below `root`. */
  parentId?: FolderRef
}

export interface CreateFolderRequest {
  displayName: string
  parentId?: FolderRef
  folderClass?: string
}

/** Per-item failure inside a batch; the code is a stable MBG_ERR_* code. */
export interface ItemError {
  code: string
  status: number
  message: string
  /** Backend's own error code (ResponseCode, Graph error code), for diagnostics. */
  upstreamCode?: string
  /** Seconds to wait before retrying this item, when the backend said so. */
  retryAfter?: number
}

export type ExportResult =
  | { itemId: string, changeKey: string, data: string }
  | { itemId: string, error: ItemError }

export interface ImportItem {
  /** Public folder id or well-known name. */
  folderId: FolderRef
  mode: 'create' | 'update'
  /** Base64 full-fidelity item stream, exactly as an export returned it. */
  data: string
  itemId?: string
  changeKey?: string
}

export type ImportResult =
  | { index: number, itemId: string, changeKey: string }
  | { index: number, error: ItemError }

export interface MailboxDiscovery {
  /** Backend routing data for the primary mailbox (Graph: its MBX id). */
  primaryRef?: string
  /** Present when the user has an archive; Graph: the archive's MBX id. */
  archive?: { ref?: string }
  displayName?: string
}

export interface OperationContext {
  /** Aborted when the caller goes away; adapters pass it to their HTTP calls. */
  signal?: AbortSignal
}

/**
 * The port. One instance per configured backend; every call names the mailbox.
 * Errors that concern the whole call are thrown as MBG_ERR_* errors (see src/errors.ts);
 * batch calls report per-item failures in their results instead of throwing.
 */
export interface MailboxBackend {
  readonly type: MailboxType
  readonly name: string

  getFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<Folder>
  listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>>
  createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder>
  renameFolder (mailbox: MailboxRef, folder: FolderRef, displayName: string, ctx?: OperationContext): Promise<Folder>
  deleteFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<void>

  listItems (
    mailbox: MailboxRef, folder: FolderRef, page: PageRequest, ctx?: OperationContext
  ): Promise<Page<ItemSummary>>

  /**
   * Full-fidelity export. Yields one result per requested id, in request order,
   * chunk by chunk, so callers can stream without holding the whole batch.
   */
  exportItems (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): AsyncIterable<ExportResult>
  /** Full-fidelity import. Yields one result per input item, in input order. */
  importItems (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): AsyncIterable<ImportResult>

  /**
   * Resolves what the backend knows about a configured address: Graph returns the
   * `MBX:` ids from settings/exchange, EWS whether an archive exists. Results are
   * cached by the caller. Throws MBG_ERR_MAILBOX_NOT_FOUND when the address is unknown.
   */
  discover (address: string, ctx?: OperationContext): Promise<MailboxDiscovery>

  /** Releases sockets, timers and sessions. */
  close (): Promise<void>
}

export async function collect<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const value of iterable) out.push(value)
  return out
}
