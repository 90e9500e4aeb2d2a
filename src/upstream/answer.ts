/**
 * Reading a backend's answer body with a cap on its size, enforced while reading: the
 * bytes are counted as they arrive and the response is destroyed as soon as the count
 * passes the cap, so a hostile or broken backend can never make the gateway hold more
 * than the cap (a 500 MiB answer costs the cap, not 500 MiB and its string copies).
 *
 * The caps are settings of each backend (`backends.<name>.answerCaps`, src/config.ts):
 *   - `dataBytes`: answers carrying item data (EWS ExportItems, Graph exportItems),
 *   - `otherBytes`: every other successful answer (listings, folders, item properties),
 *   - `errorBytes`: answers with an error status (EWS SOAP faults arrive as HTTP 500).
 */
import type { Readable } from 'node:stream'
import { UpstreamBadResponse } from '../errors.js'

const MiB = 1024 * 1024

/** Default caps, bytes (see `AnswerCaps`). */
export const DEFAULT_ANSWER_CAPS = {
  /**
   * 256 MiB: the most item data one gateway answer may carry (MAX_EXPORT_ANSWER_BYTES at its maximum), so
   * a larger backend answer could not be relayed anyway.
   */
  dataBytes: 256 * MiB,
  /** 16 MiB: a listing page of 1000 entries with every property the adapters ask for is well under 2 MiB. */
  otherBytes: 16 * MiB,
  /** 1 MiB: a SOAP fault or Graph error object is a few KiB. */
  errorBytes: MiB
} as const

/** The caps of one backend, bytes. */
export interface AnswerCaps {
  dataBytes: number
  otherBytes: number
  errorBytes: number
}

/** Which cap applies to an answer. */
export type AnswerKind = keyof AnswerCaps

/** One cap as enforced: the limit and the setting that holds it (named in the error). */
export interface AnswerCap {
  bytes: number
  /** e.g. `backends.ews.answerCaps.otherBytes` */
  setting: string
}

/** The cap of `kind` for backend `backend`. */
export function capOf (backend: string, caps: AnswerCaps, kind: AnswerKind): AnswerCap {
  return { bytes: caps[kind], setting: `backends.${backend}.answerCaps.${kind}` }
}

/** 502 MBG_ERR_UPSTREAM_BAD_RESPONSE for an answer past its cap (not retried: the same answer would come again). */
export function tooLargeAnswer (where: string, cap: AnswerCap): Error {
  return new UpstreamBadResponse(`${where}: the answer is larger than ${cap.bytes} bytes (${cap.setting})`)
}

/**
 * Reads `body` (an undici response body) as UTF-8 text (a leading BOM dropped, as undici's `text()`
 * does), counting bytes as they arrive. Past `cap.bytes` (or at once when `content-length` already says
 * more) the body is destroyed and 502 MBG_ERR_UPSTREAM_BAD_RESPONSE naming the cap's setting is thrown.
 * Errors of the stream itself (reset, abort, body timeout) are thrown as they are.
 */
export async function readCapped (body: Readable, contentLength: string | string[] | undefined, cap: AnswerCap,
  where: string): Promise<string> {
  return (await readCappedBytes(body, contentLength, cap, where)).toString('utf8')
}

const BOM = [0xef, 0xbb, 0xbf]

/** Declared answer lengths from which the answer is read into one buffer allocated up front (bytes). */
const PREALLOCATE_FROM = 64 * 1024

/**
 * `readCapped`, as bytes: the body in one Buffer (the chunks copied once), a leading UTF-8 BOM
 * (EF BB BF) dropped. For answers whose big parts are sliced out as bytes (EWS ExportItems `Data`,
 * src/backends/ews/soap/xml.ts) rather than decoded whole.
 */
export async function readCappedBytes (body: Readable, contentLength: string | string[] | undefined, cap: AnswerCap,
  where: string): Promise<Buffer> {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength)
  if (Number.isFinite(declared) && declared > cap.bytes) {
    body.destroy()
    throw tooLargeAnswer(where, cap)
  }
  // A declared length (every large answer of both backends has one) is read straight into one buffer of that
  // size: collecting the chunks and joining them would hold the answer twice at the end.
  const into = Number.isSafeInteger(declared) && declared >= PREALLOCATE_FROM ? Buffer.allocUnsafe(declared) : undefined
  const chunks: Buffer[] = []
  let total = 0
  let filled = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (total + chunk.length > cap.bytes) {
      chunks.length = 0
      body.destroy()
      throw tooLargeAnswer(where, cap)
    }
    // Once a chunk does not fit (a backend that got its length wrong), the rest is collected and joined.
    if (into !== undefined && chunks.length === 0 && filled + chunk.length <= into.length) {
      filled += chunk.copy(into, filled)
    } else chunks.push(chunk)
    total += chunk.length
  }
  if (into !== undefined && filled > 0) chunks.unshift(into.subarray(0, filled))
  const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)
  return bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2] ? bytes.subarray(3) : bytes
}
