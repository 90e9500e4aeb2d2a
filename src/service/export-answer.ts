/**
 * The JSON answer of an export (`ExportResponse`) written as bytes without passing item data through the
 * JSON serializer: the answer is serialized (by the route's compiled serializer, so shape and field order
 * are exactly the schema's) with each item's data replaced by a placeholder, and the data strings are then
 * written in their places, a piece at a time as the answer is sent (never joined into one buffer). Standard
 * base64 (checked: `isStrictBase64`) is
 * ASCII and holds nothing JSON escapes (RFC 8259 section 7), so it goes into a JSON string as it is.
 * Serializing it the usual way would scan it for escapes, concatenate it into one answer string, count that
 * string's UTF-8 bytes for Content-Length and encode it again to write it: about a third of the gateway's
 * CPU in an export.
 */
import { randomBytes } from 'node:crypto'
import { isStrictBase64 } from '../base64.js'

/** An export answer: `results` with item `data` strings among other fields. */
export interface ExportAnswer { results: Array<object & { data?: unknown }> }

/** Characters of item data per piece of a written answer (`exportAnswerPieces`). */
const PIECE_CHARS = 256 * 1024

/**
 * Answers up to this many bytes are written as one Buffer (`AnswerPieces.whole`), larger ones piece by piece: a
 * batch of small items (50 of 14 KB: under 1 MB) is then one write, while a large item is never held twice.
 */
export const WHOLE_ANSWER_BYTES = 4 * 1024 * 1024

/**
 * An answer to write piece by piece: `bytes` in all (its Content-Length), and `pieces()`, which gives the
 * answer's UTF-8 bytes in order, item data cut into pieces of PIECE_CHARS characters, converted as they are
 * asked for when it is text, slices of it when it is bytes (`ItemData`): never the whole answer in one buffer (a
 * 25 MB item is 33 MB of base64, held once, as the backend's answer).
 * `whole()` gives the same bytes in one Buffer, each character copied into it once: for answers small enough to
 * hold twice (a stream of pieces costs more CPU than the copy: ~40 pieces and their Buffers per 20-item answer).
 */
export interface AnswerPieces {
  bytes: number
  pieces: () => Generator<Buffer>
  whole: () => Buffer
}

/**
 * `serialize(answer)`, as pieces of the UTF-8 bytes of the same JSON text (see `AnswerPieces`). `serialize` must
 * write every string it is given as a JSON string (a compiled response serializer does). Results whose `data` is
 * text that is not standard base64 go through `serialize` unchanged; `data` as bytes is the checked base64 of an
 * adapter (the port's contract), written as it is. An answer without any data is answered as `serialize`'s string.
 */
export function exportAnswerPieces (answer: ExportAnswer,
  serialize: (payload: Record<string, unknown>) => string): AnswerPieces | string {
  // A placeholder the caller cannot have put in any other field: it is drawn after the request was read.
  const nonce = randomBytes(12).toString('hex')
  const data: Array<string | Buffer> = []
  const results = answer.results.map((r) => {
    // Bytes are data an adapter checked (mailbox-backend.ts ExportedItem): not scanned again.
    if (!Buffer.isBuffer(r.data) && (typeof r.data !== 'string' || !isStrictBase64(r.data))) return r
    const placeholder = `${nonce}-${data.length}`
    data.push(r.data)
    return { ...r, data: placeholder }
  })
  if (data.length === 0) return serialize(answer as unknown as Record<string, unknown>)
  const text = serialize({ ...answer, results } as unknown as Record<string, unknown>)
  // The JSON text around the data (the answer less its data: small), and its UTF-8 length piece by piece.
  const around: string[] = []
  const aroundBytes: number[] = []
  let from = 0
  for (let k = 0; k < data.length; k++) {
    const quoted = `"${nonce}-${k}"`
    const at = text.indexOf(quoted, from)
    // A serializer that left a result out: answer the usual way.
    if (at === -1) return serialize(answer as unknown as Record<string, unknown>)
    around.push(text.slice(from, at + 1))
    from = at + quoted.length - 1
  }
  around.push(text.slice(from))
  let bytes = 0
  for (const piece of around) {
    const n = Buffer.byteLength(piece, 'utf8')
    aroundBytes.push(n)
    bytes += n
  }
  for (const d of data) bytes += d.length
  return {
    bytes,
    pieces: function * () {
      for (let k = 0; k < data.length; k++) {
        yield Buffer.from(around[k], 'utf8')
        const d = data[k]
        // Standard base64 is ASCII: latin1 writes each character as its one byte; bytes go as they are (slices).
        for (let i = 0; i < d.length; i += PIECE_CHARS) {
          yield typeof d === 'string'
            ? Buffer.from(d.slice(i, i + PIECE_CHARS), 'latin1')
            : d.subarray(i, i + PIECE_CHARS)
        }
      }
      yield Buffer.from(around[data.length], 'utf8')
    },
    whole: () => {
      const out = Buffer.allocUnsafe(bytes)
      let at = 0
      for (let k = 0; k < data.length; k++) {
        at += out.write(around[k], at, aroundBytes[k], 'utf8')
        const d = data[k]
        at += typeof d === 'string' ? out.write(d, at, d.length, 'latin1') : d.copy(out, at)
      }
      out.write(around[data.length], at, aroundBytes[data.length], 'utf8')
      return out
    }
  }
}

/**
 * `serialize(answer)`, as the UTF-8 bytes of the same JSON text in one buffer (`exportAnswerPieces`' `whole()`), or
 * `serialize`'s string when no data was written apart.
 */
export function exportAnswerBytes (answer: ExportAnswer,
  serialize: (payload: Record<string, unknown>) => string): Buffer | string {
  const answered = exportAnswerPieces(answer, serialize)
  return typeof answered === 'string' ? answered : answered.whole()
}
