/**
 * Memory bound of large items (issue 12): one 25 MB item exported and imported through a gateway process on each
 * backend, its peak RSS above its baseline read from outside, in /proc (VmHWM after resetting it; proc(5)), as the
 * benchmark does (bench/processes.ts, bench/measure.ts). The gateway and the simulators run in processes of their
 * own (bench/gateway-process.ts, bench/sim-process.ts), so only the gateway's memory is counted. The EWS import
 * sample is a 19 MB item: EWS takes at most 19,660,800 bytes (`maxItemBytes`, what fits in 25 MB of base64).
 *
 * Each measurement runs in a gateway process of its own (see freshGateway). The bounds are multiples of the item
 * size (`RSS_BOUND`, which says what they allow and why). No timing is asserted; the event-loop delay of each
 * sample is only reported (t.comment).
 */
import t, { type Test } from 'tap'
import { generateApiKey } from '../../src/access/authenticator.js'
import { GatewayClient, type SimSet } from '../../bench/clients.js'
import { startChild, startGatewayProcess } from '../../bench/processes.js'
import { measure, type Bench, type Sample } from '../../bench/measure.js'
import { seed } from '../../bench/scenarios/throughput.js'

/**
 * Peak gateway RSS above baseline, as a multiple of the item size, that one large item may cost. The wire form of
 * an item is its base64 (4/3 of it), so each copy of it the gateway holds at once costs 1.33× the item. Every path
 * now holds the item once, never copied (measured on a loaded 2-core machine: EWS export 2.7–3.5×, EWS import
 * 2.6–2.7×, Graph export 2.7–3.4×, Graph import 2.4–3.1×; before, in the same test: 4.7–5×, 5.3×, 3.7–5×, 3–4×):
 *  - export: the backend's answer as read (one buffer of its declared length); the item's data is a slice of it
 *    up to the caller's answer, written in slices;
 *  - import: the caller's body as read (one buffer); the item's data is a slice of it, sent to the backend as one
 *    of the request's pieces.
 * The rest is garbage the collector has not reached yet: the 64 KiB buffers of the socket reads, copied and
 * dropped (V8 collects for external memory only after about 64 MB of it), which the bounds leave room for. The
 * issue's goal (1.5×) needs the data streamed from one socket to the other: bench/explanations.md
 * (`*-25mb-rss`, `ews-import-19mb-rss`) says why it is not met.
 */
const RSS_BOUND: Record<string, number> = {
  'EWS export': 4, 'EWS import': 3.5, 'Graph export': 3.5, 'Graph import': 3.5
}

const ITEM_BYTES = 25_000_000
const EWS_IMPORT_BYTES = 19_000_000
const MB = 1e6

const apiKey = generateApiKey()
const sim = await startChild('large-sim', 'bench/sim-process.ts', {
  PATH: process.env.PATH, HOME: process.env.HOME, BENCH_API_KEY: apiKey, LOG_LEVEL: 'warn'
})
t.teardown(async () => { await sim.child.stop() })
const sims = (sim.ready.sets as Record<string, SimSet>).main
/**
 * A gateway process of its own for one measurement: memory a process has freed stays resident (the allocator keeps
 * it for the next allocations), so a second large item in the same process would look free. Warmed up with a small
 * export and import on `mailbox` first, so loading and compiling code is not counted.
 */
async function freshGateway (t: Test, mailbox: string, warm: { item: string, folder: string }):
Promise<{ gateway: GatewayClient, bench: Bench }> {
  const gw = await startGatewayProcess('large-gateway', sims.configFile, ['--expose-gc'])
  const gateway = new GatewayClient(gw.base, apiKey)
  t.teardown(async () => { await gateway.close(); await gw.child.stop() })
  await importOne(gateway, mailbox, warm.folder, await exportOne(gateway, mailbox, warm.item))
  // Only what `measure` and `seed` read: the processes and the gateway client.
  return { gateway, bench: { gateway, gatewayProcess: gw.child, sim: sim.child } as unknown as Bench }
}

/** One sample of `fn`, asserting the gateway's peak RSS growth against the bound. */
async function bounded (t: Test, bench: Bench, what: string, itemBytes: number, fn: () => Promise<void>):
Promise<Sample> {
  const s = await measure(bench, fn)
  const times = s.peakAboveBytes / itemBytes
  const bound = RSS_BOUND[what]
  t.comment(`${what}: peak RSS +${(s.peakAboveBytes / MB).toFixed(0)} MB = ${times.toFixed(2)}× the item ` +
    `(${(itemBytes / MB).toFixed(1)} MB); longest event-loop delay ${s.loopMaxMs} ms`)
  t.ok(times <= bound, `${what}: peak RSS growth ${times.toFixed(2)}× ≤ ${bound}× item`)
  return s
}

async function exportOne (gateway: GatewayClient, mailbox: string, itemId: string): Promise<string> {
  const r = await gateway.json<{ succeeded: number, results: Array<{ data?: string }> }>('POST',
    `/mailboxes/${mailbox}/items:export`, { itemIds: [itemId] })
  if (r.succeeded !== 1 || r.results[0].data === undefined) {
    throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
  }
  return r.results[0].data
}

async function importOne (gateway: GatewayClient, mailbox: string, folderId: string, data: string): Promise<void> {
  const r = await gateway.json<{ succeeded: number }>('POST', `/mailboxes/${mailbox}/items:import`,
    { items: [{ folderId, mode: 'create', data }] })
  if (r.succeeded !== 1) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`)
}

for (const [backend, mailbox, importBytes] of [
  ['EWS', 'alice@contoso.example', EWS_IMPORT_BYTES],
  ['Graph', 'carol@contoso.example', ITEM_BYTES]
] as const) {
  t.test(`${backend}: one 25 MB item exported, then one ${importBytes / MB} MB item imported`, async (t) => {
    const seeding = { sim: sim.child } as unknown as Bench
    const big = await seed(seeding, mailbox, `Large ${backend} export`, 1, ITEM_BYTES)
    const source = importBytes === ITEM_BYTES
      ? big
      : await seed(seeding, mailbox, `Large ${backend} source`, 1, importBytes)
    const target = await seed(seeding, mailbox, `Large ${backend} import`, 0, 0)
    const small = await seed(seeding, mailbox, `Large ${backend} warm-up`, 1, 2000)
    t.teardown(async () => {
      for (const f of new Set([big, source, target, small])) {
        await sim.child.ask({ cmd: 'drop', folder: f.folder.store })
      }
    })
    const warm = { item: small.items[0].gateway, folder: small.folder.gateway }
    const exporting = await freshGateway(t, mailbox, warm)
    let exported = ''
    await bounded(t, exporting.bench, `${backend} export`, big.bytes, async () => {
      exported = await exportOne(exporting.gateway, mailbox, big.items[0].gateway)
    })
    t.equal(Buffer.byteLength(exported, 'base64'), big.bytes, 'the whole item was exported')
    const data = source === big ? exported : await exportOne(exporting.gateway, mailbox, source.items[0].gateway)
    const importing = await freshGateway(t, mailbox, warm)
    await bounded(t, importing.bench, `${backend} import`, source.bytes, async () => {
      await importOne(importing.gateway, mailbox, target.folder.gateway, data)
    })
    t.match(await sim.child.ask({ cmd: 'count', folder: target.folder.store }), { count: 1 }, 'the item was imported')
  })
}
