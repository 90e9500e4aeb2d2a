/**
 * The benchmark's gateway process: src/server.ts as `npm start` runs it, plus an IPC channel only the benchmark
 * opens (bench/processes.ts starts this file with `--expose-gc`). No route is added: the event-loop figures travel
 * over IPC, so nothing of this reaches the gateway's HTTP API.
 *
 * Requests `{id, cmd}`, answered with `{id, ...}`:
 *  - `loop:reset`: starts a new event-loop delay window (perf_hooks.monitorEventLoopDelay, 10 ms resolution);
 *  - `loop`: `{maxMs, p99Ms, meanMs}` of the window so far (a stall of the loop shows as its delay);
 *  - `gc`: a full garbage collection, so a scenario's baseline RSS is not inflated by the one before;
 *  - `memory`: process.memoryUsage() in bytes (`rss`, `heapTotal`, `heapUsed`, `external`, `arrayBuffers`), to tell
 *    a growing JavaScript heap from memory held outside it;
 *  - `snapshot`: writes a heap snapshot (v8.writeHeapSnapshot) into folder `dir`, answers its `path` (diagnosis only:
 *    it stops the process for seconds);
 *  - `promoted:start`, `promoted:stop`: v8.GCProfiler over the span; `promoted:stop` answers `{promotedBytes,
 *    scavenges}`: what the young-generation collections moved to the old generation, where garbage stays until the
 *    next full collection (test/app/stream-memory.test.ts);
 *  - `alloc:start` (`young`), `alloc:stop`: V8's sampling heap profiler, counting objects a major GC collected too,
 *    and with `young` those a scavenge collected (where garbage comes from; without it, what was promoted);
 *    `alloc:stop` writes the profile into folder `dir` (open it in Chrome DevTools) and answers its `path`.
 * First message: `{ready: true}` once the gateway listens.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { GCProfiler, writeHeapSnapshot } from 'node:v8'

if (process.send === undefined) throw new Error('start me from bench/processes.ts')
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()

const ms = (ns: number): number => Math.round(ns / 1e4) / 100

process.on('message', (req: { id: number, cmd: string, dir?: string, young?: boolean }) => {
  switch (req.cmd) {
    case 'loop:reset':
      loop.reset()
      process.send?.({ id: req.id })
      break
    case 'loop':
      process.send?.({ id: req.id, maxMs: ms(loop.max), p99Ms: ms(loop.percentile(99)), meanMs: ms(loop.mean) })
      break
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.()
      process.send?.({ id: req.id })
      break
    case 'memory':
      process.send?.({ id: req.id, ...process.memoryUsage() })
      break
    case 'snapshot':
      process.send?.({ id: req.id, path: writeHeapSnapshot(join(req.dir ?? '.', `gw-${Date.now()}.heapsnapshot`)) })
      break
    case 'promoted:start':
      gcProfiler = new GCProfiler()
      gcProfiler.start()
      process.send?.({ id: req.id })
      break
    case 'promoted:stop':
      process.send?.({ id: req.id, ...promoted(gcProfiler?.stop()) })
      break
    case 'alloc:start':
      allocStart(req.young === true).then(() => process.send?.({ id: req.id }), () => {})
      break
    case 'alloc:stop':
      allocStop(req.dir ?? '.').then((path) => process.send?.({ id: req.id, path }), () => {})
      break
    default:
      process.send?.({ id: req.id, error: `unknown command ${req.cmd}` })
  }
})
let gcProfiler: GCProfiler | undefined
type GcStats = ReturnType<GCProfiler['stop']>
/** Bytes the young-generation collections moved to the old generation (old and large-object spaces). */
function promoted (stats: GcStats | undefined): { promotedBytes: number, scavenges: number } {
  const old = (s: { heapSpaceStatistics: Array<{ spaceName: string, spaceUsedSize: number }> }): number =>
    s.heapSpaceStatistics.filter((x) => x.spaceName === 'old_space' || x.spaceName === 'large_object_space')
      .reduce((n, x) => n + x.spaceUsedSize, 0)
  let promotedBytes = 0
  let scavenges = 0
  for (const gc of stats?.statistics ?? []) {
    if (gc.gcType !== 'Scavenge' && gc.gcType !== 'MinorMarkSweep') continue
    scavenges++
    promotedBytes += Math.max(0, old(gc.afterGC) - old(gc.beforeGC))
  }
  return { promotedBytes, scavenges }
}

let session: Session | undefined
/**
 * Sampling heap profiler counting the objects collected by a major GC too, and with `young` those a scavenge
 * collected (all garbage); without it, what was promoted to the old generation (or is still alive).
 */
async function allocStart (young: boolean): Promise<void> {
  session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: young
  })
}
async function allocStop (dir: string): Promise<string> {
  const { profile } = await (session as Session).post('HeapProfiler.stopSampling')
  const path = join(dir, `gw-${Date.now()}.heapprofile`)
  writeFileSync(path, JSON.stringify(profile))
  session?.disconnect()
  return path
}

// The channel must not keep a gateway alive that its own shutdown is closing.
process.channel?.unref()

// src/server.ts resolves once the gateway listens (its top-level await of app.listen).
await import('../src/server.js')
process.send({ ready: true })
