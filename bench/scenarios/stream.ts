/**
 * Streaming export (`POST /mailboxes/{m}/folders/{f}/items:export`, NDJSON) of a folder of BENCH_STREAM_ITEMS
 * (10,000) items on EWS, read as fast as this process can: items/s, and the gateway's RSS, sampled every 100 ms
 * from /proc while the stream runs, should stay flat: its peak above the baseline well under the data streamed.
 */
import { request } from 'undici'
import { rssBytes } from '../processes.js'
import { MB, figure, measure, setting, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure } from '../results.js'
import { seed } from './throughput.js'

/** Peak RSS above baseline the stream may reach and still count as flat, MB. */
const FLAT_MB = 50

export async function stream (bench: Bench): Promise<Figure[]> {
  const count = setting('BENCH_STREAM_ITEMS', 10_000)
  const size = setting('BENCH_STREAM_ITEM_BYTES', 8000)
  const reps = setting('BENCH_STREAM_REPS', 1)
  const alice = 'alice@contoso.example'
  const folder = await seed(bench, alice, 'Stream', count, size)
  bench.log(`streaming export of ${count} items, ${(folder.bytes / MB).toFixed(0)} MB (${reps} samples)`)
  const samples: Sample[] = []
  const drift: number[] = []
  const streamed: number[] = []
  for (let i = 0; i < reps; i++) {
    const rss: Array<[number, number]> = []
    let items = 0
    let bytes = 0
    const pid = bench.gatewayProcess.pid
    samples.push(await measure(bench, async () => {
      const timer = setInterval(() => { rss.push([items, rssBytes(pid)]) }, 100)
      try {
        const url = `${bench.gateway.base}/mailboxes/${alice}/folders/${folder.folder.gateway}/items:export`
        const res = await request(url, {
          method: 'POST',
          dispatcher: bench.gateway.agent,
          headers: { 'x-api-key': bench.gateway.apiKey, 'content-type': 'application/json' },
          body: '{}'
        })
        if (res.statusCode !== 200) throw new Error(`folder export: ${res.statusCode} ${await res.body.text()}`)
        let tail = ''
        let summary = ''
        for await (const chunk of res.body) {
          const text = tail + (chunk as Buffer).toString('latin1')
          bytes += (chunk as Buffer).length
          let start = 0
          for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
            if (text.startsWith('{"type":"item"', start)) items++
            else if (text.startsWith('{"type":"summary"', start)) summary = text.slice(start, nl)
            start = nl + 1
          }
          tail = text.slice(start)
        }
        const end = JSON.parse(summary === '' ? '{}' : summary) as { complete?: boolean, failed?: number }
        if (items !== count || end.complete !== true) {
          throw new Error(`folder export: ${items} of ${count} items, summary ${summary.slice(0, 600)}`)
        }
      } finally {
        clearInterval(timer)
      }
    }))
    // RSS growth from the first tenth of the items to the end: flat memory does not grow with the items streamed.
    const early = rss.find(([n]) => n >= count / 10)?.[1] ?? rss[0]?.[1] ?? 0
    const late = Math.max(...rss.filter(([n]) => n >= count * 0.9).map(([, b]) => b), early)
    drift.push((late - early) / MB)
    streamed.push(bytes / MB)
  }
  await bench.sim.ask({ cmd: 'drop', folder: folder.folder.store })
  return [
    figure({
      id: 'stream-ews-rate',
      figure: `EWS streaming export of ${count} items (NDJSON)`,
      unit: 'items/s',
      gateway: summarize(samples.map((s) => count / s.ms * 1000)),
      gatewayCpuMs: summarize(samples.map((s) => s.cpuMs)),
      notes: { itemDataMB: Math.round(folder.bytes / MB), answerMB: summarize(streamed).median }
    }),
    figure({
      id: 'stream-ews-rss',
      figure: `EWS streaming export of ${count} items: peak gateway RSS above baseline`,
      unit: 'MB',
      gateway: summarize(samples.map((s) => s.peakAboveBytes / MB)),
      goal: { text: `flat: ≤ ${FLAT_MB} MB whatever the folder size`, metric: 'gateway', op: '<=', value: FLAT_MB },
      notes: {
        rssGrowthFrom10To90PercentMB: summarize(drift).median,
        longestEventLoopStallMs: summarize(samples.map((s) => s.loopMaxMs)).median
      }
    })
  ]
}
