/**
 * Mailboxes registered at runtime (POST /mailboxes, DELETE /mailboxes/{mailbox}; src/backends/router.ts and the
 * registry store, src/state/store.ts): registered, used like configured ones, listed with them page by page in
 * address order, removed (with their cached discovery); scope `mailboxes:admin`, the allow-list, and the audit log.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'

const READER_KEY = generateApiKey()
/** `token` with one character in its middle changed. */
const tampered = (token: string): string => {
  const i = token.length >> 1
  return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`
}
const FABRIKAM_ADMIN_KEY = generateApiKey()

/** A mailbox in the simulators' store (both simulators serve it) with an Inbox; with an archive when asked. */
function simulatedMailbox (store: MailboxStore, smtp: string, displayName: string, archive = false): void {
  const primary = store.addMailbox({ smtp, displayName, kind: 'primary' })
  store.createFolder(primary.msgRootId, 'Inbox', 'IPF.Note', { distinguishedName: 'inbox' })
  if (archive) addArchive(store, primary.guid, smtp, displayName)
}

function addArchive (store: MailboxStore, primaryGuid: string, smtp: string, displayName: string): void {
  store.addMailbox({ smtp, displayName: `${displayName} (archive)`, kind: 'archive', primaryGuid })
}

t.test('a registered mailbox is used like a configured one (Graph and EWS), then removed', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  simulatedMailbox(sims.store, 'erin@contoso.example', 'Erin Evans')
  simulatedMailbox(sims.store, 'frank@contoso.example', 'Frank Foster', true)

  const before = await app.inject({ method: 'GET', url: '/mailboxes/erin@contoso.example/folders' })
  t.equal(before.statusCode, 404, 'not configured, not registered: unknown')

  const erin = await app.inject({
    method: 'POST', url: '/mailboxes', payload: { address: 'Erin@Contoso.example', backend: 'exo-graph' }
  })
  t.equal(erin.statusCode, 201)
  const added = json(erin)
  t.match(added, { address: 'erin@contoso.example', type: 'graph', kind: 'primary', backend: 'exo-graph' })
  t.match(added.id, /^mbx-[0-9a-f]{16}$/)
  t.ok(Date.parse(added.registeredAt) > 0, 'registeredAt is a timestamp')
  t.equal(erin.headers.location, `/mailboxes/${added.id as string}`)

  for (const name of ['erin@contoso.example', 'ERIN@contoso.example', added.id]) {
    const folders = await app.inject({ method: 'GET', url: `/mailboxes/${name as string}/folders` })
    t.equal(folders.statusCode, 200, `folders of ${name as string}`)
    t.ok(json(folders).folders.some((f: { displayName: string }) => f.displayName === 'Inbox'))
  }
  const got = json(await app.inject({ method: 'GET', url: '/mailboxes/erin@contoso.example' }))
  t.match(got, { id: added.id, kind: 'primary', registeredAt: added.registeredAt })

  const frank = await app.inject({
    method: 'POST',
    url: '/mailboxes',
    payload: { address: 'frank@contoso.example', backend: 'onprem-ews', displayName: 'Frank (migration wave 3)' }
  })
  t.equal(frank.statusCode, 201)
  t.match(json(frank), { type: 'ews', displayName: 'Frank (migration wave 3)' })
  const listed = json(await app.inject({ method: 'GET', url: '/mailboxes' })).mailboxes
  t.same(listed.map((m: { address: string, kind: string }) => `${m.address} ${m.kind}`), [
    `${MAILBOXES.ews.primary} primary`, `${MAILBOXES.ews.primary} archive`, `${MAILBOXES.ews.other} primary`,
    `${MAILBOXES.graph.primary} primary`, `${MAILBOXES.graph.primary} archive`,
    `${MAILBOXES.graph.other} primary`, `${MAILBOXES.graph.other} archive`,
    'erin@contoso.example primary', 'frank@contoso.example primary', 'frank@contoso.example archive'
  ], 'configured and registered together, by address, archives after their primary')
  const frankArchive = listed.find((m: { address: string, kind: string }) =>
    m.address === 'frank@contoso.example' && m.kind === 'archive')
  t.match(frankArchive, { displayName: 'Frank (migration wave 3) (archive)', registeredAt: String })
  const archiveFolders = await app.inject({ method: 'GET', url: `/mailboxes/${frankArchive.id as string}/folders` })
  t.equal(archiveFolders.statusCode, 200, 'its archive is reached by its id')
  t.notOk(listed.slice(0, 7).some((m: object) => 'registeredAt' in m), 'configured mailboxes carry no registeredAt')

  const archiveDelete = await app.inject({ method: 'DELETE', url: `/mailboxes/${frankArchive.id as string}` })
  t.equal(archiveDelete.statusCode, 400, 'an archive goes with its primary')
  t.match(json(archiveDelete).detail, /archive of frank@contoso\.example/)

  const removed = await app.inject({ method: 'DELETE', url: '/mailboxes/Erin@contoso.example' })
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  const gone = await app.inject({ method: 'GET', url: '/mailboxes/erin@contoso.example/folders' })
  t.equal(gone.statusCode, 404)
  t.equal(json(gone).code, 'MBG_ERR_MAILBOX_NOT_FOUND')
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${added.id as string}` })).statusCode, 404,
    'nor by its id')
  const again = await app.inject({ method: 'DELETE', url: '/mailboxes/erin@contoso.example' })
  t.equal(again.statusCode, 404)
  t.equal(json(again).code, 'MBG_ERR_MAILBOX_NOT_FOUND')
  t.equal((await app.inject({ method: 'DELETE', url: `/mailboxes/${json(frank).id as string}` })).statusCode, 204,
    'removed by its id')
  t.same(json(await app.inject({ method: 'GET', url: '/mailboxes' })).mailboxes.length, 7, 'the configured ones')
})

t.test('removing a mailbox drops its cached discovery: registered again, it is discovered anew', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  simulatedMailbox(sims.store, 'gina@contoso.example', 'Gina Gomez')
  const add = async (): Promise<void> => {
    const res = await app.inject({
      method: 'POST', url: '/mailboxes', payload: { address: 'gina@contoso.example', backend: 'exo-graph' }
    })
    t.equal(res.statusCode, 201)
  }
  await add()
  const first = json(await app.inject({ method: 'GET', url: '/mailboxes/gina@contoso.example' }))
  t.notOk('archiveId' in first, 'no archive yet')
  // The archive is created meanwhile; within the discovery cache's 10 minutes it would not show.
  addArchive(sims.store, (sims.store.mailboxBySmtp('gina@contoso.example') as { guid: string }).guid,
    'gina@contoso.example', 'Gina Gomez')
  t.notOk('archiveId' in json(await app.inject({ method: 'GET', url: '/mailboxes/gina@contoso.example' })),
    'cached while registered')
  t.equal((await app.inject({ method: 'DELETE', url: '/mailboxes/gina@contoso.example' })).statusCode, 204)
  await add()
  const second = json(await app.inject({ method: 'GET', url: '/mailboxes/gina@contoso.example' }))
  t.type(second.archiveId, 'string', 'discovered anew: the archive shows')
  t.ok(Date.parse(second.registeredAt) >= Date.parse(first.registeredAt))
})

t.test('a mailbox the backend does not know can be registered; calls to it answer 404', async (t) => {
  const { app } = await buildTestGateway(t)
  const res = await app.inject({
    method: 'POST', url: '/mailboxes', payload: { address: 'nobody@contoso.example', backend: 'onprem-ews' }
  })
  t.equal(res.statusCode, 201)
  const folders = await app.inject({ method: 'GET', url: '/mailboxes/nobody@contoso.example/folders' })
  t.equal(folders.statusCode, 404)
  t.equal(json(folders).code, 'MBG_ERR_MAILBOX_NOT_FOUND')
  const listed = json(await app.inject({ method: 'GET', url: '/mailboxes' })).mailboxes
  t.match(listed.find((m: { address: string }) => m.address === 'nobody@contoso.example'), {
    kind: 'primary', discovery: { state: 'failed', code: 'MBG_ERR_MAILBOX_NOT_FOUND' }
  }, 'listed, marked as not found by its backend')
  t.equal((await app.inject({ method: 'DELETE', url: '/mailboxes/nobody@contoso.example' })).statusCode, 204,
    'and removed without asking the backend')
})

t.test('conflicts and bad input: 409 exists or configured, 422 unknown backend, 400', async (t) => {
  const { app } = await buildTestGateway(t)
  const post = async (payload: object): Promise<{ statusCode: number, body: string }> =>
    await app.inject({ method: 'POST', url: '/mailboxes', payload })
  t.equal((await post({ address: 'hana@contoso.example', backend: 'exo-graph' })).statusCode, 201)

  const twice = await post({ address: 'HANA@contoso.example', backend: 'onprem-ews' })
  t.equal(twice.statusCode, 409)
  t.match(json(twice), { code: 'MBG_ERR_MAILBOX_EXISTS', detail: /hana@contoso\.example.*exo-graph/ })
  const configured = await post({ address: MAILBOXES.ews.primary.toUpperCase(), backend: 'onprem-ews' })
  t.equal(configured.statusCode, 409)
  t.match(json(configured), { code: 'MBG_ERR_MAILBOX_EXISTS', detail: /configuration document/ })

  const backend = await post({ address: 'ivan@contoso.example', backend: 'nowhere' })
  t.equal(backend.statusCode, 422)
  t.match(json(backend), { code: 'MBG_ERR_BACKEND_UNKNOWN', detail: /"nowhere".*onprem-ews, exo-graph/ })
  t.equal((await app.inject({ method: 'GET', url: '/mailboxes/ivan@contoso.example' })).statusCode, 404,
    'nothing registered')

  for (const payload of [
    { address: 'not an address', backend: 'exo-graph' },
    { address: 'jo@contoso.example' },
    { address: 'jo@contoso.example', backend: 'exo-graph', extra: 1 },
    { address: 'jo@contoso.example', backend: 'exo-graph', displayName: '' }
  ]) {
    const res = await post(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(json(res).code, 'MBG_ERR_BAD_REQUEST')
  }

  for (const name of [MAILBOXES.graph.primary, encodeURIComponent(MAILBOXES.graph.primary)]) {
    const del = await app.inject({ method: 'DELETE', url: `/mailboxes/${name}` })
    t.equal(del.statusCode, 409)
    t.match(json(del), {
      code: 'MBG_ERR_MAILBOX_CONFIGURED', detail: /configuration document/
    }, 'configured mailboxes come from the configuration')
  }
  const listed = json(await app.inject({ method: 'GET', url: '/mailboxes' })).mailboxes
  const carolArchive = listed.find((m: { address: string, kind: string }) =>
    m.address === MAILBOXES.graph.primary && m.kind === 'archive')
  t.equal((await app.inject({ method: 'DELETE', url: `/mailboxes/${carolArchive.id as string}` })).statusCode, 409,
    'by id too, archives too')
  t.equal((await app.inject({ method: 'GET', url: `/mailboxes/${MAILBOXES.graph.primary}/folders` })).statusCode,
    200, 'still there')
})

t.test('GET /mailboxes pages 250 registered and the configured mailboxes by address, pairs kept', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const addresses = Array.from({ length: 250 }, (_, i) => `user${String(i).padStart(3, '0')}@contoso.example`)
  // Every tenth has an archive, among them user095: the last owner of the first page of 100.
  const archived = new Set(addresses.filter((_, i) => i % 10 === 5))
  // Registered in another order than listed.
  for (const [i, address] of [...addresses].reverse().entries()) {
    simulatedMailbox(sims.store, address, `User ${address.slice(4, 7)}`, archived.has(address))
    const res = await app.inject({
      method: 'POST', url: '/mailboxes', payload: { address, backend: i % 2 === 0 ? 'exo-graph' : 'onprem-ews' }
    })
    t.equal(res.statusCode, 201)
  }
  const expectedOwners = [
    MAILBOXES.ews.primary, MAILBOXES.ews.other, MAILBOXES.graph.primary, MAILBOXES.graph.other, ...addresses
  ]

  const walk = async (pageSize?: number): Promise<Array<Array<{ address: string, kind: string, id: string }>>> => {
    const pages = []
    let token: string | undefined
    do {
      const query = [pageSize !== undefined ? `pageSize=${pageSize}` : '',
        token !== undefined ? `pageToken=${token}` : ''].filter((q) => q !== '').join('&')
      const res = await app.inject({ method: 'GET', url: `/mailboxes${query !== '' ? `?${query}` : ''}` })
      t.equal(res.statusCode, 200)
      const body = json(res)
      pages.push(body.mailboxes)
      token = body.nextPageToken
    } while (token !== undefined)
    return pages
  }

  const pages = await walk()
  t.same(pages.map((p) => p.filter((m) => m.kind === 'primary').length), [100, 100, 54], 'default: 100 owners a page')
  const all = pages.flat()
  t.same(all.filter((m) => m.kind === 'primary').map((m) => m.address), expectedOwners, 'each once, by address')
  t.equal(all.filter((m) => m.kind === 'archive').length, 3 + archived.size, 'every archive')
  t.equal(new Set(all.map((m) => m.id)).size, all.length, 'nothing twice')
  t.same(pages[0].slice(-2).map((m) => `${m.address} ${m.kind}`),
    ['user095@contoso.example primary', 'user095@contoso.example archive'], 'a pair at the end of a page stays')
  for (const page of pages) {
    page.forEach((m, i) => {
      if (m.kind === 'archive') t.equal(page[i - 1]?.address, m.address, `${m.address}: archive after its primary`)
    })
  }

  const small = await walk(7)
  t.equal(small.length, Math.ceil(254 / 7))
  t.ok(small.every((p) => p.filter((m) => m.kind === 'primary').length <= 7))
  t.same(small.flat(), all, 'the same listing in pages of 7')
  const big = await walk(1000)
  t.equal(big.length, 1, 'one page of 1000 holds them all')
  t.same(big[0], all)

  // Registered and removed between pages: those that stay are each listed once.
  const first = json(await app.inject({ method: 'GET', url: '/mailboxes?pageSize=50' }))
  t.equal((await app.inject({ method: 'DELETE', url: '/mailboxes/user200@contoso.example' })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: '/mailboxes/user001@contoso.example' })).statusCode, 204)
  const rest = `/mailboxes?pageSize=1000&pageToken=${first.nextPageToken as string}`
  const next = json(await app.inject({ method: 'GET', url: rest }))
  const owners = [...first.mailboxes, ...next.mailboxes].filter((m) => m.kind === 'primary').map((m) => m.address)
  t.same(owners, expectedOwners.filter((a) => a !== 'user200@contoso.example'),
    'user001 (already listed) once, user200 (removed before its page) not')

  for (const url of ['/mailboxes?pageSize=0', '/mailboxes?pageSize=1001', '/mailboxes?pageToken=bogus',
    `/mailboxes?pageToken=${tampered(first.nextPageToken)}`, '/mailboxes?other=1']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 400, url)
    t.equal(json(res).code, 'MBG_ERR_BAD_REQUEST')
  }
})

t.test('scope mailboxes:admin and the allow-list; every change and refusal is audited', async (t) => {
  const { app, audit } = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push(
        {
          name: 'reader',
          apiKeys: [{ id: 'r1', sha256: hashApiKey(READER_KEY) }],
          appIds: [],
          scopes: ['mailboxes:read', 'items:export', 'items:import', 'folders:write', 'items:write'],
          mailboxes: ['*']
        },
        {
          name: 'fabrikam-admin',
          apiKeys: [{ id: 'f1', sha256: hashApiKey(FABRIKAM_ADMIN_KEY) }],
          appIds: [],
          scopes: ['mailboxes:read', 'mailboxes:admin'],
          mailboxes: ['*@fabrikam.example']
        })
    }
  })
  const reader = { 'x-api-key': READER_KEY }
  const fabrikam = { 'x-api-key': FABRIKAM_ADMIN_KEY }
  const payload = { address: 'kai@contoso.example', backend: 'exo-graph' }

  const scope = await app.inject({ method: 'POST', url: '/mailboxes', headers: reader, payload })
  t.equal(scope.statusCode, 403)
  t.equal(json(scope).code, 'MBG_ERR_INSUFFICIENT_SCOPE')
  t.match(scope.headers['www-authenticate'], /scope="mailboxes:admin"/)
  t.match(audit().at(-1), {
    event: 'access.denied',
    outcome: 'denied',
    code: 'MBG_ERR_INSUFFICIENT_SCOPE',
    client: 'reader',
    action: 'mailbox.add'
  })

  const added = await app.inject({ method: 'POST', url: '/mailboxes', payload })
  t.equal(added.statusCode, 201, 'the demo client holds every scope')
  const id = json(added).id as string
  t.match(audit().at(-1), {
    event: 'mailbox.add',
    outcome: 'success',
    status: 201,
    client: 'demo',
    method: 'POST',
    route: '/mailboxes',
    mailbox: 'kai@contoso.example',
    mailboxId: id,
    backend: 'exo-graph'
  })
  const exists = await app.inject({ method: 'POST', url: '/mailboxes', payload })
  t.equal(exists.statusCode, 409)
  t.match(audit().at(-1), {
    event: 'mailbox.add',
    outcome: 'failure',
    status: 409,
    code: 'MBG_ERR_MAILBOX_EXISTS',
    mailbox: 'kai@contoso.example',
    backend: 'exo-graph'
  })

  const denyDelete = await app.inject({ method: 'DELETE', url: '/mailboxes/kai@contoso.example', headers: reader })
  t.equal(denyDelete.statusCode, 403)
  t.match(audit().at(-1), { event: 'access.denied', action: 'mailbox.remove', mailbox: 'kai@contoso.example' })

  const foreign = await app.inject({
    method: 'POST',
    url: '/mailboxes',
    headers: fabrikam,
    payload: {
      address: 'lena@contoso.example', backend: 'exo-graph'
    }
  })
  t.equal(foreign.statusCode, 403)
  t.equal(json(foreign).code, 'MBG_ERR_MAILBOX_FORBIDDEN', 'only mailboxes its allow-list admits')
  t.match(audit().at(-1), { event: 'access.denied', client: 'fabrikam-admin', mailbox: 'lena@contoso.example' })
  const foreignDelete = await app.inject({ method: 'DELETE', url: `/mailboxes/${id}`, headers: fabrikam })
  t.equal(foreignDelete.statusCode, 403)
  t.equal(json(foreignDelete).code, 'MBG_ERR_MAILBOX_FORBIDDEN')
  const all = json(await app.inject({ method: 'GET', url: '/mailboxes' })).mailboxes
  t.ok(all.some((m: { id: string }) => m.id === id), 'still registered')

  const own = await app.inject({
    method: 'POST',
    url: '/mailboxes',
    headers: fabrikam,
    payload: {
      address: 'max@fabrikam.example', backend: 'onprem-ews'
    }
  })
  t.equal(own.statusCode, 201)
  const seen = json(await app.inject({ method: 'GET', url: '/mailboxes', headers: fabrikam })).mailboxes
  t.same(seen.map((m: { address: string }) => m.address), ['max@fabrikam.example'], 'its allow-list, paged too')

  const removed = await app.inject({ method: 'DELETE', url: `/mailboxes/${id}` })
  t.equal(removed.statusCode, 204)
  t.match(audit().at(-1), {
    event: 'mailbox.remove',
    outcome: 'success',
    status: 204,
    client: 'demo',
    route: '/mailboxes/:mailbox',
    mailbox: 'kai@contoso.example',
    mailboxId: id,
    backend: 'exo-graph'
  })
  const configured = await app.inject({ method: 'DELETE', url: `/mailboxes/${DEMO_MAILBOXES.bob.smtp}` })
  t.equal(configured.statusCode, 409)
  t.match(audit().at(-1), {
    event: 'mailbox.remove',
    outcome: 'failure',
    status: 409,
    code: 'MBG_ERR_MAILBOX_CONFIGURED',
    mailbox: DEMO_MAILBOXES.bob.smtp
  })
  t.equal(audit().filter((r) => r.event === 'mailbox.add' || r.event === 'mailbox.remove').length, 5,
    'adds and removes, failed ones included; listing is not audited')
})
