/**
 * The Graph simulator never answers a query option it does not implement as if it had applied it:
 * such a request is a 400 in Graph's shape, the way Graph's OData layer refuses it
 * ("Query option 'Search' is not allowed ..."), and the options it does implement work.
 * Also: the v1.0 mailboxFolder shape follows the v1.0 SDK (wellKnownName is a v1.0 property).
 */
import t, { type Test } from 'tap'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { startHarness, type Res } from './graph-helpers.js'

const M = DEMO_MAILBOXES

function refused (t: Test, r: Res, label: string): void {
  t.equal(r.status, 400, `${label}: 400 (${r.text.slice(0, 200)})`)
  t.equal(r.json?.error?.code, 'BadRequest', `${label}: BadRequest`)
  t.type(r.json?.error?.message, 'string')
  t.equal(r.json?.error?.innerError?.['request-id'], r.headers['request-id'])
}

t.test('unsupported query options are refused, never ignored', async (t) => {
  const h = await startHarness(t)
  const G = h.sim.url
  const mbx = (ver: string): string => `${G}/${ver}/admin/exchange/mailboxes/${h.sim.mailboxId(M.carol.guid)}`
  const item = (await h.call('GET', `${mbx('v1.0')}/folders/inbox/items?$top=1`)).json.value[0]
  const cases: Array<[string, string, unknown?]> = [
    ['GET', `${G}/v1.0/users/${M.carol.smtp}/settings/exchange?$select=primaryMailboxId`],
    ['GET', `${G}/beta/users/${M.carol.smtp}/settings/exchange?$expand=foo`],
    ['GET', `${mbx('v1.0')}/folders?$search="inbox"`],
    ['GET', `${mbx('v1.0')}/folders/inbox/childFolders?$search=x`],
    ['GET', `${mbx('v1.0')}/folders/inbox/items?$search="report"`],
    ['GET', `${mbx('v1.0')}/folders/inbox?$filter=displayName eq 'Inbox'`],
    ['GET', `${mbx('v1.0')}/folders/inbox?$orderby=displayName`],
    ['GET', `${mbx('v1.0')}/folders/inbox?$top=1`],
    ['GET', `${mbx('v1.0')}/folders/inbox/items/${item.id as string}?$orderby=size`],
    ['GET', `${mbx('v1.0')}/folders/delta?$filter=displayName eq 'Inbox'`],
    ['GET', `${mbx('v1.0')}/folders/delta?$orderby=displayName`],
    ['GET', `${mbx('v1.0')}/folders/delta?$expand=singleValueExtendedProperties`],
    ['GET', `${mbx('v1.0')}/folders/delta?$search=x`],
    ['GET', `${mbx('v1.0')}/folders/inbox/items/delta?$filter=receivedDateTime ge 2020-01-01T00:00:00Z`],
    ['GET', `${mbx('v1.0')}/folders/inbox/items/delta?$orderby=receivedDateTime desc`],
    ['GET', `${mbx('v1.0')}/folders?$format=json`],
    ['GET', `${mbx('v1.0')}/folders?$apply=groupby((type))`],
    ['GET', `${mbx('v1.0')}/folders?$nonsense=1`],
    ['POST', `${mbx('v1.0')}/exportItems?$select=data`, { itemIds: [item.id] }],
    ['POST', `${mbx('v1.0')}/createImportSession?$select=importUrl`, {}]
  ]
  for (const [method, url, body] of cases) {
    const r = await h.call(method, url, body !== undefined ? { body } : {})
    refused(t, r, `${method} ${url.slice(G.length)}`)
  }
  const search = await h.call('GET', `${mbx('beta')}/folders/inbox/items?$search="report"`)
  t.match(search.json.error.message, /Query option 'Search' is not allowed/, 'worded as Graph words it')
})

t.test('implemented query options work, on v1.0 and beta alike', async (t) => {
  const h = await startHarness(t)
  const G = h.sim.url
  for (const ver of ['v1.0', 'beta']) {
    const mbx = `${G}/${ver}/admin/exchange/mailboxes/${h.sim.mailboxId(M.carol.guid)}`
    const sel = await h.call('GET', `${mbx}/folders?$select=displayName,wellKnownName&$top=50`)
    t.equal(sel.status, 200, `${ver}: $select=wellKnownName (${sel.text.slice(0, 200)})`)
    const inbox = sel.json.value.find((f: any) => f.displayName === 'Inbox')
    t.equal(inbox?.wellKnownName, 'inbox', `${ver}: wellKnownName shown`)
    const filtered = await h.call('GET', `${mbx}/folders?$filter=wellKnownName eq 'inbox'`)
    t.equal(filtered.status, 200, `${ver}: $filter on wellKnownName`)
    t.same(filtered.json.value?.map((f: any) => f.displayName), ['Inbox'])
    const one = await h.call('GET', `${mbx}/folders/inbox?$select=wellKnownName`)
    t.equal(one.json.wellKnownName, 'inbox', `${ver}: get with $select=wellKnownName`)
    const delta = await h.call('GET', `${mbx}/folders/delta?$select=displayName,parentFolderId,wellKnownName`, {
      headers: { prefer: 'odata.maxpagesize=100' }
    })
    t.equal(delta.status, 200)
    t.ok(delta.json.value.some((f: any) => f.wellKnownName === 'sentitems'), `${ver}: delta $select=wellKnownName`)
    const top = await h.call('GET', `${mbx}/folders/inbox/items/delta?$top=2&$select=size`)
    t.equal(top.status, 200)
    t.equal(top.json.value.length, 2, `${ver}: $top sets the item delta page size`)
    t.ok(top.json['@odata.nextLink'] !== undefined)
    const next = await h.call('GET', top.json['@odata.nextLink'])
    t.equal(next.json.value.length, 2, 'the page size is kept in the skiptoken')
    const expand = "singleValueExtendedProperties($filter=id eq 'String 0x0037')"
    const query = `$top=1&$expand=${expand}&$count=true&$skip=1&$orderby=size desc`
    const exp = await h.call('GET', `${mbx}/folders/inbox/items?${query}`)
    t.equal(exp.status, 200, `${ver}: items take $top, $skip, $count, $orderby, $expand together`)
  }
})
