/**
 * Graph-specific behaviour as callers see it through the public API: batches
 * over Graph's 20-id limit, import sessions expiring mid-batch, auto-expanded
 * archives (308 redirects, export re-POST, import 409), and missing app roles.
 */
import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, registerSecret } from '../helper.js'
import { GRAPH_RESOURCE } from '../../src/simulators/index.js'

const carol = encodeURIComponent(MAILBOXES.graph.primary)

interface Item { id: string }
interface Folder { id: string, displayName: string, parentId: string | null, totalItemCount: number }

t.test('an export of 45 ids is split into Graph-sized calls and answered in order', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const items = json<{ items: Item[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?pageSize=35` })
  ).items
  const ids = [...items.map((i) => i.id), ...items.slice(0, 10).map((i) => i.id)]
  t.equal(ids.length, 45)
  const before = sims.graph.stats.requests
  const res = await app.inject({ method: 'POST', url: `/mailboxes/${carol}/items:export`, payload: { itemIds: ids } })
  t.equal(res.statusCode, 200)
  const body = json<{ results: Array<{ itemId: string, data?: string }>, succeeded: number }>(res)
  t.equal(body.succeeded, 45)
  t.same(body.results.map((r) => r.itemId), ids, 'request order, duplicates included')
  t.equal(body.results[35].data, body.results[0].data, 'a repeated id exports the same bytes')
  t.equal(sims.graph.stats.requests - before, 3, 'three exportItems calls of at most 20 ids')
})

t.test('the Graph-sized calls of one export run at the same time; results keep their order and errors', async (t) => {
  const { app } = await buildTestGateway(t)
  const items = json<{ items: Item[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?pageSize=35` })
  ).items
  const ids = [...items.map((i) => i.id), ...items.slice(0, 25).map((i) => i.id)]
  ids.splice(7, 0, 'not an id')
  ids.splice(41, 0, 'not an id either')
  let inFlight = 0
  let most = 0
  const isExport = (m: unknown): boolean =>
    String((m as { request: { path: string } }).request.path).endsWith('/exportItems')
  const created = (m: unknown): void => { if (isExport(m)) most = Math.max(most, ++inFlight) }
  const ended = (m: unknown): void => { if (isExport(m)) inFlight-- }
  diagnostics.subscribe('undici:request:create', created)
  diagnostics.subscribe('undici:request:trailers', ended)
  t.teardown(() => {
    diagnostics.unsubscribe('undici:request:create', created)
    diagnostics.unsubscribe('undici:request:trailers', ended)
  })
  const res = await app.inject({ method: 'POST', url: `/mailboxes/${carol}/items:export`, payload: { itemIds: ids } })
  t.equal(res.statusCode, 200)
  type Answer = { results: Array<{ itemId: string, data?: string, error?: { code: string } }>, failed: number }
  const body = json<Answer>(res)
  t.same(body.results.map((r) => r.itemId), ids, 'request order')
  t.equal(body.failed, 2)
  t.equal(body.results[7].error?.code, 'MBG_ERR_ID_MALFORMED')
  t.equal(body.results[41].error?.code, 'MBG_ERR_ID_MALFORMED')
  t.ok(body.results.every((r, i) => i === 7 || i === 41 || typeof r.data === 'string'), 'every other id exported')
  t.ok(most > 1, `exportItems calls in flight at once: ${most}`)
})

t.test('an import session that expires in the middle of a batch is renewed without failing items', async (t) => {
  const { app, sims } = await buildTestGateway(t)
  const items = json<{ items: Item[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?pageSize=12` })
  ).items
  const exported = json<{ results: Array<{ data: string }> }>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${carol}/items:export`,
      payload: { itemIds: items.map((i) => i.id) }
    })
  )
  const target = json<Folder>(
    await app.inject({ method: 'POST', url: `/mailboxes/${carol}/folders`, payload: { displayName: 'Session test' } })
  )
  const sessionsBefore = sims.graph.stats.sessionsCreated
  const startCount = sims.store.items.size
  let flipped = false
  const watcher = setInterval(() => {
    if (!flipped && sims.store.items.size >= startCount + 4) { sims.graph.faults.expireSessions = true; flipped = true }
  }, 1)
  const res = await app.inject({
    method: 'POST',
    url: `/mailboxes/${carol}/items:import`,
    payload: { items: exported.results.map((r) => ({ folderId: target.id, mode: 'create', data: r.data })) }
  })
  clearInterval(watcher)
  t.ok(flipped, 'the session was expired while the batch ran')
  const body = json<{ succeeded: number, failed: number }>(res)
  t.match(body, { succeeded: 12, failed: 0 })
  t.ok(sims.graph.stats.sessionsCreated - sessionsBefore >= 2, 'a new session was opened')
  const listed = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/${target.id}` }))
  t.equal(listed.totalItemCount, 12, 'no item lost, none duplicated')
})

t.test('auto-expanded archive: redirected folders read, export and import like any other', async (t) => {
  const { app } = await buildTestGateway(t)
  const dave = json<{ archiveId: string }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${encodeURIComponent(MAILBOXES.graph.other)}` })
  )
  const archive = dave.archiveId
  t.ok(archive)
  const folders = json<{ folders: Folder[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${archive}/folders?pageSize=100` })
  ).folders
  const expanded = folders.find((f) => f.displayName === '2018')
  const child = folders.find((f) => f.displayName === 'Expanded')
  t.ok(expanded !== undefined && child !== undefined, 'expanded folders are listed')
  t.equal(child?.parentId, expanded?.id)

  const got = await app.inject({ method: 'GET', url: `/mailboxes/${archive}/folders/${expanded?.id ?? ''}` })
  t.equal(got.statusCode, 200, 'the 308 to the auxiliary archive is followed')
  t.equal(json<Folder>(got).totalItemCount, 12)
  const items = json<{ items: Item[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${archive}/folders/${expanded?.id ?? ''}/items?pageSize=50` })
  ).items
  t.equal(items.length, 12)
  const exported = json<{ results: Array<{ data?: string, error?: unknown }>, succeeded: number }>(await app.inject({
    method: 'POST', url: `/mailboxes/${archive}/items:export`, payload: { itemIds: items.slice(0, 3).map((i) => i.id) }
  }))
  t.equal(exported.succeeded, 3, 'per-item ErrorArchiveFolderMovedPermanently is followed')
  const imported = await app.inject({
    method: 'POST',
    url: `/mailboxes/${archive}/items:import`,
    payload: { items: exported.results.map((r) => ({ folderId: child?.id, mode: 'create', data: r.data })) }
  })
  t.match(
    json(imported),
    { succeeded: 3, failed: 0 },
    'the 409 "expected in mailbox" is rerouted to the auxiliary archive'
  )
  const after = json<Folder>(
    await app.inject({ method: 'GET', url: `/mailboxes/${archive}/folders/${child?.id ?? ''}` })
  )
  t.equal(after.totalItemCount, 4 + 3)
})

t.test('a Graph app without the export role gets 403 problem details, not a 5xx', async (t) => {
  const limited = { clientId: '0d7e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0c99', clientSecret: 'limited-app-secret' }
  registerSecret(limited.clientSecret)
  const { app } = await buildTestGateway(t, {
    extraApps: [
      { ...limited, roles: { [GRAPH_RESOURCE]: ['User.Read.All', 'MailboxFolder.Read.All', 'MailboxItem.Read.All'] } }
    ],
    configure (c) {
      const g = c.backends['exo-graph']
      if (g.type === 'graph') {
        g.clientId = limited.clientId
        g.clientSecret = limited.clientSecret
      }
    }
  })
  const items = json<{ items: Item[] }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${carol}/folders/inbox/items?pageSize=2` })
  )
  t.equal(items.items.length, 2, 'reading works with read roles')
  const res = await app.inject({
    method: 'POST',
    url: `/mailboxes/${carol}/items:export`,
    payload: { itemIds: items.items.map((i) => i.id) }
  })
  t.equal(res.statusCode, 403, res.body)
  const p = json(res)
  t.equal(p.code, 'MBG_ERR_ACCESS_DENIED')
  t.ok(p.upstreamRequestId, 'Graph request-id surfaced')
  const create = await app.inject({ method: 'POST', url: `/mailboxes/${carol}/folders`, payload: { displayName: 'x' } })
  t.equal(create.statusCode, 403)
})
