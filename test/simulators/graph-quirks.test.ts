/**
 * The simulator's answer-shape quirks (GraphQuirks): each changes exactly the documented shape.
 */
import t from 'tap'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { startHarness } from './graph-helpers.js'

const M = DEMO_MAILBOXES

t.test('quirks change the answer shapes they name', async (t) => {
  const h = await startHarness(t, { quirks: { settingsShape: 'collection' } })
  const G = h.sim.url
  const mbx = `${G}/beta/admin/exchange/mailboxes/${h.sim.mailboxId(M.carol.guid)}`

  const listed = await h.call('GET', `${G}/beta/users/${M.carol.smtp}/settings/exchange`)
  t.same(listed.json.value, [{
    id: M.carol.guid,
    primaryMailboxId: h.sim.mailboxId(M.carol.guid),
    inPlaceArchiveMailboxId: h.sim.mailboxId(M.carol.archive)
  }])
  h.sim.quirks.settingsShape = 'emptyCollection'
  t.same((await h.call('GET', `${G}/v1.0/users/${M.carol.smtp}/settings/exchange`)).json.value, [])
  h.sim.quirks.settingsShape = 'object'
  const single = await h.call('GET', `${G}/v1.0/users/${M.carol.smtp}/settings/exchange`)
  t.equal(single.json.primaryMailboxId, h.sim.mailboxId(M.carol.guid))

  const prefer = { prefer: 'odata.maxpagesize=200' }
  h.sim.quirks.deltaFolders = 'sparse'
  const sparse = (await h.call('GET', `${mbx}/folders/delta`, { headers: prefer })).json.value[0]
  const keys = ['@odata.type', 'displayName', 'id', 'parentMailboxUrl']
  t.same(Object.keys(sparse).sort(), keys, 'id, displayName, beta\'s routing link')
  const selected = (await h.call('GET', `${mbx}/folders/delta?$select=type`, { headers: prefer })).json.value[0]
  t.ok('type' in selected, '$select is honoured')
  h.sim.quirks.deltaFolders = 'idAndNameOnly'
  const stubborn = (await h.call('GET', `${mbx}/folders/delta?$select=type`, { headers: prefer })).json.value[0]
  t.notOk('type' in stubborn, '$select is not honoured')

  h.sim.quirks.etagOnlyChangeKey = true
  const item = (await h.call('GET', `${mbx}/folders/inbox/items?$top=1`)).json.value[0]
  t.notOk('changeKey' in item)
  t.match(item['@odata.etag'], /^W\/"[A-Za-z0-9+/=]+"$/)

  h.sim.quirks.standardBase64Ids = true
  const ids = (await h.call('GET', `${mbx}/folders?$top=50`)).json.value.map((f: any) => f.id as string)
  t.ok(ids.some((id: string) => /[+/]/.test(id)), 'standard base64 ids')
  const slashed = ids.find((id: string) => id.includes('/')) as string
  const got = await h.call('GET', `${mbx}/folders/${encodeURIComponent(slashed)}`)
  t.equal(got.status, 200, 'accepted back percent-encoded')
  t.equal(got.json.id, slashed)
  const body = { displayName: 'q', type: 'IPF.Note' }
  const created = await h.call('POST', `${mbx}/folders/${encodeURIComponent(slashed)}/childFolders`, { body })
  t.equal(created.status, 201)
  const last = new URL(created.headers.location).pathname.split('/').at(-1) ?? ''
  t.equal(decodeURIComponent(last), created.json.id, 'Location carries the id as one segment')
  t.notOk(last.includes('/'))
})
