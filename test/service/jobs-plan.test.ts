/**
 * What a copy job's target cannot take, unit by unit: folder names no backend takes, the per-item size bound of
 * each backend (`limits.import.maxItemBytes`, configurable) and the import that refuses an item above it before it
 * is sent.
 */
import t from 'tap'
import { folderNameProblem } from '../../src/service/jobs/plan.js'
import { importItems } from '../../src/service/items.js'
import { createEwsBackend } from '../../src/backends/ews/index.js'
import { createGraphBackend } from '../../src/backends/graph/backend.js'
import { Policy } from '../../src/backends/policy.js'
import { EWS_MAX_ITEM_BYTES } from '../../src/config.js'
import type { ImportItem, MailboxBackend, MailboxRef } from '../../src/backends/mailbox-backend.js'
import { ewsConfig, graphConfig } from '../helpers/backends.js'
import { captureLogs } from '../helpers/logs.js'

t.test('folder names no backend takes', async (t) => {
  t.equal(folderNameProblem('Projects 2026'), undefined)
  t.equal(folderNameProblem('😀 emoji'), undefined, 'a surrogate pair is fine')
  t.match(folderNameProblem('   '), /blank/)
  t.match(folderNameProblem('x'.repeat(256)), /256 UTF-16 code units/)
  t.match(folderNameProblem('a\u0001b'), /control character/)
  t.match(folderNameProblem('a\uFFFEb'), /control character/)
  t.match(folderNameProblem('a\uD800b'), /unpaired surrogate/)
  t.match(folderNameProblem('a\uDC00'), /unpaired surrogate/)
})

t.test('each backend has a per-item import bound, configurable', async (t) => {
  const { logger } = captureLogs()
  const policy = new Policy()
  t.teardown(() => { policy.close() })
  const auth = { kind: 'basic', username: 'u', password: 'p' }
  const url = 'https://mail.example.com/EWS/Exchange.asmx'
  const ews = createEwsBackend(ewsConfig('e', { url, auth }), { policy, logger })
  t.equal(EWS_MAX_ITEM_BYTES, 19_660_800, 'what fits in 25 MB of base64')
  t.equal(ews.limits.import.maxItemBytes, EWS_MAX_ITEM_BYTES)
  const ews2 = createEwsBackend(ewsConfig('e2', { url, auth, maxItemBytes: 50_000_000 }), { policy, logger })
  t.equal(ews2.limits.import.maxItemBytes, 50_000_000)
  const creds = { tenantId: 't', clientId: 'c', clientSecret: 's' }
  const tokens = { token: async () => 'x', close: async () => {} }
  const graph = createGraphBackend(graphConfig('g', creds), { policy, logger, tokenProvider: tokens } as never)
  t.equal(graph.limits.import.maxItemBytes, 112_500_000, 'the largest whose base64 body fits in 150 MB')
  const graph2 = createGraphBackend(graphConfig('g2', { ...creds, maxItemBytes: 36_700_160 }),
    { policy, logger, tokenProvider: tokens } as never)
  t.equal(graph2.limits.import.maxItemBytes, 36_700_160)
  await Promise.all([ews.close(), ews2.close(), graph.close(), graph2.close()])
})

t.test('an import item above maxItemBytes is refused before it is sent', async (t) => {
  const sent: ImportItem[] = []
  const backend = {
    type: 'ews',
    name: 'fake',
    capabilities: { associatedItems: { supported: true } },
    limits: { import: { maxItems: 10, maxBytes: Infinity, concurrency: 1, maxItemBytes: 1000 } },
    importBatch: async (_m: MailboxRef, items: ImportItem[]) => {
      sent.push(...items)
      return items.map((_, index) => ({ index, itemId: `id${index}`, changeKey: 'ck' }))
    }
  } as unknown as MailboxBackend
  const mailbox = { id: 'm', address: 'a@b.c', type: 'ews', kind: 'primary', backend: 'fake' } as MailboxRef
  const small = Buffer.alloc(1000).toString('base64')
  const big = Buffer.alloc(1001).toString('base64')
  const results = []
  for await (const r of importItems({ mailbox, backend }, [
    { folderId: 'inbox', mode: 'create', data: small },
    { folderId: 'inbox', mode: 'create', data: big }
  ], { crossBackendImport: 'allow' })) results.push(r)
  t.match(results[0], { index: 0, itemId: 'id0' })
  t.match(results[1], {
    index: 1, error: { code: 'MBG_ERR_TOO_LARGE', status: 413, retryable: false, message: /1001 bytes.*at most 1000/ }
  })
  t.equal(sent.length, 1, 'only the item within the bound was sent')
})
