/**
 * The headline job: copy items from an EWS mailbox into a Graph mailbox (and
 * back) through the public API, byte for byte; and the per-deployment switch
 * that forbids it.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

interface ExportBody { results: Array<{ itemId: string, data: string, source: 'ews' | 'graph' }>, succeeded: number }
interface ImportBody {
  results: Array<{ index: number, itemId?: string, error?: { code: string } }>
  succeeded: number
  failed: number
}

async function copy (app: Awaited<ReturnType<typeof buildTestGateway>>['app'], from: string, to: string, folder: string,
  count: number): Promise<{ exported: ExportBody, imported: ImportBody }> {
  const list = json<{ items: Array<{ id: string }> }>(
    await app.inject({
      method: 'GET',
      url: `/mailboxes/${encodeURIComponent(from)}/folders/inbox/items?pageSize=${count}`
    })
  )
  const exported = json<ExportBody>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(from)}/items:export`,
      payload: { itemIds: list.items.map((i) => i.id) }
    })
  )
  const imported = json<ImportBody>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(to)}/items:import`,
      payload: {
        items: exported.results.map((r) => ({ folderId: folder, mode: 'create', data: r.data, source: r.source }))
      }
    })
  )
  return { exported, imported }
}

t.test('EWS → Graph and Graph → EWS copies round-trip byte-identical data', async (t) => {
  const { app } = await buildTestGateway(t)
  const target = json<{ id: string }>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.graph.primary)}/folders`,
      payload: { displayName: 'From EWS' }
    })
  )
  const { exported, imported } = await copy(app, MAILBOXES.ews.primary, MAILBOXES.graph.primary, target.id, 8)
  t.equal(exported.succeeded, 8)
  t.ok(exported.results.every((r) => r.source === 'ews'))
  t.equal(imported.succeeded, 8, JSON.stringify(imported.results.filter((r) => r.error)))
  const again = json<ExportBody>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.graph.primary)}/items:export`,
      payload: { itemIds: imported.results.map((r) => r.itemId) }
    })
  )
  t.ok(again.results.every((r) => r.source === 'graph'))
  for (let i = 0; i < 8; i++) {
    t.equal(again.results[i].data, exported.results[i].data, `item ${i} identical after EWS → Graph`)
  }

  const back = await copy(app, MAILBOXES.graph.primary, MAILBOXES.ews.other, 'inbox', 3)
  t.equal(back.imported.succeeded, 3)
  const ewsAgain = json<ExportBody>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.other)}/items:export`,
      payload: { itemIds: back.imported.results.map((r) => r.itemId) }
    })
  )
  for (let i = 0; i < 3; i++) {
    t.equal(ewsAgain.results[i].data, back.exported.results[i].data, `item ${i} identical after Graph → EWS`)
  }
})

t.test('crossBackendImport "deny" refuses foreign data per item and lets the rest through', async (t) => {
  const { app } = await buildTestGateway(t, { configure (c) { c.crossBackendImport = 'deny' } })
  const list = json<{ items: Array<{ id: string }> }>(
    await app.inject({
      method: 'GET',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/folders/inbox/items?pageSize=2`
    })
  )
  const exported = json<ExportBody>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/items:export`,
      payload: { itemIds: list.items.map((i) => i.id) }
    })
  )
  const res = await app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(MAILBOXES.graph.primary)}/items:import`,
    payload: {
      items: [
        { folderId: 'inbox', mode: 'create', data: exported.results[0].data, source: 'ews' },
        { folderId: 'inbox', mode: 'create', data: exported.results[1].data }
      ]
    }
  })
  const body = json<ImportBody>(res)
  t.equal(body.results[0].error?.code, 'MBG_ERR_DATA_INCOMPATIBLE')
  t.ok(body.results[1].itemId, 'an item without a declared source is passed to the backend')
  t.match(body, { succeeded: 1, failed: 1 })
})
