/**
 * The Microsoft Graph adapter: MailboxBackend over the mailbox import/export API
 * (/admin/exchange/mailboxes). See /work/shared/protocol/graph.md.
 *
 * Primaries use the configured version (v1.0 by default); archives always use beta,
 * the only version that knows them. Mailbox ids come from settings/exchange (beta,
 * the only version reporting inPlaceArchiveMailboxId) and are cached.
 */
import type { Logger } from 'pino'
import { BadRequest, ConfigInvalid, MailboxNotFound, UpstreamBadResponse } from '../../errors.js'
import type { TokenProvider } from '../../auth/token-provider.js'
import type { Policy } from '../policy.js'
import type {
  CreateFolderRequest, ExportResult, Folder, FolderRef, ImportItem, ImportResult, ItemSummary, ListFoldersRequest,
  MailboxBackend, MailboxDiscovery, MailboxRef, OperationContext, Page, PageRequest
} from '../mailbox-backend.js'
import { MAILBOX_ID, type ApiVersion, type GraphContext, type GraphMailbox, type ResolvedConfig } from './context.js'
import { exportItems } from './export.js'
import { Folders } from './folders.js'
import { GraphHttp } from './http.js'
import { importItems } from './import.js'
import { ImportSessions } from './import-sessions.js'
import { listItems } from './items.js'

export interface GraphBackendConfig {
  name: string
  /** Graph origin, e.g. 'https://graph.microsoft.com' (no version). */
  graphUrl: string
  /** Default v1.0 for primaries; archives are beta-only. */
  apiVersion?: { primary: ApiVersion, archive: 'beta' }
  /** ≤ 20 (Graph's cap), default 20. */
  exportBatchSize?: number
  /** Parallel import POSTs per mailbox, default 4 (the policy caps anyway). */
  importConcurrency?: number
  /** Renew an import session this long before it expires, default 300. */
  sessionRenewBeforeSec?: number
  /** Default 5. */
  maxRedirects?: number
  /** $top / odata.maxpagesize when a request gives no limit, default 100 (clamped to 1..999). */
  pageSize?: number
  /** Default 60000. */
  timeoutMs?: number
  /** Extra CA to trust (simulators). */
  tls?: { ca?: string }
  /** Hosts (`host` or `host:port`) an importUrl may point to; default ['outlook.office365.com']. */
  allowedImportHosts?: string[]
}

export interface GraphBackendDeps {
  policy: Policy
  logger: Logger
  tokenProvider: TokenProvider
}

/** The mailbox import/export API is "Global service only" (protocol brief §1). */
const NATIONAL_CLOUDS = ['graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']

function clamp (value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value === undefined || !Number.isFinite(value) ? fallback : Math.floor(value)
  return Math.max(min, Math.min(max, v))
}

export function resolveConfig (config: GraphBackendConfig): ResolvedConfig {
  let url: URL
  try {
    url = new URL(config.graphUrl)
  } catch {
    throw new ConfigInvalid(`graphUrl of backend ${config.name} is not a URL`)
  }
  if (url.protocol !== 'https:') throw new ConfigInvalid(`graphUrl of backend ${config.name} must be https`)
  if (url.pathname !== '/' && url.pathname !== '') {
    throw new ConfigInvalid(`graphUrl of backend ${config.name} must be an origin without a path or version`)
  }
  if (NATIONAL_CLOUDS.includes(url.hostname.toLowerCase())) {
    throw new ConfigInvalid(
      `the Graph mailbox import/export API is not available in the national cloud ${url.hostname}`
    )
  }
  const primary = config.apiVersion?.primary ?? 'v1.0'
  if (primary !== 'v1.0' && primary !== 'beta') throw new ConfigInvalid('apiVersion.primary must be v1.0 or beta')
  return {
    name: config.name,
    graphOrigin: url.origin,
    primaryVersion: primary,
    archiveVersion: 'beta',
    exportBatchSize: clamp(config.exportBatchSize, 20, 1, 20),
    importConcurrency: clamp(config.importConcurrency, 4, 1, 64),
    maxRedirects: clamp(config.maxRedirects, 5, 0, 20),
    pageSize: clamp(config.pageSize, 100, 1, 999)
  }
}

interface ExchangeSettings {
  primaryMailboxId?: unknown
  inPlaceArchiveMailboxId?: unknown
}

class GraphBackend implements MailboxBackend {
  readonly type = 'graph' as const
  readonly name: string
  private readonly ctx: GraphContext
  private readonly folders: Folders
  /** MBX ids seen as primaries use the primary version; everything else (archives, aux archives) beta. */
  private readonly primaryMbx = new Set<string>()

  constructor (config: GraphBackendConfig, deps: GraphBackendDeps) {
    const resolved = resolveConfig(config)
    this.name = resolved.name
    const logger = deps.logger.child({ backend: resolved.name, backendType: 'graph' })
    const http = new GraphHttp({
      graphOrigin: resolved.graphOrigin,
      ...(config.tls?.ca !== undefined ? { ca: config.tls.ca } : {}),
      timeoutMs: clamp(config.timeoutMs, 60_000, 100, 600_000),
      maxRedirects: resolved.maxRedirects,
      tokenProvider: deps.tokenProvider,
      logger
    })
    const sessions = new ImportSessions({
      renewBeforeMs: clamp(config.sessionRenewBeforeSec, 300, 0, 86_400) * 1000,
      allowedHosts: config.allowedImportHosts ?? ['outlook.office365.com'],
      create: async (mbx) => {
        // Sessions for archives (and their auxiliary mailboxes) need beta.
        const version = this.versionOf(mbx)
        const { body } = await http.graphJson<{ importUrl?: unknown, expirationDateTime?: unknown }>({
          method: 'POST',
          url: `${resolved.graphOrigin}/${version}/admin/exchange/mailboxes/${mbx}/createImportSession`,
          body: {},
          subject: { kind: 'mailbox', ref: mbx }
        })
        return body
      }
    })
    const ctx: GraphContext = { config: resolved, http, policy: deps.policy, logger, auxMailboxes: new Map(), sessions }
    this.ctx = ctx
    this.folders = new Folders(ctx)
  }

  private versionOf (mbx: string): ApiVersion {
    return this.primaryMbx.has(mbx) ? this.ctx.config.primaryVersion : this.ctx.config.archiveVersion
  }

  async discover (address: string, _ctx?: OperationContext): Promise<MailboxDiscovery> {
    const key = address.trim().toLowerCase()
    if (key.length === 0 || key.length > 320 || /[/?#\\\s]/.test(key)) throw new BadRequest('invalid mailbox address')
    // No cache here: the router caches discoveries (with expiry) and shares concurrent lookups.
    return await this.fetchDiscovery(key)
  }

  private async fetchDiscovery (address: string): Promise<MailboxDiscovery> {
    // beta: only beta reports inPlaceArchiveMailboxId.
    const url = `${this.ctx.config.graphOrigin}/beta/users/${encodeURIComponent(address)}/settings/exchange`
    const body = await this.ctx.policy.run({ key: `graph:${this.name}:discover`, idempotent: true }, async () => {
      const { body } = await this.ctx.http.graphJson<ExchangeSettings>({
        method: 'GET',
        url,
        subject: { kind: 'mailbox', ref: address }
      })
      return body
    })
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

  private async mailbox (ref: MailboxRef, signal?: AbortSignal): Promise<GraphMailbox> {
    let mbx = ref.backendRef
    if (mbx === undefined || mbx.length === 0) {
      const d = await this.discover(ref.address)
      mbx = ref.kind === 'archive' ? d.archive?.ref : d.primaryRef
      if (mbx === undefined) {
        throw new MailboxNotFound(ref.kind === 'archive' ? `${ref.address} (archive)` : ref.address)
      }
    }
    if (!MAILBOX_ID.test(mbx)) throw new BadRequest(`invalid Graph mailbox id for ${ref.id}`)
    const archive = ref.kind === 'archive'
    if (!archive) this.primaryMbx.add(mbx)
    const version = archive ? this.ctx.config.archiveVersion : this.ctx.config.primaryVersion
    return {
      mbx,
      version,
      archive,
      base: `${this.ctx.config.graphOrigin}/${version}/admin/exchange/mailboxes/${mbx}`,
      key: `graph:${this.name}:${mbx}`
    }
  }

  async getFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<Folder> {
    return await this.folders.getFolder(await this.mailbox(mailbox, ctx?.signal), folder, ctx?.signal)
  }

  async listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>> {
    return await this.folders.listFolders(await this.mailbox(mailbox, ctx?.signal), request, ctx?.signal)
  }

  async createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder> {
    return await this.folders.createFolder(await this.mailbox(mailbox, ctx?.signal), request, ctx?.signal)
  }

  async renameFolder (mailbox: MailboxRef, folder: FolderRef, displayName: string,
    ctx?: OperationContext): Promise<Folder> {
    return await this.folders.renameFolder(await this.mailbox(mailbox, ctx?.signal), folder, displayName, ctx?.signal)
  }

  async deleteFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<void> {
    await this.folders.deleteFolder(await this.mailbox(mailbox, ctx?.signal), folder, ctx?.signal)
  }

  async listItems (mailbox: MailboxRef, folder: FolderRef, page: PageRequest,
    ctx?: OperationContext): Promise<Page<ItemSummary>> {
    return await listItems(this.ctx, this.folders, await this.mailbox(mailbox, ctx?.signal), folder, page, ctx?.signal)
  }

  async * exportItems (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): AsyncIterable<ExportResult> {
    yield * exportItems(this.ctx, await this.mailbox(mailbox, ctx?.signal), itemIds, ctx?.signal)
  }

  async * importItems (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): AsyncIterable<ImportResult> {
    yield * importItems(this.ctx, this.folders, await this.mailbox(mailbox, ctx?.signal), items, ctx?.signal)
  }

  async close (): Promise<void> {
    this.ctx.sessions.clear()
    await this.ctx.http.close()
  }
}

export function createGraphBackend (config: GraphBackendConfig, deps: GraphBackendDeps): MailboxBackend {
  return new GraphBackend(config, deps)
}
