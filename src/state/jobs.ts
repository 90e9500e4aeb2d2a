/**
 * Copy-job state (README "Copy jobs"): the jobs themselves, with a lease so that exactly one runner works a job
 * at a time and another takes it over once the lease has run out (a crashed gateway), and per job a ledger of
 * what was copied where. Like the rest of the state store (src/state/store.ts) every value crossing these
 * interfaces is JSON-serializable data, times are epoch milliseconds of the store's own clock, and the memory
 * implementations (src/state/memory-jobs.ts) and the SQLite ones (src/state/sqlite-jobs.ts; PostgreSQL next) run
 * the same contract suites (test/state/job-store-contract.ts: jobStoreContract, ledgerStoreContract).
 */

/**
 * Where a job is:
 * - `queued`: waiting for a runner (new, resumed, or its runner stopped at a shutdown);
 * - `running`: a runner holds its lease (or held it: a lease that ran out makes it claimable again);
 * - `paused`: stopped between batches on request; `resume` queues it again;
 * - `completed`, `failed`, `canceled`: final.
 */
export type JobState = 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'canceled'

export const FINAL_JOB_STATES: readonly JobState[] = ['completed', 'failed', 'canceled']

/** A runner's hold on a job: `owner` (a runner id) until `expiresAt` (epoch ms), renewed by heartbeats. */
export interface JobLease {
  owner: string
  expiresAt: number
}

/**
 * One job as stored. `spec` and `progress` are the job kind's own JSON (for copy jobs: src/service/jobs/types.ts);
 * the store never looks inside them. `version` starts at 1 and grows by one with every update.
 */
export interface JobRecord<Spec = unknown, Progress = unknown> {
  id: string
  /** What the job does, as created; never changed. */
  kind: string
  spec: Spec
  state: JobState
  progress: Progress
  /** Who created it (the caller's client), for the record. */
  client?: string
  createdAt: number
  updatedAt: number
  lease?: JobLease
  version: number
}

/** What `create` takes: the job without the fields the store sets. */
export type NewJob<Spec = unknown, Progress = unknown> =
  Omit<JobRecord<Spec, Progress>, 'createdAt' | 'updatedAt' | 'lease' | 'version' | 'state'> & { state?: JobState }

/** What `update` may change. `lease: null` drops the lease. */
export interface JobChanges<Progress = unknown> {
  state?: JobState
  progress?: Progress
  lease?: JobLease | null
}

/**
 * The jobs. Implementations make `update`, `claim` and `heartbeat` atomic: of two concurrent updates at one
 * version only one succeeds; of two concurrent claims at most one gets a given job.
 */
export interface JobStore {
  /** Stores a new job (state `queued` unless given) at version 1; throws when `id` is taken. */
  create: <S, P>(job: NewJob<S, P>) => Promise<JobRecord<S, P>>
  get: <S = unknown, P = unknown>(id: string) => Promise<JobRecord<S, P> | undefined>
  /**
   * Jobs newest first, `limit` a page; `cursor` the previous page's `nextCursor` (absent on the last page).
   * With `client`, only that client's jobs.
   */
  list: (request: { limit: number, cursor?: string, client?: string }) =>
  Promise<{ jobs: JobRecord[], nextCursor?: string }>
  /**
   * How many jobs of `client` are not over: `queued`, `running` or `paused`, and `completed` ones that run again by
   * themselves (a schedule: their spec has a `delta` member, the one member of a spec a store reads). For the
   * per-client cap on active jobs (MAX_ACTIVE_JOBS_PER_CLIENT).
   */
  countActive: (client: string) => Promise<number>
  /**
   * Applies `changes` when the job is still at `version`: resolves the updated job (version + 1), or
   * `undefined` when it moved on meanwhile (or does not exist): read it again and decide anew.
   */
  update: <S = unknown, P = unknown>(id: string, version: number, changes: JobChanges<P>) =>
  Promise<JobRecord<S, P> | undefined>
  /**
   * Takes the oldest runnable job for `owner` for `leaseMs`: one `queued` or `running` that no live lease holds
   * (never claimed, let go, or its runner is gone and the lease ran out). A lease is only ever dropped by its
   * holder (or runs out): a job paused and resumed while its runner still finishes a batch stays that runner's, so
   * two runners never work one job. The job becomes `running` with the lease; undefined when none is runnable.
   */
  claim: (owner: string, leaseMs: number) => Promise<JobRecord | undefined>
  /**
   * Extends `owner`'s lease on job `id` to `leaseMs` from now. Resolves false (changing nothing) when `owner`
   * no longer holds it: the runner must stop working the job.
   */
  heartbeat: (id: string, owner: string, leaseMs: number) => Promise<boolean>
  close: () => Promise<void>
}

/**
 * What happened to one source item:
 * - `copied`: imported as `targetId`, from the source item at `sourceChangeKey`;
 * - `failed`: export or import refused it (`code`); a later pass sends it again (as an update of `targetId` when
 *   the entry still has one);
 * - `unknown`: an import whose answer was lost (MBG_ERR_OUTCOME_UNKNOWN): it may be in the target. Never sent
 *   again as is: reconciliation (find it in the target by a stable key) settles it first;
 * - `sending`: written before an import is sent (the intent). Found after a crash (kill -9) or a lost answer, it
 *   is treated like `unknown`: reconciled (looked up in the target folder by `searchKey`) before anything is sent
 *   again;
 * - `orphaned`: the source item was deleted (a delta feed said so); its target item is deleted at the end of the
 *   pass unless a move claims it;
 * - `pending`: created on the source in a delta pass, with a search key: its copy waits for the end of the pass,
 *   where it may turn out to be a move of an `orphaned` entry;
 * - `moving`: claimed the target item `targetId` of an `orphaned` entry (`moveFrom`), to move it into
 *   `targetFolderId` (written before the move is sent).
 * Stores keep any state string as given (no check on the values), so states added later need no schema change.
 */
export type LedgerItemState = 'copied' | 'failed' | 'unknown' | 'sending' | 'orphaned' | 'pending' | 'moving'

/** Every LedgerItemState, in the order `countItems` lists them. */
export const LEDGER_ITEM_STATES: readonly LedgerItemState[] = [
  'copied', 'failed', 'unknown', 'sending', 'orphaned', 'pending', 'moving'
]

/** The ledger entry of one source item of a job. */
export interface LedgerEntry {
  state: LedgerItemState
  /**
   * The source item's stable key when known: base64 of its PR_SEARCH_KEY (PidTagSearchKey, property tag 0x300B,
   * PT_BINARY, [MS-OXPROPS] 2.1017), which an item keeps when copied, moved, exported and imported. Reconciliation
   * finds the target item by it; the SQLite store indexes it.
   */
  searchKey?: string
  /** Target item id (`copied`). */
  targetId?: string
  /** The source item's change key when it was exported. */
  sourceChangeKey?: string
  /** The target item's change key after the import. */
  targetChangeKey?: string
  sourceFolderId: string
  targetFolderId: string
  /** Size in bytes as the source backend reports it. */
  size: number
  /**
   * A folder-associated item (rules, views, forms; src/service/jobs/associated.ts): it is listed and sent again by
   * its own step, never by the normal items' retry or reconciliation.
   */
  associated?: true
  /** MBG_ERR_* code of a `failed` or `unknown` entry. */
  code?: string
  /** When it was recorded (epoch ms, the store's clock). */
  at?: number
  /** `moving`: the entry whose target item this one moves (its source id, target folder and size). */
  moveFrom?: { sourceId: string, targetFolderId: string, size: number }
}

/**
 * Per job: source item id → ledger entry, source folder id → target folder id, and per source folder the change
 * cursor of its last complete pass (the backend adapter's own cursor: a delta pass starts from it). Writes of one
 * call are atomic per entry; `putItems` of several entries need not be one transaction (the SQLite store makes it
 * one: batch entries on the hot path).
 */
export interface LedgerStore {
  /** The entries of `sourceIds` that exist (absent ids are left out). */
  getItems: (jobId: string, sourceIds: string[]) => Promise<Record<string, LedgerEntry>>
  /** Writes entries (replacing any of the same source id). */
  putItems: (jobId: string, entries: Record<string, LedgerEntry>) => Promise<void>
  /**
   * Entries in source-id order (the ids are ASCII: code units and bytes order them alike), `limit` a page (for
   * verification, reconciliation and reports); `cursor` the previous page's `nextCursor` (absent on the last page).
   * With `state`, only the entries in that state.
   */
  listItems: (jobId: string, request: { limit: number, cursor?: string, state?: LedgerItemState }) =>
  Promise<{ items: Array<{ sourceId: string, entry: LedgerEntry }>, nextCursor?: string }>
  /**
   * Which of `targetIds` are the `targetId` of an entry of the job (in any state): the target items it wrote or
   * took as its copies, told from those it never touched (verification, src/service/jobs/verify.ts). Resolves the
   * ids found, each once, in no particular order. One indexed look-up per id: pass a folder's listing in chunks.
   */
  findTargets: (jobId: string, targetIds: string[]) => Promise<string[]>
  /** Forgets the entries of `sourceIds` (absent ones are no error). */
  removeItems: (jobId: string, sourceIds: string[]) => Promise<void>
  /** Counts per state: every LedgerItemState is present (0 when none). */
  countItems: (jobId: string) => Promise<Record<LedgerItemState, number>>
  getFolderMap: (jobId: string) => Promise<Record<string, string>>
  putFolder: (jobId: string, sourceFolderId: string, targetFolderId: string) => Promise<void>
  getCursor: (jobId: string, sourceFolderId: string) => Promise<string | undefined>
  putCursor: (jobId: string, sourceFolderId: string, cursor: string) => Promise<void>
  /** Forgets everything of a job. */
  deleteJob: (jobId: string) => Promise<void>
  close: () => Promise<void>
}
