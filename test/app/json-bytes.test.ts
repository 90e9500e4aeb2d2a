/**
 * parseJsonBytes (src/json-bytes.ts): JSON parsed from its bytes with long plain strings copied out once gives
 * what JSON.parse of the text gives, whatever surrounds those strings (escaped quotes, keys, non-ASCII, a text
 * holding the marker escape), and refuses what JSON.parse refuses.
 */
import t from 'tap'
import { parseJsonBytes } from '../../src/json-bytes.js'

const big = 'QUJD'.repeat(50_000)

t.test('the value JSON.parse gives', async (t) => {
  const cases: unknown[] = [
    { items: [{ folderId: 'inbox', mode: 'create', data: big }, { folderId: 'x"y\\', data: `${big}AA==` }] },
    { value: [{ itemId: 'a\\"b', data: big, changeKey: 'ü' }], s: 'é'.repeat(70_000), t: 'a\\'.repeat(40_000) },
    { x: `\u0000${big}`, y: big },
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
})
