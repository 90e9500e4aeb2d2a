/**
 * Pacing against the Graph simulator's own throttling (Outlook's rules: 4 concurrent requests per
 * app across mailboxes, a request budget per app + mailbox), all HTTPS on loopback: the gateway
 * keeps within them, so the simulator never has to answer 429.
 */
import t, { type Test } from 'tap'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { startIdentitySimulator } from '../../../src/simulators/identity/index.js'
import { startGraphSimulator } from '../../../src/simulators/graph/index.js'
import type { GraphThrottling } from '../../../src/simulators/graph/types.js'
import { seedDemoTenant, DEMO_MAILBOXES, DEMO_TENANT_ID } from '../../../src/simulators/store/seed.js'
import { createMsalTokenProvider } from '../../../src/auth/msal-token-provider.js'
import { Policy, type PolicySettings } from '../../../src/backends/policy.js'
import { createGraphBackend } from '../../../src/backends/graph/index.js'
import type { MailboxBackend, MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { graphConfig } from '../../helpers/backends.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const GRAPH = 'https://graph.microsoft.com'
const ROLES = ['User.Read.All', 'MailboxFolder.ReadWrite.All', 'MailboxItem.Read.All', 'MailboxItem.ImportExport.All']
const APP = { clientId: '5d2c0a47-1e3b-4f6a-8c9d-0e1f2a3b4c51', clientSecret: 'pacing-test-secret-3c1e' }
type User = 'alice' | 'bob' | 'carol' | 'dave'
const ref = (name: User): MailboxRef =>
  ({ id: `${name}-primary`, address: DEMO_MAILBOXES[name].smtp, type: 'graph', kind: 'primary', backend: 'graph' })
const wire = (storeId: string): string => storeId.replace(/\+/g, '-').replace(/\//g, '_')

async function setup (t: Test, options: {
  throttling?: GraphThrottling
  policy?: PolicySettings
  settings?: Record<string, unknown>
}): Promise<{
  backend: MailboxBackend
  graph: Awaited<ReturnType<typeof startGraphSimulator>>
  policy: Policy
  tenant: ReturnType<typeof seedDemoTenant>
}> {
  const tls = await loopbackCertificate()
  const tenant = seedDemoTenant()
  const { logger } = captureLogs('warn')
  const identity = await startIdentitySimulator({
    tenantId: DEMO_TENANT_ID, tls, apps: [{ ...APP, roles: { [GRAPH]: ROLES } }]
  })
  t.teardown(async () => await identity.close())
  const graph = await startGraphSimulator({
    store: tenant,
    tls,
    verifyBearer: async (token) => await identity.verify(token, GRAPH),
    ...(options.throttling !== undefined ? { throttling: options.throttling } : {})
  })
  t.teardown(async () => await graph.close())
  const config = graphConfig('graph', {
    tenantId: DEMO_TENANT_ID,
    ...APP,
    authorityHost: `https://${identity.host}`,
    graphUrl: graph.url,
    allowedImportHosts: [new URL(graph.importOrigin).host],
    ...options.settings
  }, { ca: tls.ca })
  const tokens = createMsalTokenProvider({ ...config.oauth, logger })
  const policy = new Policy({ baseDelayMs: 20, ...options.policy })
  const backend = createGraphBackend(config, { policy, logger, tokenProvider: tokens })
  t.teardown(async () => { await backend.close(); await tokens.close(); policy.close() })
  return { backend, graph, policy, tenant }
}

t.test('80 concurrent imports into four mailboxes of one app: none throttled', async (t) => {
  // The simulator allows 4 requests in flight per app, whatever the mailbox (its default), and
  // holds each a little, so more than 4 at once would surely overlap.
  const { backend, graph, tenant } = await setup(t, {})
  graph.faults.delayMs = 5
  const users: User[] = ['alice', 'bob', 'carol', 'dave']
  const sample = tenant.itemsIn(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, 'sentitems').id)[0]
  const [exported] = await collect(exportItemsVia(backend, ref('carol'), [wire(sample.id)]))
  if (!('data' in exported)) throw new Error(`export failed: ${JSON.stringify(exported)}`)
  const before = graph.stats.throttled
  const results = await Promise.all(Array.from({ length: 80 }, async (_, i) => await collect(
    importItemsVia(backend, ref(users[i % users.length]), [
      { folderId: { wellKnown: 'inbox' }, mode: 'create', data: exported.data },
      { folderId: { wellKnown: 'inbox' }, mode: 'create', data: exported.data }
    ])
  )))
  const items = results.flat()
  const failed = items.filter((r) => 'error' in r)
  t.equal(items.length, 160)
  t.same(failed, [], 'every item imported (none throttled)')
  t.equal(graph.stats.throttled - before, 0, 'the simulator never answered 429')
})

t.test('a request budget is paced, not hit', async (t) => {
  // 10 requests per 2 s per app + mailbox on both sides.
  const budget = { requests: { limit: 10, windowSec: 2 } }
  const { backend, graph } = await setup(t, {
    throttling: { requestsPerMailbox: 10, windowSec: 2 },
    settings: { budgets: budget },
    policy: { maxInlineDelayMs: 60_000 }
  })
  const carol = ref('carol')
  const pages = await Promise.all(Array.from({ length: 25 }, async () =>
    await backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 1 })))
  t.equal(pages.length, 25, 'every call answered')
  t.equal(graph.stats.throttled, 0, 'the simulator never answered 429: the calls over budget waited')
})

t.test('a budget wait longer than maxInlineDelayMs fails at once with Retry-After, unsent', async (t) => {
  const { backend, graph } = await setup(t, {
    throttling: { requestsPerMailbox: 10, windowSec: 30 },
    settings: { budgets: { requests: { limit: 10, windowSec: 30 } } },
    policy: { maxInlineDelayMs: 1000 }
  })
  const carol = ref('carol')
  for (let i = 0; i < 10; i++) await backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 1 })
  const sent = graph.stats.requests
  const err = await backend.listItems(carol, { wellKnown: 'inbox' }, { limit: 1 }).then(() => undefined, (e) => e)
  t.match(err, { code: 'MBG_ERR_UPSTREAM_THROTTLED', statusCode: 503 })
  t.ok((err as { retryAfter: number }).retryAfter >= 1 && (err as { retryAfter: number }).retryAfter <= 32,
    'Retry-After: the time until the budget has room')
  t.equal(graph.stats.requests, sent, 'nothing was sent')
  t.equal(graph.stats.throttled, 0)
})
