/**
 * Every error the gateway can answer with, as coded constructors (@fastify/error).
 * The code is the API; the message is for humans. Each code is documented in
 * README.md ("Error model"), and test/app/errors.test.ts checks that.
 */
import createError, { type FastifyError, type FastifyErrorConstructor } from '@fastify/error'
import type { UpstreamAnnotations } from './upstream/errors.js'

/**
 * An MBG_ERR_* error, possibly annotated (src/upstream/errors.ts `annotate`) with upstream
 * facts for the retry policy and the problem+json renderer.
 */
export type GatewayError = FastifyError & UpstreamAnnotations

// Request
export const BadRequest = createError('MBG_ERR_BAD_REQUEST', '%s', 400)
export const IdMalformed = createError<[string]>('MBG_ERR_ID_MALFORMED', 'Malformed id: %s', 400)
export const ChangeKeyInvalid = createError<[string]>('MBG_ERR_CHANGE_KEY_INVALID', 'Invalid change key: %s', 400)
export const UnsupportedMediaType = createError<[string]>(
  'MBG_ERR_UNSUPPORTED_MEDIA_TYPE',
  'Unsupported media type: %s',
  415
)
/**
 * The item has no representation the request's Accept admits (RFC 9110 §15.5.7): e.g. `text/vcard` for a message.
 * The message names the representations the item does have; nothing else was done.
 */
export const NotAcceptable = createError<[string]>('MBG_ERR_NOT_ACCEPTABLE', 'Not acceptable: %s', 406)
export const RouteNotFound = createError<[string, string]>('MBG_ERR_ROUTE_NOT_FOUND', 'Route %s %s not found', 404)
/**
 * An Idempotency-Key already used for another request (another body, or another operation) in this
 * scope: 422 as draft-ietf-httpapi-idempotency-key-header ("Error Scenarios") asks. Nothing was done.
 */
export const IdempotencyKeyReused = createError<[string]>(
  'MBG_ERR_IDEMPOTENCY_KEY_REUSED',
  'Idempotency-Key already used for another request: %s',
  422
)
/**
 * The first request with this Idempotency-Key is still being processed: 409 (same draft), with
 * Retry-After. Nothing was done by this one; repeat it later to get the first one's answer.
 */
export const IdempotencyKeyInUse = createError<[string]>(
  'MBG_ERR_IDEMPOTENCY_KEY_IN_USE',
  'A request with this Idempotency-Key is still in progress: %s',
  409
)

// Callers (README "Security model")
/**
 * No credential, or one that does not hold: unknown or expired API key; a bearer token that is malformed, badly
 * signed, expired or not yet valid, or meant for another issuer or audience (RFC 6750 `invalid_token`).
 * Answered with `WWW-Authenticate`; nothing was done.
 */
export const Unauthenticated = createError<[string]>('MBG_ERR_UNAUTHENTICATED', 'Not authenticated: %s', 401)
/** The caller is known but lacks the scope the operation needs (RFC 6750 `insufficient_scope`). Audited. */
export const InsufficientScope = createError<[string]>(
  'MBG_ERR_INSUFFICIENT_SCOPE',
  'The caller lacks a scope: %s',
  403
)
/** The caller's mailbox allow-list does not admit this mailbox. Audited; nothing was done. */
export const MailboxForbidden = createError<[string]>(
  'MBG_ERR_MAILBOX_FORBIDDEN',
  'The caller may not use mailbox %s',
  403
)
/** The caller sent more requests than its rate limit allows (RateLimit-* and Retry-After say when to go on). */
export const RateLimited = createError<[string]>('MBG_ERR_RATE_LIMITED', 'Too many requests: %s', 429)

// Mailboxes, folders, items
export const MailboxNotFound = createError<[string]>('MBG_ERR_MAILBOX_NOT_FOUND', 'Mailbox %s not found', 404)
export const FolderNotFound = createError<[string]>('MBG_ERR_FOLDER_NOT_FOUND', 'Folder %s not found', 404)
export const ItemNotFound = createError<[string]>('MBG_ERR_ITEM_NOT_FOUND', 'Item %s not found', 404)
/** POST /mailboxes: the address is configured or registered already (the answer says which); nothing was done. */
export const MailboxExists = createError<[string]>('MBG_ERR_MAILBOX_EXISTS', 'Mailbox %s is already known', 409)
/**
 * DELETE /mailboxes/{mailbox} of a mailbox from the configuration document: only mailboxes registered at runtime
 * (POST /mailboxes) can be removed through the API; the others leave with their entry in the document.
 */
export const MailboxConfigured = createError<[string]>(
  'MBG_ERR_MAILBOX_CONFIGURED',
  'Mailbox %s comes from the configuration document',
  409
)
/** POST /mailboxes naming a backend that is not configured (`backends` of the configuration document). */
export const BackendUnknown = createError<[string]>('MBG_ERR_BACKEND_UNKNOWN', 'Unknown backend: %s', 422)
export const FolderExists = createError<[string]>(
  'MBG_ERR_FOLDER_EXISTS',
  'A folder named %s already exists there',
  409
)
export const FolderProtected = createError<[string]>(
  'MBG_ERR_FOLDER_PROTECTED',
  'Folder %s is a well-known folder and cannot be changed that way',
  409
)
export const ChangeKeyConflict = createError<[string]>(
  'MBG_ERR_CHANGE_KEY_CONFLICT',
  'Item %s has changed since that change key was read',
  409
)
export const AccessDenied = createError<[string]>('MBG_ERR_ACCESS_DENIED', 'Access denied: %s', 403)
export const DataInvalid = createError<[string]>(
  'MBG_ERR_DATA_INVALID',
  'Item data is not valid: %s',
  422
)
export const DataIncompatible = createError<[string]>(
  'MBG_ERR_DATA_INCOMPATIBLE',
  'Item data cannot be imported here: %s',
  422
)
export const TooLarge = createError<[string]>('MBG_ERR_TOO_LARGE', 'Too large: %s', 413)
export const QuotaExceeded = createError<[string]>('MBG_ERR_QUOTA_EXCEEDED', 'Mailbox quota exceeded: %s', 507)
/**
 * The mailbox's backend has no documented operation for this (for example: a Graph mailbox has no item move and no
 * folder-associated items in the mailbox import/export API; a capability it lacks, src/backends/mailbox-backend.ts
 * `capabilities`). 501 as RFC 9110 §15.6.2 defines it, not retryable; the message says why. Nothing was sent.
 */
export const NotSupported = createError<[string]>(
  'MBG_ERR_NOT_SUPPORTED',
  'Not supported by this mailbox\'s backend: %s',
  501
)
/**
 * A change cursor the backend no longer accepts (EWS ErrorInvalidSyncStateData, Graph 410 Gone /
 * SyncStateNotFound / resyncRequired on a delta or skip token): the caller starts again without a cursor
 * (a full resync, every object reported as created) and keeps the new cursor.
 */
export const CursorExpired = createError<[string]>(
  'MBG_ERR_CURSOR_EXPIRED',
  'The change cursor is no longer valid (%s): start again without a cursor, which lists every object afresh',
  410
)

// Copy jobs
export const JobNotFound = createError<[string]>('MBG_ERR_JOB_NOT_FOUND', 'Job %s not found', 404)
/** The job's state does not allow this (pause a completed job, resume a running one). */
export const JobStateConflict = createError<[string]>('MBG_ERR_JOB_STATE', 'Not possible in the job\'s state: %s', 409)
/**
 * A copy job whose target lies in its own source (the same mailbox, and the target folder is the source folder or
 * below it in the copied subtree, or the source is the whole mailbox): each pass would copy the copies again.
 * Refused when the job is created; nothing was done.
 */
export const JobTargetInSource = createError<[string]>(
  'MBG_ERR_JOB_TARGET_IN_SOURCE',
  'The job\'s target lies in its own source: %s',
  422
)
/**
 * The client has as many jobs that are not over (queued, running, paused, or scheduled between passes) as it may
 * have (MAX_ACTIVE_JOBS_PER_CLIENT): nothing was done. 409: it conflicts with the state of the client's jobs, not
 * with a rate (another try helps once some of them are over or canceled).
 */
export const JobLimit = createError<[string]>('MBG_ERR_JOB_LIMIT', 'Too many active jobs: %s', 409)

// Upstream
export const UpstreamThrottled = createError<[string]>(
  'MBG_ERR_UPSTREAM_THROTTLED',
  'The backend is throttling requests: %s',
  503
)
export const UpstreamUnavailable = createError<[string]>(
  'MBG_ERR_UPSTREAM_UNAVAILABLE',
  'The backend is unavailable: %s',
  503
)
export const UpstreamTimeout = createError<[string]>(
  'MBG_ERR_UPSTREAM_TIMEOUT',
  'The backend did not answer in time: %s',
  504
)
export const UpstreamBadResponse = createError<[string]>(
  'MBG_ERR_UPSTREAM_BAD_RESPONSE',
  'The backend answered in a way the gateway does not understand: %s',
  502
)
export const UpstreamAuth = createError<[string]>(
  'MBG_ERR_UPSTREAM_AUTH',
  "The backend rejected the gateway's credentials: %s",
  502
)
export const UpstreamRejected = createError<[string]>(
  'MBG_ERR_UPSTREAM_REJECTED',
  'The backend rejected the request: %s',
  502
)
/**
 * The gateway cannot work with a backend as configured: a certificate it does not trust, an import
 * host it refuses, credentials the backend or identity platform rejects. Not retryable; the message
 * names the setting to fix (src/upstream/misconfiguration.ts).
 */
export const BackendMisconfigured = createError<[string]>(
  'MBG_ERR_BACKEND_MISCONFIGURED', 'Backend configuration problem: %s', 502)

/**
 * A write whose outcome is unknown: it was sent, and the answer was lost (connection reset, timeout,
 * truncated or unreadable answer, a 5xx after the request went out). The backend may or may not
 * have acted. Never retried blindly by the gateway; a caller should check (or replay with the same
 * Idempotency-Key) before sending it again.
 */
export const OutcomeUnknown = createError<[string]>(
  'MBG_ERR_OUTCOME_UNKNOWN',
  'The backend may or may not have done this; check before retrying: %s',
  502
)

// The gateway itself
export const Overloaded = createError<[string]>('MBG_ERR_OVERLOADED', 'The gateway is overloaded: %s', 503)
/** The gateway is shutting down: work not started is reported as not done (retry elsewhere or later). */
export const ShuttingDown = createError<[string]>('MBG_ERR_SHUTTING_DOWN', 'The gateway is shutting down: %s', 503)
/** Readiness (GET /health/ready): a backend check failed or has not finished yet. */
export const NotReady = createError<[string]>('MBG_ERR_NOT_READY', 'The gateway is not ready: %s', 503)

// Configuration and internals
export const ConfigInvalid = createError<[string]>('MBG_ERR_CONFIG_INVALID', 'Invalid configuration: %s', 500)
export const Internal = createError('MBG_ERR_INTERNAL', 'Internal error', 500)

/** All constructors, keyed by code (used by the docs check and by ItemError mapping). */
export const ALL_ERRORS: Record<string, FastifyErrorConstructor> = Object.fromEntries(
  [
    BadRequest,
    IdMalformed,
    ChangeKeyInvalid,
    UnsupportedMediaType,
    NotAcceptable,
    RouteNotFound,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    Unauthenticated,
    InsufficientScope,
    MailboxForbidden,
    RateLimited,
    MailboxNotFound,
    MailboxExists,
    MailboxConfigured,
    BackendUnknown,
    FolderNotFound,
    ItemNotFound,
    FolderExists,
    FolderProtected,
    ChangeKeyConflict,
    AccessDenied,
    DataInvalid,
    DataIncompatible,
    NotSupported,
    TooLarge,
    QuotaExceeded,
    CursorExpired,
    JobNotFound,
    JobStateConflict,
    JobTargetInSource,
    JobLimit,
    UpstreamThrottled,
    UpstreamUnavailable,
    UpstreamTimeout,
    UpstreamBadResponse,
    UpstreamAuth,
    UpstreamRejected,
    BackendMisconfigured,
    OutcomeUnknown,
    Overloaded,
    ShuttingDown,
    NotReady,
    ConfigInvalid,
    Internal
  ].map((ctor) => [new (ctor as new (...args: unknown[]) => { code: string })('x', 'y').code, ctor])
)

export function isGatewayError (error: unknown): error is GatewayError {
  return error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    ((error as unknown) as { code: string }).code.startsWith('MBG_ERR_') &&
    typeof (error as { statusCode?: unknown }).statusCode === 'number'
}

/** Codes whose failure says nothing about the item itself: the same request later may succeed. */
const TRANSIENT_CODES = new Set([
  'MBG_ERR_UPSTREAM_THROTTLED', 'MBG_ERR_UPSTREAM_UNAVAILABLE', 'MBG_ERR_UPSTREAM_TIMEOUT',
  'MBG_ERR_OVERLOADED', 'MBG_ERR_SHUTTING_DOWN'
])

/**
 * Whether sending the same thing again (later) can succeed: true for throttling, an unavailable
 * or slow backend, an overloaded or stopping gateway; false for what the caller or the item must
 * change first, and for MBG_ERR_OUTCOME_UNKNOWN (it may already be done: check first). An error
 * annotated with `retryable` says so itself (e.g. a backend 500 that names a corrupt item).
 */
export function isRetryable (error: unknown): boolean {
  if (!isGatewayError(error)) return false
  if (error.retryable !== undefined) return error.retryable
  return TRANSIENT_CODES.has(error.code)
}

/** Turns a thrown error into a per-item error for batch results. */
export function toItemError (error: unknown): {
  code: string
  status: number
  message: string
  retryable: boolean
  upstreamCode?: string
  retryAfter?: number
} {
  if (isGatewayError(error)) {
    return {
      code: error.code,
      status: error.statusCode ?? 500,
      message: error.message,
      retryable: isRetryable(error),
      ...(error.upstreamCode !== undefined ? { upstreamCode: error.upstreamCode } : {}),
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {})
    }
  }
  return { code: 'MBG_ERR_INTERNAL', status: 500, message: 'Internal error', retryable: false }
}
