/** Public types of the EWS simulator (wired by src/simulators/index.ts and demo mode). */
import type { Logger } from 'pino'
import type { FaultKind, FaultPlan, FaultPlanConfig, OversizeAnswer, PoisonMarkers } from '../faults.js'
import type { MailboxStore } from '../store/store.js'

export interface EwsAccount { username: string, password: string, impersonation: boolean, smtp?: string }

export interface EwsFaults {
  /** The next N requests get an ErrorServerBusy SOAP fault (HTTP 500) with BackOffMilliseconds. */
  serverBusy: number
  /** BackOffMilliseconds value (default 500). */
  backOffMs: number
  /** The next N requests get HTTP 503. */
  http503: number
  /** Added latency per request. */
  delayMs: number
  /** The next N responses end with '=== Truncated Data ===' (not well-formed XML). */
  truncate: number
  /** The next N requests get their socket destroyed without a response. */
  reset: number
  /**
   * The next N FindItem/FindFolder answers claim more entries exist (IncludesLastItemInRange="false")
   * while their IndexedPagingOffset is the Offset asked for: an answer a client cannot advance from.
   */
  stallPaging: number
  /** Limit the above to these operation names (e.g. ['ExportItems']). */
  only?: string[]
  /**
   * Per-message refusals, to play a real server's answers: each rule makes the next `count` ResponseMessages
   * it matches answer ResponseClass="Error" with `code` instead of doing the work (`only` does not apply).
   */
  messages: EwsMessageFault[]
  /**
   * ExportItems answers for these items (keyed by EWS item id, as on the wire) are damaged, regardless of `only`:
   * 'data' shortens m:Data the way the success sample in Microsoft's ExportItems page is (16 characters and '...',
   * not base64); 'changeKey' leaves the ChangeKey out of m:ItemId; 'wrapped' breaks m:Data into 76-column lines
   * (still valid: base64 with whitespace, which Exchange may send).
   */
  exportDamage?: Record<string, ExportDamage>
  /**
   * FieldURIs FindItem leaves out of every item even when the request asks for them
   * (e.g. ['item:DateTimeCreated']).
   */
  omitItemFields?: string[]
  /**
   * The next N successful UploadItems messages leave the ChangeKey out of m:ItemId (the item is stored all
   * the same).
   */
  uploadWithoutChangeKey?: number
  /**
   * Seeded random faults by operation (see FaultRule and FaultKind in ../faults.ts), applied after the
   * count-down knobs above: `plan.configure({ seed, rules })` switches them on, `plan.clear()` off.
   */
  plan: FaultPlan
  /**
   * Poisoned items: an ExportItems request naming one of them (by id, or an item whose subject contains a
   * marker) answers HTTP 500 with a whole-request `ErrorInternalServerError` SOAP fault and no per-item messages,
   * as Exchange does for a damaged message; requests without one are served normally. Regardless of `only`.
   */
  poison?: PoisonMarkers
  /**
   * Request body limit in bytes (unset: only the simulator's 100 MiB cap). A larger body is read to its end
   * and refused per `oversizeAnswer`; nothing is stored. Exchange's defaults are 64 MiB (IIS
   * maxAllowedContentLength and WCF maxReceivedMessageSize in the EWS web.config; "Configure client-specific
   * message size limits", https://learn.microsoft.com/exchange/architecture/client-access/client-message-size-limits).
   */
  maxRequestBytes?: number
  /**
   * 'http413': an empty HTTP 413 (the web front end refusing the body); 'soapFault': HTTP 500 SOAP fault
   * `ErrorMessageSizeExceeded` (ResponseCode docs: "the message exceeds the maximum supported size").
   */
  oversizeAnswer: OversizeAnswer
}

/** How `EwsFaults.exportDamage` damages one ExportItems answer. */
export type ExportDamage = 'data' | 'changeKey' | 'wrapped'

/**
 * One rule of EwsFaults.messages. Without `distinguished` it matches the messages of `op`; with it, only
 * messages that resolve that DistinguishedFolderId (e.g. 'inbox'), in `op` or, when `op` is unset, in any operation.
 */
export interface EwsMessageFault { op?: string, distinguished?: string, code: string, count: number }

export interface EwsBearerIdentity { appId: string, roles: string[] }

export interface EwsSimulatorOptions {
  store: MailboxStore
  host?: string
  port?: number
  /**
   * Accounts for Basic and NTLM (NTLMv2; `CONTOSO\user`, or the user name as is,
   * e.g. a UPN: src/simulators/ews/ntlm.ts).
   */
  accounts: EwsAccount[]
  /** OAuth; app-only roles must include full_access_as_app. */
  verifyBearer?: (token: string) => Promise<EwsBearerIdentity | undefined>
  logger?: Logger
  /** Initial fault plan (EwsFaults.plan). */
  faultPlan?: FaultPlanConfig
  /** Initial EwsFaults.poison. */
  poison?: PoisonMarkers
  /** Initial EwsFaults.maxRequestBytes. */
  maxRequestBytes?: number
  /** Initial EwsFaults.oversizeAnswer (default 'http413'). */
  oversizeAnswer?: OversizeAnswer
}

/**
 * Injected faults counted by kind: the FaultKinds (the count-down knobs count as their kind: serverBusy →
 * 'serverBusy', http503 → 'unavailable', reset → 'resetBefore', truncate → 'truncatedAfter'), plus 'stallPaging',
 * 'poison' (a request refused for a poisoned item) and 'tooLarge' (a body over maxRequestBytes).
 */
export type EwsFaultCounts = Partial<Record<FaultKind | 'stallPaging' | 'poison' | 'tooLarge', number>>

/** Counters, reset by `EwsSimulator.resetStats()`. */
export interface EwsStats {
  /** Every HTTP request received. */
  requests: number
  /** Requests per SOAP operation name (the Body element's local name). */
  byOperation: Record<string, number>
  /** Requests being served now (from arrival until the answer is sent or the socket destroyed). */
  inFlight: number
  /** Highest `inFlight` seen. */
  maxInFlight: number
  /** Injected faults by kind. */
  faults: EwsFaultCounts
  /**
   * NTLM handshakes: Type 2 challenges sent, Type 3 messages accepted and refused, and requests
   * without an Authorization header that a connection's earlier handshake authenticated.
   */
  ntlm: { challenges: number, authenticated: number, refused: number, onBoundConnection: number }
}

export interface EwsSimulator {
  /** http://127.0.0.1:PORT/EWS/Exchange.asmx */
  url: string
  faults: EwsFaults
  stats: EwsStats
  /** Zeroes every counter of `stats` (the object stays the same; `inFlight` keeps counting what is in flight). */
  resetStats(): void
  close(): Promise<void>
}
