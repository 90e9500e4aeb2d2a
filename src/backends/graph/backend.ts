/**
 * The Microsoft Graph adapter: MailboxBackend over the mailbox import/export API
 * (/admin/exchange/mailboxes). See /work/shared/protocol/graph.md.
 *
 * Primaries use the configured version (v1.0 by default); archives always use beta,
 * the only version that knows them. Mailbox ids come from settings/exchange (beta,
 * the only version reporting inPlaceArchiveMailboxId) and are cached.
 */
import type { Logger } from 'pino'
import { BadRequest, MailboxNotFound, NotSupported, toItemError, UpstreamBadResponse } from '../../errors.js'
import type { TokenProvider } from '../../auth/token-provider.js'
import type { ResolvedGraphBackend } from '../../config.js'
import { budgetsOf, type Policy } from '../policy.js'
import type {
  Capability, Changes, ChangesRequest, FolderChange, ItemChange,
  CreateFolderRequest, DeleteRequest, ExportResult, Folder, FolderRef, ImportItem, ImportResult, ItemSummary,
  ItemWriteResult, ListFoldersRequest, ListItemsRequest, MailboxBackend, MailboxDiscovery, MailboxRef,
  OperationContext, Page, MimeItem, ReadPropertiesOptions, PropertiesItem, MimeContent, CreatedItem, ItemProperties
} from '../mailbox-backend.js'
import { MAILBOX_ID, MAX_REDIRECTS, type ApiVersion, type GraphContext, type GraphMailbox } from './context.js'
import { exportBatch } from './export.js'
import { GRAPH_FORMATS, GraphFormats, mimeImportNotSupported, refuseArchive, refuseFormat } from './formats.js'
import { Folders } from './folders.js'
import { GraphHttp } from './http.js'
import { fromPublicId } from './ids.js'
import { importBatch } from './import.js'
import { ImportSessions } from './import-sessions.js'
import { deleteItems, moveNotSupported } from './item-writes.js'
import { listItems } from './items.js'
import { listFolderChanges, listItemChanges } from './delta.js'

/**
 * The adapter's settings, resolved once at the edge (src/config.ts, resolveGraphBackend):
 * defaults filled in, graphUrl an origin, national clouds refused, CA files read. Taken as is.
 */
export type GraphBackendConfig = ResolvedGraphBackend

export interface GraphBackendDeps {
  policy: Policy
  /** Bound to `{ backend: <name> }` by src/backends/factory.ts: log objects do not name the backend again. */
  logger: Logger
  tokenProvider: TokenProvider
}

interface ExchangeSettings {
  primaryMailboxId?: unknown
  inPlaceArchiveMailboxId?: unknown
}

/**
 * The exchangeSettings entity of a settings/exchange answer. Documented as one object (protocol
 * brief §4.1), but one revision of Microsoft's docs shows a collection, `{"value":[{...}]}`: both
 * are accepted. Anything else (not an object, a collection without exactly one entry) is a 502
 * (MBG_ERR_UPSTREAM_BAD_RESPONSE) naming settings/exchange.
 */
export function exchangeSettingsOf (body: unknown, address: string): ExchangeSettings {
  const what = `settings/exchange of ${address}`
  const isObject = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v)
  if (!isObject(body)) throw new UpstreamBadResponse(`${what} is not a JSON object`)
  const record = body as ExchangeSettings & { value?: unknown }
  if ('primaryMailboxId' in record || !('value' in record)) return record
  const value = record.value
  if (!Array.isArray(value)) throw new UpstreamBadResponse(`${what} has a value that is not a collection`)
  if (value.length !== 1) {
    throw new UpstreamBadResponse(`${what} answered a collection of ${value.length} entries; one was expected`)
  }
  const entry: unknown = value[0]
  if (!isObject(entry)) throw new UpstreamBadResponse(`${what} answered a collection whose entry is not an object`)
  return entry
}

/**
 * Folder-associated items (rules, views, forms) are not part of the mailbox import/export API: mailboxItem has no
 * property telling them apart, the items list (mailboxfolder-list-items) takes only $select, $filter, $top, $skip,
 * $orderby, $count and $expand, and the import body (import-exchange-mailbox-item) only FolderId, Mode, Data, ItemId
 * and ChangeKey. The CSDL (msgraph-metadata beta/v1.0) has nothing for them either.
 */
const NO_ASSOCIATED_ITEMS = 'the Microsoft Graph mailbox import/export API does not expose folder-associated ' +
  'items (no list option, mailboxItem property or import field for them)'
export const GRAPH_ASSOCIATED_ITEMS: Capability = { supported: false, reason: NO_ASSOCIATED_ITEMS }

/** Folder create takes `displayName` and `type` (the folder class), both required (graph.md §4.4). */
export const GRAPH_CLASSLESS_FOLDERS: Capability = {
  supported: false,
  reason: 'the Microsoft Graph mailbox API requires a folder class (type) to create a folder'
}

/** Renew an import session this long before it expires. */
const SESSION_RENEW_BEFORE_MS = 300_000

class GraphBackend implements MailboxBackend {
  readonly type = 'graph' as const
  readonly name: string
  private readonly ctx: GraphContext
  private readonly folders: Folders
  private readonly formats: GraphFormats
  /** MBX ids seen as primaries use the primary version; everything else (archives, aux archives) beta. */
  private readonly primaryMbx = new Set<string>()

  /**
   * exportItems takes at most 20 ids a POST (exportBatchSize), `appConcurrency` at once (the
   * policy shares the app's slots across mailboxes, so a bulk export keeps them busy); the
   * import endpoint takes one item a POST, `importConcurrency` at once, none larger than `maxItemBytes` (default: the
   * largest whose base64 body fits in the upload budget; Graph documents no per-item limit, graph.md §10, §12). An
   * item delete is one DELETE (item-writes.ts); a move is not documented (MBG_ERR_NOT_SUPPORTED before anything is
   * sent).
   */
  readonly limits: MailboxBackend['limits']
  readonly capabilities: MailboxBackend['capabilities'] = {
    associatedItems: GRAPH_ASSOCIATED_ITEMS,
    classlessFolders: GRAPH_CLASSLESS_FOLDERS,
    formats: GRAPH_FORMATS
  }

  constructor (config: GraphBackendConfig, deps: GraphBackendDeps) {
    this.name = config.name
    this.limits = {
      export: { maxItems: config.exportBatchSize, maxBytes: Infinity, concurrency: config.appConcurrency },
      import: {
        maxItems: 1,
        maxBytes: Infinity,
        concurrency: config.importConcurrency,
        maxItemBytes: config.maxItemBytes ?? Math.floor(config.budgets.uploadBytes.limit * 3 / 4)
      },
      delete: { maxItems: 1, maxBytes: Infinity, concurrency: config.appConcurrency },
      move: { maxItems: 1, maxBytes: Infinity, concurrency: 1 }
    }
    // One Graph backend is one app registration: its cap and budgets are the app's.
    deps.policy.register(config.name, { concurrency: config.appConcurrency, budgets: budgetsOf(config.budgets) })
    // `backend` is bound by the factory's child logger (src/backends/factory.ts): named once per line.
    const logger = deps.logger.child({ backendType: 'graph' })
    const http = new GraphHttp({
      backend: config.name,
      graphOrigin: config.graphUrl,
      ...(config.tls !== undefined ? { ca: config.tls.ca } : {}),
      timeoutMs: config.timeoutMs,
      maxRedirects: MAX_REDIRECTS,
      tokenProvider: deps.tokenProvider,
      logger,
      answerCaps: config.answerCaps
    })
    const sessions = new ImportSessions({
      renewBeforeMs: SESSION_RENEW_BEFORE_MS,
      allowedHosts: config.allowedImportHosts,
      backend: config.name,
      // Shared by the items that wait for it, so no caller's and no signal; never inside another policy call.
      create: async (mbx) => await deps.policy.run({
        backend: config.name, operation: 'createImportSession', key: `graph:${config.name}:${mbx}`, idempotent: true
      }, async () => {
        // Sessions for archives (and their auxiliary mailboxes) need beta.
        const version = this.versionOf(mbx)
        const { body } = await http.graphJson<{ importUrl?: unknown, expirationDateTime?: unknown }>({
          method: 'POST',
          url: `${config.graphUrl}/${version}/admin/exchange/mailboxes/${mbx}/createImportSession`,
          body: {},
          // The MBX id is discovery's answer, not something the caller sent.
          subject: { kind: 'mailbox', ref: mbx, from: 'gateway' }
        })
        return body
      })
    })
    const ctx: GraphContext = { config, http, policy: deps.policy, logger, auxMailboxes: new Map(), sessions }
    this.ctx = ctx
    this.folders = new Folders(ctx)
    this.formats = new GraphFormats(ctx, this.folders)
  }

  private versionOf (mbx: string): ApiVersion {
    return this.primaryMbx.has(mbx) ? this.ctx.config.apiVersion.primary : this.ctx.config.apiVersion.archive
  }

  /** MIME of a message ($value), event (.ics) or contact (.vcf): formats.ts, docs/graph-formats.md. */
  async getItemMime (mailbox: MailboxRef, itemId: string, ctx?: OperationContext): Promise<MimeItem> {
    refuseArchive(mailbox, 'MIME export')
    return await this.formats.getItemMime(await this.mailbox(mailbox, ctx), mailbox, itemId, ctx?.signal)
  }

  /** The property set of a message, event or contact through the Outlook APIs (formats.ts). */
  async getItemProperties (mailbox: MailboxRef, itemId: string, options: ReadPropertiesOptions,
    ctx?: OperationContext): Promise<PropertiesItem> {
    refuseArchive(mailbox, 'property-set export')
    return await this.formats.getItemProperties(await this.mailbox(mailbox, ctx), mailbox, itemId, options,
      ctx?.signal)
  }

  /** Never documented on Graph (GRAPH_FORMATS.mime.import): MBG_ERR_NOT_SUPPORTED, nothing is sent. */
  async createItemFromMime (mailbox: MailboxRef, _folder: FolderRef, content: MimeContent,
    _ctx?: OperationContext): Promise<CreatedItem> {
    refuseArchive(mailbox, 'MIME import')
    return mimeImportNotSupported(content)
  }

  /** A message, event or contact created through the Outlook APIs, named by its mailbox item id (formats.ts). */
  async createItemFromProperties (mailbox: MailboxRef, folder: FolderRef, item: ItemProperties,
    ctx?: OperationContext): Promise<CreatedItem> {
    refuseArchive(mailbox, 'property-set import')
    // A kind Graph has no path for is refused before discovery: nothing at all is sent.
    refuseFormat(GRAPH_FORMATS.json.import[item.kind], `property-set import of a ${item.kind}`)
    return await this.formats.createItemFromProperties(await this.mailbox(mailbox, ctx), mailbox, folder, item,
      ctx?.signal)
  }

  async discover (address: string, _ctx?: OperationContext): Promise<MailboxDiscovery> {
    const key = address.trim().toLowerCase()
    if (key.length === 0 || key.length > 320 || /[/?#\\\s]/.test(key)) throw new BadRequest('invalid mailbox address')
    // No cache here: the router caches discoveries (with expiry) and shares concurrent lookups.
    return await this.fetchDiscovery(key)
  }

  private async fetchDiscovery (address: string): Promise<MailboxDiscovery> {
    // beta: only beta reports inPlaceArchiveMailboxId.
    const url = `${this.ctx.config.graphUrl}/beta/users/${encodeURIComponent(address)}/settings/exchange`
    const call = { backend: this.name, operation: 'discover', key: `graph:${this.name}:discover`, idempotent: true }
    const answer = await this.ctx.policy.run(call, async () => {
      const subject = { kind: 'mailbox', ref: address } as const
      const { body } = await this.ctx.http.graphJson<unknown>({ method: 'GET', url, subject })
      return body
    })
    const body = exchangeSettingsOf(answer, address)
    const primary = body.primaryMailboxId
    const archive = body.inPlaceArchiveMailboxId
    if (typeof primary !== 'string' || !MAILBOX_ID.test(primary)) {
      throw new UpstreamBadResponse(`settings/exchange of ${address} has no usable primaryMailboxId`)
    }
    if (archive !== undefined && archive !== null && (typeof archive !== 'string' || !MAILBOX_ID.test(archive))) {
      throw new UpstreamBadResponse(`settings/exchange of ${address} has an unusable inPlaceArchiveMailboxId`)
    }
    this.primaryMbx.add(primary)
    return {
      primaryRef: primary,
      ...(typeof archive === 'string' && archive.length > 0 ? { archive: { ref: archive } } : {})
    }
  }

  private async mailbox (ref: MailboxRef, ctx?: OperationContext): Promise<GraphMailbox> {
    let mbx = ref.backendRef
    if (mbx === undefined || mbx.length === 0) {
      const d = await this.discover(ref.address)
      mbx = ref.kind === 'archive' ? d.archive?.ref : d.primaryRef
      if (mbx === undefined) {
        throw new MailboxNotFound(ref.kind === 'archive'
          ? `${ref.address} (archive)`
          : ref.address)
      }
    }
    // The MBX id is discovery's answer (already checked there): never the caller's input.
    if (!MAILBOX_ID.test(mbx)) throw new UpstreamBadResponse(`unusable Graph mailbox id for ${ref.id}`)
    const archive = ref.kind === 'archive'
    if (!archive) this.primaryMbx.add(mbx)
    const version = archive ? this.ctx.config.apiVersion.archive : this.ctx.config.apiVersion.primary
    return {
      mbx,
      version,
      archive,
      base: `${this.ctx.config.graphUrl}/${version}/admin/exchange/mailboxes/${mbx}`,
      key: `graph:${this.name}:${mbx}`,
      ...(ctx?.caller !== undefined ? { caller: ctx.caller } : {})
    }
  }

  async getFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<Folder> {
    return await this.folders.getFolder(await this.mailbox(mailbox, ctx), folder, ctx?.signal)
  }

  async listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>> {
    return await this.folders.listFolders(await this.mailbox(mailbox, ctx), request, ctx?.signal)
  }

  async createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder> {
    return await this.folders.createFolder(await this.mailbox(mailbox, ctx), request, ctx?.signal)
  }

  async renameFolder (mailbox: MailboxRef, folder: FolderRef, displayName: string,
    ctx?: OperationContext): Promise<Folder> {
    return await this.folders.renameFolder(await this.mailbox(mailbox, ctx), folder, displayName, ctx?.signal)
  }

  async deleteFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<void> {
    await this.folders.deleteFolder(await this.mailbox(mailbox, ctx), folder, ctx?.signal)
  }

  /** Normal items only: `page.associated` is MBG_ERR_NOT_SUPPORTED (GRAPH_ASSOCIATED_ITEMS), nothing is sent. */
  async listItems (mailbox: MailboxRef, folder: FolderRef, page: ListItemsRequest,
    ctx?: OperationContext): Promise<Page<ItemSummary>> {
    if (page.associated === true) throw new NotSupported(`listing folder-associated items: ${NO_ASSOCIATED_ITEMS}`)
    const graphMailbox = await this.mailbox(mailbox, ctx)
    const listed = await listItems(this.ctx, this.folders, graphMailbox, folder, page, ctx?.signal)
    // Where each item is, for MIME and property sets (whose calls name only the item: formats.ts).
    const seg = await this.folders.segment(graphMailbox, folder)
    for (const item of listed.values) this.formats.remember(graphMailbox, fromPublicId(item.id), seg)
    return listed
  }

  async listItemChanges (mailbox: MailboxRef, folder: FolderRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<ItemChange>> {
    return await listItemChanges(this.ctx, this.folders, await this.mailbox(mailbox, ctx), folder, request, ctx?.signal)
  }

  async listFolderChanges (mailbox: MailboxRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<FolderChange>> {
    return await listFolderChanges(this.ctx, this.folders, await this.mailbox(mailbox, ctx), request, ctx?.signal)
  }

  async exportBatch (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): Promise<ExportResult[]> {
    return await exportBatch(this.ctx, await this.mailbox(mailbox, ctx), itemIds, ctx?.signal)
  }

  /** An item marked `associated` gets a per-item MBG_ERR_NOT_SUPPORTED (GRAPH_ASSOCIATED_ITEMS) and is not sent. */
  async importBatch (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): Promise<ImportResult[]> {
    const refused = items.map((item, index) => item.associated === true
      ? { index, error: toItemError(new NotSupported(`import item ${item.position}: ${NO_ASSOCIATED_ITEMS}`)) }
      : undefined)
    const send = items.filter((_item, i) => refused[i] === undefined)
    if (send.length === items.length) {
      return await importBatch(this.ctx, this.folders, await this.mailbox(mailbox, ctx), items, ctx?.signal)
    }
    const sent = send.length > 0
      ? await importBatch(this.ctx, this.folders, await this.mailbox(mailbox, ctx), send, ctx?.signal)
      : []
    let k = 0
    return refused.map((r, index) => r ?? { ...sent[k++], index })
  }

  async deleteItems (mailbox: MailboxRef, ids: string[], request: DeleteRequest,
    ctx?: OperationContext): Promise<ItemWriteResult[]> {
    return await deleteItems(this.ctx, this.folders, await this.mailbox(mailbox, ctx), ids, request, ctx?.signal)
  }

  async moveItems (_mailbox: MailboxRef, _ids: string[], _targetFolder: FolderRef,
    _ctx?: OperationContext): Promise<ItemWriteResult[]> {
    return moveNotSupported()
  }

  async close (): Promise<void> {
    this.ctx.sessions.clear()
    await this.ctx.http.close()
  }
}

export function createGraphBackend (config: GraphBackendConfig, deps: GraphBackendDeps): MailboxBackend {
  return new GraphBackend(config, deps)
}
