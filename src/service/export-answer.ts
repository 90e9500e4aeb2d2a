/**
 * The JSON answer of an export (`ExportResponse`) written as bytes without passing item data through the
 * JSON serializer: the answer is serialized (by the route's compiled serializer, so shape and field order
 * are exactly the schema's) with each item's data replaced by a placeholder, and the data strings are then
 * copied into the answer's bytes in their places, once. Standard base64 (checked: `isStrictBase64`) is
 * ASCII and holds nothing JSON escapes (RFC 8259 section 7), so it goes into a JSON string as it is.
 * Serializing it the usual way would scan it for escapes, concatenate it into one answer string, count that
 * string's UTF-8 bytes for Content-Length and encode it again to write it: about a third of the gateway's
 * CPU in an export.
 */
import { randomBytes } from 'node:crypto'
import { isStrictBase64 } from '../base64.js'

/** An export answer: `results` with item `data` strings among other fields. */
export interface ExportAnswer { results: Array<object & { data?: unknown }> }

/**
 * `serialize(answer)`, as the UTF-8 bytes of the same JSON text. `serialize` must write every string it
 * is given as a JSON string (a compiled response serializer does). Results whose `data` is not standard
 * base64 go through `serialize` unchanged; an answer without any data is answered as `serialize`'s string.
 */
export function exportAnswerBytes (answer: ExportAnswer,
  serialize: (payload: Record<string, unknown>) => string): Buffer | string {
  // A placeholder the caller cannot have put in any other field: it is drawn after the request was read.
  const nonce = randomBytes(12).toString('hex')
  const data: string[] = []
  const results = answer.results.map((r) => {
    if (typeof r.data !== 'string' || !isStrictBase64(r.data)) return r
    const placeholder = `${nonce}-${data.length}`
    data.push(r.data)
    return { ...r, data: placeholder }
  })
  if (data.length === 0) return serialize(answer as unknown as Record<string, unknown>)
  const text = serialize({ ...answer, results } as unknown as Record<string, unknown>)
  const pieces: string[] = []
  let from = 0
  for (let k = 0; k < data.length; k++) {
    const quoted = `"${nonce}-${k}"`
    const at = text.indexOf(quoted, from)
    // A serializer that left a result out: answer the usual way.
    if (at === -1) return serialize(answer as unknown as Record<string, unknown>)
    pieces.push(text.slice(from, at + 1))
    from = at + quoted.length - 1
  }
  pieces.push(text.slice(from))
  let length = 0
  for (const piece of pieces) length += Buffer.byteLength(piece)
  for (const d of data) length += d.length
  const out = Buffer.allocUnsafe(length)
  let offset = 0
  for (let k = 0; k < data.length; k++) {
    offset += out.write(pieces[k], offset, 'utf8')
    offset += out.write(data[k], offset, 'latin1')
  }
  out.write(pieces[data.length], offset, 'utf8')
  return out
}
