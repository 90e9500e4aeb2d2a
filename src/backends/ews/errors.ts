/**
 * EWS ResponseCode → MBG_ERR_* (ews.md §4), annotated for the retry policy, as one table (`EWS_CODES`).
 *
 * Errors name the right party: a 4xx only when the caller's input caused it, a 502/503/504 with the
 * backend's code in `upstreamCode` when the backend failed or refused a value the gateway produced.
 * So the same code maps by context (`CodeContext`):
 *
 *  - what it is about: a whole call (a SOAP fault, or a lookup the gateway makes on its own), a folder
 *    or a batch item. ErrorItemNotFound is the folder for a folder call, the item for a batch item;
 *    a per-message ErrorAccessDenied / ErrorNonExistentMailbox is how EWS refuses an id of another
 *    mailbox, which the port reports as not found in this mailbox (as the Graph backend does), while
 *    for a whole call it is the mailbox (impersonation refused, no such mailbox);
 *  - where the offending value came from (`Source`): an id, change key, name or data the caller sent;
 *    a well-known folder the caller chose, which the gateway spelled as a DistinguishedFolderId or
 *    resolved to an id; or a value the gateway chose itself (the root it looks up, a change key it read).
 *    A well-known name refused as a malformed id is the backend's fault; one the backend does not have
 *    is a folder the caller named that does not exist.
 *
 * README.md ("Backend error codes") lists this table; keep them in step.
 */
import {
  AccessDenied, BadRequest, ChangeKeyConflict, CursorExpired, ChangeKeyInvalid, DataInvalid, FolderExists,
  FolderNotFound,
  FolderProtected, IdMalformed, ItemNotFound, MailboxNotFound, QuotaExceeded, TooLarge, UpstreamRejected,
  UpstreamThrottled, UpstreamTimeout, UpstreamUnavailable, type GatewayError
} from '../../errors.js'
import { annotate, type UpstreamDetails } from '../../upstream/errors.js'

/** The server is over budget: waiting helps. */
export const THROTTLING_CODES = new Set([
  'ErrorServerBusy', 'ErrorExceededConnectionCount', 'ErrorTooManyObjectsOpened', 'ErrorInsufficientResources',
  'ErrorExceededFindCountLimit'
])

/** Transient store/server trouble: retrying later helps. */
export const TRANSIENT_CODES = new Set([
  'ErrorInternalServerTransientError', 'ErrorMailboxStoreUnavailable', 'ErrorMailboxMoveInProgress',
  'ErrorConnectionFailed', 'ErrorTimeoutExpired', 'ErrorADUnavailable', 'ErrorBatchProcessingStopped'
])

/** Codes that say our request is wrong: a gateway bug, logged at error level. */
export const OUR_BUG_CODES = new Set([
  'ErrorSchemaValidation', 'ErrorInvalidRequest', 'ErrorInvalidServerVersion', 'ErrorIncorrectSchemaVersion',
  'ErrorInvalidPagingMaxRows', 'ErrorInvalidOperation', 'ErrorInvalidExchangeImpersonationHeaderData',
  'ErrorInvalidPropertySet', 'ErrorMissingEmailAddress'
])

const ID_CODES = [
  'ErrorInvalidIdMalformed', 'ErrorInvalidIdEmpty', 'ErrorInvalidId', 'ErrorInvalidIdMalformedEwsLegacyIdFormat',
  'ErrorInvalidFolderId', 'ErrorCannotUseFolderIdForItemId', 'ErrorCannotUseItemIdForFolderId',
  'ErrorInvalidIdTooManyAttachmentLevels'
]

/** Change-key refusals: the caller's key is invalid, or the object changed since the key was read. */
export const CHANGE_KEY_CODES = new Set([
  'ErrorInvalidChangeKey', 'ErrorChangeKeyRequiredForWriteOperations', 'ErrorIrresolvableConflict', 'ErrorStaleObject'
])

/**
 * Where the value a code complains about came from.
 *
 * - `caller`: an id, change key, folder name or item data the caller sent;
 * - `wellKnown`: a well-known folder name the caller chose, sent as a DistinguishedFolderId or resolved
 *   by the gateway to the folder's id;
 * - `gateway`: a value the gateway chose itself (the root it looks up, a change key it just read, data
 *   the backend holds).
 */
export type Source = 'caller' | 'wellKnown' | 'gateway'

/**
 * What the gateway answers. Mostly an MBG_ERR_* code; `NOT_FOUND` is MBG_ERR_ITEM_NOT_FOUND or
 * MBG_ERR_FOLDER_NOT_FOUND by what the message is about.
 */
type Answer =
  | 'MBG_ERR_ID_MALFORMED' | 'NOT_FOUND' | 'MBG_ERR_FOLDER_NOT_FOUND' | 'MBG_ERR_MAILBOX_NOT_FOUND'
  | 'MBG_ERR_ACCESS_DENIED' | 'MBG_ERR_CHANGE_KEY_INVALID' | 'MBG_ERR_CHANGE_KEY_CONFLICT' | 'MBG_ERR_FOLDER_EXISTS'
  | 'MBG_ERR_FOLDER_PROTECTED' | 'MBG_ERR_BAD_REQUEST' | 'MBG_ERR_DATA_INVALID' | 'MBG_ERR_TOO_LARGE'
  | 'MBG_ERR_QUOTA_EXCEEDED' | 'MBG_ERR_UPSTREAM_THROTTLED' | 'MBG_ERR_UPSTREAM_UNAVAILABLE'
  | 'MBG_ERR_UPSTREAM_TIMEOUT' | 'MBG_ERR_UPSTREAM_REJECTED' | 'MBG_ERR_CURSOR_EXPIRED'

/** One row of EWS_CODES. */
export interface CodeRule {
  /**
   * Whose value the code complains about: an `id` (the message's subject), a `changeKey`, a folder `name`,
   * item `data`, a foreign id (`foreignId`: per message an id not in this mailbox, for a whole call the
   * mailbox), or nothing the caller sent (`backend`: load, outages, our own request).
   */
  blames: 'id' | 'foreignId' | 'changeKey' | 'name' | 'data' | 'backend'
  /** The answer when that value is the caller's (for `backend` rows: always). */
  caller: Answer
  /** When it is a well-known folder the caller chose (default: as `gateway`). */
  wellKnown?: Answer
  /** When the gateway produced it, or the code is about a whole call (default: MBG_ERR_UPSTREAM_REJECTED). */
  gateway?: Answer
  /** For `foreignId` rows: the answer for a whole call, where the code is about the mailbox. */
  request?: Answer
}

/** A row about the subject's id: `caller` for the caller's id, `wellKnown` for a well-known folder, else a 502. */
const id = (caller: Answer, wellKnown?: Answer): CodeRule =>
  ({ blames: 'id', caller, ...(wellKnown !== undefined ? { wellKnown } : {}) })
/** A row about nothing the caller sent: the same answer in every context. */
const backend = (answer: Answer): CodeRule => ({ blames: 'backend', caller: answer, gateway: answer })
/** A change-key row: the caller's key as given, the gateway's own key (a rename) a conflict. */
const changeKey = (caller: Answer): CodeRule =>
  ({ blames: 'changeKey', caller, gateway: 'MBG_ERR_CHANGE_KEY_CONFLICT' })
/** A foreign-id row: per message an id not in this mailbox (not found), a well-known folder or whole call `mailbox`. */
const foreignId = (mailbox: Answer): CodeRule =>
  ({ blames: 'foreignId', caller: 'NOT_FOUND', wellKnown: mailbox, request: mailbox })

/**
 * The mapping, by ResponseCode. Codes not listed (and not `ErrorInvalidData*`) are MBG_ERR_UPSTREAM_REJECTED.
 * Sources: https://learn.microsoft.com/exchange/client-developer/web-service-reference/responsecode,
 * ews-throttling-in-exchange (ErrorServerBusy, BackOffMilliseconds), and ews.md §4.
 */
export const EWS_CODES: Record<string, CodeRule> = {
  ...Object.fromEntries([...THROTTLING_CODES].map((c) => [c, backend('MBG_ERR_UPSTREAM_THROTTLED')])),
  ...Object.fromEntries([...TRANSIENT_CODES].map((c) => [c, backend('MBG_ERR_UPSTREAM_UNAVAILABLE')])),
  ErrorBatchProcessingStopped: backend('MBG_ERR_UPSTREAM_THROTTLED'),
  ErrorTimeoutExpired: backend('MBG_ERR_UPSTREAM_TIMEOUT'),
  ...Object.fromEntries([...OUR_BUG_CODES].map((c) => [c, backend('MBG_ERR_UPSTREAM_REJECTED')])),
  ...Object.fromEntries(ID_CODES.map((c) => [c, id('MBG_ERR_ID_MALFORMED')])),
  ErrorItemNotFound: id('NOT_FOUND', 'NOT_FOUND'),
  ErrorFolderNotFound: id('MBG_ERR_FOLDER_NOT_FOUND', 'MBG_ERR_FOLDER_NOT_FOUND'),
  // The SyncFolderId of a Sync* call does not exist: the folder, not the SyncState (MS-OXWSSYNC 3.1.4.2.3, 3.1.4.1.3).
  ErrorSyncFolderNotFound: id('MBG_ERR_FOLDER_NOT_FOUND', 'MBG_ERR_FOLDER_NOT_FOUND'),
  // A SyncState the server no longer takes (corrupt, foreign, too old): resync without one (ews.md §6.10).
  ErrorInvalidSyncStateData: backend('MBG_ERR_CURSOR_EXPIRED'),
  ErrorAccessDenied: foreignId('MBG_ERR_ACCESS_DENIED'),
  ErrorNonExistentMailbox: foreignId('MBG_ERR_MAILBOX_NOT_FOUND'),
  ErrorImpersonateUserDenied: backend('MBG_ERR_ACCESS_DENIED'),
  ErrorImpersonationDenied: backend('MBG_ERR_ACCESS_DENIED'),
  ErrorAccountDisabled: backend('MBG_ERR_ACCESS_DENIED'),
  ErrorDeleteDistinguishedFolder: id('MBG_ERR_FOLDER_PROTECTED', 'MBG_ERR_FOLDER_PROTECTED'),
  ErrorInvalidChangeKey: changeKey('MBG_ERR_CHANGE_KEY_INVALID'),
  ErrorChangeKeyRequiredForWriteOperations: changeKey('MBG_ERR_CHANGE_KEY_INVALID'),
  ErrorIrresolvableConflict: changeKey('MBG_ERR_CHANGE_KEY_CONFLICT'),
  ErrorStaleObject: changeKey('MBG_ERR_CHANGE_KEY_CONFLICT'),
  ErrorFolderExists: { blames: 'name', caller: 'MBG_ERR_FOLDER_EXISTS' },
  ErrorInvalidValueForProperty: { blames: 'name', caller: 'MBG_ERR_BAD_REQUEST' },
  ErrorCorruptData: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorInvalidPropertyForOperation: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  // MIME content and item properties a CreateItem carries (the caller's; on a read, the backend's own data).
  ErrorMimeContentConversionFailed: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorMimeContentInvalid: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorMimeContentInvalidBase64String: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorInvalidExtendedProperty: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorInvalidExtendedPropertyValue: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorCalendarEndDateIsEarlierThanStartDate: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorCalendarDurationIsTooLong: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorTimeZone: { blames: 'data', caller: 'MBG_ERR_DATA_INVALID' },
  ErrorMessageSizeExceeded: { blames: 'data', caller: 'MBG_ERR_TOO_LARGE' },
  ErrorDataSizeLimitExceeded: { blames: 'data', caller: 'MBG_ERR_TOO_LARGE' },
  ErrorQuotaExceeded: backend('MBG_ERR_QUOTA_EXCEEDED')
}

const DEFAULT_RULE: CodeRule = backend('MBG_ERR_UPSTREAM_REJECTED')

/** The row for a code: `ErrorInvalidData*` codes are all the data's. */
export function ruleFor (code: string): CodeRule {
  return EWS_CODES[code] ?? (code.startsWith('ErrorInvalidData') ? EWS_CODES.ErrorCorruptData : DEFAULT_RULE)
}

export function isRetryableCode (code: string): boolean {
  return THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code)
}

/**
 * BackOffMilliseconds from an ErrorServerBusy MessageXml, when present and sane (a number ≥ 0).
 * https://learn.microsoft.com/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange
 */
export function backOffMs (values: Record<string, string> | undefined): number | undefined {
  const raw = values?.BackOffMilliseconds
  if (raw === undefined) return undefined
  const n = Number(raw)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

export interface CodeContext {
  /** What the code is about: a whole call (fault or single-message op), a folder, or a batch item. */
  about: 'request' | 'folder' | 'item'
  /** Public id / name shown in the message (never upstream text). */
  subject: string
  /**
   * Where the subject's id came from. Default: the caller's for an item or a folder named by id
   * (`byId`), a well-known folder for a folder named otherwise, the gateway's for a whole call.
   */
  idFrom?: Source
  /**
   * The subject was addressed by id (not by a distinguished name): the same as `idFrom: 'caller'`.
   * A per-message ErrorAccessDenied / ErrorNonExistentMailbox then means "that id is not in this
   * mailbox": FolderNotFound. Items are always addressed by id.
   */
  byId?: boolean
  /** Where the change key came from (default: the caller). */
  changeKeyFrom?: Source
  /** Where item data came from (default: the gateway's side: data the backend holds, as in an export). */
  dataFrom?: Source
  /** Display name a create/rename is about (the caller's): ErrorFolderExists names it, not the subject id. */
  name?: string
  /** Mailbox address, for MailboxNotFound / AccessDenied messages. */
  address: string
  /** MessageXml values (BackOffMilliseconds, …). */
  values?: Record<string, string>
}

/** Whose value a rule's code blames in this context. */
function sourceOf (rule: CodeRule, ctx: CodeContext): Source {
  switch (rule.blames) {
    case 'backend': return 'caller'
    case 'changeKey': return ctx.changeKeyFrom ?? 'caller'
    case 'name': return ctx.name !== undefined ? 'caller' : 'gateway'
    case 'data': return ctx.dataFrom ?? 'gateway'
    default:
      if (ctx.about === 'request') return 'gateway'
      if (ctx.idFrom !== undefined) return ctx.idFrom
      return ctx.about === 'item' || ctx.byId === true ? 'caller' : 'wellKnown'
  }
}

/** The answer a rule gives in this context. */
export function answerFor (rule: CodeRule, ctx: CodeContext): Answer {
  if (rule.blames === 'foreignId' && ctx.about === 'request' && rule.request !== undefined) return rule.request
  const source = sourceOf(rule, ctx)
  if (source === 'caller') return rule.caller
  if (source === 'wellKnown' && rule.wellKnown !== undefined) return rule.wellKnown
  return rule.gateway ?? 'MBG_ERR_UPSTREAM_REJECTED'
}

/**
 * Maps a ResponseCode to a gateway error by EWS_CODES and the context. Messages are ours: upstream
 * MessageText may echo request data and is never copied into errors. Throttling and transient codes
 * carry `retry: 'safe'` and the server's BackOffMilliseconds.
 */
export function errorForCode (code: string, ctx: CodeContext): GatewayError {
  const up: UpstreamDetails = { upstreamCode: code }
  if (isRetryableCode(code)) Object.assign(up, { retry: 'safe', retryAfterMs: backOffMs(ctx.values) })
  return annotate(build(answerFor(ruleFor(code), ctx), code, ctx), up)
}

function build (answer: Answer, code: string, ctx: CodeContext): GatewayError {
  switch (answer) {
    case 'MBG_ERR_ID_MALFORMED': return new IdMalformed(ctx.subject)
    case 'NOT_FOUND': return ctx.about === 'item' ? new ItemNotFound(ctx.subject) : new FolderNotFound(ctx.subject)
    case 'MBG_ERR_FOLDER_NOT_FOUND': return new FolderNotFound(ctx.about === 'item' ? 'of the item' : ctx.subject)
    case 'MBG_ERR_MAILBOX_NOT_FOUND': return new MailboxNotFound(ctx.address)
    case 'MBG_ERR_ACCESS_DENIED': return new AccessDenied(`${ctx.address}: ${code}`)
    case 'MBG_ERR_CHANGE_KEY_INVALID': return new ChangeKeyInvalid(`the one sent for ${ctx.about} ${ctx.subject}`)
    case 'MBG_ERR_CHANGE_KEY_CONFLICT': return new ChangeKeyConflict(ctx.subject)
    case 'MBG_ERR_FOLDER_EXISTS': return new FolderExists(ctx.name ?? ctx.subject)
    case 'MBG_ERR_FOLDER_PROTECTED': return new FolderProtected(ctx.subject)
    case 'MBG_ERR_BAD_REQUEST':
      return new BadRequest(`the backend refuses the folder name ${JSON.stringify(ctx.name ?? '')}`)
    case 'MBG_ERR_DATA_INVALID': return new DataInvalid(`${ctx.subject}: the backend refuses it (${code})`)
    case 'MBG_ERR_TOO_LARGE': return new TooLarge(ctx.subject)
    case 'MBG_ERR_QUOTA_EXCEEDED': return new QuotaExceeded(ctx.address)
    case 'MBG_ERR_UPSTREAM_THROTTLED': return new UpstreamThrottled(`EWS ${code}`)
    case 'MBG_ERR_UPSTREAM_UNAVAILABLE': return new UpstreamUnavailable(`EWS ${code}`)
    case 'MBG_ERR_UPSTREAM_TIMEOUT': return new UpstreamTimeout(`EWS ${code}`)
    case 'MBG_ERR_UPSTREAM_REJECTED': return new UpstreamRejected(code)
    case 'MBG_ERR_CURSOR_EXPIRED': return new CursorExpired(`EWS ${code}`)
  }
}

/** Operations whose one request carries many items, any one of which a whole-request fault may be about. */
const BATCH_OPS = new Set(['ExportItems', 'UploadItems'])

/** Whole-request faults about the mailbox, the account or the request's headers: never one item's doing. */
const ABOUT_EVERY_ITEM = new Set([
  'ErrorInvalidServerVersion', 'ErrorIncorrectSchemaVersion', 'ErrorInvalidExchangeImpersonationHeaderData',
  'ErrorMissingEmailAddress', 'ErrorImpersonateUserDenied', 'ErrorImpersonationDenied', 'ErrorAccountDisabled',
  'ErrorAccessDenied', 'ErrorNonExistentMailbox', 'ErrorQuotaExceeded'
])

/**
 * Whole-request faults that refuse an UploadItems before any item is written: its size, or data or
 * markup the server could not read. Other faults on UploadItems (ErrorInternalServerError…) may come
 * after some items were stored: sending parts again could duplicate them, so they are not split.
 */
const REFUSED_BEFORE_WRITING = new Set([
  'ErrorMessageSizeExceeded', 'ErrorDataSizeLimitExceeded', 'ErrorCorruptData', 'ErrorSchemaValidation'
])

/**
 * Whether a SOAP fault (HTTP 500, no per-item messages) of `op` refuses the request as a whole for
 * something one of its items may cause, with nothing done: the service then splits the batch to find
 * the item (annotation `isolate`, src/service/batches.ts). ExportItems changes nothing, so any fault
 * but throttling, outages and faults about the mailbox or account qualifies; UploadItems only for
 * faults raised before anything is written (REFUSED_BEFORE_WRITING, `ErrorInvalidData*`).
 */
export function faultIsolates (op: string, code: string): boolean {
  if (!BATCH_OPS.has(op) || isRetryableCode(code) || ABOUT_EVERY_ITEM.has(code)) return false
  if (op === 'ExportItems') return true
  return REFUSED_BEFORE_WRITING.has(code) || code.startsWith('ErrorInvalidData')
}

/**
 * Whether a whole-request SOAP fault of `op` leaves it unknown whether items were written: an
 * UploadItems fault that is not throttling, not about the mailbox or account, and not one raised
 * before any item is written (ErrorInternalServerError, or a code the gateway does not know). The
 * client hints it `retry: 'idempotent'`, so the policy resends an update-only batch and answers a
 * batch with creates MBG_ERR_OUTCOME_UNKNOWN (src/backends/policy.ts `outcomeOf`), never a
 * "not done" that would invite a duplicate.
 */
export function faultMayHaveWritten (op: string, code: string): boolean {
  if (op !== 'UploadItems' || isRetryableCode(code) || ABOUT_EVERY_ITEM.has(code) || OUR_BUG_CODES.has(code)) {
    return false
  }
  return !faultIsolates(op, code)
}

export interface UploadCodeContext {
  mode: 'create' | 'update'
  /** Input position in the import call. */
  index: number
  /** Public id of the item an update replaces. */
  itemId?: string
  /** Public folder id or well-known name the item goes to. */
  folder: string
  /** The caller named the folder by well-known name (the gateway resolved it to the id it sent). */
  folderWellKnown?: boolean
  address: string
  values?: Record<string, string>
}

/**
 * A per-item UploadItems code. The message names what it is about: the folder for
 * folder trouble (and, for a create, whose only id is the folder's, for id trouble),
 * the replaced item's id for an update, and the input position ("import item 3") for
 * a create, which has no id yet. Item data, ids and change keys are the caller's; the
 * folder id is the gateway's spelling of a well-known name when the caller gave one.
 */
export function uploadErrorForCode (code: string, ctx: UploadCodeContext): GatewayError {
  const about: Pick<CodeContext, 'address' | 'dataFrom' | 'values'> = {
    address: ctx.address, dataFrom: 'caller', ...(ctx.values !== undefined ? { values: ctx.values } : {})
  }
  const blames = ruleFor(code).blames
  if (code === 'ErrorFolderNotFound' || (ctx.mode === 'create' && (blames === 'id' || blames === 'foreignId'))) {
    const idFrom = ctx.folderWellKnown === true ? 'wellKnown' : 'caller'
    return errorForCode(code, { ...about, about: 'folder', subject: ctx.folder, idFrom })
  }
  return errorForCode(code, { ...about, about: 'item', subject: ctx.itemId ?? `import item ${ctx.index}` })
}

export interface CreateCodeContext {
  /** Public folder id or well-known name the item is created in. */
  folder: string
  /** The caller named the folder by well-known name (sent as a DistinguishedFolderId). */
  folderWellKnown?: boolean
  address: string
  values?: Record<string, string>
}

/**
 * A CreateItem code (one item created from MIME or a property set, createItemFromMime / createItemFromProperties):
 * id and folder trouble is the target folder's (the only id the request holds), anything else is the new item's,
 * whose data (MIME content, properties) is the caller's: ErrorMimeContentInvalid and the like are its 422.
 */
export function createErrorForCode (code: string, ctx: CreateCodeContext): GatewayError {
  const about: Pick<CodeContext, 'address' | 'values'> = {
    address: ctx.address, ...(ctx.values !== undefined ? { values: ctx.values } : {})
  }
  const blames = ruleFor(code).blames
  if (code === 'ErrorFolderNotFound' || blames === 'id' || blames === 'foreignId') {
    return errorForCode(code, {
      ...about, about: 'folder', subject: ctx.folder, idFrom: ctx.folderWellKnown === true ? 'wellKnown' : 'caller'
    })
  }
  return errorForCode(code, { ...about, about: 'item', subject: 'the new item', dataFrom: 'caller' })
}
