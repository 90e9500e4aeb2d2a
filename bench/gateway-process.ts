/**
 * The benchmark's gateway process: src/server.ts as `npm start` runs it, plus an IPC channel only the benchmark
 * opens (bench/processes.ts starts this file with `--expose-gc`). No route is added: the event-loop figures travel
 * over IPC, so nothing of this reaches the gateway's HTTP API.
 *
 * Requests `{id, cmd}`, answered with `{id, ...}`:
 *  - `loop:reset`: starts a new event-loop delay window (perf_hooks.monitorEventLoopDelay, 10 ms resolution);
 *  - `loop`: `{maxMs, p99Ms, meanMs}` of the window so far (a stall of the loop shows as its delay);
 *  - `gc`: a full garbage collection, so a scenario's baseline RSS is not inflated by the one before.
 * First message: `{ready: true}` once the gateway listens.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

if (process.send === undefined) throw new Error('start me from bench/processes.ts')
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()

const ms = (ns: number): number => Math.round(ns / 1e4) / 100

process.on('message', (req: { id: number, cmd: string }) => {
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
    default:
      process.send?.({ id: req.id, error: `unknown command ${req.cmd}` })
  }
})
// The channel must not keep a gateway alive that its own shutdown is closing.
process.channel?.unref()

// src/server.ts resolves once the gateway listens (its top-level await of app.listen).
await import('../src/server.js')
process.send({ ready: true })
