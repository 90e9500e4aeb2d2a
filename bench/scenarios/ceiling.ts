/**
 * A copy job EWS → Graph at the simulated throttle ceiling: the `ceiling` simulator set answers 429 past
 * BENCH_CEILING_REQUESTS (20) requests per BENCH_CEILING_WINDOW_SEC (1 s) per app + mailbox, a budget the gateway
 * does not know (it paces at Outlook's), as in test/routes/jobs-ceiling.test.ts. A second gateway process serves
 * that set. The window is a whole second because a 429 says when to come back in whole seconds (Retry-After,
 * RFC 9110 §10.2.3; the simulator rounds up, at least 1 s), and the gateway waits what Retry-After says
 * (https://learn.microsoft.com/graph/throttling): with a 0.5 s window every throttled call sat out two windows, and
 * the job could not use more than about half the ceiling (0.44–0.49, 40 simulator 429s a job) whatever its pacing
 * (now 0.76–0.97, 19 429s a job). Each sample copies a new folder of BENCH_JOB_ITEMS items from alice (EWS) to carol
 * (Graph).
 *
 * Figures: the fraction of the ceiling the job used (Graph requests the simulator accepted during the job ÷ what
 * the ceiling allows over the job's duration, planning included), and the 429s a caller saw (job failures naming
 * a throttling answer, plus 429 answers to this process's own calls): none.
 */
import type { GatewayClient, SimSet } from '../clients.js'
import type { IpcChild } from '../processes.js'
import { figure, setting, type Bench } from '../measure.js'
import { summarize, type Figure } from '../results.js'

interface JobView {
  id: string
  state: string
  totals: { planned: number, done: number, failed: number, skipped: number }
  failures: Array<{ code: string, message: string }>
  error?: { code: string, message: string }
}

export async function ceiling (bench: Bench, sims: SimSet,
  startGateway: (name: string, sims: SimSet) => Promise<{ process: IpcChild, client: GatewayClient }>):
  Promise<Figure[]> {
  const items = setting('BENCH_JOB_ITEMS', 100)
  const reps = setting('BENCH_JOB_REPS', bench.reps)
  const perWindow = setting('BENCH_CEILING_REQUESTS', 20)
  const windowSec = setting('BENCH_CEILING_WINDOW_SEC', 1)
  const ceilingRate = perWindow / windowSec
  const alice = 'alice@contoso.example'
  const carol = 'carol@contoso.example'
  const gw = await startGateway('gateway-ceiling', sims)
  bench.log(`copy jobs of ${items} items EWS → Graph at a ceiling of ${ceilingRate} requests/s (${reps} samples)`)
  const fractions: number[] = []
  const rates: number[] = []
  const throttledBySimulator: number[] = []
  let visible429 = 0
  let failed = 0
  try {
    const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const { status, text } = await gw.client.call(method, path, body)
      if (status === 429) visible429++
      if (status >= 300) throw new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`)
      return JSON.parse(text) as T
    }
    for (let i = 0; i < bench.warmup + reps; i++) {
      const source = await bench.sim.ask<{ folder: { gateway: string } }>(
        { cmd: 'folder', set: 'ceiling', mailbox: alice, name: `Ceiling ${i}`, count: items, size: 2000 })
      await bench.sim.ask({ cmd: 'graphStats', set: 'ceiling', reset: true })
      const t0 = performance.now()
      let job = await call<JobView>('POST', '/jobs',
        { source: { mailbox: alice, folder: source.folder.gateway }, target: { mailbox: carol } })
      while (job.state !== 'completed' && job.state !== 'failed' && job.state !== 'cancelled') {
        await new Promise((resolve) => setTimeout(resolve, 100))
        job = await call<JobView>('GET', `/jobs/${job.id}`)
      }
      const seconds = (performance.now() - t0) / 1000
      const { stats } = await bench.sim.ask<{ stats: { requests: number, throttled: number } }>(
        { cmd: 'graphStats', set: 'ceiling' })
      if (job.state !== 'completed' || job.totals.done !== items) {
        throw new Error(`copy job ${job.state}: ${JSON.stringify(job.totals)} ${JSON.stringify(job.error ?? '')}`)
      }
      const throttling = job.failures.filter((f) => /429|THROTTL|busy/i.test(`${f.code} ${f.message}`)).length
      if (i >= bench.warmup) {
        fractions.push((stats.requests - stats.throttled) / (seconds * ceilingRate))
        rates.push(items / seconds)
        throttledBySimulator.push(stats.throttled)
        visible429 += throttling
        failed += job.totals.failed
      }
    }
  } finally {
    await gw.process.stop()
    await gw.client.close()
  }
  return [
    figure({
      id: 'ceiling-fraction',
      figure: `Copy job EWS → Graph, ${items} items, at a ${ceilingRate} req/s throttle ceiling: fraction of the ` +
        'ceiling used',
      unit: '× ceiling',
      gateway: summarize(fractions),
      notes: {
        itemsPerSec: summarize(rates).median,
        simulator429s: summarize(throttledBySimulator).median,
        failedItems: failed
      }
    }),
    figure({
      id: 'ceiling-429',
      figure: 'Copy job at the throttle ceiling: 429s visible to the caller (all samples)',
      unit: 'count',
      gateway: summarize([visible429]),
      goal: { text: '0', metric: 'gateway', op: '<=', value: 0 }
    })
  ]
}
