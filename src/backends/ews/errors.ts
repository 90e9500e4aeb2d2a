/**
 * EWS ResponseCode → MBG_ERR_* (ews.md §4), annotated for the retry policy.
 *
 * The same code means different things depending on what it is about: for a
 * folder call ErrorItemNotFound means the folder is gone, for a batch item it is
 * the item; ErrorNonExistentMailbox is the mailbox for a whole call but only the
 * item for an id whose embedded mailbox is unknown.
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
  'ErrorInvalidIdMalformed', 'ErrorInvalidIdEmpty', 'ErrorInvalidId', 'ErrorInvalidIdMalformedEwsLegacyIdFormat',
  'ErrorInvalidFolderId', 'ErrorCannotUseFolderIdForItemId', 'ErrorCannotUseItemIdForFolderId', 'ErrorInvalidIdTooManyAttachmentLevels'
])

const ACCESS_CODES = new Set(['ErrorAccessDenied', 'ErrorImpersonateUserDenied', 'ErrorImpersonationDenied', 'ErrorAccountDisabled'])

export interface RetryAnnotations { retry?: RetryHint, retryAfterMs?: number, retryAfter?: number }

export type Annotated = GatewayError & RetryAnnotations

/** Attaches retry hints for src/backends/policy.ts next to the ErrorExtras. */
export function annotate<E extends Error> (error: E, hints: RetryAnnotations & { upstreamCode?: string, upstreamRequestId?: string }): Annotated {
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
    const ctor = THROTTLING_CODES.has(code) || code === 'ErrorBatchProcessingStopped' ? UpstreamThrottled : UpstreamUnavailable
    return annotate(new ctor(`EWS ${code}`), { ...up, ...hints })
  }
  if (code === 'ErrorNonExistentMailbox') {
    return annotate(ctx.about === 'item' ? new ItemNotFound(ctx.subject) : new MailboxNotFound(ctx.address), up)
  }
  if (ACCESS_CODES.has(code)) return annotate(new AccessDenied(`${ctx.address}: ${code}`), up)
  if (ID_CODES.has(code)) return annotate(new IdMalformed(ctx.subject), up)
  if (OUR_BUG_CODES.has(code)) return annotate(new UpstreamRejected(code), up)
  switch (code) {
    case 'ErrorItemNotFound':
      return annotate(ctx.about === 'item' ? new ItemNotFound(ctx.subject) : new FolderNotFound(ctx.subject), up)
    case 'ErrorFolderNotFound':
      return annotate(new FolderNotFound(ctx.about === 'item' ? 'of the item' : ctx.subject), up)
    case 'ErrorFolderExists':
      return annotate(new FolderExists(ctx.subject), up)
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
  if (code === 'ErrorCorruptData' || code.startsWith('ErrorInvalidData') || code === 'ErrorInvalidPropertyForOperation') {
    return annotate(new DataInvalid(ctx.subject), up)
  }
  return annotate(new UpstreamRejected(code), up)
}
