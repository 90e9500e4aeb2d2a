/**
 * Graph (and import endpoint) responses → MBG_ERR_* errors, annotated for the retry policy.
 *
 * Mapping is by HTTP status first and Graph error code second (protocol brief §8),
 * because generic Graph codes (`ResourceNotFound`, `Forbidden`) and Exchange codes
 * (`ErrorItemNotFound`, ...) both occur for the same situation.
 */
import {
  AccessDenied,
  BadRequest,
  ChangeKeyConflict,
  ChangeKeyInvalid,
  DataInvalid,
  FolderExists,
  FolderNotFound,
  FolderProtected,
  IdMalformed,
  ItemNotFound,
  MailboxNotFound,
  QuotaExceeded,
  TooLarge,
  UpstreamAuth,
  UpstreamBadResponse,
  UpstreamRejected,
  UpstreamThrottled,
  UpstreamUnavailable,
  withExtras,
  type GatewayError
} from '../../errors.js'
import type { RetryHint } from '../policy.js'

export type Annotated = GatewayError & { retry?: RetryHint, retryAfterMs?: number }

/** What a failed call was about, so a 404 can name the right thing. */
export type Subject =
  | { kind: 'mailbox', ref: string }
  | { kind: 'folder', ref: string, /** Name of a folder being created or renamed (for FOLDER_EXISTS). */ name?: string }
  | { kind: 'item', ref: string }
  | { kind: 'other', ref: string }

export interface UpstreamError {
  code?: string
  message?: string
  requestId?: string
}

type Headers = Record<string, string | string[] | undefined>

function header (headers: Headers, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** Reads a key of an object case-insensitively (`error` vs `Error`, `message` vs `Message`). */
export function getCi (obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined
  const rec = obj as Record<string, unknown>
  if (key in rec) return rec[key]
  const lower = key.toLowerCase()
  for (const k of Object.keys(rec)) if (k.toLowerCase() === lower) return rec[k]
  return undefined
}

const str = (v: unknown): string | undefined => typeof v === 'string' && v.length > 0 ? v : undefined

/**
 * Parses a Graph error body ({"error":{code,message,innerError}}) or the import
 * endpoint's looser shapes ({"Message": ...}, plain text, empty) without throwing.
 */
export function parseUpstreamError (bodyText: string, headers: Headers): UpstreamError {
  let parsed: unknown
  try {
    parsed = bodyText.length > 0 ? JSON.parse(bodyText) : undefined
  } catch {
    parsed = undefined
  }
  const err = getCi(parsed, 'error')
  const inner = getCi(err, 'innerError')
  const code = str(getCi(err, 'code'))
  const message = str(getCi(err, 'message')) ?? str(getCi(parsed, 'message')) ??
    (parsed === undefined && bodyText.length > 0 && bodyText.length < 500 ? bodyText.trim() : undefined)
  const requestId = str(getCi(inner, 'request-id')) ?? header(headers, 'request-id')
  return {
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(requestId !== undefined ? { requestId } : {})
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

function annotate (error: GatewayError, upstream: UpstreamError,
  extra: { retry?: RetryHint, retryAfterMs?: number } = {}): Annotated {
  const withUp = withExtras(error, {
    ...(upstream.code !== undefined ? { upstreamCode: upstream.code } : {}),
    ...(upstream.requestId !== undefined ? { upstreamRequestId: upstream.requestId } : {}),
    ...(extra.retryAfterMs !== undefined ? { retryAfter: Math.max(1, Math.ceil(extra.retryAfterMs / 1000)) } : {})
  }) as Annotated
  if (extra.retry !== undefined) withUp.retry = extra.retry
  if (extra.retryAfterMs !== undefined) withUp.retryAfterMs = extra.retryAfterMs
  return withUp
}

function describe (status: number, upstream: UpstreamError): string {
  return `HTTP ${status}${upstream.code !== undefined ? ` ${upstream.code}` : ''}${upstream.message !== undefined ? `: ${upstream.message.slice(0, 300)}` : ''}`
}

const PROTECTED_CODES = /Distinguished|CannotDelete|CannotRename|Protected/i
const NOT_FOUND_CODES = /NotFound|InvalidUser|MailboxNotEnabled/i
const MALFORMED_CODES = /Malformed|InvalidId|InvalidMailboxItemId/i

/** Status-level errors every call shares (throttling, outages, auth). Undefined when the status is call-specific. */
function commonError (status: number, upstream: UpstreamError, headers: Headers): Annotated | undefined {
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'))
  const text = describe(status, upstream)
  const ra = retryAfterMs !== undefined ? { retryAfterMs } : {}
  if (status === 429) return annotate(new UpstreamThrottled(text), upstream, { retry: 'safe', ...ra })
  if (status === 503) return annotate(new UpstreamUnavailable(text), upstream, { retry: 'safe', ...ra })
  if (status >= 500) return annotate(new UpstreamUnavailable(text), upstream, { retry: 'idempotent', ...ra })
  if (status === 401) return annotate(new UpstreamAuth(text), upstream)
  if (status === 403) return annotate(new AccessDenied(text), upstream)
  if (status === 413) return annotate(new TooLarge(text), upstream)
  return undefined
}

/** Maps a failed Graph response (graph.microsoft.com) to a gateway error. */
export function graphError (status: number, bodyText: string, headers: Headers, subject: Subject): Annotated {
  const upstream = parseUpstreamError(bodyText, headers)
  const code = upstream.code ?? ''
  // Exchange answers 403 ErrorDeleteDistinguishedFolder for well-known folders: not an access problem.
  if (status >= 400 && status < 500 && PROTECTED_CODES.test(code)) {
    return annotate(new FolderProtected(subject.ref), upstream)
  }
  const common = commonError(status, upstream, headers)
  if (common !== undefined) return common
  const text = describe(status, upstream)
  if (status === 404 || (status === 400 && NOT_FOUND_CODES.test(code) && !MALFORMED_CODES.test(code))) {
    if (subject.kind === 'mailbox') return annotate(new MailboxNotFound(subject.ref), upstream)
    if (subject.kind === 'folder') return annotate(new FolderNotFound(subject.ref), upstream)
    if (subject.kind === 'item') return annotate(new ItemNotFound(subject.ref), upstream)
    return annotate(new UpstreamRejected(text), upstream)
  }
  if (status === 409 || /FolderExists|DuplicateFolder/i.test(code)) {
    if (/FolderExists|DuplicateFolder/i.test(code) || subject.kind === 'folder') {
      return annotate(new FolderExists(subject.kind === 'folder' ? subject.name ?? subject.ref : subject.ref), upstream)
    }
    return annotate(new UpstreamRejected(text), upstream)
  }
  if (status === 400 && MALFORMED_CODES.test(code)) return annotate(new IdMalformed(subject.ref), upstream)
  if (/QuotaExceeded/i.test(code)) return annotate(new QuotaExceeded(text), upstream)
  if (status >= 400 && status < 500) return annotate(new UpstreamRejected(text), upstream)
  return annotate(new UpstreamBadResponse(text), upstream)
}

const MENTIONS_ITEM = /\bitem ?id\b|\bitem\b/i
const MENTIONS_CHANGE_KEY = /change ?key/i
const MALFORMED_TEXT = /malformed|not a valid (item |folder )?id\b|invalid (item |folder )?id\b/i
const NOT_FOUND_TEXT = /not (be )?found|does not exist|doesn't exist|no such/i
const STALE_TEXT = /stale|current|changed|conflict|version|out of date|outdated/i

/** What an import POST was about, so each failure names the right thing. */
export interface ImportSubject {
  /** The item being updated (update mode). */
  itemId?: string
  folderId: string
}

/**
 * Maps a failed POST to the import endpoint (outlook.office365.com, not Graph).
 * Its bodies are `{"Message": ...}` or empty, so beyond the status the message text
 * is all there is to go on: the phrases are matched loosely, because Exchange's
 * wording is not documented, and checked in an order where the more specific
 * reading wins (a missing item is "not found" even though the message names the folder).
 */
export function importError (status: number, bodyText: string, headers: Headers,
  subject: ImportSubject | string): Annotated {
  const { itemId, folderId } = typeof subject === 'string' ? { itemId: subject, folderId: subject } : subject
  const ref = itemId ?? folderId
  const upstream = parseUpstreamError(bodyText, headers)
  const common = commonError(status, upstream, headers)
  if (common !== undefined) return common
  const message = upstream.message ?? ''
  const code = upstream.code ?? ''
  const text = describe(status, upstream)
  // Order matters: a corrupt-stream message may quote parser details that mention versions or keys.
  if (/corrupt|not a valid (item )?stream|not valid base64|produced by an export|'Data'/i.test(message) ||
    /Corrupt|InvalidData/i.test(code)) {
    return annotate(
      new DataInvalid(message.length > 0 ? message.slice(0, 200) : 'rejected by the import endpoint'),
      upstream
    )
  }
  if (MALFORMED_TEXT.test(message) || (status === 400 && MALFORMED_CODES.test(code))) {
    // "The ChangeKey is malformed." is about the key, not the id.
    if (MENTIONS_CHANGE_KEY.test(message) && !/item ?id|folder ?id|\bid is\b/i.test(message)) {
      return annotate(new ChangeKeyInvalid(ref), upstream)
    }
    return annotate(new IdMalformed(/folder/i.test(message) && !MENTIONS_ITEM.test(message) ? folderId : ref), upstream)
  }
  if (NOT_FOUND_TEXT.test(message)) {
    // "The item ... was not found in the target folder" is a missing item; a message naming only the folder, a missing
    // folder.
    if (itemId !== undefined && MENTIONS_ITEM.test(message)) return annotate(new ItemNotFound(itemId), upstream)
    if (/folder/i.test(message)) return annotate(new FolderNotFound(folderId), upstream)
    return annotate(new ItemNotFound(ref), upstream)
  }
  // A 409 about the change key, any message calling the version stale, or a conflict code.
  // The documented wording ("the ItemId+ChangeKey pair does not match") is ambiguous; it is read as a
  // conflict because that is the safe answer: a client re-reads the item, where "not found" could make it
  // create a duplicate.
  if ((MENTIONS_CHANGE_KEY.test(message) && (status === 409 || STALE_TEXT.test(message) || /match/i.test(message))) ||
    /ChangeKey|Conflict/i.test(code)) {
    return annotate(new ChangeKeyConflict(ref), upstream)
  }
  if (status === 404) {
    return annotate(itemId !== undefined ? new ItemNotFound(itemId) : new FolderNotFound(folderId), upstream)
  }
  if (/quota/i.test(message)) return annotate(new QuotaExceeded(text), upstream)
  if (status === 400) return annotate(new BadRequest(text), upstream)
  if (status >= 400 && status < 500) return annotate(new UpstreamRejected(text), upstream)
  return annotate(new UpstreamBadResponse(text), upstream)
}

/** Per-item export error codes (exportItemResponse.error.code) → gateway error. */
export function exportItemError (code: string, message: string, itemId: string): Annotated {
  const upstream: UpstreamError = { code, message }
  if (/ItemNotFound|ObjectNotFound|InvalidMailboxItemId|NotFound/i.test(code)) {
    return annotate(new ItemNotFound(itemId), upstream)
  }
  if (MALFORMED_CODES.test(code)) return annotate(new IdMalformed(itemId), upstream)
  if (/AccessDenied|Forbidden/i.test(code)) return annotate(new AccessDenied(`item ${itemId}`), upstream)
  if (/Throttl|ServerBusy|TooMany/i.test(code)) {
    return annotate(new UpstreamThrottled(`${code} for item ${itemId}`), upstream)
  }
  return annotate(new UpstreamRejected(`${code} for item ${itemId}: ${message.slice(0, 200)}`), upstream)
}
