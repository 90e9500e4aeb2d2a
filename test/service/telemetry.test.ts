/**
 * What the service reports (src/telemetry.ts): one `items` event per item with its outcome (done, not done,
 * outcome unknown) and its decoded bytes, and a `split` event per batch split to find an item.
 */
import t from 'tap'
import { OutcomeUnknown, TooLarge, toItemError } from '../../src/errors.js'
import type { MailboxBackend, MailboxRef } from '../../src/backends/mailbox-backend.js'
import { exportItems, importItems } from '../../src/service/items.js'
import { NO_TELEMETRY, type Telemetry } from '../../src/telemetry.js'
import { annotate } from '../../src/upstream/errors.js'

const mailbox: MailboxRef = { id: 'm1', address: 'a@example.com', type: 'ews', kind: 'primary', backend: 'b' }
const limits = { maxItems: 10, maxBytes: Infinity, concurrency: 1 }

function recorder (): { telemetry: Telemetry, items: unknown[], splits: unknown[] } {
  const items: unknown[] = []
  const splits: unknown[] = []
  return { telemetry: { ...NO_TELEMETRY, items: (e) => items.push(e), split: (e) => splits.push(e) }, items, splits }
}

t.test('export: per-item outcomes with decoded bytes, and the splits', async (t) => {
  const backend = {
    name: 'b',
    type: 'ews',
    limits: { export: limits, import: limits },
    exportBatch: async (_m: MailboxRef, ids: string[]) => {
      if (ids.length > 1 && ids.includes('bad')) throw annotate(new TooLarge('x'), { isolate: true })
      return ids.map((id) => id === 'bad'
        ? { itemId: id, error: toItemError(new TooLarge('x')) }
        : { itemId: id, changeKey: 'ck', data: 'QUJD' }) // 'ABC': 3 bytes
    }
  } as unknown as MailboxBackend
  const r = recorder()
  const out = []
  for await (const x of exportItems({ mailbox, backend }, ['a', 'bad'], { telemetry: r.telemetry })) out.push(x)
  t.equal(out.length, 2)
  t.same(r.items, [
    { backend: 'b', kind: 'export', outcome: 'ok', count: 1, bytes: 3 },
    { backend: 'b', kind: 'export', outcome: 'failed', count: 1, bytes: 0 }
  ])
  t.same(r.splits, [{ backend: 'b', kind: 'export', code: 'MBG_ERR_TOO_LARGE' }])
})

t.test('import: done, refused and unknown outcomes', async (t) => {
  const backend = {
    name: 'b',
    type: 'ews',
    limits: { export: limits, import: { ...limits, maxItems: 1 } },
    importBatch: async (_m: MailboxRef, items: Array<{ data: string }>) => {
      if (items[0].data === 'QUI=') throw new OutcomeUnknown('reset') // 'AB': 2 bytes
      return [{ index: 0, itemId: 'new', changeKey: 'ck' }]
    }
  } as unknown as MailboxBackend
  const r = recorder()
  const request = ['QUJD', 'not base64', 'QUI='].map((data) => ({ folderId: 'inbox', mode: 'create' as const, data }))
  const out = []
  for await (const x of importItems({ mailbox, backend }, request, { crossBackendImport: 'deny' },
    { telemetry: r.telemetry })) out.push(x)
  t.same(r.items, [
    { backend: 'b', kind: 'import', outcome: 'ok', count: 1, bytes: 3 },
    { backend: 'b', kind: 'import', outcome: 'failed', count: 1, bytes: 0 },
    { backend: 'b', kind: 'import', outcome: 'unknown', count: 1, bytes: 0 }
  ])
})
