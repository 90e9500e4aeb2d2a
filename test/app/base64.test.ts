/**
 * isStrictBase64 (src/base64.ts) checks long strings with Node's decoder instead of the expression: it must
 * answer exactly what the expression answers, for strings of every length and any characters.
 */
import t from 'tap'
import fc from 'fast-check'
import { decodedLength, isStrictBase64 } from '../../src/base64.js'

const reference = (v: string): boolean => v.length > 0 && v.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(v)
/** The same check of item data held as bytes (a slice of a body): the answer the expression gives for their text. */
const agreesAsBytes = (s: string): boolean => {
  const bytes = Buffer.from(s)
  return isStrictBase64(bytes) === reference(bytes.toString('latin1'))
}

const valid = (bytes: number, seed: number): string =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 7919 + seed) & 255)).toString('base64')

t.test('long valid strings pass, whatever their padding and length', async (t) => {
  for (const bytes of [769, 770, 771, 49_151, 49_152, 49_153, 49_154, 98_304, 200_000]) {
    const v = valid(bytes, bytes)
    t.ok(isStrictBase64(v), `${bytes} bytes`)
    t.ok(isStrictBase64(Buffer.from(v, 'latin1')), `${bytes} bytes, as bytes`)
    t.equal(decodedLength(v), bytes)
  }
})

t.test('one wrong character anywhere in a long string fails it', async (t) => {
  const v = valid(100_000, 3) // 133,336 characters: three pieces for the decoder
  // Among them characters whose low byte is a base64 letter ('Ł' is U+0141: 0x41 is 'A').
  const bad = ['-', '_', '=', ' ', '\n', '\r', '.', '\u0000', 'é', '\u0100', '✓', '\ud83d', 'Ł', '\u0161', '\u4141',
    '\uff41', '\u012b']
  for (const at of [0, 1, 2, 3, 65_535, 65_536, 65_537, 131_071, 131_072, v.length - 3, v.length - 1]) {
    for (const c of bad) {
      const s = v.slice(0, at) + c + v.slice(at + 1)
      t.equal(isStrictBase64(s), reference(s), `${JSON.stringify(c)} at ${at}`)
      t.ok(agreesAsBytes(s), `as bytes: ${JSON.stringify(c)} at ${at}`)
    }
  }
  // Padding in the middle, at the end of a decoder piece.
  const padded = valid(49_151, 1) // ends with '='
  t.notOk(isStrictBase64(padded + valid(3000, 2)))
  t.notOk(isStrictBase64(valid(49_150, 1) + valid(3000, 2)))
  t.notOk(isStrictBase64(v + '===='))
  t.notOk(isStrictBase64(v.slice(0, -1)))
})

t.test('agrees with the expression on arbitrary strings (property)', async (t) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const mostlyBase64 = fc.tuple(
    fc.integer({ min: 256, max: 1200 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('-', '_', '=', ' ', '\n', '*', 'é', '\u0100', '\u0000', 'Ł', '\u4141')),
      { maxLength: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 2 })
  ).map(([quads, edits, trim, pad]) => {
    let s = Array.from({ length: quads * 4 }, (_, i) => alphabet[(i * 31 + quads) % 64]).join('')
    for (const [pos, c] of edits) { const p = pos % s.length; s = s.slice(0, p) + c + s.slice(p + 1) }
    s = s.slice(0, s.length - trim)
    return pad > 0 ? s.slice(0, s.length - pad) + '='.repeat(pad) : s
  })
  const any = fc.oneof(mostlyBase64, fc.string({ maxLength: 2000 }))
  fc.assert(fc.property(any, (s) => isStrictBase64(s) === reference(s) && agreesAsBytes(s)), { numRuns: 3000 })
  t.pass()
})

t.test('decodedLength: bytes of padded base64, from its length, as text or bytes', async (t) => {
  for (const text of ['abcd', 'abcde', 'abcdef', '']) {
    const b64 = Buffer.from(text).toString('base64')
    t.equal(decodedLength(b64), text.length, JSON.stringify(text))
    t.equal(decodedLength(Buffer.from(b64, 'latin1')), text.length, `${JSON.stringify(text)} as bytes`)
  }
})
