/**
 * Soak: nothing lost, nothing duplicated, with about 10 % of backend calls failing.
 *
 * Both simulators run a seeded fault plan over every operation: throttling (Retry-After in every form,
 * EWS 429 and 503), EWS ErrorServerBusy, 503, 500, connections dropped before and after the server acted,
 * answers cut after it acted, slow answers and (Graph import) expired upload sessions; a few items are
 * poisoned (their export fails the whole batch). Through the public API only, a careful caller
 * (./driver.ts) exports thousands of seeded items and imports hundreds of marked ones into two EWS and
 * two Graph mailboxes at once, sending again only what the answers call retryable.
 *
 * Checked against the simulators' store, not against what the gateway says:
 *  - lost: none. Every exported item's data is the store's stream of that id; every item reported
 *    imported is in the store exactly once, under the id the answer gave;
 *  - duplicated: none. No marker is stored twice; an unknown outcome is stored 0 or 1 times;
 *  - no whole-request 5xx reaches the caller; every item not done has a per-item code (poisoned:
 *    not retryable; a lost answer: MBG_ERR_OUTCOME_UNKNOWN);
 *  - the faults did fire (the simulators' counters), so the test cannot pass on a quiet run.
 */
import t from 'tap'
import {
  EWS_FAULT_KINDS, FAULT_KINDS, GRAPH_FAULT_KINDS, GRAPH_OPERATIONS, type FaultRule
} from '../../src/simulators/faults.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import type { StoreItem } from '../../src/simulators/store/store.js'
import { buildTestGateway, type TestGateway } from '../helper.js'
import {
  counterSum, exportAll, importAll, itemStream, newCallerLog, publicIdOf, seedItems, storeIdOf, subjectsInStore,
  type BackendType, type ExportOutcome, type ImportItem, type ImportOutcome
} from './driver.js'

const SEED = 20260059
/** Items exported per mailbox (two mailboxes per backend). */
const EXPORT_PER_MAILBOX = 2500
/** Items imported per mailbox. */
const IMPORT_PER_MAILBOX = 400
/** Poisoned items among each mailbox's exported ones. */
const POISONED_PER_MAILBOX = 3
const POISON = 'POISON'
const SLOW_MS = 100

const MAILBOXES: Array<{ type: BackendType, name: string, guid: string, smtp: string }> = [
  { type: 'ews', name: 'alice', guid: DEMO_MAILBOXES.alice.guid, smtp: DEMO_MAILBOXES.alice.smtp },
  { type: 'ews', name: 'bob', guid: DEMO_MAILBOXES.bob.guid, smtp: DEMO_MAILBOXES.bob.smtp },
  { type: 'graph', name: 'carol', guid: DEMO_MAILBOXES.carol.guid, smtp: DEMO_MAILBOXES.carol.smtp },
  { type: 'graph', name: 'dave', guid: DEMO_MAILBOXES.dave.guid, smtp: DEMO_MAILBOXES.dave.smtp }
]

t.test('10 % of backend calls fail: every item exported or imported once, or answered per item', async (t) => {
  const started = performance.now()
  const gw = await buildTestGateway(t, { maxBatchItems: 500 })
  const { store } = gw.sims

  // 10 % of every operation's calls, all kinds alike. EWS: 2 % throttled as 503 + 8 % of the rest drawn from
  // every kind (throttle there is a 429); Graph: import POSTs may also find their session expired.
  gw.sims.ews.faults.plan.configure({
    seed: SEED,
    rules: [
      { rate: 0.02, kinds: ['throttle'], status: 503 },
      { rate: 0.08, kinds: [...EWS_FAULT_KINDS], delayMs: SLOW_MS }
    ]
  })
  gw.sims.graph.faults.plan.configure({
    seed: SEED,
    rules: [
      { operations: ['importItem'], rate: 0.1, kinds: [...GRAPH_FAULT_KINDS], delayMs: SLOW_MS },
      {
        operations: GRAPH_OPERATIONS.filter((o) => o !== 'importItem'),
        rate: 0.1,
        kinds: GRAPH_FAULT_KINDS.filter((k) => k !== 'expiredSession'),
        delayMs: SLOW_MS
      }
    ]
  })
  gw.sims.ews.faults.poison = { subjects: [POISON] }
  gw.sims.graph.faults.poison = { subjects: [POISON] }

  // Seeded straight into the store: what is exported is known byte for byte.
  const poisonEvery = Math.floor(EXPORT_PER_MAILBOX / POISONED_PER_MAILBOX)
  const exported = MAILBOXES.map((m) => {
    const subjects = Array.from({ length: EXPORT_PER_MAILBOX }, (_, i) =>
      `soak-x-${m.name}-${i}${i % poisonEvery === poisonEvery - 1 ? `-${POISON}` : ''}`)
    return { mailbox: m, items: seedItems(store, m.guid, 'Soak export', subjects) }
  })
  const imports = MAILBOXES.map((m) => ({
    mailbox: m,
    items: Array.from({ length: IMPORT_PER_MAILBOX }, (_, i): ImportItem => {
      const marker = `soak-i-${m.name}-${i}`
      return { marker, data: itemStream(marker, 800 + (i % 5) * 400).toString('base64') }
    })
  }))

  const log = newCallerLog()
  const exportResults: Array<Map<string, ExportOutcome>> = []
  const importResults: Array<Map<string, ImportOutcome>> = []
  await Promise.all([
    ...exported.map(async ({ mailbox, items }, k) => {
      const ids = items.map((i) => publicIdOf(mailbox.type, i.id))
      exportResults[k] = await exportAll(gw, mailbox.smtp, ids, { requestSize: 250, parallel: 2, log })
    }),
    ...imports.map(async ({ mailbox, items }, k) => {
      importResults[k] = await importAll(gw, mailbox.smtp, items, { requestSize: 50, parallel: 2, log })
    })
  ])

  // ---- export: every item's data is the store's stream; only poisoned items are not exported
  const counts = { exported: 0, poisoned: 0, imported: 0, unknown: 0, unknownStored: 0 }
  for (const [k, { mailbox, items }] of exported.entries()) {
    const missing: string[] = []
    const wrong: string[] = []
    const badPoison: string[] = []
    for (const item of items) {
      const outcome = exportResults[k].get(publicIdOf(mailbox.type, item.id))
      if (item.subject?.includes(POISON) === true) {
        counts.poisoned++
        if (outcome?.error === undefined || outcome.error.retryable || !outcome.error.code.startsWith('MBG_ERR_')) {
          badPoison.push(`${item.subject}: ${JSON.stringify(outcome)}`)
        }
        continue
      }
      if (outcome?.data === undefined) {
        missing.push(`${item.subject}: ${JSON.stringify(outcome?.error)}`)
        continue
      }
      counts.exported++
      if (!Buffer.from(outcome.data, 'base64').equals(item.blob())) wrong.push(item.subject ?? item.id)
    }
    t.same(missing, [], `${mailbox.name}: no item lost on export`)
    t.same(wrong, [], `${mailbox.name}: every exported item's data is the store's stream`)
    t.same(badPoison, [], `${mailbox.name}: each poisoned item has a per-item error that is not retryable`)
  }

  // ---- import: per marker, what the store holds
  const stored = subjectsInStore(store, 'soak-i-')
  const twice = [...stored].filter(([, list]) => list.length > 1).map(([s, list]) => `${s} ×${list.length}`)
  t.same(twice, [], 'no imported item is stored more than once')
  for (const [k, { mailbox, items }] of imports.entries()) {
    const problems: string[] = []
    for (const item of items) {
      const outcome = importResults[k].get(item.marker)
      const inStore: StoreItem[] = stored.get(item.marker) ?? []
      if (outcome === undefined) { problems.push(`${item.marker}: no answer`); continue }
      if (outcome.itemId !== undefined) {
        counts.imported++
        const id = storeIdOf(mailbox.type, outcome.itemId)
        if (inStore.length !== 1 || inStore[0].id !== id) {
          problems.push(`${item.marker}: reported imported as ${id}, stored ${inStore.map((i) => i.id).join()}`)
        } else if (inStore[0].mailboxGuid !== mailbox.guid) {
          problems.push(`${item.marker}: stored in another mailbox`)
        }
        continue
      }
      const error = outcome.error
      if (error?.code === 'MBG_ERR_OUTCOME_UNKNOWN') {
        counts.unknown++
        counts.unknownStored += inStore.length
        if (error.retryable || error.status !== 502) problems.push(`${item.marker}: ${JSON.stringify(error)}`)
        continue
      }
      // Any other answer leaves the item not done: the caller sent the retryable ones again until they were
      // done, and nothing in the import data gives a backend cause to refuse an item for good.
      problems.push(`${item.marker}: not imported: ${JSON.stringify(error)}, stored ${inStore.length}×`)
    }
    t.same(problems, [], `${mailbox.name}: every import item stored once, or an unknown outcome stored at most once`)
  }

  t.same(log.wholeRequest.filter((s) => s >= 500), [], 'no whole-request 5xx reached the caller')

  // ---- the faults fired
  const faults: Record<string, number> = {}
  for (const source of [gw.sims.ews.stats.faults, gw.sims.graph.stats.faults]) {
    for (const [kind, n] of Object.entries(source)) faults[kind] = (faults[kind] ?? 0) + (n ?? 0)
  }
  const fired = FAULT_KINDS.filter((k) => (faults[k] ?? 0) > 0)
  t.same(fired, FAULT_KINDS, 'every fault kind fired')
  // The seed is one whose first calls draw every kind at least twice on EWS (about 250 calls) and ten times on
  // Graph (about 1,250): which request gets which draw depends on timing, how many kinds fire hardly does.
  const ewsKinds = EWS_FAULT_KINDS.filter((k) => (gw.sims.ews.stats.faults[k] ?? 0) > 0)
  const graphKinds = GRAPH_FAULT_KINDS.filter((k) => (gw.sims.graph.stats.faults[k] ?? 0) > 0)
  t.ok(ewsKinds.length >= EWS_FAULT_KINDS.length - 2, `EWS fault kinds fired: ${ewsKinds.join(', ')}`)
  t.same(graphKinds, GRAPH_FAULT_KINDS, 'every Graph fault kind fired')
  t.ok((gw.sims.ews.stats.faults.poison ?? 0) > 0 && (gw.sims.graph.stats.faults.poison ?? 0) > 0,
    'poisoned batches were refused on both backends')
  const calls = gw.sims.ews.stats.requests + gw.sims.graph.stats.requests
  const faulted = Object.entries(faults).filter(([k]) => k !== 'poison').reduce((a, [, n]) => a + n, 0)
  t.ok(faulted >= calls * 0.05, `${faulted} of ${calls} backend calls faulted`)
  t.ok(counts.unknown > 0, 'some writes lost their answer (so the unknown-outcome path ran)')

  const retries = await counterSum(gw, 'mbg_backend_retries_total')
  const splits = await counterSum(gw, 'mbg_batch_splits_total')
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  t.comment(`soak: ${counts.exported} exported + ${counts.poisoned} poisoned, ${counts.imported} imported, ` +
    `${counts.unknown} unknown outcomes (${counts.unknownStored} of them stored); backend calls EWS ` +
    `${gw.sims.ews.stats.requests} Graph ${gw.sims.graph.stats.requests}; faults EWS ` +
    `${JSON.stringify(gw.sims.ews.stats.faults)} Graph ${JSON.stringify(gw.sims.graph.stats.faults)}; ` +
    `gateway retries ${retries}, caller re-sent ${log.resent} items in ${log.requests} requests, splits ${splits}, ` +
    `whole-request non-200 ${JSON.stringify(log.wholeRequest)}; ${seconds} s`)
})

// The faults the soak found, one at a time (each failed the soak before the gateway handled it; a Graph import
// answer cut short is test/routes/isolation.test.ts's).

/** A rule that fires on the next `count` calls of `operation`. */
const next = (operation: string, kind: 'truncatedAfter' | 'expiredSession', count = 1): FaultRule =>
  ({ operations: [operation], rate: 1, kinds: [kind], count })

async function importOne (gw: TestGateway, smtp: string, marker: string): Promise<ImportOutcome> {
  const data = itemStream(marker, 500).toString('base64')
  const res = await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(smtp)}/items:import`,
    payload: { items: [{ folderId: 'inbox', mode: 'create', data }] }
  })
  if (res.statusCode !== 200) throw new Error(`import answered ${res.statusCode}: ${res.body}`)
  return (JSON.parse(res.body) as { results: ImportOutcome[] }).results[0]
}

t.test('Graph: a cut-off exportItems answer is sent again', async (t) => {
  const gw = await buildTestGateway(t)
  const { store, graph } = gw.sims
  const carol = DEMO_MAILBOXES.carol
  const seeded = seedItems(store, carol.guid, 'Cut', ['cut-x-0', 'cut-x-1', 'cut-x-2'])
  graph.faults.plan.configure({ rules: [next('exportItems', 'truncatedAfter')] })
  const exported = await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(carol.smtp)}/items:export`,
    payload: { itemIds: seeded.map((i) => publicIdOf('graph', i.id)) }
  })
  t.equal(exported.statusCode, 200, exported.statusCode === 200 ? 'exported' : exported.body)
  const results = (JSON.parse(exported.body) as { results: ExportOutcome[] }).results
  t.same(results.map((r, k) => r.data !== undefined && Buffer.from(r.data, 'base64').equals(seeded[k].blob())),
    [true, true, true], 'every item exported (an export is a read: sent again)')
  t.equal(graph.stats.faults.truncatedAfter, 1, 'the answer was cut once')
})

t.test('Graph: items of a cut-off exportItems answer the gateway gave up on may be asked for again', async (t) => {
  const gw = await buildTestGateway(t, { configure (c) { c.policy = { maxAttempts: 1 } } })
  const { store, graph } = gw.sims
  const carol = DEMO_MAILBOXES.carol
  const seeded = seedItems(store, carol.guid, 'Cut', Array.from({ length: 25 }, (_, i) => `cut-y-${i}`))
  graph.faults.plan.configure({ rules: [next('exportItems', 'truncatedAfter')] })
  const res = await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(carol.smtp)}/items:export`,
    payload: { itemIds: seeded.map((i) => publicIdOf('graph', i.id)) }
  })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'answered per item' : res.body)
  const failed = (JSON.parse(res.body) as { results: ExportOutcome[] }).results.filter((r) => r.error !== undefined)
  t.ok(failed.length === 20 || failed.length === 5, `the items of one call failed (${failed.length})`)
  t.ok(failed.every((r) => r.error?.retryable === true), 'retryable: the answer was lost, the items are fine')
})

t.test('Graph: an item whose new import session expires too is imported with the next one', async (t) => {
  const gw = await buildTestGateway(t)
  const { store, graph } = gw.sims
  graph.faults.plan.configure({ rules: [next('importItem', 'expiredSession', 2)] })
  const result = await importOne(gw, DEMO_MAILBOXES.carol.smtp, 'renew-i-0')
  t.ok(result.itemId !== undefined, `imported: ${JSON.stringify(result)}`)
  const stored = subjectsInStore(store, 'renew-i-').get('renew-i-0') ?? []
  t.same(stored.map((i) => i.id), [storeIdOf('graph', result.itemId ?? '')], 'stored once, under the id answered')
  t.equal(graph.stats.faults.expiredSession, 2, 'both sessions expired')
  t.equal(graph.stats.sessionsCreated, 3, 'a third session carried the item')
})

t.test('EWS: a passing ErrorInternalServerError on an export of one item is sent again, not blamed on it',
  async (t) => {
    const gw = await buildTestGateway(t)
    const { store, ews } = gw.sims
    const alice = DEMO_MAILBOXES.alice
    const [item] = seedItems(store, alice.guid, 'Alone', ['alone-x-0'])
    ews.faults.plan.configure({ rules: [{ operations: ['ExportItems'], rate: 1, kinds: ['serverError'], count: 1 }] })
    const res = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(alice.smtp)}/items:export`,
      payload: { itemIds: [publicIdOf('ews', item.id)] }
    })
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'exported' : res.body)
    const [result] = (JSON.parse(res.body) as { results: ExportOutcome[] }).results
    t.ok(result.data !== undefined && Buffer.from(result.data, 'base64').equals(item.blob()),
      `exported: ${JSON.stringify(result.error)}`)
    t.same([ews.stats.faults.serverError, ews.stats.byOperation.ExportItems], [1, 2], 'one fault, sent twice')
  })
