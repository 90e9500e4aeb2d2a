/**
 * Streaming export (`POST /mailboxes/{m}/folders/{f}/items:export`, NDJSON) of a folder of BENCH_STREAM_ITEMS
 * (10,000) items on EWS, read as fast as this process can: items/s, and the gateway's RSS, sampled every 100 ms
 * from /proc while the stream runs, should stay flat: its peak above the baseline well under the data streamed.
 * BENCH_STREAM_REPS samples (BENCH_REPS) after `warmup` unmeasured streams of the same folder: a gateway that has
 * not streamed yet first grows V8's young generation to the size a busy process keeps (about +70 MB of RSS, once
 * per process), which is not memory the export holds. The gateway's heap (process.memoryUsage over IPC) is logged
 * beside its RSS, item count by item count; BENCH_HEAP_SNAPSHOT and BENCH_ALLOC_PROF (folders; BENCH_ALLOC_YOUNG=0
 * for promoted objects only) write a heap snapshot half way, or an allocation profile of the stream, for diagnosis.
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
  const reps = setting('BENCH_STREAM_REPS', bench.reps)
  const alice = 'alice@contoso.example'
  const folder = await seed(bench, alice, 'Stream', count, size)
  bench.log(`streaming export of ${count} items, ${(folder.bytes / MB).toFixed(0)} MB (${reps} samples after ` +
    `${bench.warmup} warm-up)`)
  const samples: Sample[] = []
  const drift: number[] = []
  const heapDrift: number[] = []
  const streamed: number[] = []
  for (let i = 0; i < bench.warmup + reps; i++) {
    const keep = i >= bench.warmup
    const rss: Array<[number, number]> = []
    const heap: Array<[number, { heapTotal: number, heapUsed: number, external: number }]> = []
    let snapshot = process.env.BENCH_HEAP_SNAPSHOT
    let items = 0
    let bytes = 0
    const pid = bench.gatewayProcess.pid
    const alloc = process.env.BENCH_ALLOC_PROF
    if (alloc !== undefined) {
      await bench.gatewayProcess.ask({ cmd: 'alloc:start', young: process.env.BENCH_ALLOC_YOUNG !== '0' })
    }
    const sample = await measure(bench, async () => {
      const timer = setInterval(() => {
        rss.push([items, rssBytes(pid)])
        const at = items
        bench.gatewayProcess.ask<{ heapTotal: number, heapUsed: number, external: number }>({ cmd: 'memory' })
          .then((m) => { heap.push([at, m]) }, () => {})
        if (snapshot !== undefined && items >= count / 2 && process.env.BENCH_ALLOC_PROF === undefined) {
          // Diagnosis: one heap snapshot half way (BENCH_HEAP_SNAPSHOT: a folder).
          bench.gatewayProcess.ask<{ path: string }>({ cmd: 'snapshot', dir: snapshot })
            .then((r) => { bench.log(`heap snapshot ${r.path}`) }, () => {})
          snapshot = undefined
        }
      }, 100)
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
    }, { settle: true })
    if (alloc !== undefined) {
      await bench.gatewayProcess.ask({ cmd: 'gc' })
      const written = await bench.gatewayProcess.ask<{ path: string }>({ cmd: 'alloc:stop', dir: alloc })
      bench.log(`allocation profile ${written.path}`)
    }
    // RSS growth from the first tenth of the items to the end: flat memory does not grow with the items streamed.
    const early = rss.find(([n]) => n >= count / 10)?.[1] ?? rss[0]?.[1] ?? 0
    const late = Math.max(...rss.filter(([n]) => n >= count * 0.9).map(([, b]) => b), early)
    // The heap V8 has committed (not what is in use: that swings with each young collection).
    const heapAt = (from: number): number => (heap.find(([n]) => n >= from)?.[1] ?? heap.at(-1)?.[1])?.heapTotal ?? 0
    const mb = (n: number): number => Math.round(n / MB)
    bench.log(`memory (items: rss, heapTotal, heapUsed, external MB): ${heap.filter((_, k) => k % 10 === 0)
      .map(([n, m]) => `${n}: ${mb(rss.find(([x]) => x >= n)?.[1] ?? 0)} ${mb(m.heapTotal)} ${mb(m.heapUsed)} ` +
        `${mb(m.external)}`).join('; ')}`)
    if (keep) {
      samples.push(sample)
      drift.push((late - early) / MB)
      heapDrift.push((heapAt(count * 0.9) - heapAt(count / 10)) / MB)
      streamed.push(bytes / MB)
    }
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
        heapTotalGrowthFrom10To90PercentMB: Math.round(summarize(heapDrift).median),
        longestEventLoopStallMs: summarize(samples.map((s) => s.loopMaxMs)).median
      }
    })
  ]
}
