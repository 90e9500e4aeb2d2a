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

/** A mailbox as callers see it (routing data stays inside). */
export type MailboxView = Static<typeof Mailbox>

/** A page request as callers send it: `pageToken` is the previous page's `nextPageToken`. */
export interface PageQuery {
  pageSize?: number
  pageToken?: string
}

export interface MailboxServiceOptions extends ImportRules {
  router: BackendRouter
  /** Key for page tokens (PAGE_TOKEN_SECRET); random per process when absent. */
  pageTokenSecret?: string
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

  constructor (options: MailboxServiceOptions) {
    this.router = options.router
    this.tokens = new PageTokens(options.pageTokenSecret)
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
    const scope = `folders|${target.mailbox.id}|${query.parentId ?? ''}`
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
    return await target.backend.createFolder(target.mailbox, {
      displayName,
      ...(parentId !== undefined ? { parentId: parseFolderRef(parentId) } : {}),
      ...(folderClass !== undefined ? { folderClass } : {})
    }, { signal })
  }

  async renameFolder (target: MailboxTarget, folder: string, displayName: string,
    signal?: AbortSignal): Promise<Folder> {
    return await target.backend.renameFolder(target.mailbox, parseFolderRef(folder), displayName, { signal })
  }

  async deleteFolder (target: MailboxTarget, folder: string, signal?: AbortSignal): Promise<void> {
    await target.backend.deleteFolder(target.mailbox, parseFolderRef(folder), { signal })
  }

  /** One page of item summaries of a folder. */
  async listItems (target: MailboxTarget, folder: string, query: PageQuery, signal?: AbortSignal):
  Promise<{ items: ItemSummary[], nextPageToken?: string }> {
    const scope = `items|${target.mailbox.id}|${folder}`
    const page = await target.backend.listItems(target.mailbox, parseFolderRef(folder), this.page(scope, query), {
      signal
    })
    return { items: page.values, ...this.next(scope, page.nextCursor) }
  }

  /** Exports `itemIds` (see items.ts exportItems) and answers with the totals. */
  async exportItems (target: MailboxTarget, itemIds: string[],
    signal?: AbortSignal): Promise<BatchSummary<ExportResult>> {
    return await summarize(exportItems(target, itemIds, signal))
  }

  /** Imports `items` under this deployment's rules (see items.ts importItems) and answers with the totals. */
  async importItems (target: MailboxTarget, items: ImportRequestItem[],
    signal?: AbortSignal): Promise<BatchSummary<ImportResult>> {
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
