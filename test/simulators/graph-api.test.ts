import t, { type Test } from 'tap'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { makeId } from '../../src/simulators/store/store.js'
import { toWireId } from '../../src/simulators/graph/index.js'
import { startHarness, type Harness, type Res } from './graph-helpers.js'
import { captureLogs } from '../helpers/logs.js'

const M = DEMO_MAILBOXES

function assertGraphError (t: Test, r: Res, status: number, code: string): void {
  t.equal(r.status, status, `status ${status} (${r.text.slice(0, 200)})`)
  t.equal(r.json?.error?.code, code)
  t.type(r.json?.error?.message, 'string')
  t.equal(
    r.json?.error?.innerError?.['request-id'],
    r.headers['request-id'],
    'innerError carries the request-id header'
  )
  t.match(r.json?.error?.innerError?.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/)
}

/** Follows @odata.nextLink to the end and returns all values (and the pages seen). */
async function collect (h: Harness, url: string,
  headers: Record<string, string> = {}): Promise<{ values: any[], pages: Res[] }> {
  const values: any[] = []
  const pages: Res[] = []
  let next: string | undefined = url
  while (next !== undefined) {
    const r = await h.call('GET', next, { headers })
    if (r.status !== 200) throw new Error(`GET ${next} → ${r.status} ${r.text}`)
    pages.push(r)
    values.push(...r.json.value)
    next = r.json['@odata.nextLink']
  }
  return { values, pages }
}

async function deltaRound (h: Harness, url: string,
  pageSize: number): Promise<{ values: any[], deltaLink: string, pages: number }> {
  const values: any[] = []
  let next: string | undefined = url
  let pages = 0
  for (;;) {
    const r = await h.call('GET', next, { headers: { prefer: `odata.maxpagesize=${pageSize}` } })
    if (r.status !== 200) throw new Error(`GET ${next} → ${r.status} ${r.text}`)
    pages++
    values.push(...r.json.value)
    if (r.json['@odata.deltaLink'] !== undefined) return { values, deltaLink: r.json['@odata.deltaLink'], pages }
    next = r.json['@odata.nextLink']
    if (next === undefined) throw new Error('neither nextLink nor deltaLink')
  }
}

t.test('Graph simulator API', async (t) => {
  const h = await startHarness(t)
  const G = h.sim.url
  const carol = h.sim.mailboxId(M.carol.guid)
  const bob = h.sim.mailboxId(M.bob.guid)
  const daveArchive = h.sim.mailboxId(M.dave.archive)
  const daveAux = h.sim.mailboxId(M.dave.aux)
  const mb = (ver: string, mbx: string): string => `${G}/${ver}/admin/exchange/mailboxes/${mbx}`

  t.test('settings/exchange: one object; archive id on beta only', async (t) => {
    const beta = await h.call('GET', `${G}/beta/users/${M.carol.smtp}/settings/exchange`)
    t.equal(beta.status, 200)
    t.equal(beta.json.primaryMailboxId, carol)
    t.equal(beta.json.inPlaceArchiveMailboxId, h.sim.mailboxId(M.carol.archive))
    t.match(
      beta.json['@odata.context'],
      /\/beta\/\$metadata#users\('carol%40contoso\.example'\)\/settings\/exchange\/\$entity$/
    )
    t.match(beta.headers['request-id'], /^[0-9a-f-]{36}$/)
    const v1 = await h.call('GET', `${G}/v1.0/users/${encodeURIComponent(M.carol.smtp)}/settings/exchange`, {
      headers: { 'client-request-id': 'abc-123' }
    })
    t.equal(v1.status, 200)
    t.equal(v1.json.primaryMailboxId, carol)
    t.notOk('inPlaceArchiveMailboxId' in v1.json, 'v1.0 lacks inPlaceArchiveMailboxId')
    t.equal(v1.headers['client-request-id'], 'abc-123')
    const noArchive = await h.call('GET', `${G}/beta/users/${M.bob.smtp}/settings/exchange`)
    t.equal(noArchive.json.inPlaceArchiveMailboxId, null)
    const byKey = await h.call('GET', `${G}/beta/users('${encodeURIComponent(M.dave.smtp)}')/settings/exchange`)
    t.equal(byKey.json.inPlaceArchiveMailboxId, daveArchive)
    assertGraphError(
      t,
      await h.call('GET', `${G}/v1.0/users/nobody@contoso.example/settings/exchange`),
      404,
      'ErrorInvalidUser'
    )
  })

  t.test('auth: 401 and 403 in Graph shape', async (t) => {
    const url = `${mb('v1.0', carol)}/folders`
    const none = await h.call('GET', url, { token: null })
    assertGraphError(t, none, 401, 'InvalidAuthenticationToken')
    assertGraphError(t, await h.call('GET', url, { token: 'not-a-jwt' }), 401, 'InvalidAuthenticationToken')
    const expired = await h.token(undefined, { exp: Math.floor(Date.now() / 1000) - 60 })
    assertGraphError(t, await h.call('GET', url, { token: expired }), 401, 'InvalidAuthenticationToken')
    const wrongAud = await h.call('GET', url, {
      token: await h.token(undefined, { aud: 'https://outlook.office365.com' })
    })
    t.equal(wrongAud.status, 200, 'the harness token builder forces the Graph audience')
    assertGraphError(t, await h.call('GET', url, { roles: ['MailboxItem.Read.All'] }), 403, 'ErrorAccessDenied')
    t.equal((await h.call('GET', url, { roles: ['MailboxFolder.Read.All'] })).status, 200)
    assertGraphError(
      t,
      await h.call('POST', url, { roles: ['MailboxFolder.Read.All'], body: { displayName: 'x', type: 'IPF.Note' } }),
      403,
      'ErrorAccessDenied'
    )
    assertGraphError(
      t,
      await h.call('GET', `${url}/inbox/items`, { roles: ['MailboxItem.ImportExport.All'] }),
      403,
      'ErrorAccessDenied'
    )
    assertGraphError(
      t,
      await h.call('POST', `${mb('v1.0', carol)}/exportItems`, {
        roles: ['MailboxItem.Read.All'],
        body: { itemIds: ['x'] }
      }),
      403,
      'ErrorAccessDenied'
    )
    assertGraphError(
      t,
      await h.call('POST', `${mb('v1.0', carol)}/createImportSession`, { roles: ['MailboxItem.Export.All'] }),
      403,
      'ErrorAccessDenied'
    )
    assertGraphError(
      t,
      await h.call('GET', `${G}/beta/users/${M.carol.smtp}/settings/exchange`, { roles: ['Calendars.Read'] }),
      403,
      'ErrorAccessDenied'
    )
  })

  t.test('folders: list with paging, key segments, well-known names, CRUD', async (t) => {
    const { values, pages } = await collect(h, `${mb('v1.0', carol)}/folders?$top=5`)
    t.equal(pages.length, 3)
    t.match(pages[0].json['@odata.nextLink'], /\/folders\?%24top=5&%24skip=5$/)
    t.same(
      values.map((f) => f.displayName),
      [
        'Inbox',
        'Drafts',
        'Sent Items',
        'Deleted Items',
        'Outbox',
        'Junk Email',
        'Archive',
        'Calendar',
        'Contacts',
        'Tasks',
        'Notes',
        'Journal'
      ]
    )
    const inbox = values[0]
    t.equal(inbox['@odata.type'], '#microsoft.graph.mailboxFolder')
    t.equal(inbox.totalItemCount, 35)
    t.equal(inbox.childFolderCount, 1)
    t.notOk('parentMailboxUrl' in inbox, 'v1.0 has no parentMailboxUrl')
    t.match(inbox.id, /^[A-Za-z0-9_-]+=*$/, 'URL-safe id')
    t.equal(inbox.id, toWireId(h.store.wellKnownFolder(M.carol.guid, 'inbox').id))

    const filtered = await h.call(
      'GET',
      `${mb('v1.0', carol)}/folders?$filter=type eq 'IPF.Appointment'&$select=displayName`
    )
    t.same(filtered.json.value.map((f: any) => f.displayName), ['Calendar'])
    t.same(Object.keys(filtered.json.value[0]).sort(), ['@odata.type', 'displayName', 'id'])
    t.equal((await h.call('GET', `${mb('v1.0', carol)}/folders?$select=nope`)).status, 400)

    const byName = await h.call('GET', `${mb('v1.0', carol)}/folders/InBox`)
    t.equal(byName.status, 200)
    t.equal(byName.json.id, inbox.id)
    t.match(byName.json['@odata.context'], /\/folders\/\$entity$/)
    const keyForm = await h.call(
      'GET',
      `${G}/beta/admin/exchange/mailboxes('${encodeURIComponent(carol)}')/folders('${inbox.id}')`
    )
    t.equal(keyForm.status, 200)
    t.equal(keyForm.json.wellKnownName, 'inbox')
    t.equal(keyForm.json.parentMailboxUrl, mb('beta', carol))
    const encoded = await h.call('GET', `${mb('v1.0', encodeURIComponent(carol))}/folders/${inbox.id}`)
    t.equal(encoded.json.displayName, 'Inbox')
    const deletions = await h.call('GET', `${mb('v1.0', carol)}/folders/recoverableitemsdeletions`)
    t.equal(deletions.json.displayName, 'Deletions')
    for (const [name, displayName] of [['journal', 'Journal'], ['Notes', 'Notes'], ['calendar', 'Calendar'],
      ['archive', 'Archive'],
      ['msgfolderroot', h.store.requireFolder(h.store.requireMailbox(M.carol.guid).msgRootId).displayName]]) {
      const wk = await h.call('GET', `${mb('v1.0', carol)}/folders/${name}`)
      t.equal(wk.status, 200, name)
      t.equal(wk.json.displayName, displayName, name)
    }
    t.equal((await h.call('GET', `${mb('beta', carol)}/folders/journal`)).json.wellKnownName, 'journal')

    const children = await h.call('GET', `${mb('v1.0', carol)}/folders/${inbox.id}/childFolders`)
    t.same(children.json.value.map((f: any) => f.displayName), ['Projects'])
    t.match(children.json['@odata.context'], /folders\('[^']+'\)\/childFolders$/)
    const projects = children.json.value[0]
    const gamma = (await h.call('GET', `${mb('v1.0', carol)}/folders/${projects.id}/childFolders`)).json.value[0]
    const nested = await h.call('GET', `${mb('v1.0', carol)}/folders/${inbox.id}/childFolders/${projects.id}`)
    t.equal(nested.json.id, projects.id)
    assertGraphError(
      t,
      await h.call('GET', `${mb('v1.0', carol)}/folders/${inbox.id}/childFolders/${gamma.id}`),
      404,
      'ErrorItemNotFound'
    )

    assertGraphError(t, await h.call('GET', `${mb('v1.0', carol)}/folders/not-an-id`), 400, 'ErrorInvalidIdMalformed')
    assertGraphError(
      t,
      await h.call('GET', `${mb('v1.0', carol)}/folders/${toWireId(h.store.wellKnownFolder(M.bob.guid, 'inbox').id)}`),
      404,
      'ErrorItemNotFound'
    )
    assertGraphError(t, await h.call('GET', `${mb('v1.0', 'MBX:bogus')}/folders`), 400, 'ErrorInvalidMailboxId')
    assertGraphError(
      t,
      await h.call('GET', `${mb('v1.0', h.sim.mailboxId('00000000-0000-0000-0000-000000000000'))}/folders`),
      404,
      'ResourceNotFound'
    )
    assertGraphError(t, await h.call('GET', `${mb('v1.0', carol)}/nothing`), 400, 'BadRequest')
    assertGraphError(t, await h.call('PUT', `${mb('v1.0', carol)}/folders`), 405, 'BadRequest')

    const created = await h.call('POST', `${mb('v1.0', carol)}/folders`, {
      body: { displayName: 'Restored', type: 'IPF.Note' }
    })
    t.equal(created.status, 201)
    t.equal(created.json.displayName, 'Restored')
    t.equal(created.json.parentFolderId, inbox.parentFolderId)
    t.equal(created.json.totalItemCount, 0)
    assertGraphError(
      t,
      await h.call('POST', `${mb('v1.0', carol)}/folders`, { body: { displayName: 'restored', type: 'IPF.Note' } }),
      409,
      'ErrorFolderExists'
    )
    t.equal((await h.call('POST', `${mb('v1.0', carol)}/folders`, { body: { displayName: 'NoType' } })).status, 400)
    t.equal(
      (
        await h.call('POST', `${mb('v1.0', carol)}/folders`, {
          body: { displayName: 'X', type: 'IPF.Note', color: 'red' }
        })
      ).status,
      400
    )
    const child = await h.call('POST', `${mb('v1.0', carol)}/folders/inbox/childFolders`, {
      body: { displayName: 'Sub', type: 'IPF.Appointment' }
    })
    t.equal(child.status, 201)
    t.equal(child.json.parentFolderId, inbox.id)
    t.equal(child.json.type, 'IPF.Appointment')

    const renamed = await h.call('PATCH', `${mb('v1.0', carol)}/folders/${created.json.id}`, {
      body: { displayName: 'Renamed' }
    })
    t.equal(renamed.status, 200)
    t.equal(renamed.json.displayName, 'Renamed')
    assertGraphError(
      t,
      await h.call('PATCH', `${mb('v1.0', carol)}/folders/${created.json.id}`, { body: { type: 'IPF.Contact' } }),
      400,
      'BadRequest'
    )
    const viaChild = await h.call('PATCH', `${mb('v1.0', carol)}/folders/inbox/childFolders/${child.json.id}`, {
      body: { displayName: 'Sub2' }
    })
    t.equal(viaChild.json.displayName, 'Sub2')
    t.equal((await h.call('DELETE', `${mb('v1.0', carol)}/folders/inbox/childFolders/${child.json.id}`)).status, 204)
    const del = await h.call('DELETE', `${mb('v1.0', carol)}/folders/${created.json.id}`)
    t.equal(del.status, 204)
    t.equal(del.text, '')
    assertGraphError(
      t,
      await h.call('GET', `${mb('v1.0', carol)}/folders/${created.json.id}`),
      404,
      'ErrorItemNotFound'
    )
    assertGraphError(
      t,
      await h.call('DELETE', `${mb('v1.0', carol)}/folders/inbox`),
      403,
      'ErrorDeleteDistinguishedFolder'
    )
  })

  t.test('items: paging, $filter, $orderby, $count, $select, $expand, get, delete', async (t) => {
    const base = `${mb('v1.0', carol)}/folders/inbox/items`
    const { values, pages } = await collect(h, base)
    t.equal(values.length, 35, 'associated items are not listed')
    t.equal(pages.length, 4, 'default page of 10')
    t.match(pages[0].json['@odata.nextLink'], /\/items\?%24skip=10$/)
    const first = values[0]
    t.equal(first['@odata.etag'], `W/"${first.changeKey}"`)
    t.same(first.categories, [])
    t.equal(first.type, 'IPM.Note')
    t.type(first.size, 'number')
    t.equal(new Set(values.map((v) => v.id)).size, 35)

    const sorted = [...values].sort((a, b) => a.createdDateTime < b.createdDateTime ? -1 : 1)
    const lo = sorted[5].createdDateTime
    const hi = sorted[15].createdDateTime
    const inRange = await collect(h, `${base}?$filter=createdDateTime ge ${lo} and createdDateTime lt ${hi}&$top=4`)
    t.equal(inRange.values.length, 10)
    t.ok(inRange.values.every((v) => v.createdDateTime >= lo && v.createdDateTime < hi))
    t.match(inRange.pages[0].json['@odata.nextLink'], /%24filter=createdDateTime%20ge%20/)
    const dateOnly = await h.call('GET', `${base}?$filter=createdDateTime ge 2000-01-01&$count=true&$top=1`)
    t.equal(dateOnly.json['@odata.count'], 35)
    const byType = await h.call(
      'GET',
      `${mb('v1.0', carol)}/folders/calendar/items?$filter=type eq 'IPM.Appointment'&$count=true`
    )
    t.equal(byType.json['@odata.count'], 10)
    const none = await h.call('GET', `${base}?$filter=type eq 'IPM.Appointment'`)
    t.same(none.json.value, [])
    t.equal((await h.call('GET', `${base}?$filter=subject eq 'x'`)).status, 400)
    t.equal((await h.call('GET', `${base}?$filter=createdDateTime ge`)).status, 400)

    const desc = await h.call('GET', `${base}?$orderby=createdDateTime desc&$top=3&$select=createdDateTime,size`)
    t.same(
      desc.json.value.map((v: any) => v.createdDateTime),
      [...sorted]
        .reverse()
        .slice(0, 3)
        .map((v) => v.createdDateTime)
    )
    t.same(Object.keys(desc.json.value[0]).sort(), ['@odata.etag', '@odata.type', 'createdDateTime', 'id', 'size'])

    const one = await h.call(
      'GET',
      `${base}/${first.id}?$expand=singleValueExtendedProperties($filter=id eq 'String 0x0037')`
    )
    t.equal(one.status, 200)
    t.match(one.json['@odata.context'], /\/items\/\$entity$/)
    const stored = h.store.requireItem(first.id.replace(/-/g, '+').replace(/_/g, '/'))
    t.same(one.json.singleValueExtendedProperties, [{ id: 'String 0x37', value: stored.subject }])
    assertGraphError(
      t,
      await h.call('GET', `${mb('v1.0', carol)}/folders/drafts/items/${first.id}`),
      404,
      'ErrorItemNotFound'
    )

    assertGraphError(t, await h.call('DELETE', `${base}/${first.id}`), 400, 'ErrorInvalidRequest')
    const deletionsBefore = h.store.itemsIn(
      h.store.wellKnownFolder(M.carol.guid, 'recoverableitemsdeletions').id
    ).length
    t.equal((await h.call('DELETE', `${base}/${first.id}?disposalType=softDelete`)).status, 204)
    assertGraphError(t, await h.call('GET', `${base}/${first.id}`), 404, 'ErrorItemNotFound')
    const deletions = h.store.itemsIn(h.store.wellKnownFolder(M.carol.guid, 'recoverableitemsdeletions').id)
    t.equal(deletions.length, deletionsBefore + 1, 'softDelete keeps a copy in Recoverable Items')
    t.equal(deletions.at(-1)?.size, first.size)
    t.equal(
      (await h.call('DELETE', `${base}/${values[1].id}?disposalType=hardDelete`, { roles: ['MailboxItem.Read.All'] }))
        .status,
      403
    )
    t.equal((await h.call('DELETE', `${base}/${values[1].id}?disposalType=hardDelete`)).status, 204)
    t.equal(
      h.store.itemsIn(h.store.wellKnownFolder(M.carol.guid, 'recoverableitemsdeletions').id).length,
      deletionsBefore + 1
    )
  })

  t.test('folder and item delta rounds', async (t) => {
    const url = `${mb('v1.0', bob)}/folders/delta`
    const r1 = await deltaRound(h, url, 4)
    const tree = h.store.descendants(h.store.requireMailbox(M.bob.guid).msgRootId)
    t.equal(r1.values.length, tree.length, 'initial round lists the whole IPM subtree')
    t.equal(r1.pages, Math.ceil(tree.length / 4))
    t.match(r1.deltaLink, /\/folders\/delta\?%24deltatoken=/)
    const empty = await deltaRound(h, r1.deltaLink, 4)
    t.same(empty.values, [], 'no changes, no entries')

    const made = await h.call('POST', `${mb('v1.0', bob)}/folders`, {
      body: { displayName: 'New One', type: 'IPF.Note' }
    })
    const doomed = tree.find((f) => f.displayName === '2026')
    if (doomed === undefined) throw new Error('seed changed')
    t.equal((await h.call('DELETE', `${mb('v1.0', bob)}/folders/${toWireId(doomed.id)}`)).status, 204)
    const r2 = await deltaRound(h, empty.deltaLink, 50)
    const byId = new Map(r2.values.map((v) => [v.id, v]))
    t.equal(byId.get(made.json.id)?.displayName, 'New One')
    t.same(byId.get(toWireId(doomed.id)), { id: toWireId(doomed.id), '@removed': { reason: 'deleted' } })

    const child = await deltaRound(h, `${mb('v1.0', bob)}/folders/inbox/childFolders/delta`, 10)
    t.same(child.values.map((v) => v.displayName), ['Receipts'])
    const sel = await deltaRound(h, `${url}?$select=displayName`, 100)
    t.same(Object.keys(sel.values[0]).sort(), ['@odata.type', 'displayName', 'id'])
    t.equal((await h.call('GET', `${url}?$deltatoken=garbage`)).status, 400)
    t.equal(
      (await h.call('GET', `${mb('v1.0', carol)}/folders/delta?${new URL(r1.deltaLink).search.slice(1)}`)).status,
      400,
      'token bound to its mailbox'
    )

    const items = `${mb('v1.0', bob)}/folders/sentitems/items/delta`
    const i1 = await deltaRound(h, items, 3)
    t.equal(i1.values.length, 10)
    t.equal(i1.pages, 4)
    const victim = i1.values[0].id
    t.equal(
      (await h.call('DELETE', `${mb('v1.0', bob)}/folders/sentitems/items/${victim}?disposalType=hardDelete`)).status,
      204
    )
    const i2 = await deltaRound(h, i1.deltaLink, 3)
    t.same(i2.values, [{ id: victim, '@removed': { reason: 'deleted' } }])
  })

  t.test('exportItems: ≤20 ids, per-item errors', async (t) => {
    const inbox = (await h.call('GET', `${mb('v1.0', bob)}/folders/inbox/items?$top=21`)).json.value
    const ids: string[] = inbox.map((i: any) => i.id)
    const ok = await h.call('POST', `${mb('v1.0', bob)}/exportItems`, { body: { itemIds: ids.slice(0, 20) } })
    t.equal(ok.status, 200)
    t.match(ok.json['@odata.context'], /#Collection\(microsoft\.graph\.exportItemResponse\)$/)
    t.equal(ok.json.value.length, 20)
    const first = ok.json.value[0]
    t.equal(first.itemId, ids[0])
    t.equal(first.changeKey, inbox[0].changeKey)
    t.ok(
      Buffer.from(first.data, 'base64').equals(
        h.store.requireItem(ids[0].replace(/-/g, '+').replace(/_/g, '/')).blob()
      ),
      'data is the stored stream'
    )
    assertGraphError(
      t,
      await h.call('POST', `${mb('v1.0', bob)}/exportItems`, { body: { itemIds: ids } }),
      400,
      'ErrorInvalidParameter'
    )
    assertGraphError(
      t,
      await h.call('POST', `${mb('v1.0', bob)}/exportItems`, { body: {} }),
      400,
      'ErrorInvalidParameter'
    )
    const pascal = await h.call('POST', `${mb('v1.0', bob)}/exportItems`, { body: { ItemIds: [ids[1]] } })
    t.equal(pascal.json.value[0].itemId, ids[1])

    const carolItem = toWireId(h.store.itemsIn(h.store.wellKnownFolder(M.carol.guid, 'inbox').id)[0].id)
    const missing = toWireId(makeId(M.bob.guid, 2, 'no-such-item'))
    const mixed = await h.call('POST', `${mb('v1.0', bob)}/exportItems`, {
      body: { itemIds: [carolItem, missing, 'garbage!', ids[2]] }
    })
    t.equal(mixed.status, 200)
    const [foreign, gone, bad, good] = mixed.json.value
    t.same(foreign, {
      itemId: carolItem,
      error: {
        code: 'ErrorInvalidMailboxItemId',
        message: `Item '${carolItem}' doesn't belong to the targeted mailbox '${bob}'.`
      }
    })
    t.equal(gone.error.code, 'ErrorItemNotFound')
    t.notOk('data' in gone)
    t.equal(bad.error.code, 'ErrorInvalidIdMalformed')
    t.type(good.data, 'string')
  })

  t.test('import: session, create, byte-identical round trip, update, errors', async (t) => {
    const src = h.store.itemsIn(h.store.wellKnownFolder(M.carol.guid, 'inbox').id)[3]
    const exported = (
      await h.call('POST', `${mb('v1.0', carol)}/exportItems`, { body: { itemIds: [toWireId(src.id)] } })
    ).json.value[0]
    const session = await h.call('POST', `${mb('v1.0', bob)}/createImportSession`, { body: {} })
    t.equal(session.status, 201)
    t.match(session.json['@odata.context'], /#microsoft\.graph\.mailboxItemImportSession$/)
    const importUrl: string = session.json.importUrl
    t.ok(importUrl.startsWith(`${h.sim.importOrigin}/api/gv1.0/Mailboxes('${bob}')/importItem?authtoken=`))
    t.ok(Date.parse(session.json.expirationDateTime) > Date.now() + 800_000)
    const before = h.sim.stats.sessionsCreated
    t.equal((await h.call('POST', `${mb('beta', bob)}/createImportSession`)).status, 201, 'no body is fine')
    t.equal(h.sim.stats.sessionsCreated, before + 1)

    const receipts = (await h.call('GET', `${mb('v1.0', bob)}/folders/inbox/childFolders`)).json.value[0]
    const created = await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: receipts.id, Mode: 'create', Data: exported.data }
    })
    t.equal(created.status, 200, created.text)
    t.match(created.json['@odata.context'], /\/api\/gv1\.0\/\$metadata#microsoft\.graph\.importMailboxItemResponse$/)
    t.type(created.json.changeKey, 'string')
    const again = await h.call('POST', `${mb('v1.0', bob)}/exportItems`, { body: { itemIds: [created.json.itemId] } })
    t.equal(again.json.value[0].data, exported.data, 'export → import → export is byte-identical')
    const listed = await h.call('GET', `${mb('v1.0', bob)}/folders/${receipts.id}/items/${created.json.itemId}`)
    t.equal(listed.json.size, Buffer.from(exported.data, 'base64').length)
    // The documented body has no field for folder-associated items: a key borrowed from EWS makes no FAI.
    const receiptsFolder = receipts.id.replace(/-/g, '+').replace(/_/g, '/')
    await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: receipts.id, Mode: 'create', Data: exported.data, IsAssociated: true }
    })
    t.same(h.store.itemsIn(receiptsFolder, true), [], 'IsAssociated is not a Graph field: no FAI is made')

    const withId = await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: receipts.id, Mode: 'create', Data: exported.data, ItemId: created.json.itemId }
    })
    t.equal(withId.status, 400)
    t.type(withId.json.Message, 'string')
    t.notOk('error' in withId.json, 'import errors are not in the Graph shape')
    const long = Buffer.alloc(3000, 9).toString('base64')
    for (const Data of ['%%%=', `${long.slice(0, 2000)}*${long.slice(2001)}`, `-${long.slice(1)}`, `${long}\r\n`]) {
      const body = { FolderId: receipts.id, Mode: 'create', Data }
      const bad = await h.call('POST', importUrl, { token: null, body })
      t.equal(bad.status, 400, `Data ${Data.slice(0, 8)}… of ${Data.length} characters`)
      t.match(bad.json.Message, /'Data' is not valid base64/)
    }
    const noKey = await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: receipts.id, Mode: 'update', Data: exported.data, ItemId: created.json.itemId }
    })
    t.equal(noKey.status, 400)
    const updated = await h.call('POST', importUrl, {
      token: null,
      body: {
        FolderId: receipts.id,
        Mode: 'update',
        Data: exported.data,
        ItemId: created.json.itemId,
        ChangeKey: created.json.changeKey
      }
    })
    t.equal(updated.status, 200)
    t.equal(updated.json.itemId, created.json.itemId, 'update keeps the id')
    t.not(updated.json.changeKey, created.json.changeKey, 'update issues a new change key')
    const stale = await h.call('POST', importUrl, {
      token: null,
      body: {
        FolderId: receipts.id,
        Mode: 'update',
        Data: exported.data,
        ItemId: created.json.itemId,
        ChangeKey: created.json.changeKey
      }
    })
    t.equal(stale.status, 409)
    t.type(stale.json.Message, 'string')
    t.match(stale.json.Message, /ChangeKey does not match the current version/)
    const wrongFolder = await h.call('POST', importUrl, {
      token: null,
      body: {
        FolderId: 'inbox',
        Mode: 'update',
        Data: exported.data,
        ItemId: created.json.itemId,
        ChangeKey: updated.json.changeKey
      }
    })
    t.equal(wrongFolder.status, 400)
    // Each way an update can miss its item says so distinctly; only a stale key is a conflict.
    const update = async (ItemId: string,
      ChangeKey: string = updated.json.changeKey): Promise<{ status: number, message: string }> => {
      const r = await h.call('POST', importUrl, {
        token: null,
        body: { FolderId: receipts.id, Mode: 'update', Data: exported.data, ItemId, ChangeKey }
      })
      return { status: r.status, message: r.json?.Message }
    }
    const notFound = { status: 400, message: 'The item specified by ItemId was not found in the target folder.' }
    t.same(wrongFolder.json.Message, notFound.message, 'FolderId names another folder')
    t.same(
      await update(toWireId(h.store.itemsIn(h.store.wellKnownFolder(M.bob.guid, 'inbox').id)[0].id)),
      notFound,
      'an item of another folder'
    )
    t.same(await update(toWireId(src.id)), notFound, 'an item of another mailbox')
    t.same(await update(receipts.id), notFound, 'a folder id')
    const gone = h.store.createItem(
      receipts.id.replace(/-/g, '+').replace(/_/g, '/'),
      Buffer.from(exported.data, 'base64')
    )
    h.store.deleteItem(gone.id)
    t.same(await update(toWireId(gone.id)), notFound, 'a deleted item')
    t.same(await update('AAAA'), { status: 400, message: 'The ItemId is malformed.' })
    t.same(await update('not an id at all'), { status: 400, message: 'The ItemId is malformed.' })
    t.same(await update(created.json.itemId, '%%%'), { status: 400, message: 'The ChangeKey is malformed.' })
    t.same(await update(created.json.itemId, created.json.changeKey), {
      status: 409,
      message: 'The ChangeKey does not match the current version of the item.'
    })
    t.equal((await update(created.json.itemId)).status, 200, 'the current key still works')
    const corrupt = await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: 'inbox', Mode: 'create', Data: Buffer.from('not a stream at all').toString('base64') }
    })
    t.equal(corrupt.status, 400)
    t.match(corrupt.json.Message, /not a valid item stream/)
    t.equal(
      (
        await h.call('POST', importUrl, {
          token: null,
          body: { folderId: 'inbox', mode: 'create', data: exported.data }
        })
      ).status,
      400,
      'keys are PascalCase'
    )
    const carolFolder = toWireId(h.store.wellKnownFolder(M.carol.guid, 'inbox').id)
    t.equal(
      (
        await h.call('POST', importUrl, {
          token: null,
          body: { FolderId: carolFolder, Mode: 'create', Data: exported.data }
        })
      ).status,
      404,
      'folder of another mailbox'
    )

    const withAuth = await h.call('POST', importUrl, {
      body: { FolderId: 'inbox', Mode: 'create', Data: exported.data }
    })
    t.equal(withAuth.status, 401, 'no Authorization header on the import URL')
    const tampered = importUrl.replace(/authtoken=(.*)$/, (_m, tok: string) => `authtoken=${tok.slice(0, -2)}xx`)
    t.equal(
      (
        await h.call('POST', tampered, {
          token: null,
          body: { FolderId: 'inbox', Mode: 'create', Data: exported.data }
        })
      ).status,
      401
    )
    t.equal(
      (
        await h.call('POST', importUrl.replace(bob, carol), {
          token: null,
          body: { FolderId: 'inbox', Mode: 'create', Data: exported.data }
        })
      ).status,
      401,
      'token bound to its mailbox'
    )

    h.sim.faults.expireSessions = true
    const expired = await h.call('POST', importUrl, {
      token: null,
      body: { FolderId: 'inbox', Mode: 'create', Data: exported.data }
    })
    t.equal(expired.status, 401)
    t.match(expired.json.Message, /expired/)
    const fresh = (await h.call('POST', `${mb('v1.0', bob)}/createImportSession`)).json.importUrl
    t.equal(
      (await h.call('POST', fresh, { token: null, body: { FolderId: 'inbox', Mode: 'create', Data: exported.data } }))
        .status,
      200,
      'a new session works'
    )
  })

  t.test('archives: beta only; auxiliary archive redirects, per-item errors and 409', async (t) => {
    assertGraphError(t, await h.call('GET', `${mb('v1.0', daveArchive)}/folders`), 404, 'ResourceNotFound')
    const top = (await h.call('GET', `${mb('beta', daveArchive)}/folders?$top=50`)).json.value
    const y2018 = top.find((f: any) => f.displayName === '2018')
    const y2017 = top.find((f: any) => f.displayName === '2017')
    t.equal(y2018.parentMailboxUrl, mb('beta', daveAux), 'expanded folder points at the aux archive')
    t.equal(y2017.parentMailboxUrl, mb('beta', daveArchive))
    t.equal(top.find((f: any) => f.displayName === 'Inbox').wellKnownName, 'inbox')
    assertGraphError(t, await h.call('GET', `${mb('beta', daveArchive)}/folders/inbox`), 400, 'ErrorInvalidIdMalformed')

    const redirect = await h.call('GET', `${mb('beta', daveArchive)}/folders/${y2018.id}?$select=displayName`)
    t.equal(redirect.status, 308)
    t.equal(redirect.text, '')
    t.equal(redirect.headers.location, `${mb('beta', daveAux)}/folders/${y2018.id}?$select=displayName`)
    const followed = await h.call('GET', redirect.headers.location)
    t.equal(followed.status, 200)
    t.equal(followed.json.displayName, '2018')
    const itemsRedirect = await h.call('GET', `${mb('beta', daveArchive)}/folders/${y2018.id}/items?$top=20`)
    t.equal(itemsRedirect.status, 308)
    t.equal(itemsRedirect.headers.location, `${mb('beta', daveAux)}/folders/${y2018.id}/items?$top=20`)
    const auxItems = (await h.call('GET', itemsRedirect.headers.location)).json.value
    t.equal(auxItems.length, 12)
    const itemRedirect = await h.call('GET', `${mb('beta', daveArchive)}/folders/${y2018.id}/items/${auxItems[0].id}`)
    t.equal(itemRedirect.status, 308)
    t.equal((await h.call('GET', itemRedirect.headers.location)).json.id, auxItems[0].id)
    t.equal(
      (await h.call('GET', `${mb('beta', daveArchive)}/folders/${y2018.id}/childFolders`)).json.value[0].displayName,
      'Expanded',
      'hierarchy is served by the main archive'
    )
    assertGraphError(t, await h.call('GET', `${mb('beta', daveAux)}/folders/${y2017.id}`), 404, 'ErrorItemNotFound')

    const mainItem = (await h.call('GET', `${mb('beta', daveArchive)}/folders/${y2017.id}/items?$top=1`)).json.value[0]
    const exp = await h.call('POST', `${mb('beta', daveArchive)}/exportItems`, {
      body: { itemIds: [auxItems[0].id, mainItem.id] }
    })
    t.equal(exp.status, 200)
    t.same(exp.json.value[0], {
      itemId: auxItems[0].id,
      Error: { code: 'ErrorArchiveFolderMovedPermanently', message: `${mb('beta', daveAux)}/exportItems` }
    })
    t.type(exp.json.value[1].data, 'string')
    const viaAux = await h.call('POST', exp.json.value[0].Error.message, { body: { itemIds: [auxItems[0].id] } })
    t.type(viaAux.json.value[0].data, 'string')

    const mainSession = (await h.call('POST', `${mb('beta', daveArchive)}/createImportSession`)).json.importUrl
    t.match(mainSession, /\/api\/gbeta\//)
    const conflict = await h.call('POST', mainSession, {
      token: null,
      body: { FolderId: y2018.id, Mode: 'create', Data: viaAux.json.value[0].data }
    })
    t.equal(conflict.status, 409)
    t.equal(conflict.json.Message, `Invalid import session. The target session is expected in mailbox ${daveAux}`)
    const auxSession = (await h.call('POST', `${mb('beta', daveAux)}/createImportSession`)).json.importUrl
    const intoAux = await h.call('POST', auxSession, {
      token: null,
      body: { FolderId: y2018.id, Mode: 'create', Data: viaAux.json.value[0].data }
    })
    t.equal(intoAux.status, 200)
    t.match(intoAux.json['@odata.context'], /\/api\/gbeta\/\$metadata#/)
    t.equal(h.store.requireItem(intoAux.json.itemId.replace(/-/g, '+').replace(/_/g, '/')).mailboxGuid, M.dave.aux)
    t.equal(
      (
        await h.call('POST', mainSession, {
          token: null,
          body: { FolderId: y2017.id, Mode: 'create', Data: viaAux.json.value[0].data }
        })
      ).status,
      200
    )
  })
})

t.test('throttling and faults', async (t) => {
  const h = await startHarness(t, { throttling: { requestsPerMailbox: 5, windowSec: 60 } })
  const url = `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.alice.guid)}/folders`

  h.sim.faults.throttle = 2
  h.sim.faults.retryAfterSec = 7
  const a = await h.call('GET', url)
  t.equal(a.status, 429)
  t.equal(a.headers['retry-after'], '7')
  t.equal(a.json.error.code, 'TooManyRequests')
  t.equal((await h.call('GET', url)).status, 429)
  t.equal((await h.call('GET', url)).status, 200, 'injected throttling runs out')
  h.sim.faults.http503 = 1
  const u = await h.call('GET', url)
  t.equal(u.status, 503)
  t.equal(u.headers['retry-after'], '7')
  h.sim.faults.only = ['/exportItems']
  h.sim.faults.throttle = 1
  t.equal((await h.call('GET', url)).status, 200, '`only` limits faults to matching paths')
  t.equal(h.sim.faults.throttle, 1)
  h.sim.faults.only = undefined
  h.sim.faults.throttle = 0

  // Budget: 5 requests per app + mailbox per window; 2 were spent above (the faulted ones were not).
  for (let i = 0; i < 3; i++) t.equal((await h.call('GET', url)).status, 200)
  const over = await h.call('GET', url)
  t.equal(over.status, 429)
  t.equal(over.json.error.code, 'ApplicationThrottled')
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60)
  t.equal(
    (await h.call('GET', `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.bob.guid)}/folders`)).status,
    200,
    'budget is per mailbox'
  )
  t.equal(h.sim.stats.throttled, 3, 'two injected 429s and one over budget')
})

t.test('concurrency: at most 4 requests in flight per app', async (t) => {
  const h = await startHarness(t)
  h.sim.faults.delayMs = 300
  const url = `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.alice.guid)}/folders`
  const results = await Promise.all(Array.from({ length: 7 }, async () => await h.call('GET', url)))
  const ok = results.filter((r) => r.status === 200)
  const throttled = results.filter((r) => r.status === 429)
  t.equal(ok.length, 4)
  t.equal(throttled.length, 3)
  t.same(throttled[0].json.error.code, 'ApplicationThrottled')
  t.equal(throttled[0].json.error.message, 'Application is over its MailboxConcurrency limit.')
  t.ok(Number(throttled[0].headers['retry-after']) >= 1)
  t.equal(h.sim.stats.throttled, 3)
  h.sim.faults.delayMs = 0
  const other = await h.token(undefined, { appid: 'another-app' })
  t.equal((await h.call('GET', url, { token: other })).status, 200)
})

t.test('import sessions expire after their lifetime', async (t) => {
  const h = await startHarness(t, { importSessionLifetimeSec: 1 })
  const s = await h.call(
    'POST',
    `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.bob.guid)}/createImportSession`
  )
  t.ok(Date.parse(s.json.expirationDateTime) - Date.now() <= 1000)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const r = await h.call('POST', s.json.importUrl, {
    token: null,
    body: { FolderId: 'inbox', Mode: 'create', Data: 'AAAA' }
  })
  t.equal(r.status, 401)
  t.match(r.json.Message, /expired/)
})

t.test('acceptForeignData: false accepts only streams this simulator exported', async (t) => {
  const h = await startHarness(t, { acceptForeignData: false })
  const mbx = `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.bob.guid)}`
  const items = h.store.itemsIn(h.store.wellKnownFolder(M.bob.guid, 'inbox').id)
  const session = (await h.call('POST', `${mbx}/createImportSession`)).json.importUrl
  const foreign = items[1].blob().toString('base64')
  t.equal(
    (await h.call('POST', session, { token: null, body: { FolderId: 'inbox', Mode: 'create', Data: foreign } })).status,
    400
  )
  const data = (await h.call('POST', `${mbx}/exportItems`, { body: { itemIds: [toWireId(items[1].id)] } })).json
    .value[0].data
  t.equal(
    (await h.call('POST', session, { token: null, body: { FolderId: 'inbox', Mode: 'create', Data: data } })).status,
    200
  )
})

t.test('secrets (bearer tokens, import authtokens) never reach the logs', async (t) => {
  const lines: string[] = []
  const { logger } = captureLogs('debug', { redaction: false }, lines)
  const h = await startHarness(t, { logger })
  const mbx = `${h.sim.url}/v1.0/admin/exchange/mailboxes/${h.sim.mailboxId(M.bob.guid)}`
  const bearer = await h.token()
  const session = (await h.call('POST', `${mbx}/createImportSession`, { token: bearer })).json.importUrl as string
  const authtoken = new URL(session).searchParams.get('authtoken') ?? ''
  t.ok(authtoken.length > 20)
  const data = h.store.itemsIn(h.store.wellKnownFolder(M.bob.guid, 'inbox').id)[0].blob().toString('base64')
  t.equal(
    (await h.call('POST', session, { token: null, body: { FolderId: 'inbox', Mode: 'create', Data: data } })).status,
    200
  )
  t.equal((await h.call('POST', `${session}x`, { token: null, body: {} })).status, 401)
  const all = lines.join('\n')
  t.match(all, /importItem/, 'import requests are logged')
  t.notOk(all.includes(authtoken.slice(0, 40)), 'no authtoken in logs')
  t.notOk(all.includes(bearer.slice(0, 40)), 'no bearer token in logs')
})
