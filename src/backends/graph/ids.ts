/**
 * Public ids of the Graph adapter, and Graph ids in URL paths.
 *
 * Graph documents its mailbox ids as URL-safe base64 (`AAMkAG...`, `-` and `_`, '=' padding), but
 * several Graph APIs hand out standard base64 ('+', '/'), and ids are opaque: a server may use any
 * characters. The port speaks ids a caller can put in a URL path as they are (protocol brief §2):
 *
 *   URL-safe already ([A-Za-z0-9_=-])         → unchanged, so ids handed out so far keep working
 *   standard base64 alphabet ([A-Za-z0-9+/=]) → '~' + the id with '+' → '-' and '/' → '_'
 *   anything else                             → '~~' + base64url(UTF-8 of the id)
 *
 * '~' (RFC 3986 unreserved) belongs to neither alphabet, so the three forms never collide, and
 * fromPublicId accepts exactly the strings toPublicId produces. '=' is an RFC 3986 `pchar`: it
 * needs no encoding in a path segment.
 */
import { IdMalformed, UpstreamBadResponse } from '../../errors.js'

const URL_SAFE = /^[A-Za-z0-9_=-]+$/
const STANDARD = /^[A-Za-z0-9+/=]+$/
const B64URL = /^[A-Za-z0-9_-]+$/
/** What Graph takes for a well-known folder name in a path (mailFolder docs: letters only, e.g. `msgfolderroot`). */
const WELL_KNOWN_SHAPE = /^[A-Za-z]{1,64}$/
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Longest Graph id the adapter handles (Graph's long `AAMkAG...` ids are about 150 characters). */
export const MAX_GRAPH_ID = 1024

/**
 * Whether a Graph id can be used at all: 1–1024 characters, no control characters or backslash,
 * and no '.' or '..' between slashes (a server that decodes %2F could read those as dot segments
 * and leave the path the id was put into). Base64 ids, standard or URL-safe, always qualify.
 */
export function isUsableGraphId (id: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (id.length === 0 || id.length > MAX_GRAPH_ID || /[\u0000-\u001f\u007f\\]/.test(id)) return false
  if (id.split('/').some((part) => part === '.' || part === '..')) return false
  try {
    encodeURIComponent(id)
  } catch {
    return false // a lone surrogate: not text, cannot be put in a URL
  }
  return true
}

/** The public id of a Graph id (see the module comment). */
export function toPublicId (graphId: string): string {
  if (URL_SAFE.test(graphId)) return graphId
  if (STANDARD.test(graphId)) return '~' + graphId.replace(/\+/g, '-').replace(/\//g, '_')
  return '~~' + Buffer.from(graphId, 'utf8').toString('base64url')
}

/** A Graph id from upstream as a public id; throws MBG_ERR_UPSTREAM_BAD_RESPONSE (502) for an unusable one. */
export function publicIdOf (graphId: unknown, what: string): string {
  if (typeof graphId !== 'string' || !isUsableGraphId(graphId)) {
    throw new UpstreamBadResponse(`${what} without a usable id`)
  }
  return toPublicId(graphId)
}

/** Reverses toPublicId; undefined for anything toPublicId cannot have produced. */
export function tryFromPublicId (publicId: string): string | undefined {
  if (publicId.length === 0 || publicId.length > 2 * MAX_GRAPH_ID) return undefined
  let graphId: string
  if (publicId.startsWith('~~')) {
    const body = publicId.slice(2)
    if (!B64URL.test(body) || body.length % 4 === 1) return undefined
    try {
      graphId = UTF8.decode(Buffer.from(body, 'base64url'))
    } catch {
      return undefined
    }
  } else if (publicId.startsWith('~')) {
    const body = publicId.slice(1)
    if (!URL_SAFE.test(body)) return undefined
    graphId = body.replace(/-/g, '+').replace(/_/g, '/')
  } else {
    graphId = publicId
  }
  // Graph reads a path segment of letters only as a well-known folder name (msgfolderroot,
  // recoverableitemsdeletions, ...): callers name well-known folders through the gateway's own list,
  // never by passing Graph's names as ids. Graph ids are long base64 strings, never letters alone.
  if (WELL_KNOWN_SHAPE.test(graphId)) return undefined
  // Strict: only the exact string toPublicId would produce (and only ids the adapter can use).
  return isUsableGraphId(graphId) && toPublicId(graphId) === publicId ? graphId : undefined
}

/** Reverses toPublicId; throws MBG_ERR_ID_MALFORMED (400) for anything toPublicId cannot have produced. */
export function fromPublicId (publicId: string): string {
  const graphId = tryFromPublicId(publicId)
  if (graphId === undefined) throw new IdMalformed(publicId.length > 100 ? `${publicId.slice(0, 100)}…` : publicId)
  return graphId
}

/**
 * A Graph id (or well-known name) as one URL path segment: characters outside RFC 3986 `pchar`
 * percent-encoded ('/' of standard base64 among them), URL-safe ids unchanged.
 */
export function pathSegment (value: string): string {
  return value.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, (c) => encodeURIComponent(c))
}

/**
 * The change key in an `@odata.etag` (`W/"<changeKey>"`, protocol brief §2), for answers that carry
 * it only there; undefined when the value is not an entity tag.
 */
export function changeKeyFromEtag (etag: unknown): string | undefined {
  if (typeof etag !== 'string') return undefined
  const m = /^(?:W\/)?"([^"]+)"$/.exec(etag.trim())
  return m?.[1]
}
