/**
 * The verification pass of a copy job (README "Copy jobs", "Verification"): per mapped folder, the source folder
 * and its target folder are listed (every item, the port's listing) and compared: item counts and bytes per side,
 * and per item its search key (base64 PR_SEARCH_KEY, PidTagSearchKey 0x300B, [MS-OXPROPS] 2.1017, which an
 * item keeps when it is copied or imported from its full-fidelity stream) and size. Items are matched by search
 * key, as many of each key on each side: an unmatched source item is `missing`, an unmatched target item `extra`
 * (a duplicate import shows here), a matched pair of other sizes a `sizeMismatch`. Items without a key (a backend
 * whose listing lacks it) cannot be matched: they are `unverifiable`, and as many unmatched items of the other side
 * are given the benefit of the doubt (counted neither missing nor extra). Sizes are compared as the backends
 * report them.
 *
 * The grade sums every folder, like Exchange Online migration's DataConsistencyScore (Perfect, Good, Investigate,
 * Poor: https://learn.microsoft.com/en-us/exchange/mailbox-migration/track-prevent-data-loss-dcs); see `gradeOf`.
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
  CopyProgress, FolderProgress, Verification, VerificationFolder, VerificationGrade
} from './types.js'

/** What a verification needs of a pass's context. */
export type VerifyContext = Pick<CopyContext, 'progress' | 'source' | 'target' | 'stop' | 'signal' | 'checkpoint'> & {
  /** Clock of `verification.at`, epoch ms. */
  now: () => number
}

/** Share of the source items (at least one item) up to which a grade tolerates a kind of difference. */
export const GRADE_TOLERANCE = 0.01

/**
 * The grade of a verification, from its folders summed (`source` the source items, `tolerance` the larger of
 * 1 and 1 % of them):
 * - `Perfect`: nothing missing, extra, of another size or unverifiable, and every folder compared;
 * - `Good`: nothing missing, every folder compared, and extra + sizeMismatch + unverifiable ≤ tolerance;
 * - `Investigate`: missing ≤ tolerance (and not better), or a folder could not be compared;
 * - `Poor`: missing > tolerance.
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

/** Search key → sizes (ascending) of the items that carry it; `keyless`: items without one. */
function byKey (items: ItemSummary[]): { keys: Map<string, number[]>, keyless: number } {
  const keys = new Map<string, number[]>()
  let keyless = 0
  for (const item of items) {
    const key = searchKeyOf(item)
    if (key === undefined) { keyless++; continue }
    const sizes = keys.get(key)
    if (sizes !== undefined) sizes.push(item.size)
    else keys.set(key, [item.size])
  }
  for (const sizes of keys.values()) sizes.sort((a, b) => a - b)
  return { keys, keyless }
}

/** Compares the items of a source folder with those of its target folder (see the module comment). */
export function compareFolder (source: ItemSummary[], target: ItemSummary[]):
Pick<VerificationFolder, 'source' | 'target' | 'missing' | 'extra' | 'sizeMismatch' | 'unverifiable'> {
  const s = byKey(source)
  const t = byKey(target)
  let unmatchedSource = 0; let unmatchedTarget = 0; let sizeMismatch = 0
  for (const [key, sizes] of s.keys) {
    const other = t.keys.get(key) ?? []
    const matched = Math.min(sizes.length, other.length)
    for (let i = 0; i < matched; i++) if (sizes[i] !== other[i]) sizeMismatch++
    unmatchedSource += sizes.length - matched
  }
  for (const [key, sizes] of t.keys) unmatchedTarget += Math.max(0, sizes.length - (s.keys.get(key)?.length ?? 0))
  return {
    source: sideOf(source),
    target: sideOf(target),
    missing: Math.max(0, unmatchedSource - t.keyless),
    extra: Math.max(0, unmatchedTarget - s.keyless),
    sizeMismatch,
    unverifiable: s.keyless + t.keyless
  }
}

async function verifyFolder (ctx: VerifyContext, folder: FolderProgress): Promise<VerificationFolder> {
  const base = {
    path: folder.path,
    sourceId: folder.sourceId,
    ...(folder.targetId !== undefined ? { targetId: folder.targetId } : {})
  }
  const empty = { items: 0, bytes: 0 }
  const none = { missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0 }
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
    return { ...base, ...compareFolder(source, await listFolderItems(ctx.target, folder.targetId, ctx.signal)) }
  } catch (err) {
    if (ctx.signal.aborted || ctx.stop.aborted) throw err
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
  const verification: Verification = { at: ctx.now(), grade: gradeOf(run.folders), folders: run.folders }
  progress.verification = verification
  progress.phase = run.phase
  delete progress.verifying
  return run.after
}
