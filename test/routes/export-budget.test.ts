/**
 * One export answer is held in memory whole, so it carries a bounded amount of item data:
 * past the budget, ids get a per-item 413 asking for another request, never a 500 or an
 * answer too large to build (an id repeated 80 times once took a gateway to 2 GB and a 500).
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

interface ExportAnswer {
  results: Array<{ itemId: string, data?: string, error?: { code: string, status: number, message: string } }>
  succeeded: number
  failed: number
}

for (const type of ['ews', 'graph'] as const) {
  t.test(`${type}: past the answer budget, ids get a per-item 413 and are not read`, async (t) => {
    const mbx = encodeURIComponent(MAILBOXES[type].primary)
    const { app } = await buildTestGateway(t, { maxExportAnswerBytes: 1 })
    const listed = json<{ items: Array<{ id: string }> }>(
      await app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=3` })
    )
    const ids = [...listed.items.map((i) => i.id), listed.items[0].id]
    const res = await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: ids } })
    t.equal(res.statusCode, 200)
    const body = json<ExportAnswer>(res)
    t.equal(body.results.length, ids.length, 'one result per id, in order')
    t.same(body.results.map((r) => r.itemId), ids)
    t.ok(typeof body.results[0].data === 'string' && body.results[0].data.length > 1, 'the first item always goes')
    for (const r of body.results.slice(1)) {
      t.match(r.error, { code: 'MBG_ERR_TOO_LARGE', status: 413, message: /another request/, retryable: true })
    }
    t.same([body.succeeded, body.failed], [1, ids.length - 1])
  })
}

t.test('within the default budget every item is exported', async (t) => {
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const { app } = await buildTestGateway(t)
  const listed = json<{ items: Array<{ id: string }> }>(
    await app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=5` })
  )
  const res = await app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: listed.items.map((i) => i.id) }
  })
  t.same(json<ExportAnswer>(res).failed, 0)
})
