/**
 * Opaque page cursors over Graph's @odata.nextLink.
 *
 * A cursor is base64url JSON holding the path+query of the nextLink (never the
 * origin: the bearer token only ever goes to the configured Graph origin) and the
 * listing it belongs to. Cursors come back from callers, so they are untrusted: even
 * though the gateway seals page tokens at the route level, `readCursor` checks that
 * the link is exactly the listing it was issued for (defence in depth).
 */
import { BadRequest, UpstreamBadResponse, type GatewayError } from '../../errors.js'
import { annotate } from '../../upstream/errors.js'
import { redactUrl } from '../../redact.js'

export interface CursorPayload {
  /** Format version. */
  v: 1
  /** The listing the cursor continues, e.g. `folders`, `children:<id>`, `items:<id>`. */
  s: string
  /** Path and query of Graph's nextLink, verbatim. */
  p: string
}

export function encodeCursor (payload: CursorPayload): string {
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): CursorPayload {
  if (!/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) throw new BadRequest('Invalid cursor')
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new BadRequest('Invalid cursor')
  }
  const c = parsed as Partial<CursorPayload> | null
  if (c === null || typeof c !== 'object' || c.v !== 1 || typeof c.s !== 'string' || typeof c.p !== 'string') {
    throw new BadRequest('Invalid cursor')
  }
  return { v: 1, s: c.s, p: c.p }
}

/** Turns a nextLink into a cursor; the link must be on the Graph origin (we never re-host a link). */
export function cursorFromNextLink (nextLink: string, graphOrigin: string, scope: string): string {
  let url: URL
  try {
    url = new URL(nextLink, graphOrigin)
  } catch {
    throw new UpstreamBadResponse(`unparseable @odata.nextLink ${redactUrl(nextLink)}`)
  }
  if (url.origin !== graphOrigin) {
    throw new UpstreamBadResponse(`@odata.nextLink leaves the Graph origin: ${redactUrl(url)}`)
  }
  return encodeCursor({ v: 1, s: scope, p: `${url.pathname}${url.search}` })
}

/**
 * One segment of a collection path: fixed names (and well-known folder names) match case-insensitively,
 * ids exactly.
 */
export type PathPart = { name: string } | { id: string }

/** Where a cursor may lead: the listing it was issued for, as Graph addresses it. */
export interface CursorScope {
  graphOrigin: string
  version: string
  /** The mailbox, plus auxiliary archives Graph itself redirected us to. */
  mailboxIds: Iterable<string>
  /** Label of the listing (`tree`, `children:<id>`, `items:<seg>`), stored in the cursor. */
  scope: string
}

export interface CursorTarget extends CursorScope {
  /** Accepted spellings of the collection path below the mailbox, e.g. `folders/{id}/items`. */
  collections: PathPart[][]
}

/** A cursor checked up to the mailbox: its absolute URL and the decoded collection path below the mailbox. */
export interface OpenedCursor {
  url: string
  /** Decoded segments after `mailboxes/{mbx}`, OData key segments expanded (`folders('X')` → folders, X). */
  collection: string[]
}

/** Decodes a path segment; undefined when it is not valid percent-encoding. */
function decodeSegment (segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Splits an OData key segment `name('key')` into [name, key] ('' escapes a quote); other segments stay whole. */
function expandKey (segment: string): string[] {
  const key = /^([^(]+)\('(.*)'\)$/.exec(segment)
  return key !== null ? [key[1], key[2].replace(/''/g, "'")] : [segment]
}

/** The decoded segments after `/{ver}/admin/exchange/`, key segments expanded; undefined if any is unusable. */
function pathAfterExchange (segments: string[]): string[] | undefined {
  const out: string[] = []
  for (const raw of segments) {
    const decoded = decodeSegment(raw)
    // An empty or dot segment never belongs to a listing Graph handed out. A '/' may (ids in standard
    // base64, sent as %2F), but never one that turns into a dot segment or a backslash path.
    if (decoded === undefined || decoded === '' || decoded.includes('\\')) return undefined
    if (decoded.split('/').some((p) => p === '.' || p === '..')) return undefined
    out.push(...expandKey(decoded))
  }
  return out
}

/** True when a decoded collection path is exactly `collection`. */
export function matchesCollection (path: string[], collection: PathPart[]): boolean {
  return path.length === collection.length && collection.every((part, i) =>
    'id' in part ? path[i] === part.id : path[i].toLowerCase() === part.name.toLowerCase())
}

/**
 * Decodes a caller's cursor and checks everything but the collection: same listing label
 * (`scope`), a path on the Graph origin under `/{version}/admin/exchange/mailboxes/{mbx}/`
 * for one of `mailboxIds`. Callers then check `collection` (readCursor does both).
 */
export function openCursor (cursor: string, target: CursorScope): OpenedCursor {
  const c = decodeCursor(cursor)
  if (c.s !== target.scope) throw new BadRequest('The cursor belongs to a different listing')
  // Only a path is acceptable: `//host/...` or `https:...` would change the origin.
  if (!c.p.startsWith('/') || c.p.startsWith('//') || c.p.includes('\\')) throw new BadRequest('Invalid cursor')
  let url: URL
  try {
    url = new URL(c.p, target.graphOrigin)
  } catch {
    throw new BadRequest('Invalid cursor')
  }
  if (url.origin !== target.graphOrigin) throw new BadRequest('Invalid cursor')
  const segments = url.pathname.split('/')
  // ['', ver, 'admin', 'exchange', 'mailboxes', mbx, ...rest]
  // or ['', ver, 'admin', 'exchange', "mailboxes('mbx')", ...rest]
  const ver = segments[1]?.toLowerCase()
  const fixed = segments.slice(2, 4).map((s) => s.toLowerCase()).join('/')
  const path = pathAfterExchange(segments.slice(4))
  const allowed = new Set([...target.mailboxIds].map((m) => m.toLowerCase()))
  if (ver !== target.version.toLowerCase() || fixed !== 'admin/exchange' || path === undefined ||
      path[0]?.toLowerCase() !== 'mailboxes' || path[1] === undefined || !allowed.has(path[1].toLowerCase())) {
    throw new BadRequest('The cursor does not belong to this mailbox')
  }
  return { url: url.toString(), collection: path.slice(2) }
}

/** The cursor does not address the listing it claims to continue. */
export const wrongListing = (): Error => new BadRequest('The cursor does not continue this listing')

/**
 * Resolves a caller's cursor to an absolute URL on the Graph origin (see openCursor), at
 * exactly one of the listing's `collections`: a cursor issued for the items of one folder
 * can neither list another folder's items nor the folders themselves.
 */
export function readCursor (cursor: string, target: CursorTarget): string {
  const opened = openCursor(cursor, target)
  if (!target.collections.some((collection) => matchesCollection(opened.collection, collection))) throw wrongListing()
  return opened.url
}

/**
 * Cursor errors worth turning into 400s: the upstream refused the link itself, not the caller's rights or
 * the service.
 */
const CURSOR_REFUSALS = new Set(['MBG_ERR_UPSTREAM_REJECTED', 'MBG_ERR_ID_MALFORMED', 'MBG_ERR_BAD_REQUEST'])

/**
 * Maps the failure of a request that followed a caller's cursor: Graph refusing the link
 * (a bad or expired $skiptoken answers 400 or 410) is the caller's stale or damaged cursor,
 * so it is a 400 MBG_ERR_BAD_REQUEST rather than a 502. Throttling, outages, auth, access
 * and a folder that has meanwhile disappeared pass through unchanged.
 */
export function cursorFailure (err: unknown): unknown {
  if (!(err instanceof Error)) return err
  const e = err as GatewayError
  if (!CURSOR_REFUSALS.has(String(e.code))) return err
  return annotate(new BadRequest(`The cursor is no longer valid; restart the listing (${e.message.slice(0, 200)})`), {
    upstreamCode: e.upstreamCode,
    upstreamRequestId: e.upstreamRequestId
  })
}
