/**
 * Memory of a streamed export (issue 12: flat memory whatever the folder size): a folder of 10,000 items of 8 KB
 * streamed as NDJSON through a gateway process (bench/gateway-process.ts, simulators in bench/sim-process.ts), read
 * and dropped by this process as it comes.
 *
 * Asserted: the bytes the gateway's young-generation collections move to the old generation while it streams
 * (v8.GCProfiler in the gateway process, `promoted:start`/`promoted:stop`). Garbage promoted there stays until the
 * next full collection, which V8 lets wait until the old generation has grown by a multiple of what is live
 * (hundreds of MB on a large machine): item data promoted item after item is what made a long export's memory grow
 * with the folder. An item's data lives from the backend's answer until its line is written, much shorter than
 * the time between young collections, so next to none of it should be promoted; the bound allows a quarter of the
 * item data. Before (src/service/batches.ts keeping results waiting for their turn in a Map, whose obsolete hash
 * tables, once one reached the old generation, kept each newer table and its item data alive): 115 %, peak RSS
 * +108 MB; now 0.6 %, +54 MB. The gateway is fresh, warmed with 20 items only: a young generation not grown yet
 * is collected often, so data in flight meets several collections, the case that promoted it. Promotion follows
 * from what is allocated, not from how fast: a loaded machine does not change it. Peak RSS is only reported
 * (t.comment): it depends on how V8 sizes its heap, not only on the gateway.
 */
import t from 'tap'
import { request } from 'undici'
import { generateApiKey } from '../../src/access/authenticator.js'
import { GatewayClient, type SimSet } from '../../bench/clients.js'
import { peakRssBytes, resetPeak, rssBytes, startChild, startGatewayProcess } from '../../bench/processes.js'
import type { Bench } from '../../bench/measure.js'
import { seed } from '../../bench/scenarios/throughput.js'

const ITEMS = 10_000
const ITEM_BYTES = 8000
const WARM_ITEMS = 20
/** Most item data (decoded bytes) the young collections may promote to the old generation, as a share. */
const PROMOTED_SHARE = 0.25
const MB = 1e6
const alice = 'alice@contoso.example'

const apiKey = generateApiKey()
const sim = await startChild('stream-sim', 'bench/sim-process.ts', {
  PATH: process.env.PATH, HOME: process.env.HOME, BENCH_API_KEY: apiKey, LOG_LEVEL: 'warn'
})
t.teardown(async () => { await sim.child.stop() })
const sims = (sim.ready.sets as Record<string, SimSet>).main
const gw = await startGatewayProcess('stream-gateway', sims.configFile, ['--expose-gc'])
const gateway = new GatewayClient(gw.base, apiKey)
t.teardown(async () => { await gateway.close(); await gw.child.stop() })

/** Streams the folder's export, dropping what it reads; returns the item lines and the summary line. */
async function streamFolder (folder: string): Promise<{ items: number, summary: { complete?: boolean } }> {
  const res = await request(`${gateway.base}/mailboxes/${alice}/folders/${folder}/items:export`, {
    method: 'POST',
    dispatcher: gateway.agent,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: '{}'
  })
  if (res.statusCode !== 200) throw new Error(`folder export: ${res.statusCode} ${await res.body.text()}`)
  let items = 0
  let tail = ''
  let last = ''
  for await (const chunk of res.body) {
    const text = tail + (chunk as Buffer).toString('latin1')
    let start = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (text.startsWith('{"type":"item"', start)) items++
      else last = text.slice(start, nl)
      start = nl + 1
    }
    tail = text.slice(start)
  }
  return { items, summary: JSON.parse(last) as { complete?: boolean } }
}

t.test(`a streamed export of ${ITEMS} items promotes almost none of their data`, async (t) => {
  const seeding = { sim: sim.child } as unknown as Bench
  const warm = await seed(seeding, alice, 'Stream memory warm-up', WARM_ITEMS, ITEM_BYTES)
  const big = await seed(seeding, alice, 'Stream memory', ITEMS, ITEM_BYTES)
  t.teardown(async () => {
    for (const f of [warm, big]) await sim.child.ask({ cmd: 'drop', folder: f.folder.store })
  })
  // Code loaded and compiled, the collector's young generation sized, before anything is counted.
  t.match(await streamFolder(warm.folder.gateway), { items: WARM_ITEMS, summary: { complete: true } })
  await gw.child.ask({ cmd: 'gc' })
  const base = rssBytes(gw.child.pid)
  resetPeak(gw.child.pid)
  await gw.child.ask({ cmd: 'promoted:start' })
  const out = await streamFolder(big.folder.gateway)
  const { promotedBytes, scavenges } = await gw.child.ask<{ promotedBytes: number, scavenges: number }>(
    { cmd: 'promoted:stop' })
  const peak = peakRssBytes(gw.child.pid) - base
  t.match(out, { items: ITEMS, summary: { complete: true } }, 'every item was streamed')
  const share = promotedBytes / big.bytes
  t.comment(`${(big.bytes / MB).toFixed(0)} MB of item data: ${scavenges} young collections promoted ` +
    `${(promotedBytes / MB).toFixed(1)} MB (${(share * 100).toFixed(1)} %); peak RSS +${(peak / MB).toFixed(0)} MB`)
  t.ok(scavenges > 0, 'the young generation was collected during the export')
  t.ok(share <= PROMOTED_SHARE, `promoted ${(share * 100).toFixed(1)} % of the item data ≤ ${PROMOTED_SHARE * 100} %`)
})
