/**
 * The EWS adapter: implements the mailbox port over EWS SOAP (ews.md).
 *
 * Every backend call goes through `policy.run` (per-mailbox concurrency, retries of
 * what is safe to retry); the client turns transport and SOAP failures into
 * annotated MBG_ERR_* errors, and the operations here turn per-message
 * ResponseCodes into per-item errors or thrown ones.
 */
import type { Logger } from 'pino'
import type { TokenProvider } from '../../auth/token-provider.js'
import { isStrictBase64 } from '../../base64.js'
import {
  BadRequest, ConfigInvalid, DataInvalid, FolderProtected, IdMalformed, UpstreamBadResponse, UpstreamThrottled,
  isGatewayError, toItemError
} from '../../errors.js'
import type {
  CreateFolderRequest, ExportResult, Folder, FolderRef, ImportItem, ImportResult, ItemError, ItemSummary,
  ListFoldersRequest, MailboxBackend, MailboxDiscovery, MailboxRef, OperationContext, Page, PageRequest
} from '../mailbox-backend.js'
import type { Policy } from '../policy.js'
import { chunkIndices, runInOrder } from './batch.js'
import { EwsClient } from './client.js'
import {
  annotate,
  backOffMs,
  errorForCode,
  isRetryableCode,
  uploadErrorForCode,
  type Annotated,
  type CodeContext
} from './errors.js'
import { fromPublicId, shortId, toPublicId, tryFromPublicId } from './ids.js'
import {
  decodeCursor,
  distinguishedName,
  encodeCursor,
  readFolder,
  readItemSummary,
  rootName,
  type EwsFolder
} from './mapping.js'
import {
  isSuccess,
  readRootFolder,
  responseMessages,
  ResponseShapeError,
  type FolderTarget,
  type ResponseMessage
} from './operations/common.js'
import { buildCreateFolder } from './operations/create-folder.js'
import { buildDeleteFolder } from './operations/delete-folder.js'
import { buildExportItems, readExported } from './operations/export-items.js'
import { buildFindFolder } from './operations/find-folder.js'
import { buildFindItem } from './operations/find-item.js'
import { buildGetFolder } from './operations/get-folder.js'
import { buildRenameFolder } from './operations/update-folder.js'
import { buildUploadItems, readUploaded, type UploadEntry } from './operations/upload-items.js'
import { NS, child, childrenOf, type XmlNode } from './soap/xml.js'

export interface EwsBackendConfig {
  name: string
  /** https://host/EWS/Exchange.asmx */
  url: string
  /** oauth: bearer tokens from deps.tokenProvider */
  auth: { kind: 'basic', username: string, password: string } | { kind: 'oauth' }
  /** default 'Exchange2013_SP1' */
  serverVersion?: string
  /** default true: ExchangeImpersonation + X-AnchorMailbox on every call */
  impersonation?: boolean
  /** ids per ExportItems, default 50 */
  exportBatchSize?: number
  /** items per UploadItems, default 20 */
  uploadBatchSize?: number
  /** base64 bytes per UploadItems, default 16 MiB */
  uploadBatchBytes?: number
  /** FindFolder/FindItem page, default 200 (server caps at 1000) */
  pageSize?: number
  /** per request, default 60000 */
  timeoutMs?: number
  tls?: { ca?: string, rejectUnauthorized?: boolean }
  /** default 'mailbox-gateway/0.1' */
  userAgent?: string
}

export interface EwsBackendDeps {
  policy: Policy
  logger: Logger
  tokenProvider?: TokenProvider
}

export function createEwsBackend (config: EwsBackendConfig, deps: EwsBackendDeps): MailboxBackend {
  return new EwsBackend(config, deps)
}

type Resolved = { ok: true, target: FolderTarget } | { ok: false, error: ItemError }

export class EwsBackend implements MailboxBackend {
  readonly type = 'ews' as const
  readonly name: string
  private readonly client: EwsClient
  private readonly policy: Policy
  private readonly logger: Logger
  private readonly impersonation: boolean
  private readonly exportBatchSize: number
  private readonly uploadBatchSize: number
  private readonly uploadBatchBytes: number
  private readonly pageSize: number
  /** `${address}|${distinguished}` → EWS FolderId. Folder ids never change (ews.md §5), so no expiry. */
  private readonly folderIds = new Map<string, string>()

  constructor (config: EwsBackendConfig, deps: EwsBackendDeps) {
    const positive = (v: number | undefined, d: number, key: string): number => {
      const n = v ?? d
      if (!Number.isInteger(n) || n < 1) throw new ConfigInvalid(`${config.name}: ${key} must be a positive integer`)
      return n
    }
    if (config.auth.kind === 'oauth' && deps.tokenProvider === undefined) {
      throw new ConfigInvalid(`${config.name}: oauth needs a token provider`)
    }
    try {
      const u = new URL(config.url)
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme')
    } catch {
      throw new ConfigInvalid(`${config.name}: url must be an http(s) URL`)
    }
    this.name = config.name
    this.policy = deps.policy
    this.logger = deps.logger
    this.impersonation = config.impersonation ?? true
    this.exportBatchSize = positive(config.exportBatchSize, 50, 'exportBatchSize')
    this.uploadBatchSize = positive(config.uploadBatchSize, 20, 'uploadBatchSize')
    this.uploadBatchBytes = positive(config.uploadBatchBytes, 16 * 1024 * 1024, 'uploadBatchBytes')
    this.pageSize = Math.min(positive(config.pageSize, 200, 'pageSize'), 1000)
    this.client = new EwsClient({
      name: config.name,
      url: config.url,
      auth: config.auth,
      serverVersion: config.serverVersion ?? 'Exchange2013_SP1',
      impersonation: this.impersonation,
      timeoutMs: positive(config.timeoutMs, 60_000, 'timeoutMs'),
      ...(config.tls !== undefined ? { tls: config.tls } : {}),
      userAgent: config.userAgent ?? 'mailbox-gateway/0.1'
    }, deps.logger, deps.tokenProvider)
  }

  // ------------------------------------------------------------------ plumbing

  private key (address: string): string {
    return `${this.name}:${address.toLowerCase()}`
  }

  /** Delegate access (no impersonation) must say whose distinguished folder it means. */
  private distinguished (mailbox: MailboxRef, name: string): FolderTarget {
    return this.impersonation ? { distinguished: name } : { distinguished: name, mailbox: mailbox.address }
  }

  private target (mailbox: MailboxRef, ref: FolderRef): FolderTarget {
    if ('wellKnown' in ref) return this.distinguished(mailbox, distinguishedName(mailbox, ref.wellKnown))
    return { id: fromPublicId(ref.id) }
  }

  private subject (ref: FolderRef): string {
    return 'wellKnown' in ref ? ref.wellKnown : ref.id
  }

  /** Error context for a folder call about `ref` (by id: a foreign id is "not found in this mailbox"). */
  private folderContext (ref: FolderRef): Omit<CodeContext, 'address' | 'values'> {
    return { about: 'folder', subject: this.subject(ref), byId: 'id' in ref }
  }

  /**
   * One call through the policy. `check` runs inside the retried function so a
   * per-message throttling code (ErrorServerBusy in a ResponseMessage) is retried like a fault.
   */
  private async invoke<T> (
    address: string, op: string, body: string,
    opts: { idempotent: boolean, signal?: AbortSignal | undefined },
    check: (response: XmlNode, attempt: number) => T
  ): Promise<T> {
    return await this.policy.run(
      {
        key: this.key(address),
        idempotent: opts.idempotent,
        ...(opts.signal !== undefined ? { signal: opts.signal } : {})
      },
      async (attempt) => await this.callOnce(address, op, body, opts.signal, (response) => check(response, attempt))
    )
  }

  /** One HTTP exchange, no policy: only for use inside a `policy.run` callback. */
  private async callOnce<T> (address: string, op: string, body: string, signal: AbortSignal | undefined,
    check: (response: XmlNode) => T): Promise<T> {
    const response = await this.client.call(op, address, body, signal !== undefined ? { signal } : {})
    try {
      return check(response)
    } catch (err) {
      if (err instanceof ResponseShapeError) {
        this.logger.warn(
          { backend: this.name, op, mailbox: address, problem: err.message },
          'unexpected EWS response shape'
        )
      }
      throw err
    }
  }

  /** A call whose every ResponseMessage must succeed; the first failure is thrown. */
  private async invokeAll (
    address: string, op: string, body: string, count: number,
    opts: {
      idempotent: boolean
      signal?: AbortSignal | undefined
      context: (index: number) => Omit<CodeContext, 'address' | 'values'>
    }
  ): Promise<ResponseMessage[]> {
    return await this.invoke(address, op, body, opts, (response) => {
      const messages = responseMessages(response, op, count)
      messages.forEach((m, i) => {
        if (!isSuccess(m)) throw errorForCode(m.code, { ...opts.context(i), address, values: m.values })
      })
      return messages
    })
  }

  private firstFolder (message: ResponseMessage): XmlNode | undefined {
    return childrenOf(child(message.node, NS.m, 'Folders'), NS.t)[0]
  }

  private cacheKey (mailbox: MailboxRef, name: string): string {
    return `${mailbox.address.toLowerCase()}|${name}`
  }

  /** Real FolderId of a distinguished folder (UploadItems and ParentFolderId need one). */
  private async resolveDistinguished (mailbox: MailboxRef, name: string, signal?: AbortSignal): Promise<string> {
    const cached = this.folderIds.get(this.cacheKey(mailbox, name))
    if (cached !== undefined) return cached
    const [message] = await this.invokeAll(
      mailbox.address,
      'GetFolder',
      buildGetFolder([this.distinguished(mailbox, name)], 'IdOnly'),
      1,
      { idempotent: true, signal, context: () => ({ about: 'folder', subject: name }) }
    )
    const id = this.readFolderOrThrow(message, undefined).ewsId
    this.folderIds.set(this.cacheKey(mailbox, name), id)
    return id
  }

  private readFolderOrThrow (message: ResponseMessage, rootId: string | undefined): EwsFolder {
    const node = this.firstFolder(message)
    const folder = node !== undefined ? readFolder(node, rootId) : undefined
    // Also used outside invoke(), so it throws the gateway error itself.
    if (folder === undefined) throw new UpstreamBadResponse('folder without FolderId')
    return folder
  }

  // ------------------------------------------------------------------ discovery

  async discover (address: string, ctx?: OperationContext): Promise<MailboxDiscovery> {
    const primary: MailboxRef = { id: address, address, type: 'ews', kind: 'primary', backend: this.name }
    const body = buildGetFolder(
      [this.distinguished(primary, 'msgfolderroot'), this.distinguished(primary, 'archivemsgfolderroot')],
      'IdOnly'
    )
    return await this.invoke(address, 'GetFolder', body, { idempotent: true, signal: ctx?.signal }, (response) => {
      const [root, archive] = responseMessages(response, 'GetFolder', 2)
      if (!isSuccess(root)) {
        throw errorForCode(root.code, { about: 'request', subject: 'msgfolderroot', address, values: root.values })
      }
      const rootId = this.readFolderOrThrow(root, undefined).ewsId
      this.folderIds.set(`${address.toLowerCase()}|msgfolderroot`, rootId)
      if (isSuccess(archive)) {
        this.folderIds.set(
          `${address.toLowerCase()}|archivemsgfolderroot`,
          this.readFolderOrThrow(archive, undefined).ewsId
        )
        return { archive: {} }
      }
      // No archive is a normal answer; anything else (throttling, access) is not.
      if (archive.code === 'ErrorFolderNotFound' || archive.code === 'ErrorItemNotFound') return {}
      throw errorForCode(archive.code, {
        about: 'request',
        subject: 'archivemsgfolderroot',
        address,
        values: archive.values
      })
    })
  }

  // ------------------------------------------------------------------ folders

  async getFolder (mailbox: MailboxRef, ref: FolderRef, ctx?: OperationContext): Promise<Folder> {
    return (await this.readFolderRef(mailbox, ref, ctx)).folder
  }

  private async readFolderRef (mailbox: MailboxRef, ref: FolderRef, ctx?: OperationContext): Promise<EwsFolder> {
    const target = this.target(mailbox, ref)
    const root = rootName(mailbox)
    const isRoot = 'wellKnown' in ref && ref.wellKnown === 'root'
    let rootId = this.folderIds.get(this.cacheKey(mailbox, root))
    // Ask for the root in the same request when we do not know its id yet: its
    // ParentFolderId (the non-IPM root) must show as null, the tree's top.
    const targets = isRoot || rootId !== undefined ? [target] : [target, this.distinguished(mailbox, root)]
    const messages = await this.invokeAll(mailbox.address, 'GetFolder', buildGetFolder(targets), targets.length, {
      idempotent: true,
      signal: ctx?.signal,
      context: (i) => (i === 0 ? this.folderContext(ref) : { about: 'folder', subject: 'root' })
    })
    if (targets.length === 2) {
      rootId = this.readFolderOrThrow(messages[1], undefined).ewsId
      this.folderIds.set(this.cacheKey(mailbox, root), rootId)
    }
    const read = this.readFolderOrThrow(messages[0], isRoot ? undefined : rootId)
    if (isRoot) read.folder.parentId = null
    if ('wellKnown' in ref) {
      read.folder.wellKnownName = ref.wellKnown
      this.folderIds.set(this.cacheKey(mailbox, distinguishedName(mailbox, ref.wellKnown)), read.ewsId)
    }
    return read
  }

  async listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>> {
    const offset = decodeCursor(request.cursor)
    const max = Math.max(1, Math.min(request.limit, this.pageSize))
    const parent =
      request.parentId !== undefined
        ? this.target(mailbox, request.parentId)
        : this.distinguished(mailbox, rootName(mailbox))
    const traversal = request.parentId !== undefined ? 'Shallow' : 'Deep'
    const context =
      request.parentId !== undefined
        ? this.folderContext(request.parentId)
        : { about: 'folder' as const, subject: 'root' }
    const [message] = await this.invokeAll(
      mailbox.address,
      'FindFolder',
      buildFindFolder(parent, traversal, offset, max),
      1,
      { idempotent: true, signal: ctx?.signal, context: () => context }
    )
    const page = readRootFolder(message, 'Folders')
    const values = page.nodes.map((n) => readFolder(n, undefined)?.folder).filter((f): f is Folder => f !== undefined)
    // Only move forward: a server that reports no progress would otherwise loop a client forever.
    return page.nextOffset !== undefined && page.nextOffset > offset
      ? { values, nextCursor: encodeCursor(page.nextOffset) }
      : { values }
  }

  async createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder> {
    const parentRef: FolderRef = request.parentId ?? { wellKnown: 'root' }
    const folderClass = request.folderClass ?? 'IPF.Note'
    // Resolve the parent first: the Folder we return names it by id, and failures happen before the (non-idempotent)
    // create.
    const parentId = 'wellKnown' in parentRef
      ? await this.resolveDistinguished(mailbox, distinguishedName(mailbox, parentRef.wellKnown), ctx?.signal)
      : fromPublicId(parentRef.id)
    // Errors are about the parent (not found, malformed, another mailbox's), except a name conflict, which names the
    // new name.
    const [message] = await this.invokeAll(mailbox.address, 'CreateFolder', buildCreateFolder({ id: parentId },
      request.displayName, folderClass), 1, {
      idempotent: false,
      signal: ctx?.signal,
      context: () => ({ ...this.folderContext(parentRef), name: request.displayName })
    })
    const created = this.readFolderOrThrow(message, undefined)
    // The server may store something other than what was asked (it trims names, for one): answer with what it stored.
    return await this.readBack(mailbox, { id: created.folder.id }, ctx, () => ({
      id: created.folder.id,
      displayName: request.displayName,
      parentId: toPublicId(parentId),
      folderClass,
      childFolderCount: 0,
      totalItemCount: 0
    }))
  }

  /**
   * Reads a folder just written. The write has happened, so a failed read must not
   * turn into a failed call (a retry would then conflict with the folder it created):
   * the fallback, built from the request, is returned instead and the miss logged.
   */
  private async readBack (mailbox: MailboxRef, ref: { id: string }, ctx: OperationContext | undefined,
    fallback: () => Folder): Promise<Folder> {
    try {
      return (await this.readFolderRef(mailbox, ref, ctx)).folder
    } catch (err) {
      if (ctx?.signal?.aborted === true) throw err
      this.logger.warn(
        {
          backend: this.name,
          mailbox: mailbox.address,
          folder: ref.id,
          errCode: isGatewayError(err) ? err.code : undefined
        },
        'could not read back a folder just written'
      )
      return fallback()
    }
  }

  async renameFolder (mailbox: MailboxRef, ref: FolderRef, displayName: string,
    ctx?: OperationContext): Promise<Folder> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    // Read first: the current ChangeKey guards the update, and the root of the tree is refused here.
    const current = await this.readFolderRef(mailbox, ref, ctx)
    if (current.folder.parentId === null) throw new FolderProtected(ref.id)
    await this.invoke(mailbox.address, 'UpdateFolder', buildRenameFolder(fromPublicId(ref.id), current.changeKey,
      displayName), { idempotent: false, signal: ctx?.signal }, (response) => {
      const [m] = responseMessages(response, 'UpdateFolder', 1)
      if (isSuccess(m)) return
      // Exchange refuses to rename default folders with an access error; we could read the folder, so that is what it
      // means.
      if (m.code === 'ErrorAccessDenied') throw annotate(new FolderProtected(ref.id), { upstreamCode: m.code })
      throw errorForCode(m.code, {
        ...this.folderContext(ref),
        name: displayName,
        address: mailbox.address,
        values: m.values
      })
    })
    return await this.readBack(mailbox, ref, ctx, () => ({ ...current.folder, displayName }))
  }

  async deleteFolder (mailbox: MailboxRef, ref: FolderRef, ctx?: OperationContext): Promise<void> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const ewsId = fromPublicId(ref.id)
    await this.invoke(mailbox.address, 'DeleteFolder', buildDeleteFolder(ewsId),
      { idempotent: true, signal: ctx?.signal }, (response, attempt) => {
        const [m] = responseMessages(response, 'DeleteFolder', 1)
        if (isSuccess(m)) return
        // A retry after a lost response finds the folder already gone: that is the outcome we wanted.
        if (attempt > 1 && (m.code === 'ErrorFolderNotFound' || m.code === 'ErrorItemNotFound')) return
        throw errorForCode(m.code, { ...this.folderContext(ref), address: mailbox.address, values: m.values })
      })
  }

  // ------------------------------------------------------------------ items

  async listItems (mailbox: MailboxRef, ref: FolderRef, page: PageRequest,
    ctx?: OperationContext): Promise<Page<ItemSummary>> {
    const offset = decodeCursor(page.cursor)
    const max = Math.max(1, Math.min(page.limit, this.pageSize))
    const [message] = await this.invokeAll(
      mailbox.address,
      'FindItem',
      buildFindItem(this.target(mailbox, ref), offset, max),
      1,
      { idempotent: true, signal: ctx?.signal, context: () => this.folderContext(ref) }
    )
    const result = readRootFolder(message, 'Items')
    const values = result.nodes.map(readItemSummary).filter((s): s is ItemSummary => s !== undefined)
    return result.nextOffset !== undefined && result.nextOffset > offset
      ? { values, nextCursor: encodeCursor(result.nextOffset) }
      : { values }
  }

  exportItems (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): AsyncIterable<ExportResult> {
    const decoded = itemIds.map((id) => tryFromPublicId(id))
    const preset = new Map<number, ExportResult>()
    const valid: number[] = []
    decoded.forEach((ews, i) => {
      if (ews === undefined) {
        preset.set(i, { itemId: itemIds[i], error: toItemError(new IdMalformed(shortId(itemIds[i]))) })
      } else valid.push(i)
    })
    return runInOrder<ExportResult>({
      size: itemIds.length,
      chunks: chunkIndices(valid, this.exportBatchSize),
      preset,
      width: this.policy.options.concurrency,
      ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
      run: async (chunk, signal) =>
        await this.exportChunk(
          mailbox,
          chunk.map((i) => decoded[i] as string),
          chunk.map((i) => itemIds[i]),
          signal
        ),
      onChunkError: (chunk, err) => chunk.map((i) => ({ itemId: itemIds[i], error: toItemError(err) }))
    })
  }

  private async exportChunk (mailbox: MailboxRef, ids: string[], publicIds: string[],
    signal: AbortSignal): Promise<ExportResult[]> {
    const address = mailbox.address
    const toResult = (m: ResponseMessage, i: number): ExportResult => {
      if (isSuccess(m)) {
        const item = readExported(m)
        if (item === undefined || item.data === '') {
          return {
            itemId: publicIds[i],
            error: toItemError(new UpstreamBadResponse('ExportItems: success without ItemId/Data'))
          }
        }
        return { itemId: toPublicId(item.id), changeKey: item.changeKey, data: item.data }
      }
      return { itemId: publicIds[i], error: this.itemError(m, shortId(publicIds[i]), address) }
    }
    const messages = await this.invoke(address, 'ExportItems', buildExportItems(ids), { idempotent: true, signal },
      (r) => responseMessages(r, 'ExportItems', ids.length))
    return await this.retryIndividually(address, 'ExportItems', messages, signal, {
      body: (i) => buildExportItems([ids[i]]),
      idempotent: () => true,
      toResult,
      onError: (i, err) => ({ itemId: publicIds[i], error: toItemError(err) })
    })
  }

  /** The server did not process this message (skipped in a batch, or throttled): sending it again may work. */
  private notProcessed (m: ResponseMessage): boolean {
    return !isSuccess(m) && (m.responseClass === 'Warning' || isRetryableCode(m.code))
  }

  /**
   * The error for a message the server did not process, annotated so the policy waits what the server asked and
   * retries.
   */
  private notProcessedError (m: ResponseMessage): Annotated {
    const ms = backOffMs(m.values)
    return annotate(new UpstreamThrottled(`EWS ${m.code}`), {
      upstreamCode: m.code,
      retry: 'safe',
      ...(ms !== undefined ? { retryAfterMs: ms } : {}),
      ...(ms !== undefined && ms > 0 ? { retryAfter: Math.ceil(ms / 1000) } : {})
    })
  }

  /**
   * Items a batch answer left unprocessed (Warning, ErrorBatchProcessingStopped,
   * throttling codes) are sent again, each alone, through the one policy: the batch
   * answer counts as attempt 1, so the policy waits its BackOffMilliseconds (or gives
   * up at once when that is longer than a caller should wait), and every re-send still
   * unprocessed throws the same annotated error for the policy to wait and retry. What
   * the policy gives up on becomes the item's 503 MBG_ERR_UPSTREAM_THROTTLED with
   * Retry-After. Items are retried concurrently; the policy caps calls per mailbox.
   */
  private async retryIndividually<R> (
    address: string, op: string, messages: ResponseMessage[], signal: AbortSignal,
    resend: {
      body: (index: number) => string
      idempotent: (index: number) => boolean
      toResult: (m: ResponseMessage, index: number) => R
      onError: (index: number, err: unknown) => R
    }
  ): Promise<R[]> {
    return await Promise.all(messages.map(async (first, i): Promise<R> => {
      if (!this.notProcessed(first)) return resend.toResult(first, i)
      try {
        const m = await this.policy.run({ key: this.key(address), idempotent: resend.idempotent(i), signal },
          async (attempt) => {
            const m = attempt === 1
              ? first
              : await this.callOnce(address, op, resend.body(i), signal, (r) => responseMessages(r, op, 1)[0])
            if (this.notProcessed(m)) throw this.notProcessedError(m)
            return m
          })
        return resend.toResult(m, i)
      } catch (err) {
        if (signal.aborted) throw err
        return resend.onError(i, err)
      }
    }))
  }

  private itemError (m: ResponseMessage, subject: string, address: string): ItemError {
    return toItemError(errorForCode(m.code, { about: 'item', subject, address, values: m.values }))
  }

  importItems (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): AsyncIterable<ImportResult> {
    return this.importGenerator(mailbox, items, ctx)
  }

  private async * importGenerator (mailbox: MailboxRef, items: ImportItem[],
    ctx?: OperationContext): AsyncGenerator<ImportResult> {
    const preset = new Map<number, ImportResult>()
    const entries: Array<UploadEntry | undefined> = []
    const folderOf: Array<FolderTarget | undefined> = []
    const fail = (i: number, err: unknown): void => { preset.set(i, { index: i, error: toItemError(err) }) }
    items.forEach((item, i) => {
      const data = typeof item.data === 'string' ? item.data.replace(/\s+/g, '') : ''
      // Not a grouped regex: V8 runs those recursively and overflows on multi-megabyte items.
      if (!isStrictBase64(data)) return fail(i, new DataInvalid(`import item ${i}: data is not base64`))
      if (item.mode !== 'create' && item.mode !== 'update') {
        return fail(i, new BadRequest(`import item ${i}: mode must be create or update`))
      }
      let itemId: string | undefined
      if (item.mode === 'update') {
        if (item.itemId === undefined || item.itemId === '' || item.changeKey === undefined || item.changeKey === '') {
          return fail(i, new BadRequest(`import item ${i}: update needs itemId and changeKey`))
        }
        itemId = tryFromPublicId(item.itemId)
        if (itemId === undefined) return fail(i, new IdMalformed(shortId(item.itemId)))
      }
      try {
        folderOf[i] = this.target(mailbox, item.folderId)
      } catch (err) {
        return fail(i, err)
      }
      entries[i] = {
        parentFolderId: '', // filled once distinguished folders are resolved
        action: item.mode === 'create' ? 'CreateNew' : 'Update',
        ...(itemId !== undefined ? { itemId, changeKey: item.changeKey as string } : {}),
        data
      }
    })
    // UploadItems needs a real FolderId (no DistinguishedFolderId allowed there, ews.md §6.2).
    const names = new Set<string>()
    folderOf.forEach((t, i) => {
      if (entries[i] !== undefined && t !== undefined && 'distinguished' in t) names.add(t.distinguished)
    })
    const resolved = new Map<string, Resolved>()
    for (const name of names) {
      try {
        resolved.set(name, { ok: true, target: { id: await this.resolveDistinguished(mailbox, name, ctx?.signal) } })
      } catch (err) {
        // A missing folder fails its items only; anything else (auth, throttling, mailbox) fails the call.
        if (isGatewayError(err) && err.code === 'MBG_ERR_FOLDER_NOT_FOUND') {
          resolved.set(name, { ok: false, error: toItemError(err) })
        } else throw err
      }
    }
    const valid: number[] = []
    entries.forEach((e, i) => {
      if (e === undefined) return
      const t = folderOf[i] as FolderTarget
      if ('id' in t) { e.parentFolderId = t.id; valid.push(i); return }
      const r = resolved.get(t.distinguished) as Resolved
      if (r.ok) {
        e.parentFolderId = (r.target as { id: string }).id
        valid.push(i)
      } else preset.set(i, { index: i, error: r.error })
    })
    yield *
    runInOrder<ImportResult>({
      size: items.length,
      chunks: chunkIndices(
        valid,
        this.uploadBatchSize,
        this.uploadBatchBytes,
        (i) => (entries[i] as UploadEntry).data.length
      ),
      preset,
      width: this.policy.options.concurrency,
      ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
      run: async (chunk, signal) =>
        await this.uploadChunk(
          mailbox,
          chunk,
          chunk.map((i) => entries[i] as UploadEntry),
          items,
          signal
        ),
      onChunkError: (chunk, err) => chunk.map((i) => ({ index: i, error: toItemError(err) }))
    })
  }

  private async uploadChunk (mailbox: MailboxRef, indices: number[], batch: UploadEntry[], items: ImportItem[],
    signal: AbortSignal): Promise<ImportResult[]> {
    const address = mailbox.address
    const toResult = (m: ResponseMessage, k: number): ImportResult => {
      const index = indices[k]
      if (isSuccess(m)) {
        const up = readUploaded(m)
        if (up === undefined) {
          return { index, error: toItemError(new UpstreamBadResponse('UploadItems: success without ItemId')) }
        }
        return { index, itemId: toPublicId(up.id), changeKey: up.changeKey }
      }
      const item = items[index]
      return {
        index,
        error: toItemError(
          uploadErrorForCode(m.code, {
            mode: item.mode,
            index,
            folder: this.subject(item.folderId),
            address,
            values: m.values,
            ...(item.mode === 'update' && item.itemId !== undefined ? { itemId: shortId(item.itemId) } : {})
          })
        )
      }
    }
    // A blind resend of CreateNew after a lost response can duplicate items (ews.md §9): only 'safe' failures are
    // retried then.
    const messages = await this.invoke(
      address,
      'UploadItems',
      buildUploadItems(batch),
      { idempotent: batch.every((e) => e.action !== 'CreateNew'), signal },
      (r) => responseMessages(r, 'UploadItems', batch.length)
    )
    return await this.retryIndividually(address, 'UploadItems', messages, signal, {
      body: (k) => buildUploadItems([batch[k]]),
      idempotent: (k) => batch[k].action !== 'CreateNew',
      toResult,
      onError: (k, err) => ({ index: indices[k], error: toItemError(err) })
    })
  }

  async close (): Promise<void> {
    await this.client.close()
  }
}
