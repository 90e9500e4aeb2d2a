import t from 'tap'
import {
  cursorFailure,
  cursorFromNextLink,
  decodeCursor,
  encodeCursor,
  readCursor,
  type PathPart
} from '../../../src/backends/graph/cursor.js'
import { AccessDenied, FolderNotFound, IdMalformed, UpstreamRejected, UpstreamThrottled } from '../../../src/errors.js'
import { annotate } from '../../../src/upstream/errors.js'

const origin = 'https://graph.example:8443'
const mbx = 'MBX:e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e21@a7809c93-5e0b-4f5c-9d1e-6c2f8d0e4b11'
const tree: PathPart[] = [{ name: 'folders' }, { name: 'delta' }]
const topLevel: PathPart[] = [{ name: 'folders' }]
const opts = { graphOrigin: origin, version: 'v1.0', mailboxIds: [mbx], scope: 'tree', collections: [tree, topLevel] }
const itemsOf = (key: PathPart): PathPart[] => [{ name: 'folders' }, key, { name: 'items' }]

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
  t.throws(
    () => cursorFromNextLink(`https://evil.example/v1.0/admin/exchange/mailboxes/${mbx}/folders`, origin, 'tree'),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' }
  )
})

t.test('forged cursors are rejected with MBG_ERR_BAD_REQUEST', async (t) => {
  const forge = (p: string, s = 'tree'): string => encodeCursor({ v: 1, s, p })
  const bad = [
    forge('//evil.example/v1.0/admin/exchange/mailboxes/x/folders'),
    forge('https://evil.example/v1.0/admin/exchange/mailboxes/x/folders'),
    forge('/v1.0/admin/exchange/mailboxes/MBX:other@t/folders'),
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
  const items = { ...opts, version: 'beta', scope: 'items:F1=', collections: [itemsOf({ id: 'F1=' })] }
  t.throws(() => readCursor(cursor, items), { code: 'MBG_ERR_BAD_REQUEST' })
  t.equal(readCursor(cursor, { ...items, mailboxIds: [mbx, aux] }), link)
})

t.test('decodeCursor validates shape', async (t) => {
  t.same(decodeCursor(encodeCursor({ v: 1, s: 'x', p: '/a' })), { v: 1, s: 'x', p: '/a' })
  t.throws(() => decodeCursor(Buffer.from('{"v":1,"s":1,"p":"/a"}').toString('base64url')), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
})

t.test('a cursor leads only to the exact collection it was issued for', async (t) => {
  const base = `${origin}/v1.0/admin/exchange/mailboxes/${mbx}`
  const inboxItems = { ...opts, scope: 'items:inbox', collections: [itemsOf({ name: 'inbox' })] }
  // The label alone proves nothing: these carry the right scope but address another listing.
  const other = [
    `${base}/folders/calendar/items?%24skip=10`,
    `${base}/folders/inbox/childFolders?%24skip=10`,
    `${base}/folders?%24skip=10`,
    `${base}/folders/delta?%24skiptoken=x`,
    `${base}/folders/inbox/items/delta?%24skip=10`,
    `${base}/folders/inbox/items/I1=?%24skip=10`,
    `${base}/folders/inbox/items/`,
    `${base}/folders/inbox`,
    `${base}/exportItems`,
    `${base}/folders/inbox/childFolders/X%2F/items`,
    `${base}/folders/inbox%2Fitems`
  ]
  for (const link of other) {
    t.throws(
      () => readCursor(cursorFromNextLink(link, origin, 'items:inbox'), inboxItems),
      { code: 'MBG_ERR_BAD_REQUEST', message: /does not/ },
      link
    )
  }
  // Well-known names and path names match case-insensitively; OData key segments are the same path.
  const same = [
    `${base}/folders/inbox/items?%24skip=10`,
    `${base}/Folders/InBox/Items?%24skip=10`,
    `${base}/folders('inbox')/items?%24skip=10`
  ]
  for (const link of same) {
    t.equal(readCursor(cursorFromNextLink(link, origin, 'items:inbox'), inboxItems),
      new URL(link).href, link)
  }

  // Ids match exactly: base64 is case-sensitive, so a differently-cased id is another folder.
  const byId = { ...opts, scope: 'items:AbC1=', collections: [itemsOf({ id: 'AbC1=' })] }
  t.ok(readCursor(cursorFromNextLink(`${base}/folders/AbC1%3D/items?%24skip=5`, origin, 'items:AbC1='), byId))
  t.throws(() => readCursor(cursorFromNextLink(`${base}/folders/abc1=/items?%24skip=5`, origin, 'items:AbC1='), byId), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
  t.throws(() => readCursor(cursorFromNextLink(`${base}/folders/XyZ9=/items?%24skip=5`, origin, 'items:AbC1='), byId), {
    code: 'MBG_ERR_BAD_REQUEST'
  })

  // The folder tree continues only on folders/delta.
  const treeOnly = { ...opts, collections: [tree] }
  t.ok(readCursor(cursorFromNextLink(`${base}/folders/delta?%24skiptoken=abc`, origin, 'tree'), treeOnly))
  t.throws(() => readCursor(cursorFromNextLink(`${base}/folders/inbox/items?%24skip=5`, origin, 'tree'), treeOnly), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
  t.throws(() => readCursor(cursorFromNextLink(`${base}/folders?%24skip=5`, origin, 'tree'), treeOnly), {
    code: 'MBG_ERR_BAD_REQUEST'
  })
})

t.test('following a cursor: refusals of the link become 400, everything else passes through', async (t) => {
  const rejected = annotate(new UpstreamRejected('HTTP 400 BadRequest: The delta or skip token is invalid'),
    { upstreamCode: 'BadRequest', upstreamRequestId: 'r-1' })
  t.match(cursorFailure(rejected), {
    code: 'MBG_ERR_BAD_REQUEST',
    statusCode: 400,
    upstreamCode: 'BadRequest',
    upstreamRequestId: 'r-1',
    message: /restart the listing/
  })
  t.match(cursorFailure(new IdMalformed('x')), { code: 'MBG_ERR_BAD_REQUEST', statusCode: 400 })
  for (const kept of [new FolderNotFound('F='), new AccessDenied('no'), new UpstreamThrottled('slow'),
    new Error('plain')]) {
    t.equal(cursorFailure(kept), kept, String((kept as { code?: string }).code ?? kept.message))
  }
})
