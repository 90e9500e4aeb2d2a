/**
 * The service layer: the only caller of the port. Routes (and next, jobs, change
 * cursors and the CLI) call this with a resolved mailbox; it parses folder references,
 * seals page tokens to the listing that issued them, applies the import rules once and
 * runs batches through the one ordered runner (src/service/batches.ts).
 */
import type { Static } from '@sinclair/typebox'
import {
  parseFolderRef,
  type Folder,
  type ImportResult,
  type ItemSummary,
  type MailboxRef
} from '../backends/mailbox-backend.js'
import type { BackendRouter } from '../backends/router.js'
import type { FolderCreate } from '../schemas/folder.js'
import type { Mailbox } from '../schemas/mailbox.js'
import {
  exportItems, importItems, summarize, type BatchSummary, type ExportResult, type ImportRequestItem, type ImportRules,
  type MailboxTarget
} from './items.js'
import { PageTokens } from './page-tokens.js'
import { BadRequest, TooLarge, toItemError } from '../errors.js'

/**
 * Default most item data in one export answer: 64 MiB of base64. While an answer is built the gateway holds
 * about ten times that (measured: a 187 MiB answer peaked at 2.2 GB RSS), until answers are streamed.
 */
export const DEFAULT_MAX_EXPORT_ANSWER_BYTES = 64 * 1024 * 1024

/** A mailbox as callers see it (routing data stays inside). */
export type MailboxView = Static<typeof Mailbox>

/** How a batch call (exportItems, importItems) may be told to wind down, beyond the caller's cancel signal. */
export interface BatchOptions {
  /**
   * The gateway's stop signal (`request.stop`, src/shutdown.ts): once aborted, the batch starts no new backend
   * call and reports each item it did not send as MBG_ERR_SHUTTING_DOWN (retryable); calls in flight go on.
   * Handed to the batch runner's `stop` (src/service/batches.ts runOrdered), which is added separately: until
   * then it is accepted and not acted on.
   */
  stop?: AbortSignal
}

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

  constructor (options: MailboxServiceOptions) {
    this.router = options.router
    this.tokens = new PageTokens(options.pageTokenSecret)
    this.maxExportAnswerBytes = options.maxExportAnswerBytes ?? DEFAULT_MAX_EXPORT_ANSWER_BYTES
    this.rules = { crossBackendImport: options.crossBackendImport }
  }

  /** Every mailbox, primaries followed by their archives. */
  async listMailboxes (): Promise<MailboxView[]> {
    return (await this.router.list()).map(mailboxView)
  }

  /** Resolves a gateway mailbox id or primary SMTP address; throws MBG_ERR_MAILBOX_NOT_FOUND. */
  async resolve (idOrAddress: string): Promise<MailboxTarget> {
    return await this.router.resolve(idOrAddress)
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

  async createFolder (target: MailboxTarget, request: Static<typeof FolderCreate>,
    signal?: AbortSignal): Promise<Folder> {
    const { displayName, parentId, folderClass } = request
    checkFolderName(displayName)
    return await target.backend.createFolder(target.mailbox, {
      displayName,
      ...(parentId !== undefined ? { parentId: parseFolderRef(parentId) } : {}),
      ...(folderClass !== undefined ? { folderClass } : {})
    }, { signal })
  }

  async renameFolder (target: MailboxTarget, folder: string, displayName: string,
    signal?: AbortSignal): Promise<Folder> {
    checkFolderName(displayName)
    return await target.backend.renameFolder(target.mailbox, parseFolderRef(folder), displayName, { signal })
  }

  async deleteFolder (target: MailboxTarget, folder: string, signal?: AbortSignal): Promise<void> {
    await target.backend.deleteFolder(target.mailbox, parseFolderRef(folder), { signal })
  }

  /** One page of item summaries of a folder. */
  async listItems (target: MailboxTarget, folder: string, query: PageQuery, signal?: AbortSignal):
  Promise<{ items: ItemSummary[], nextPageToken?: string }> {
    const scope = `items|${target.mailbox.id}|${listingKey(folder)}`
    const page = await target.backend.listItems(target.mailbox, parseFolderRef(folder), this.page(scope, query), {
      signal
    })
    return { items: page.values, ...this.next(scope, page.nextCursor) }
  }

  /**
   * Exports `itemIds` (see items.ts exportItems) and answers with the totals. One JSON answer is held in
   * memory whole, so it carries at most `maxExportAnswerBytes` of item data (the first item always goes):
   * the export stops there, and every id not exported gets a per-item 413 MBG_ERR_TOO_LARGE saying to ask
   * for it in another request. Nothing is lost: an export changes nothing.
   */
  async exportItems (target: MailboxTarget, itemIds: string[],
    signal?: AbortSignal, _options: BatchOptions = {}): Promise<BatchSummary<ExportResult>> {
    const results: ExportResult[] = []
    let bytes = 0
    for await (const r of exportItems(target, itemIds, signal)) {
      if (!('error' in r)) {
        if (bytes > 0 && bytes + r.data.length > this.maxExportAnswerBytes) break
        bytes += r.data.length
      }
      results.push(r)
    }
    for (let i = results.length; i < itemIds.length; i++) {
      const error = new TooLarge(`this answer already carries ${bytes} bytes of item data (at most ` +
        `${this.maxExportAnswerBytes}); export ${itemIds[i].slice(0, 100)} in another request`)
      results.push({ itemId: itemIds[i], error: toItemError(error) })
    }
    const failed = results.filter((r) => 'error' in r).length
    return { results, succeeded: results.length - failed, failed }
  }

  /** Imports `items` under this deployment's rules (see items.ts importItems) and answers with the totals. */
  async importItems (target: MailboxTarget, items: ImportRequestItem[],
    signal?: AbortSignal, _options: BatchOptions = {}): Promise<BatchSummary<ImportResult>> {
    return await summarize(importItems(target, items, this.rules, signal))
  }

  async close (): Promise<void> {
    await this.router.close()
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
