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

/**
 * Whether `value` is non-empty standard padded base64 (RFC 4648 section 4): length a multiple of 4,
 * only A–Z a–z 0–9 + /, then at most two '='. Item data (megabytes) is checked by Node's base64 decoder
 * (SIMD, several times faster than the expression) into a scratch buffer: it skips or stops at anything
 * outside its alphabet, so such a string decodes to fewer bytes than its length promises (`decodedLength`);
 * its alphabet also holds the URL-safe '-' and '_', looked for first (RFC 4648 section 5).
 */
export function isStrictBase64 (value: string): boolean {
  if (value.length === 0 || value.length % 4 !== 0) return false
  if (value.length <= SHORT) return ALPHABET.test(value)
  if (value.indexOf('-') !== -1 || value.indexOf('_') !== -1) return false
  for (let start = 0; start < value.length; start += PIECE) {
    const piece = value.slice(start, start + PIECE)
    // Padding ends the value: a piece before the last decodes whole.
    const expected = start + PIECE >= value.length ? decodedLength(piece) : scratch.length
    if (scratch.write(piece, 'base64') !== expected) return false
  }
  return true
}

/**
 * Bytes a standard padded base64 string decodes to (RFC 4648 section 4): three per four characters,
 * less one per '=' of padding. Not checked: for strings `isStrictBase64` accepts.
 */
export function decodedLength (value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor(value.length / 4) * 3 - padding)
}
