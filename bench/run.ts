/**
 * `npm run bench`: the benchmark the project publishes (BENCHMARKS.md). Starts the simulators in one process and the
 * gateway (src/server.ts, configured against them) in another, runs the scenarios of bench/scenarios/ from this
 * process, writes bench/results/latest.json and renders BENCHMARKS.md from it (bench/report.ts).
 *
 * Settings (environment; defaults fit a 2-core machine in under 10 minutes):
 *   BENCH_REPS (5) measured repetitions after BENCH_WARMUP (1) unmeasured ones, per figure;
 *   BENCH_ITEMS (1000), BENCH_ITEM_BYTES (14000): the batch export/import scenarios;
 *   BENCH_LARGE_REPS (BENCH_REPS): 25 MB samples; BENCH_HUGE_REPS (1): 100 MB samples (no warm-up);
 *   BENCH_LISTING_SEC (2), BENCH_LISTING_REPS (BENCH_REPS), BENCH_LISTING_BACKENDS (ews,graph): listings;
 *   BENCH_STREAM_ITEMS (10000), BENCH_STREAM_ITEM_BYTES (8000), BENCH_STREAM_REPS (1): streaming export;
 *   BENCH_JOB_ITEMS (100), BENCH_JOB_REPS (BENCH_REPS): the copy job at the throttle ceiling of
 *   BENCH_CEILING_REQUESTS (20) Graph requests per BENCH_CEILING_WINDOW_SEC (1) per app + mailbox;
 *   BENCH_ONLY: comma-separated scenario names (throughput, large, listing, exchangelib, stream, ceiling);
 *   BENCH_OUT: the results file (default bench/results/latest.json);
 *   BENCH_CPU_PROF: a folder; each gateway process then runs with `node --cpu-prof` and writes its profile there on
 *   exit (open it in Chrome DevTools; the explanations in bench/explanations.md come from such profiles);
 *   BENCH_NODE_ARGS: more node options for the gateway processes, space-separated (e.g. `--trace-gc`,
 *   `--heap-prof --heap-prof-dir=/tmp/heap`); BENCH_HEAP_SNAPSHOT: a folder, where the stream scenario writes a heap
 *   snapshot of the gateway half way through its export.
 */
import { cpus, loadavg, totalmem } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateApiKey } from '../src/access/authenticator.js'
import { EwsDirect, GatewayClient, GraphDirect, type SimSet } from './clients.js'
import { startChild, startGatewayProcess, type IpcChild } from './processes.js'
import { setting, type Bench } from './measure.js'
import { checkResults, type Figure, type Results } from './results.js'
import { renderReport } from './report.js'
import { throughput } from './scenarios/throughput.js'
import { large } from './scenarios/large.js'
import { listing } from './scenarios/listing.js'
import { exchangelib } from './scenarios/exchangelib.js'
import { stream } from './scenarios/stream.js'
import { ceiling } from './scenarios/ceiling.js'

const started = Date.now()
const loadAverageStart = loadavg().map((n) => Math.round(n * 100) / 100)
const log = (line: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}
const out = process.env.BENCH_OUT ?? fileURLToPath(new URL('results/latest.json', import.meta.url))
const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
const apiKey = generateApiKey()

/** Starts a gateway process configured against `sims` (its own port), and waits until it listens. */
async function startGateway (name: string, sims: SimSet):
Promise<{ process: IpcChild, client: GatewayClient }> {
  const prof = process.env.BENCH_CPU_PROF
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  const nodeArgs = ['--expose-gc', ...(prof !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...extra]
  const { child, base } = await startGatewayProcess(name, sims.configFile, nodeArgs)
  return { process: child, client: new GatewayClient(base, apiKey) }
}

log(`starting simulators and gateway (load average ${loadAverageStart.join(', ')})`)
const sim = await startChild('simulators', 'bench/sim-process.ts', {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  BENCH_API_KEY: apiKey,
  LOG_LEVEL: 'warn',
  // The ceiling scenario's simulated throttle (bench/scenarios/ceiling.ts reads the same settings).
  ...Object.fromEntries(['BENCH_CEILING_REQUESTS', 'BENCH_CEILING_WINDOW_SEC']
    .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]))
})
const sets = sim.ready.sets as Record<'main' | 'ceiling', SimSet>
const gw = await startGateway('gateway', sets.main)
const graph = new GraphDirect(sets.main)
await graph.authenticate()
const bench: Bench = {
  gateway: gw.client,
  gatewayProcess: gw.process,
  sim: sim.child,
  sims: sets.main,
  ews: new EwsDirect(sets.main.ews, sets.main.credentials.ews),
  graph,
  reps: setting('BENCH_REPS', 5),
  warmup: setting('BENCH_WARMUP', 1),
  log
}
log(`ready: gateway pid ${gw.process.pid}, simulators pid ${sim.child.pid}`)

const scenarios: Array<[string, (b: Bench) => Promise<Figure[]>]> = [
  ['throughput', throughput],
  ['large', async (b) => await large(b, startGateway)],
  ['listing', listing],
  ['exchangelib', exchangelib],
  ['stream', stream],
  ['ceiling', async (b) => await ceiling(b, sets.ceiling, startGateway)]
]
const figures: Figure[] = []
try {
  for (const [name, run] of scenarios) {
    if (only.length > 0 && !only.includes(name)) continue
    log(`scenario ${name}`)
    figures.push(...await run(bench))
  }
} finally {
  await Promise.allSettled([gw.process.stop(), sim.child.stop()])
  await Promise.allSettled([gw.client.close(), bench.ews.close(), graph.close()])
}

const cpu = cpus()
const results: Results = {
  version: 1,
  date: new Date(started).toISOString(),
  durationSec: Math.round((Date.now() - started) / 1000),
  machine: {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGB: Math.round(totalmem() / 1e9 * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageStart
  },
  settings: {
    reps: bench.reps,
    warmup: bench.warmup,
    items: setting('BENCH_ITEMS', 1000),
    itemBytes: setting('BENCH_ITEM_BYTES', 14_000),
    concurrency: 4,
    largeReps: setting('BENCH_LARGE_REPS', bench.reps),
    hugeReps: setting('BENCH_HUGE_REPS', 1),
    listingSec: setting('BENCH_LISTING_SEC', 2),
    streamItems: setting('BENCH_STREAM_ITEMS', 10_000),
    streamReps: setting('BENCH_STREAM_REPS', 1),
    jobItems: setting('BENCH_JOB_ITEMS', 100),
    logLevel: 'warn',
    stateStore: 'memory'
  },
  figures
}
const problems = checkResults(results)
if (problems.length > 0) throw new Error(`results do not have the expected shape:\n${problems.join('\n')}`)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
log(`results: ${out}`)
if (process.env.BENCH_OUT === undefined) {
  const written = await renderReport(out)
  log(`report: ${written.join(', ')}`)
}
log(`done in ${results.durationSec} s`)
