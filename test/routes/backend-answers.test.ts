/**
 * Backend answers that are not what they claim, on both backend types: per-item data
 * that is not base64, a change key that is missing or not a string (per-item 502s,
 * never a success and never a failed call), item summaries without times (the
 * field is left out; the answer still validates against openapi/openapi.json, which
 * buildTestGateway checks on every 2xx answer; EWS keyset paging needs DateTimeCreated,
 * so there only its absence is a 502), and import answers without a change key (the
 * item was stored: a success with an empty change key, never a failure inviting a duplicate).
 */
import t from 'tap'
import { isStrictBase64 } from '../../src/base64.js'
import { fromPublicId } from '../../src/backends/ews/ids.js'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'
import { checkResponse } from '../helpers/openapi-contract.js'

type Type = 'ews' | 'graph'

interface Item { id: string, changeKey: string, created?: string, modified?: string }
interface ExportAnswer {
  results: Array<{
    itemId: string
    changeKey?: string
    data?: string
    error?: { code: string, status: number, message: string }
  }>
  succeeded: number
  failed: number
}

/** The id the simulator sees on the wire for a public item id. */
function wireId (type: Type, publicId: string): string {
  return type === 'ews' ? fromPublicId(publicId) : publicId
}

/** Damages the export answer for one item through the simulator's `exportDamage` knob. */
function damage (gw: TestGateway, type: Type, publicId: string, how: 'data' | 'changeKey'): void {
  if (type === 'ews') gw.sims.ews.faults.exportDamage = { [wireId(type, publicId)]: how }
  else gw.sims.graph.faults.exportDamage = { [wireId(type, publicId)]: how }
}

for (const type of ['ews', 'graph'] as const) {
  const mbx = encodeURIComponent(MAILBOXES[type].primary)

  async function firstItems (gw: TestGateway, n: number): Promise<Item[]> {
    const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=${n}` })
    return json<{ items: Item[] }>(res).items
  }

  for (const how of ['data', 'changeKey'] as const) {
    t.test(`${type}: an exported item whose ${how} is not usable is a per-item 502 naming it`, async (t) => {
      const gw = await buildTestGateway(t)
      const items = await firstItems(gw, 3)
      damage(gw, type, items[1].id, how)
      const payload = { itemIds: items.map((i) => i.id) }
      const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload })
      t.equal(res.statusCode, 200, res.body)
      const body = json<ExportAnswer>(res)
      t.same([body.succeeded, body.failed], [2, 1], 'succeeded, failed')
      t.ok(isStrictBase64(body.results[0].data ?? ''), 'the neighbour before is exported')
      t.ok(isStrictBase64(body.results[2].data ?? ''), 'the neighbour after is exported')
      const failed = body.results[1]
      t.equal(failed.itemId, items[1].id, 'the failure names the id asked for')
      t.notOk('data' in failed, 'no data is passed on')
      t.equal(failed.error?.code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
      t.equal(failed.error?.status, 502)
      const message = failed.error?.message ?? ''
      t.ok(message.includes(items[1].id.slice(0, 40)), `the message names the item: ${message}`)
    })
  }

  t.test(`${type}: item summaries without creation and modification times leave them out`, async (t) => {
    const gw = await buildTestGateway(t)
    // EWS item pages are keyset-paged on DateTimeCreated: there only the modification time may be absent.
    if (type === 'ews') gw.sims.ews.faults.omitItemFields = ['item:LastModifiedTime']
    else gw.sims.graph.faults.omitItemProps = ['createdDateTime', 'lastModifiedDateTime']
    // The inject itself rejects when the answer breaks the published schema (e.g. created: "").
    const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=3` })
    t.equal(res.statusCode, 200, res.body)
    const items = json<{ items: Item[] }>(res).items
    t.equal(items.length, 3)
    for (const item of items) {
      if (type === 'ews') t.ok(item.created !== undefined && item.created.length > 0, 'created as the server sent it')
      else t.notOk('created' in item, 'no created')
      t.notOk('modified' in item, 'no modified')
      t.ok(item.id.length > 0 && item.changeKey.length > 0)
    }
  })

  t.test(`${type}: an import answer without a change key is a success with an empty one, never a made-up one`,
    async (t) => {
      const gw = await buildTestGateway(t)
      const [item] = await firstItems(gw, 1)
      const exported = json<ExportAnswer>(await gw.app.inject({
        method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [item.id] }
      }))
      const data = exported.results[0].data ?? ''
      if (type === 'ews') gw.sims.ews.faults.uploadWithoutChangeKey = 1
      else gw.sims.graph.faults.importWithoutChangeKey = 1
      const payload = { items: [{ folderId: 'inbox', mode: 'create', data }] }
      const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:import`, payload })
      t.equal(res.statusCode, 200, res.body)
      type ImportAnswer = { succeeded: number, failed: number, results: Array<{ itemId?: string, changeKey?: string }> }
      const body = json<ImportAnswer>(res)
      t.same([body.succeeded, body.failed], [1, 0], 'the stored item is reported stored (a retry would duplicate it)')
      const stored = body.results[0]
      t.equal(stored.changeKey, '', 'no change key is made up')
      t.ok(gw.logs.some((l) => l.includes('without a') && l.includes('hange') && l.includes(stored.itemId ?? '?')),
        'a warning names the stored item')
      const again = json<ExportAnswer>(await gw.app.inject({
        method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [stored.itemId] }
      }))
      t.same([again.succeeded, again.failed], [1, 0], 'the item is where the answer says')
      t.equal(again.results[0].data, data, 'the same stream')
    })

  if (type === 'ews') {
    t.test('ews: an item summary without DateTimeCreated (the keyset paging key) is a clear 502', async (t) => {
      const gw = await buildTestGateway(t)
      gw.sims.ews.faults.omitItemFields = ['item:DateTimeCreated']
      const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=3` })
      t.equal(res.statusCode, 502, res.body)
      t.equal(json(res).code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
    })
  }

  t.test(`${type}: an item summary without a size is a clear 502, not a made-up 0`, async (t) => {
    const gw = await buildTestGateway(t)
    if (type === 'ews') gw.sims.ews.faults.omitItemFields = ['item:Size']
    else gw.sims.graph.faults.omitItemProps = ['size']
    const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=3` })
    t.equal(res.statusCode, 502, res.body)
    t.equal(json(res).code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
    t.match(json(res).detail, /size/i, 'the problem names the field')
  })
}

t.test('ews: line-wrapped m:Data (base64 with whitespace) is still exported, unwrapped', async (t) => {
  const gw = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const listed = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` })
  const items = json<{ items: Item[] }>(listed).items
  const plain = json<ExportAnswer>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [items[0].id] }
  }))
  gw.sims.ews.faults.exportDamage = { [fromPublicId(items[0].id)]: 'wrapped' }
  const wrapped = json<ExportAnswer>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [items[0].id] }
  }))
  t.same([wrapped.succeeded, wrapped.failed], [1, 0], 'succeeded, failed')
  t.equal(wrapped.results[0].data, plain.results[0].data, 'the same stream, whitespace removed')
})

t.test('the contract check rejects what the old adapters produced', async (t) => {
  const item = { id: 'AAMkAG', changeKey: 'CQAAAB', itemClass: 'IPM.Note', size: 10, subject: 'x' }
  const url = '/mailboxes/alice%40contoso.example/folders/inbox/items?pageSize=3'
  const ok = checkResponse('GET', url, 200, 'application/json; charset=utf-8', JSON.stringify({ items: [item] }))
  t.same(ok?.errors, [], 'an item without times validates')
  const answer = (entry: object): string => JSON.stringify({ items: [entry] })
  const empty = checkResponse('GET', url, 200, 'application/json', answer({ ...item, created: '', modified: '' }))
  t.ok((empty?.errors.length ?? 0) > 0, 'created: "" is a violation')
  t.equal(empty?.where, 'GET /mailboxes/{mailbox}/folders/{folder}/items 200')
  const times = { created: '2024-01-02T03:04:05Z', modified: '2024-01-02T03:04:05Z' }
  const negative = checkResponse('GET', url, 200, 'application/json', answer({ ...item, ...times, size: -1 }))
  t.ok((negative?.errors.length ?? 0) > 0, 'a negative size is a violation')
  t.equal(checkResponse('GET', url, 404, 'application/problem+json', '{}'), undefined, 'only 2xx answers are checked')
})
