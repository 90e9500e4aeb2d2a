/**
 * exportAnswerBytes (src/service/export-answer.ts) writes item data into the answer without serializing it:
 * the bytes must be exactly those of the serialized answer.
 */
import t from 'tap'
import { exportAnswerBytes, exportAnswerPieces } from '../../src/service/export-answer.js'

const data = (n: number, seed: number): string =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255)).toString('base64')

const serialize = (payload: Record<string, unknown>): string => JSON.stringify(payload)

t.test('the bytes are the serialized answer, data in place', async (t) => {
  const answer = {
    results: [
      { itemId: 'a"1', changeKey: 'ck\u00e9', data: data(20_000, 1), source: 'ews' },
      { itemId: 'b', error: { code: 'MBG_ERR_ITEM_NOT_FOUND', status: 404, message: 'nöt "found" ✓ \u0001' } },
      { itemId: 'c', changeKey: 'x', data: data(1, 2), source: 'graph' },
      { itemId: 'd', changeKey: 'y', data: 'not base64 "quoted" é', source: 'ews' },
      { itemId: 'e', changeKey: 'z', data: data(70_000, 3), source: 'ews' }
    ],
    succeeded: 4,
    failed: 1
  }
  const out = exportAnswerBytes(answer, serialize)
  t.ok(Buffer.isBuffer(out))
  t.ok(Buffer.from(JSON.stringify(answer), 'utf8').equals(out as Buffer))
  t.same(JSON.parse(out.toString()), answer)
})

t.test('an answer without data is the serializer\'s string', async (t) => {
  const failure = { itemId: 'b', error: { code: 'X', status: 404, message: 'm' } }
  const answer = { results: [failure], succeeded: 0, failed: 1 }
  t.equal(exportAnswerBytes(answer, serialize), JSON.stringify(answer))
})

t.test('a serializer that drops results is answered the usual way', async (t) => {
  const answer = { results: [{ itemId: 'a', changeKey: 'k', data: data(30, 1) }], succeeded: 1, failed: 0 }
  const dropping = (p: Record<string, unknown>): string => JSON.stringify({ ...p, results: [] })
  t.equal(exportAnswerBytes(answer, dropping), dropping(answer))
})

t.test('written in pieces: the same bytes, their count known up front, no piece holding a whole item', async (t) => {
  const big = data(1_000_000, 4)
  const answer = { results: [{ itemId: 'a', changeKey: 'k', data: big, source: 'ews' }], succeeded: 1, failed: 0 }
  const out = exportAnswerPieces(answer, serialize)
  if (typeof out === 'string') { t.fail('item data is written apart'); return }
  const pieces = [...out.pieces()]
  const joined = Buffer.concat(pieces)
  t.equal(out.bytes, joined.length, 'bytes is the length of what the pieces give')
  t.ok(Buffer.from(JSON.stringify(answer), 'utf8').equals(joined))
  t.ok(Math.max(...pieces.map((p) => p.length)) <= 256 * 1024, 'the data is cut into pieces of at most 256 KiB')
  t.ok(Buffer.concat([...out.pieces()]).equals(joined), 'the pieces can be given again')
  t.ok(out.whole().equals(joined), 'whole() gives the same bytes in one Buffer')
})
