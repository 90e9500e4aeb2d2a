/**
 * Discovery is cached by the router alone, with an expiry: within it no backend
 * is asked again; after it, changes on the backend (a new archive) show up, for
 * EWS and Graph mailboxes alike.
 */
import t, { type Test } from 'tap'
import { createRouter } from '../../src/backends/factory.js'
import { demoConfig } from '../../src/demo.js'
import { startSimulators } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { captureLogs } from '../helpers/logs.js'

async function setup (t: Test, discoveryTtlMs: number) {
  const { logger } = captureLogs('debug')
  const sims = await startSimulators({ logger })
  const { config, extras } = demoConfig(sims)
  const router = createRouter(config, extras, logger, { discoveryTtlMs })
  t.teardown(async () => { await router.close(); await sims.close() })
  return { sims, router }
}

t.test('within the expiry, listing and resolving ask no backend again', async (t) => {
  const { sims, router } = await setup(t, 60_000)
  t.equal((await router.list()).length, 7)
  const ews = sims.ews.stats.requests
  const graph = sims.graph.stats.requests
  await router.list()
  await router.resolve(DEMO_MAILBOXES.carol.smtp)
  await router.resolve(DEMO_MAILBOXES.alice.smtp)
  t.equal(sims.ews.stats.requests, ews, 'no EWS call')
  t.equal(sims.graph.stats.requests, graph, 'no Graph call')
})

t.test('after the expiry, a new archive is discovered (EWS and Graph)', async (t) => {
  const { sims, router } = await setup(t, 0)
  const before = await router.list()
  t.notOk(before.some((m) => m.address === DEMO_MAILBOXES.bob.smtp && m.kind === 'archive'))
  const graph = sims.graph.stats.requests
  sims.store.addMailbox({
    smtp: DEMO_MAILBOXES.bob.smtp,
    displayName: 'Bob Baker (archive)',
    kind: 'archive',
    primaryGuid: DEMO_MAILBOXES.bob.guid
  })
  const after = await router.list()
  t.ok(
    after.some((m) => m.address === DEMO_MAILBOXES.bob.smtp && m.kind === 'archive'),
    'EWS: the new archive is listed'
  )
  t.ok(sims.graph.stats.requests > graph, 'Graph settings/exchange asked again, not answered from an adapter cache')
  const { mailbox } = await router.resolve(DEMO_MAILBOXES.carol.smtp)
  t.match(mailbox.backendRef, /^MBX:/)
})
