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
  for (const text of [small, large]) {
    // Item data as text, and as its bytes (a slice of a request body: ItemData).
    for (const data of [text, Buffer.from(text, 'latin1')]) {
      const form = `${text.length} chars as ${typeof data === 'string' ? 'text' : 'bytes'}`
      for (const folder of folders) {
        const create = { mode: 'create' as const, data, folderId: { id: folder }, position: 0 }
        t.ok(bytesOf(importBody(folder, create, 'AAMk')).equals(
          Buffer.from(JSON.stringify({ FolderId: folder, Mode: 'create', Data: text }), 'utf8')),
        `create in folder ${folders.indexOf(folder)} (${form}): no ItemId/ChangeKey`)
        const update = { ...create, mode: 'update' as const, itemId: 'x', changeKey: 'CQ\\x' }
        const fields = { FolderId: folder, Mode: 'update', ItemId: 'AAMk"id"é', ChangeKey: 'CQ\\x', Data: text }
        t.ok(bytesOf(importBody(folder, update, 'AAMk"id"é')).equals(Buffer.from(JSON.stringify(fields), 'utf8')),
        `update in folder ${folders.indexOf(folder)} (${form})`)
      }
    }
  }
  const largeItem = { mode: 'create' as const, data: large, folderId: { id: 'f' }, position: 0 }
  t.equal(importBody('f', largeItem, undefined).whole, undefined, 'a large item is not joined into one buffer')
  const bytes = Buffer.from(large, 'latin1')
  const pieces = [...importBody('f', { ...largeItem, data: bytes }, undefined).pieces()]
  t.ok(pieces.slice(1, -1).every((p) => p.buffer === bytes.buffer), 'data given as bytes is sent as slices of them')
})
