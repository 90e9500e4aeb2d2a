/**
 * Change feeds over Graph delta (protocol brief §4.8, §4.11, §6): `folders/{id}/items/delta` for the items
 * of one folder, `folders/delta` for the folder tree.
 *
 * A round is the initial GET (or a deltaLink replay), then pages linked by @odata.nextLink, the last one
 * carrying @odata.deltaLink. One port call reads pages until it holds `limit` changes or the round ends
 * (at most MAX_PAGES pages); the cursor it returns is the link to GET next, verbatim (path and query on
 * the Graph origin, as page cursors are: cursor.ts), so `more` is "that link is a nextLink". No query
 * option is ever added to a link; the page size goes in `Prefer: odata.maxpagesize`.
 *
 * Graph does not tell a creation from an update: entries of a round that started without a cursor are
 * `created`, later ones `createdOrUpdated`; an entry with `@removed` is `deleted`. A token Graph refuses
 * (410 Gone, SyncStateNotFound…) is a 410 MBG_ERR_CURSOR_EXPIRED (errors.ts `syncStateGone`).
 */
import { BadRequest, UpstreamBadResponse } from '../../errors.js'
import type { Changes, ChangesRequest, FolderChange, FolderRef, ItemChange } from '../mailbox-backend.js'
import { knownMailboxIds, type GraphContext, type GraphMailbox } from './context.js'
import {
  cursorFailure, cursorFromNextLink, decodeCursor, matchesCollection, openCursor, type PathPart
} from './cursor.js'
import type { Subject } from './errors.js'
import { FOLDER_SELECT, folderSubject, pageSize, type Folders, type GraphFolder, type GraphPage } from './folders.js'
import { pathSegment, publicIdOf } from './ids.js'
import { ITEM_SELECT, toItemSummary, type GraphItem } from './items.js'

/** Most Graph pages one port call reads (pages can come back empty while a round goes on). */
export const MAX_PAGES = 10

/** Suffix of a cursor's listing label while the round that started without a cursor goes on. */
const FULL = '|full'

/** How the delta function may be spelled as the last path segment of a link. */
const DELTA_SPELLINGS = ['delta', 'delta()', 'microsoft.graph.delta', 'microsoft.graph.delta()']

type DeltaEntry = (GraphItem | GraphFolder) & { '@removed'?: unknown }

interface DeltaPage { entries: DeltaEntry[], full: boolean, cursor: string, more: boolean }

/** Where a delta starts, and how its links are checked. */
interface DeltaTarget {
  /** Listing label kept in cursors (`item-delta:<seg>`, `folder-delta`). */
  scope: string
  /** The first GET of a round without a cursor. */
  start: string
  /** Accepted spellings of the collection below the mailbox, the delta segment last. */
  collections: PathPart[][]
  subject: Subject
  /** The Graph action, for the policy and telemetry. */
  operation: 'itemDelta' | 'folderDelta'
}

/** `prefix` followed by each spelling of the delta segment. */
function deltaCollections (prefix: PathPart[]): PathPart[][] {
  return DELTA_SPELLINGS.map((name) => [...prefix, { name }])
}

/**
 * Reads delta pages from the cursor's link (or the start of a round) until `limit` entries or the round's end.
 * Entries repeated within the call (Graph may report an object more than once in a round) keep their last state.
 */
async function readDelta (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, target: DeltaTarget,
  request: ChangesRequest, signal?: AbortSignal): Promise<DeltaPage> {
  let url: string
  let full: boolean
  if (request.cursor === undefined) {
    url = target.start
    full = true
  } else {
    const label = decodeCursor(request.cursor).s
    full = label === target.scope + FULL
    const opened = openCursor(request.cursor, {
      graphOrigin: ctx.config.graphUrl,
      version: mailbox.version,
      mailboxIds: knownMailboxIds(ctx, mailbox),
      scope: full ? target.scope + FULL : target.scope
    })
    if (!target.collections.some((c) => matchesCollection(opened.collection, c))) {
      throw new BadRequest('The cursor does not continue this change feed')
    }
    url = opened.url
  }
  const limit = Math.max(1, request.limit)
  const byId = new Map<string, DeltaEntry>()
  let replay = request.cursor !== undefined
  for (let pages = 1; ; pages++) {
    const subject: Subject = replay && target.subject.kind === 'folder'
      ? { ...target.subject, token: true }
      : target.subject
    const headers = { prefer: `odata.maxpagesize=${pageSize(ctx, limit - byId.size)}` }
    const { body } = await folders.get<GraphPage<DeltaEntry>>(mailbox, target.operation, url, subject, signal, headers)
      .catch((err: unknown) => {
        // A link Graph refuses in another way (400): the caller's cursor led there, so a 400, not a 502.
        throw replay && (err as { code?: unknown }).code !== 'MBG_ERR_CURSOR_EXPIRED' ? cursorFailure(err) : err
      })
    if (!Array.isArray(body.value)) throw new UpstreamBadResponse('delta page without value[]')
    for (const entry of body.value) {
      const id = (entry as { id?: unknown }).id
      if (typeof id !== 'string') throw new UpstreamBadResponse('delta entry without an id')
      byId.delete(id)
      byId.set(id, entry)
    }
    const next = body['@odata.nextLink']
    const delta = body['@odata.deltaLink']
    if (typeof next === 'string') {
      const cursor = cursorFromNextLink(next, ctx.config.graphUrl, full ? target.scope + FULL : target.scope)
      if (byId.size >= limit || pages >= MAX_PAGES) return { entries: [...byId.values()], full, cursor, more: true }
      url = new URL(next, ctx.config.graphUrl).href
      replay = true
      continue
    }
    if (typeof delta !== 'string') {
      throw new UpstreamBadResponse('delta page without @odata.nextLink or @odata.deltaLink')
    }
    const cursor = cursorFromNextLink(delta, ctx.config.graphUrl, target.scope)
    return { entries: [...byId.values()], full, cursor, more: false }
  }
}

/** Item changes of one folder: `folders/{seg}/items/delta`, $select'ing the ItemSummary fields. */
export async function listItemChanges (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, folder: FolderRef,
  request: ChangesRequest, signal?: AbortSignal): Promise<Changes<ItemChange>> {
  const seg = await folders.segment(mailbox, folder)
  const items = (key: PathPart): PathPart[] => [{ name: 'folders' }, key, { name: 'items' }]
  // A well-known name on a primary: links may spell the folder by name or, should Graph do so, by its id.
  const byName = 'wellKnown' in folder && !mailbox.archive
  const collections = deltaCollections(items(byName ? { name: seg } : { id: seg }))
  if (byName && request.cursor !== undefined) {
    collections.push(...deltaCollections(items({ id: await folders.folderId(mailbox, folder) })))
  }
  const page = await readDelta(ctx, folders, mailbox, {
    scope: `item-delta:${seg}`,
    start: `${mailbox.base}/folders/${pathSegment(seg)}/items/delta?$select=${encodeURIComponent(ITEM_SELECT)}`,
    collections,
    subject: folderSubject(folder),
    operation: 'itemDelta'
  }, request, signal)
  const changes = page.entries.map((entry): ItemChange => {
    if (entry['@removed'] !== undefined) return { change: 'deleted', id: publicIdOf(entry.id, 'item') }
    const item = toItemSummary(entry as GraphItem)
    return { change: page.full ? 'created' : 'createdOrUpdated', id: item.id, changeKey: item.changeKey, item }
  })
  return { changes, cursor: page.cursor, more: page.more }
}

/** Folder changes of the tree below the root: `folders/delta`, $select'ing the Folder fields. */
export async function listFolderChanges (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox,
  request: ChangesRequest, signal?: AbortSignal): Promise<Changes<FolderChange>> {
  const rootId = await folders.rootId(mailbox)
  const page = await readDelta(ctx, folders, mailbox, {
    scope: 'folder-delta',
    start: `${mailbox.base}/folders/delta?$select=${encodeURIComponent(FOLDER_SELECT)}`,
    collections: deltaCollections([{ name: 'folders' }]),
    subject: { kind: 'folder', ref: 'root', from: 'gateway' },
    operation: 'folderDelta'
  }, request, signal)
  const entries = page.entries.filter((e) => e.id !== rootId)
  const live = entries.filter((e) => e['@removed'] === undefined) as GraphFolder[]
  // Entries without the needed properties are fetched; one deleted meanwhile is left out (the next round says so).
  const read = new Map((await folders.toFolders(mailbox, live, rootId, undefined, signal)).map((f) => [f.id, f]))
  const changes: FolderChange[] = []
  for (const entry of entries) {
    const id = publicIdOf(entry.id, 'folder')
    if (entry['@removed'] !== undefined) {
      changes.push({ change: 'deleted', id })
      continue
    }
    const folder = read.get(id)
    if (folder !== undefined) changes.push({ change: page.full ? 'created' : 'createdOrUpdated', id, folder })
  }
  return { changes, cursor: page.cursor, more: page.more }
}
