/**
 * The Graph import body (src/backends/graph/import.ts importBody) is written from pieces, never serialized: it must
 * be the very bytes JSON.stringify gives for the same fields in the same order, whatever the ids hold, both as one
 * small Buffer and as the megabyte pieces of a large item.
 */
import t from 'tap'
import { importBody } from '../../../src/backends/graph/import.js'

function bytesOf (body: ReturnType<typeof importBody>): Buffer {
  const joined = Buffer.concat([...body.pieces()])
  if (body.bytes !== joined.length) throw new Error(`declared ${body.bytes} bytes, pieces hold ${joined.length}`)
  if (body.whole !== undefined && !body.whole.equals(joined)) throw new Error('whole differs from its pieces')
  return joined
}

t.test('the body is the bytes JSON.stringify gives', async (t) => {
  const small = Buffer.alloc(30_000, 5).toString('base64')
  const large = Buffer.alloc(2_500_000, 7).toString('base64')
  const folders = ['AAMkAGI2TG93AAA=', 'földer "quoted" \\ ✓ 𝄞 \u0001 \u2028']
  for (const data of [small, large]) {
    for (const folder of folders) {
      t.ok(bytesOf(importBody(folder, { mode: 'create', data, folderId: { id: folder }, position: 0 }, 'AAMk')).equals(
        Buffer.from(JSON.stringify({ FolderId: folder, Mode: 'create', Data: data }), 'utf8')),
      `create in folder ${folders.indexOf(folder)} (${data.length} chars): no ItemId/ChangeKey`)
      const update = {
        mode: 'update' as const, data, folderId: { id: folder }, position: 0, itemId: 'x', changeKey: 'CQ\\x'
      }
      const fields = { FolderId: folder, Mode: 'update', ItemId: 'AAMk"id"é', ChangeKey: 'CQ\\x', Data: data }
      t.ok(bytesOf(importBody(folder, update, 'AAMk"id"é')).equals(Buffer.from(JSON.stringify(fields), 'utf8')),
      `update in folder ${folders.indexOf(folder)} (${data.length} chars)`)
    }
  }
  const large1 = importBody('f', { mode: 'create', data: large, folderId: { id: 'f' }, position: 0 }, undefined)
  t.equal(large1.whole, undefined,
    'a large item is not joined into one buffer')
})
