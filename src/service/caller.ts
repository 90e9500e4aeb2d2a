/**
 * A caller's view of a backend: the same port, with every call naming who asks (OperationContext
 * `caller`: a request id now, an authenticated principal later), so the policy can serve the
 * callers of one mailbox round-robin (src/backends/fair-queue.ts) without every service function
 * passing it along.
 */
import type {
  Changes, ChangesRequest, FolderChange, ItemChange,
  CreateFolderRequest, DeleteRequest, ExportResult, Folder, FolderRef, ImportItem, ImportResult, ItemSummary,
  ItemWriteResult, ListFoldersRequest, ListItemsRequest, MailboxBackend, MailboxDiscovery, MailboxRef,
  OperationContext, Page, MimeItem, ReadPropertiesOptions, PropertiesItem, MimeContent, CreatedItem, ItemProperties
} from '../backends/mailbox-backend.js'

/** `backend`, its calls made on behalf of `caller` (a `caller` in a call's own context wins). */
export function forCaller (backend: MailboxBackend, caller: string): MailboxBackend {
  return new CallerBackend(backend, caller)
}

class CallerBackend implements MailboxBackend {
  constructor (private readonly inner: MailboxBackend, private readonly caller: string) {}

  get type (): MailboxBackend['type'] { return this.inner.type }
  get name (): string { return this.inner.name }
  get limits (): MailboxBackend['limits'] { return this.inner.limits }
  get capabilities (): MailboxBackend['capabilities'] { return this.inner.capabilities }

  private ctx (ctx?: OperationContext): OperationContext {
    return { caller: this.caller, ...ctx }
  }

  async getFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<Folder> {
    return await this.inner.getFolder(mailbox, folder, this.ctx(ctx))
  }

  async listFolders (mailbox: MailboxRef, request: ListFoldersRequest, ctx?: OperationContext): Promise<Page<Folder>> {
    return await this.inner.listFolders(mailbox, request, this.ctx(ctx))
  }

  async createFolder (mailbox: MailboxRef, request: CreateFolderRequest, ctx?: OperationContext): Promise<Folder> {
    return await this.inner.createFolder(mailbox, request, this.ctx(ctx))
  }

  async renameFolder (mailbox: MailboxRef, folder: FolderRef, displayName: string,
    ctx?: OperationContext): Promise<Folder> {
    return await this.inner.renameFolder(mailbox, folder, displayName, this.ctx(ctx))
  }

  async deleteFolder (mailbox: MailboxRef, folder: FolderRef, ctx?: OperationContext): Promise<void> {
    await this.inner.deleteFolder(mailbox, folder, this.ctx(ctx))
  }

  async listItems (mailbox: MailboxRef, folder: FolderRef, page: ListItemsRequest,
    ctx?: OperationContext): Promise<Page<ItemSummary>> {
    return await this.inner.listItems(mailbox, folder, page, this.ctx(ctx))
  }

  async listItemChanges (mailbox: MailboxRef, folder: FolderRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<ItemChange>> {
    return await this.inner.listItemChanges(mailbox, folder, request, this.ctx(ctx))
  }

  async listFolderChanges (mailbox: MailboxRef, request: ChangesRequest,
    ctx?: OperationContext): Promise<Changes<FolderChange>> {
    return await this.inner.listFolderChanges(mailbox, request, this.ctx(ctx))
  }

  async exportBatch (mailbox: MailboxRef, itemIds: string[], ctx?: OperationContext): Promise<ExportResult[]> {
    return await this.inner.exportBatch(mailbox, itemIds, this.ctx(ctx))
  }

  async importBatch (mailbox: MailboxRef, items: ImportItem[], ctx?: OperationContext): Promise<ImportResult[]> {
    return await this.inner.importBatch(mailbox, items, this.ctx(ctx))
  }

  async deleteItems (mailbox: MailboxRef, ids: string[], request: DeleteRequest,
    ctx?: OperationContext): Promise<ItemWriteResult[]> {
    return await this.inner.deleteItems(mailbox, ids, request, this.ctx(ctx))
  }

  async moveItems (mailbox: MailboxRef, ids: string[], targetFolder: FolderRef,
    ctx?: OperationContext): Promise<ItemWriteResult[]> {
    return await this.inner.moveItems(mailbox, ids, targetFolder, this.ctx(ctx))
  }

  async getItemMime (mailbox: MailboxRef, itemId: string, ctx?: OperationContext): Promise<MimeItem> {
    return await this.inner.getItemMime(mailbox, itemId, this.ctx(ctx))
  }

  async getItemProperties (mailbox: MailboxRef, itemId: string, options: ReadPropertiesOptions,
    ctx?: OperationContext): Promise<PropertiesItem> {
    return await this.inner.getItemProperties(mailbox, itemId, options, this.ctx(ctx))
  }

  async createItemFromMime (mailbox: MailboxRef, folder: FolderRef, content: MimeContent,
    ctx?: OperationContext): Promise<CreatedItem> {
    return await this.inner.createItemFromMime(mailbox, folder, content, this.ctx(ctx))
  }

  async createItemFromProperties (mailbox: MailboxRef, folder: FolderRef, item: ItemProperties,
    ctx?: OperationContext): Promise<CreatedItem> {
    return await this.inner.createItemFromProperties(mailbox, folder, item, this.ctx(ctx))
  }

  async discover (address: string, ctx?: OperationContext): Promise<MailboxDiscovery> {
    return await this.inner.discover(address, this.ctx(ctx))
  }

  /** The backend is shared: closing it is its owner's (the router's) business. */
  async close (): Promise<void> {}
}
