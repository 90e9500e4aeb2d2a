/**
 * The JSON a copy job keeps in the job store (src/state/jobs.ts `spec` and `progress`).
 */

/** What to copy where; mailboxes are gateway ids (resolved and checked against the caller when created). */
export interface CopyJobSpec {
  source: {
    mailbox: string
    /** A folder id or well-known name; absent: the whole mailbox (every folder below root). */
    folder?: string
    /** With `folder`: its subfolders too (default true). */
    subtree: boolean
  }
  target: {
    mailbox: string
    /**
     * Absent: the tree is recreated below the target's root, well-known folders mapped to their counterparts.
     * Given: the source folder's items go into this folder and its subfolders below it.
     */
    folder?: string
  }
  /** Plan only: nothing is written to the target. */
  dryRun: boolean
  /** A schedule: `everySeconds` (≥ 60) after a completed pass, the runner queues the next (delta) pass by itself. */
  delta?: { everySeconds: number }
  /** Verify (./verify.ts) after every pass that completes. */
  verify?: boolean
}

/** How a source folder came to its target folder. */
export type FolderAction =
  | 'wellKnown' // mapped to the target's well-known folder of the same name (inbox → inbox)
  | 'target' // the target folder the caller named
  | 'existing' // a folder of the same name was already under the mapped parent
  | 'created' // created by this job
  | 'create' // dry run: would be created

/** One source folder of a job, with its counts for the current pass. */
export interface FolderProgress {
  sourceId: string
  /**
   * For display: the display names from the top of the copied tree, each written with `pathSegment` ('%' as
   * '%25', '/' as '%2F'), joined with '/'. Never parsed for a name: `displayName` is the name.
   */
  path: string
  /**
   * The source folder's display name, as the target folder gets it. Absent in progress saved before it was kept:
   * `displayNameOf` falls back to the last segment of `path` (then written unescaped).
   */
  displayName?: string
  folderClass: string
  targetId?: string
  action?: FolderAction
  /** The source's item count when the tree was listed (for the ETA). */
  expected: number
  /** Items the change feed listed so far in this pass. */
  planned: number
  /** Items copied anew in this pass. */
  done: number
  /** Items copied before whose change on the source this pass carried to the target. */
  updated?: number
  /** Target items deleted in this pass because their source items were deleted. */
  deleted?: number
  /** Items moved on the source into this folder whose target copy was moved along (no new copy). */
  moved?: number
  failed: number
  /** Items the ledger has as copied at the same change key (not sent again). */
  skipped: number
  /**
   * Items found in the target folder by search key when the job first synced the folder (copies made before: by
   * another job, a deleted job, another tool): recorded as copied to that target item, not imported (./copy.ts
   * `existingInTarget`). In a dry run: items a run would not copy for that reason.
   */
  matched?: number
  /** Reconciliation (./reconcile.ts): unknown outcomes found in the target by search key (now `copied`). */
  reconciled?: number
  /** Reconciliation: unknown outcomes certainly absent from the target, sent again. */
  resent?: number
  /** Reconciliation: unknown outcomes that could not be settled (counted in `failed` too; never sent blindly). */
  unresolved?: number
  /** Item bytes copied (source sizes), or in a dry run, bytes to copy. */
  bytes: number
  /** Whether the feed of this pass started (its cursor is in the ledger under `partialCursorKey`). */
  started: boolean
  complete: boolean
  /**
   * Why the folder could not be mapped, or why the target cannot hold it (src/service/jobs/plan.ts; its items are
   * then not copied).
   */
  error?: { code: string, message: string }
  /** The folder's folder-associated items (src/service/jobs/associated.ts), once the pass came to them. */
  associated?: AssociatedProgress
}

/**
 * A folder's folder-associated items (FAI: rules, views, forms) in this pass: copied when both backends support
 * `capabilities.associatedItems`, else counted (when the source lists them) and reported with `notCopied`.
 */
export interface AssociatedProgress {
  /** Items the source listed; absent when the source cannot list them. */
  count?: number
  copied: number
  failed: number
  /** Copied by an earlier pass at the same change key, or with an unknown outcome (not sent again). */
  skipped: number
  /** Item bytes copied (source sizes), or in a dry run, bytes to copy. */
  bytes: number
  /** Why none is copied (the source cannot list them, or the target cannot hold them). */
  notCopied?: string
  complete: boolean
}

/** One per-item failure, as the job reports it. */
export interface JobItemFailure {
  sourceId: string
  folder: string
  code: string
  message: string
}

export interface CopyPlan {
  foldersToCreate: string[]
  items: number
  bytes: number
  /** Items whose listed size is above the largest item the target takes (its `maxItemBytes`). */
  tooLarge: Array<{ sourceId: string, folder: string, size: number }>
  /** Folders the target cannot hold, or that could not be mapped, with the code and reason a run reports. */
  foldersTargetCannotHold?: Array<{ path: string, code: string, reason: string }>
  /** Folder-associated items listed, their bytes, and how many of them a run would not copy. */
  associated?: { items: number, bytes: number, notCopied: number }
}

export interface CopyProgress {
  /** Passes run (1 for the first); `:run` starts another. */
  pass: number
  /**
   * `settle`: after every folder's feed, moves and deletions are carried out (src/service/jobs/delta.ts);
   * `verify`: a verification (./verify.ts) is queued or running.
   */
  phase: 'pending' | 'folders' | 'items' | 'settle' | 'done' | 'verify'
  folders: FolderProgress[]
  /** The first failures (at most MAX_REPORTED_FAILURES). */
  failures: JobItemFailure[]
  /** Ms spent running in this pass (paused time left out), up to the last checkpoint. */
  runningMs: number
  startedAt?: number
  finishedAt?: number
  /** A scheduled job (`spec.delta`) once completed: when the runner queues its next pass (epoch ms). */
  nextPassAt?: number
  error?: { code: string, message: string }
  /** Dry run: what a run would do. */
  plan?: CopyPlan
  /** The last verification that finished. */
  verification?: Verification
  /** A verification under way: where the job goes back to after it, and the folders verified so far. */
  verifying?: {
    after: 'completed' | 'failed'
    phase: CopyProgress['phase']
    folders: VerificationFolder[]
  }
}

/** Items and bytes (as the backend reports sizes) of one side of a folder. */
export interface SideCounts {
  items: number
  bytes: number
}

/** What a verification counts, per folder and summed (./verify.ts). */
export interface VerificationCounts {
  source: SideCounts
  target: SideCounts
  /** Source items with no target item of the same search key. */
  missing: number
  /**
   * Target items of the job (ledger target ids) with no source item of the same search key (their source gone or
   * changed), and target items beyond as many as the source items of their key (a duplicate counts here).
   */
  extra: number
  /** Items matched by search key whose sizes differ. */
  sizeMismatch: number
  /** Source items, and target items of the job, without a search key: they cannot be matched. */
  unverifiable: number
  /**
   * Target items the job never wrote whose search key no source item has (or without one): mail the target folder
   * held before the job, or that others put there. Reported; they do not lower the grade.
   */
  unrelated: number
}

/**
 * One mapped folder compared, source against target (./verify.ts). `unrelated` is absent in folders verified by a
 * gateway before it (0).
 */
export interface VerificationFolder extends Omit<VerificationCounts, 'unrelated'> {
  path: string
  sourceId: string
  targetId?: string
  unrelated?: number
  /** Why the folder could not be compared (not mapped, a listing failed). */
  error?: { code: string, message: string }
}

/** Like Exchange Online migration's DataConsistencyScore; thresholds in ./verify.ts `gradeOf`. */
export type VerificationGrade = 'Perfect' | 'Good' | 'Investigate' | 'Poor'

export interface Verification {
  /** When it finished, epoch ms. */
  at: number
  grade: VerificationGrade
  /** The folders' counts summed (absent in a verification by a gateway before it). */
  totals?: VerificationCounts
  folders: VerificationFolder[]
}

export const MAX_REPORTED_FAILURES = 50

export function emptyProgress (pass = 1): CopyProgress {
  return { pass, phase: 'pending', folders: [], failures: [], runningMs: 0 }
}

/**
 * A display name as one segment of `FolderProgress.path`: '%' written '%25' and '/' written '%2F' (as in a URI path
 * segment, RFC 3986 section 2.1), so that a name holding '/' ("a/b") stays one segment ("a%2Fb").
 */
export function pathSegment (displayName: string): string {
  return displayName.replace(/%/g, '%25').replace(/\//g, '%2F')
}

/** The source folder's display name: `displayName`, or for progress saved before it was kept, `path`'s last part. */
export function displayNameOf (folder: Pick<FolderProgress, 'displayName' | 'path'>): string {
  return folder.displayName ?? (folder.path.split('/').pop() as string)
}

/** Ledger cursor key of a folder's feed while its pass is under way (the folder id alone: the last complete one). */
export function partialCursorKey (sourceFolderId: string): string {
  return `partial:${sourceFolderId}`
}
