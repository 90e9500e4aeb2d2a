/**
 * Item listings, first pages of 50 items, under load from autocannon (in this process), through the gateway and
 * straight to the simulator (EWS FindItem, Graph `folders/{id}/items` with the fields the gateway asks for),
 * interleaved sample by sample:
 *
 *  - sustained rate: as fast as 8 connections go, requests/s answered 2xx;
 *  - at 200 requests/s offered (autocannon `overallRate`, 10 connections): p99 latency, gateway minus direct (the
 *    latency the gateway adds), with the gateway's CPU time per page.
 */
import autocannon from 'autocannon'
import { figure, measure, setting, timeDirect, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure } from '../results.js'
import { seed } from './throughput.js'

const RATE = 200

interface Target { url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string }

async function cannon (target: Target, seconds: number, rate?: number): Promise<autocannon.Result> {
  const result = await autocannon({
    ...target,
    duration: seconds,
    connections: rate !== undefined ? 10 : 8,
    ...(rate !== undefined ? { overallRate: rate } : {})
  })
  if (result['2xx'] === 0) throw new Error(`no 2xx answer from ${target.url} (${result.non2xx} others)`)
  return result
}

export async function listing (bench: Bench): Promise<Figure[]> {
  const seconds = setting('BENCH_LISTING_SEC', 2)
  const reps = setting('BENCH_LISTING_REPS', bench.reps)
  const backends = (process.env.BENCH_LISTING_BACKENDS ?? 'ews,graph').split(',')
  const figures: Figure[] = []
  for (const backend of backends) {
    const mailbox = backend === 'ews' ? 'alice@contoso.example' : 'carol@contoso.example'
    const folder = await seed(bench, mailbox, 'Listing', 200, 2000)
    const gateway: Target = {
      url: `${bench.gateway.base}/mailboxes/${mailbox}/folders/${folder.folder.gateway}/items?pageSize=50`,
      method: 'GET',
      headers: { 'x-api-key': bench.gateway.apiKey }
    }
    const graphSelect = '$select=id,changeKey,type,size,createdDateTime,lastModifiedDateTime&$expand=' +
      encodeURIComponent("singleValueExtendedProperties($filter=id eq 'String 0x0037' or id eq 'Binary 0x300B')")
    const direct: Target = backend === 'ews'
      ? {
          url: bench.sims.ews,
          method: 'POST',
          headers: bench.ews.headers(mailbox),
          body: bench.ews.envelope(mailbox, bench.ews.findItemBody(folder.folder.direct, 50))
        }
      : {
          url: `${bench.graph.base(folder.graphMailbox)}/folders/${folder.folder.direct}/items?$top=50&${graphSelect}`,
          method: 'GET',
          headers: { authorization: `Bearer ${bench.graph.token}` }
        }
    const name = backend === 'ews' ? 'EWS' : 'Graph'
    bench.log(`${name} listings: ${reps} samples of ${seconds} s at ${RATE} req/s and unbounded, each side`)

    const max: { g: number[], d: number[] } = { g: [], d: [] }
    const p99: { g: number[], d: number[], added: number[], rate: number[], cpuPerPage: number[], non2xx: number } =
      { g: [], d: [], added: [], rate: [], cpuPerPage: [], non2xx: 0 }
    const cpu: Sample[] = []
    for (let i = 0; i < bench.warmup + reps; i++) {
      const keep = i >= bench.warmup
      const order = i % 2 === 0 ? ['gateway', 'direct'] as const : ['direct', 'gateway'] as const
      let g: autocannon.Result | undefined
      let d: autocannon.Result | undefined
      for (const side of order) {
        if (side === 'gateway') {
          const s = await measure(bench, async () => { g = await cannon(gateway, seconds, RATE) })
          if (keep) cpu.push(s)
        } else {
          await timeDirect(bench, async () => { d = await cannon(direct, seconds, RATE) })
        }
      }
      const gr = g as autocannon.Result
      const dr = d as autocannon.Result
      if (keep) {
        p99.g.push(gr.latency.p99)
        p99.d.push(dr.latency.p99)
        p99.added.push(gr.latency.p99 - dr.latency.p99)
        p99.rate.push(gr['2xx'] / gr.duration)
        p99.cpuPerPage.push(cpu[cpu.length - 1].cpuMs / Math.max(1, gr['2xx']))
        p99.non2xx += gr.non2xx
      }
      for (const side of order) {
        const r = await cannon(side === 'gateway' ? gateway : direct, seconds)
        if (keep) (side === 'gateway' ? max.g : max.d).push(r['2xx'] / r.duration)
      }
    }
    await bench.sim.ask({ cmd: 'drop', folder: folder.folder.store })
    figures.push(figure({
      id: `listing-${backend}-rate`,
      figure: `${name} item listing, 50-item pages: sustained rate`,
      unit: 'req/s',
      gateway: summarize(max.g),
      other: summarize(max.d),
      versus: 'direct',
      goal: { text: `≥ ${RATE} req/s`, metric: 'gateway', op: '>=', value: RATE }
    }))
    figures.push(figure({
      id: `listing-${backend}-p99`,
      figure: `${name} item listing at ${RATE} req/s offered: p99 latency added by the gateway`,
      unit: 'ms',
      gateway: summarize(p99.added),
      goal: { text: '≤ 5 ms', metric: 'gateway', op: '<=', value: 5 },
      gatewayCpuMs: summarize(cpu.map((s) => s.cpuMs)),
      gatewayPeakRssMB: summarize(cpu.map((s) => s.peakAboveBytes / 1e6)),
      notes: {
        gatewayP99Ms: summarize(p99.g).median,
        directP99Ms: summarize(p99.d).median,
        gatewayAnsweredPerSec: summarize(p99.rate).median,
        gatewayCpuMsPerPage: summarize(p99.cpuPerPage).median,
        gatewayNon2xx: p99.non2xx
      }
    }))
  }
  return figures
}
