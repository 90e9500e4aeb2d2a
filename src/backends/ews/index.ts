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
import type { ResolvedEwsBackend } from '../../config.js'
import {
  BadRequest, ChangeKeyInvalid, ConfigInvalid, FolderProtected, IdMalformed, NotSupported, OutcomeUnknown,
  UpstreamBadResponse, UpstreamThrottled, isGatewayError, toItemError, type GatewayError
} from '../../errors.js'
import { annotate } from '../../upstream/errors.js'
import type {
  Changes, ChangesRequest, FolderChange, ItemChange,
  CreateFolderRequest, DeleteRequest, ExportResult, Folder, FolderRef, ImportItem, ImportResult, ItemError,
  ItemSummary, ItemWriteResult, ListFoldersRequest, ListItemsRequest, MailboxBackend, MailboxDiscovery, MailboxRef,
  OperationContext, Page, MimeItem, ReadPropertiesOptions, PropertiesItem, MimeContent, CreatedItem, ItemProperties
} from '../mailbox-backend.js'
import { budgetsOf, type CallOptions, type Policy } from '../policy.js'
import { EwsClient } from './client.js'
import { encodeBase64 } from './base64-bytes.js'
import {
  backOffMs, CHANGE_KEY_CODES, createErrorForCode, errorForCode, isRetryableCode, uploadErrorForCode,
  type CodeContext
} from './errors.js'
import { CONTACT_MIME_IMPORT_REASON, EWS_FORMATS, MIME_TYPE_OF_KIND, TASK_MIME_REASON } from './formats.js'
import { fromPublicId, shortId, toPublicId, tryFromPublicId } from './ids.js'
import {
  compareFolderKeys, creationKey, decodeFolderCursor, decodeItemCursor, distinguishedName, encodeFolderCursor,
  encodeItemCursor, readFolder, readItemSummary, rootName, seenHash, type EwsFolder
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
import { buildCreateItem, buildCreateItemFromMime, readCreated } from './operations/create-item.js'
import { buildDeleteFolder } from './operations/delete-folder.js'
import { buildDeleteItem } from './operations/delete-item.js'
import { buildExportItems, readExported } from './operations/export-items.js'
import { buildFindFolder } from './operations/find-folder.js'
import { buildFindItem } from './operations/find-item.js'
import { buildGetAttachment, readFileContent } from './operations/get-attachment.js'
import { buildGetFolder } from './operations/get-folder.js'
import { buildGetItemMime, buildGetItemProperties, readItemNode, readMime } from './operations/get-item.js'
import { buildMoveItem, readMovedId } from './operations/move-item.js'
import {
  buildSyncFolderHierarchy, buildSyncFolderItems, readFolderChanges, readItemChanges, type SyncPage
} from './operations/sync.js'
import { buildRenameFolder } from './operations/update-folder.js'
import { buildUploadItems, readUploaded, type UploadEntry } from './operations/upload-items.js'
import { extendedFieldsToRead, KIND_OF_ELEMENT, own, readItemProperties, writeItem } from './properties.js'
import { NS, child, childrenOf, notXmlText, xmlByteLength, type XmlBody, type XmlNode } from './soap/xml.js'

/**
 * The adapter's settings, resolved once at the edge (src/config.ts, resolveEwsBackend):
 * defaults filled in, secrets and CA files read. Taken as is.
 */
export type EwsBackendConfig = ResolvedEwsBackend

export interface EwsBackendDeps {
  policy: Policy
  /** Bound to `{ backend: <name> }` by src/backends/factory.ts: log objects do not name the backend again. */
  logger: Logger
  tokenProvider?: TokenProvider
}

export function createEwsBackend (config: EwsBackendConfig, deps: EwsBackendDeps): MailboxBackend {
  return new EwsBackend(config, deps)
}

/** Exchange's default EWSFindCountLimit: a Find* page never holds more (ews.md §0.6). */
const MAX_FIND_WINDOW = 1000
/** Most items of one creation second an item cursor remembers (the page token has to stay under 8 KiB). */
const MAX_BOUNDARY = 600
/** FindFolder calls for one listing before the server is deemed never to finish. */
const MAX_FIND_CALLS = 10_000
/** Reads of a folder listing that changed while it was read, before the last one is used as is. */
const FOLDER_READS = 3

/** Most base64 bytes of item data per UploadItems call. */
const UPLOAD_BATCH_BYTES = 16 * 1024 * 1024
/**
 * Most ids per DeleteItem or MoveItem call. The operations document no cap on ids; Exchange runs a batch request
 * for at most about a minute (ews.md §0.8), so calls stay small.
 */
const WRITE_BATCH_ITEMS = 50

type Resolved = { ok: true, target: FolderTarget } | { ok: false, error: ItemError }

export class EwsBackend implements MailboxBackend {
  readonly type = 'ews' as const
  readonly name: string
  private readonly client: EwsClient
  private readonly policy: Policy
  private readonly logger: Logger
  private readonly impersonation: boolean
  /**
   * ExportItems: `exportBatchSize` ids a call; UploadItems: `uploadBatchSize` items and UPLOAD_BATCH_BYTES a call,
   * no item larger than `maxItemBytes`.
   */
  readonly limits: MailboxBackend['limits']
  /**
   * Folder-associated items: FindItem `Traversal="Associated"`, ExportItems, UploadItems `IsAssociated`. Formats:
   * MIME and property sets as EWS documents them per kind (formats.ts).
   */
  readonly capabilities: MailboxBackend['capabilities'] = {
    associatedItems: { supported: true },
    formats: EWS_FORMATS
  }

  private readonly pageSize: number
  /** The server version asked for is Exchange 2013 or later: item:TextBody, item:Flag (RequestServerVersion). */
  private readonly since2013: boolean
  /** …Exchange 2010 or later: a calendar item's t:StartTimeZone / t:EndTimeZone. */
  private readonly since2010: boolean
  /** `${address}|${distinguished}` → EWS FolderId. Folder ids never change (ews.md §5), so no expiry. */
  private readonly folderIds = new Map<string, string>()

  constructor (config: EwsBackendConfig, deps: EwsBackendDeps) {
    if (config.auth.kind === 'oauth' && deps.tokenProvider === undefined) {
      throw new ConfigInvalid(`${config.name}: oauth needs a token provider`)
    }
    this.name = config.name
    this.policy = deps.policy
    this.logger = deps.logger
    this.impersonation = config.impersonation
    const concurrency = deps.policy.options.concurrency
    deps.policy.register(config.name, {
      concurrency: config.maxConcurrency,
      ...(config.budgets !== undefined ? { budgets: budgetsOf(config.budgets) } : {})
    })
    this.limits = {
      export: { maxItems: config.exportBatchSize, maxBytes: Infinity, concurrency },
      import: {
        maxItems: config.uploadBatchSize, maxBytes: UPLOAD_BATCH_BYTES, concurrency, maxItemBytes: config.maxItemBytes
      },
      delete: { maxItems: WRITE_BATCH_ITEMS, maxBytes: Infinity, concurrency },
      move: { maxItems: WRITE_BATCH_ITEMS, maxBytes: Infinity, concurrency }
    }
    this.pageSize = config.pageSize
    this.since2013 = !/^Exchange(2007|2009|2010)/.test(config.serverVersion)
    this.since2010 = !/^Exchange(2007|2009)/.test(config.serverVersion)
    this.client = new EwsClient(config, deps.logger, deps.tokenProvider)
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

  /**
   * Error context for a folder call about `ref`: an id is the caller's (a foreign one is "not found in this
   * mailbox"); a well-known name is the caller's choice but the gateway's spelling (CodeContext, Source).
   */
  private folderContext (ref: FolderRef): Omit<CodeContext, 'address' | 'values'> {
    return { about: 'folder', subject: this.subject(ref), idFrom: 'id' in ref ? 'caller' : 'wellKnown' }
  }

  /**
   * One call through the policy. `check` runs inside the retried function so a
   * per-message throttling code (ErrorServerBusy in a ResponseMessage) is retried like a fault.
   */
  private async invoke<T> (
    address: string, op: string, body: XmlBody,
    opts: {
      idempotent: boolean
      signal?: AbortSignal | undefined
      caller?: string | undefined
      alone?: boolean
      /** The answer carries item data (EwsClient CallOptions `itemData`). */
      itemData?: boolean
      /** The request carries the caller's item data (EwsClient CallOptions `callerData`). */
      callerData?: boolean
    },
    check: (response: XmlNode, attempt: number) => T
  ): Promise<T> {
    // Requests that carry item data into the mailbox count against its upload budget.
    const uploads = op === 'UploadItems' || (op === 'CreateItem' && opts.callerData === true)
    const transfer = {
      ...(opts.itemData === true ? { itemData: true } : {}),
      ...(opts.callerData === true ? { callerData: true } : {})
    }
    return await this.policy.run(
      {
        ...this.callOptions(address, op, opts),
        ...(uploads ? { cost: { uploadBytes: xmlByteLength(body) } } : {})
      },
      async (attempt) => {
        try {
          return await this.callOnce(address, op, body, opts.signal, (response) => check(response, attempt), transfer)
        } catch (err) {
          if (opts.alone === true && opts.idempotent && attempt < this.policy.options.maxAttempts) throw retryAlone(err)
          throw err
        }
      }
    )
  }

  /** What the policy needs to know of a call (src/backends/policy.ts CallOptions), but its cost. */
  private callOptions (address: string, op: string,
    opts: { idempotent: boolean, signal?: AbortSignal | undefined, caller?: string | undefined }): CallOptions {
    return {
      backend: this.name,
      operation: op,
      key: this.key(address),
      idempotent: opts.idempotent,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.caller !== undefined ? { caller: opts.caller } : {})
    }
  }

  /** One HTTP exchange, no policy: only for use inside a `policy.run` callback. */
  private async callOnce<T> (address: string, op: string, body: XmlBody, signal: AbortSignal | undefined,
    check: (response: XmlNode) => T, transfer: { itemData?: boolean, callerData?: boolean } = {}): Promise<T> {
    const response = await this.client.call(op, address, body,
      { ...transfer, ...(signal !== undefined ? { signal } : {}) })
    try {
      return check(response)
    } catch (err) {
      if (err instanceof ResponseShapeError) {
        this.logger.warn(
          { op, mailbox: address, problem: err.message },
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
      caller?: string | undefined
      context: (index: number) =>
      Omit<CodeContext, 'address' | 'values'>
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
  private async resolveDistinguished (mailbox: MailboxRef, name: string, ctx?: OperationContext): Promise<string> {
    const cached = this.folderIds.get(this.cacheKey(mailbox, name))
    if (cached !== undefined) return cached
    const [message] = await this.invokeAll(
      mailbox.address,
      'GetFolder',
      buildGetFolder([this.distinguished(mailbox, name)], 'IdOnly'),
      1,
      {
        idempotent: true,
        signal: ctx?.signal,
        caller: ctx?.caller,
        context: () => ({ about: 'folder', subject: name, idFrom: 'wellKnown' })
      }
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

  // ------------------------------------------------------------------ formats

  /**
   * One item as MIME: GetItem IdOnly with IncludeMimeContent, the item class and the subject
   * (operations/get-item.ts). The MIME is decoded once from the answer (a large one from its bytes) and handed
   * back as it came: a message as .eml, a calendar item as .ics, a contact as .vcf (formats.ts). A task, or an
   * item of a type no kind maps (t:Item, t:PostItem, t:DistributionList), is 501 MBG_ERR_NOT_SUPPORTED: Microsoft
   * documents no MIME format for them, whatever the server sends. An id this adapter did not make is 400
   * MBG_ERR_ID_MALFORMED; an unknown item 404 MBG_ERR_ITEM_NOT_FOUND; MIME the server cannot make
   * (ErrorUnsupportedMimeConversion) 501, (ErrorMimeContentConversionFailed) 502.
   */
  async getItemMime (mailbox: MailboxRef, itemId: string, ctx?: OperationContext): Promise<MimeItem> {
    const ewsId = fromPublicId(itemId)
    const subject = shortId(itemId)
    const address = mailbox.address
    const read = await this.invoke(address, 'GetItem', buildGetItemMime(ewsId),
      { idempotent: true, itemData: true, signal: ctx?.signal, caller: ctx?.caller }, (response) => {
        const [m] = responseMessages(response, 'GetItem', 1)
        if (!isSuccess(m)) {
          if (m.code === 'ErrorUnsupportedMimeConversion') {
            throw annotate(new NotSupported(`EWS has no MIME conversion for item ${subject}`), { upstreamCode: m.code })
          }
          throw errorForCode(m.code, { about: 'item', subject, address, values: m.values })
        }
        const r = readMime(m)
        if ('problem' in r) throw new ResponseShapeError(`GetItem answered for item ${subject} with ${r.problem}`)
        return r
      })
    const kind = own(KIND_OF_ELEMENT, read.element)
    if (kind === 'task') throw new NotSupported(TASK_MIME_REASON)
    if (kind === undefined) {
      throw new NotSupported('EWS documents MIME streams for email, calendar items and contacts, not for ' +
        `t:${read.element} items`)
    }
    return {
      itemId: toPublicId(read.id),
      kind,
      contentType: MIME_TYPE_OF_KIND[kind],
      data: read.data,
      ...(read.subject !== undefined ? { subject: read.subject } : {})
    }
  }

  /**
   * One item as its property set: GetItem AllProperties with BodyType Best, TextBody and Flag (Exchange 2013+),
   * attachment metadata and the extended properties asked for (operations/get-item.ts), mapped as properties.ts
   * says; with `attachmentContent`, one GetAttachment for the file attachments' content (base64, passed on as
   * the server wrote it). Errors as getItemMime; an extended property EWS refuses to read is 400
   * MBG_ERR_BAD_REQUEST; a type no kind maps 501.
   */
  async getItemProperties (mailbox: MailboxRef, itemId: string, options: ReadPropertiesOptions,
    ctx?: OperationContext): Promise<PropertiesItem> {
    const ewsId = fromPublicId(itemId)
    const subject = shortId(itemId)
    const address = mailbox.address
    const requested = options.extendedProperties ?? []
    const body = buildGetItemProperties(ewsId,
      { textBody: this.since2013, flag: this.since2013, extended: extendedFieldsToRead(requested) })
    // The body is item data (an HTML body with inline images runs to megabytes): read under the dataBytes cap.
    const read = await this.invoke(address, 'GetItem', body,
      { idempotent: true, itemData: true, signal: ctx?.signal, caller: ctx?.caller }, (response) => {
        const [m] = responseMessages(response, 'GetItem', 1)
        if (!isSuccess(m)) {
          if (requested.length > 0 && /^ErrorInvalidExtendedProperty(Value)?$/.test(m.code)) {
            throw annotate(new BadRequest(`EWS refused an extended property asked for (${m.code})`),
              { upstreamCode: m.code })
          }
          throw errorForCode(m.code, { about: 'item', subject, address, values: m.values })
        }
        const node = readItemNode(m)
        if (node === undefined) throw new ResponseShapeError(`GetItem answered for item ${subject} with no item`)
        return readItemProperties(node, requested)
      })
    if (read.omitted.length > 0) {
      this.logger.warn({ mailbox: address, itemId: subject, fields: read.omitted },
        'GetItem: recipients without an e-mail address left out of the property set')
    }
    const attachments = read.item.attachments
    if (options.attachmentContent === true && attachments !== undefined && read.fileAttachments.length > 0) {
      const contents = await this.fileContents(address, read.fileAttachments.map((f) => f.id), subject, ctx)
      read.fileAttachments.forEach((f, k) => { attachments[f.index].contentBytes = contents[k] })
    }
    return {
      itemId: toPublicId(read.id),
      ...(read.changeKey !== undefined ? { changeKey: read.changeKey } : {}),
      item: read.item
    }
  }

  /** The content (base64) of file attachments, in order: one GetAttachment (operations/get-attachment.ts). */
  private async fileContents (address: string, ids: string[], subject: string,
    ctx: OperationContext | undefined): Promise<string[]> {
    return await this.invoke(address, 'GetAttachment', buildGetAttachment(ids),
      { idempotent: true, itemData: true, signal: ctx?.signal, caller: ctx?.caller }, (response) =>
        responseMessages(response, 'GetAttachment', ids.length).map((m, k) => {
          const what = `${subject} (attachment ${k})`
          if (!isSuccess(m)) throw errorForCode(m.code, { about: 'item', subject: what, address, values: m.values })
          const read = readFileContent(m)
          if ('problem' in read) {
            throw new ResponseShapeError(`GetAttachment answered for item ${what} with ${read.problem}`)
          }
          return read.contentBytes
        }))
  }

  /**
   * Creates a message (.eml: stored read and not a draft, PidTagMessageFlags set) or a calendar item (.ics,
   * SendMeetingInvitations="SendToNone") in `folder` from MIME: CreateItem with MimeContent
   * (operations/create-item.ts). A vCard is 501 MBG_ERR_NOT_SUPPORTED (EWS imports no contact from MIME); MIME the
   * server refuses is 422 MBG_ERR_DATA_INVALID; errors otherwise as `create`.
   */
  async createItemFromMime (mailbox: MailboxRef, folder: FolderRef, content: MimeContent,
    ctx?: OperationContext): Promise<CreatedItem> {
    if (content.contentType === 'text/vcard') throw new NotSupported(CONTACT_MIME_IMPORT_REASON)
    if (content.data.length === 0) throw new BadRequest('the MIME content is empty')
    const element = content.contentType === 'message/rfc822' ? 'Message' : 'CalendarItem'
    const body = buildCreateItemFromMime(this.target(mailbox, folder), element, encodeBase64(content.data))
    return await this.create(mailbox, folder, body, ctx)
  }

  /**
   * Creates a message (not a draft), calendar item (no invitations sent; UID as given), contact or task in
   * `folder` from its property set: CreateItem with the item element properties.ts writes (its errors: 400, 422,
   * 501 for what the item or the server version cannot have). Errors otherwise as `create`.
   */
  async createItemFromProperties (mailbox: MailboxRef, folder: FolderRef, item: ItemProperties,
    ctx?: OperationContext): Promise<CreatedItem> {
    const write = writeItem(item, { flag: this.since2013, timeZoneDefinition: this.since2010 })
    const body = buildCreateItem(this.target(mailbox, folder), write.element, write.xml, write.contents)
    return await this.create(mailbox, folder, body, ctx)
  }

  /**
   * One CreateItem of caller data, never sent again after a lost answer (`idempotent: false`: the policy then
   * answers MBG_ERR_OUTCOME_UNKNOWN). Folder trouble is the folder's (404 MBG_ERR_FOLDER_NOT_FOUND, 400 for a
   * malformed id), the rest the new item's (errors.ts createErrorForCode). A success without an ItemId is
   * MBG_ERR_OUTCOME_UNKNOWN: the item exists, and the gateway cannot name it.
   */
  private async create (mailbox: MailboxRef, folder: FolderRef, body: XmlBody,
    ctx: OperationContext | undefined): Promise<CreatedItem> {
    const address = mailbox.address
    const created = await this.invoke(address, 'CreateItem', body,
      { idempotent: false, callerData: true, signal: ctx?.signal, caller: ctx?.caller }, (response) => {
        const [m] = responseMessages(response, 'CreateItem', 1)
        if (isSuccess(m)) return readCreated(m)
        if (m.code === 'ErrorUnsupportedMimeConversion') {
          throw annotate(new NotSupported('EWS has no MIME conversion for this content'), { upstreamCode: m.code })
        }
        throw createErrorForCode(m.code,
          { folder: this.subject(folder), folderWellKnown: 'wellKnown' in folder, address, values: m.values })
      })
    if ('problem' in created) {
      throw new OutcomeUnknown(`CreateItem answered success with ${created.problem}: the item was created, ` +
        'and the backend did not say which it is')
    }
    return {
      itemId: toPublicId(created.id),
      ...(created.changeKey !== undefined ? { changeKey: created.changeKey } : {})
    }
  }

  // ------------------------------------------------------------------ discovery

  async discover (address: string, ctx?: OperationContext): Promise<MailboxDiscovery> {
    const primary: MailboxRef = { id: address, address, type: 'ews', kind: 'primary', backend: this.name }
    const body = buildGetFolder(
      [this.distinguished(primary, 'msgfolderroot'), this.distinguished(primary, 'archivemsgfolderroot')],
      'IdOnly'
    )
    const opts = { idempotent: true, signal: ctx?.signal, caller: ctx?.caller }
    return await this.invoke(address, 'GetFolder', body, opts, (response) => {
      const [root, archive] = responseMessages(response, 'GetFolder', 2)
      if (!isSuccess(root)) {
        throw errorForCode(root.code,
          { about: 'request', subject: 'msgfolderroot', address, values: root.values })
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
      caller: ctx?.caller,
      context: (i) => i === 0 ? this.folderContext(ref) : { about: 'folder', subject: 'root', idFrom: 'gateway' }
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

  /**
   * One page of folders (the whole tree below root, or one level below `parentId`), at most
   * `limit` (≤ pageSize) entries, ordered by depth then public id (parents before subfolders).
   * FindFolder has no SortOrder and new folders can land anywhere in its order, so every page
   * reads the whole listing (allFolders) and returns the folders that sort after the cursor's:
   * a folder present throughout (and not moved) is listed exactly once.
   */
  async listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>> {
    const after = decodeFolderCursor(request.cursor)
    const max = Math.max(1, Math.min(request.limit, this.pageSize))
    const parent =
      request.parentId !== undefined
        ? this.target(mailbox, request.parentId)
        : this.distinguished(mailbox, rootName(mailbox))
    const traversal = request.parentId !== undefined ? 'Shallow' : 'Deep'
    // The whole tree is below the root the gateway looks up on its own.
    const context: Omit<CodeContext, 'address' | 'values'> = request.parentId !== undefined
      ? this.folderContext(request.parentId)
      : { about: 'folder', subject: 'root', idFrom: 'gateway' }
    const all = await this.allFolders(mailbox.address, parent, traversal, context, ctx)
    const rest = after === undefined ? all : all.filter((f) => compareFolderKeys(f, after) > 0)
    const page = rest.slice(0, max)
    const values = page.map((f) => f.folder)
    if (rest.length <= max) return { values }
    const last = page[page.length - 1]
    return { values, nextCursor: encodeFolderCursor({ depth: last.depth, id: last.id }) }
  }

  /**
   * Every folder of one FindFolder listing, deduplicated, with its depth in the listing (parent
   * chain through ParentFolderId; 0 when the parent is not in it), sorted by (depth, id). Pages of
   * `pageSize` until IncludesLastItemInRange; an answer that cannot advance is thrown by
   * readRootFolder. When the tree changes between those calls (TotalItemsInView differs),
   * the read starts over, at most FOLDER_READS times; after that the union read is used.
   */
  private async allFolders (
    address: string, parent: FolderTarget, traversal: 'Deep' | 'Shallow',
    context: Omit<CodeContext, 'address' | 'values'>, ctx: OperationContext | undefined
  ): Promise<Array<{ folder: Folder, depth: number, id: string }>> {
    const byId = new Map<string, Folder>()
    for (let attempt = 1; ; attempt++) {
      byId.clear()
      let offset = 0
      let total: number | undefined
      let changed = false
      for (let calls = 0; ; calls++) {
        if (calls >= MAX_FIND_CALLS) {
          throw new UpstreamBadResponse(`FindFolder: still not at the end after ${calls} pages`)
        }
        const body = buildFindFolder(parent, traversal, offset, this.pageSize)
        const [message] = await this.invokeAll(address, 'FindFolder', body, 1,
          { idempotent: true, signal: ctx?.signal, caller: ctx?.caller, context: () => context })
        const page = readRootFolder(message, 'Folders', offset)
        for (const node of page.nodes) {
          const read = readFolder(node, undefined)
          // A folder the caller cannot address would vanish from the tree unnoticed: the page is a bad answer instead.
          if (read === undefined) throw new UpstreamBadResponse('FindFolder: a folder without FolderId')
          byId.set(read.folder.id, read.folder)
        }
        if (total !== undefined && page.total !== undefined && page.total !== total) changed = true
        total = page.total ?? total
        if (page.nextOffset === undefined) break
        offset = page.nextOffset
      }
      if (!changed || attempt >= FOLDER_READS) break
    }
    const depths = new Map<string, number>()
    const depthOf = (folder: Folder): number => {
      const known = depths.get(folder.id)
      if (known !== undefined) return known
      depths.set(folder.id, 0) // a parent cycle in a broken answer ends here
      const parentFolder = folder.parentId !== null ? byId.get(folder.parentId) : undefined
      const depth = parentFolder !== undefined ? depthOf(parentFolder) + 1 : 0
      depths.set(folder.id, depth)
      return depth
    }
    return [...byId.values()]
      .map((folder) => ({ folder, depth: depthOf(folder), id: folder.id }))
      .sort(compareFolderKeys)
  }

  // ------------------------------------------------------------------ changes

  /**
   * Item changes of one folder: one SyncFolderItems call (ews.md §6.10) of at most `limit` (≤ 512,
   * MaxChangesReturned) changes, normal items, IdOnly + the ItemSummary fields. The cursor is the
   * SyncState, verbatim; `more` is the answer's IncludesLastItemInRange negated. A SyncState the server
   * refuses (ErrorInvalidSyncStateData) is a 410 MBG_ERR_CURSOR_EXPIRED.
   */
  async listItemChanges (mailbox: MailboxRef, ref: FolderRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<ItemChange>> {
    const body = buildSyncFolderItems(this.target(mailbox, ref), syncState(request.cursor), request.limit)
    return await this.sync(mailbox.address, 'SyncFolderItems', body, this.folderContext(ref), readItemChanges, ctx)
  }

  /**
   * Folder changes below `root`: one SyncFolderHierarchy call (ews.md §6.5) on the IPM subtree root
   * (`msgfolderroot`, or `archivemsgfolderroot` in an archive), IdOnly + the Folder fields. SyncFolderHierarchy
   * takes no page size: an answer holds what the server puts in one (`limit` is not sent).
   */
  async listFolderChanges (mailbox: MailboxRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<FolderChange>> {
    const root = this.distinguished(mailbox, rootName(mailbox))
    const body = buildSyncFolderHierarchy(root, syncState(request.cursor))
    return await this.sync(mailbox.address, 'SyncFolderHierarchy', body,
      { about: 'folder', subject: 'root', idFrom: 'gateway' }, readFolderChanges, ctx)
  }

  /** One Sync* call through the policy (a read: idempotent), its one message read by `read`. */
  private async sync<T> (address: string, op: string, body: string, context: Omit<CodeContext, 'address' | 'values'>,
    read: (message: ResponseMessage) => SyncPage<T>, ctx: OperationContext | undefined): Promise<Changes<T>> {
    const [message] = await this.invokeAll(address, op, body, 1,
      { idempotent: true, signal: ctx?.signal, caller: ctx?.caller, context: () => context })
    const page = read(message)
    return { changes: page.changes, cursor: page.state, more: !page.last }
  }

  async createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder> {
    const parentRef: FolderRef = request.parentId ?? { wellKnown: 'root' }
    const folderClass = request.folderClass ?? 'IPF.Note'
    // Resolve the parent first: the Folder we return names it by id, and failures happen before the
    // (non-idempotent) create.
    const parentId = 'wellKnown' in parentRef
      ? await this.resolveDistinguished(mailbox, distinguishedName(mailbox, parentRef.wellKnown), ctx)
      : fromPublicId(parentRef.id)
    // Errors are about the parent (not found, malformed, another mailbox's), except a name conflict, which names
    // the new name.
    const [message] = await this.invokeAll(mailbox.address, 'CreateFolder', buildCreateFolder({ id: parentId },
      request.displayName, folderClass), 1, {
      idempotent: false,
      signal: ctx?.signal,
      caller: ctx?.caller,
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
          mailbox: mailbox.address,
          folder: ref.id,
          errCode: isGatewayError(err) ? err.code : undefined
        },
        'could not read back a folder just written'
      )
      return fallback()
    }
  }

  /**
   * Renames a folder. The ChangeKey that guards the update is one the gateway reads just before, never
   * the caller's: when the server refuses it (invalid, stale, conflicting: CHANGE_KEY_CODES), the folder
   * is read again and the update sent once more; refused again, it is a 409 MBG_ERR_CHANGE_KEY_CONFLICT.
   */
  async renameFolder (mailbox: MailboxRef, ref: FolderRef, displayName: string,
    ctx?: OperationContext): Promise<Folder> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    for (let attempt = 1; ; attempt++) {
      // Read first: the current ChangeKey guards the update, and the root of the tree is refused here.
      const current = await this.readFolderRef(mailbox, ref, ctx)
      if (current.folder.parentId === null) throw new FolderProtected(ref.id)
      const body = buildRenameFolder(fromPublicId(ref.id), current.changeKey, displayName)
      // Setting the same name twice is harmless: after a lost answer the policy may send it again (the server then
      // refuses the used ChangeKey, and the folder is read again above).
      const opts = { idempotent: true, signal: ctx?.signal, caller: ctx?.caller }
      const done = await this.invoke(mailbox.address, 'UpdateFolder', body, opts, (response) => {
        const [m] = responseMessages(response, 'UpdateFolder', 1)
        if (isSuccess(m)) return true
        // Exchange refuses to rename default folders with an access error; we could read the folder, so that is
        // what it means.
        if (m.code === 'ErrorAccessDenied') throw annotate(new FolderProtected(ref.id), { upstreamCode: m.code })
        if (attempt === 1 && CHANGE_KEY_CODES.has(m.code)) {
          this.logger.debug({ mailbox: mailbox.address, folder: ref.id, upstreamCode: m.code },
            'rename: change key refused, reading the folder again')
          return false
        }
        throw errorForCode(m.code, {
          ...this.folderContext(ref),
          name: displayName,
          changeKeyFrom: 'gateway',
          address: mailbox.address,
          values: m.values
        })
      })
      if (done) return await this.readBack(mailbox, ref, ctx, () => ({ ...current.folder, displayName }))
    }
  }

  async deleteFolder (mailbox: MailboxRef, ref: FolderRef, ctx?: OperationContext): Promise<void> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const ewsId = fromPublicId(ref.id)
    await this.invoke(mailbox.address, 'DeleteFolder', buildDeleteFolder(ewsId),
      { idempotent: true, signal: ctx?.signal, caller: ctx?.caller }, (response, attempt) => {
        const [m] = responseMessages(response, 'DeleteFolder', 1)
        if (isSuccess(m)) return
        // A retry after a lost response finds the folder already gone: that is the outcome we wanted.
        if (attempt > 1 && (m.code === 'ErrorFolderNotFound' || m.code === 'ErrorItemNotFound')) return
        throw errorForCode(m.code, { ...this.folderContext(ref), address: mailbox.address, values: m.values })
      })
  }

  // ------------------------------------------------------------------ items

  /**
   * One page of item summaries, oldest first, at most `limit` (≤ pageSize) entries, as a keyset
   * listing (find-item.ts, mapping.ts ItemCursor): an item present during the whole listing is
   * listed exactly once, whatever arrives or leaves meanwhile. A window of `max` + (items already
   * returned at the cursor's second) entries always holds `max` new ones when it is full, so
   * an answer with more to come but nothing new cannot be advanced from: MBG_ERR_UPSTREAM_BAD_RESPONSE.
   * `page.associated`: the folder-associated items instead (Traversal="Associated"), each marked `associated`.
   */
  async listItems (mailbox: MailboxRef, ref: FolderRef, page: ListItemsRequest,
    ctx?: OperationContext): Promise<Page<ItemSummary>> {
    const cursor = decodeItemCursor(page.cursor)
    const max = Math.max(1, Math.min(page.limit, this.pageSize))
    const seen = cursor?.seen ?? new Set<string>()
    const window = Math.min(MAX_FIND_WINDOW, max + seen.size)
    const associated = page.associated === true
    const body = buildFindItem(this.target(mailbox, ref), window, cursor?.key, associated ? 'Associated' : 'Shallow')
    const [message] = await this.invokeAll(mailbox.address, 'FindItem', body, 1,
      { idempotent: true, signal: ctx?.signal, caller: ctx?.caller, context: () => this.folderContext(ref) })
    const result = readRootFolder(message, 'Items', 0)
    const fresh: Array<{ summary: ItemSummary, key: string }> = []
    let previous = cursor?.key
    for (const node of result.nodes) {
      // Throws for an item without Id, ChangeKey or Size, or with a malformed time: never skipped, never made up.
      const read = readItemSummary(node)
      const summary: ItemSummary = associated ? { ...read, associated: true as const } : read
      const key = creationKey(summary.created)
      if (key === undefined) throw new ResponseShapeError('FindItem: an item without a readable DateTimeCreated')
      if (previous !== undefined && key < previous) {
        throw new ResponseShapeError('FindItem: items not in the DateTimeCreated order asked for')
      }
      previous = key
      if (key === cursor?.key && seen.has(seenHash(summary.id))) continue
      fresh.push({ summary, key })
    }
    const values = fresh.slice(0, max)
    const more = !result.last || fresh.length > max
    if (!more) return { values: values.map((v) => v.summary) }
    if (values.length === 0) {
      throw new UpstreamBadResponse('FindItem announced more items but returned none not listed already ' +
        `(window ${window}, ${seen.size} at the boundary)`)
    }
    const key = values[values.length - 1].key
    const boundary = new Set(key === cursor?.key ? seen : [])
    for (const v of values) if (v.key === key) boundary.add(seenHash(v.summary.id))
    if (boundary.size > MAX_BOUNDARY) {
      throw new UpstreamBadResponse(`more than ${MAX_BOUNDARY} items created within the second ${key}: ` +
        'the listing cannot go on without repeating or skipping items')
    }
    return { values: values.map((v) => v.summary), nextCursor: encodeItemCursor({ key, seen: boundary }) }
  }

  async exportBatch (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): Promise<ExportResult[]> {
    const decoded = itemIds.map((id) => tryFromPublicId(id))
    const valid: number[] = []
    decoded.forEach((ews, i) => { if (ews !== undefined) valid.push(i) })
    const exported =
      valid.length > 0
        ? await this.exportChunk(
          mailbox,
          valid.map((i) => decoded[i] as string),
          valid.map((i) => itemIds[i]),
          ctx
        )
        : []
    // An error (with its stack) only for the ids that did not decode: made for every id, it was 4 % of an export.
    const out: Array<ExportResult | undefined> = new Array(itemIds.length).fill(undefined)
    valid.forEach((i, k) => { out[i] = exported[k] })
    return out.map((r, i) => r ?? { itemId: itemIds[i], error: toItemError(new IdMalformed(shortId(itemIds[i]))) })
  }

  private async exportChunk (mailbox: MailboxRef, ids: string[], publicIds: string[],
    ctx?: OperationContext): Promise<ExportResult[]> {
    const address = mailbox.address
    const toResult = (m: ResponseMessage, i: number): ExportResult => {
      if (isSuccess(m)) {
        const read = readExported(m)
        // An unusable answer for one item is that item's failure, never a success and never the call's.
        if ('problem' in read) {
          const problem = `ExportItems answered for item ${shortId(publicIds[i])} with ${read.problem}`
          return { itemId: publicIds[i], error: toItemError(new UpstreamBadResponse(problem)) }
        }
        return { itemId: toPublicId(read.item.id), changeKey: read.item.changeKey, data: read.item.data }
      }
      return { itemId: publicIds[i], error: this.itemError(m, shortId(publicIds[i]), address) }
    }
    const messages = await this.invoke(address, 'ExportItems', buildExportItems(ids),
      { idempotent: true, signal: ctx?.signal, caller: ctx?.caller, alone: ids.length === 1 },
      (r) => responseMessages(r, 'ExportItems', ids.length))
    return await this.retryIndividually(address, 'ExportItems', messages, ctx, {
      body: (i) => buildExportItems([ids[i]]),
      idempotent: () => true,
      toResult,
      onError: (i, err) => ({ itemId: publicIds[i], error: toItemError(err) })
    })
  }

  /**
   * DeleteItem for one batch (operations/delete-item.ts). Ids the adapter cannot have issued get a per-item 400
   * and are not sent. Deleting twice leaves the same state, so the call is idempotent for the policy: after a lost
   * answer it is sent again, and an item then answered ErrorItemNotFound was deleted by the lost attempt (or never
   * existed: the end state is the same) and is reported deleted. On a first attempt ErrorItemNotFound is the
   * item's 404 MBG_ERR_ITEM_NOT_FOUND (an unknown id, or one already deleted).
   */
  async deleteItems (mailbox: MailboxRef, ids: string[], request: DeleteRequest,
    ctx?: OperationContext): Promise<ItemWriteResult[]> {
    const address = mailbox.address
    return await this.writeBatch(ids, async (ewsIds, publicIds) => {
      let lost = false
      const messages = await this.invoke(address, 'DeleteItem', buildDeleteItem(ewsIds, request.mode),
        { idempotent: true, signal: ctx?.signal, caller: ctx?.caller }, (r, attempt) => {
          lost = attempt > 1
          return responseMessages(r, 'DeleteItem', ewsIds.length)
        })
      const toResult = (m: ResponseMessage, i: number): ItemWriteResult => {
        if (isSuccess(m) || (lost && m.code === 'ErrorItemNotFound')) return { id: publicIds[i], status: 'deleted' }
        return { id: publicIds[i], error: this.itemError(m, shortId(publicIds[i]), address) }
      }
      return await this.retryIndividually(address, 'DeleteItem', messages, ctx, {
        body: (i) => buildDeleteItem([ewsIds[i]], request.mode),
        idempotent: () => true,
        toResult,
        onError: (i, err) => ({ id: publicIds[i], error: toItemError(err) })
      })
    })
  }

  /**
   * MoveItem for one batch into `targetFolder` (operations/move-item.ts); a well-known name goes as a
   * DistinguishedFolderId. Never sent again after a lost answer: the items may have moved (and have new ids), so
   * the policy answers MBG_ERR_OUTCOME_UNKNOWN for the call. A target folder EWS cannot find fails each item with
   * the folder's 404; an item it cannot find is that item's 404.
   */
  async moveItems (mailbox: MailboxRef, ids: string[], targetFolder: FolderRef,
    ctx?: OperationContext): Promise<ItemWriteResult[]> {
    const address = mailbox.address
    const target = this.target(mailbox, targetFolder)
    return await this.writeBatch(ids, async (ewsIds, publicIds) => {
      const messages = await this.invoke(address, 'MoveItem', buildMoveItem(target, ewsIds),
        { idempotent: false, signal: ctx?.signal, caller: ctx?.caller },
        (r) => responseMessages(r, 'MoveItem', ewsIds.length))
      const toResult = (m: ResponseMessage, i: number): ItemWriteResult => {
        if (isSuccess(m)) {
          const moved = readMovedId(m)
          return { id: publicIds[i], status: 'moved', ...(moved !== undefined ? { newId: toPublicId(moved) } : {}) }
        }
        if (m.code === 'ErrorFolderNotFound') {
          return {
            id: publicIds[i],
            error: toItemError(errorForCode(m.code, { ...this.folderContext(targetFolder), address, values: m.values }))
          }
        }
        return { id: publicIds[i], error: this.itemError(m, shortId(publicIds[i]), address) }
      }
      return await this.retryIndividually(address, 'MoveItem', messages, ctx, {
        body: (i) => buildMoveItem(target, [ewsIds[i]]),
        idempotent: () => false,
        toResult,
        onError: (i, err) => ({ id: publicIds[i], error: toItemError(err) })
      })
    })
  }

  /** Ids that decode go to `send` (EWS ids and public ids, in order); the others get a per-item 400 in place. */
  private async writeBatch (ids: string[],
    send: (ewsIds: string[], publicIds: string[]) => Promise<ItemWriteResult[]>): Promise<ItemWriteResult[]> {
    const decoded = ids.map((id) => tryFromPublicId(id))
    const valid: number[] = []
    decoded.forEach((ews, i) => { if (ews !== undefined) valid.push(i) })
    const out: Array<ItemWriteResult | undefined> = new Array(ids.length).fill(undefined)
    if (valid.length > 0) {
      const sent = await send(valid.map((i) => decoded[i] as string), valid.map((i) => ids[i]))
      valid.forEach((i, k) => { out[i] = sent[k] })
    }
    return out.map((r, i) => r ?? { id: ids[i], error: toItemError(new IdMalformed(shortId(ids[i]))) })
  }

  /** The server did not process this message (skipped in a batch, or throttled): sending it again may work. */
  private notProcessed (m: ResponseMessage): boolean {
    return !isSuccess(m) && (m.responseClass === 'Warning' || isRetryableCode(m.code))
  }

  /**
   * The error for a message the server did not process, annotated so the policy waits what the server asked
   * and retries.
   */
  private notProcessedError (m: ResponseMessage): GatewayError {
    return annotate(new UpstreamThrottled(`EWS ${m.code}`), {
      upstreamCode: m.code, retry: 'safe', retryAfterMs: backOffMs(m.values)
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
    address: string, op: string, messages: ResponseMessage[], ctx: OperationContext | undefined,
    resend: {
      body: (index: number) => XmlBody
      idempotent: (index: number) => boolean
      toResult: (m: ResponseMessage, index: number) => R
      onError: (index: number, err: unknown) => R
    }
  ): Promise<R[]> {
    return await Promise.all(messages.map(async (first, i): Promise<R> => {
      if (!this.notProcessed(first)) return resend.toResult(first, i)
      const signal = ctx?.signal
      const call = this.callOptions(address, op, { idempotent: resend.idempotent(i), signal, caller: ctx?.caller })
      const body = op === 'UploadItems' ? resend.body(i) : undefined
      const paced = body !== undefined ? { ...call, cost: { uploadBytes: xmlByteLength(body) } } : call
      try {
        const m = await this.policy.run(paced,
          async (attempt) => {
            const m = attempt === 1
              ? first
              : await this.callOnce(address, op, resend.body(i), signal, (r) => responseMessages(r, op, 1)[0])
            if (this.notProcessed(m)) throw this.notProcessedError(m)
            return m
          })
        return resend.toResult(m, i)
      } catch (err) {
        if (signal?.aborted === true) throw err
        return resend.onError(i, err)
      }
    }))
  }

  private itemError (m: ResponseMessage, subject: string, address: string): ItemError {
    return toItemError(errorForCode(m.code, { about: 'item', subject, address, values: m.values }))
  }

  /**
   * One UploadItems call for a batch the service cut to `limits.import`. UploadItems needs a
   * real FolderId (no DistinguishedFolderId there, ews.md §6.2), so well-known names are
   * resolved first: a missing folder fails its items only; anything else fails the call.
   */
  async importBatch (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): Promise<ImportResult[]> {
    const out: ImportResult[] = new Array(items.length)
    const entries: Array<UploadEntry | undefined> = []
    const folderOf: Array<FolderTarget | undefined> = []
    const fail = (i: number, err: unknown): void => { out[i] = { index: i, error: toItemError(err) } }
    items.forEach((item, i) => {
      let itemId: string | undefined
      if (item.mode === 'update') {
        itemId = tryFromPublicId(item.itemId)
        if (itemId === undefined) return fail(i, new IdMalformed(shortId(item.itemId)))
        const bad = notXmlText(item.changeKey)
        if (bad !== undefined) {
          return fail(i, new ChangeKeyInvalid(`import item ${item.position}: ${bad} cannot be sent to EWS`))
        }
      }
      try {
        folderOf[i] = this.target(mailbox, item.folderId)
      } catch (err) {
        return fail(i, err)
      }
      entries[i] = {
        parentFolderId: '', // filled once distinguished folders are resolved
        action: item.mode === 'create' ? 'CreateNew' : 'Update',
        ...(item.mode === 'update' ? { itemId, changeKey: item.changeKey } : {}),
        ...(item.associated === true ? { associated: true } : {}),
        data: item.data
      }
    })
    const names = new Set<string>()
    folderOf.forEach((t, i) => {
      if (entries[i] !== undefined && t !== undefined && 'distinguished' in t) names.add(t.distinguished)
    })
    const resolved = new Map<string, Resolved>()
    for (const name of names) {
      try {
        resolved.set(name, { ok: true, target: { id: await this.resolveDistinguished(mailbox, name, ctx) } })
      } catch (err) {
        if (isGatewayError(err) && err.code === 'MBG_ERR_FOLDER_NOT_FOUND') {
          resolved.set(name,
            { ok: false, error: toItemError(err) })
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
      } else out[i] = { index: i, error: r.error }
    })
    if (valid.length > 0) {
      const uploaded = await this.uploadChunk(
        mailbox,
        valid,
        valid.map((i) => entries[i] as UploadEntry),
        items,
        ctx
      )
      valid.forEach((i, k) => { out[i] = uploaded[k] })
    }
    return out
  }

  private async uploadChunk (mailbox: MailboxRef, indices: number[], batch: UploadEntry[], items: ImportItem[],
    ctx?: OperationContext): Promise<ImportResult[]> {
    const address = mailbox.address
    const toResult = (m: ResponseMessage, k: number): ImportResult => {
      const index = indices[k]
      if (isSuccess(m)) {
        const up = readUploaded(m)
        if ('problem' in up) {
          return {
            index,
            error: toItemError(new UpstreamBadResponse(`UploadItems answered success with ${up.problem}`))
          }
        }
        if (up.changeKey === '') {
          // The item was stored: reporting a failure would invite a duplicate on retry. Success, with a warning.
          this.logger.warn({
            mailbox: address, position: items[index].position, itemId: shortId(toPublicId(up.id))
          }, 'UploadItems answered without a ChangeKey: item stored, changeKey left empty')
        }
        return { index, itemId: toPublicId(up.id), changeKey: up.changeKey }
      }
      const item = items[index]
      return {
        index,
        error: toItemError(uploadErrorForCode(m.code, {
          mode: item.mode,
          index: item.position,
          folder: this.subject(item.folderId),
          folderWellKnown: 'wellKnown' in item.folderId,
          address,
          values: m.values,
          ...(item.mode === 'update' ? { itemId: shortId(item.itemId) } : {})
        }))
      }
    }
    // A blind resend of CreateNew after a lost response can duplicate items (ews.md §9): only 'safe' failures are
    // retried then.
    const messages = await this.invoke(
      address,
      'UploadItems',
      buildUploadItems(batch),
      { idempotent: batch.every((e) => e.action !== 'CreateNew'), signal: ctx?.signal, caller: ctx?.caller },
      (r) => responseMessages(r, 'UploadItems', batch.length)
    )
    return await this.retryIndividually(address, 'UploadItems', messages, ctx, {
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

/** A cursor as this adapter made it: the SyncState, which must be XML text (the service seals it anyway). */
function syncState (cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  if (cursor.trim() === '' || notXmlText(cursor) !== undefined) throw new BadRequest('invalid cursor')
  return cursor
}

/**
 * A call of one item has nothing to split. A generic server fault that would have the service split a batch
 * (ErrorInternalServerError: Exchange sends it for a damaged item and for a passing failure alike) is then sent
 * again like any failed read, and blames the item only when it persists: on the policy's last attempt it keeps
 * its `isolate`, so the item gets it as its own, not retryable. Faults that name the item (ErrorCorruptData…)
 * blame it at once.
 */
function retryAlone (err: unknown): unknown {
  if (isGatewayError(err) && err.isolate === true && err.upstreamCode === 'ErrorInternalServerError') {
    err.isolate = false
    err.retry = 'idempotent'
  }
  return err
}
