/**
 * The EWS adapter in delegate mode (`impersonation: false`) against the simulator, as the
 * demo's service account: no ExchangeImpersonation header, every distinguished folder names
 * its mailbox, and the account holds FullAccess on the demo's EWS mailboxes (alice, bob).
 * A mailbox without a grant is refused for the whole call (403).
 */
import t from 'tap'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { type MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { DEMO_CREDENTIALS, startSimulators } from '../../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../../src/simulators/store/seed.js'
import { ewsConfig } from '../../helpers/backends.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const { logger } = captureLogs('debug')
const sims = await startSimulators({ logger })
const backend = createEwsBackend(ewsConfig('ews-delegate', {
  url: sims.ews.url,
  auth: { kind: 'basic', username: DEMO_CREDENTIALS.ews.username, password: DEMO_CREDENTIALS.ews.password },
  impersonation: false
}), { policy: new Policy({ baseDelayMs: 5 }), logger })
t.teardown(async () => { await backend.close(); await sims.close() })

const ref = (who: 'alice' | 'bob' | 'carol', kind: 'primary' | 'archive' = 'primary'): MailboxRef =>
  ({ id: `${who}-${kind}`, address: DEMO_MAILBOXES[who].smtp, type: 'ews', kind, backend: 'ews-delegate' })

t.test('the demo service account works in delegate mode on the mailboxes it holds FullAccess on', async (t) => {
  const alice = ref('alice')
  t.same(await backend.discover(alice.address), { archive: {} }, 'discovery finds her archive')
  t.equal((await backend.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  t.equal((await backend.getFolder(ref('alice', 'archive'), { wellKnown: 'root' })).parentId, null, 'archive root')
  const page = await backend.listItems(alice, { wellKnown: 'inbox' }, { limit: 3 })
  t.equal(page.values.length, 3)
  const folder = await backend.createFolder(alice, { displayName: 'Delegate import', parentId: { wellKnown: 'inbox' } })
  const exported = await collect(exportItemsVia(backend, alice, page.values.map((i) => i.id)))
  t.same(exported.map((r) => 'data' in r), [true, true, true], 'export by id')
  const entries = exported.map((r) => ({
    folderId: { id: folder.id }, mode: 'create' as const, data: (r as { data: string }).data
  }))
  const imported = await collect(importItemsVia(backend, alice, entries))
  t.same(imported.map((r) => 'error' in r ? r.error.code : 'ok'), ['ok', 'ok', 'ok'], 'import into a folder made by id')
  t.equal((await backend.listItems(alice, { id: folder.id }, { limit: 10 })).values.length, 3)
  await backend.deleteFolder(alice, { id: folder.id })
  t.equal((await backend.getFolder(ref('bob'), { wellKnown: 'inbox' })).displayName, 'Inbox', 'bob too')
})

t.test('a mailbox the account holds no grant on is refused for the whole call', async (t) => {
  const denied = { code: 'MBG_ERR_ACCESS_DENIED', statusCode: 403, upstreamCode: 'ErrorAccessDenied' }
  await t.rejects(backend.getFolder(ref('carol'), { wellKnown: 'inbox' }), denied)
  await t.rejects(backend.listItems(ref('carol'), { wellKnown: 'inbox' }, { limit: 1 }), denied)
})
