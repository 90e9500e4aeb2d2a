/**
 * A folder's folder-associated items (FAI: rules, views, forms, configuration messages) in a copy job, after its
 * normal items: listed with `ListItemsRequest.associated` (EWS FindItem `Traversal="Associated"`, ews.md §6.9),
 * exported like any item and imported with `associated: true` (UploadItems `IsAssociated="true"`, ews.md §6.2),
 * each outcome in the ledger as for normal items, so another pass sends none twice. Only when both backends support
 * `capabilities.associatedItems`; otherwise the folder reports how many there are (when the source lists them) and
 * why none is copied (`notCopied`), never dropping them silently. A dry run counts them.
 *
 * Change feeds carry normal items only, so every pass lists a folder's FAI afresh; there are few of them (a handful
 * per folder), so the listing is not checkpointed: a pass stopped in the middle lists them again, and the ledger
 * skips what was copied.
 */
import type { ItemSummary } from '../../backends/mailbox-backend.js'
import type { LedgerEntry } from '../../state/jobs.js'
import { exportItems, importItems, type ImportRequestItem } from '../items.js'
import type { CopyContext, PassOutcome } from './copy.js'
import { MAX_REPORTED_FAILURES, type AssociatedProgress, type CopyProgress, type FolderProgress } from './types.js'

/** Folder-associated items asked per listing page. */
const PAGE = 100

function fail (ctx: CopyContext, folder: FolderProgress, sourceId: string,
  err: { code: string, message: string }): void {
  (folder.associated as AssociatedProgress).failed++
  if (ctx.progress.failures.length < MAX_REPORTED_FAILURES) {
    ctx.progress.failures.push({ sourceId, folder: folder.path, code: err.code, message: err.message })
  }
}

/** Every folder-associated item of the folder (all pages). */
async function listAll (ctx: CopyContext, folder: FolderProgress): Promise<ItemSummary[]> {
  const { source, signal } = ctx
  const out: ItemSummary[] = []
  let cursor: string | undefined
  do {
    const page = await source.backend.listItems(source.mailbox, { id: folder.sourceId },
      { limit: PAGE, associated: true, ...(cursor !== undefined ? { cursor } : {}) }, { signal })
    out.push(...page.values)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return out
}

/**
 * Copies (or in a dry run, counts) the folder-associated items of one folder into its target folder, keeping
 * `folder.associated`. Resolves 'halted' when a shutdown cut it short (it runs again on the next run of the pass).
 */
export async function copyAssociated (ctx: CopyContext, folder: FolderProgress): Promise<PassOutcome> {
  const { source, target, spec, ledger, jobId } = ctx
  if (ctx.stop.aborted) return 'halted'
  const state: AssociatedProgress = { copied: 0, failed: 0, skipped: 0, bytes: 0, complete: false }
  folder.associated = state
  const from = source.backend.capabilities.associatedItems
  if (!from.supported) {
    state.notCopied = `the source cannot list folder-associated items: ${from.reason}`
    state.complete = true
    return 'done'
  }
  const to = target.backend.capabilities.associatedItems
  if (!to.supported) state.notCopied = `the target cannot hold folder-associated items: ${to.reason}`
  const items = await listAll(ctx, folder)
  state.count = items.length
  if (spec.dryRun || !to.supported) {
    const plan = ctx.progress.plan as CopyProgress['plan']
    for (const item of items) if (spec.dryRun) state.bytes += item.size
    if (plan !== undefined) {
      plan.associated ??= { items: 0, bytes: 0, notCopied: 0 }
      plan.associated.items += items.length
      plan.associated.bytes += state.bytes
      if (!to.supported) plan.associated.notCopied += items.length
    }
    state.complete = true
    return 'done'
  }

  const targetFolderId = folder.targetId as string
  const entries = await ledger.getItems(jobId, items.map((i) => i.id))
  const toCopy = items.filter((i) => {
    const e = entries[i.id]
    const skip = (e?.state === 'copied' && e.sourceChangeKey === i.changeKey) || e?.state === 'unknown'
    if (skip) state.skipped++
    return !skip
  })
  const byId = new Map(toCopy.map((i) => [i.id, i]))
  const base = { sourceFolderId: folder.sourceId, targetFolderId, associated: true as const }
  const write = async (sourceId: string, entry: Omit<LedgerEntry, 'sourceFolderId' | 'targetFolderId'>):
  Promise<void> => { await ledger.putItems(jobId, { [sourceId]: { ...base, ...entry } }) }
  const options = {
    stop: ctx.stop, signal: ctx.signal, ...(ctx.telemetry !== undefined ? { telemetry: ctx.telemetry } : {})
  }
  const sent: ItemSummary[] = []
  let cut = false
  async function * exported (): AsyncGenerator<ImportRequestItem> {
    for await (const r of exportItems(source, toCopy.map((i) => i.id), options)) {
      const summary = byId.get(r.itemId) as ItemSummary
      if ('error' in r) {
        if (r.error.code === 'MBG_ERR_SHUTTING_DOWN') { cut = true; continue }
        fail(ctx, folder, r.itemId, r.error)
        await write(r.itemId, {
          state: 'failed', sourceChangeKey: summary.changeKey, size: summary.size, code: r.error.code
        })
        continue
      }
      sent.push({ ...summary, changeKey: r.changeKey })
      yield { folderId: targetFolderId, mode: 'create', data: r.data, source: r.source, associated: true }
    }
  }
  for await (const r of importItems(target, exported(), ctx.rules, options)) {
    const item = sent[r.index]
    if ('error' in r) {
      if (r.error.code === 'MBG_ERR_SHUTTING_DOWN') { cut = true; continue }
      fail(ctx, folder, item.id, r.error)
      await write(item.id, {
        state: r.error.code === 'MBG_ERR_OUTCOME_UNKNOWN' ? 'unknown' : 'failed',
        sourceChangeKey: item.changeKey,
        size: item.size,
        code: r.error.code
      })
    } else {
      state.copied++
      state.bytes += item.size
      await write(item.id, {
        state: 'copied',
        targetId: r.itemId,
        targetChangeKey: r.changeKey,
        sourceChangeKey: item.changeKey,
        size: item.size
      })
    }
  }
  if (cut) return 'halted'
  state.complete = true
  return 'done'
}
