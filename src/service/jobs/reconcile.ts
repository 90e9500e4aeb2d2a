/**
 * Reconciliation of import outcomes a copy pass does not know (README "Copy jobs", "Unknown outcomes").
 *
 * Before an item's import is sent, the ledger gets a `sending` entry with the source item's search key (base64
 * PR_SEARCH_KEY, PidTagSearchKey 0x300B, [MS-OXPROPS] 2.1017: kept when an item is copied or imported from its
 * full-fidelity stream, so the target item carries the source item's key). An entry still `sending` (the gateway
 * died mid-import, or the pass was cut between sending and the answer) or `unknown` (the answer was lost,
 * MBG_ERR_OUTCOME_UNKNOWN) is never sent blindly again. At the end of each folder of a pass, once per folder, the
 * target folder is listed (one listing, a map search key → target items) and each such entry of the folder is
 * settled:
 * - a target item carries its key (and no other ledger entry claims that item): the entry becomes `copied` with
 *   that target id (`reconciled`);
 * - the listing is complete and every target item in it has a key, none this one: the import certainly did not
 *   land, the item is sent again (`resent`);
 * - otherwise it stays `unknown` and the job reports it (`unresolved`, a failure MBG_ERR_OUTCOME_UNKNOWN): the
 *   listing failed, the source item's key is not known (a backend whose listings lack it, such as Graph's item
 *   delta), or the target returns items without keys (absence cannot be proven).
 */
import type { ItemSummary } from '../../backends/mailbox-backend.js'
import { isGatewayError } from '../../errors.js'
import type { LedgerEntry, LedgerItemState } from '../../state/jobs.js'
import type { MailboxTarget } from '../items.js'
import type { CopyContext } from './copy.js'
import { searchKeyOf } from './delta.js'
import { MAX_REPORTED_FAILURES, type FolderProgress } from './types.js'

/** Items asked per page of a target folder's listing. */
export const RECONCILE_PAGE_SIZE = 200

/** Ledger states whose import outcome is not known. */
export const PENDING_STATES: readonly LedgerItemState[] = ['sending', 'unknown']

/** Every (normal) item of a folder, all pages of the port's listing. Throws what the backend throws. */
export async function listFolderItems (t: MailboxTarget, folderId: string, signal: AbortSignal):
Promise<ItemSummary[]> {
  const out: ItemSummary[] = []
  let cursor: string | undefined
  do {
    const page = await t.backend.listItems(t.mailbox, { id: folderId },
      { limit: RECONCILE_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) }, { signal })
    out.push(...page.values)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}

/** The ledger entries of one source folder whose outcome is not known, all pages. */
async function pendingOf (ctx: CopyContext, sourceFolderId: string):
Promise<Array<{ sourceId: string, entry: LedgerEntry }>> {
  const out: Array<{ sourceId: string, entry: LedgerEntry }> = []
  for (const state of PENDING_STATES) {
    let cursor: string | undefined
    do {
      const page = await ctx.ledger.listItems(ctx.jobId, {
        limit: 1000, state, ...(cursor !== undefined ? { cursor } : {})
      })
      out.push(...page.items.filter((i) => i.entry.sourceFolderId === sourceFolderId && i.entry.associated !== true))
      cursor = page.nextCursor
    } while (cursor !== undefined)
  }
  return out
}

/** Target item ids the job's `copied` entries already hold in `targetFolderId` (a found key must be unclaimed). */
export async function claimedTargets (ctx: CopyContext, targetFolderId: string): Promise<Set<string>> {
  const out = new Set<string>()
  let cursor: string | undefined
  do {
    const page = await ctx.ledger.listItems(ctx.jobId, {
      limit: 1000, state: 'copied', ...(cursor !== undefined ? { cursor } : {})
    })
    for (const { entry } of page.items) {
      if (entry.targetFolderId === targetFolderId && entry.targetId !== undefined) out.add(entry.targetId)
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}

function unresolved (ctx: CopyContext, folder: FolderProgress, sourceId: string, why: string): void {
  folder.unresolved = (folder.unresolved ?? 0) + 1
  folder.failed++
  if (ctx.progress.failures.length < MAX_REPORTED_FAILURES) {
    ctx.progress.failures.push({
      sourceId,
      folder: folder.path,
      code: 'MBG_ERR_OUTCOME_UNKNOWN',
      message: `the import's outcome is unknown and was not settled: ${why}; it is not sent again`
    })
  }
}

/**
 * Settles the `sending` and `unknown` entries of one folder of the pass (see the module comment): one listing
 * of the target folder, found ones written `copied`, certainly absent ones handed to `resend` (which sends them
 * as a copy pass does: `sending`, then `copied`, `failed` or `unknown`; it resolves false when cut short by a
 * stop). Counts go to the folder's `reconciled`, `resent` and `unresolved`. Resolves false when the pass must
 * halt. Throws only when the job must stop (its signal aborted) or the ledger fails.
 */
export async function reconcileFolder (ctx: CopyContext, folder: FolderProgress,
  resend: (items: ItemSummary[]) => Promise<boolean>): Promise<boolean> {
  const targetFolderId = folder.targetId
  if (targetFolderId === undefined) return true
  const pending = await pendingOf(ctx, folder.sourceId)
  if (pending.length === 0) return true
  if (ctx.stop.aborted) return false

  let listing: ItemSummary[] | undefined
  let listError = ''
  try {
    listing = await listFolderItems(ctx.target, targetFolderId, ctx.signal)
  } catch (err) {
    if (ctx.signal.aborted || ctx.stop.aborted) throw err
    listError = `the target folder could not be listed (${isGatewayError(err) ? err.code : 'error'})`
  }
  const byKey = new Map<string, ItemSummary[]>()
  let keyless = 0
  for (const item of listing ?? []) {
    const key = searchKeyOf(item)
    if (key === undefined) { keyless++; continue }
    const same = byKey.get(key)
    if (same !== undefined) same.push(item)
    else byKey.set(key, [item])
  }
  let claimed: Set<string> | undefined
  const toSend: ItemSummary[] = []
  for (const { sourceId, entry } of pending) {
    const key = entry.searchKey
    if (listing === undefined) { unresolved(ctx, folder, sourceId, listError); continue }
    if (key === undefined) { unresolved(ctx, folder, sourceId, 'the source item has no search key'); continue }
    const candidates = byKey.get(key) ?? []
    if (candidates.length > 0) claimed ??= await claimedTargets(ctx, targetFolderId)
    const found = candidates.find((c) => !(claimed as Set<string>).has(c.id))
    if (found !== undefined) {
      claimed?.add(found.id)
      folder.reconciled = (folder.reconciled ?? 0) + 1
      await ctx.ledger.putItems(ctx.jobId, {
        [sourceId]: {
          state: 'copied',
          targetId: found.id,
          targetChangeKey: found.changeKey,
          sourceFolderId: entry.sourceFolderId,
          targetFolderId,
          size: entry.size,
          searchKey: key,
          ...(entry.sourceChangeKey !== undefined ? { sourceChangeKey: entry.sourceChangeKey } : {})
        }
      })
    } else if (keyless > 0) {
      unresolved(ctx, folder, sourceId, `${keyless} target items have no search key`)
    } else {
      toSend.push({
        id: sourceId, changeKey: entry.sourceChangeKey ?? '', itemClass: '', size: entry.size, searchKey: key
      } as ItemSummary)
    }
  }
  if (toSend.length === 0) return true
  folder.resent = (folder.resent ?? 0) + toSend.length
  const whole = await resend(toSend)
  if (!whole) return false
  // A resend whose answer was lost again stays unknown: one listing per folder per pass.
  const after = await ctx.ledger.getItems(ctx.jobId, toSend.map((i) => i.id))
  for (const item of toSend) {
    const state = after[item.id]?.state
    if (state !== undefined && PENDING_STATES.includes(state)) {
      unresolved(ctx, folder, item.id, 'the answer to sending it again was lost too')
    }
  }
  return true
}
