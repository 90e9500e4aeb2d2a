/**
 * Strict standard base64 (RFC 4648 section 4, padded), checked without a grouped
 * regex: V8 runs `(?:[A-Za-z0-9+/]{4})*` recursively and overflows its stack on
 * multi-megabyte item streams, while a single character class is matched in a loop.
 */
const ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/

/** Below this many characters the regular expression checks a string; above it, the decoder does. */
const SHORT = 1024
/** Characters decoded at a time by the long check (a multiple of 4), and the scratch space they decode into. */
const PIECE = 64 * 1024
const scratch = Buffer.allocUnsafe((PIECE / 4) * 3)

/** 1 for each byte of the standard base64 alphabet (RFC 4648 section 4, Table 1), 0 for every other byte. */
const ALPHABET_BYTES = new Uint8Array(256)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET_BYTES[c.charCodeAt(0)] = 1

/**
 * Whether `value` is non-empty standard padded base64 (RFC 4648 section 4): length a multiple of 4,
 * only A–Z a–z 0–9 + /, then at most two '='. `value` is the text, or its bytes (item data kept as a slice of
 * the bytes received, one byte a character). Text of item data (megabytes) is checked by Node's base64 decoder
 * (SIMD, several times faster than the expression) into a scratch buffer: it skips or stops at anything outside
 * its alphabet, so such a string decodes to fewer bytes than its length promises (`decodedLength`); its alphabet
 * also holds the URL-safe '-' and '_', looked for first (RFC 4648 section 5). Bytes go to the same decoder 64 KiB at
 * a time, each piece made a one-byte string (a latin1 copy of 64 KiB, never the whole item): a byte-by-byte loop
 * over 33 MB of an item's data held the event loop for about 0.4 s; the decoder takes a few tens of milliseconds.
 */
export function isStrictBase64 (value: string | Buffer): boolean {
  if (value.length === 0 || value.length % 4 !== 0) return false
  if (typeof value !== 'string') {
    if (value.length <= SHORT) return isStrictBase64Bytes(value)
  } else {
    if (value.length <= SHORT) return ALPHABET.test(value)
    // The decoder reads only the low byte of each UTF-16 unit ('Ł', U+0141, would read as 'A'): text that is not
    // all ASCII is refused here (its UTF-8 length then differs from its length).
    if (Buffer.byteLength(value, 'utf8') !== value.length) return false
    if (value.indexOf('-') !== -1 || value.indexOf('_') !== -1) return false
  }
  for (let start = 0; start < value.length; start += PIECE) {
    const piece = typeof value === 'string'
      ? value.slice(start, start + PIECE)
      : pieceOfBytes(value, start, Math.min(start + PIECE, value.length))
    if (piece === undefined) return false
    // Padding ends the value: a piece before the last decodes whole.
    const expected = start + PIECE >= value.length ? decodedLength(piece) : scratch.length
    if (scratch.write(piece, 'base64') !== expected) return false
  }
  return true
}

/**
 * Bytes `start` to `end` of `value` as a one-byte string for the decoder (a 64 KiB piece: young-generation garbage,
 * not megabytes), or undefined when they hold the URL-safe '-' or '_' (which the decoder would take).
 */
function pieceOfBytes (value: Buffer, start: number, end: number): string | undefined {
  const bytes = value.subarray(start, end)
  if (bytes.indexOf(DASH) !== -1 || bytes.indexOf(UNDERSCORE) !== -1) return undefined
  return value.toString('latin1', start, end)
}

const DASH = 0x2d
const UNDERSCORE = 0x5f

/** `isStrictBase64` of short bytes whose length is a non-zero multiple of 4: byte by byte. */
function isStrictBase64Bytes (value: Buffer): boolean {
  const n = value.length
  const end = value[n - 1] !== EQUALS ? n : value[n - 2] !== EQUALS ? n - 1 : n - 2
  for (let i = 0; i < end; i++) if (ALPHABET_BYTES[value[i]] === 0) return false
  return true
}

const EQUALS = 0x3d

/**
 * Bytes a standard padded base64 value (text, or its bytes) decodes to (RFC 4648 section 4): three per four
 * characters, less one per '=' of padding. Not checked: for values `isStrictBase64` accepts.
 */
export function decodedLength (value: string | Buffer): number {
  const last = (k: number): boolean => typeof value === 'string'
    ? value.charCodeAt(value.length - k) === EQUALS
    : value[value.length - k] === EQUALS
  const padding = last(1) ? (last(2) ? 2 : 1) : 0
  return Math.max(0, Math.floor(value.length / 4) * 3 - padding)
}
