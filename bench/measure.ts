/**
 * What every scenario shares: the processes and clients (`Bench`), the repetition settings, and `measure`, which runs
 * one sample of gateway work and reads, from outside the gateway process, its CPU time and peak RSS, plus its
 * event-loop delay over IPC (bench/gateway-process.ts) and the simulator process's CPU time.
 */
import type { IpcChild } from './processes.js'
import { cpuMs, peakRssBytes, resetPeak, rssBytes } from './processes.js'
import type { EwsDirect, GatewayClient, GraphDirect, SimSet } from './clients.js'
import { goalMet, summarize, type Figure, type Goal, type Summary } from './results.js'

export interface Bench {
  gateway: GatewayClient
  gatewayProcess: IpcChild
  sim: IpcChild
  sims: SimSet
  ews: EwsDirect
  graph: GraphDirect
  /** Measured repetitions per figure (after `warmup` unmeasured ones), unless a scenario says otherwise. */
  reps: number
  warmup: number
  log: (line: string) => void
}

/** One measured run of gateway work. */
export interface Sample {
  ms: number
  /** Gateway CPU time (user + system), ms. */
  cpuMs: number
  /** Simulator process CPU time over the same run, ms. */
  simCpuMs: number
  /** Peak gateway RSS above its RSS at the start (after a full GC), bytes. */
  peakAboveBytes: number
  /** Longest event-loop delay of the gateway during the run, ms. */
  loopMaxMs: number
}

/**
 * Runs `fn` once as a gateway sample. With `settle` (for memory figures) the gateway runs a full GC first, so the
 * peak RSS is taken above a settled baseline; without it (throughput and CPU figures) the gateway's heap stays as
 * steady operation leaves it: a forced GC makes V8 restart its heap sizing, and the next samples pay for regrowing
 * it (a mark-compact in every second sample), which steady operation does not.
 */
export async function measure (bench: Bench, fn: () => Promise<void>, opts: { settle?: boolean } = {}):
Promise<Sample> {
  const pid = bench.gatewayProcess.pid
  if (opts.settle === true) await bench.gatewayProcess.ask({ cmd: 'gc' })
  await bench.gatewayProcess.ask({ cmd: 'loop:reset' })
  const base = rssBytes(pid)
  resetPeak(pid)
  const cpu0 = cpuMs(pid)
  const sim0 = cpuMs(bench.sim.pid)
  const t0 = performance.now()
  await fn()
  const ms = performance.now() - t0
  const cpu = cpuMs(pid) - cpu0
  const simCpu = cpuMs(bench.sim.pid) - sim0
  const peak = peakRssBytes(pid) - base
  const loop = await bench.gatewayProcess.ask<{ maxMs: number }>({ cmd: 'loop' })
  return { ms, cpuMs: cpu, simCpuMs: simCpu, peakAboveBytes: Math.max(0, peak), loopMaxMs: loop.maxMs }
}

/** Times `fn` (work that does not go through the gateway), with the simulator's CPU time. */
export async function timeDirect (bench: Bench, fn: () => Promise<void>): Promise<{ ms: number, simCpuMs: number }> {
  const sim0 = cpuMs(bench.sim.pid)
  const t0 = performance.now()
  await fn()
  return { ms: performance.now() - t0, simCpuMs: cpuMs(bench.sim.pid) - sim0 }
}

export const MB = 1e6

/** A figure with its ratio (gateway ÷ other medians) and whether its goal is met. */
export function figure (f: Omit<Figure, 'met' | 'ratio'> & { ratio?: number }): Figure {
  const ratio = f.ratio ?? (f.gateway !== undefined && f.other !== undefined && f.other.median !== 0
    ? Math.round(f.gateway.median / f.other.median * 1000) / 1000
    : undefined)
  const met = f.goal !== undefined ? goalMet(f.goal, f.gateway, ratio) : null
  return { ...f, ...(ratio !== undefined ? { ratio } : {}), met }
}

/** A figure that could not be measured, saying why. */
export function skipped (id: string, name: string, unit: string, why: string, goal?: Goal): Figure {
  return { id, figure: name, unit, skipped: why, met: null, ...(goal !== undefined ? { goal } : {}) }
}

/** Summaries of the per-sample gateway CPU time and peak RSS above baseline (MB). */
export function perSample (samples: Sample[]): { gatewayCpuMs: Summary, gatewayPeakRssMB: Summary } {
  return {
    gatewayCpuMs: summarize(samples.map((s) => s.cpuMs)),
    gatewayPeakRssMB: summarize(samples.map((s) => s.peakAboveBytes / MB))
  }
}

/** Environment override of a number setting. */
export function setting (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${raw}"`)
  return n
}
