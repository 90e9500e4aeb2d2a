/**
 * One bad item never fails its neighbours, and "not done" is never said of what may be done, over the real
 * simulators and the whole gateway:
 *
 *  - a batch the backend refuses as a whole for one item (an EWS SOAP fault or a Graph 500 naming no item,
 *    a request body over the server's limit) is split until the culprit travels alone: its neighbours are
 *    exported or imported, the culprit gets a per-item error saying whether a retry can help;
 *  - item data that is not base64 is that item's 422, not a 400 for the request;
 *  - a write whose answer was lost (the connection reset after the server acted, a truncated answer) is
 *    MBG_ERR_OUTCOME_UNKNOWN for exactly the items of that call, never re-sent, never a 5xx for the request.
 */
import t from 'tap'
import { fromPublicId } from '../../src/backends/ews/ids.js'
import { itemStream } from '../helpers/items.js'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

type Type = 'ews' | 'graph'
const mbx = (type: Type): string => encodeURIComponent(MAILBOXES[type].primary)

interface ItemError { code: string, status: number, retryable: boolean, upstreamCode?: string }
interface ExportAnswer {
  results: Array<{ itemId: string, data?: string, error?: ItemError }>
  succeeded: number
  failed: number
}
interface ImportAnswer {
  results: Array<{ index: number, itemId?: string, changeKey?: string, error?: ItemError }>
  succeeded: number
  failed: number
}

async function firstIds (gw: TestGateway, type: Type, n: number): Promise<string[]> {
  const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx(type)}/folders/inbox/items?pageSize=${n}` })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'listed' : res.body.slice(0, 500))
  return json<{ items: Array<{ id: string }> }>(res).items.map((i) => i.id)
}

async function exportIds (gw: TestGateway, type: Type, itemIds: string[]): Promise<ExportAnswer> {
  const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx(type)}/items:export`, payload: { itemIds } })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'exported' : res.body.slice(0, 500))
  return json<ExportAnswer>(res)
}

async function importData (gw: TestGateway, type: Type, data: string[]): Promise<ImportAnswer> {
  const payload = { items: data.map((d) => ({ folderId: 'inbox', mode: 'create', data: d })) }
  const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx(type)}/items:import`, payload })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'imported' : res.body.slice(0, 500))
  return json<ImportAnswer>(res)
}

/** A valid item stream of about `bytes` bytes (one binary attachment), base64. */
const stream = (bytes: number, subject: string): string => itemStream(subject, bytes).toString('base64')

t.test('EWS: a whole-request SOAP fault caused by one id of five fails that id only', async (t) => {
  const gw = await buildTestGateway(t)
  const ids = await firstIds(gw, 'ews', 5)
  gw.sims.ews.faults.poison = { ids: [fromPublicId(ids[2])] }
  const before = gw.sims.ews.stats.byOperation.ExportItems ?? 0
  const body = await exportIds(gw, 'ews', ids)
  t.same([body.succeeded, body.failed], [4, 1], 'succeeded, failed')
  t.same(body.results.map((r) => r.itemId), ids, 'in request order')
  t.same(body.results.map((r) => r.error === undefined), [true, true, false, true, true])
  t.match(body.results[2].error,
    { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorInternalServerError', retryable: false })
  const calls = (gw.sims.ews.stats.byOperation.ExportItems ?? 0) - before
  t.ok(calls <= 2 * ids.length - 1, `${calls} ExportItems calls: halving, never more than 2n-1`)
})

t.test('Graph: a 500 ErrorCorruptData for the whole batch is isolated, not retried', async (t) => {
  const gw = await buildTestGateway(t)
  const ids = await firstIds(gw, 'graph', 5)
  gw.sims.graph.faults.poison = { ids: [ids[3]] }
  const before = gw.sims.graph.stats.requests
  const body = await exportIds(gw, 'graph', ids)
  t.same([body.succeeded, body.failed], [4, 1], 'succeeded, failed')
  t.same(body.results.map((r) => r.itemId), ids, 'in request order')
  t.match(body.results[3].error, { upstreamCode: 'ErrorCorruptData', retryable: false })
  t.not(body.results[3].error?.code, 'MBG_ERR_UPSTREAM_UNAVAILABLE', 'not "retry later"')
  // 5 ids halve as [0,1,2] [3,4], then [3] [4]: 1 + 2 + 2 calls; each failing call is sent once.
  const calls = gw.sims.graph.stats.requests - before
  t.ok(calls <= 2 * ids.length - 1, `${calls} exportItems calls: nothing retried`)
})

t.test('Graph: a generic 500 for a batch is split without retries; the culprit alone is retried', async (t) => {
  const gw = await buildTestGateway(t)
  const ids = await firstIds(gw, 'graph', 4)
  gw.sims.graph.faults.poison = { ids: [ids[0]], code: 'ErrorInternalServerError' }
  const before = gw.sims.graph.stats.requests
  const body = await exportIds(gw, 'graph', ids)
  t.same([body.succeeded, body.failed], [3, 1], 'succeeded, failed')
  t.match(body.results[0].error, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retryable: true })
  // [0..3] fails, [0,1] fails, [0] fails 4 times (the policy's attempts), [1] and [2,3] succeed.
  t.equal(gw.sims.graph.stats.requests - before, 1 + 1 + 4 + 1 + 1, 'only the single-item call is retried')
})

for (const oversize of ['http413', 'soapFault'] as const) {
  t.test(`EWS import: a server refusing bodies over 1 MB (${oversize}) stores the small items`, async (t) => {
    const gw = await buildTestGateway(t)
    gw.sims.ews.faults.maxRequestBytes = 1024 * 1024
    gw.sims.ews.faults.oversizeAnswer = oversize
    const before = gw.sims.store.items.size
    const body = await importData(gw, 'ews', [stream(2048, 'small'), stream(5 * 1024 * 1024, 'big'),
      stream(3072, 'small too')])
    t.same([body.succeeded, body.failed], [2, 1], 'succeeded, failed')
    t.same(body.results.map((r) => r.index), [0, 1, 2], 'in input order')
    t.ok(body.results[0].itemId !== undefined && body.results[2].itemId !== undefined, 'the small ones are stored')
    t.match(body.results[1].error, { code: 'MBG_ERR_TOO_LARGE', status: 413, retryable: false })
    t.equal(gw.sims.store.items.size - before, 2, 'exactly the two small items are in the mailbox')
  })
}

for (const type of ['ews', 'graph'] as const) {
  t.test(`${type} import: data that is not base64 is that item's 422, its neighbours are imported`, async (t) => {
    const gw = await buildTestGateway(t)
    const [id] = await firstIds(gw, type, 1)
    const data = (await exportIds(gw, type, [id])).results[0].data as string
    const body = await importData(gw, type, [data, 'not*base64!', data])
    t.same([body.succeeded, body.failed], [2, 1], 'succeeded, failed')
    t.match(body.results[1], { index: 1, error: { code: 'MBG_ERR_DATA_INVALID', status: 422, retryable: false } })
  })
}

t.test('EWS import: a connection reset after the server stored the items is an unknown outcome', async (t) => {
  const gw = await buildTestGateway(t)
  const [id] = await firstIds(gw, 'ews', 1)
  const data = (await exportIds(gw, 'ews', [id])).results[0].data as string
  gw.sims.ews.faults.plan.configure({
    rules: [{ operations: ['UploadItems'], rate: 1, kinds: ['resetAfter'], count: 1 }]
  })
  const before = gw.sims.store.items.size
  const calls = gw.sims.ews.stats.byOperation.UploadItems ?? 0
  const body = await importData(gw, 'ews', [data, data])
  t.same([body.succeeded, body.failed], [0, 2], 'no 5xx for the request: two per-item answers')
  for (const r of body.results) t.match(r.error, { code: 'MBG_ERR_OUTCOME_UNKNOWN', status: 502, retryable: false })
  t.equal(gw.sims.store.items.size - before, 2, 'the server did store both')
  t.equal((gw.sims.ews.stats.byOperation.UploadItems ?? 0) - calls, 1, 'never re-sent, never split')
})

t.test('EWS import: an unknown outcome fails exactly the items of its call; other calls go on', async (t) => {
  const gw = await buildTestGateway(t, {
    configure (c) {
      const e = c.backends['onprem-ews']
      if (e.type === 'ews') e.uploadBatchSize = 2
    }
  })
  const [id] = await firstIds(gw, 'ews', 1)
  const data = (await exportIds(gw, 'ews', [id])).results[0].data as string
  for (const fault of ['resetAfter', 'truncatedAfter'] as const) {
    gw.sims.ews.faults.plan.configure({ rules: [{ operations: ['UploadItems'], rate: 1, kinds: [fault], count: 1 }] })
    const before = gw.sims.store.items.size
    const calls = gw.sims.ews.stats.byOperation.UploadItems ?? 0
    const body = await importData(gw, 'ews', [data, data, data, data, data, data])
    const unknown = body.results.flatMap((r, i) => r.error?.code === 'MBG_ERR_OUTCOME_UNKNOWN' ? [i] : [])
    t.equal(unknown.length, 2, `${fault}: two items unknown`)
    t.ok(unknown[0] % 2 === 0 && unknown[1] === unknown[0] + 1, `${fault}: the two of one call (${unknown.join()})`)
    t.equal(body.succeeded, 4, `${fault}: the other calls' items are stored`)
    t.ok(body.results.every((r) => r.error === undefined || r.error.retryable === false))
    t.equal(gw.sims.store.items.size - before, 6, `${fault}: the server stored all six`)
    t.equal((gw.sims.ews.stats.byOperation.UploadItems ?? 0) - calls, 3, `${fault}: three calls, nothing re-sent`)
  }
})

t.test('Graph import: a reset after the import endpoint stored the item is that item\'s unknown outcome',
  async (t) => {
    const gw = await buildTestGateway(t)
    const [id] = await firstIds(gw, 'graph', 1)
    const data = (await exportIds(gw, 'graph', [id])).results[0].data as string
    gw.sims.graph.faults.plan.configure({
      rules: [{ operations: ['importItem'], rate: 1, kinds: ['resetAfter'], count: 1 }]
    })
    const before = gw.sims.store.items.size
    const body = await importData(gw, 'graph', [data, data, data])
    t.same([body.succeeded, body.failed], [2, 1], 'succeeded, failed')
    t.match(body.results.find((r) => r.error !== undefined)?.error,
      { code: 'MBG_ERR_OUTCOME_UNKNOWN', status: 502, retryable: false })
    t.equal(gw.sims.store.items.size - before, 3, 'the endpoint stored all three')
  })

t.test('EWS import: a whole-request ErrorInternalServerError fault on UploadItems is an unknown outcome per item',
  async (t) => {
    const gw = await buildTestGateway(t)
    const [id] = await firstIds(gw, 'ews', 1)
    const data = (await exportIds(gw, 'ews', [id])).results[0].data as string
    gw.sims.ews.faults.plan.configure({
      rules: [{ operations: ['UploadItems'], rate: 1, kinds: ['serverError'], count: 1 }]
    })
    const calls = gw.sims.ews.stats.byOperation.UploadItems ?? 0
    const body = await importData(gw, 'ews', [data, data])
    t.same([body.succeeded, body.failed], [0, 2], 'no whole-request 502: two per-item answers')
    for (const r of body.results) {
      t.match(r.error, { code: 'MBG_ERR_OUTCOME_UNKNOWN', upstreamCode: 'ErrorInternalServerError', retryable: false })
    }
    t.equal((gw.sims.ews.stats.byOperation.UploadItems ?? 0) - calls, 1, 'never re-sent, never split')
  })

t.test('Graph import: a success answer cut short is that item\'s unknown outcome, never "not done"', async (t) => {
  const gw = await buildTestGateway(t)
  const [id] = await firstIds(gw, 'graph', 1)
  const data = (await exportIds(gw, 'graph', [id])).results[0].data as string
  gw.sims.graph.faults.plan.configure({
    rules: [{ operations: ['importItem'], rate: 1, kinds: ['truncatedAfter'], count: 1 }]
  })
  const before = gw.sims.store.items.size
  const body = await importData(gw, 'graph', [data, data, data])
  t.same([body.succeeded, body.failed], [2, 1], 'succeeded, failed')
  t.match(body.results.find((r) => r.error !== undefined)?.error,
    { code: 'MBG_ERR_OUTCOME_UNKNOWN', retryable: false })
  t.equal(gw.sims.store.items.size - before, 3, 'the endpoint stored all three')
})

t.test('Answers cut short or failing on the server side are sent again when the call is a read', async (t) => {
  const gw = await buildTestGateway(t)
  const list = async (type: Type): Promise<number> =>
    (await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx(type)}/folders/inbox/items?pageSize=3` })).statusCode
  gw.sims.graph.faults.plan.configure({
    rules: [{ operations: ['listItems'], rate: 1, kinds: ['truncatedAfter'], count: 1 }]
  })
  t.equal(await list('graph'), 200, 'Graph: a listing cut short is read again')
  t.equal(gw.sims.graph.stats.faults.truncatedAfter, 1, 'the fault fired')
  gw.sims.ews.faults.plan.configure({
    rules: [{ operations: ['FindItem'], rate: 1, kinds: ['serverError'], count: 1 }]
  })
  t.equal(await list('ews'), 200, 'EWS: an ErrorInternalServerError fault on FindItem is sent again')
  t.equal(gw.sims.ews.stats.faults.serverError, 1, 'the fault fired')

  // An import session whose answer is cut short is asked for again: the items were never sent.
  const [id] = await firstIds(gw, 'graph', 1)
  const data = (await exportIds(gw, 'graph', [id])).results[0].data as string
  gw.sims.graph.faults.plan.configure({
    rules: [{ operations: ['createImportSession'], rate: 1, kinds: ['truncatedAfter'], count: 1 }]
  })
  const body = await importData(gw, 'graph', [data])
  t.same([body.succeeded, body.failed], [1, 0], 'imported')
  t.equal(gw.sims.graph.stats.faults.truncatedAfter, 2, 'the fault fired')
})
