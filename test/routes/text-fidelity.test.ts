/**
 * No silent alteration of caller text, on both backend types: text a backend cannot hold
 * (characters XML 1.0 cannot carry, for EWS; the API refuses the same set for Graph, so
 * the contract does not depend on the backend) is refused with a 400 naming the problem,
 * and anything else is stored exactly as sent.
 */
import t from 'tap'
import { fromPublicId } from '../../src/backends/ews/ids.js'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

interface Folder { id: string, displayName: string }
interface Item { id: string, changeKey: string }

/** One of each kind XML 1.0 cannot carry (section 2.2, Char), and unpaired surrogates. */
const REFUSED: Record<string, string> = {
  'U+0000': '\u0000',
  'U+0001': '\u0001',
  'U+0008': '\u0008',
  'U+000B': '\u000b',
  'U+000C': '\u000c',
  'U+000E': '\u000e',
  'U+001F': '\u001f',
  'U+FFFE': '\ufffe',
  'U+FFFF': '\uffff',
  'lone high surrogate': '\ud800',
  'lone low surrogate': '\udc00'
}

/** Unusual but valid text: C1 control, no-break and zero-width spaces, U+FFFD, a pair (emoji), combining marks. */
const KEPT = 'Größe \u0085 a\u00a0b \u200b \ufffd 😀 e\u0301 ✓ <&>"\''

for (const type of ['ews', 'graph'] as const) {
  const mbx = encodeURIComponent(MAILBOXES[type].primary)

  t.test(`${type}: folder names with characters the backend cannot hold are refused, never altered`, async (t) => {
    const { app } = await buildTestGateway(t)
    const folders = `/mailboxes/${mbx}/folders`
    const target = json<Folder>(await app.inject({ method: 'POST', url: folders, payload: { displayName: 'Target' } }))
    for (const [label, ch] of Object.entries(REFUSED)) {
      const displayName = `Bad${ch}Name`
      const created = await app.inject({ method: 'POST', url: folders, payload: { displayName, parentId: 'inbox' } })
      t.equal(created.statusCode, 400, `create with ${label}: ${created.body}`)
      t.equal(json(created).code, 'MBG_ERR_BAD_REQUEST', `create with ${label}`)
      t.match(created.body, /displayName/, `create with ${label}: the problem names the field`)
      const renamed = await app.inject({ method: 'PATCH', url: `${folders}/${target.id}`, payload: { displayName } })
      t.equal(renamed.statusCode, 400, `rename with ${label}: ${renamed.body}`)
    }
    const listed = await app.inject({ method: 'GET', url: `${folders}?parentId=inbox&pageSize=100` })
    const children = json<{ folders: Folder[] }>(listed)
    t.notOk(children.folders.some((f) => f.displayName.startsWith('Bad')), 'nothing was created under another name')
    const reread = json<Folder>(await app.inject({ method: 'GET', url: `${folders}/${target.id}` }))
    t.equal(reread.displayName, 'Target', 'nothing was renamed')
  })

  t.test(`${type}: unusual but valid folder names are stored exactly`, async (t) => {
    const { app } = await buildTestGateway(t)
    const folders = `/mailboxes/${mbx}/folders`
    const payload = { displayName: KEPT, parentId: 'inbox' }
    const created = await app.inject({ method: 'POST', url: folders, payload })
    t.equal(created.statusCode, 201, created.body)
    const folder = json<Folder>(created)
    t.equal(folder.displayName, KEPT, 'the answer carries the name as sent')
    const reread = json<Folder>(await app.inject({ method: 'GET', url: `${folders}/${folder.id}` }))
    t.equal(reread.displayName, KEPT, 'the backend stored the name as sent')
    const name2 = `${KEPT} 2`
    const renamed = await app.inject({
      method: 'PATCH', url: `${folders}/${folder.id}`, payload: { displayName: name2 }
    })
    t.equal(renamed.statusCode, 200, renamed.body)
    t.equal(json<Folder>(renamed).displayName, name2)
  })

  t.test(`${type}: a change key with a character the backend cannot hold is not used as another one`, async (t) => {
    const { app } = await buildTestGateway(t)
    const listed = await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=1` })
    const [item] = json<{ items: Item[] }>(listed).items
    const exported = json<{ results: Array<{ data: string }> }>(await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [item.id] }
    }))
    const changeKey = `${item.changeKey.slice(0, 4)}\u0001${item.changeKey.slice(4)}`
    const res = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [{ folderId: 'inbox', mode: 'update', itemId: item.id, changeKey, data: exported.results[0].data }]
      }
    })
    t.equal(res.statusCode, 200, res.body)
    type Answer = { results: Array<{ error?: { code: string, status: number, message: string } }> }
    const result = json<Answer>(res).results[0]
    t.ok(result.error !== undefined, 'the update did not happen under the real change key')
    if (type === 'ews') {
      t.equal(result.error?.code, 'MBG_ERR_CHANGE_KEY_INVALID', 'EWS: refused before it reaches the server')
      t.equal(result.error?.status, 400)
      t.match(result.error?.message, /U\+0001/, 'the message names the character')
    }
  })
}

/** A '~' public id for `ews` with U+0001 inside (the '~' form carries any text). */
function tamper (ews: string): string {
  return '~' + Buffer.from(`${ews.slice(0, 8)}\u0001${ews.slice(8)}`, 'utf8').toString('base64url')
}

t.test('ews: an id with a character XML cannot carry is malformed, not a different id', async (t) => {
  const { app } = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const inbox = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox` }))
  const ews = fromPublicId(inbox.id)
  // The '~' form carries any text; with U+0001 inside, stripping it would name the inbox.
  const tampered = tamper(ews)
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/${tampered}` })
  t.equal(res.statusCode, 400, res.body)
  t.equal(json(res).code, 'MBG_ERR_ID_MALFORMED')

  const listed = await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=1` })
  const itemEws = fromPublicId(json<{ items: Item[] }>(listed).items[0].id)
  const tamperedItem = tamper(itemEws)
  const payload = { itemIds: [tamperedItem] }
  const exported = await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload })
  t.equal(exported.statusCode, 200, exported.body)
  const code: unknown = json(exported).results[0].error?.code
  t.equal(code, 'MBG_ERR_ID_MALFORMED', 'export: per-item malformed id, not the real item')
})
