/** Folder-name limits are checked in the unit the backends count (UTF-16 code units), on both backends. */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

const EMOJI = '\u{1F4E6}' // one character, two UTF-16 code units

for (const type of ['ews', 'graph'] as const) {
  t.test(`${type}: 128 emoji (256 units) is a 400; 127 (254 units) is created`, async (t) => {
    const mbx = encodeURIComponent(MAILBOXES[type].primary)
    const { app } = await buildTestGateway(t)
    const tooLong = await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName: EMOJI.repeat(128) }
    })
    t.equal(tooLong.statusCode, 400, tooLong.body)
    t.match(json(tooLong), { code: 'MBG_ERR_BAD_REQUEST', detail: /256 UTF-16 code units/ })

    const fits = await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName: EMOJI.repeat(127) }
    })
    t.equal(fits.statusCode, 201, fits.body)
    const created = json<{ id: string, displayName: string }>(fits)
    t.equal(created.displayName, EMOJI.repeat(127), 'stored exactly')

    const rename = await app.inject({
      method: 'PATCH', url: `/mailboxes/${mbx}/folders/${created.id}`, payload: { displayName: EMOJI.repeat(128) }
    })
    t.equal(rename.statusCode, 400, rename.body)
  })
}

t.test('names the backend would take for its own special folders are not ids, on both backends', async (t) => {
  const { app } = await buildTestGateway(t)
  for (const type of ['ews', 'graph'] as const) {
    const mbx = encodeURIComponent(MAILBOXES[type].primary)
    for (const name of ['msgfolderroot', 'recoverableitemsdeletions', 'SearchFolders']) {
      const res = await app.inject({ url: `/mailboxes/${mbx}/folders/${name}` })
      t.equal(res.statusCode, 400, `${type} ${name}: ${res.body}`)
      t.equal(json(res).code, 'MBG_ERR_ID_MALFORMED')
    }
    const own = await app.inject({ url: `/mailboxes/${mbx}/folders/Inbox` })
    t.equal(own.statusCode, 200, `${type}: the gateway's own names work`)
  }
})
