/**
 * Strict standard base64 (RFC 4648 section 4, padded), checked without a grouped
 * regex: V8 runs `(?:[A-Za-z0-9+/]{4})*` recursively and overflows its stack on
 * multi-megabyte item streams, while a single character class is matched in a loop.
 */
const ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/

export function isStrictBase64 (value: string): boolean {
  return value.length > 0 && value.length % 4 === 0 && ALPHABET.test(value)
}

/**
 * Bytes a standard padded base64 string decodes to (RFC 4648 section 4): three per four characters,
 * less one per '=' of padding. Not checked: for strings `isStrictBase64` accepts.
 */
export function decodedLength (value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor(value.length / 4) * 3 - padding)
}
