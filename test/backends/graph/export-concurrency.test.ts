/**
 * A Graph export of more than 20 ids is several exportItems POSTs: they run at once, as many as the policy's caps
 * allow (the app's `appConcurrency` and the policy's per-mailbox `concurrency`), and the results keep request order.
 * Observed at the simulator, without timing: its bearer check holds the exportItems requests until two are there
 * and the third waits in the policy's queue. An export sending its POSTs one after another never has two there at
 * once, one letting all three through has three there (either way the test fails).
 */
import t from 'tap'
import { setImmediate } from 'node:timers/promises'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { startIdentitySimulator } from '../../../src/simulators/identity/index.js'
import { startGraphSimulator } from '../../../src/simulators/graph/index.js'
import { seedDemoTenant, DEMO_MAILBOXES, DEMO_TENANT_ID } from '../../../src/simulators/store/seed.js'
import { Policy } from '../../../src/backends/policy.js'
import type { MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { graphBackendOn } from '../../helpers/backends.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia } from '../../helpers/service.js'

const GRAPH = 'https://graph.microsoft.com'
const APP = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0c11', clientSecret: 'graph-concurrency-test-secret-4d2c' }
/**
 * How long a request held at the simulator waits for the gate to open before it passes anyway: only an export that
 * sends its POSTs one after another (or lets more than the cap through) waits this long.
 */
const FALLBACK_MS = 10_000

/**
 * Holds requests at the simulator until `open(held)` says enough are there, or the last of `total` expected has
 * come; after that every request passes. `most` is the most held at once; `late` counts requests that passed
 * only because FALLBACK_MS went by.
 */
class Gate {
  arrived = 0
  most = 0
  late = 0
  private held = 0
  private opened = false
  constructor (readonly total: number, readonly open: (held: number) => boolean) {}

  async enter (): Promise<void> {
    this.arrived++
    this.held++
    this.most = Math.max(this.most, this.held)
    const fallback = Date.now() + FALLBACK_MS
    while (!this.opened && this.arrived < this.total && !this.open(this.held)) {
      if (Date.now() > fallback) { this.late++; break }
      await setImmediate()
    }
    this.opened = true
    this.held--
  }
}

t.test('exportItems chunks run concurrently within the caps, results in request order', async (t) => {
  const tls = await loopbackCertificate()
  const tenant = seedDemoTenant()
  const { logger } = captureLogs('warn', { redaction: false }, [])
  const identity = await startIdentitySimulator({
    tenantId: DEMO_TENANT_ID,
    tls,
    apps: [{
      ...APP,
      roles: {
        [GRAPH]: ['User.Read.All', 'MailboxFolder.ReadWrite.All', 'MailboxItem.Read.All',
          'MailboxItem.ImportExport.All']
      }
    }]
  })
  t.teardown(async () => await identity.close())
  let gate: Gate | undefined
  const graph = await startGraphSimulator({
    store: tenant,
    tls,
    verifyBearer: async (token) => {
      const who = await identity.verify(token, GRAPH)
      if (gate !== undefined) await gate.enter()
      return who
    },
    logger
  })
  t.teardown(async () => await graph.close())

  // Caps: 3 calls a request (the app's), of which the policy lets 2 at once reach one mailbox.
  const policy = new Policy({ concurrency: 2, baseDelayMs: 20 })
  t.teardown(() => { policy.close() })
  const chain = { identityHost: identity.host, graph, ca: tls.ca, policy, logger }
  const { backend } = graphBackendOn(t, chain, APP, 'graph', { appConcurrency: 3 })

  // Resolved, as the gateway's mailbox registry hands it over: no discovery call per export.
  const carol: MailboxRef = {
    id: 'carol-primary',
    address: DEMO_MAILBOXES.carol.smtp,
    type: 'graph',
    kind: 'primary',
    backend: 'graph',
    backendRef: graph.mailboxId(DEMO_MAILBOXES.carol.guid)
  }
  const wire = (storeId: string): string => storeId.replace(/\+/g, '-').replace(/\//g, '_')
  const idsOf = (name: string): string[] =>
    tenant.itemsIn(tenant.wellKnownFolder(DEMO_MAILBOXES.carol.guid, name).id).map((i) => wire(i.id))
  const ids = [...idsOf('inbox'), ...idsOf('sentitems'), ...idsOf('drafts')]
  t.equal(ids.length, 45, 'three exportItems POSTs of at most 20 ids')
  const blob64 = (wireId: string): string =>
    tenant.requireItem(wireId.replace(/-/g, '+').replace(/_/g, '/')).blob().toString('base64')

  // A token is held first, so that only the export's POSTs meet the gate.
  await collect(exportItemsVia(backend, carol, ids.slice(0, 1)))
  graph.resetStats()
  // Open once two POSTs are at the simulator and the third waits in the policy's queue for the mailbox's slot.
  const held = new Gate(3, (n) => n >= 2 && policy.load('graph').queued >= 1)
  gate = held
  const results = await collect(exportItemsVia(backend, carol, ids))
  gate = undefined

  t.same(graph.stats.byOperation, { exportItems: 3 }, 'three exportItems POSTs and nothing else')
  t.equal(held.arrived, 3, `only they met the gate (${held.arrived} did)`)
  t.equal(held.most, 2, 'two of them at the simulator at once, never the third with them')
  t.equal(held.late, 0, 'none waited for a POST that never came')
  t.same(results.map((r) => r.itemId), ids, 'results in request order')
  for (const r of results) t.ok('data' in r && r.data === blob64(r.itemId), `data of ${r.itemId} in its place`)
})
