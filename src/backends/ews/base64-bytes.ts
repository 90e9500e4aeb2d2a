/**
 * Base64 (RFC 4648 section 4) between item bytes and the text of an EWS element (t:MimeContent, t:Content), a
 * piece at a time, so that a large item is held as its bytes and its base64 once each, never as whole-item
 * strings on top: the reader hands a large element's text over as a slice of the answer's bytes (soap/xml.ts
 * `XmlNode.bytes`), and a request carries the base64 as bytes (soap/xml.ts `XmlParts`).
 */
import { decodedLength, isStrictBase64 } from '../../base64.js'

/** Base64 characters decoded at a time (a multiple of 4); bytes are encoded three quarters of it at a time. */
const PIECE = 256 * 1024

/**
 * The bytes that `value` (standard padded base64, as text or as its ASCII bytes) stands for, or undefined when
 * it is not base64 once the white space a server may wrap it with is taken out (or is empty). Never lenient:
 * Node's decoder alone skips what is not base64, which would hand back other bytes than the ones sent.
 */
export function decodeBase64 (value: string | Buffer): Buffer | undefined {
  let b64: string | Buffer = value
  if (!isStrictBase64(b64)) {
    b64 = (typeof value === 'string' ? value : value.toString('latin1')).replace(/\s+/g, '')
    if (!isStrictBase64(b64)) return undefined
  }
  if (typeof b64 === 'string') return Buffer.from(b64, 'base64')
  const out = Buffer.allocUnsafe(decodedLength(b64))
  let at = 0
  for (let i = 0; i < b64.length; i += PIECE) at += out.write(b64.toString('latin1', i, i + PIECE), at, 'base64')
  return at === out.length ? out : out.subarray(0, at)
}

/** `data` as standard padded base64, the ASCII bytes of it (one Buffer, written a piece at a time). */
export function encodeBase64 (data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(data.length / 3) * 4)
  const step = (PIECE / 4) * 3
  let at = 0
  for (let i = 0; i < data.length; i += step) at += out.write(data.toString('base64', i, i + step), at, 'latin1')
  return out
}
