/**
 * Public types of the Microsoft Graph simulator (mailbox import/export surface).
 */
import type { Logger } from 'pino'
import type { FaultKind, FaultPlan, FaultPlanConfig, PoisonMarkers } from '../faults.js'
import type { MailboxStore } from '../store/store.js'

/** Fault knobs, mutable at runtime. Counters count down as the faults fire. */
export interface GraphFaults {
  /** The next N matching calls answer 429 with Retry-After. */
  throttle: number
  /** Retry-After (seconds) for injected 429 and 503 answers. */
  retryAfterSec: number
  /** The next N matching calls answer 503 with Retry-After. */
  http503: number
  /** Delay added to every matching call (while holding its concurrency slot). */
  delayMs: number
  /**
   * Trigger: assigning `true` expires every import URL issued so far (the next upload with one of
   * them gets 401). Reads back `false`, since the expiry has already happened.
   */
  expireSessions: boolean
  /**
   * The next `count` matching calls answer `status` with this error instead of doing the work: Graph's
   * `{"error":{code,message}}` on Graph, `{"Message": message}` on the import endpoint (which has no codes).
   * Lets tests play a real server's refusals (e.g. 400 ErrorInvalidIdMalformed for a well-known name).
   */
  reject?: GraphRejection
  /** When set, faults apply only to requests whose path contains one of these substrings. */
  only?: string[]
  /**
   * exportItems entries for these items (keyed by item id as on the wire) are damaged, regardless of `only`:
   * 'data' shortens `data` the way the success sample in Microsoft's exportItems page is (16 characters and '...',
   * not base64); 'changeKey' answers a number where the changeKey string belongs.
   */
  exportDamage?: Record<string, GraphExportDamage>
  /** mailboxItem properties item listings leave out even when $select names them (e.g. ['createdDateTime']). */
  omitItemProps?: string[]
  /**
   * The next N successful import answers carry neither `changeKey` nor `@odata.etag` (the item is stored
   * all the same), regardless of `only`.
   */
  importWithoutChangeKey?: number
  /**
   * Seeded random faults by operation (GRAPH_OPERATIONS; see FaultRule and FaultKind in ../faults.ts), applied
   * after the count-down knobs above on both listeners: `plan.configure({ seed, rules })` switches them on,
   * `plan.clear()` off. `expiredSession` only acts on `importItem`.
   */
  plan: FaultPlan
  /**
   * Poisoned items: an exportItems call naming one of them (store or wire id, or a subject containing a
   * marker) answers HTTP 500 `{"error":{"code":"ErrorCorruptData"}}` for the whole batch, as Exchange fails a
   * request on a damaged message; a batch without one succeeds. Regardless of `only`.
   */
  poison?: PoisonMarkers
  /**
   * Body limit of the import endpoint in bytes (default 210 MiB: Exchange Online accepts messages up to
   * 150 MB, base64 adds a third). A larger POST is read to its end and answered 413 `{"Message": …}`; nothing
   * is stored.
   */
  importMaxBytes: number
}

/** How `GraphFaults.exportDamage` damages one exportItems entry. */
export type GraphExportDamage = 'data' | 'changeKey'

/** An injected refusal (GraphFaults.reject); `count` counts down as it fires. */
export interface GraphRejection { status: number, code: string, message?: string, count: number }

/**
 * Answer shapes seen from real servers or in revisions of Microsoft's docs that differ from the
 * simulator's defaults. Mutable at runtime, so tests can switch one on for the calls that follow.
 */
export interface GraphQuirks {
  /**
   * Hand out ids in standard base64 ('+', '/', '=' padding) instead of the URL-safe form, as several
   * Graph APIs do. Both forms are always accepted back (paths must percent-encode '/').
   */
  standardBase64Ids: boolean
  /**
   * GET /users/{id}/settings/exchange: `object` (the documented single entity), `collection`
   * (`{"value":[{...}]}`, as one revision of the docs shows) or `emptyCollection` (`{"value":[]}`).
   */
  settingsShape: 'object' | 'collection' | 'emptyCollection'
  /**
   * Entries of folders/delta: `full` (every property unless $select narrows it), `sparse` (only `id`
   * and `displayName` unless $select asks for more, as Microsoft's example shows) or
   * `idAndNameOnly` (only `id` and `displayName` whatever $select asks: a server that omits fields).
   */
  deltaFolders: 'full' | 'sparse' | 'idAndNameOnly'
  /** Items (listings, get, delta, import answers) carry their change key only in `@odata.etag` (`W/"<changeKey>"`). */
  etagOnlyChangeKey: boolean
}

export const DEFAULT_QUIRKS: GraphQuirks = {
  standardBase64Ids: false,
  settingsShape: 'object',
  deltaFolders: 'full',
  etagOnlyChangeKey: false
}

export interface GraphThrottling {
  /**
   * Outlook's per-app concurrency limit (default 4), shared by Graph requests and import POSTs of the same app
   * ("Outlook service limits": 4 concurrent requests, https://learn.microsoft.com/graph/throttling-limits).
   */
  concurrencyPerApp?: number
  /** Requests per app + mailbox per window (default 10000). */
  requestsPerMailbox?: number
  /** Window length in seconds (default 600). */
  windowSec?: number
}

export interface BearerIdentity { appId: string, roles: string[] }

export interface GraphSimulatorOptions {
  store: MailboxStore
  tls: { key: string, cert: string }
  /** Graph listener address (default 127.0.0.1, port 0). */
  host?: string
  port?: number
  /** Second HTTPS listener for the import endpoint (models outlook.office365.com); default: a free port. */
  outlookPort?: number
  /** Validates a bearer token for the Graph audience; undefined means invalid or expired. */
  verifyBearer: (token: string) => Promise<BearerIdentity | undefined>
  /** Lifetime of import URLs (default 900 s). */
  importSessionLifetimeSec?: number
  throttling?: GraphThrottling
  /** Default true: import accepts any valid stream; false: only streams this simulator exported. */
  acceptForeignData?: boolean
  /** Initial answer shapes (see GraphQuirks); defaults as in DEFAULT_QUIRKS. */
  quirks?: Partial<GraphQuirks>
  logger?: Logger
  /** Initial fault plan (GraphFaults.plan). */
  faultPlan?: FaultPlanConfig
  /** Initial GraphFaults.poison. */
  poison?: PoisonMarkers
  /** Initial GraphFaults.importMaxBytes. */
  importMaxBytes?: number
}

/**
 * One app's load on the concurrency slots (Graph requests and import POSTs alike, keyed by the token's app
 * id). A request holds a slot from just after authentication until its answer is written.
 */
export interface GraphAppStats {
  /** Requests that asked for a slot. */
  requests: number
  /** Requests that arrived while the app already had `concurrencyPerApp` in flight (each answered 429). */
  concurrencyViolations: number
  /** Slots held now. */
  inFlight: number
  maxInFlight: number
  /** Integral of inFlight over time, in request·milliseconds. */
  inFlightMs: number
  /** Busy period in ms: from the first slot taken to the last released (to now while requests are in flight). */
  busyMs: number
  /**
   * Time-weighted mean of inFlight over the busy period: inFlightMs / busyMs (idle gaps inside the period count
   * as 0). E.g. 4 requests of 1 s each, all at once → 4; one after the other → 1.
   */
  meanInFlight: number
}

/**
 * Injected faults by kind: the FaultKinds, plus 'poison' (an exportItems call refused for a poisoned item)
 * and 'tooLarge' (an import POST over importMaxBytes). The count-down knobs count too: throttle → 'throttle',
 * http503 → 'unavailable'.
 */
export type GraphFaultCounts = Partial<Record<FaultKind | 'poison' | 'tooLarge', number>>

/** Counters, reset by `GraphSimulator.resetStats()`. */
export interface GraphSimulatorStats {
  /** Every request on both listeners. */
  requests: number
  /** 429 answers of any origin. */
  throttled: number
  sessionsCreated: number
  /** Requests per operation name (GRAPH_OPERATIONS, or 'other'), counted once authenticated. */
  byOperation: Record<string, number>
  /** Sum of `apps[*].concurrencyViolations`. */
  concurrencyViolations: number
  /** Per app id. */
  apps: Record<string, GraphAppStats>
  faults: GraphFaultCounts
}

export interface GraphSimulator {
  /** https://127.0.0.1:PORT (no trailing slash, no version segment). */
  url: string
  /** Origin of the import endpoint (https://127.0.0.1:PORT2). */
  importOrigin: string
  faults: GraphFaults
  /** Answer shapes, mutable at runtime (see GraphQuirks). */
  quirks: GraphQuirks
  stats: GraphSimulatorStats
  /** Zeroes every counter of `stats` (same objects; requests in flight stay counted as in flight). */
  resetStats: () => void
  /** `MBX:{guid}@{tenantId}` for a store mailbox GUID. */
  mailboxId: (guid: string) => string
  close: () => Promise<void>
}
