/**
 * The service layer: the only caller of the port. Routes (and next, jobs, change
 * cursors and the CLI) call this with a resolved mailbox; it parses folder references,
 * seals page tokens to the listing that issued them, applies the import rules once and
 * runs batches through the one ordered runner (src/service/batches.ts).
 */
import type { Static } from '@sinclair/typebox'
import {
  parseFolderRef,
  type DeleteMode,
  type Changes,
  type Folder,
  type FolderChange,
  type ItemChange,
  type ImportResult,
  type ItemWriteResult,
  type ItemSummary,
  type MailboxRef
} from '../backends/mailbox-backend.js'
import type { BackendRouter } from '../backends/router.js'
import type { FolderCreate } from '../schemas/folder.js'
import type { Mailbox, MailboxCreate } from '../schemas/mailbox.js'
import {
  batchOptions, deleteItems, exportItems, importItems, moveItems, summarize, type BatchOptions, type BatchSummary,
  type ExportResult, type ImportRequestItem, type ImportRules, type MailboxTarget
} from './items.js'
import { forCaller } from './caller.js'
import {
  createPrepared, exportInFormat, exportOptions, importInFormat, prepareImport, readItem, requireAnyKind,
  type CreatedItemAnswer, type FormatExportOptions, type FormatExportResult, type FormatImportRequestItem,
  type FormatImportResultT, type ItemMediaType, type ItemRead
} from './formats.js'
import type { ItemProperties, ReadPropertiesOptions } from '../backends/mailbox-backend.js'
import { openExportStream, type ExportStream } from './export-stream.js'
import { PageTokens } from './page-tokens.js'
import { BadRequest, isGatewayError, MailboxForbidden, NotSupported, TooLarge, toItemError } from '../errors.js'
import type { Caller } from '../access/caller.js'
import { annotate } from '../upstream/errors.js'
import { NO_TELEMETRY, type Telemetry } from '../telemetry.js'

/**
 * Default most item data in one export answer: 64 MiB of base64. While an answer is built the gateway holds
 * about ten times that (measured: a 187 MiB answer peaked at 2.2 GB RSS), until answers are streamed.
 */
export const DEFAULT_MAX_EXPORT_ANSWER_BYTES = 64 * 1024 * 1024

/**
 * Room, bytes, for one import item's fields besides `data` in a request body (`importBodyLimit`): folderId and
 * itemId (≤ 1024 characters each), changeKey (≤ 512), mode, source, associated and the JSON around them, with
 * room for escapes.
 */
export const IMPORT_ITEM_FIELDS_BYTES = 8 * 1024

/** Room, bytes, for the rest of an import request body (`importBodyLimit`): whitespace, the outer object. */
export const IMPORT_BODY_SLACK_BYTES = 64 * 1024

/** A change-feed request as callers send it: `cursor` is the previous answer's `cursor`. */
export interface ChangesQuery {
  cursor?: string
  pageSize?: number
}

/** A mailbox as callers see it (routing data stays inside). */
export type MailboxView = Static<typeof Mailbox>

/** A page request as callers send it: `pageToken` is the previous page's `nextPageToken`. */
export interface PageQuery {
  pageSize?: number
  pageToken?: string
}

export interface MailboxServiceOptions extends ImportRules {
  router: BackendRouter
  /**
   * Most item data (base64 characters) one export answer carries; ids past it get a per-item 413 asking for
   * another request. Default DEFAULT_MAX_EXPORT_ANSWER_BYTES.
   */
  maxExportAnswerBytes?: number
  /** Key for page tokens (PAGE_TOKEN_SECRET); random per process when absent. */
  pageTokenSecret?: string
  /** Where item outcomes and batch splits are reported; default NO_TELEMETRY. */
  telemetry?: Telemetry
  /** Where the service notes what it settled on its own (a create reconciled after a lost answer). */
  logger?: ServiceLogger
}

/** The part of a pino (or Fastify) logger the service uses. */
export interface ServiceLogger {
  info: (obj: object, msg: string) => void
}

/**
 * Folder names are limited in the unit the backends count: EWS `DisplayName` and Graph `displayName` hold at most
 * 255 UTF-16 code units. The request schema counts characters, so 128 emoji (256 units) pass it; they are refused
 * here with a 400, not left for the backend to refuse (a 502 that blames the backend for the caller's input).
 */
export const MAX_FOLDER_NAME_UNITS = 255

function checkFolderName (displayName: string): void {
  if (displayName.length > MAX_FOLDER_NAME_UNITS) {
    throw new BadRequest(`displayName is ${displayName.length} UTF-16 code units long; folder names hold at most ` +
      `${MAX_FOLDER_NAME_UNITS} (an emoji counts as 2)`)
  }
}

/** The folder a listing is of, as page tokens bind it: well-known names in any letter case are one folder. */
function listingKey (folder: string): string {
  const ref = parseFolderRef(folder)
  return 'id' in ref ? `id:${ref.id}` : `wk:${ref.wellKnown}`
}

/** The answer to a write was lost: the backend may or may not have acted (src/backends/policy.ts `outcomeOf`). */
function outcomeUnknown (err: unknown): boolean {
  return isGatewayError(err) && err.code === 'MBG_ERR_OUTCOME_UNKNOWN'
}

/** A call whose answer was lost, even after the policy's retries: an idempotent one may still have acted. */
function answerLost (err: unknown): boolean {
  return outcomeUnknown(err) || (isGatewayError(err) && err.retry === 'idempotent')
}

/** Folder names as Exchange compares them: without surrounding blanks (it trims), in any letter case. */
function sameName (a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase()
}

/** Public view of a mailbox: everything but the backend's routing data. */
export function mailboxView (m: MailboxRef): MailboxView {
  const { backendRef: _hidden, ...rest } = m
  return rest
}

export class MailboxService {
  private readonly router: BackendRouter
  private readonly tokens: PageTokens
  private readonly rules: ImportRules
  private readonly maxExportAnswerBytes: number
  private readonly telemetry: Telemetry
  private readonly logger: ServiceLogger | undefined

  constructor (options: MailboxServiceOptions) {
    this.telemetry = options.telemetry ?? NO_TELEMETRY
    this.logger = options.logger
    this.router = options.router
    this.tokens = new PageTokens(options.pageTokenSecret)
    this.maxExportAnswerBytes = options.maxExportAnswerBytes ?? DEFAULT_MAX_EXPORT_ANSWER_BYTES
    this.rules = { crossBackendImport: options.crossBackendImport }
  }

  /**
   * One page of mailboxes, configured and registered together, by primary address, each primary followed by its
   * archive (src/backends/router.ts `page`): `pageSize` owners (1–1000, default 100; a page holds up to twice as
   * many mailboxes), `pageToken` the previous page's `nextPageToken` (sealed, 400 when altered). With `principal`,
   * only the mailboxes its allow-list admits (src/access/caller.ts), so a page may hold fewer while more follow.
   */
  async listMailboxes (query: PageQuery = {}, principal?: Caller):
  Promise<{ mailboxes: MailboxView[], nextPageToken?: string }> {
    const scope = 'mailboxes'
    const { limit, cursor } = this.page(scope, query)
    const page = await this.router.page({
      limit,
      ...(cursor !== undefined ? { after: cursor } : {}),
      ...(principal !== undefined ? { admit: (m: { address: string, backend: string }) => principal.mayAccess(m) } : {})
    })
    return { mailboxes: page.mailboxes.map(mailboxView), ...this.next(scope, page.next) }
  }

  /**
   * Registers a mailbox at runtime (POST /mailboxes; src/backends/router.ts `register`): 422
   * MBG_ERR_BACKEND_UNKNOWN, 409 MBG_ERR_MAILBOX_EXISTS, and 403 MBG_ERR_MAILBOX_FORBIDDEN when `principal`'s
   * allow-list does not admit it. Returns the primary as listed before discovery (its archive shows once listed).
   */
  async addMailbox (request: Static<typeof MailboxCreate>, principal?: Caller): Promise<MailboxView> {
    const identity = { address: request.address.toLowerCase(), backend: request.backend }
    if (principal !== undefined && !principal.mayAccess(identity)) {
      throw new MailboxForbidden(`${identity.address} (client ${principal.client}: not in its allow-list)`)
    }
    return mailboxView(await this.router.register(request, principal?.client))
  }

  /**
   * Removes a mailbox registered at runtime, by address or primary id (DELETE /mailboxes/{mailbox};
   * src/backends/router.ts `unregister`): 409 MBG_ERR_MAILBOX_CONFIGURED for a configured one, 404
   * MBG_ERR_MAILBOX_NOT_FOUND, and 403 MBG_ERR_MAILBOX_FORBIDDEN (nothing removed) when `principal`'s allow-list
   * does not admit it. Returns what was removed: address, primary id, backend.
   */
  async removeMailbox (idOrAddress: string, principal?: Caller):
  Promise<{ address: string, id: string, backend: string }> {
    const removed = await this.router.unregister(idOrAddress, principal !== undefined
      ? (m) => {
          if (!principal.mayAccess(m)) {
            // Named as the caller named it: a refused gateway id must not tell whose address it is.
            throw new MailboxForbidden(`${idOrAddress.slice(0, 320)} (client ${principal.client}: not in its ` +
              'allow-list)')
          }
        }
      : undefined)
    return { address: removed.address, id: removed.id, backend: removed.backend }
  }

  /**
   * The largest import request body (bytes) worth reading for the mailbox named `idOrAddress`, known before the
   * body is read (no backend is asked), or undefined: no bound of its own (BODY_LIMIT_BYTES alone), because the
   * mailbox is unknown, the caller may not use it (the request fails on that later, as any other), or its backend
   * takes items of any size (no `limits.import.maxItemBytes`). The bound holds the larger of one export answer's
   * item data (`maxExportAnswerBytes`, so an export answer always imports back in one request) and one item of
   * `maxItemBytes` as base64 (4 characters per 3 bytes, RFC 4648 section 4), plus IMPORT_ITEM_FIELDS_BYTES for each
   * of `maxItems` items' other fields and IMPORT_BODY_SLACK_BYTES. EWS (maxItemBytes 19,660,800, 25 MB of base64):
   * 67,993,600 bytes with the defaults; Graph (112,500,000): 150,884,736, above the default BODY_LIMIT_BYTES.
   */
  async importBodyLimit (idOrAddress: string, maxItems: number, principal?: Caller): Promise<number | undefined> {
    const found = await this.router.backendOf(idOrAddress)
    if (found === undefined) return undefined
    const { address, name: backend } = found
    if (principal !== undefined && !principal.mayAccess({ address, backend })) return undefined
    const most = found.backend.limits.import.maxItemBytes
    if (most === undefined) return undefined
    const data = Math.max(this.maxExportAnswerBytes, Math.ceil(most / 3) * 4)
    return data + maxItems * IMPORT_ITEM_FIELDS_BYTES + IMPORT_BODY_SLACK_BYTES
  }

  /**
   * Resolves a gateway mailbox id or primary SMTP address; throws MBG_ERR_MAILBOX_NOT_FOUND, and
   * MBG_ERR_MAILBOX_FORBIDDEN when `principal` (the authenticated caller) may not use it.
   * With `caller` (the fair-queue key: a request id), every backend call through the target names
   * it, so the calls waiting for one mailbox are served round-robin across callers.
   */
  async resolve (idOrAddress: string, caller?: string, principal?: Caller): Promise<MailboxTarget> {
    // An address outside the allow-list is refused before anything is looked up: whether it exists stays unsaid.
    if (principal !== undefined && idOrAddress.includes('@') && !principal.mayAccess({ address: idOrAddress })) {
      throw new MailboxForbidden(`${idOrAddress} (client ${principal.client}: not in its allow-list)`)
    }
    const forbid = (m: { address: string, backend: string }): void => {
      if (principal !== undefined && !principal.mayAccess(m)) {
        // Named as the caller named it: a refused gateway id must not tell whose address it is.
        throw new MailboxForbidden(`${idOrAddress.slice(0, 320)} (client ${principal.client}: not in its allow-list)`)
      }
    }
    // Checked before discovery (no backend call for a mailbox the caller may not use), and on what was resolved.
    const target = await this.router.resolve(idOrAddress, forbid)
    forbid(target.mailbox)
    return caller !== undefined ? { ...target, backend: forCaller(target.backend, caller) } : target
  }

  /** The folder tree below root as a flat page, or one level below `parentId` (id or well-known name). */
  async listFolders (target: MailboxTarget, query: PageQuery & { parentId?: string }, signal?: AbortSignal):
  Promise<{ folders: Folder[], nextPageToken?: string }> {
    const scope = `folders|${target.mailbox.id}|${query.parentId !== undefined ? listingKey(query.parentId) : ''}`
    const page = await target.backend.listFolders(target.mailbox, {
      ...this.page(scope, query),
      ...(query.parentId !== undefined ? { parentId: parseFolderRef(query.parentId) } : {})
    }, { signal })
    return { folders: page.values, ...this.next(scope, page.nextCursor) }
  }

  async getFolder (target: MailboxTarget, folder: string, signal?: AbortSignal): Promise<Folder> {
    return await target.backend.getFolder(target.mailbox, parseFolderRef(folder), { signal })
  }

  /**
   * Creates a folder. A create whose answer was lost (MBG_ERR_OUTCOME_UNKNOWN) is settled here, once:
   * the parent's children are listed for a folder of that name (compared as Exchange does: trimmed, in
   * any letter case). Found: it is the answer (logged as reconciled). Certainly absent: the create is
   * sent once more. When the listing fails too, the caller gets the MBG_ERR_OUTCOME_UNKNOWN (check
   * before creating again; a second create of an existing name is a 409 MBG_ERR_FOLDER_EXISTS).
   */
  async createFolder (target: MailboxTarget, request: Static<typeof FolderCreate>,
    signal?: AbortSignal): Promise<Folder> {
    const { displayName, parentId, folderClass } = request
    checkFolderName(displayName)
    const create = async (): Promise<Folder> => await target.backend.createFolder(target.mailbox, {
      displayName,
      ...(parentId !== undefined ? { parentId: parseFolderRef(parentId) } : {}),
      ...(folderClass !== undefined ? { folderClass } : {})
    }, { signal })
    try {
      return await create()
    } catch (err) {
      if (!outcomeUnknown(err) || signal?.aborted === true) throw err
      let found: Folder | undefined
      try {
        found = await this.findChild(target, parentId ?? 'root', displayName, signal)
      } catch {
        throw err
      }
      if (found === undefined) return await create()
      this.logger?.info({ mailbox: target.mailbox.id, backend: target.backend.name, folder: found.id },
        'folder create reconciled: its answer was lost, the folder is there')
      return found
    }
  }

  /** The child of `parent` named `displayName` (sameName), listing every page; undefined when there is none. */
  private async findChild (target: MailboxTarget, parent: string, displayName: string,
    signal?: AbortSignal): Promise<Folder | undefined> {
    let cursor: string | undefined
    do {
      const page = await target.backend.listFolders(target.mailbox, {
        parentId: parseFolderRef(parent), limit: 100, ...(cursor !== undefined ? { cursor } : {})
      }, { signal })
      const found = page.values.find((f) => sameName(f.displayName, displayName))
      if (found !== undefined) return found
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return undefined
  }

  /** Renames a folder. Setting a name is idempotent: the backends may send it again after a lost answer. */
  async renameFolder (target: MailboxTarget, folder: string, displayName: string,
    signal?: AbortSignal): Promise<Folder> {
    checkFolderName(displayName)
    return await target.backend.renameFolder(target.mailbox, parseFolderRef(folder), displayName, { signal })
  }

  /**
   * Deletes a folder. When the answer was lost (even after the policy's retries), the folder is looked
   * up: gone (404) means done; still there, the delete did not happen and the error stands.
   */
  async deleteFolder (target: MailboxTarget, folder: string, signal?: AbortSignal): Promise<void> {
    const ref = parseFolderRef(folder)
    try {
      await target.backend.deleteFolder(target.mailbox, ref, { signal })
    } catch (err) {
      if (!answerLost(err) || signal?.aborted === true) throw err
      try {
        await target.backend.getFolder(target.mailbox, ref, { signal })
      } catch (check) {
        if (isGatewayError(check) && check.code === 'MBG_ERR_FOLDER_NOT_FOUND') return
      }
      throw err
    }
  }

  /**
   * One page of item summaries of a folder; with `associated`, of its folder-associated items instead (a page token
   * holds for one of the two listings only). A backend without that capability (Graph) is a 422
   * MBG_ERR_NOT_SUPPORTED naming the mailbox and why; nothing is sent.
   */
  async listItems (target: MailboxTarget, folder: string, query: PageQuery & { associated?: boolean },
    signal?: AbortSignal): Promise<{ items: ItemSummary[], nextPageToken?: string }> {
    const associated = query.associated === true
    if (associated) {
      const can = target.backend.capabilities.associatedItems
      if (!can.supported) {
        throw new NotSupported(`folder-associated items of ${target.mailbox.address} (a ${target.mailbox.type} ` +
          `mailbox): ${can.reason}`)
      }
    }
    const scope = `items|${target.mailbox.id}|${listingKey(folder)}${associated ? '|associated' : ''}`
    const page = await target.backend.listItems(target.mailbox, parseFolderRef(folder), {
      ...this.page(scope, query),
      ...(associated ? { associated } : {})
    }, { signal })
    return { items: page.values, ...this.next(scope, page.nextCursor) }
  }

  /**
   * Changes to the items of `folder` since `query.cursor` (every item as created without one). The adapter's
   * cursor (an EWS SyncState, a Graph delta link) is sealed to this mailbox and folder like a page token:
   * one that was altered, or comes from another feed, is a 400; one the backend no longer accepts a 410
   * MBG_ERR_CURSOR_EXPIRED (start again without a cursor).
   */
  async listItemChanges (target: MailboxTarget, folder: string, query: ChangesQuery,
    signal?: AbortSignal): Promise<Changes<ItemChange>> {
    const scope = `item-changes|${target.mailbox.id}|${listingKey(folder)}`
    const answer = await target.backend.listItemChanges(target.mailbox, parseFolderRef(folder),
      this.changesRequest(scope, query), { signal })
    return { ...answer, cursor: this.tokens.seal(scope, answer.cursor) }
  }

  /** Changes to the folder tree below root since `query.cursor` (every folder as created without one). */
  async listFolderChanges (target: MailboxTarget, query: ChangesQuery,
    signal?: AbortSignal): Promise<Changes<FolderChange>> {
    const scope = `folder-changes|${target.mailbox.id}`
    const answer = await target.backend.listFolderChanges(target.mailbox, this.changesRequest(scope, query), { signal })
    return { ...answer, cursor: this.tokens.seal(scope, answer.cursor) }
  }

  /** The adapter's request: the caller's cursor opened (400 when it is not one this feed sealed), the size. */
  private changesRequest (scope: string, query: ChangesQuery): { limit: number, cursor?: string } {
    const limit = query.pageSize ?? 100
    if (query.cursor === undefined) return { limit }
    let cursor: string
    try {
      cursor = this.tokens.open(scope, query.cursor)
    } catch {
      throw new BadRequest('cursor is not one this change feed issued: pass the cursor of the previous answer ' +
        'unchanged, with the same mailbox (and folder); leave it out to start again with a full sync')
    }
    return { limit, cursor }
  }

  /**
   * Exports `itemIds` (see items.ts exportItems) and answers with the totals. One JSON answer is held in
   * memory whole, so it carries at most `maxExportAnswerBytes` of item data (the first item always goes):
   * the export stops there, and every id not exported gets a per-item 413 MBG_ERR_TOO_LARGE saying to ask
   * for it in another request. Nothing is lost: an export changes nothing. `options`: the caller's signal
   * and the graceful `stop` (BatchOptions), or the caller's AbortSignal alone.
   */
  async exportItems (target: MailboxTarget, itemIds: string[],
    options?: BatchOptions | AbortSignal): Promise<BatchSummary<ExportResult>> {
    const results: ExportResult[] = []
    let bytes = 0
    for await (const r of exportItems(target, itemIds, this.batchOptions(options))) {
      if (!('error' in r)) {
        if (bytes > 0 && bytes + r.data.length > this.maxExportAnswerBytes) break
        bytes += r.data.length
      }
      results.push(r)
    }
    this.tooLargeForAnswer(results, itemIds, bytes)
    const failed = results.filter((r) => 'error' in r).length
    return { results, succeeded: results.length - failed, failed }
  }

  /**
   * Exports `itemIds` in `request.format` (default `fullFidelity`: exportItems, unchanged). `mime` and `json`
   * (src/service/formats.ts exportInFormat) are checked first, before any backend call: their options (400), and
   * that the backend has the format for some kind (501 MBG_ERR_NOT_SUPPORTED with its reasons); an item of a kind
   * it has none for fails alone. The answer is bounded as exportItems' is (`maxExportAnswerBytes`, counting MIME
   * data as base64 and a property set as its JSON text).
   */
  async exportItemsAs (target: MailboxTarget, itemIds: string[],
    request: FormatExportOptions & { format?: 'fullFidelity' | 'mime' | 'json' },
    options?: BatchOptions | AbortSignal): Promise<BatchSummary<ExportResult | FormatExportResult>> {
    const { format = 'fullFidelity', ...rest } = request
    if (format === 'fullFidelity') {
      exportOptions('mime', rest) // refuses the json-only options
      return await this.exportItems(target, itemIds, options)
    }
    const read = exportOptions(format, rest)
    requireAnyKind(target, format, 'export')
    const results: Array<ExportResult | FormatExportResult> = []
    let bytes = 0
    for await (const r of exportInFormat(target, itemIds, format, read, this.batchOptions(options))) {
      if (!('error' in r)) {
        const size = 'data' in r ? r.data.length : JSON.stringify(r.item).length
        if (bytes > 0 && bytes + size > this.maxExportAnswerBytes) break
        bytes += size
      }
      results.push(r)
    }
    this.tooLargeForAnswer(results, itemIds, bytes)
    const failed = results.filter((r) => 'error' in r).length
    return { results, succeeded: results.length - failed, failed }
  }

  /**
   * One item in the first of `acceptable` (the caller's Accept, in order of preference) it has: its MIME or its
   * property set (src/service/formats.ts readItem: 406 MBG_ERR_NOT_ACCEPTABLE, 501 MBG_ERR_NOT_SUPPORTED before any
   * call where the answer is known without one).
   */
  async readItem (target: MailboxTarget, itemId: string, acceptable: readonly ItemMediaType[],
    options: ReadPropertiesOptions = {}, signal?: AbortSignal): Promise<ItemRead> {
    return await readItem(target, itemId, acceptable, options, signal)
  }

  /**
   * Creates one item in `folder` from an uploaded file (`mime`: its media type and bytes) or a property set
   * (`item`). Checked before any backend call as an import item is (src/service/formats.ts prepareImport: a vCard
   * or a meeting 422, another media type 415, what the backend cannot create 501); an appointment gets a new UID,
   * which the answer reports. Throws the item's error.
   */
  async createItem (target: MailboxTarget, folder: string,
    input: { mime: { contentType: string, data: Buffer } } | { item: ItemProperties },
    signal?: AbortSignal): Promise<CreatedItemAnswer> {
    const prepared = 'mime' in input
      ? prepareImport(target, { folderId: folder, format: 'mime', contentType: input.mime.contentType, data: '' },
        'the upload', input.mime.data)
      : prepareImport(target, { folderId: folder, format: 'json', item: input.item }, 'the item')
    if (prepared instanceof Error) throw prepared
    return await createPrepared(target, folder, prepared, signal)
  }

  /**
   * Streams the items of `folder` (and with `subtree`, of every folder below it) as NDJSON lines
   * (src/service/export-stream.ts), resuming after `cursor` when given. Resolves once the first line is known:
   * an export that cannot start throws (404 for an unknown folder, 400 for a cursor not issued for this mailbox,
   * folder and subtree flag, the backend's own status when it refuses the first call as a whole).
   */
  async exportStream (target: MailboxTarget, folder: string, request: { subtree?: boolean, cursor?: string },
    options?: BatchOptions | AbortSignal): Promise<ExportStream> {
    const subtree = request.subtree === true
    const scope = `export|${target.mailbox.id}|${listingKey(folder)}|${subtree ? 'subtree' : 'folder'}`
    const tokens = {
      seal: (position: string) => this.tokens.seal(scope, position),
      open: (cursor: string) => {
        try {
          return this.tokens.open(scope, cursor)
        } catch {
          throw new BadRequest('cursor is not one this export issued (send the cursor of a line back unchanged, ' +
            'with the same mailbox, folder and subtree)')
        }
      }
    }
    return await openExportStream(target, {
      folder, subtree, ...(request.cursor !== undefined ? { cursor: request.cursor } : {})
    }, tokens, this.batchOptions(options))
  }

  /** Per-item 413s, in place, for the ids an answer of `bytes` of item data had no room for. */
  private tooLargeForAnswer (results: Array<ExportResult | FormatExportResult>, itemIds: string[],
    bytes: number): void {
    for (let i = results.length; i < itemIds.length; i++) {
      const error = new TooLarge(`this answer already carries ${bytes} bytes of item data (at most ` +
        `${this.maxExportAnswerBytes}); export ${itemIds[i].slice(0, 100)} in another request`)
      // Not the item's fault: asked for in another request, it is exported.
      results.push({ itemId: itemIds[i], error: toItemError(annotate(error, { retryable: true })) })
    }
  }

  /**
   * Imports `items` under this deployment's rules (see items.ts importItems) and answers with the totals.
   * Items in `mime` or `json` (src/service/formats.ts importInFormat) go after the full-fidelity ones, one call
   * each; results are in input order either way.
   * `options`: the caller's signal and the graceful `stop` (BatchOptions), or the caller's AbortSignal alone.
   */
  async importItems (target: MailboxTarget, items: Array<ImportRequestItem | FormatImportRequestItem>,
    options?: BatchOptions | AbortSignal): Promise<BatchSummary<ImportResult | FormatImportResultT>> {
    const full: ImportRequestItem[] = []
    const fullAt: number[] = []
    const other: FormatImportRequestItem[] = []
    const otherAt: number[] = []
    items.forEach((item, i) => {
      if (item.format === 'mime' || item.format === 'json') { other.push(item); otherAt.push(i) } else {
        full.push(item)
        fullAt.push(i)
      }
    })
    const batch = this.batchOptions(options)
    if (other.length === 0) return await summarize(importItems(target, full, this.rules, batch))
    const results: Array<ImportResult | FormatImportResultT> = new Array(items.length)
    if (full.length > 0) {
      for await (const r of importItems(target, full, this.rules, { ...batch, positions: fullAt })) results[r.index] = r
    }
    for await (const r of importInFormat(target, other, otherAt, batch)) results[r.index] = r
    const failed = results.filter((r) => 'error' in r).length
    return { results, succeeded: results.length - failed, failed }
  }

  /**
   * Deletes items (see items.ts deleteItems) and answers with the totals. `mode` defaults to `soft`; `folderId` is
   * the folder the items are in (a Graph mailbox needs it). `options`: as for importItems.
   */
  async deleteItems (target: MailboxTarget, ids: string[], request: { mode?: DeleteMode, folderId?: string },
    options?: BatchOptions | AbortSignal): Promise<BatchSummary<ItemWriteResult>> {
    const { mode = 'soft', folderId } = request
    return await summarize(deleteItems(target, ids, { mode, ...(folderId !== undefined ? { folderId } : {}) },
      this.batchOptions(options)))
  }

  /** Moves items into `folderId` (see items.ts moveItems) and answers with the totals. */
  async moveItems (target: MailboxTarget, ids: string[], folderId: string,
    options?: BatchOptions | AbortSignal): Promise<BatchSummary<ItemWriteResult>> {
    return await summarize(moveItems(target, ids, folderId, this.batchOptions(options)))
  }

  async close (): Promise<void> {
    await this.router.close()
  }

  /** The caller's options with this service's telemetry. */
  private batchOptions (options: BatchOptions | AbortSignal | undefined): BatchOptions {
    return { telemetry: this.telemetry, ...batchOptions(options) }
  }

  private page (scope: string, query: PageQuery): { limit: number, cursor?: string } {
    return {
      limit: query.pageSize ?? 100,
      ...(query.pageToken !== undefined ? { cursor: this.tokens.open(scope, query.pageToken) } : {})
    }
  }

  private next (scope: string, cursor: string | undefined): { nextPageToken?: string } {
    return cursor !== undefined ? { nextPageToken: this.tokens.seal(scope, cursor) } : {}
  }
}
