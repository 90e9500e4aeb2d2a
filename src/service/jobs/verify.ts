/**
 * The verification pass of a copy job (README "Copy jobs", "Verification"): per mapped folder, the source folder
 * and its target folder are listed (every item, the port's listing) and compared: item counts and bytes per side,
 * and per item its search key (base64 PR_SEARCH_KEY, PidTagSearchKey 0x300B, [MS-OXPROPS] 2.1017, which an
 * item keeps when it is copied or imported from its full-fidelity stream) and size. Items are matched by search
 * key, as many of each key on each side: an unmatched source item is `missing`, a matched pair of other sizes a
 * `sizeMismatch`. An unmatched target item is `extra` when it is the job's — its id is the target of a ledger entry
 * (LedgerStore.findTargets: written by the job, or taken as its copy), its source gone or changed — or when its key
 * is a source item's (a duplicate shows here); otherwise it is `unrelated`: mail the target folder held before the
 * job, or that someone else put there, which the job neither wrote nor copies, and which does not weigh on the
 * grade. Items without a key (a backend whose listing lacks it) cannot be matched: the source's and the job's target
 * items without one are `unverifiable`, and as many unmatched items of the other side are given the benefit of the
 * doubt (counted neither missing nor extra); target items without one that are not the job's are `unrelated`.
 * Sizes are compared as the backends report them.
 *
 * The grade sums every folder, like Exchange Online migration's DataConsistencyScore (Perfect, Good, Investigate,
 * Poor: https://learn.microsoft.com/en-us/exchange/mailbox-migration/track-prevent-data-loss-dcs); see `gradeOf`.
 * `totals` sums the folders' counts.
 *
 * It runs as a phase of the job, in the runner: `POST /jobs/{id}:verify` (or `verify: true` on the job, after each
 * pass) queues the job with phase `verify`; the runner compares folder after folder, checkpointing after each, and
 * the job goes back to the state it had (`completed` or `failed`) with `verification` set.
 */
import { isGatewayError } from '../../errors.js'
import type { ItemSummary } from '../../backends/mailbox-backend.js'
import type { CopyContext } from './copy.js'
import { searchKeyOf } from './delta.js'
import { listFolderItems } from './reconcile.js'
import type {
  CopyProgress, FolderProgress, Verification, VerificationCounts, VerificationFolder, VerificationGrade
} from './types.js'

/** What a verification needs of a pass's context. */
export type VerifyContext = Pick<CopyContext,
'jobId' | 'ledger' | 'progress' | 'source' | 'target' | 'stop' | 'signal' | 'checkpoint'> & {
  /** Clock of `verification.at`, epoch ms. */
  now: () => number
}

/** Share of the source items (at least one item) up to which a grade tolerates a kind of difference. */
export const GRADE_TOLERANCE = 0.01

/** Target item ids asked of the ledger per `findTargets` call. */
export const OWNED_LOOKUP_CHUNK = 500

/**
 * The grade of a verification, from its folders summed (`source` the source items, `tolerance` the larger of
 * 1 and 1 % of them):
 * - `Perfect`: nothing missing, extra, of another size or unverifiable, and every folder compared;
 * - `Good`: nothing missing, every folder compared, and extra + sizeMismatch + unverifiable ≤ tolerance;
 * - `Investigate`: missing ≤ tolerance (and not better), or a folder could not be compared;
 * - `Poor`: missing > tolerance.
 * `unrelated` target items (not the job's) never lower it.
 */
export function gradeOf (folders: VerificationFolder[]): VerificationGrade {
  let source = 0; let missing = 0; let other = 0; let errors = 0
  for (const f of folders) {
    source += f.source.items
    missing += f.missing
    other += f.extra + f.sizeMismatch + f.unverifiable
    if (f.error !== undefined) errors++
  }
  const tolerance = Math.max(1, Math.floor(source * GRADE_TOLERANCE))
  if (missing > tolerance) return 'Poor'
  if (missing > 0 || errors > 0 || other > tolerance) return 'Investigate'
  return other > 0 ? 'Good' : 'Perfect'
}

function sideOf (items: ItemSummary[]): { items: number, bytes: number } {
  return { items: items.length, bytes: items.reduce((n, i) => n + i.size, 0) }
}

/** The items of one key on one side: their sizes (ascending), and how many of them are the job's. */
interface KeyGroup { sizes: number[], owned: number }

/**
 * Search key → its items; `keyless`: items without one, `keylessOwned` of them the job's (`owned` says which
 * items are; for the source side, none need be).
 */
function byKey (items: ItemSummary[], owned: (item: ItemSummary) => boolean):
{ keys: Map<string, KeyGroup>, keyless: number, keylessOwned: number } {
  const keys = new Map<string, KeyGroup>()
  let keyless = 0; let keylessOwned = 0
  for (const item of items) {
    const key = searchKeyOf(item)
    const mine = owned(item)
    if (key === undefined) {
      keyless++
      if (mine) keylessOwned++
      continue
    }
    const group = keys.get(key)
    if (group !== undefined) {
      group.sizes.push(item.size)
      if (mine) group.owned++
    } else keys.set(key, { sizes: [item.size], owned: mine ? 1 : 0 })
  }
  for (const group of keys.values()) group.sizes.sort((a, b) => a - b)
  return { keys, keyless, keylessOwned }
}

/**
 * Compares the items of a source folder with those of its target folder (see the module comment); `owned`: the ids
 * of the target items that are the job's (the ledger's target ids).
 */
export function compareFolder (source: ItemSummary[], target: ItemSummary[], owned: ReadonlySet<string> = new Set()):
Pick<VerificationFolder, 'source' | 'target' | 'missing' | 'extra' | 'sizeMismatch' | 'unverifiable' | 'unrelated'> {
  const s = byKey(source, () => false)
  const t = byKey(target, (item) => owned.has(item.id))
  let unmatchedSource = 0; let unmatchedTarget = 0; let sizeMismatch = 0; let unrelated = 0
  for (const [key, group] of s.keys) {
    const other = t.keys.get(key)?.sizes ?? []
    const matched = Math.min(group.sizes.length, other.length)
    for (let i = 0; i < matched; i++) if (group.sizes[i] !== other[i]) sizeMismatch++
    unmatchedSource += group.sizes.length - matched
  }
  for (const [key, group] of t.keys) {
    const sources = s.keys.get(key)?.sizes.length ?? 0
    if (sources > 0) {
      // More copies than source items: a duplicate, whoever wrote it.
      unmatchedTarget += Math.max(0, group.sizes.length - sources)
    } else {
      // No source item has the key: the job's items are extra (their source gone or changed), others unrelated.
      unmatchedTarget += group.owned
      unrelated += group.sizes.length - group.owned
    }
  }
  return {
    source: sideOf(source),
    target: sideOf(target),
    missing: Math.max(0, unmatchedSource - t.keylessOwned),
    extra: Math.max(0, unmatchedTarget - s.keyless),
    sizeMismatch,
    unverifiable: s.keyless + t.keylessOwned,
    unrelated: unrelated + t.keyless - t.keylessOwned
  }
}

/** Which of the target items are the job's: those whose id is a ledger entry's target id. */
async function ownedOf (ctx: VerifyContext, target: ItemSummary[]): Promise<Set<string>> {
  const owned = new Set<string>()
  for (let i = 0; i < target.length; i += OWNED_LOOKUP_CHUNK) {
    const ids = target.slice(i, i + OWNED_LOOKUP_CHUNK).map((item) => item.id)
    for (const id of await ctx.ledger.findTargets(ctx.jobId, ids)) owned.add(id)
  }
  return owned
}

/** The folders' counts summed. */
export function totalsOf (folders: VerificationFolder[]): VerificationCounts {
  const totals: VerificationCounts = {
    source: { items: 0, bytes: 0 },
    target: { items: 0, bytes: 0 },
    missing: 0,
    extra: 0,
    sizeMismatch: 0,
    unverifiable: 0,
    unrelated: 0
  }
  for (const f of folders) {
    totals.source.items += f.source.items
    totals.source.bytes += f.source.bytes
    totals.target.items += f.target.items
    totals.target.bytes += f.target.bytes
    totals.missing += f.missing
    totals.extra += f.extra
    totals.sizeMismatch += f.sizeMismatch
    totals.unverifiable += f.unverifiable
    // Absent in a folder a gateway before `unrelated` verified (a verification under way across an upgrade).
    totals.unrelated += f.unrelated ?? 0
  }
  return totals
}

async function verifyFolder (ctx: VerifyContext, folder: FolderProgress): Promise<VerificationFolder> {
  const base = {
    path: folder.path,
    sourceId: folder.sourceId,
    ...(folder.targetId !== undefined ? { targetId: folder.targetId } : {})
  }
  const empty = { items: 0, bytes: 0 }
  const none = { missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0, unrelated: 0 }
  let source: ItemSummary[]
  try {
    source = await listFolderItems(ctx.source, folder.sourceId, ctx.signal)
  } catch (err) {
    if (ctx.signal.aborted || ctx.stop.aborted) throw err
    return { ...base, source: empty, target: empty, ...none, error: problem(err) }
  }
  if (folder.targetId === undefined) {
    // Never mapped: nothing of it reached the target.
    return {
      ...base,
      ...compareFolder(source, []),
      error: folder.error ?? { code: 'MBG_ERR_FOLDER_NOT_FOUND', message: 'the folder has no target folder' }
    }
  }
  try {
    const target = await listFolderItems(ctx.target, folder.targetId, ctx.signal)
    return { ...base, ...compareFolder(source, target, await ownedOf(ctx, target)) }
  } catch (err) {
    if (ctx.signal.aborted || ctx.stop.aborted) throw err
    // The target folder is gone (deleted since): every source item of it is missing, not merely uncompared.
    if (isGatewayError(err) && err.code === 'MBG_ERR_FOLDER_NOT_FOUND') {
      return { ...base, ...compareFolder(source, []), error: problem(err) }
    }
    return { ...base, source: sideOf(source), target: empty, ...none, error: problem(err) }
  }
}

function problem (err: unknown): { code: string, message: string } {
  return isGatewayError(err)
    ? { code: err.code, message: err.message }
    : { code: 'MBG_ERR_INTERNAL', message: 'internal error' }
}

/** Queues a verification in `progress` (the job then goes back to `after`). */
export function startVerification (progress: CopyProgress, after: 'completed' | 'failed'): void {
  progress.verifying = { after, phase: progress.phase, folders: [] }
  progress.phase = 'verify'
}

/**
 * Runs (or goes on with) the verification queued in `ctx.progress.verifying`, folder after folder, a checkpoint
 * after each. Resolves the state the job goes back to once done (`progress.verification` set, `verifying`
 * cleared, the phase restored), or undefined when it halted at a checkpoint or a stop.
 */
export async function runVerification (ctx: VerifyContext): Promise<'completed' | 'failed' | undefined> {
  const { progress } = ctx
  const run = progress.verifying
  if (run === undefined) return undefined
  for (const folder of progress.folders.slice(run.folders.length)) {
    if (ctx.stop.aborted) return undefined
    run.folders.push(await verifyFolder(ctx, folder))
    if (!await ctx.checkpoint()) return undefined
  }
  const verification: Verification = {
    at: ctx.now(), grade: gradeOf(run.folders), totals: totalsOf(run.folders), folders: run.folders
  }
  progress.verification = verification
  progress.phase = run.phase
  delete progress.verifying
  return run.after
}
