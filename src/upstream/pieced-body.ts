/**
 * Request bodies written piece by piece: an import's megabytes of item data go to the backend as the bytes they
 * arrived as (slices of the caller's request body) or as pieces made one at a time, never joined into one string
 * or buffer with the rest of the request.
 */
import { Readable } from 'node:stream'

/**
 * A request body in pieces: `bytes` in all (its Content-Length); `pieces` gives them afresh for every send (a call
 * may be sent again: a retry, a new token, an NTLM handshake).
 */
export interface PiecedBody {
  bytes: number
  pieces: () => Iterable<Buffer>
  /** The whole body when it is one small Buffer: sent as it is, without a stream around it. */
  whole?: Buffer
}

/** Whether `body` is a PiecedBody (not a string or a Buffer). */
export function isPieced (body: string | Buffer | PiecedBody): body is PiecedBody {
  return typeof body === 'object' && !Buffer.isBuffer(body)
}

/**
 * What undici sends for `body` (a PiecedBody as its `whole` Buffer or a fresh stream of its pieces, anything else
 * as it is), and the headers with Content-Length set for a PiecedBody (a stream has no length of its own).
 */
export function sendable (body: string | Buffer | PiecedBody, headers: Record<string, string>):
{ body: string | Buffer | Readable, headers: Record<string, string> } {
  if (!isPieced(body)) return { body, headers }
  return {
    body: body.whole ?? Readable.from(body.pieces(), { objectMode: false }),
    headers: { ...headers, 'content-length': String(body.bytes) }
  }
}
