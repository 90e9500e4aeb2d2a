/**
 * Folder operations on /admin/exchange/mailboxes/{mbx}/folders, and resolution of
 * the port's well-known folder names.
 *
 * Primaries accept well-known names in the path (`root` is `msgfolderroot`).
 * Archives do not (protocol brief §2, §12): there `root` is the parent of the
 * top-level folders and inbox/deleteditems are found by name at the top level.
 */
import { FolderNotFound, FolderProtected, UpstreamBadResponse } from '../../errors.js'
import type {
  CreateFolderRequest, Folder, FolderRef, ListFoldersRequest, Page, WellKnownFolder
} from '../mailbox-backend.js'
import { cursorFailure, cursorFromNextLink, readCursor, type PathPart } from './cursor.js'
import {
  checkId,
  knownMailboxIds,
  mailboxIdInPath,
  rememberAux,
  type GraphContext,
  type GraphMailbox
} from './context.js'
import type { Subject } from './errors.js'

export interface GraphFolder {
  id?: string
  displayName?: string
  parentFolderId?: string | null
  childFolderCount?: number
  totalItemCount?: number
  type?: string | null
  wellKnownName?: string | null
  '@removed'?: unknown
}

export interface GraphPage<T> {
  value?: T[]
  '@odata.nextLink'?: string
  '@odata.deltaLink'?: string
}

/** Display names of the archive folders the port can address by well-known name. */
const ARCHIVE_WELL_KNOWN: Partial<Record<WellKnownFolder, string>> = {
  inbox: 'Inbox',
  deleteditems: 'Deleted Items'
}

export function refLabel (ref: FolderRef): string {
  return 'id' in ref ? ref.id : ref.wellKnown
}

export function pageSize (ctx: GraphContext, limit: number | undefined): number {
  const n = limit !== undefined && limit > 0 ? limit : ctx.config.pageSize
  return Math.max(1, Math.min(999, Math.floor(n)))
}

export class Folders {
  /** Root (IPM subtree) id per MBX. */
  private readonly roots = new Map<string, Promise<string>>()
  /** Resolved well-known names per `${mbx}/${name}`. */
  private readonly wellKnown = new Map<string, Promise<string>>()

  constructor (private readonly ctx: GraphContext) {}

  /** GET through the policy (idempotent), JSON body. */
  async get<T> (mailbox: GraphMailbox, url: string, subject: Subject, signal?: AbortSignal,
    headers?: Record<string, string>): Promise<{ body: T, url: string }> {
    return await this.ctx.policy.run({
      key: mailbox.key,
      idempotent: true,
      ...(signal !== undefined
        ? { signal }
        : {})
    }, async () => {
      const { body, response } = await this.ctx.http.graphJson<T>({
        method: 'GET',
        url,
        subject,
        ...(signal !== undefined ? { signal } : {}),
        ...(headers !== undefined ? { headers } : {})
      })
      this.learnAux(mailbox, response.url)
      return { body, url: response.url }
    })
  }

  /** A 308 to an auxiliary archive teaches us its MBX id (cursors may then point there). */
  learnAux (mailbox: GraphMailbox, finalUrl: string): void {
    if (!mailbox.archive) return
    const mbx = mailboxIdInPath(new URL(finalUrl).pathname)
    if (mbx !== undefined && mbx !== mailbox.mbx) {
      this.ctx.logger.debug({ archive: mailbox.mbx, aux: mbx }, 'auxiliary archive learned from a redirect')
      rememberAux(this.ctx, mailbox.mbx, mbx)
    }
  }

  async rootId (mailbox: GraphMailbox): Promise<string> {
    let p = this.roots.get(mailbox.mbx)
    if (p === undefined) {
      // Shared by concurrent callers, so one caller's abort must not cancel it: no signal.
      p = this.findRoot(mailbox)
      this.roots.set(mailbox.mbx, p)
      p.catch(() => this.roots.delete(mailbox.mbx))
    }
    return await p
  }

  private async findRoot (mailbox: GraphMailbox): Promise<string> {
    const subject: Subject = { kind: 'folder', ref: 'root' }
    if (!mailbox.archive) {
      const { body } = await this.get<GraphFolder>(mailbox, `${mailbox.base}/folders/msgfolderroot`, subject)
      if (typeof body.id !== 'string') throw new UpstreamBadResponse('folder without id')
      return checkId(body.id)
    }
    // Well-known names fail in archives: the root is the parent of any top-level folder.
    const { body } = await this.get<GraphPage<GraphFolder>>(mailbox, `${mailbox.base}/folders?$top=1`, subject)
    const parent = body.value?.[0]?.parentFolderId
    if (typeof parent !== 'string') throw new FolderNotFound('root')
    return checkId(parent)
  }

  /** A real folder id for a reference (well-known names resolved and cached). */
  async folderId (mailbox: GraphMailbox, ref: FolderRef): Promise<string> {
    if ('id' in ref) return checkId(ref.id)
    if (ref.wellKnown === 'root') return await this.rootId(mailbox)
    const key = `${mailbox.mbx}/${ref.wellKnown}`
    let p = this.wellKnown.get(key)
    if (p === undefined) {
      // Shared and cached: not tied to one caller's signal.
      p = mailbox.archive
        ? this.findArchiveWellKnown(mailbox, ref.wellKnown)
        : this.findPrimaryWellKnown(mailbox, ref.wellKnown)
      this.wellKnown.set(key, p)
      p.catch(() => this.wellKnown.delete(key))
    }
    return await p
  }

  private async findPrimaryWellKnown (mailbox: GraphMailbox, name: WellKnownFolder): Promise<string> {
    const { body } = await this.get<GraphFolder>(mailbox, `${mailbox.base}/folders/${name}`, {
      kind: 'folder',
      ref: name
    })
    if (typeof body.id !== 'string') throw new UpstreamBadResponse('folder without id')
    return checkId(body.id)
  }

  private async findArchiveWellKnown (mailbox: GraphMailbox, name: WellKnownFolder): Promise<string> {
    const displayName = ARCHIVE_WELL_KNOWN[name]
    if (displayName === undefined) throw new FolderNotFound(name)
    let url: string | undefined = `${mailbox.base}/folders?$top=100`
    let byName: string | undefined
    for (let pages = 0; url !== undefined && pages < 50; pages++) {
      const { body }: { body: GraphPage<GraphFolder> } = await this.get<GraphPage<GraphFolder>>(mailbox, url, {
        kind: 'folder',
        ref: name
      })
      for (const f of body.value ?? []) {
        if (typeof f.id !== 'string') continue
        // Beta's wellKnownName is authoritative when present (`inbox` or `archiveinbox`).
        const wk = typeof f.wellKnownName === 'string' ? f.wellKnownName.toLowerCase() : undefined
        if (wk === name || wk === `archive${name}`) return checkId(f.id)
        if (byName === undefined && f.displayName?.toLowerCase() === displayName.toLowerCase()) byName = f.id
      }
      const next: string | undefined = body['@odata.nextLink']
      url = next !== undefined ? new URL(next, this.ctx.config.graphOrigin).href : undefined
    }
    if (byName === undefined) throw new FolderNotFound(name)
    return checkId(byName)
  }

  /** Path segment for a folder: primaries take well-known names as they are (root → msgfolderroot). */
  async segment (mailbox: GraphMailbox, ref: FolderRef): Promise<string> {
    if ('id' in ref) return checkId(ref.id)
    if (!mailbox.archive) return ref.wellKnown === 'root' ? 'msgfolderroot' : ref.wellKnown
    return await this.folderId(mailbox, ref)
  }

  toFolder (f: GraphFolder, rootId: string): Folder {
    if (typeof f.id !== 'string') throw new UpstreamBadResponse('folder without id')
    const isRoot = f.id === rootId
    const wellKnownName = isRoot
      ? 'root'
      : typeof f.wellKnownName === 'string' && f.wellKnownName.length > 0
        ? f.wellKnownName
        : undefined
    return {
      id: f.id,
      displayName: f.displayName ?? '',
      parentId: isRoot ? null : f.parentFolderId ?? null,
      folderClass: f.type ?? '',
      childFolderCount: f.childFolderCount ?? 0,
      totalItemCount: f.totalItemCount ?? 0,
      ...(wellKnownName !== undefined ? { wellKnownName } : {})
    }
  }

  async getFolder (mailbox: GraphMailbox, ref: FolderRef, signal?: AbortSignal): Promise<Folder> {
    const seg = await this.segment(mailbox, ref)
    const [{ body }, rootId] = await Promise.all([
      this.get<GraphFolder>(mailbox, `${mailbox.base}/folders/${seg}`, { kind: 'folder', ref: refLabel(ref) }, signal),
      this.rootId(mailbox)
    ])
    return this.toFolder(body, rootId)
  }

  async listFolders (mailbox: GraphMailbox, request: ListFoldersRequest, signal?: AbortSignal): Promise<Page<Folder>> {
    const top = pageSize(this.ctx, request.limit)
    const rootId = await this.rootId(mailbox)
    let scope: string
    let url: string
    let headers: Record<string, string> | undefined
    // The collection a cursor of this listing may continue (see readCursor).
    let collections: PathPart[][]
    if (request.parentId === undefined) {
      // Whole tree: folders/delta pages through every folder below the root; the page
      // size is a Prefer header there, and nextLinks carry the rest of the state.
      scope = 'tree'
      url = `${mailbox.base}/folders/delta`
      headers = { prefer: `odata.maxpagesize=${top}` }
      collections = [[{ name: 'folders' }, { name: 'delta' }]]
    } else {
      const parent = await this.folderId(mailbox, request.parentId)
      scope = `children:${parent}`
      url =
        parent === rootId
          ? `${mailbox.base}/folders?$top=${top}`
          : `${mailbox.base}/folders/${parent}/childFolders?$top=${top}`
      const childFolders: PathPart[] = [{ name: 'folders' }, { id: parent }, { name: 'childFolders' }]
      collections = parent === rootId ? [[{ name: 'folders' }], childFolders] : [childFolders]
    }
    const cursor = request.cursor
    if (cursor !== undefined) {
      url = readCursor(cursor, {
        graphOrigin: this.ctx.config.graphOrigin,
        version: mailbox.version,
        mailboxIds: knownMailboxIds(this.ctx, mailbox),
        scope,
        collections
      })
    }
    const subject: Subject = {
      kind: 'folder',
      ref: request.parentId !== undefined ? refLabel(request.parentId) : 'root'
    }
    const { body } = await this.get<GraphPage<GraphFolder>>(mailbox, url, subject, signal, headers)
      .catch((err: unknown) => { throw cursor !== undefined ? cursorFailure(err) : err })
    if (!Array.isArray(body.value)) throw new UpstreamBadResponse('folder list without value[]')
    const values = body.value
      .filter((f) => f['@removed'] === undefined && typeof f.id === 'string' && f.id !== rootId)
      .map((f) => this.toFolder(f, rootId))
    const next = body['@odata.nextLink']
    return {
      values,
      ...(next !== undefined ? { nextCursor: cursorFromNextLink(next, this.ctx.config.graphOrigin, scope) } : {})
    }
  }

  async createFolder (mailbox: GraphMailbox, request: CreateFolderRequest, signal?: AbortSignal): Promise<Folder> {
    const rootId = await this.rootId(mailbox)
    const parent = request.parentId !== undefined ? await this.folderId(mailbox, request.parentId) : rootId
    const url = parent === rootId ? `${mailbox.base}/folders` : `${mailbox.base}/folders/${parent}/childFolders`
    const subject: Subject = {
      kind: 'folder',
      ref: request.parentId !== undefined ? refLabel(request.parentId) : 'root',
      name: request.displayName
    }
    // Not idempotent: a blind retry after an unknown outcome could create a duplicate.
    const body = await this.ctx.policy.run({
      key: mailbox.key,
      idempotent: false,
      ...(signal !== undefined
        ? { signal }
        : {})
    }, async () => {
      const { body } = await this.ctx.http.graphJson<GraphFolder>({
        method: 'POST',
        url,
        subject,
        body: { displayName: request.displayName, type: request.folderClass ?? 'IPF.Note' },
        ...(signal !== undefined ? { signal } : {})
      })
      return body
    })
    return this.toFolder(body, rootId)
  }

  async renameFolder (mailbox: GraphMailbox, ref: FolderRef, displayName: string,
    signal?: AbortSignal): Promise<Folder> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const id = checkId(ref.id)
    const rootId = await this.rootId(mailbox)
    if (id === rootId) throw new FolderProtected('root')
    const url = `${mailbox.base}/folders/${id}`
    const subject: Subject = { kind: 'folder', ref: id, name: displayName }
    const body = await this.ctx.policy.run({
      key: mailbox.key,
      idempotent: true,
      ...(signal !== undefined
        ? { signal }
        : {})
    }, async () => {
      const { body } = await this.ctx.http.graphJson<GraphFolder>({
        method: 'PATCH',
        url,
        subject,
        body: { displayName },
        ...(signal !== undefined ? { signal } : {})
      })
      return body
    })
    // The docs promise the updated folder in the body; fetch it if a server answers 204.
    if (typeof body.id !== 'string') return await this.getFolder(mailbox, ref, signal)
    return this.toFolder(body, rootId)
  }

  async deleteFolder (mailbox: GraphMailbox, ref: FolderRef, signal?: AbortSignal): Promise<void> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const id = checkId(ref.id)
    const rootId = await this.rootId(mailbox)
    if (id === rootId) throw new FolderProtected('root')
    await this.ctx.policy.run({ key: mailbox.key, idempotent: true, ...(signal !== undefined ? { signal } : {}) },
      async () => {
        await this.ctx.http.graph({
          method: 'DELETE',
          url: `${mailbox.base}/folders/${id}`,
          subject: { kind: 'folder', ref: id },
          ...(signal !== undefined ? { signal } : {})
        })
      })
  }
}
