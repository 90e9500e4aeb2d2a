/**
 * Folder operations on /admin/exchange/mailboxes/{mbx}/folders, and resolution of
 * the port's well-known folder names.
 *
 * Primaries accept well-known names in the path (`root` is `msgfolderroot`).
 * Archives do not (protocol brief §2, §12): there `root` is the parent of the
 * top-level folders and inbox/deleteditems are found by name at the top level.
 */
import { FolderNotFound, FolderProtected, isGatewayError, UpstreamBadResponse } from '../../errors.js'
import { boundedText, MAX_FOLDER_TEXT_UNITS, nonNegativeInteger } from '../answers.js'
import type {
  CreateFolderRequest, Folder, FolderRef, ListFoldersRequest, Page, WellKnownFolder
} from '../mailbox-backend.js'
import { cursorFailure, cursorFromNextLink, readCursor, type PathPart } from './cursor.js'
import {
  callFor, knownMailboxIds, mailboxIdInPath, rememberAux, type GraphContext, type GraphMailbox
} from './context.js'
import type { Subject } from './errors.js'
import { fromPublicId, isUsableGraphId, pathSegment, toPublicId } from './ids.js'

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

/**
 * The mailboxFolder properties the port needs, asked for with $select wherever folders are read
 * (list, childFolders, get and delta, which supports $select: protocol brief §4.2, §4.3, §4.8), so
 * that a server answering sparse entries by default (Microsoft's delta example shows only id and
 * displayName) still sends them. wellKnownName: beta CSDL 2026-08-04, and Microsoft's v1.0 SDK.
 */
export const FOLDER_SELECT = 'id,displayName,parentFolderId,childFolderCount,totalItemCount,type,wellKnownName'
const SELECT_QUERY = `$select=${encodeURIComponent(FOLDER_SELECT)}`

/** Folders fetched at once to fill in entries a server answered without needed properties. */
const FILL_CONCURRENCY = 4

/** A Graph id from upstream, checked before it is used or handed out. */
function upstreamId (id: unknown, what: string): string {
  if (typeof id !== 'string' || !isUsableGraphId(id)) throw new UpstreamBadResponse(`${what} without a usable id`)
  return id
}

/**
 * The properties a folder answer lacks for the port's Folder. A missing parentFolderId is only
 * acceptable for the root (whose parentId is null) or when the parent is known from the request;
 * `type: null` is the server's own answer (no class), a missing `type` is not.
 */
function missingProps (f: GraphFolder, rootId: string, knownParent: string | undefined): string[] {
  const missing: string[] = []
  if (typeof f.displayName !== 'string') missing.push('displayName')
  const hasParent = typeof f.parentFolderId === 'string' && f.parentFolderId.length > 0
  if (f.id !== rootId && knownParent === undefined && !hasParent) missing.push('parentFolderId')
  if (f.type === undefined) missing.push('type')
  if (typeof f.childFolderCount !== 'number') missing.push('childFolderCount')
  if (typeof f.totalItemCount !== 'number') missing.push('totalItemCount')
  return missing
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

/** Error subject for a call about `ref`: an id is the caller's; a well-known name the gateway spells or resolves. */
export function folderSubject (ref: FolderRef, name?: string): Subject {
  const from = 'id' in ref ? 'caller' : 'wellKnown'
  return { kind: 'folder', ref: refLabel(ref), from, ...(name !== undefined ? { name } : {}) }
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

  /** GET through the policy (idempotent), JSON body; `operation` names the Graph action for telemetry. */
  async get<T> (mailbox: GraphMailbox, operation: string, url: string, subject: Subject, signal?: AbortSignal,
    headers?: Record<string, string>): Promise<{ body: T, url: string }> {
    return await this.ctx.policy.run(callFor(this.ctx, mailbox, operation, true, signal), async () => {
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
    // The root is looked up by the gateway on its own, for most calls.
    const subject: Subject = { kind: 'folder', ref: 'root', from: 'gateway' }
    if (!mailbox.archive) {
      const url = `${mailbox.base}/folders/msgfolderroot`
      const { body } = await this.get<GraphFolder>(mailbox, 'getFolder', url, subject)
      return upstreamId(body.id, 'the root folder')
    }
    // Well-known names fail in archives: the root is the parent of any top-level folder.
    const { body } = await this.get<GraphPage<GraphFolder>>(mailbox, 'listFolders', `${mailbox.base}/folders?$top=1`,
      subject)
    const parent = body.value?.[0]?.parentFolderId
    if (typeof parent !== 'string') throw new FolderNotFound('root')
    return upstreamId(parent, 'the root folder')
  }

  /** The Graph id of a reference: public ids decoded (400 when malformed), well-known names resolved and cached. */
  async folderId (mailbox: GraphMailbox, ref: FolderRef): Promise<string> {
    if ('id' in ref) return fromPublicId(ref.id)
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
    const subject: Subject = { kind: 'folder', ref: name, from: 'wellKnown' }
    const { body } = await this.get<GraphFolder>(mailbox, 'getFolder', `${mailbox.base}/folders/${name}`, subject)
    return upstreamId(body.id, `the ${name} folder`)
  }

  private async findArchiveWellKnown (mailbox: GraphMailbox, name: WellKnownFolder): Promise<string> {
    const displayName = ARCHIVE_WELL_KNOWN[name]
    if (displayName === undefined) throw new FolderNotFound(name)
    let url: string | undefined = `${mailbox.base}/folders?$top=100`
    let byName: string | undefined
    for (let pages = 0; url !== undefined && pages < 50; pages++) {
      // A listing of the archive's folders: the gateway's own call, not the caller's name.
      const subject: Subject = { kind: 'folder', ref: name, from: 'gateway' }
      const { body }: { body: GraphPage<GraphFolder> } = await this.get<GraphPage<GraphFolder>>(mailbox, 'listFolders',
        url, subject)
      for (const f of body.value ?? []) {
        if (typeof f.id !== 'string') continue
        // Beta's wellKnownName is authoritative when present (`inbox` or `archiveinbox`).
        const wk = typeof f.wellKnownName === 'string' ? f.wellKnownName.toLowerCase() : undefined
        if (wk === name || wk === `archive${name}`) return upstreamId(f.id, `the ${name} folder`)
        if (byName === undefined && f.displayName?.toLowerCase() === displayName.toLowerCase()) byName = f.id
      }
      const next: string | undefined = body['@odata.nextLink']
      url = next !== undefined ? new URL(next, this.ctx.config.graphUrl).href : undefined
    }
    if (byName === undefined) throw new FolderNotFound(name)
    return upstreamId(byName, `the ${name} folder`)
  }

  /**
   * A folder as Graph addresses it in a path, decoded (put it in a URL with pathSegment): the Graph
   * id, or on primaries a well-known name as it is (root → msgfolderroot).
   */
  async segment (mailbox: GraphMailbox, ref: FolderRef): Promise<string> {
    if ('id' in ref) return fromPublicId(ref.id)
    if (!mailbox.archive) return ref.wellKnown === 'root' ? 'msgfolderroot' : ref.wellKnown
    return await this.folderId(mailbox, ref)
  }

  /**
   * The port's Folder for a complete Graph folder (public ids; the root's parentId is null).
   * `knownParent`: the Graph id of the parent the request named, used when the answer omits it.
   * Throws MBG_ERR_UPSTREAM_BAD_RESPONSE (502) naming what is missing, or what has a value the
   * Folder schema could not carry (a class that is not a string or null, a count that is not a
   * non-negative integer): nothing is made up.
   */
  toFolder (f: GraphFolder, rootId: string, knownParent?: string): Folder {
    const id = upstreamId(f.id, 'folder')
    const missing = missingProps(f, rootId, knownParent)
    if (missing.length > 0) {
      throw new UpstreamBadResponse(`Graph answered folder ${id.slice(0, 100)} without ${missing.join(', ')}`)
    }
    const isRoot = id === rootId
    const given = typeof f.parentFolderId === 'string' && f.parentFolderId.length > 0 ? f.parentFolderId : knownParent
    const parent = given !== undefined ? upstreamId(given, `the parent of ${id.slice(0, 100)}`) : undefined
    const what = `folder ${id.slice(0, 100)}`
    const wellKnownName = isRoot
      ? 'root'
      : typeof f.wellKnownName === 'string' && f.wellKnownName.length > 0
        ? f.wellKnownName
        : undefined
    const type: unknown = f.type
    if (type !== null && typeof type !== 'string') throw new UpstreamBadResponse(`${what}: type is not a string`)
    const count = (name: 'childFolderCount' | 'totalItemCount'): number => {
      const value: unknown = f[name]
      const n = nonNegativeInteger(value)
      if (typeof value !== 'number' || n === undefined) {
        throw new UpstreamBadResponse(`${what}: ${name} is not a non-negative integer`)
      }
      return n
    }
    return {
      id: toPublicId(id),
      displayName: boundedText(f.displayName as string, MAX_FOLDER_TEXT_UNITS, what, 'displayName'),
      parentId: isRoot || parent === undefined ? null : toPublicId(parent),
      folderClass: boundedText(typeof type === 'string' ? type : '', MAX_FOLDER_TEXT_UNITS, what, 'type'),
      childFolderCount: count('childFolderCount'),
      totalItemCount: count('totalItemCount'),
      ...(wellKnownName !== undefined ? { wellKnownName } : {})
    }
  }

  /** GET one folder by Graph id (or well-known name) with the properties the port needs. */
  private async fetchFolder (
    mailbox: GraphMailbox, seg: string, subject: Subject, signal?: AbortSignal
  ): Promise<GraphFolder> {
    const url = `${mailbox.base}/folders/${pathSegment(seg)}?${SELECT_QUERY}`
    return (await this.get<GraphFolder>(mailbox, 'getFolder', url, subject, signal)).body
  }

  /**
   * Folders of a listing as the port's Folders. Entries a server answered without needed
   * properties (despite $select) are fetched one by one; still incomplete → 502. One deleted
   * in the meantime (404) is left out, as the next listing would not show it either.
   */
  async toFolders (
    mailbox: GraphMailbox, entries: GraphFolder[], rootId: string, knownParent?: string, signal?: AbortSignal
  ): Promise<Folder[]> {
    const out: Array<Folder | undefined> = new Array<Folder | undefined>(entries.length)
    const incomplete: number[] = []
    entries.forEach((f, i) => {
      upstreamId(f.id, 'folder')
      if (missingProps(f, rootId, knownParent).length > 0) incomplete.push(i)
      else out[i] = this.toFolder(f, rootId, knownParent)
    })
    if (incomplete.length > 0) {
      const fields = { mailbox: mailbox.mbx, folders: incomplete.length }
      this.ctx.logger.debug(fields, 'folder entries without needed properties: fetching them')
    }
    for (let start = 0; start < incomplete.length; start += FILL_CONCURRENCY) {
      await Promise.all(incomplete.slice(start, start + FILL_CONCURRENCY).map(async (i) => {
        const id = entries[i].id as string
        let fetched: GraphFolder
        try {
          fetched = await this.fetchFolder(
            mailbox,
            id,
            { kind: 'folder', ref: toPublicId(id), from: 'gateway' },
            signal
          )
        } catch (err) {
          if ((err as { code?: unknown }).code === 'MBG_ERR_FOLDER_NOT_FOUND') return
          throw err
        }
        out[i] = this.toFolder({ ...entries[i], ...fetched }, rootId, knownParent)
      }))
    }
    return out.filter((f): f is Folder => f !== undefined)
  }

  async getFolder (mailbox: GraphMailbox, ref: FolderRef, signal?: AbortSignal): Promise<Folder> {
    const seg = await this.segment(mailbox, ref)
    const [body, rootId] = await Promise.all([
      this.fetchFolder(mailbox, seg, folderSubject(ref), signal),
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
      url = `${mailbox.base}/folders/delta?${SELECT_QUERY}`
      headers = { prefer: `odata.maxpagesize=${top}` }
      collections = [[{ name: 'folders' }, { name: 'delta' }]]
    } else {
      const parent = await this.folderId(mailbox, request.parentId)
      scope = `children:${parent}`
      url = parent === rootId
        ? `${mailbox.base}/folders?$top=${top}&${SELECT_QUERY}`
        : `${mailbox.base}/folders/${pathSegment(parent)}/childFolders?$top=${top}&${SELECT_QUERY}`
      const childFolders: PathPart[] = [{ name: 'folders' }, { id: parent }, { name: 'childFolders' }]
      collections = parent === rootId ? [[{ name: 'folders' }], childFolders] : [childFolders]
    }
    const cursor = request.cursor
    if (cursor !== undefined) {
      url = readCursor(cursor, {
        graphOrigin: this.ctx.config.graphUrl,
        version: mailbox.version,
        mailboxIds: knownMailboxIds(this.ctx, mailbox),
        scope,
        collections
      })
    }
    const subject: Subject = request.parentId !== undefined
      ? folderSubject(request.parentId)
      : { kind: 'folder', ref: 'root', from: 'gateway' }
    const { body } = await this.get<GraphPage<GraphFolder>>(mailbox, 'listFolders', url, subject, signal, headers)
      .catch((err: unknown) => { throw cursor !== undefined ? cursorFailure(err) : err })
    if (!Array.isArray(body.value)) throw new UpstreamBadResponse('folder list without value[]')
    const live = body.value.filter((f) => f['@removed'] === undefined && f.id !== rootId)
    // Children of a named parent: the parent is known even where an entry omits parentFolderId.
    const knownParent = scope.startsWith('children:') ? scope.slice('children:'.length) : undefined
    const values = await this.toFolders(mailbox, live, rootId, knownParent, signal)
    const next = body['@odata.nextLink']
    return {
      values,
      ...(next !== undefined ? { nextCursor: cursorFromNextLink(next, this.ctx.config.graphUrl, scope) } : {})
    }
  }

  async createFolder (mailbox: GraphMailbox, request: CreateFolderRequest, signal?: AbortSignal): Promise<Folder> {
    const rootId = await this.rootId(mailbox)
    const parent = request.parentId !== undefined ? await this.folderId(mailbox, request.parentId) : rootId
    const url = parent === rootId
      ? `${mailbox.base}/folders`
      : `${mailbox.base}/folders/${pathSegment(parent)}/childFolders`
    const subject = folderSubject(request.parentId ?? { wellKnown: 'root' }, request.displayName)
    // Not idempotent: a blind retry after an unknown outcome could create a duplicate.
    const body = await this.ctx.policy.run(callFor(this.ctx, mailbox, 'createFolder', false, signal), async () => {
      const { body } = await this.ctx.http.graphJson<GraphFolder>({
        method: 'POST',
        url,
        subject,
        body: { displayName: request.displayName, type: request.folderClass ?? 'IPF.Note' },
        ...(signal !== undefined ? { signal } : {})
      })
      return body
    })
    const [made] = await this.toFolders(mailbox, [body], rootId, parent, signal)
    if (made === undefined) throw new FolderNotFound(refLabel(request.parentId ?? { wellKnown: 'root' }))
    return made
  }

  async renameFolder (mailbox: GraphMailbox, ref: FolderRef, displayName: string,
    signal?: AbortSignal): Promise<Folder> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const id = fromPublicId(ref.id)
    const rootId = await this.rootId(mailbox)
    if (id === rootId) throw new FolderProtected('root')
    const url = `${mailbox.base}/folders/${pathSegment(id)}`
    const subject: Subject = { kind: 'folder', ref: ref.id, name: displayName }
    const body = await this.ctx.policy.run(callFor(this.ctx, mailbox, 'renameFolder', true, signal), async () => {
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
    const [renamed] = await this.toFolders(mailbox, [body], rootId, undefined, signal)
    if (renamed === undefined) throw new FolderNotFound(ref.id)
    return renamed
  }

  async deleteFolder (mailbox: GraphMailbox, ref: FolderRef, signal?: AbortSignal): Promise<void> {
    if ('wellKnown' in ref) throw new FolderProtected(ref.wellKnown)
    const id = fromPublicId(ref.id)
    const rootId = await this.rootId(mailbox)
    if (id === rootId) throw new FolderProtected('root')
    await this.ctx.policy.run(callFor(this.ctx, mailbox, 'deleteFolder', true, signal),
      async (attempt) => {
        try {
          await this.ctx.http.graph({
            method: 'DELETE',
            url: `${mailbox.base}/folders/${pathSegment(id)}`,
            subject: { kind: 'folder', ref: ref.id },
            ...(signal !== undefined ? { signal } : {})
          })
        } catch (err) {
          // A retry after a lost answer finds the folder already gone: that is the outcome we wanted.
          if (attempt > 1 && isGatewayError(err) && err.code === 'MBG_ERR_FOLDER_NOT_FOUND') return
          throw err
        }
      })
  }
}
