/**
 * Opaque page cursors over Graph's @odata.nextLink.
 *
 * A cursor is base64url JSON holding the path+query of the nextLink (never the
 * origin: the bearer token only ever goes to the configured Graph origin) and the
 * listing it belongs to. Cursors come back from callers, so they are untrusted:
 * `readCursor` checks that the link stays under the mailbox it was issued for.
 */
import { BadRequest, UpstreamBadResponse } from '../../errors.js'
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
  if (url.origin !== graphOrigin) throw new UpstreamBadResponse(`@odata.nextLink leaves the Graph origin: ${redactUrl(url)}`)
  return encodeCursor({ v: 1, s: scope, p: `${url.pathname}${url.search}` })
}

function decodeSegment (segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Strips the OData key form `mailboxes('MBX:..')` down to the bare id. */
function mailboxFromSegment (segment: string): string {
  const decoded = decodeSegment(segment)
  const key = /^mailboxes\('(.+)'\)$/i.exec(decoded)
  return key !== null ? key[1] : decoded
}

/**
 * Resolves a caller's cursor to an absolute URL on the Graph origin, checking that it
 * continues the same listing (`scope`) and stays under `/{version}/admin/exchange/mailboxes/{mbx}/`
 * for one of `mailboxIds` (the mailbox, plus auxiliary archives Graph itself redirected us to).
 */
export function readCursor (cursor: string, options: { graphOrigin: string, version: string, mailboxIds: Iterable<string>, scope: string }): string {
  const c = decodeCursor(cursor)
  if (c.s !== options.scope) throw new BadRequest('The cursor belongs to a different listing')
  // Only a path is acceptable: `//host/...` or `https:...` would change the origin.
  if (!c.p.startsWith('/') || c.p.startsWith('//') || c.p.includes('\\')) throw new BadRequest('Invalid cursor')
  const url = new URL(c.p, options.graphOrigin)
  if (url.origin !== options.graphOrigin) throw new BadRequest('Invalid cursor')
  const segments = url.pathname.split('/')
  // ['', ver, 'admin', 'exchange', 'mailboxes', mbx, ...] or ['', ver, 'admin', 'exchange', "mailboxes('mbx')", ...]
  const allowed = new Set([...options.mailboxIds].map((m) => m.toLowerCase()))
  const ver = segments[1]?.toLowerCase()
  const fixed = segments.slice(2, 4).map((s) => s.toLowerCase()).join('/')
  let mbx: string | undefined
  let rest: string[]
  if (segments[4]?.toLowerCase() === 'mailboxes') {
    mbx = segments[5] !== undefined ? decodeSegment(segments[5]) : undefined
    rest = segments.slice(6)
  } else {
    mbx = segments[4] !== undefined ? mailboxFromSegment(segments[4]) : undefined
    rest = segments.slice(5)
  }
  if (ver !== options.version.toLowerCase() || fixed !== 'admin/exchange' || mbx === undefined ||
      !allowed.has(mbx.toLowerCase()) || rest.length === 0 || rest[0] === '' ||
      rest.some((s) => s === '..' || s === '.' || decodeSegment(s).includes('/'))) {
    throw new BadRequest('The cursor does not belong to this mailbox')
  }
  return url.toString()
}
