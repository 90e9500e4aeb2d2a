/**
 * The in-memory mailbox store both simulators serve from.
 *
 * Ids are Exchange-like standard base64 strings (they contain '+', '/' and '='
 * like real EWS ids) that embed the GUID of the mailbox that physically holds
 * the object. The Graph simulator shows the same ids in URL-safe form.
 * Every change bumps a store-wide sequence number and is logged per mailbox, so
 * Sync and delta calls can be answered from an opaque "last seen sequence" state.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { FtsFormatError, summarizeItemStream, withSearchKey } from './fts.js'

export type StoreErrorCode =
  | 'MailboxNotFound' | 'FolderNotFound' | 'ItemNotFound' | 'FolderExists'
  | 'DeleteDistinguishedFolder' | 'ChangeKeyMismatch' | 'CorruptData' | 'InvalidId'
  | 'InvalidName'

export class StoreError extends Error {
  constructor (readonly code: StoreErrorCode, message: string) {
    super(message)
    this.name = 'StoreError'
  }
}

export type MailboxKind = 'primary' | 'archive' | 'auxArchive'

export interface StoreMailbox {
  guid: string
  smtp: string
  displayName: string
  kind: MailboxKind
  /** For archives: the owning primary mailbox. */
  primaryGuid?: string
  /** For primaries: the in-place archive. */
  archiveGuid?: string
  /** For auto-expanded archives: the auxiliary archive mailboxes. */
  auxGuids: string[]
  /** True root (EWS `root` / `archiveroot`), parent of the IPM subtree root. */
  rootId: string
  /** IPM subtree root (`msgfolderroot` / `archivemsgfolderroot`). */
  msgRootId: string
  /** Distinguished folder name → folder id (EWS names: inbox, calendar, archiveinbox, ...). */
  wellKnown: Map<string, string>
  log: ChangeRecord[]
}

export interface StoreFolder {
  id: string
  /** Logical mailbox (the one whose tree shows the folder). */
  mailboxGuid: string
  /** Mailbox that physically holds the folder's content (differs for auto-expanded archive folders). */
  contentMailboxGuid: string
  parentId: string | null
  displayName: string
  folderClass: string
  /** EWS distinguished name, when the folder is one. */
  distinguishedName?: string
  changeKey: string
  version: number
  changeSeq: number
  childIds: string[]
  itemIds: string[]
  /** Folder-associated (hidden) items. */
  associatedItemIds: string[]
}

export interface StoreItem {
  id: string
  /** Mailbox that physically holds the item. */
  mailboxGuid: string
  folderId: string
  itemClass: string
  subject?: string
  size: number
  created: Date
  modified: Date
  changeKey: string
  version: number
  changeSeq: number
  associated: boolean
  hasAttachments: boolean
  isRead: boolean
  /**
   * PidTagSearchKey (0x300B, PT_BINARY; [MS-OXPROPS] 2.1017), 16 bytes: the item's stable key. It is in the
   * item's stream, so an export carries it and an import keeps it; a move keeps it too. A stream without one
   * gets a fresh random key (written into the stored stream).
   */
  searchKey: Buffer
  /** Full-fidelity stream; generated lazily for seeded items. */
  blob: () => Buffer
}

/**
 * A logged change. `readFlag`: only an item's read state changed (Exchange keeps it apart from content
 * changes: SyncFolderItems reports it as ReadFlagChange, and the change key stays).
 */
export type ChangeOp = 'create' | 'update' | 'delete' | 'readFlag'

export interface ChangeRecord {
  seq: number
  kind: 'folder' | 'item'
  op: ChangeOp
  id: string
  /** Parent folder (for items and folders). */
  folderId: string | null
}

const ID_PREFIX = Buffer.from([0x00, 0x03, 0x24]) // "AAMk" when base64-encoded, as real ids start
const KIND_FOLDER = 1
const KIND_ITEM = 2

function guidBytes (guid: string): Buffer {
  return Buffer.from(guid.replace(/-/g, ''), 'hex')
}

function bytesToGuid (b: Buffer): string {
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export function makeId (mailboxGuid: string, kind: number, key: string): string {
  const digest = createHash('sha256').update(key).digest().subarray(0, 24)
  return Buffer.concat([ID_PREFIX, guidBytes(mailboxGuid), Buffer.from([kind]), digest]).toString('base64')
}

/** Decodes an id into the GUID of its mailbox and its kind; throws StoreError('InvalidId'). */
export function parseId (id: string): { mailboxGuid: string, kind: 'folder' | 'item' } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(id) || id.length % 4 !== 0) throw new StoreError('InvalidId', 'Id is malformed.')
  const bytes = Buffer.from(id, 'base64')
  if (bytes.length !== 44 || !bytes.subarray(0, 3).equals(ID_PREFIX)) {
    throw new StoreError('InvalidId', 'Id is malformed.')
  }
  const kind = bytes[19] === KIND_FOLDER ? 'folder' : bytes[19] === KIND_ITEM ? 'item' : undefined
  if (kind === undefined) throw new StoreError('InvalidId', 'Id is malformed.')
  return { mailboxGuid: bytesToGuid(bytes.subarray(3, 19)), kind }
}

function changeKeyFor (prefix: number, id: string, version: number): string {
  const digest = createHash('sha256').update(`${id}#${version}`).digest().subarray(0, 22)
  return Buffer.concat([Buffer.from([prefix, 0, 0, 0, 0x16, 0, 0, 0]), digest]).toString('base64')
}

/** True when a change key is well-formed (base64 of the shape the store issues). */
export function isParseableChangeKey (changeKey: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(changeKey) || changeKey.length % 4 !== 0) return false
  const bytes = Buffer.from(changeKey, 'base64')
  return bytes.length >= 8 && bytes.length <= 64 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0
}

/** Length of the search keys the store issues (a GUID's worth, as Exchange's are). */
export const SEARCH_KEY_BYTES = 16

/** Summary of a lazily generated stream (the seed): `blob()` must give exactly `size` bytes with `searchKey` in it. */
export interface LazyItemData {
  size: number
  itemClass: string
  subject?: string
  hasAttachments: boolean
  /** The key inside the stream; a fresh random one when left out. */
  searchKey?: Buffer
  blob: () => Buffer
}

export interface CreateItemOptions {
  associated?: boolean
  /** Server-assigned dates; default: now (creation date is taken from the stream when it has one). */
  created?: Date
  modified?: Date
  isRead?: boolean
}

export class MailboxStore {
  readonly tenantId: string
  readonly mailboxes = new Map<string, StoreMailbox>()
  readonly folders = new Map<string, StoreFolder>()
  readonly items = new Map<string, StoreItem>()
  private seq = 0
  private counter = 0
  /** FullAccess grants: primary mailbox GUID → trustees (lowercase SMTP addresses or logon names). */
  private readonly fullAccess = new Map<string, Set<string>>()
  /** Clock used for server-assigned timestamps (tests may pin it). */
  now: () => Date = () => new Date()
  private epoch = 0

  constructor (tenantId: string) {
    this.tenantId = tenantId
  }

  get sequence (): number { return this.seq }

  /** Generation of sync states: EWS SyncStates and Graph delta/skip tokens of an older one are refused. */
  get syncEpoch (): number { return this.epoch }

  /**
   * Makes every EWS SyncState and Graph delta or skip token issued so far invalid, as Exchange does with a
   * state that is too old or after a mailbox move (EWS then answers ErrorInvalidSyncStateData, Graph 410):
   * clients must sync again from scratch.
   */
  expireSyncStates (): void {
    this.epoch++
  }

  // ---------------------------------------------------------------- mailboxes

  addMailbox (
    init: { guid?: string, smtp: string, displayName: string, kind: MailboxKind, primaryGuid?: string }
  ): StoreMailbox {
    const guid = init.guid ?? randomUUID()
    const isArchive = init.kind !== 'primary'
    const mailbox: StoreMailbox = {
      guid,
      smtp: init.smtp.toLowerCase(),
      displayName: init.displayName,
      kind: init.kind,
      ...(init.primaryGuid !== undefined ? { primaryGuid: init.primaryGuid } : {}),
      auxGuids: [],
      rootId: '',
      msgRootId: '',
      wellKnown: new Map(),
      log: []
    }
    this.mailboxes.set(guid, mailbox)
    if (init.primaryGuid !== undefined) {
      const primary = this.requireMailbox(init.primaryGuid)
      if (init.kind === 'archive') primary.archiveGuid = guid
    }
    const root = this.insertFolder(mailbox, null, '', '', isArchive ? 'archiveroot' : 'root')
    mailbox.rootId = root.id
    const msgRoot = this.insertFolder(mailbox, root.id, 'Top of Information Store', 'IPF.Note',
      isArchive ? 'archivemsgfolderroot' : 'msgfolderroot')
    mailbox.msgRootId = msgRoot.id
    return mailbox
  }

  requireMailbox (guid: string): StoreMailbox {
    const m = this.mailboxes.get(guid)
    if (m === undefined) throw new StoreError('MailboxNotFound', `No mailbox with guid ${guid}.`)
    return m
  }

  /** Primary mailbox by SMTP address (case-insensitive). */
  mailboxBySmtp (smtp: string): StoreMailbox | undefined {
    const s = smtp.toLowerCase()
    for (const m of this.mailboxes.values()) if (m.kind === 'primary' && m.smtp === s) return m
    return undefined
  }

  /**
   * Grants `trustee` FullAccess on a primary mailbox, as `Add-MailboxPermission -AccessRights FullAccess`
   * does on Exchange: the trustee may open the mailbox and its archive (delegate access, no impersonation).
   * `trustee` is the user's primary SMTP address or, for an account without a mailbox, its logon name
   * (compared case-insensitively). Throws StoreError('MailboxNotFound') for an unknown or non-primary mailbox.
   */
  grantFullAccess (mailboxGuid: string, trustee: string): void {
    const mailbox = this.requireMailbox(mailboxGuid)
    if (mailbox.kind !== 'primary') {
      throw new StoreError('MailboxNotFound', `Mailbox ${mailboxGuid} is not a primary mailbox.`)
    }
    const trustees = this.fullAccess.get(mailbox.guid) ?? new Set<string>()
    trustees.add(trustee.toLowerCase())
    this.fullAccess.set(mailbox.guid, trustees)
  }

  /** Removes a FullAccess grant (`Remove-MailboxPermission`); no-op when there is none. */
  revokeFullAccess (mailboxGuid: string, trustee: string): void {
    this.fullAccess.get(mailboxGuid)?.delete(trustee.toLowerCase())
  }

  /** Primary mailboxes on which any of `trustees` (SMTP addresses or logon names) holds FullAccess. */
  fullAccessMailboxes (trustees: string[]): StoreMailbox[] {
    const names = trustees.map((t) => t.toLowerCase())
    const out: StoreMailbox[] = []
    for (const [guid, granted] of this.fullAccess) {
      if (names.some((n) => granted.has(n))) out.push(this.requireMailbox(guid))
    }
    return out
  }

  /** Links an auxiliary archive to an archive (auto-expanding archives). */
  addAuxArchive (archiveGuid: string, guid?: string): StoreMailbox {
    const archive = this.requireMailbox(archiveGuid)
    const aux = this.addMailbox({
      ...(guid !== undefined ? { guid } : {}),
      smtp: archive.smtp,
      displayName: `${archive.displayName} (auxiliary)`,
      kind: 'auxArchive',
      primaryGuid: archive.primaryGuid ?? archive.guid
    })
    archive.auxGuids.push(aux.guid)
    return aux
  }

  // ------------------------------------------------------------------ folders

  private record (mailboxGuid: string, rec: Omit<ChangeRecord, 'seq'>): number {
    const seq = ++this.seq
    this.requireMailbox(mailboxGuid).log.push({ ...rec, seq })
    return seq
  }

  private insertFolder (mailbox: StoreMailbox, parentId: string | null, displayName: string, folderClass: string,
    distinguishedName?: string, contentMailboxGuid?: string): StoreFolder {
    const id = makeId(mailbox.guid, KIND_FOLDER, `${mailbox.guid}/folder/${++this.counter}/${displayName}`)
    const folder: StoreFolder = {
      id,
      mailboxGuid: mailbox.guid,
      contentMailboxGuid: contentMailboxGuid ?? mailbox.guid,
      parentId,
      displayName,
      folderClass,
      ...(distinguishedName !== undefined ? { distinguishedName } : {}),
      changeKey: changeKeyFor(1, id, 1),
      version: 1,
      changeSeq: 0,
      childIds: [],
      itemIds: [],
      associatedItemIds: []
    }
    folder.changeSeq = this.record(mailbox.guid, { kind: 'folder', op: 'create', id, folderId: parentId })
    this.folders.set(id, folder)
    if (parentId !== null) this.requireFolder(parentId).childIds.push(id)
    if (distinguishedName !== undefined) mailbox.wellKnown.set(distinguishedName, id)
    return folder
  }

  requireFolder (id: string): StoreFolder {
    const f = this.folders.get(id)
    if (f === undefined) throw new StoreError('FolderNotFound', 'The specified folder could not be found in the store.')
    return f
  }

  /** Folder by distinguished name in a mailbox (EWS names). */
  wellKnownFolder (mailboxGuid: string, name: string): StoreFolder {
    const id = this.requireMailbox(mailboxGuid).wellKnown.get(name.toLowerCase())
    if (id === undefined) {
      throw new StoreError('FolderNotFound', `The distinguished folder ${name} does not exist in this mailbox.`)
    }
    return this.requireFolder(id)
  }

  createFolder (parentId: string, displayName: string, folderClass = 'IPF.Note',
    options: { distinguishedName?: string, contentMailboxGuid?: string } = {}): StoreFolder {
    const parent = this.requireFolder(parentId)
    const name = displayName.trim()
    if (name.length === 0 || name.length > 255) {
      throw new StoreError('InvalidName', 'The folder name is empty or too long.')
    }
    if (parent.childIds.some((c) => this.requireFolder(c).displayName.toLowerCase() === name.toLowerCase())) {
      throw new StoreError('FolderExists', 'A folder with the specified name already exists.')
    }
    const mailbox = this.requireMailbox(parent.mailboxGuid)
    const folder = this.insertFolder(
      mailbox,
      parentId,
      name,
      folderClass,
      options.distinguishedName,
      options.contentMailboxGuid
    )
    this.touchFolder(parent, false)
    return folder
  }

  private touchFolder (folder: StoreFolder, bumpVersion: boolean): void {
    if (bumpVersion) {
      folder.version++
      folder.changeKey = changeKeyFor(1, folder.id, folder.version)
    }
    folder.changeSeq = this.record(folder.mailboxGuid, {
      kind: 'folder',
      op: 'update',
      id: folder.id,
      folderId: folder.parentId
    })
  }

  renameFolder (id: string, displayName: string, changeKey?: string): StoreFolder {
    const folder = this.requireFolder(id)
    if (folder.distinguishedName !== undefined) {
      throw new StoreError('DeleteDistinguishedFolder', 'Distinguished folders cannot be renamed.')
    }
    if (changeKey !== undefined && changeKey !== folder.changeKey) {
      throw new StoreError('ChangeKeyMismatch', 'The folder has changed.')
    }
    const name = displayName.trim()
    if (name.length === 0 || name.length > 255) {
      throw new StoreError('InvalidName', 'The folder name is empty or too long.')
    }
    if (folder.parentId !== null) {
      const parent = this.requireFolder(folder.parentId)
      if (parent.childIds.some((c) => c !== id &&
        this.requireFolder(c).displayName.toLowerCase() === name.toLowerCase())) {
        throw new StoreError('FolderExists', 'A folder with the specified name already exists.')
      }
    }
    folder.displayName = name
    this.touchFolder(folder, true)
    return folder
  }

  deleteFolder (id: string): void {
    const folder = this.requireFolder(id)
    if (folder.distinguishedName !== undefined) {
      throw new StoreError('DeleteDistinguishedFolder', 'Distinguished folders cannot be deleted.')
    }
    const drop = (f: StoreFolder): void => {
      for (const c of [...f.childIds]) drop(this.requireFolder(c))
      for (const i of [...f.itemIds, ...f.associatedItemIds]) this.deleteItem(i)
      this.folders.delete(f.id)
      this.record(f.mailboxGuid, { kind: 'folder', op: 'delete', id: f.id, folderId: f.parentId })
    }
    drop(folder)
    if (folder.parentId !== null) {
      const parent = this.requireFolder(folder.parentId)
      parent.childIds = parent.childIds.filter((c) => c !== id)
      this.touchFolder(parent, false)
    }
  }

  /** Moves a folder (with its subtree) below another folder of the same mailbox; logs the folder and both parents. */
  moveFolder (id: string, newParentId: string): StoreFolder {
    const folder = this.requireFolder(id)
    const target = this.requireFolder(newParentId)
    if (folder.distinguishedName !== undefined) {
      throw new StoreError('DeleteDistinguishedFolder', 'Distinguished folders cannot be moved.')
    }
    if (target.mailboxGuid !== folder.mailboxGuid) {
      throw new StoreError('FolderNotFound', 'The target folder is in another mailbox.')
    }
    for (let p: StoreFolder | undefined = target; p !== undefined; p = p.parentId !== null
      ? this.folders.get(p.parentId)
      : undefined) {
      if (p.id === id) throw new StoreError('InvalidName', 'A folder cannot be moved below itself.')
    }
    if (target.childIds.some((c) =>
      this.requireFolder(c).displayName.toLowerCase() === folder.displayName.toLowerCase())) {
      throw new StoreError('FolderExists', 'A folder with the specified name already exists.')
    }
    if (folder.parentId !== null) {
      const old = this.requireFolder(folder.parentId)
      old.childIds = old.childIds.filter((c) => c !== id)
      this.touchFolder(old, false)
    }
    folder.parentId = newParentId
    target.childIds.push(id)
    this.touchFolder(target, false)
    this.touchFolder(folder, true)
    return folder
  }

  /** Direct children, in creation order. */
  children (id: string): StoreFolder[] {
    return this.requireFolder(id).childIds.map((c) => this.requireFolder(c))
  }

  /** Whole subtree below a folder, depth-first pre-order (the folder itself excluded). */
  descendants (id: string): StoreFolder[] {
    const out: StoreFolder[] = []
    const walk = (f: StoreFolder): void => {
      for (const c of f.childIds) {
        const child = this.requireFolder(c)
        out.push(child)
        walk(child)
      }
    }
    walk(this.requireFolder(id))
    return out
  }

  // -------------------------------------------------------------------- items

  requireItem (id: string): StoreItem {
    const i = this.items.get(id)
    if (i === undefined) throw new StoreError('ItemNotFound', 'The specified object was not found in the store.')
    return i
  }

  /** Items of a folder in creation order (normal or folder-associated). */
  itemsIn (folderId: string, associated = false): StoreItem[] {
    const folder = this.requireFolder(folderId)
    return (associated ? folder.associatedItemIds : folder.itemIds).map((i) => this.requireItem(i))
  }

  /**
   * Adds an item from a full-fidelity stream; validates the stream (StoreError 'CorruptData').
   * `lazyBlob` lets the seed defer generating large streams; its summary must then be given.
   */
  createItem (folderId: string, data: Buffer | LazyItemData, options: CreateItemOptions = {}): StoreItem {
    const folder = this.requireFolder(folderId)
    const now = this.now()
    let summary: {
      itemClass: string
      subject?: string
      created?: Date
      size: number
      hasAttachments: boolean
      searchKey: Buffer
      blob: () => Buffer
    }
    if (Buffer.isBuffer(data)) {
      const s = this.summarize(data)
      const searchKey = s.searchKey ?? randomBytes(SEARCH_KEY_BYTES)
      const copy = s.searchKey !== undefined ? Buffer.from(data) : this.keyed(data, searchKey)
      summary = { ...s, searchKey, size: copy.length, hasAttachments: s.attachmentCount > 0, blob: () => copy }
    } else {
      summary = { ...data, searchKey: data.searchKey ?? randomBytes(SEARCH_KEY_BYTES) }
    }
    const mailboxGuid = folder.contentMailboxGuid
    const id = makeId(mailboxGuid, KIND_ITEM, `${mailboxGuid}/item/${++this.counter}`)
    const item: StoreItem = {
      id,
      mailboxGuid,
      folderId,
      itemClass: summary.itemClass,
      ...(summary.subject !== undefined ? { subject: summary.subject } : {}),
      size: summary.size,
      created: options.created ?? summary.created ?? now,
      modified: options.modified ?? now,
      changeKey: changeKeyFor(9, id, 1),
      version: 1,
      changeSeq: 0,
      associated: options.associated ?? false,
      hasAttachments: summary.hasAttachments,
      isRead: options.isRead ?? true,
      searchKey: summary.searchKey,
      blob: summary.blob
    }
    item.changeSeq = this.record(mailboxGuid, { kind: 'item', op: 'create', id, folderId })
    this.items.set(id, item)
    ;(item.associated ? folder.associatedItemIds : folder.itemIds).push(id)
    return item
  }

  private summarize (data: Buffer): ReturnType<typeof summarizeItemStream> {
    try {
      return summarizeItemStream(data)
    } catch (err) {
      if (err instanceof FtsFormatError) {
        throw new StoreError('CorruptData', `The item data is corrupt: ${err.message}.`)
      }
      throw err
    }
  }

  /** The stream with `key` as its search key (StoreError 'CorruptData' when malformed). */
  private keyed (data: Buffer, key: Buffer): Buffer {
    try {
      return Buffer.from(withSearchKey(data, key))
    } catch (err) {
      if (err instanceof FtsFormatError) {
        throw new StoreError('CorruptData', `The item data is corrupt: ${err.message}.`)
      }
      throw err
    }
  }

  /**
   * Replaces an item's content from a stream; the change key, when given, must be current. The search key comes
   * from the stream when it has one, else the item keeps its own (written into the stored stream).
   */
  updateItem (id: string, data: Buffer, changeKey?: string): StoreItem {
    const item = this.requireItem(id)
    if (changeKey !== undefined && changeKey !== item.changeKey) {
      throw new StoreError('ChangeKeyMismatch', 'The item has changed since the change key was read.')
    }
    const s = this.summarize(data)
    const copy = s.searchKey !== undefined ? Buffer.from(data) : this.keyed(data, item.searchKey)
    if (s.searchKey !== undefined) item.searchKey = s.searchKey
    item.itemClass = s.itemClass
    if (s.subject !== undefined) item.subject = s.subject
    else delete item.subject
    item.size = copy.length
    item.hasAttachments = s.attachmentCount > 0
    item.blob = () => copy
    item.modified = this.now()
    item.version++
    item.changeKey = changeKeyFor(9, id, item.version)
    item.changeSeq = this.record(item.mailboxGuid, { kind: 'item', op: 'update', id, folderId: item.folderId })
    return item
  }

  /**
   * Moves an item into `folderId`. Exchange implements a move as a copy and a delete, so the item gets a new id
   * (ews.md §5: "Item ids change when an item moves"; MoveItem answers the new ItemId,
   * https://learn.microsoft.com/exchange/client-developer/web-service-reference/moveitem-operation): the change log
   * shows a delete in the old folder and a create in the new one. Content, dates, read state and search key are kept.
   */
  moveItem (id: string, folderId: string): StoreItem {
    const item = this.requireItem(id)
    const target = this.requireFolder(folderId)
    const mailboxGuid = target.contentMailboxGuid
    const newId = makeId(mailboxGuid, KIND_ITEM, `${mailboxGuid}/item/${++this.counter}`)
    this.deleteItem(id)
    const moved: StoreItem = {
      ...item,
      id: newId,
      mailboxGuid,
      folderId,
      version: 1,
      changeKey: changeKeyFor(9, newId, 1),
      changeSeq: 0
    }
    moved.changeSeq = this.record(mailboxGuid, { kind: 'item', op: 'create', id: newId, folderId })
    this.items.set(newId, moved)
    ;(moved.associated ? target.associatedItemIds : target.itemIds).push(newId)
    return moved
  }

  /**
   * Marks an item read or unread, as a client does. Only the read state changes: not the content, the
   * change key or the modification time. A call that changes nothing logs nothing.
   */
  setReadFlag (id: string, isRead: boolean): StoreItem {
    const item = this.requireItem(id)
    if (item.isRead === isRead) return item
    item.isRead = isRead
    item.changeSeq = this.record(item.mailboxGuid, { kind: 'item', op: 'readFlag', id, folderId: item.folderId })
    return item
  }

  deleteItem (id: string): void {
    const item = this.requireItem(id)
    const folder = this.folders.get(item.folderId)
    if (folder !== undefined) {
      folder.itemIds = folder.itemIds.filter((i) => i !== id)
      folder.associatedItemIds = folder.associatedItemIds.filter((i) => i !== id)
    }
    this.items.delete(id)
    this.record(item.mailboxGuid, { kind: 'item', op: 'delete', id, folderId: item.folderId })
  }

  // --------------------------------------------------------------------- sync

  /**
   * Changes in a mailbox after sequence `since`, collapsed to the latest state per object: created in the
   * window → `create` (left out when also deleted in it), otherwise the last `delete`, else `update` when the
   * content changed, else `readFlag` (only the read state changed). `filter` limits them to folders or to
   * the items of one folder.
   */
  changesSince (
    mailboxGuid: string, since: number, filter: { kind: 'folder' } | { kind: 'item', folderId: string }
  ): Array<{ op: ChangeOp, id: string, seq: number }> {
    const mailboxes = [mailboxGuid, ...this.requireMailbox(mailboxGuid).auxGuids]
    interface Latest { op: ChangeOp, id: string, seq: number, created: boolean, updated: boolean }
    const latest = new Map<string, Latest>()
    for (const guid of mailboxes) {
      for (const rec of this.requireMailbox(guid).log) {
        if (rec.kind !== filter.kind) continue
        if (filter.kind === 'item' && rec.folderId !== filter.folderId) continue
        const prev = latest.get(rec.id)
        const inWindow = rec.seq > since
        const createdInWindow = inWindow && (rec.op === 'create' || (prev?.created ?? false))
        const updatedInWindow = inWindow && (rec.op === 'update' || (prev?.updated ?? false))
        latest.set(rec.id, { op: rec.op, id: rec.id, seq: rec.seq, created: createdInWindow, updated: updatedInWindow })
      }
    }
    const out: Array<{ op: ChangeOp, id: string, seq: number }> = []
    for (const c of latest.values()) {
      if (c.seq <= since) continue
      if (c.op === 'delete') {
        if (!c.created) out.push({ op: 'delete', id: c.id, seq: c.seq })
        continue
      }
      const op: ChangeOp = c.created ? 'create' : c.updated || c.op !== 'readFlag' ? 'update' : 'readFlag'
      out.push({ op, id: c.id, seq: c.seq })
    }
    return out.sort((a, b) => a.seq - b.seq)
  }
}
