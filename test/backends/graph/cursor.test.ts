import t from 'tap'
import { cursorFromNextLink, decodeCursor, encodeCursor, readCursor } from '../../../src/backends/graph/cursor.js'

const origin = 'https://graph.example:8443'
const mbx = 'MBX:e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e21@a7809c93-5e0b-4f5c-9d1e-6c2f8d0e4b11'
const opts = { graphOrigin: origin, version: 'v1.0', mailboxIds: [mbx], scope: 'tree' }

t.test('a nextLink round-trips through an opaque, URL-safe cursor verbatim', async (t) => {
  const next = `${origin}/v1.0/admin/exchange/mailboxes/${mbx}/folders/delta?$skiptoken=abc%3D%3D`
  const cursor = cursorFromNextLink(next, origin, 'tree')
  t.match(cursor, /^[A-Za-z0-9_-]+$/)
  t.notMatch(cursor, /graph\.example/, 'the origin is not part of the cursor')
  t.equal(readCursor(cursor, opts), next)
})

t.test('percent-encoded and OData key forms of the mailbox are accepted', async (t) => {
  const enc = `${origin}/v1.0/admin/exchange/mailboxes/${encodeURIComponent(mbx)}/folders?%24skip=10`
  t.equal(readCursor(cursorFromNextLink(enc, origin, 'tree'), opts), enc)
  const key = `${origin}/v1.0/Admin/Exchange/mailboxes('${encodeURIComponent(mbx)}')/folders?%24skip=10`
  t.equal(readCursor(cursorFromNextLink(key, origin, 'tree'), opts), new URL(key).href)
})

t.test('a nextLink on another origin is refused when building the cursor', async (t) => {
  t.throws(() => cursorFromNextLink(`https://evil.example/v1.0/admin/exchange/mailboxes/${mbx}/folders`, origin, 'tree'),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
})

t.test('forged cursors are rejected with MBG_ERR_BAD_REQUEST', async (t) => {
  const forge = (p: string, s = 'tree'): string => encodeCursor({ v: 1, s, p })
  const bad = [
    forge('//evil.example/v1.0/admin/exchange/mailboxes/x/folders'),
    forge('https://evil.example/v1.0/admin/exchange/mailboxes/x/folders'),
    forge(`/v1.0/admin/exchange/mailboxes/MBX:other@t/folders`),
    forge(`/beta/admin/exchange/mailboxes/${mbx}/folders`),
    forge('/v1.0/users/carol/settings/exchange'),
    forge(`/v1.0/admin/exchange/mailboxes/${mbx}/../../../../users/x`),
    forge(`/v1.0/admin/exchange/mailboxes/${mbx}`),
    forge(`/v1.0/admin/exchange/mailboxes/${mbx}/folders`, 'items:inbox'),
    'not*base64',
    Buffer.from('{"v":2}').toString('base64url'),
    Buffer.from('nonsense').toString('base64url')
  ]
  for (const c of bad) t.throws(() => readCursor(c, opts), { code: 'MBG_ERR_BAD_REQUEST' }, c)
})

t.test('auxiliary mailboxes Graph redirected to are accepted when listed', async (t) => {
  const aux = 'MBX:aux@t'
  const link = `${origin}/beta/admin/exchange/mailboxes/${aux}/folders/F1=/items?%24skip=10`
  const cursor = cursorFromNextLink(link, origin, 'items:F1=')
  t.throws(() => readCursor(cursor, { ...opts, version: 'beta', scope: 'items:F1=' }), { code: 'MBG_ERR_BAD_REQUEST' })
  t.equal(readCursor(cursor, { ...opts, version: 'beta', scope: 'items:F1=', mailboxIds: [mbx, aux] }), link)
})

t.test('decodeCursor validates shape', async (t) => {
  t.same(decodeCursor(encodeCursor({ v: 1, s: 'x', p: '/a' })), { v: 1, s: 'x', p: '/a' })
  t.throws(() => decodeCursor(Buffer.from('{"v":1,"s":1,"p":"/a"}').toString('base64url')), { code: 'MBG_ERR_BAD_REQUEST' })
})
