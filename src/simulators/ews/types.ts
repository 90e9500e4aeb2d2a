/** Public types of the EWS simulator (wired by src/simulators/index.ts and demo mode). */
import type { Logger } from 'pino'
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
   * ExportItems requests naming one of these items (keyed by EWS item id, as on the wire) fail as a whole with a
   * SOAP fault of the given code (HTTP 500, no per-item messages), as a server does when one item it cannot read
   * breaks the batch (e.g. `{ [id]: 'ErrorInternalServerError' }`); regardless of `only`.
   */
  exportPoison?: Record<string, string>
  /**
   * Most request body bytes the server takes; a larger request is refused as a whole before anything is done:
   * HTTP 413 (`oversize: 'http413'`, the default, as IIS's request limits answer) or an ErrorMessageSizeExceeded
   * SOAP fault (`oversize: 'fault'`). Regardless of `only`.
   */
  maxRequestBytes?: number
  oversize?: 'http413' | 'fault'
  /**
   * The next N requests are carried out, then their socket is destroyed without an answer: the client cannot
   * know what was done.
   */
  resetAfter?: number
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
  /** Basic auth accounts. */
  accounts: EwsAccount[]
  /** OAuth; app-only roles must include full_access_as_app. */
  verifyBearer?: (token: string) => Promise<EwsBearerIdentity | undefined>
  logger?: Logger
}

export interface EwsStats { requests: number, byOperation: Record<string, number> }

export interface EwsSimulator {
  /** http://127.0.0.1:PORT/EWS/Exchange.asmx */
  url: string
  faults: EwsFaults
  stats: EwsStats
  close(): Promise<void>
}
