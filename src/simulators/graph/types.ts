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
}

/** How `GraphFaults.exportDamage` damages one exportItems entry. */
export type GraphExportDamage = 'data' | 'changeKey'

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
  logger?: Logger
}

export interface GraphSimulatorStats { requests: number, throttled: number, sessionsCreated: number }

export interface GraphSimulator {
  /** https://127.0.0.1:PORT (no trailing slash, no version segment). */
  url: string
  /** Origin of the import endpoint (https://127.0.0.1:PORT2). */
  importOrigin: string
  faults: GraphFaults
  stats: GraphSimulatorStats
  /** `MBX:{guid}@{tenantId}` for a store mailbox GUID. */
  mailboxId: (guid: string) => string
  close: () => Promise<void>
}
