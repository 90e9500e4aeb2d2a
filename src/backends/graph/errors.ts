/**
 * Graph (and import endpoint) responses → MBG_ERR_* errors, annotated for the retry policy.
 *
 * Mapping is by HTTP status first and Graph error code second (protocol brief §8),
 * because generic Graph codes (`ResourceNotFound`, `Forbidden`) and Exchange codes
 * (`ErrorItemNotFound`, ...) both occur for the same situation. The rows are `GRAPH_RULES`.
 *
 * Errors name the right party: a 4xx only when the caller's input caused it. Where the refused
 * value came from is the subject's `from` (see `Source`): a well-known folder the caller chose but
 * the gateway spelled (in the path, or resolved to an id) refused as malformed is the backend's
 * fault (502), as is anything about the root or a mailbox id the gateway found on its own.
 * README.md ("Backend error codes") lists the mapping; keep them in step.
 */
import {
  AccessDenied, ChangeKeyConflict, CursorExpired, ChangeKeyInvalid, DataInvalid, FolderExists, FolderNotFound,
  FolderProtected,
  IdMalformed, ItemNotFound, MailboxNotFound, QuotaExceeded, TooLarge, UpstreamAuth, UpstreamBadResponse,
  UpstreamRejected, UpstreamThrottled, UpstreamUnavailable, type GatewayError
} from '../../errors.js'
import { annotate, parseRetryAfter, type UpstreamDetails } from '../../upstream/errors.js'

/**
 * Where the id a call is about came from: the caller's own id or address; a well-known folder name the
 * caller chose, which the gateway put in the path or resolved to an id; or a value the gateway found
 * itself (the root folder, a mailbox's MBX id from discovery). Absent means the caller's.
 */
export type Source = 'caller' | 'wellKnown' | 'gateway'

/** What a failed call was about, so a 404 can name the right thing (and blame the right party). */
export type Subject =
  | { kind: 'mailbox', ref: string, from?: Source }
  | {
    kind: 'folder'
    ref: string
    /** Name of a folder being created or renamed (for FOLDER_EXISTS). */
    name?: string
    from?: Source
    /**
     * The call follows a delta link Graph issued (a $skiptoken or $deltatoken): Graph refusing the token
     * (`syncStateGone`) is then a 410 MBG_ERR_CURSOR_EXPIRED.
     */
    token?: boolean
  }
  | {
    kind: 'item'
    ref: string
    from?: Source
    /** Items the call carries (exportItems: up to 20); default 1. */
    count?: number
  }
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

/** The upstream code and request id of a parsed error body, for `annotate`. */
function up (upstream: UpstreamError): UpstreamDetails {
  return { upstreamCode: upstream.code, upstreamRequestId: upstream.requestId }
}

function describe (status: number, upstream: UpstreamError): string {
  return `HTTP ${status}${upstream.code !== undefined ? ` ${upstream.code}` : ''}${upstream.message !== undefined ? `: ${upstream.message.slice(0, 300)}` : ''}`
}

const PROTECTED_CODES = /Distinguished|CannotDelete|CannotRename|Protected/i
const NOT_FOUND_CODES = /NotFound|InvalidUser|MailboxNotEnabled/i
const MALFORMED_CODES = /Malformed|InvalidId|InvalidMailboxItemId/i

/** Status-level errors every call shares (throttling, outages, auth). Undefined when the status is call-specific. */
function commonError (status: number, upstream: UpstreamError, headers: Headers): GatewayError | undefined {
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'))
  const text = describe(status, upstream)
  const ra = retryAfterMs !== undefined ? { retryAfterMs } : {}
  if (status === 429) return annotate(new UpstreamThrottled(text), { ...up(upstream), retry: 'safe', ...ra })
  if (status === 503) return annotate(new UpstreamUnavailable(text), { ...up(upstream), retry: 'safe', ...ra })
  if (status >= 500) return annotate(new UpstreamUnavailable(text), { ...up(upstream), retry: 'idempotent', ...ra })
  if (status === 401) return annotate(new UpstreamAuth(text), up(upstream))
  if (status === 403) return annotate(new AccessDenied(text), up(upstream))
  if (status === 413) return annotate(new TooLarge(text), up(upstream))
  return undefined
}

/** What a GRAPH_RULES row answers; `NOT_FOUND` is the mailbox, folder or item not found, by the subject. */
type Answer = 'MBG_ERR_FOLDER_PROTECTED' | 'NOT_FOUND' | 'MBG_ERR_FOLDER_EXISTS' | 'MBG_ERR_ID_MALFORMED' |
  'MBG_ERR_QUOTA_EXCEEDED' | 'MBG_ERR_UPSTREAM_REJECTED' | 'MBG_ERR_UPSTREAM_BAD_RESPONSE'

/** One row of GRAPH_RULES: the first row whose `when` holds maps the failure. */
export interface GraphRule {
  when: (status: number, code: string) => boolean
  /** Whose value the failure complains about: the subject's id, the folder name, or nothing the caller sent. */
  blames: 'id' | 'name' | 'backend'
  /** The answer when that value is the caller's (for `backend` rows: always). */
  caller: Answer
  /** When it is a well-known folder the caller chose (default: as `gateway`). */
  wellKnown?: Answer
  /** When the gateway produced it (default: MBG_ERR_UPSTREAM_REJECTED). */
  gateway?: Answer
}

const FOLDER_EXISTS_CODES = /FolderExists|DuplicateFolder/i
const is4xx = (status: number): boolean => status >= 400 && status < 500

/**
 * Graph failures after the status-level ones every call shares (`commonError`: 429, 5xx, 401, 403, 413),
 * in order. Exchange answers 403 ErrorDeleteDistinguishedFolder for well-known folders, which is not an
 * access problem, so that row is checked before the common ones.
 */
export const GRAPH_RULES: GraphRule[] = [
  {
    when: (s, c) => is4xx(s) && PROTECTED_CODES.test(c),
    blames: 'id',
    caller: 'MBG_ERR_FOLDER_PROTECTED',
    wellKnown: 'MBG_ERR_FOLDER_PROTECTED'
  },
  {
    when: (s, c) => s === 404 || (s === 400 && NOT_FOUND_CODES.test(c) && !MALFORMED_CODES.test(c)),
    blames: 'id',
    caller: 'NOT_FOUND',
    wellKnown: 'NOT_FOUND'
  },
  { when: (s, c) => s === 409 || FOLDER_EXISTS_CODES.test(c), blames: 'name', caller: 'MBG_ERR_FOLDER_EXISTS' },
  { when: (s, c) => s === 400 && MALFORMED_CODES.test(c), blames: 'id', caller: 'MBG_ERR_ID_MALFORMED' },
  { when: (_s, c) => /QuotaExceeded/i.test(c), blames: 'backend', caller: 'MBG_ERR_QUOTA_EXCEEDED' },
  { when: (s) => is4xx(s), blames: 'backend', caller: 'MBG_ERR_UPSTREAM_REJECTED' },
  { when: () => true, blames: 'backend', caller: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' }
]

/** Whose value a row's failure blames for this subject. */
function sourceOf (rule: GraphRule, subject: Subject): Source {
  if (rule.blames === 'backend') return 'caller'
  if (rule.blames === 'name') return subject.kind === 'folder' && subject.name !== undefined ? 'caller' : 'gateway'
  return subject.kind === 'other' ? 'gateway' : subject.from ?? 'caller'
}

function answerFor (rule: GraphRule, subject: Subject): Answer {
  const source = sourceOf(rule, subject)
  if (source === 'caller') return rule.caller
  if (source === 'wellKnown' && rule.wellKnown !== undefined) return rule.wellKnown
  return rule.gateway ?? 'MBG_ERR_UPSTREAM_REJECTED'
}

function notFound (subject: Subject): GatewayError {
  switch (subject.kind) {
    case 'mailbox': return new MailboxNotFound(subject.ref)
    case 'folder': return new FolderNotFound(subject.ref)
    case 'item': return new ItemNotFound(subject.ref)
    case 'other': return new UpstreamRejected(subject.ref)
  }
}

/**
 * A 500 for a call about items (exportItems). `ErrorCorruptData` names an item the server cannot read:
 * the same request never succeeds (502, retryable false, not retried). For a call of several items,
 * any 500 may be one item's doing, and nothing was changed (exportItems only reads): annotated
 * `isolate` and not retried whole, so the service splits the batch (src/service/batches.ts); a call of
 * one item gets the usual retries of a 5xx. Undefined when the general mapping applies.
 */
function itemCallError (status: number, upstream: UpstreamError, subject: Subject): GatewayError | undefined {
  if (status !== 500 || subject.kind !== 'item') return undefined
  const several = (subject.count ?? 1) > 1
  const text = describe(status, upstream)
  if (upstream.code === 'ErrorCorruptData') {
    return annotate(new UpstreamRejected(text), { ...up(upstream), retryable: false, isolate: several })
  }
  return several ? annotate(new UpstreamUnavailable(text), { ...up(upstream), isolate: true }) : undefined
}

/** Codes Outlook delta APIs answer for a sync state they no longer hold, or never issued. */
const SYNC_STATE_CODES = /SyncState|resync|deltaToken|skipToken/i

/**
 * Whether Graph refused a delta or skip token: 410 Gone (any code: the sync state expired), or a 4xx whose code
 * names the sync state (`SyncStateNotFound`, `resyncRequired`, `ErrorInvalidSyncStateData`). Protocol brief §6:
 * not documented for the mailbox API; other Outlook deltas answer so.
 */
export function syncStateGone (status: number, code: string): boolean {
  return status === 410 || (is4xx(status) && status !== 429 && SYNC_STATE_CODES.test(code))
}

/** Maps a failed Graph response (graph.microsoft.com) to a gateway error by GRAPH_RULES and the subject. */
export function graphError (status: number, bodyText: string, headers: Headers, subject: Subject): GatewayError {
  const upstream = parseUpstreamError(bodyText, headers)
  const code = upstream.code ?? ''
  if (subject.kind === 'folder' && subject.token === true && syncStateGone(status, code)) {
    return annotate(new CursorExpired(describe(status, upstream)), up(upstream))
  }
  const itemCall = itemCallError(status, upstream, subject)
  if (itemCall !== undefined) return itemCall
  // The last row matches everything.
  const first = GRAPH_RULES.find((r) => r.when(status, code)) as GraphRule
  const common = first === GRAPH_RULES[0] ? undefined : commonError(status, upstream, headers)
  if (common !== undefined) return common
  const text = describe(status, upstream)
  let error: GatewayError
  switch (answerFor(first, subject)) {
    case 'MBG_ERR_FOLDER_PROTECTED': error = new FolderProtected(subject.ref); break
    case 'NOT_FOUND': error = notFound(subject); break
    case 'MBG_ERR_FOLDER_EXISTS':
      error = new FolderExists(subject.kind === 'folder' ? subject.name ?? subject.ref : subject.ref)
      break
    case 'MBG_ERR_ID_MALFORMED': error = new IdMalformed(subject.ref); break
    case 'MBG_ERR_QUOTA_EXCEEDED': error = new QuotaExceeded(text); break
    case 'MBG_ERR_UPSTREAM_REJECTED': error = new UpstreamRejected(text); break
    case 'MBG_ERR_UPSTREAM_BAD_RESPONSE': error = new UpstreamBadResponse(text); break
  }
  return annotate(error, up(upstream))
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
  /** The folder id sent. */
  folderId: string
  /** The folder as the caller named it (a well-known name, or the id itself); default `folderId`. */
  folderLabel?: string
  /** Where the folder id came from: a well-known name the gateway resolved, or the caller's id (default). */
  folderFrom?: Source
}

/**
 * Maps a failed POST to the import endpoint (outlook.office365.com, not Graph).
 * Its bodies are `{"Message": ...}` or empty, so beyond the status the message text
 * is all there is to go on: the phrases are matched loosely, because Exchange's
 * wording is not documented, and checked in an order where the more specific
 * reading wins (a missing item is "not found" even though the message names the folder).
 */
export function importError (status: number, bodyText: string, headers: Headers,
  subject: ImportSubject | string): GatewayError {
  const { itemId, folderId: sentFolderId, folderLabel, folderFrom } = typeof subject === 'string'
    ? { itemId: subject, folderId: subject, folderLabel: undefined, folderFrom: undefined }
    : subject
  const folderId = folderLabel ?? sentFolderId
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
      up(upstream)
    )
  }
  if (MALFORMED_TEXT.test(message) || (status === 400 && MALFORMED_CODES.test(code))) {
    // "The ChangeKey is malformed." is about the key, not the id.
    if (MENTIONS_CHANGE_KEY.test(message) &&
      !/item ?id|folder ?id|\bid is\b/i.test(message)) { return annotate(new ChangeKeyInvalid(`the one sent for item ${ref}`), up(upstream)) }
    const aboutFolder = itemId === undefined || (/folder/i.test(message) && !MENTIONS_ITEM.test(message))
    // The id of a well-known folder is the one the gateway resolved: refused, it is not the caller's fault.
    if (aboutFolder && folderFrom !== undefined && folderFrom !== 'caller') {
      return annotate(new UpstreamRejected(text), up(upstream))
    }
    return annotate(new IdMalformed(aboutFolder ? folderId : ref), up(upstream))
  }
  if (NOT_FOUND_TEXT.test(message)) {
    // "The item ... was not found in the target folder" is a missing item; a message naming only the folder,
    // a missing folder.
    if (itemId !== undefined && MENTIONS_ITEM.test(message)) return annotate(new ItemNotFound(itemId), up(upstream))
    if (/folder/i.test(message)) return annotate(new FolderNotFound(folderId), up(upstream))
    return annotate(new ItemNotFound(ref), up(upstream))
  }
  // A 409 about the change key, any message calling the version stale, or a conflict code.
  // The documented wording ("the ItemId+ChangeKey pair does not match") is ambiguous; it is read as a
  // conflict because that is the safe answer: a client re-reads the item, where "not found" could make it
  // create a duplicate.
  if ((MENTIONS_CHANGE_KEY.test(message) && (status === 409 || STALE_TEXT.test(message) || /match/i.test(message))) ||
    /ChangeKey|Conflict/i.test(code)) {
    return annotate(new ChangeKeyConflict(ref), up(upstream))
  }
  if (status === 404) {
    return annotate(itemId !== undefined ? new ItemNotFound(itemId) : new FolderNotFound(folderId),
      up(upstream))
  }
  if (/quota/i.test(message)) return annotate(new QuotaExceeded(text), up(upstream))
  // Any other refusal names nothing the caller sent (the gateway checks ids, mode and base64 first): not a 400.
  if (status >= 400 && status < 500) return annotate(new UpstreamRejected(text), up(upstream))
  return annotate(new UpstreamBadResponse(text), up(upstream))
}

/** Per-item export error codes (exportItemResponse.error.code) → gateway error. */
export function exportItemError (code: string, message: string, itemId: string): GatewayError {
  const upstream: UpstreamError = { code, message }
  if (/ItemNotFound|ObjectNotFound|InvalidMailboxItemId|NotFound/i.test(code)) { return annotate(new ItemNotFound(itemId), up(upstream)) }
  if (MALFORMED_CODES.test(code)) return annotate(new IdMalformed(itemId), up(upstream))
  if (/AccessDenied|Forbidden/i.test(code)) return annotate(new AccessDenied(`item ${itemId}`), up(upstream))
  if (/Throttl|ServerBusy|TooMany/i.test(code)) {
    return annotate(new UpstreamThrottled(`${code} for item ${itemId}`),
      up(upstream))
  }
  return annotate(new UpstreamRejected(`${code} for item ${itemId}: ${message.slice(0, 200)}`), up(upstream))
}
