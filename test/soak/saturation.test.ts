/**
 * Saturation: bulk work into several Graph mailboxes at once uses the app's concurrency limit fully and never
 * goes over it. Outlook allows an app 4 concurrent requests (https://learn.microsoft.com/graph/throttling-limits,
 * "Outlook service limits"); the Graph simulator enforces that per app, counts every request that arrives while
 * 4 are in flight as a violation (answered 429), and measures the time-weighted mean of requests in flight.
 *
 * Through the public API, imports and exports into two Graph mailboxes run at the same time. Then:
 *  - never over the limit: no violation, no 429 of any origin;
 *  - saturated: the app's mean in flight over the busy period is at least 3 of 4;
 *  - and the work itself is done: every item exported with the store's bytes, every item stored once.
 */
import t from 'tap'
import { DEMO_CREDENTIALS } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { buildTestGateway } from '../helper.js'
import {
  exportAll, importAll, itemStream, newCallerLog, publicIdOf, seedItems, storeIdOf, subjectsInStore, type ImportItem
} from './driver.js'

const EXPORT_PER_MAILBOX = 300
const IMPORT_PER_MAILBOX = 100
/** Added to every Graph request while it holds its concurrency slot. */
// Long enough that a starved CPU (a loaded 2-core machine) does not decide how many calls overlap.
const LATENCY_MS = 500
const MAILBOXES = [DEMO_MAILBOXES.carol, DEMO_MAILBOXES.dave]

t.test('Graph: bulk import and export into two mailboxes keep the app at its limit of 4, never over', async (t) => {
  const started = performance.now()
  const gw = await buildTestGateway(t, { maxBatchItems: 500 })
  const { store } = gw.sims
  const graph = gw.sims.graph

  const exported = MAILBOXES.map((m) => ({
    mailbox: m,
    items: seedItems(store, m.guid, 'Saturation export',
      Array.from({ length: EXPORT_PER_MAILBOX }, (_, i) => `sat-x-${m.smtp}-${i}`))
  }))
  const imports = MAILBOXES.map((m) => ({
    mailbox: m,
    items: Array.from({ length: IMPORT_PER_MAILBOX }, (_, i): ImportItem => {
      const marker = `sat-i-${m.smtp}-${i}`
      return { marker, data: itemStream(marker, 2000).toString('base64') }
    })
  }))

  // Discovery (settings, folder ids) happens once per mailbox, one call after another: done before the
  // measurement, which is about bulk work.
  for (const m of MAILBOXES) {
    const res = await gw.app.inject({ method: 'GET', url: `/mailboxes/${encodeURIComponent(m.smtp)}/folders/inbox` })
    t.equal(res.statusCode, 200, res.statusCode === 200 ? `${m.smtp} discovered` : res.body)
  }
  // A server that answers at once is never busy: each request then holds its slot for a fraction of a millisecond
  // of this process's time, and nothing overlaps. Real Graph calls take tens to hundreds of milliseconds; this one
  // holds every request's slot for LATENCY_MS, so the in-flight count shows how many the gateway keeps going.
  graph.faults.delayMs = LATENCY_MS
  graph.resetStats()

  const log = newCallerLog()
  const [exportResults, importResults] = await Promise.all([
    Promise.all(exported.map(async ({ mailbox, items }) => await exportAll(gw, mailbox.smtp,
      items.map((i) => publicIdOf('graph', i.id)), { requestSize: 200, parallel: 1, log }))),
    Promise.all(imports.map(async ({ mailbox, items }) => await importAll(gw, mailbox.smtp, items,
      { requestSize: 50, parallel: 1, log })))
  ])

  const app = graph.stats.apps[DEMO_CREDENTIALS.app.clientId]
  t.ok(app !== undefined, 'the app is measured')
  t.equal(graph.stats.concurrencyViolations, 0, 'no request over the limit of 4 in flight')
  t.equal(graph.stats.throttled, 0, 'no 429')
  t.ok(app.maxInFlight <= 4, `at most 4 in flight (max ${app.maxInFlight})`)
  t.ok(app.meanInFlight >= 3, `saturated: mean in flight ${app.meanInFlight.toFixed(2)} ≥ 3`)

  // The work itself.
  t.same(log.wholeRequest, [], 'every request answered 200')
  let exportedOk = 0
  for (const [k, { items }] of exported.entries()) {
    for (const item of items) {
      const data = exportResults[k].get(publicIdOf('graph', item.id))?.data
      if (data !== undefined && Buffer.from(data, 'base64').equals(item.blob())) exportedOk++
    }
  }
  t.equal(exportedOk, EXPORT_PER_MAILBOX * MAILBOXES.length, 'every item exported with the store\'s bytes')
  const stored = subjectsInStore(store, 'sat-i-')
  let importedOk = 0
  for (const [k, { items }] of imports.entries()) {
    for (const item of items) {
      const itemId = importResults[k].get(item.marker)?.itemId
      const inStore = stored.get(item.marker) ?? []
      if (itemId !== undefined && inStore.length === 1 && inStore[0].id === storeIdOf('graph', itemId)) importedOk++
    }
  }
  t.equal(importedOk, IMPORT_PER_MAILBOX * MAILBOXES.length, 'every item stored once, where the answer says')

  t.comment(`saturation: ${graph.stats.requests} Graph requests (${JSON.stringify(graph.stats.byOperation)}), ` +
    `mean in flight ${app.meanInFlight.toFixed(2)}, max ${app.maxInFlight}, busy ${(app.busyMs / 1000).toFixed(1)} s, ` +
    `violations ${graph.stats.concurrencyViolations}, 429s ${graph.stats.throttled}; ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s`)
})
