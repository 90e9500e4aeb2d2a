/**
 * The router lists configured and registered mailboxes as one listing (src/backends/router.ts `page`), also when the
 * registry holds what the router leaves out: an address that is configured too (listed once, as configured) and a
 * registration whose backend is no longer configured (not listed, not resolved) — a registry shared with replicas
 * or kept across a configuration change holds both. Nothing after them may be skipped.
 */
import t from 'tap'
import { createRouter } from '../../src/backends/factory.js'
import { mailboxId } from '../../src/backends/router.js'
import { demoConfig } from '../../src/demo.js'
import { startSimulators } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { MemoryMailboxRegistry } from '../../src/state/memory.js'
import { captureLogs } from '../helpers/logs.js'

const entry = (address: string, backend: string) => ({
  address,
  backend,
  id: mailboxId(backend, address, 'primary'),
  archiveId: mailboxId(backend, address, 'archive')
})

t.test('registrations left out never hide those after them, at any page size', async (t) => {
  const { logger } = captureLogs('debug')
  const sims = await startSimulators({ logger })
  const { config, extras } = demoConfig(sims)
  const registry = new MemoryMailboxRegistry()
  // Sorted: alice (configured too), alice0 (gone backend), alice1 (gone), alicez, then bob… (configured).
  await registry.add(entry(DEMO_MAILBOXES.alice.smtp, 'exo-graph'))
  await registry.add(entry('alice0@contoso.example', 'retired-ews'))
  await registry.add(entry('alice1@contoso.example', 'retired-ews'))
  await registry.add(entry('alicez@contoso.example', 'exo-graph'))
  await registry.add(entry('zed@contoso.example', 'onprem-ews'))
  const router = createRouter(config, extras, logger, { registry })
  t.teardown(async () => { await router.close(); await sims.close() })

  const owners = ['alice', 'alicez', 'bob', 'carol', 'dave', 'zed'].map((n) => `${n}@contoso.example`)
  for (const limit of [1, 2, 3, 1000]) {
    const listed: string[] = []
    let after: string | undefined
    for (let n = 0; n < 100; n++) {
      const page = await router.page({ limit, ...(after !== undefined ? { after } : {}) })
      listed.push(...page.mailboxes.filter((m) => m.kind === 'primary').map((m) => m.address))
      t.ok(page.mailboxes.filter((m) => m.kind === 'primary').length <= limit)
      after = page.next
      if (after === undefined) break
    }
    t.same(listed, owners, `pages of ${limit}`)
  }
  const alice = (await router.list()).find((m) => m.address === DEMO_MAILBOXES.alice.smtp)
  t.equal(alice?.backend, 'onprem-ews', 'a configured address is the configured mailbox')
  t.notOk('registeredAt' in (alice ?? {}))
  await t.rejects(router.resolve('alice0@contoso.example'), { code: 'MBG_ERR_MAILBOX_NOT_FOUND' },
    'a registration of a backend no longer configured is not served')
})
