/**
 * parseJsonBytes (src/json-bytes.ts): JSON parsed from its bytes with long plain strings copied out once gives
 * what JSON.parse of the text gives, whatever surrounds those strings (escaped quotes, keys, non-ASCII, a text
 * holding the marker escape), and refuses what JSON.parse refuses.
 */
import t from 'tap'
import { itemData, NOT_PARSED, parseJsonBytes, standInData } from '../../src/json-bytes.js'
import { isStrictBase64 } from '../../src/base64.js'

const big = 'QUJD'.repeat(50_000)

t.test('the value JSON.parse gives', async (t) => {
  const cases: unknown[] = [
    { items: [{ folderId: 'inbox', mode: 'create', data: big }, { folderId: 'x"y\\', data: `${big}AA==` }] },
    { value: [{ itemId: 'a\\"b', data: big, changeKey: 'ü' }], s: 'é'.repeat(70_000), t: 'a\\'.repeat(40_000) },
    { x: `\u0000${big}`, y: big },
    // A short string that reads like a marker: it must stay itself, not become a lifted string.
    { a: '\u00000', data: big },
    [big, '\u00000', { k: '\u00001' }, `${big}=`],
    [big, 'short', { k: big }, `"${big}"`],
    { ['K'.repeat(70_000)]: big },
    { small: 'no long string at all' },
    // Around the size from which strings are lifted (1 KiB), and item data of a 14 KB item.
    { value: [{ data: 'QUJD'.repeat(256), a: 'QUJD'.repeat(255) + 'QUI=' }, { data: 'QUJD'.repeat(4_700), e: 'é' }] },
    ['x'.repeat(1023), 'x'.repeat(1024), 'x'.repeat(1025), `${'x'.repeat(2000)}\\`, `${'x'.repeat(2000)}"`]
  ]
  for (const value of cases) {
    for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      t.same(parseJsonBytes(Buffer.from(text)), JSON.parse(text))
    }
  }
})

t.test('what JSON.parse refuses', async (t) => {
  t.throws(() => parseJsonBytes(Buffer.from(`{"a":"${big}`)), SyntaxError)
  t.throws(() => parseJsonBytes(Buffer.from(`{"a":"${big}",}`)), SyntaxError)
  t.throws(() => parseJsonBytes(Buffer.from(`{"a":"${big}" "b"}`)), SyntaxError)
  // Raw control characters in a long string (JSON.parse: "Bad control character").
  for (const c of ['\n', '\u0000', '\t', '\u001f']) {
    t.throws(() => parseJsonBytes(Buffer.from(`{"a":"${big}${c}${big}"}`)), SyntaxError, JSON.stringify(c))
    t.throws(() => parseJsonBytes(Buffer.from(`{"data":"${big}${c}"}`)), SyntaxError, `data: ${JSON.stringify(c)}`)
  }
})

t.test('long data values as bytes: slices of the bytes parsed, not copies', async (t) => {
  const bytes = Buffer.from(JSON.stringify({ value: [{ Data: big, other: big }], data: 'short' }))
  const parsed = parseJsonBytes(bytes, { data: (slice) => slice }) as {
    value: Array<{ Data: unknown, other: unknown }>
    data: unknown
  }
  const data = parsed.value[0].Data
  t.ok(Buffer.isBuffer(data) && data.buffer === bytes.buffer, 'a `data` member (any case) is a slice')
  t.equal((data as Buffer).toString('latin1'), big)
  t.equal(parsed.value[0].other, big, 'other members are text')
  t.equal(parsed.data, 'short', 'short data is text')
})

t.test('stand-ins through validation, swapped back for the bytes', async (t) => {
  const bytes = Buffer.from(JSON.stringify({ items: [{ data: big }, { data: `${big}AA==` }, { data: 'QUJD' }] }))
  const standIn = standInData()
  const body = standIn.adopt(parseJsonBytes(bytes, { data: standIn.data })) as { items: Array<{ data: string }> }
  const [a, b, c] = body.items.map((i) => i.data)
  t.ok(a.length < 64 && a.length >= 4 && b !== a, 'short strings stand in, one per value')
  t.ok(Buffer.from(itemData(body, a)).equals(Buffer.from(big)), 'swapped back for its bytes')
  t.ok((itemData(body, b) as Buffer).buffer === bytes.buffer, 'a slice of the body, not a copy')
  t.equal(itemData(body, c), 'QUJD', 'text stays text')
  t.equal(itemData({}, a), a, 'a stand-in of another body is not swapped')
  t.notOk(isStrictBase64(a), 'a stand-in left in place is not base64 (refused as item data)')
})

t.test('giveUpOn: NOT_PARSED when the text around the lifted strings holds a spelling', async (t) => {
  const giveUpOn = ['__proto__', 'constructor', '\\u']
  for (const text of [`{"__proto__":{"a":1},"d":"${big}"}`, `{"d":"${big}","k":"\\u0041"}`, '{"constructor":1}']) {
    t.equal(parseJsonBytes(Buffer.from(text), { giveUpOn }), NOT_PARSED, text.slice(0, 40))
  }
  const text = `{"d":"constructor${big}","e":"__proto__${big}"}`
  t.same(parseJsonBytes(Buffer.from(text), { giveUpOn }), JSON.parse(text), 'spelled inside lifted values only')
})
