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
  /** Display names from the top of the copied tree, joined with '/'. */
  path: string
  folderClass: string
  targetId?: string
  action?: FolderAction
  /** The source's item count when the tree was listed (for the ETA). */
  expected: number
  /** Items the change feed listed so far in this pass. */
  planned: number
  done: number
  failed: number
  /** Items the ledger has as copied at the same change key, or with an unknown outcome (not sent again). */
  skipped: number
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
  phase: 'pending' | 'folders' | 'items' | 'done'
  folders: FolderProgress[]
  /** The first failures (at most MAX_REPORTED_FAILURES). */
  failures: JobItemFailure[]
  /** Ms spent running in this pass (paused time left out), up to the last checkpoint. */
  runningMs: number
  startedAt?: number
  finishedAt?: number
  error?: { code: string, message: string }
  /** Dry run: what a run would do. */
  plan?: CopyPlan
}

export const MAX_REPORTED_FAILURES = 50

export function emptyProgress (pass = 1): CopyProgress {
  return { pass, phase: 'pending', folders: [], failures: [], runningMs: 0 }
}

/** Ledger cursor key of a folder's feed while its pass is under way (the folder id alone: the last complete one). */
export function partialCursorKey (sourceFolderId: string): string {
  return `partial:${sourceFolderId}`
}
