/**
 * One pass of a copy job: (a) the folder tree — the source folders listed, well-known ones mapped to their
 * counterparts on the target, the others found by name under their mapped parent or created there, the map kept
 * in the ledger; (b) per folder, the item change feed — from no cursor in the first pass (its first sync lists every
 * item), from the folder's last complete cursor in a delta pass — items the ledger has as copied at the same change
 * key skipped, the others exported and imported in byte-bounded batches through the service's batch functions
 * (src/service/items.ts), updates as update-mode imports of the target copy, each result written to the ledger as it
 * comes; (c) the settle step (./delta.ts): moves and deletions the feeds reported.
 * Every backend call goes through the policy under the job's own fair-queue key, so jobs share budgets.
 *
 * A pass returns at a checkpoint (after each page of the feed) when `checkpoint` says so (pause, cancel, a lost
 * lease) or when `stop` fired (shutdown): the ledger and the per-folder feed cursor make the next run go on from
 * there. Seams for the next step: reconciliation of `unknown` items, verification.
 */
import {
  parseFolderRef, WELL_KNOWN_FOLDERS, type Folder, type ItemChange, type ItemSummary, type WellKnownFolder
} from '../../backends/mailbox-backend.js'
import { isGatewayError } from '../../errors.js'
import type { LedgerEntry, LedgerStore } from '../../state/jobs.js'
import type { Telemetry } from '../../telemetry.js'
import { exportItems, importItems, type ImportRequestItem, type ImportRules, type MailboxTarget } from '../items.js'
import type { MailboxService } from '../mailbox-service.js'
import { copyAssociated } from './associated.js'
import { orphan, replaceItems, searchKeyOf, settlePass, withKey, type Replacement } from './delta.js'
import { belowUnheld, CANNOT_HOLD_CODE, cannotCreate, targetItemLimit, unheldFolders } from './plan.js'
import { claimedTargets, RECONCILE_PAGE_SIZE, reconcileFolder } from './reconcile.js'
import {
  displayNameOf, MAX_REPORTED_FAILURES, partialCursorKey, pathSegment, type CopyJobSpec, type CopyProgress,
  type FolderProgress
} from './types.js'

/** Changes asked per page of a folder's feed (one checkpoint each). */
export const FEED_PAGE_SIZE = 100

export interface CopyContext {
  jobId: string
  spec: CopyJobSpec
  progress: CopyProgress
  source: MailboxTarget
  target: MailboxTarget
  service: MailboxService
  ledger: LedgerStore
  rules: ImportRules
  /** Graceful stop (shutdown): no backend call starts after it; the pass returns 'stopped'. */
  stop: AbortSignal
  /** Hard stop: calls in flight are aborted. */
  signal: AbortSignal
  telemetry?: Telemetry
  /** Saves progress; resolves false when the job must stop here (paused, canceled, lease lost). */
  checkpoint: () => Promise<boolean>
}

/** How a pass ended: its work is done, or it stopped at a checkpoint (or at a shutdown) to go on later. */
export type PassOutcome = 'done' | 'halted'

function message (err: unknown): { code: string, message: string } {
  return isGatewayError(err)
    ? { code: err.code, message: err.message }
    : { code: 'MBG_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) }
}

function sameName (a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase()
}

/** Every folder below root (the port's flat listing, all pages). */
async function listTree (t: MailboxTarget, signal: AbortSignal): Promise<Folder[]> {
  const out: Folder[] = []
  let cursor: string | undefined
  do {
    const page = await t.backend.listFolders(t.mailbox, { limit: 1000, ...(cursor !== undefined ? { cursor } : {}) },
      { signal })
    out.push(...page.values)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}

/** Folder id → well-known name, for the well-known folders the mailbox has (one lookup each). */
export async function wellKnownIds (t: MailboxTarget, signal: AbortSignal): Promise<Map<string, WellKnownFolder>> {
  const names = WELL_KNOWN_FOLDERS.filter((n) => n !== 'root')
  const found = await Promise.allSettled(names.map(async (n) =>
    await t.backend.getFolder(t.mailbox, { wellKnown: n }, { signal })))
  const out = new Map<string, WellKnownFolder>()
  found.forEach((f, i) => { if (f.status === 'fulfilled') out.set(f.value.id, names[i]) })
  return out
}

/** The child of `parent` named `name` (compared as Exchange does), or undefined. */
async function findChild (t: MailboxTarget, parent: string, name: string,
  signal: AbortSignal): Promise<Folder | undefined> {
  let cursor: string | undefined
  do {
    const page = await t.backend.listFolders(t.mailbox, {
      parentId: parseFolderRef(parent), limit: 1000, ...(cursor !== undefined ? { cursor } : {})
    }, { signal })
    const found = page.values.find((f) => sameName(f.displayName, name))
    if (found !== undefined) return found
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return undefined
}

/**
 * (a) Lists the source folders of the job (parents before children) into `progress.folders`, keeping what an
 * earlier run of the pass recorded.
 */
async function planFolders (ctx: CopyContext): Promise<void> {
  const { source, spec, signal } = ctx
  if (ctx.progress.folders.length > 0) return
  const tree = await listTree(source, signal)
  let selected: Folder[]
  if (spec.source.folder === undefined) {
    selected = tree
  } else {
    const top = await source.backend.getFolder(source.mailbox, parseFolderRef(spec.source.folder), { signal })
    selected = [top]
    if (spec.source.subtree) {
      const inside = new Set([top.id])
      // The flat listing gives parents before children; loop until no more join, whatever the order.
      for (let grew = true; grew;) {
        grew = false
        for (const f of tree) {
          if (!inside.has(f.id) && f.parentId !== null && inside.has(f.parentId)) {
            inside.add(f.id); selected.push(f); grew = true
          }
        }
      }
    }
  }
  const byId = new Map(selected.map((f) => [f.id, f]))
  const parentOf = (f: Folder): Folder | undefined => f.parentId !== null ? byId.get(f.parentId) : undefined
  // Names are kept as they are (`displayName`); the path escapes '/' in them, so it stays unambiguous.
  const path = (f: Folder): string => {
    const parent = parentOf(f)
    return parent !== undefined ? `${path(parent)}/${pathSegment(f.displayName)}` : pathSegment(f.displayName)
  }
  const depth = (f: Folder): number => {
    const parent = parentOf(f)
    return parent !== undefined ? depth(parent) + 1 : 1
  }
  ctx.progress.folders = selected
    .map((f) => ({ f, d: depth(f) }))
    .sort((a, b) => a.d - b.d)
    .map(({ f }) => ({
      sourceId: f.id,
      path: path(f),
      displayName: f.displayName,
      folderClass: f.folderClass,
      expected: f.totalItemCount,
      planned: 0,
      done: 0,
      failed: 0,
      skipped: 0,
      bytes: 0,
      started: false,
      complete: false
    }))
}

/** (a) Maps every source folder to a target folder: well-known, named, found by name, or created (not in a dry run). */
async function mapFolders (ctx: CopyContext): Promise<void> {
  const { source, target, spec, signal, ledger, jobId } = ctx
  const known = await ledger.getFolderMap(jobId)
  const sourceWellKnown = await wellKnownIds(source, signal)
  const parentOf = new Map<string, string | null>()
  const tree = await listTree(source, signal)
  for (const f of tree) parentOf.set(f.id, f.parentId)
  const selected = new Set(ctx.progress.folders.map((f) => f.sourceId))
  const targetTop = spec.target.folder !== undefined
    ? (await target.backend.getFolder(target.mailbox, parseFolderRef(spec.target.folder), { signal })).id
    : 'root'
  for (const folder of ctx.progress.folders) {
    if (folder.targetId !== undefined || folder.action === 'create') continue
    const mapped = known[folder.sourceId]
    if (mapped !== undefined && !spec.dryRun) { folder.targetId = mapped; folder.action ??= 'existing'; continue }
    const parentId = parentOf.get(folder.sourceId) ?? null
    const isTop = parentId === null || !selected.has(parentId)
    const name = displayNameOf(folder)
    try {
      if (isTop && spec.source.folder !== undefined && spec.target.folder !== undefined) {
        folder.targetId = targetTop
        folder.action = 'target'
      } else if (isTop && spec.target.folder === undefined && sourceWellKnown.has(folder.sourceId)) {
        const wk = sourceWellKnown.get(folder.sourceId) as WellKnownFolder
        folder.targetId = (await target.backend.getFolder(target.mailbox, { wellKnown: wk }, { signal })).id
        folder.action = 'wellKnown'
      } else {
        const parent = isTop
          ? { targetId: targetTop, action: undefined, error: undefined, path: '' }
          : ctx.progress.folders.find((f) => f.sourceId === parentId)
        if (parent?.error !== undefined) {
          // Not mapped, or not held by the target: nothing below it is either (the same code, in a dry run too).
          folder.error = { code: parent.error.code, message: `${folder.path}: ${belowUnheld(parent.path)}` }
          continue
        }
        const unheld = cannotCreate(target, name, folder.folderClass)
        if (parent?.action === 'create') {
          if (unheld !== undefined) folder.error = { code: CANNOT_HOLD_CODE, message: `${folder.path}: ${unheld}` }
          else folder.action = 'create'
          continue
        }
        if (parent?.targetId === undefined) throw new Error(`the parent of ${folder.path} has no target folder`)
        const existing = await findChild(target, parent.targetId, name, signal)
        if (existing !== undefined) {
          folder.targetId = existing.id
          folder.action = 'existing'
        } else if (unheld !== undefined) {
          folder.error = { code: CANNOT_HOLD_CODE, message: `${folder.path}: ${unheld}` }
          continue
        } else if (spec.dryRun) {
          folder.action = 'create'
        } else {
          const made = await createOrFind(ctx, parent.targetId, name, folder.folderClass)
          folder.targetId = made.id
          folder.action = 'created'
        }
      }
      if (!spec.dryRun && folder.targetId !== undefined) await ledger.putFolder(jobId, folder.sourceId, folder.targetId)
    } catch (err) {
      if (signal.aborted) throw err
      folder.error = message(err)
    }
  }
}

/** Creates a folder; one that appeared meanwhile (409) is looked up instead. */
async function createOrFind (ctx: CopyContext, parentId: string, name: string, folderClass: string): Promise<Folder> {
  try {
    return await ctx.service.createFolder(ctx.target, { displayName: name, parentId, folderClass }, ctx.signal)
  } catch (err) {
    if (!isGatewayError(err) || err.code !== 'MBG_ERR_FOLDER_EXISTS') throw err
    const found = await findChild(ctx.target, parentId, name, ctx.signal)
    if (found === undefined) throw err
    return found
  }
}

export function recordFailure (ctx: CopyContext, folder: FolderProgress, sourceId: string,
  err: { code: string, message: string }): void {
  if (ctx.progress.failures.length < MAX_REPORTED_FAILURES) {
    ctx.progress.failures.push({ sourceId, folder: folder.path, code: err.code, message: err.message })
  }
}

/**
 * The items a target folder held before this job first synced its source folder, by search key (each key's items,
 * taken one by one as source items match them). See `existingInTarget`.
 */
type ExistingItems = Map<string, Array<{ id: string, changeKey: string }>>

/**
 * No duplicates across jobs (README "Copy jobs", "Already in the target"): when the job syncs a source folder for
 * the first time (no complete cursor in its ledger) into a target folder it did not create (`existing`,
 * `wellKnown`, `target`; one the job created holds only what its ledger knows), the target folder is listed once
 * and its items kept by search key. A source item the ledger does not know whose key is there is recorded as
 * copied to that target item (`matched`), not imported: copies made by an earlier job (deleted or not), by another
 * job with the same source and target, or by another migration tool that keeps PR_SEARCH_KEY. Each target item
 * matches one source item at most; target items the job's ledger already holds (a sync cut short and resumed, a
 * pass run again after a failure) are left out. Items without a key (a Graph source's delta feed carries none; a
 * target listing without it) cannot match and are copied.
 *
 * Memory: one entry per keyed item of the one target folder being synced (its search key, id and change key:
 * a few hundred bytes), released when the folder's sync ends; reconciliation (./reconcile.ts) holds as much.
 * Resolves undefined when there is nothing to match (no listing needed, or no keyed item in it); throws what the
 * backend throws after the policy's retries (the pass stops as for a failed feed page).
 */
async function existingInTarget (ctx: CopyContext, folder: FolderProgress): Promise<ExistingItems | undefined> {
  const targetId = folder.targetId
  if (targetId === undefined || folder.action === 'created' || folder.action === 'create') return undefined
  if (await ctx.ledger.getCursor(ctx.jobId, folder.sourceId) !== undefined) return undefined
  const byKey: ExistingItems = new Map()
  let cursor: string | undefined
  do {
    const page = await ctx.target.backend.listItems(ctx.target.mailbox, { id: targetId },
      { limit: RECONCILE_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) }, { signal: ctx.signal })
    for (const item of page.values) {
      const key = searchKeyOf(item)
      if (key === undefined) continue
      const same = byKey.get(key)
      if (same !== undefined) same.push({ id: item.id, changeKey: item.changeKey })
      else byKey.set(key, [{ id: item.id, changeKey: item.changeKey }])
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  if (byKey.size === 0) return undefined
  if (folder.started || ctx.progress.pass > 1) {
    // The job may have copied into this folder already: those target items are its own copies, not matches.
    const claimed = await claimedTargets(ctx, targetId)
    for (const [key, list] of byKey) {
      const free = list.filter((i) => !claimed.has(i.id))
      if (free.length > 0) byKey.set(key, free)
      else byKey.delete(key)
    }
  }
  return byKey.size > 0 ? byKey : undefined
}

/** Takes (removes) a target item of `key` from `existing`, when one is left. */
function takeExisting (existing: ExistingItems | undefined, key: string | undefined):
{ id: string, changeKey: string } | undefined {
  if (existing === undefined || key === undefined) return undefined
  const list = existing.get(key)
  const found = list?.shift()
  if (list !== undefined && list.length === 0) existing.delete(key)
  return found
}

/** What a page asks of one listed item. */
type Work = { mode: 'create' } | { mode: 'update', entry: LedgerEntry }

/** Error codes of an update-mode import whose target item is gone or at another version: delete + create. */
const REPLACE_CODES = new Set(['MBG_ERR_ITEM_NOT_FOUND', 'MBG_ERR_CHANGE_KEY_CONFLICT', 'MBG_ERR_CHANGE_KEY_INVALID'])

/**
 * (b) Copies (or in a dry run, plans) one page of a folder's feed. Resolves false when the page was cut short.
 * Per item, by its ledger entry: none → create (in a delta pass, an item with a search key waits as `pending`
 * for the end of the pass: it may be a move); copied at the same change key, or an outcome not known → skipped;
 * copied at another change key (or failed with a target item) → update-mode import of the target item, and when
 * the target says that item is gone or changed, delete + create (never two copies). Deleted on the source →
 * `orphaned` (settled at the end of the pass). A read-flag change alone is not carried: the read state travels in
 * the item's full-fidelity stream, so the next content change carries it; re-importing a whole item for one flag
 * would cost the item's size each time. Items whose outcome is not known (`sending`, `unknown`) are left to
 * reconciliation at the end of the folder; `resend`: items reconciliation found absent from the target, sent as
 * they are (created). `existing`: the target folder's items from before the job (see `existingInTarget`); an item
 * the ledger does not know that matches one by search key is recorded as copied to it (`matched`), not sent.
 */
async function copyPage (ctx: CopyContext, folder: FolderProgress, changes: ItemChange[],
  resend = false, existing?: ExistingItems): Promise<boolean> {
  const { ledger, jobId, spec } = ctx
  const items = changes
    .filter((c) => c.change !== 'deleted' && c.change !== 'readFlagChanged' && c.item !== undefined)
    .map((c) => c.item as ItemSummary)
  const deleted = changes.filter((c) => c.change === 'deleted').map((c) => c.id)
  const entries = resend ? {} : await ledger.getItems(jobId, [...items.map((i) => i.id), ...deleted])
  const toCopy: ItemSummary[] = []
  const work = new Map<string, Work>()
  const pending: Record<string, LedgerEntry> = {}
  const matched: Record<string, LedgerEntry> = {}
  if (!resend) folder.planned += items.length
  for (const item of items) {
    const e = entries[item.id]
    const key = searchKeyOf(item)
    if (e === undefined || (e.state === 'failed' && e.targetId === undefined)) {
      const found = takeExisting(existing, key)
      if (found !== undefined) {
        // Already in the target (an earlier copy): recorded as this item's copy, not imported again.
        folder.matched = (folder.matched ?? 0) + 1
        matched[item.id] = {
          state: 'copied',
          targetId: found.id,
          targetChangeKey: found.changeKey,
          sourceChangeKey: item.changeKey,
          sourceFolderId: folder.sourceId,
          targetFolderId: folder.targetId as string,
          size: item.size,
          searchKey: key as string
        }
        continue
      }
      if (!resend && !spec.dryRun && ctx.progress.pass > 1 && key !== undefined && e === undefined) {
        pending[item.id] = {
          state: 'pending',
          sourceChangeKey: item.changeKey,
          sourceFolderId: folder.sourceId,
          targetFolderId: folder.targetId as string,
          size: item.size,
          searchKey: key
        }
        continue
      }
      toCopy.push(item); work.set(item.id, { mode: 'create' })
    } else if ((e.state === 'copied' || e.state === 'failed' || e.state === 'orphaned') && e.targetId !== undefined) {
      if (e.state === 'copied' && e.sourceChangeKey === item.changeKey) { folder.skipped++; continue }
      toCopy.push(item); work.set(item.id, { mode: 'update', entry: e })
    } else {
      // unknown, sending (an outcome to reconcile), pending, moving (settled at the end of the pass)
      folder.skipped++
    }
  }
  if (spec.dryRun) {
    const plan = ctx.progress.plan as NonNullable<CopyProgress['plan']>
    const limit = targetItemLimit(ctx.target)
    for (const item of toCopy) {
      folder.bytes += item.size
      plan.items++
      plan.bytes += item.size
      if (item.size > limit) plan.tooLarge.push({ sourceId: item.id, folder: folder.path, size: item.size })
    }
    return true
  }
  if (Object.keys(matched).length > 0) await ledger.putItems(jobId, matched)
  if (Object.keys(pending).length > 0) await ledger.putItems(jobId, pending)
  if (deleted.length > 0) await orphan(ctx, deleted, entries)
  const targetFolderId = folder.targetId as string
  type Sent = ItemSummary & { work: Work, data: ImportRequestItem['data'], source: ImportRequestItem['source'] }
  const sent: Sent[] = []
  const byId = new Map(toCopy.map((i) => [i.id, i]))
  const replace: Replacement[] = []
  let cut = false
  const base = {
    sourceFolderId: folder.sourceId, targetFolderId
  }
  const write = async (sourceId: string, entry: Omit<LedgerEntry, 'sourceFolderId' | 'targetFolderId'>):
  Promise<void> => { await ledger.putItems(jobId, { [sourceId]: { ...base, ...entry } }) }
  const options = {
    stop: ctx.stop, signal: ctx.signal, ...(ctx.telemetry !== undefined ? { telemetry: ctx.telemetry } : {})
  }

  async function * exported (): AsyncGenerator<ImportRequestItem> {
    for await (const r of exportItems(ctx.source, toCopy.map((i) => i.id), options)) {
      const summary = byId.get(r.itemId) as ItemSummary
      const w = work.get(r.itemId) as Work
      const kept = w.mode === 'update' ? { targetId: w.entry.targetId, targetFolderId: w.entry.targetFolderId } : {}
      if ('error' in r) {
        if (r.error.code === 'MBG_ERR_SHUTTING_DOWN') { cut = true; continue }
        folder.failed++
        recordFailure(ctx, folder, r.itemId, r.error)
        await write(r.itemId, {
          state: 'failed',
          sourceChangeKey: summary.changeKey,
          size: summary.size,
          code: r.error.code,
          ...withKey(summary),
          ...kept
        })
        continue
      }
      if (w.mode === 'update' && (w.entry.targetChangeKey === undefined || w.entry.targetChangeKey === '')) {
        // No version of the target item to update (one moved along): delete + create.
        replace.push({
          sourceId: r.itemId,
          entry: { ...w.entry, sourceChangeKey: r.changeKey, size: summary.size, ...withKey(summary) },
          data: r.data,
          source: r.source,
          remove: { id: w.entry.targetId as string, folderId: w.entry.targetFolderId }
        })
        continue
      }
      sent.push({ ...summary, changeKey: r.changeKey, work: w, data: r.data, source: r.source })
      if (w.mode === 'update') {
        yield {
          folderId: w.entry.targetFolderId,
          mode: 'update',
          itemId: w.entry.targetId as string,
          changeKey: w.entry.targetChangeKey as string,
          data: r.data,
          source: r.source
        }
      } else {
        // The intent, before the import is sent: after a crash it is reconciled, never sent blindly again.
        await write(r.itemId, {
          state: 'sending', sourceChangeKey: r.changeKey, size: summary.size, ...withKey(summary)
        })
        yield { folderId: targetFolderId, mode: 'create', data: r.data, source: r.source }
      }
    }
  }
  for await (const r of importItems(ctx.target, exported(), ctx.rules, options)) {
    const item = sent[r.index]
    const update = item.work.mode === 'update' ? item.work.entry : undefined
    const kept = update !== undefined ? { targetId: update.targetId, targetFolderId: update.targetFolderId } : {}
    const data = item.data
    item.data = ''
    if (update !== undefined && 'error' in r && REPLACE_CODES.has(r.error.code)) {
      // The target item is gone or at another version: delete + create.
      replace.push({
        sourceId: item.id,
        entry: { ...update, sourceChangeKey: item.changeKey, size: item.size, ...withKey(item) },
        data,
        source: item.source,
        remove: { id: update.targetId as string, folderId: update.targetFolderId }
      })
      continue
    }
    if ('error' in r) {
      if (r.error.code === 'MBG_ERR_SHUTTING_DOWN') { cut = true; continue }
      const state = r.error.code === 'MBG_ERR_OUTCOME_UNKNOWN' ? 'unknown' : 'failed'
      // An unknown outcome is settled by reconciliation at the end of the folder (and counted there).
      if (state === 'failed') { folder.failed++; recordFailure(ctx, folder, item.id, r.error) }
      await write(item.id, {
        state, sourceChangeKey: item.changeKey, size: item.size, code: r.error.code, ...withKey(item), ...kept
      })
    } else {
      if (update !== undefined) folder.updated = (folder.updated ?? 0) + 1
      else folder.done++
      folder.bytes += item.size
      await write(item.id, {
        state: 'copied',
        targetId: r.itemId,
        targetChangeKey: r.changeKey,
        sourceChangeKey: item.changeKey,
        size: item.size,
        ...withKey(item),
        ...(update !== undefined ? { targetFolderId: update.targetFolderId } : {})
      })
    }
  }
  if (replace.length > 0 && !await replaceItems(ctx, replace, 'updated')) cut = true
  return !cut
}

/** Failed entries sent again per page. */
const RETRY_PAGE_SIZE = FEED_PAGE_SIZE

/**
 * At the start of a delta pass, a folder's items that failed in an earlier pass are sent again: a delta feed lists
 * only what changed on the source since, so an unchanged item refused once (a throttled import, a backend fault)
 * would otherwise stay behind for good. Each goes through copyPage as if the feed listed it as updated: created
 * when it has no target item, an update of its target item otherwise. An item deleted on the source since fails
 * again (not found), and the feed's deletion then orphans it. Resolves false when the pass must stop.
 */
async function retryFailed (ctx: CopyContext, folder: FolderProgress): Promise<boolean> {
  const failed: ItemChange[] = []
  let cursor: string | undefined
  do {
    const page = await ctx.ledger.listItems(ctx.jobId, {
      limit: 1000, state: 'failed', ...(cursor !== undefined ? { cursor } : {})
    })
    for (const { sourceId, entry } of page.items) {
      if (entry.sourceFolderId !== folder.sourceId || entry.associated === true) continue
      const item: ItemSummary = {
        id: sourceId,
        changeKey: entry.sourceChangeKey ?? '',
        itemClass: '',
        size: entry.size,
        ...(entry.searchKey !== undefined ? { searchKey: entry.searchKey } : {})
      }
      failed.push({ change: 'updated', id: sourceId, item })
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  for (let i = 0; i < failed.length; i += RETRY_PAGE_SIZE) {
    if (ctx.stop.aborted) return false
    if (!await copyPage(ctx, folder, failed.slice(i, i + RETRY_PAGE_SIZE))) return false
  }
  return true
}

/** (b) One folder's feed: from its last complete cursor (a delta pass) or its start, to its end. */
async function copyFolder (ctx: CopyContext, folder: FolderProgress): Promise<PassOutcome> {
  const { source, ledger, jobId, signal } = ctx
  const key = partialCursorKey(folder.sourceId)
  if (!folder.started && ctx.progress.pass > 1 && !ctx.spec.dryRun && !await retryFailed(ctx, folder)) return 'halted'
  // Where an earlier run of this pass left the feed; else where the last complete pass ended (none: every item).
  let cursor = await ledger.getCursor(jobId, folder.started ? key : folder.sourceId)
  const existing = await existingInTarget(ctx, folder)
  for (;;) {
    if (ctx.stop.aborted) return 'halted'
    let page
    try {
      page = await source.backend.listItemChanges(source.mailbox, { id: folder.sourceId },
        { limit: FEED_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) }, { signal })
    } catch (err) {
      // The backend forgot the cursor: list the folder afresh (the ledger skips what is copied).
      if (isGatewayError(err) && err.code === 'MBG_ERR_CURSOR_EXPIRED' && cursor !== undefined) {
        cursor = undefined
        continue
      }
      throw err
    }
    const whole = await copyPage(ctx, folder, page.changes, false, existing)
    if (!whole) return 'halted'
    cursor = page.cursor
    folder.started = true
    if (!ctx.spec.dryRun) await ledger.putCursor(jobId, key, cursor)
    if (!page.more) {
      if (!ctx.spec.dryRun && !await reconcileFolder(ctx, folder, async (items) =>
        await copyPage(ctx, folder, items.map((item) => ({ change: 'created' as const, id: item.id, item })), true))) {
        return 'halted'
      }
      folder.complete = true
      if (!ctx.spec.dryRun) await ledger.putCursor(jobId, folder.sourceId, cursor)
      return 'done'
    }
    if (!await ctx.checkpoint()) return 'halted'
  }
}

/** Runs (or goes on with) the current pass of a copy job. */
export async function runCopyPass (ctx: CopyContext): Promise<PassOutcome> {
  const { progress, spec } = ctx
  if (progress.phase === 'pending' || progress.phase === 'folders') {
    progress.phase = 'folders'
    await planFolders(ctx)
    await mapFolders(ctx)
    if (spec.dryRun) {
      progress.plan = {
        foldersToCreate: progress.folders.filter((f) => f.action === 'create').map((f) => f.path),
        items: 0,
        bytes: 0,
        tooLarge: [],
        foldersTargetCannotHold: unheldFolders(progress.folders),
        associated: { items: 0, bytes: 0, notCopied: 0 }
      }
    }
    progress.phase = 'items'
    if (!await ctx.checkpoint()) return 'halted'
  }
  for (const folder of progress.folders) {
    if (folder.error !== undefined) continue
    // A dry run plans the items of folders it would create too; a run needs the target folder.
    if (!spec.dryRun && folder.targetId === undefined) continue
    if (!folder.complete) {
      if (await copyFolder(ctx, folder) === 'halted') return 'halted'
      if (!await ctx.checkpoint()) return 'halted'
    }
    // Then the folder's folder-associated items (a no-op once done in this pass).
    if (folder.associated?.complete !== true) {
      if (await copyAssociated(ctx, folder) === 'halted') return 'halted'
      if (!await ctx.checkpoint()) return 'halted'
    }
  }
  if (!spec.dryRun) {
    progress.phase = 'settle'
    if (await settlePass(ctx) === 'halted') return 'halted'
  }
  progress.phase = 'done'
  return 'done'
}
