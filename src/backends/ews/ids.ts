/**
 * Public ids. EWS ids are standard base64 ('+', '/', '=') and must not reach URLs
 * as-is; the port speaks URL-safe ids that the adapter can reverse exactly.
 *
 *   canonical base64 (length % 4 == 0, [A-Za-z0-9+/], '=' padding only at the end)
 *       → base64url without padding (a pure character mapping, so any such string round-trips)
 *   anything else (EWS ids are opaque; a server may hand out other shapes)
 *       → '~' + base64url(utf8)
 *
 * '~' is not a base64url character, so the two forms never collide. A '~' id whose text XML 1.0
 * cannot carry is malformed: it could only reach the server changed into another id.
 */
import { isStrictBase64 } from '../../base64.js'
import { IdMalformed } from '../../errors.js'
import { notXmlText } from './soap/xml.js'

const B64URL = /^[A-Za-z0-9_-]+$/
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function toPublicId (ewsId: string): string {
  // Not a grouped regex: ids can arrive in request bodies at any length, and V8 overflows its stack on those.
  if (isStrictBase64(ewsId)) {
    return ewsId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  }
  return '~' + Buffer.from(ewsId, 'utf8').toString('base64url')
}

/** Reverses toPublicId; throws MBG_ERR_ID_MALFORMED for anything toPublicId cannot have produced. */
export function fromPublicId (publicId: string): string {
  const ews = tryFromPublicId(publicId)
  if (ews === undefined) throw new IdMalformed(shortId(publicId))
  return ews
}

/** An id as error messages show it: callers may send megabytes where an id belongs. */
export function shortId (publicId: string): string {
  return publicId.length > 80 ? publicId.slice(0, 80) + '…' : publicId
}

export function tryFromPublicId (publicId: string): string | undefined {
  if (publicId.startsWith('~')) {
    const body = publicId.slice(1)
    if (!B64URL.test(body) || body.length % 4 === 1) return undefined
    const bytes = Buffer.from(body, 'base64url')
    let value: string
    try {
      value = UTF8.decode(bytes)
    } catch {
      return undefined
    }
    // Strict: only the exact string toPublicId would produce is accepted, and only text XML can carry.
    if (toPublicId(value) !== publicId || notXmlText(value) !== undefined) return undefined
    return value
  }
  if (!B64URL.test(publicId) || publicId.length % 4 === 1) return undefined
  const std = publicId.replace(/-/g, '+').replace(/_/g, '/')
  return std + '='.repeat((4 - (std.length % 4)) % 4)
}
