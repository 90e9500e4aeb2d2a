/**
 * EWS ResponseCode → MBG_ERR_* (ews.md §4), annotated for the retry policy.
 *
 * The same code means different things depending on what it is about: for a
 * folder call ErrorItemNotFound means the folder is gone, for a batch item it is
 * the item; ErrorNonExistentMailbox is the mailbox for a whole call but only the
 * item for an id whose embedded mailbox is unknown. Likewise ErrorAccessDenied: for
 * a whole call (impersonation refused) it is a 403, but per message it is how EWS
 * refuses an id of another mailbox, which the port reports as not found in this
 * mailbox (as the Graph backend does).
 */
import {
  AccessDenied, ChangeKeyConflict, ChangeKeyInvalid, DataInvalid, FolderExists, FolderNotFound, FolderProtected,
  IdMalformed, ItemNotFound, MailboxNotFound, QuotaExceeded, TooLarge, UpstreamRejected, UpstreamThrottled,
  UpstreamTimeout, UpstreamUnavailable, withExtras, type GatewayError
} from '../../errors.js'
import type { RetryHint } from '../policy.js'

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
  'ErrorInvalidPagingMaxRows', 'ErrorInvalidOperation', 'ErrorInvalidExchangeImpersonationHeaderData'
])

const ID_CODES = new Set([
  'ErrorInvalidIdMalformed',
  'ErrorInvalidIdEmpty',
  'ErrorInvalidId',
  'ErrorInvalidIdMalformedEwsLegacyIdFormat',
  'ErrorInvalidFolderId',
  'ErrorCannotUseFolderIdForItemId',
  'ErrorCannotUseItemIdForFolderId',
  'ErrorInvalidIdTooManyAttachmentLevels'
])

const ACCESS_CODES = new Set([
  'ErrorAccessDenied',
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorAccountDisabled'
])

/** Per-message answers to an id that is not in the selected mailbox (another mailbox's, or an unknown mailbox's). */
const FOREIGN_ID_CODES = new Set(['ErrorAccessDenied', 'ErrorNonExistentMailbox'])

export interface RetryAnnotations { retry?: RetryHint, retryAfterMs?: number, retryAfter?: number }

export type Annotated = GatewayError & RetryAnnotations

/** Attaches retry hints for src/backends/policy.ts next to the ErrorExtras. */
export function annotate<E extends Error> (error: E,
  hints: RetryAnnotations & { upstreamCode?: string, upstreamRequestId?: string }): Annotated {
  const { retry, retryAfterMs, ...extras } = hints
  withExtras(error, extras)
  if (retry !== undefined) Object.assign(error, { retry })
  if (retryAfterMs !== undefined) Object.assign(error, { retryAfterMs })
  return error as unknown as Annotated
}

export function isRetryableCode (code: string): boolean {
  return THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code)
}

/** BackOffMilliseconds from MessageXml, when present and sane. */
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
   * The subject was addressed by id (not by a distinguished name). A per-message
   * ErrorAccessDenied / ErrorNonExistentMailbox then means "that id is not in this
   * mailbox": FolderNotFound. Items are always addressed by id.
   */
  byId?: boolean
  /** Display name a create/rename is about: ErrorFolderExists names it, not the subject id. */
  name?: string
  /** Mailbox address, for MailboxNotFound / AccessDenied messages. */
  address: string
  /** MessageXml values (BackOffMilliseconds, …). */
  values?: Record<string, string>
}

/**
 * Maps a ResponseCode to a gateway error. Messages are ours: upstream MessageText may
 * echo request data and is never copied into errors.
 */
export function errorForCode (code: string, ctx: CodeContext): Annotated {
  const up = { upstreamCode: code }
  if (THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code)) {
    const ms = backOffMs(ctx.values)
    const hints: RetryAnnotations = { retry: 'safe' }
    if (ms !== undefined) { hints.retryAfterMs = ms; hints.retryAfter = Math.ceil(ms / 1000) }
    if (code === 'ErrorTimeoutExpired') return annotate(new UpstreamTimeout(`EWS ${code}`), { ...up, ...hints })
    const Ctor =
      THROTTLING_CODES.has(code) || code === 'ErrorBatchProcessingStopped' ? UpstreamThrottled : UpstreamUnavailable
    return annotate(new Ctor(`EWS ${code}`), { ...up, ...hints })
  }
  if (FOREIGN_ID_CODES.has(code)) {
    if (ctx.about === 'item') return annotate(new ItemNotFound(ctx.subject), up)
    if (ctx.about === 'folder' && ctx.byId === true) return annotate(new FolderNotFound(ctx.subject), up)
  }
  if (code === 'ErrorNonExistentMailbox') return annotate(new MailboxNotFound(ctx.address), up)
  if (ACCESS_CODES.has(code)) return annotate(new AccessDenied(`${ctx.address}: ${code}`), up)
  if (ID_CODES.has(code)) return annotate(new IdMalformed(ctx.subject), up)
  if (OUR_BUG_CODES.has(code)) return annotate(new UpstreamRejected(code), up)
  switch (code) {
    case 'ErrorItemNotFound':
      return annotate(ctx.about === 'item' ? new ItemNotFound(ctx.subject) : new FolderNotFound(ctx.subject), up)
    case 'ErrorFolderNotFound':
      return annotate(new FolderNotFound(ctx.about === 'item' ? 'of the item' : ctx.subject), up)
    case 'ErrorFolderExists':
      return annotate(new FolderExists(ctx.name ?? ctx.subject), up)
    case 'ErrorDeleteDistinguishedFolder':
      return annotate(new FolderProtected(ctx.subject), up)
    case 'ErrorInvalidChangeKey':
    case 'ErrorChangeKeyRequiredForWriteOperations':
      return annotate(new ChangeKeyInvalid(ctx.subject), up)
    case 'ErrorIrresolvableConflict':
    case 'ErrorStaleObject':
      return annotate(new ChangeKeyConflict(ctx.subject), up)
    case 'ErrorQuotaExceeded':
      return annotate(new QuotaExceeded(ctx.address), up)
    case 'ErrorMessageSizeExceeded':
    case 'ErrorDataSizeLimitExceeded':
      return annotate(new TooLarge(ctx.subject), up)
  }
  if (code === 'ErrorCorruptData' || code.startsWith('ErrorInvalidData') ||
    code === 'ErrorInvalidPropertyForOperation') {
    return annotate(new DataInvalid(ctx.subject), up)
  }
  return annotate(new UpstreamRejected(code), up)
}

export interface UploadCodeContext {
  mode: 'create' | 'update'
  /** Input position in the import call. */
  index: number
  /** Public id of the item an update replaces. */
  itemId?: string
  /** Public folder id or well-known name the item goes to. */
  folder: string
  address: string
  values?: Record<string, string>
}

/**
 * A per-item UploadItems code. The message names what it is about: the folder for
 * folder trouble (and, for a create, whose only id is the folder's, for id trouble),
 * the replaced item's id for an update, and the input position ("import item 3") for
 * a create, which has no id yet.
 */
export function uploadErrorForCode (code: string, ctx: UploadCodeContext): Annotated {
  const about = { address: ctx.address, ...(ctx.values !== undefined ? { values: ctx.values } : {}) }
  if (code === 'ErrorFolderNotFound' || (ctx.mode === 'create' && (FOREIGN_ID_CODES.has(code) || ID_CODES.has(code) ||
    code === 'ErrorItemNotFound'))) {
    return errorForCode(code, { ...about, about: 'folder', subject: ctx.folder, byId: true })
  }
  return errorForCode(code, { ...about, about: 'item', subject: ctx.itemId ?? `import item ${ctx.index}` })
}
