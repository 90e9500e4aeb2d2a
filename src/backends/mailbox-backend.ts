/**
 * The one port between the HTTP layer and a mailbox backend.
 *
 * Routes see only this file (and the router that hands out implementations).
 * Every id crossing this port is a *public* id: URL-safe, opaque, produced by
 * the adapter from the backend's own id and reversible by the same adapter.
 * Adapters never import each other, the simulators, or the routes; only the
 * service layer (src/service/) calls it. Shapes callers see are derived from the
 * public TypeBox schemas (src/schemas/), so they are written once.
 */
import type { Static } from '@sinclair/typebox'
import type { ItemError as ItemErrorSchema } from '../schemas/common.js'
import type { Folder as FolderSchema } from '../schemas/folder.js'
import type { FolderChange as FolderChangeSchema, ItemChange as ItemChangeSchema } from '../schemas/changes.js'
import type { ExtendedPropertyT, ItemKindT, ItemPropertiesT } from '../schemas/item-properties.js'
import type {
  ExportedItem as ExportedItemSchema, ExportFailure as ExportFailureSchema, ImportResult as ImportResultSchema,
  ItemSummary as ItemSummarySchema, ItemWriteResult as ItemWriteResultSchema
} from '../schemas/item.js'

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

/** A folder as callers see it (the public `Folder` schema in src/schemas/folder.ts). */
export type Folder = Static<typeof FolderSchema>

/** One item of a listing (the public `ItemSummary` schema in src/schemas/item.ts). */
export type ItemSummary = Static<typeof ItemSummarySchema>

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

/**
 * A page of a folder's items. `associated`: list the folder's folder-associated items (FAI: rules, views, forms,
 * configuration messages) instead of its normal ones, as EWS FindItem `Traversal="Associated"` does
 * (ews.md §6.9). Only for a backend whose `capabilities.associatedItems` is supported.
 */
export interface ListItemsRequest extends PageRequest {
  associated?: boolean
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

/** Per-item failure inside a batch; the code is a stable MBG_ERR_* code (the public `ItemError` schema). */
export type ItemError = Static<typeof ItemErrorSchema>

/**
 * Item data: the full-fidelity stream as standard padded base64 (RFC 4648 section 4), as text or as its bytes
 * (ASCII: one byte a character). Large items travel as bytes, a slice of the bytes received (the caller's request
 * body, the backend's answer), so megabytes of data are never copied into a string and held twice; small ones
 * may be either. `.length` is the count of base64 characters either way.
 */
export type ItemData = string | Buffer

/**
 * One exported item: the opaque full-fidelity stream (base64, `ItemData`) and the change key it was read at.
 */
export type ExportedItem = Omit<Static<typeof ExportedItemSchema>, 'data'> & { data: ItemData }

/** One export result: the item, or why it could not be exported. */
export type ExportResult = ExportedItem | Static<typeof ExportFailureSchema>

/**
 * One item to import, checked by the service before it reaches an adapter:
 * `data` is non-empty strict base64, and update mode carries the item id and change key.
 */
export type ImportItem = {
  /** Public folder id or well-known name. */
  folderId: FolderRef
  /** Base64 full-fidelity item stream, exactly as an export returned it (text or bytes: `ItemData`). */
  data: ItemData
  /** The item's position in the caller's request; error messages name it as "import item N". */
  position: number
  /**
   * Store it as a folder-associated item (EWS UploadItems `IsAssociated="true"`, ews.md §6.2). Only for a backend
   * whose `capabilities.associatedItems` is supported; the service refuses it before it reaches any other.
   */
  associated?: boolean
} & ({ mode: 'create' } | { mode: 'update', itemId: string, changeKey: string })

/** One import result; `index` is the item's position in the batch (or request) it came in. */
export type ImportResult = Static<typeof ImportResultSchema>

/**
 * How items are deleted (the public `DeleteMode`): `soft` into the recoverable items, `hard` permanently,
 * `moveToDeletedItems` into Deleted Items. EWS DeleteItem DeleteType SoftDelete / HardDelete / MoveToDeletedItems
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteitem); Graph disposalType
 * softDelete / hardDelete only (https://learn.microsoft.com/graph/api/mailboxfolder-delete-items).
 */
export type DeleteMode = 'soft' | 'hard' | 'moveToDeletedItems'

export interface DeleteRequest {
  mode: DeleteMode
  /** The folder the items are in: Graph deletes through the folder's item collection; EWS needs none. */
  folderId?: FolderRef
}

/**
 * One delete or move result (the public `ItemWriteResult`): `id` as sent; `status` `deleted` or `moved`, with
 * `newId` for a moved item when the backend gave one; or the item's error. A lost answer gives each item of
 * that call MBG_ERR_OUTCOME_UNKNOWN.
 */
export type ItemWriteResult = Static<typeof ItemWriteResultSchema>

/**
 * What one backend call of a kind can carry. The service splits caller batches to fit
 * (src/service/batches.ts) and runs at most `concurrency` calls of one request at once;
 * the policy below the adapters still caps calls per mailbox.
 */
export interface BatchLimits {
  /** Most items in one call (Graph exportItems: 20; Graph import: 1 per POST; EWS: configured). */
  maxItems: number
  /** Most item bytes (base64 characters) in one call; an item larger than this travels alone. */
  maxBytes: number
  /** Calls of this kind in flight at once for one request. */
  concurrency: number
  /**
   * Import only: the largest item the backend takes, in bytes of its full-fidelity stream (decoded data). A larger
   * item is refused before it is sent, as a per-item 413 MBG_ERR_TOO_LARGE; a copy job's dry run lists items whose
   * listed size is above it. Absent: no per-item bound. EWS: what fits in the UploadItems request limit
   * (maxRequestLength, 25 MB of base64 by default; ews.md §10); Graph: documents none, so what fits in the upload
   * budget (150 MB per 5 minutes per mailbox; graph.md §10). Both configurable (`maxItemBytes`).
   */
  maxItemBytes?: number
}

/** Whether a backend can do an optional thing; when it cannot, `reason` says why (for problems and job reports). */
export type Capability = { supported: true } | { supported: false, reason: string }

/**
 * What a backend can do beyond the core every backend has. The service checks these before calling, so callers
 * get a clear 422 MBG_ERR_NOT_SUPPORTED, and a copy job can report per folder what it could not copy and why.
 */
export interface BackendCapabilities {
  /**
   * Folder-associated items (FAI: rules, views, forms): listed with `ListItemsRequest.associated`, exported by id
   * like any item, imported with `ImportItem.associated`. EWS: FindItem `Traversal="Associated"`, ExportItems,
   * UploadItems `IsAssociated` (ews.md §6.2, §6.9). Graph's mailbox import/export API has no such option.
   */
  readonly associatedItems: Capability
  /**
   * Folders without a folder class (EWS: a plain t:Folder with an empty FolderClass, a generic folder). Graph's
   * folder create requires `type` (graph.md §4.4). Absent: supported. A copy job reports a source folder without a
   * class as one the target cannot hold when this is not supported.
   */
  readonly classlessFolders?: Capability
  /**
   * The formats beyond the full-fidelity stream (README "Formats"): for each format, direction and
   * item kind, whether the backend has a documented way. `mime`: .eml (message/rfc822, RFC 5322/2045), .ics
   * (text/calendar, RFC 5545), .vcf (text/vcard, RFC 6350). `json`: the property set (src/schemas/item-properties.ts).
   * The service refuses a combination that is not supported with 501 MBG_ERR_NOT_SUPPORTED and this reason, before
   * any backend call; rules that hold on every backend (a meeting with attendees, a vCard import: 422) are the
   * service's, not a capability.
   */
  readonly formats: FormatCapabilities
}

/** The kinds of item the MIME and property-set formats know (src/schemas/item-properties.ts `ItemKind`). */
export type ItemKind = ItemKindT

/** For `mime` and `json`, export and import: one Capability per item kind. */
export type FormatCapabilities = Readonly<Record<'mime' | 'json', Readonly<Record<'export' | 'import',
Readonly<Record<ItemKind, Capability>>>>>>

/** Some of FormatCapabilities. */
export type FormatOverrides = Partial<Record<'mime' | 'json', Partial<Record<'export' | 'import',
Partial<Record<ItemKind, Capability>>>>>>

/** Format capabilities with every combination unsupported for `reason`; `overrides` names the supported ones. */
export function formatCapabilities (reason: string, overrides: FormatOverrides = {}): FormatCapabilities {
  const kinds: ItemKind[] = ['message', 'appointment', 'contact', 'task']
  const side = (format: 'mime' | 'json', dir: 'export' | 'import'): Record<ItemKind, Capability> =>
    Object.fromEntries(kinds.map((k) => [k, overrides[format]?.[dir]?.[k] ?? { supported: false, reason }])) as
      Record<ItemKind, Capability>
  return {
    mime: { export: side('mime', 'export'), import: side('mime', 'import') },
    json: { export: side('json', 'export'), import: side('json', 'import') }
  }
}

/** The media types of `mime`: .eml, .ics, .vcf. */
export type MimeMediaType = 'message/rfc822' | 'text/calendar' | 'text/vcard'

/**
 * An item as MIME: `data` the bytes of the .eml (RFC 5322 with MIME, RFC 2045), .ics (RFC 5545 VCALENDAR with one
 * VEVENT) or .vcf (RFC 6350 / vCard 3.0, RFC 2426), exactly as the backend gave them or as the adapter built them
 * from the item's properties (Graph events and contacts, which Graph has no MIME for).
 */
export interface MimeContent {
  contentType: MimeMediaType
  data: Buffer
}

/** An item read as MIME: the content, the item's kind, and its subject (for a download's file name). */
export interface MimeItem extends MimeContent {
  itemId: string
  kind: ItemKind
  subject?: string
}

/** The property set of an item (the public `ItemProperties` schema). */
export type ItemProperties = ItemPropertiesT

/** An item read as its property set, with its id and (EWS) change key. */
export interface PropertiesItem {
  itemId: string
  changeKey?: string
  item: ItemProperties
}

/** What to read besides the property set's fixed fields. */
export interface ReadPropertiesOptions {
  /** Attachment content as base64 (`AttachmentInfo.contentBytes`) for file attachments; default metadata only. */
  attachmentContent?: boolean
  /** Extended (MAPI) properties to read, by tag or by name; `value` is ignored. */
  extendedProperties?: ExtendedPropertyT[]
}

/** An item created from MIME or a property set: its new id, and the change key when the backend gives one. */
export interface CreatedItem {
  itemId: string
  changeKey?: string
}

/**
 * A request for the changes since a cursor. `cursor` is the adapter's own state, exactly as the previous
 * `Changes.cursor` gave it (EWS: the SyncState; Graph: the nextLink or deltaLink); absent for a full sync.
 */
export interface ChangesRequest {
  cursor?: string
  /** Most changes wanted (the adapter clamps it to what the backend takes; see each adapter). */
  limit: number
}

/**
 * One answer of a change feed. `cursor` is always given: while `more` is true the caller asks again at once;
 * once it is false, a later call with it returns only what changed since. A cursor the backend no longer
 * accepts is thrown as 410 MBG_ERR_CURSOR_EXPIRED (the caller then starts again without one).
 */
export interface Changes<T> {
  changes: T[]
  cursor: string
  more: boolean
}

/** An item change (the public `ItemChange` schema): EWS Create/Update/Delete/ReadFlagChange, Graph delta entries. */
export type ItemChange = Static<typeof ItemChangeSchema>

/** A folder change (the public `FolderChange` schema): EWS Create/Update/Delete, Graph folders/delta entries. */
export type FolderChange = Static<typeof FolderChangeSchema>

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
  /**
   * Who asks (a request id now, an authenticated principal later): the policy serves the calls
   * waiting for one mailbox round-robin across callers (src/backends/fair-queue.ts).
   */
  caller?: string
}

/**
 * The port. One instance per configured backend; every call names the mailbox.
 * Errors that concern the whole call are thrown as MBG_ERR_* errors (see src/errors.ts);
 * batch calls report per-item failures in their results instead of throwing.
 */
export interface MailboxBackend {
  readonly type: MailboxType
  readonly name: string
  /** Optional abilities (BackendCapabilities); a call asking for one the backend lacks throws MBG_ERR_NOT_SUPPORTED. */
  readonly capabilities: BackendCapabilities

  getFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<Folder>
  listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>>
  createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder>
  renameFolder (mailbox: MailboxRef, folder: FolderRef, displayName: string, ctx?: OperationContext): Promise<Folder>
  deleteFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<void>

  listItems (
    mailbox: MailboxRef, folder: FolderRef, page: ListItemsRequest, ctx?: OperationContext
  ): Promise<Page<ItemSummary>>

  /**
   * Changes to the (normal) items of one folder since `request.cursor`: every item as created when there is
   * no cursor. Throws MBG_ERR_CURSOR_EXPIRED when the backend refuses the cursor, MBG_ERR_BAD_REQUEST when it
   * is not one this adapter made, MBG_ERR_FOLDER_NOT_FOUND for an unknown folder.
   */
  listItemChanges (
    mailbox: MailboxRef, folder: FolderRef, request: ChangesRequest, ctx?: OperationContext
  ): Promise<Changes<ItemChange>>

  /** Changes to the folder tree below `root` since `request.cursor` (every folder as created without one). */
  listFolderChanges (
    mailbox: MailboxRef, request: ChangesRequest, ctx?: OperationContext
  ): Promise<Changes<FolderChange>>

  /** Batch sizes this backend accepts per call; the service never exceeds them. */
  readonly limits: {
    readonly export: BatchLimits
    readonly import: BatchLimits
    readonly delete: BatchLimits
    readonly move: BatchLimits
  }

  /**
   * Full-fidelity export of one batch (at most `limits.export.maxItems` ids): one result
   * per id, in request order; malformed or unknown ids get per-item errors. Throws when
   * the backend failed the call as a whole.
   */
  exportBatch (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): Promise<ExportResult[]>
  /**
   * Full-fidelity import of one batch (within `limits.import`): one result per item, in
   * input order, `index` counting within the batch. Throws when the backend failed the
   * call as a whole.
   */
  importBatch (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): Promise<ImportResult[]>

  /**
   * Deletes one batch of items (within `limits.delete`): one result per id, in order (`status: 'deleted'`, or a
   * per-item error: an unknown or already deleted item is a 404 MBG_ERR_ITEM_NOT_FOUND). Deleting is idempotent
   * in effect, so an adapter may send it again after a lost answer; an item then not found was deleted by the
   * first attempt (or never existed) and is reported deleted. Throws when the call failed as a whole, or
   * MBG_ERR_NOT_SUPPORTED (501) for a mode the backend does not document.
   */
  deleteItems (mailbox: MailboxRef, ids: string[], request: DeleteRequest,
    ctx?: OperationContext): Promise<ItemWriteResult[]>

  /**
   * Moves one batch of items (within `limits.move`) into `targetFolder` of the same mailbox: one result per id,
   * in order (`status: 'moved'` with the item's `newId`, or a per-item error). Never sent again after a lost
   * answer (`idempotent: false`: the policy then throws MBG_ERR_OUTCOME_UNKNOWN for the whole call, which the
   * service reports for each of its items). Throws MBG_ERR_NOT_SUPPORTED (501) when the backend documents no move.
   */
  moveItems (mailbox: MailboxRef, ids: string[], targetFolder: FolderRef,
    ctx?: OperationContext): Promise<ItemWriteResult[]>

  /**
   * One item as MIME (`capabilities.formats.mime.export`): EWS GetItem with IncludeMimeContent
   * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/getitem-operation); Graph the
   * message's `$value` (https://learn.microsoft.com/graph/outlook-get-mime-message), or an event or contact read as
   * JSON and written as iCalendar / vCard. Throws MBG_ERR_ITEM_NOT_FOUND (404), MBG_ERR_BAD_REQUEST for an id this
   * adapter did not make, MBG_ERR_NOT_SUPPORTED (501, with why) for a kind the backend has no documented path for.
   */
  getItemMime (mailbox: MailboxRef, itemId: string, ctx?: OperationContext): Promise<MimeItem>

  /**
   * One item as its property set (`capabilities.formats.json.export`): EWS GetItem with AllProperties and the
   * requested extended properties; Graph the Outlook resource (message, event, contact). Errors as getItemMime.
   */
  getItemProperties (mailbox: MailboxRef, itemId: string, options: ReadPropertiesOptions,
    ctx?: OperationContext): Promise<PropertiesItem>

  /**
   * Creates one item in `folder` from MIME (`capabilities.formats.mime.import`, checked by the service, which also
   * refuses meetings with attendees and vCards): EWS CreateItem with MimeContent, MessageDisposition="SaveOnly" and
   * PidTagMessageFlags (0x0E07) set so a message is not a draft. Never sent again after a lost answer (the policy
   * then throws MBG_ERR_OUTCOME_UNKNOWN). Throws MBG_ERR_DATA_INVALID (422) for MIME the backend refuses,
   * MBG_ERR_FOLDER_NOT_FOUND, MBG_ERR_NOT_SUPPORTED (501).
   */
  createItemFromMime (mailbox: MailboxRef, folder: FolderRef, content: MimeContent,
    ctx?: OperationContext): Promise<CreatedItem>

  /**
   * Creates one item in `folder` from its property set (`capabilities.formats.json.import`): EWS CreateItem with
   * the item's properties; Graph the Outlook create (message, event, contact). The service has already refused a
   * meeting with attendees and replaced an appointment's `uid`. Errors as createItemFromMime.
   */
  createItemFromProperties (mailbox: MailboxRef, folder: FolderRef, item: ItemProperties,
    ctx?: OperationContext): Promise<CreatedItem>

  /**
   * Resolves what the backend knows about a configured address: Graph returns the
   * `MBX:` ids from settings/exchange, EWS whether an archive exists. Results are
   * cached by the caller. Throws MBG_ERR_MAILBOX_NOT_FOUND when the address is unknown.
   */
  discover (address: string, ctx?: OperationContext): Promise<MailboxDiscovery>

  /** Releases sockets, timers and sessions. */
  close (): Promise<void>
}
