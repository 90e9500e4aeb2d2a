/**
 * Delta passes of a copy job (README "Copy jobs"): what a pass after the first does beyond copying new items —
 * source deletions marked `orphaned` as the feeds report them, and at the end of the pass (`settle`, after every
 * folder's feed) moves and deletions carried to the target.
 *
 * A move shows in the feeds as a delete in one folder and a create in another, under a new item id (Exchange
 * moves by copy + delete: ews.md §5, "Item ids change when an item moves"). The item's search key
 * (PidTagSearchKey, 0x300B, [MS-OXPROPS] 2.1017) is kept by a move, so a created item whose key is that of an
 * entry deleted in the same pass is a move: the target item is moved along (EWS MoveItem) rather than copied
 * again. A Graph target documents no move (501 MBG_ERR_NOT_SUPPORTED): there the target item is deleted and the
 * item imported into the new folder. A created item whose key matches no deleted entry (a copy on the source)
 * is imported. Remaining `orphaned` entries: their target items are deleted (`soft`, into the recoverable items:
 * the one mode both backends document — Graph's disposalType has no "move to Deleted Items") and the entries
 * removed.
 *
 * Crash-safety: every step writes its intent to the ledger before it acts, and the settle step starts from the
 * ledger alone, so running it again after a crash neither duplicates nor loses an item:
 * - a `pending` entry claims an `orphaned` one by becoming `moving` (with the claimed `targetId` and `moveFrom`)
 *   before the orphan entry is removed; an orphan whose target item a `moving` entry holds is never deleted;
 * - a move answered "not found" (it happened before the crash) or without a new id is looked up in the target
 *   folder by search key; so is a `sending` entry (an import written as intent whose answer was not recorded);
 * - when the target folder's listing carries no search keys, such an entry becomes `unknown` rather than being
 *   sent a second time;
 * - deleting a target item again finds it gone (404), which counts as deleted.
 */
import type { ItemData, ItemSummary } from '../../backends/mailbox-backend.js'
import { isGatewayError } from '../../errors.js'
import type { LedgerEntry, LedgerItemState } from '../../state/jobs.js'
import {
  deleteItems, exportItems, importItems, moveItems, type ImportRequestItem, type MailboxTarget
} from '../items.js'
import type { CopyContext, PassOutcome } from './copy.js'
import { MAX_REPORTED_FAILURES, type FolderProgress } from './types.js'

/** Ledger entries listed per page while settling. */
const SETTLE_PAGE = 500

/** The item's search key (`ItemSummary.searchKey`, base64 PR_SEARCH_KEY), when the backend gave one. */
export function searchKeyOf (item: ItemSummary): string | undefined {
  const key = item.searchKey
  return key !== undefined && key !== '' ? key : undefined
}

/** `{ searchKey }` of an item that has one, for a ledger entry. */
export function withKey (item: ItemSummary): { searchKey?: string } {
  const key = searchKeyOf(item)
  return key !== undefined ? { searchKey: key } : {}
}

/**
 * One item whose target copy is (re)made by create: `remove` (the old target item) is deleted first, then the
 * entry is written `sending` and the item imported into `entry.targetFolderId` (exported first when no `data`).
 * `hold`: what the entry goes back to when a shutdown stops the import before it is sent.
 */
export interface Replacement {
  sourceId: string
  entry: LedgerEntry
  data?: ItemData
  source?: ImportRequestItem['source']
  remove?: { id: string, folderId: string }
  hold?: LedgerEntry
}

type Count = 'done' | 'updated' | 'moved'

function folderOf (ctx: CopyContext, sourceFolderId: string): FolderProgress | undefined {
  return ctx.progress.folders.find((f) => f.sourceId === sourceFolderId)
}

function bump (ctx: CopyContext, sourceFolderId: string, count: Count | 'deleted' | 'failed', bytes = 0): void {
  const f = folderOf(ctx, sourceFolderId)
  if (f === undefined) return
  f[count] = (f[count] ?? 0) + 1
  f.bytes += bytes
}

function fail (ctx: CopyContext, entry: LedgerEntry, sourceId: string, err: { code: string, message: string }): void {
  bump(ctx, entry.sourceFolderId, 'failed')
  if (ctx.progress.failures.length < MAX_REPORTED_FAILURES) {
    const folder = folderOf(ctx, entry.sourceFolderId)?.path ?? entry.sourceFolderId
    ctx.progress.failures.push({ sourceId, folder, code: err.code, message: err.message })
  }
}

function options (ctx: CopyContext): { stop: AbortSignal, signal: AbortSignal } {
  return { stop: ctx.stop, signal: ctx.signal, ...(ctx.telemetry !== undefined ? { telemetry: ctx.telemetry } : {}) }
}

/**
 * Source items the feed reported deleted: an entry with a target item (or one that may have one) becomes
 * `orphaned` (its target item is deleted at the end of the pass unless a move claims it); an entry with nothing
 * in the target (failed before any copy, or still `pending`) is removed.
 */
export async function orphan (ctx: CopyContext, ids: string[], entries: Record<string, LedgerEntry>): Promise<void> {
  const marked: Record<string, LedgerEntry> = {}
  const removed: string[] = []
  for (const id of ids) {
    const e = entries[id]
    if (e === undefined || e.state === 'orphaned') continue
    if (e.state === 'pending' || (e.state === 'failed' && e.targetId === undefined)) { removed.push(id); continue }
    const { moveFrom, at: _at, ...rest } = e
    // A `moving` entry's target item is still where the claimed entry had it.
    marked[id] = {
      ...rest, state: 'orphaned', ...(moveFrom !== undefined ? { targetFolderId: moveFrom.targetFolderId } : {})
    }
  }
  if (Object.keys(marked).length > 0) await ctx.ledger.putItems(ctx.jobId, marked)
  if (removed.length > 0) await ctx.ledger.removeItems(ctx.jobId, removed)
}

/** Every entry of the job in `state`. */
async function all (ctx: CopyContext, state: LedgerItemState):
Promise<Array<{ sourceId: string, entry: LedgerEntry }>> {
  const out: Array<{ sourceId: string, entry: LedgerEntry }> = []
  let cursor: string | undefined
  do {
    const page = await ctx.ledger.listItems(ctx.jobId, {
      limit: SETTLE_PAGE, state, ...(cursor !== undefined ? { cursor } : {})
    })
    out.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}

function groupBy<T> (values: T[], key: (v: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const v of values) {
    const k = key(v)
    const list = out.get(k)
    if (list === undefined) out.set(k, [v])
    else list.push(v)
  }
  return out
}

/**
 * The items of a target folder by search key. `known` is false when the listing says nothing about keys (a
 * non-empty folder of which no item carries one): then "not found" proves nothing.
 */
async function findByKeys (t: MailboxTarget, folderId: string, signal: AbortSignal):
Promise<{ known: boolean, found: Map<string, { id: string, changeKey: string }> }> {
  const found = new Map<string, { id: string, changeKey: string }>()
  let listed = 0
  let cursor: string | undefined
  do {
    const page = await t.backend.listItems(t.mailbox, { id: folderId },
      { limit: 1000, ...(cursor !== undefined ? { cursor } : {}) }, { signal })
    for (const item of page.values) {
      listed++
      const key = searchKeyOf(item)
      if (key !== undefined) found.set(key, { id: item.id, changeKey: item.changeKey })
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return { known: listed === 0 || found.size > 0, found }
}

/**
 * Entries whose target item may or may not be in `entry.targetFolderId` (a move without an answer, an import
 * written as intent): found by search key → `copied`; surely absent → returned, to be imported; not knowable →
 * `unknown` (never sent twice).
 */
async function reconcile (ctx: CopyContext, list: Array<{ sourceId: string, entry: LedgerEntry }>, count: Count):
Promise<Replacement[]> {
  const absent: Replacement[] = []
  for (const [folderId, group] of groupBy(list, (x) => x.entry.targetFolderId)) {
    const { known, found } = await findByKeys(ctx.target, folderId, ctx.signal)
    for (const { sourceId, entry } of group) {
      const { moveFrom: _m, at: _at, code: _c, ...rest } = entry
      const hit = entry.searchKey !== undefined ? found.get(entry.searchKey) : undefined
      if (hit !== undefined) {
        await ctx.ledger.putItems(ctx.jobId, {
          [sourceId]: { ...rest, state: 'copied', targetId: hit.id, targetChangeKey: hit.changeKey }
        })
        bump(ctx, entry.sourceFolderId, count, entry.size)
      } else if (known && entry.searchKey !== undefined) {
        const { targetId: _t, targetChangeKey: _k, ...bare } = rest
        absent.push({ sourceId, entry: bare, hold: { ...bare, state: 'pending' } })
      } else {
        await ctx.ledger.putItems(ctx.jobId, {
          [sourceId]: { ...rest, state: 'unknown', code: 'MBG_ERR_OUTCOME_UNKNOWN' }
        })
        fail(ctx, entry, sourceId, {
          code: 'MBG_ERR_OUTCOME_UNKNOWN',
          message: 'the target item could not be looked up by search key: not sent again'
        })
      }
    }
  }
  return absent
}

/**
 * Makes target copies by create (see Replacement): old target items deleted first (gone already is fine; a
 * refused delete leaves the entry with that item: `moving` for a move, else `failed`), each entry written
 * `sending` before its import, then `copied` (counted as `count`), `failed` or `unknown`. Resolves false when a
 * shutdown cut it short (entries not sent go back to `hold`).
 */
export async function replaceItems (ctx: CopyContext, list: Replacement[], count: Count): Promise<boolean> {
  const { ledger, jobId } = ctx
  const opts = options(ctx)
  let cut = false
  const ready: Replacement[] = []
  const withRemove = list.filter((r) => r.remove !== undefined)
  for (const [folderId, group] of groupBy(withRemove, (r) => (r.remove as { folderId: string }).folderId)) {
    let i = 0
    for await (const res of deleteItems(ctx.target, group.map((r) => (r.remove as { id: string }).id),
      { mode: 'soft', folderId }, opts)) {
      const r = group[i++]
      if (!('error' in res) || res.error.code === 'MBG_ERR_ITEM_NOT_FOUND') { ready.push(r); continue }
      if (res.error.code === 'MBG_ERR_SHUTTING_DOWN') { cut = true; continue }
      // Left as it was (with its target item), so a later pass tries again; never a second copy. A move stays
      // `moving` from where its target item still is (the next settle moves it again): as `failed` it would be
      // sent again as an update of that item, in the folder it was moved out of.
      const removeId = (r.remove as { id: string }).id
      const { moveFrom } = r.entry
      await ledger.putItems(jobId, {
        [r.sourceId]: moveFrom !== undefined
          ? {
              ...r.entry,
              state: 'moving',
              targetId: removeId,
              moveFrom: { ...moveFrom, targetFolderId: folderId },
              code: res.error.code
            }
          : { ...r.entry, state: 'failed', targetId: removeId, targetFolderId: folderId, code: res.error.code }
      })
      fail(ctx, r.entry, r.sourceId, res.error)
    }
  }
  ready.push(...list.filter((r) => r.remove === undefined))
  if (ready.length === 0) return !cut
  const entryOf = (r: Replacement): LedgerEntry => {
    const { targetId: _t, targetChangeKey: _k, moveFrom: _m, at: _at, code: _c, ...rest } = r.entry
    return rest
  }
  // Intent first: a crash from here on leaves `sending`, which is looked up before anything is sent again.
  await ledger.putItems(jobId,
    Object.fromEntries(ready.map((r) => [r.sourceId, { ...entryOf(r), state: 'sending' as const }])))
  const sent: Array<{ r: Replacement, changeKey?: string }> = []
  const unexported = ready.filter((r) => r.data === undefined)
  const exported = new Map<string, { data: ItemData, source: ImportRequestItem['source'], changeKey: string }>()
  if (unexported.length > 0) {
    let i = 0
    for await (const res of exportItems(ctx.source, unexported.map((r) => r.sourceId), opts)) {
      const r = unexported[i++]
      if ('error' in res) {
        if (res.error.code === 'MBG_ERR_SHUTTING_DOWN') {
          cut = true
          await ledger.putItems(jobId, { [r.sourceId]: r.hold ?? { ...entryOf(r), state: 'failed' } })
          continue
        }
        await ledger.putItems(jobId, { [r.sourceId]: { ...entryOf(r), state: 'failed', code: res.error.code } })
        fail(ctx, r.entry, r.sourceId, res.error)
        continue
      }
      exported.set(r.sourceId, { data: res.data, source: res.source, changeKey: res.changeKey })
    }
  }
  function * items (): Generator<ImportRequestItem> {
    for (const r of ready) {
      const e = r.data !== undefined
        ? { data: r.data, source: r.source, changeKey: undefined }
        : exported.get(r.sourceId)
      if (e === undefined) continue
      sent.push({ r, ...(e.changeKey !== undefined ? { changeKey: e.changeKey } : {}) })
      r.data = undefined
      yield {
        folderId: r.entry.targetFolderId,
        mode: 'create',
        data: e.data,
        ...(e.source !== undefined ? { source: e.source } : {})
      }
    }
  }
  for await (const res of importItems(ctx.target, items(), ctx.rules, opts)) {
    const { r, changeKey } = sent[res.index]
    const base = { ...entryOf(r), ...(changeKey !== undefined ? { sourceChangeKey: changeKey } : {}) }
    if ('error' in res) {
      if (res.error.code === 'MBG_ERR_SHUTTING_DOWN') {
        cut = true
        await ledger.putItems(jobId, { [r.sourceId]: r.hold ?? { ...base, state: 'failed' } })
        continue
      }
      const state = res.error.code === 'MBG_ERR_OUTCOME_UNKNOWN' ? 'unknown' : 'failed'
      await ledger.putItems(jobId, { [r.sourceId]: { ...base, state, code: res.error.code } })
      fail(ctx, r.entry, r.sourceId, res.error)
      continue
    }
    await ledger.putItems(jobId, {
      [r.sourceId]: { ...base, state: 'copied', targetId: res.itemId, targetChangeKey: res.changeKey }
    })
    bump(ctx, r.entry.sourceFolderId, count, r.entry.size)
  }
  return !cut
}

/** Moves claimed target items into their new folders; Graph (no move): delete + import. */
async function settleMoves (ctx: CopyContext, moving: Array<{ sourceId: string, entry: LedgerEntry }>):
Promise<boolean> {
  const { ledger, jobId } = ctx
  const replace: Replacement[] = []
  const lookup: Array<{ sourceId: string, entry: LedgerEntry }> = []
  let cut = false
  const asReplacement = (m: { sourceId: string, entry: LedgerEntry }, remove: { id: string, folderId: string }):
  Replacement => ({ sourceId: m.sourceId, entry: m.entry, remove, hold: m.entry })
  for (const [dest, group] of groupBy(moving, (m) => m.entry.targetFolderId)) {
    const from = (m: { entry: LedgerEntry }): { id: string, folderId: string } =>
      ({ id: m.entry.targetId as string, folderId: m.entry.moveFrom?.targetFolderId ?? dest })
    let i = 0
    try {
      for await (const res of moveItems(ctx.target, group.map((m) => m.entry.targetId as string), dest,
        options(ctx))) {
        const m = group[i++]
        if ('error' in res) {
          const code = res.error.code
          if (code === 'MBG_ERR_ITEM_NOT_FOUND') lookup.push(m)
          else if (code === 'MBG_ERR_SHUTTING_DOWN') cut = true
          else if (code === 'MBG_ERR_OUTCOME_UNKNOWN') {
            // It may have moved (under a new id) or not: never sent again as is (reconciliation settles it).
            await ledger.putItems(jobId, { [m.sourceId]: { ...m.entry, state: 'unknown', code } })
            fail(ctx, m.entry, m.sourceId, res.error)
          } else fail(ctx, m.entry, m.sourceId, res.error) // stays `moving`: tried again at the next settle
          continue
        }
        if (res.newId === undefined) { lookup.push(m); continue }
        if (m.entry.moveFrom !== undefined && m.entry.moveFrom.size !== m.entry.size) {
          // Changed on the source as well as moved: the moved copy is replaced by the item as it is now.
          replace.push(asReplacement(m, { id: res.newId, folderId: dest }))
          continue
        }
        const { moveFrom: _m, at: _at, code: _c, targetChangeKey: _k, ...rest } = m.entry
        // The move answers no change key: a later update of the item is carried by delete + create.
        await ledger.putItems(jobId, { [m.sourceId]: { ...rest, state: 'copied', targetId: res.newId } })
        bump(ctx, m.entry.sourceFolderId, 'moved', m.entry.size)
      }
    } catch (err) {
      if (!isGatewayError(err) || err.code !== 'MBG_ERR_NOT_SUPPORTED' || i > 0) throw err
      for (const m of group) replace.push(asReplacement(m, from(m)))
    }
  }
  if (lookup.length > 0) {
    // Gone from its old place: moved by an earlier run that did not record it, or deleted on the target.
    replace.push(...await reconcile(ctx, lookup, 'moved'))
  }
  if (replace.length > 0 && !await replaceItems(ctx, replace, 'moved')) cut = true
  return !cut
}

/**
 * The end of a pass (see the module comment): `sending` leftovers looked up, `pending` entries claiming
 * `orphaned` ones by search key (moves) or imported, claimed target items moved, the other orphans' target items
 * deleted. Resolves 'halted' when a shutdown cut it short: run again, it goes on from the ledger.
 */
export async function settlePass (ctx: CopyContext): Promise<PassOutcome> {
  const { ledger, jobId } = ctx
  if (ctx.stop.aborted) return 'halted'
  const creates: Replacement[] = []
  const leftovers = await all(ctx, 'sending')
  if (leftovers.length > 0) creates.push(...await reconcile(ctx, leftovers, 'done'))

  const moving = await all(ctx, 'moving')
  const claimed = new Set(moving.map((m) => m.entry.targetId))
  const orphans = await all(ctx, 'orphaned')
  const byKey = new Map<string, { sourceId: string, entry: LedgerEntry }>()
  for (const o of orphans) {
    const key = o.entry.searchKey
    if (key !== undefined && o.entry.targetId !== undefined && !claimed.has(o.entry.targetId) && !byKey.has(key)) {
      byKey.set(key, o)
    }
  }
  for (const p of await all(ctx, 'pending')) {
    const key = p.entry.searchKey
    const o = key !== undefined ? byKey.get(key) : undefined
    if (o === undefined) { creates.push({ sourceId: p.sourceId, entry: p.entry, hold: p.entry }); continue }
    byKey.delete(key as string)
    const { at: _at, ...rest } = p.entry
    const claim: LedgerEntry = {
      ...rest,
      state: 'moving',
      targetId: o.entry.targetId,
      moveFrom: { sourceId: o.sourceId, targetFolderId: o.entry.targetFolderId, size: o.entry.size }
    }
    // The claim first, then the orphan entry goes: after a crash between the two, the claim keeps it from deletion.
    await ledger.putItems(jobId, { [p.sourceId]: claim })
    claimed.add(o.entry.targetId)
    moving.push({ sourceId: p.sourceId, entry: claim })
  }
  const claimedOrphans = orphans.filter((o) => o.entry.targetId !== undefined && claimed.has(o.entry.targetId))
  if (claimedOrphans.length > 0) await ledger.removeItems(jobId, claimedOrphans.map((o) => o.sourceId))

  if (ctx.stop.aborted) return 'halted'
  if (moving.length > 0 && !await settleMoves(ctx, moving)) return 'halted'
  if (creates.length > 0 && !await replaceItems(ctx, creates, 'done')) return 'halted'
  return await deleteOrphans(ctx) ? 'done' : 'halted'
}

/** Deletes the target items of the `orphaned` entries left (soft delete; already gone counts) and removes them. */
async function deleteOrphans (ctx: CopyContext): Promise<boolean> {
  const { ledger, jobId } = ctx
  const left = await all(ctx, 'orphaned')
  const bare = left.filter((o) => o.entry.targetId === undefined)
  if (bare.length > 0) await ledger.removeItems(jobId, bare.map((o) => o.sourceId))
  let cut = false
  const withTarget = left.filter((o) => o.entry.targetId !== undefined)
  for (const [folderId, group] of groupBy(withTarget, (o) => o.entry.targetFolderId)) {
    let i = 0
    for await (const res of deleteItems(ctx.target, group.map((o) => o.entry.targetId as string),
      { mode: 'soft', folderId }, options(ctx))) {
      const o = group[i++]
      if (!('error' in res) || res.error.code === 'MBG_ERR_ITEM_NOT_FOUND') {
        await ledger.removeItems(jobId, [o.sourceId])
        bump(ctx, o.entry.sourceFolderId, 'deleted')
      } else if (res.error.code === 'MBG_ERR_SHUTTING_DOWN') {
        cut = true
      } else {
        fail(ctx, o.entry, o.sourceId, res.error) // stays `orphaned`: tried again at the next settle
      }
    }
  }
  return !cut
}
