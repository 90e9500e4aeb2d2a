/**
 * JSON text that carries item data (base64 strings of megabytes: import requests, Graph exportItems answers)
 * parsed from its bytes with each long plain string copied once. `JSON.parse` needs the whole text as a string
 * first (one copy of the bytes) and then copies every string value out of it (a second); the bytes themselves are
 * a third. Here each string of at least LIFT_FROM bytes with neither a backslash nor a byte above 0x7F (base64
 * always; RFC 8259 section 7: such a string's characters are its bytes) is cut out of the text and made a
 * one-byte string straight from the bytes (latin1 decoding is a plain copy), and only the rest is parsed.
 *
 * Item data can skip even that copy: with `options.data`, a lifted value of a `data` member (any case: Graph
 * answers say `data`, the gateway's import items too) is handed over as its bytes, a slice of `bytes`
 * (mailbox-backend.ts `ItemData`), or as what `options.data` makes of them: for a request body that a schema
 * validator checks first, a short stand-in string (`standInData`) swapped for the bytes afterwards (`itemData`).
 */
import { isAscii } from 'node:buffer'

/**
 * Strings shorter than this (bytes) are parsed as they are. Small enough for the item data of a batch of small
 * items (a 14 KB item is 19 KB of base64; parsed as one text, a 20-item exportItems answer was decoded to a string
 * and copied again string by string), large enough that the few lifted strings per text keep the scan cheap.
 */
const LIFT_FROM = 1024

/** A raw control character (U+0000 to U+001F), which a JSON string may not hold unescaped (RFC 8259 section 7). */
// eslint-disable-next-line no-control-regex -- the control characters are what is looked for
const CONTROL = /[\x00-\x1f]/
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** How `parseJsonBytes` hands over long plain `data` strings, and what text makes it give up. */
export interface JsonBytesOptions {
  /** Makes the value of a long plain `data` member from its bytes (a slice of the bytes parsed). */
  data?: (bytes: Buffer) => unknown
  /**
   * Spellings that, anywhere in the text outside the lifted strings (keys, short strings, the structure), make
   * `parseJsonBytes` return `NOT_PARSED` instead of a value, so that the caller parses the text another way (the
   * request parser: `__proto__`, `constructor`, `\u`, for Fastify's prototype-poisoning checks). The lifted strings
   * are values of plain ASCII without a backslash: no spelling there can name a key or hide an escape, so they are
   * not searched (on a body of item data, that is megabytes not scanned).
   */
  giveUpOn?: readonly string[]
}

/** What `parseJsonBytes` returns when the text holds one of `giveUpOn`: nothing was parsed. */
export const NOT_PARSED: unique symbol = Symbol('not parsed')

/**
 * The JSON value of `bytes` (UTF-8, no BOM), as `JSON.parse(bytes.toString('utf8'))` gives it, with long plain
 * strings copied out of the bytes once (see the module comment), and with `options.data` long plain `data`
 * values made from their bytes instead; `NOT_PARSED` when the text outside the lifted strings holds one of
 * `options.giveUpOn`. Throws the SyntaxError `JSON.parse` throws for text that is not JSON, with one exception:
 * a `data` value handed over as bytes is not searched for raw control characters (that would be a pass over the
 * megabytes of item data); item data is strict base64, which the service checks (src/base64.ts), so such a value
 * fails as that item's 422 MBG_ERR_DATA_INVALID instead of the whole body's 400.
 * Text holding a `\u0000` escape (which marks the strings cut out) is parsed the usual way.
 */
export function parseJsonBytes (bytes: Buffer, options: JsonBytesOptions = {}): unknown {
  const giveUpOn = options.giveUpOn ?? []
  const whole = (): unknown => {
    const text = bytes.toString('utf8')
    return giveUpOn.some((s) => text.includes(s)) ? NOT_PARSED : JSON.parse(text)
  }
  if (bytes.length < LIFT_FROM) return whole()
  const lifted: Buffer[] = []
  const parts: string[] = []
  let last = 0
  let at = bytes.indexOf(QUOTE)
  while (at !== -1) {
    // `at` opens a string (outside strings a quote can only open one): find the quote that closes it.
    let end = bytes.indexOf(QUOTE, at + 1)
    while (end !== -1 && escaped(bytes, end)) end = bytes.indexOf(QUOTE, end + 1)
    if (end === -1) break // unterminated: JSON.parse says so below
    if (end - at - 1 >= LIFT_FROM) {
      const content = bytes.subarray(at + 1, end)
      if (content.indexOf(BACKSLASH) === -1 && isAscii(content) && !isKey(bytes, end + 1)) {
        parts.push(bytes.toString('utf8', last, at), `"\\u0000${lifted.length}"`)
        lifted.push(content)
        last = end + 1
      }
    }
    at = bytes.indexOf(QUOTE, end + 1)
  }
  if (lifted.length === 0) return whole()
  parts.push(bytes.toString('utf8', last))
  // A `\u0000` escape of the text's own would read as a marker. Lifted runs hold no backslash, so only the parts
  // left can hold one (looked for there, not in the megabytes lifted); the same holds for `giveUpOn`.
  const text = parts.filter((_, i) => i % 2 === 0)
  if (text.some((part) => giveUpOn.some((s) => part.includes(s)))) return NOT_PARSED
  if (text.some((part) => part.includes('\\u0000'))) return whole()
  const data = options.data
  return JSON.parse(parts.join(''), (key, value: unknown) => {
    if (typeof value !== 'string' || value.charCodeAt(0) !== 0) return value
    const run = lifted[Number(value.slice(1))]
    if (data !== undefined && key.length === 4 && key.toLowerCase() === 'data') return data(run)
    const text = run.toString('latin1')
    // RFC 8259 section 7: control characters must be escaped in a string; JSON.parse refuses them raw.
    if (CONTROL.test(text)) throw new SyntaxError('Bad control character in string literal')
    return text
  })
}

/** Stand-ins of the item data of one request body (`standInData`), by the body parsed. */
const STOOD_IN = new WeakMap<object, Buffer[]>()
const STAND_IN = '\u0000item-data-'

/**
 * For a request body whose item data should stay bytes through schema validation: `data` for `parseJsonBytes`,
 * handing over each long `data` value as a short stand-in string (one a schema for base64 text accepts as a
 * string; nothing else could hold U+0000 and still be data, so a stand-in never swapped back is refused as not
 * base64), and `adopt`, which files the bytes under the value parsed for `itemData`.
 */
export function standInData (): { data: (bytes: Buffer) => string, adopt: (parsed: unknown) => unknown } {
  const runs: Buffer[] = []
  return {
    data: (bytes) => `${STAND_IN}${runs.push(bytes) - 1}`,
    adopt: (parsed) => {
      if (runs.length > 0 && typeof parsed === 'object' && parsed !== null) STOOD_IN.set(parsed, runs)
      return parsed
    }
  }
}

/**
 * The item data a `data` value of `body` (parsed with `standInData`) stands for: its bytes for a stand-in, the
 * value itself otherwise.
 */
export function itemData (body: unknown, value: string): string | Buffer {
  if (!value.startsWith(STAND_IN) || typeof body !== 'object' || body === null) return value
  return STOOD_IN.get(body)?.[Number(value.slice(STAND_IN.length))] ?? value
}

/** Whether the quote at `at` is escaped: an odd number of backslashes right before it. */
function escaped (bytes: Buffer, at: number): boolean {
  let n = 0
  while (at - n - 1 >= 0 && bytes[at - n - 1] === BACKSLASH) n++
  return n % 2 === 1
}

/** Whether a string ending right before `from` is an object key: the next byte other than whitespace is ':'. */
function isKey (bytes: Buffer, from: number): boolean {
  let i = from
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++
  return bytes[i] === 0x3a
}
