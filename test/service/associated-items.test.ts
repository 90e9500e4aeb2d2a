/**
 * The service and folder-associated items: it checks the backend's `capabilities.associatedItems` before any call
 * (a clear 501 MBG_ERR_NOT_SUPPORTED naming why), and passes the `associated` flag to a backend that supports it.
 */
import t from 'tap'
import type {
  Capability, ImportItem, ListItemsRequest, MailboxBackend, MailboxRef
} from '../../src/backends/mailbox-backend.js'
import { MailboxService } from '../../src/service/mailbox-service.js'

const limits = { maxItems: 10, maxBytes: Infinity, concurrency: 1 }
const data = Buffer.from('an item stream').toString('base64')

interface Fake { backend: MailboxBackend, listed: ListItemsRequest[], imported: ImportItem[] }

function fake (type: 'ews' | 'graph', associatedItems: Capability): Fake {
  const listed: ListItemsRequest[] = []
  const imported: ImportItem[] = []
  const backend = {
    name: 'b',
    type,
    limits: { export: limits, import: limits },
    capabilities: { associatedItems },
    listItems: async (_m: MailboxRef, _f: unknown, page: ListItemsRequest) => {
      listed.push(page)
      return { values: [] }
    },
    importBatch: async (_m: MailboxRef, items: ImportItem[]) => {
      imported.push(...items)
      return items.map((_item, index) => ({ index, itemId: `new-${index}`, changeKey: 'ck' }))
    }
  } as unknown as MailboxBackend
  return { backend, listed, imported }
}

const service = new MailboxService({ router: {} as never, crossBackendImport: 'allow' })

t.test('a backend without the capability: nothing is sent, the caller is told why', async (t) => {
  const mailbox: MailboxRef = { id: 'c', address: 'carol@example.com', type: 'graph', kind: 'primary', backend: 'b' }
  const { backend, listed, imported } = fake('graph', { supported: false, reason: 'no such thing here' })
  await t.rejects(service.listItems({ mailbox, backend }, 'inbox', { associated: true }), {
    code: 'MBG_ERR_NOT_SUPPORTED',
    statusCode: 501,
    message: /folder-associated items of carol@example\.com \(a graph mailbox\): no such thing here/
  })
  t.same(listed, [], 'no listing call')
  await service.listItems({ mailbox, backend }, 'inbox', { associated: false })
  t.same(listed.map((p) => p.associated), [undefined], 'a normal listing goes through, unflagged')

  const summary = await service.importItems({ mailbox, backend }, [
    { folderId: 'inbox', mode: 'create', data, associated: true },
    { folderId: 'inbox', mode: 'create', data }
  ])
  t.same([summary.succeeded, summary.failed], [1, 1])
  t.match(summary.results[0], {
    index: 0,
    error: { code: 'MBG_ERR_NOT_SUPPORTED', status: 501, retryable: false, message: /import item 0.*no such thing here/ }
  })
  t.same(imported.map((i) => i.position), [1], 'only the normal item reached the backend')
})

t.test('a backend with the capability gets the flag on listings and import items', async (t) => {
  const mailbox: MailboxRef = { id: 'a', address: 'alice@example.com', type: 'ews', kind: 'primary', backend: 'b' }
  const { backend, listed, imported } = fake('ews', { supported: true })
  await service.listItems({ mailbox, backend }, 'inbox', { associated: true, pageSize: 5 })
  t.same(listed, [{ limit: 5, associated: true }])
  const summary = await service.importItems({ mailbox, backend }, [
    { folderId: 'inbox', mode: 'create', data, associated: true },
    { folderId: 'inbox', mode: 'create', data, associated: false }
  ])
  t.equal(summary.succeeded, 2)
  t.same(imported.map((i) => i.associated), [true, undefined], 'flagged only when asked for')
})
