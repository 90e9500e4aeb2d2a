/**
 * Public types of the Microsoft Graph simulator (mailbox import/export surface).
 */
import type { Logger } from 'pino'
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
   * exportItems POSTs naming one of these items (keyed by item id as on the wire) fail as a whole, regardless of
   * `only`: HTTP 500 with this Graph error code (e.g. 'ErrorCorruptData') and no per-item entries.
   */
  exportPoison?: Record<string, string>
  /**
   * The next N successful imports are stored, then their connection is destroyed without an answer (the caller
   * cannot know the item was stored), regardless of `only`.
   */
  importResetAfter?: number
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
  /** Outlook's per-app concurrency limit (default 4). */
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
}

export interface GraphSimulatorStats { requests: number, throttled: number, sessionsCreated: number }

export interface GraphSimulator {
  /** https://127.0.0.1:PORT (no trailing slash, no version segment). */
  url: string
  /** Origin of the import endpoint (https://127.0.0.1:PORT2). */
  importOrigin: string
  faults: GraphFaults
  /** Answer shapes, mutable at runtime (see GraphQuirks). */
  quirks: GraphQuirks
  stats: GraphSimulatorStats
  /** `MBX:{guid}@{tenantId}` for a store mailbox GUID. */
  mailboxId: (guid: string) => string
  close: () => Promise<void>
}
