/**
 * src/string-length.ts: the gateway's minLength/maxLength count as Ajv's own keywords do (code points, Ajv's
 * ucs2length), with Ajv's errors, for strings with surrogate pairs, lone surrogates and lengths around the bound.
 */
import t from 'tap'
import { Ajv } from 'ajv'
import { hasAtLeast, hasAtMost, lengthKeywords } from '../../src/string-length.js'

const UNITS = ['a', 'é', '\ud83d', '\ude00', '😀', '\udbff\udfff']

/** Every string of up to `max` pieces drawn from UNITS. */
function * strings (max: number): Generator<string> {
  let layer = ['']
  yield ''
  for (let n = 1; n <= max; n++) {
    const next: string[] = []
    for (const s of layer) for (const u of UNITS) next.push(s + u)
    yield * next
    layer = next
  }
}

function ucs2length (value: string): number {
  let n = 0
  for (let i = 0; i < value.length; i++) {
    n++
    const c = value.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++
  }
  return n
}

t.test('counts as ucs2length does, around every bound', async (t) => {
  let checked = 0
  for (const s of strings(5)) {
    const length = ucs2length(s)
    for (let n = 0; n <= 11; n++) {
      if (hasAtLeast(s, n) !== (length >= n) || hasAtMost(s, n) !== (length <= n)) {
        t.fail(`${JSON.stringify(s)} against ${n}`)
      }
      checked++
    }
  }
  t.ok(checked > 100_000, `${checked} strings and bounds`)
  const data = 'QUJD'.repeat(250_000)
  t.equal(hasAtLeast(data, 4), true)
  t.equal(hasAtMost(data, 4), false)
})

t.test("an Ajv with these keywords validates and reports as Ajv's own", async (t) => {
  const stock = new Ajv({ allErrors: true })
  const ours = new Ajv({ allErrors: true })
  ours.removeKeyword('minLength')
  ours.removeKeyword('maxLength')
  ours.addKeyword(lengthKeywords)
  const schemas = [
    { type: 'string', minLength: 2, maxLength: 3 },
    { type: 'object', properties: { data: { type: 'string', minLength: 4 }, id: { type: 'string', maxLength: 1 } } }
  ]
  for (const schema of schemas) {
    const a = stock.compile(schema)
    const b = ours.compile(schema)
    for (const s of strings(4)) {
      for (const value of [s, { data: s, id: s }]) {
        const ok = b(value)
        if (a(value) !== ok || JSON.stringify(a.errors) !== JSON.stringify(b.errors)) {
          t.fail(`${JSON.stringify(value)}: ${JSON.stringify(a.errors)} vs ${JSON.stringify(b.errors)}`)
        }
      }
    }
  }
  const validate = ours.compile(schemas[0])
  t.equal(validate('a'), false)
  t.match(validate.errors,
    [{ keyword: 'minLength', params: { limit: 2 }, message: 'must NOT have fewer than 2 characters' }])
  t.equal(validate('😀😀'), true, 'a surrogate pair is one character')
})
