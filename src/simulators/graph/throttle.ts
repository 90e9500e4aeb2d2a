/**
 * Outlook's throttling model: a concurrency cap per app (across mailboxes) and a request budget
 * per app + mailbox per window, plus the injected faults of GraphFaults.
 */
import { performance } from 'node:perf_hooks'
import type { GraphAppStats, GraphFaults, GraphRejection, GraphSimulatorStats, GraphThrottling } from './types.js'

/**
 * One app's load, measured on the concurrency slots (Graph requests and import POSTs alike). Times are
 * performance.now() milliseconds.
 */
export class AppLoad implements GraphAppStats {
  requests = 0
  concurrencyViolations = 0
  inFlight = 0
  maxInFlight = 0
  inFlightMs = 0
  private first: number | undefined
  private lastEnd: number | undefined
  private lastChange = 0

  /** Accumulates the in-flight integral up to `now`. */
  private advance (now: number): void {
    this.inFlightMs += this.inFlight * (now - this.lastChange)
    this.lastChange = now
  }

  enter (now: number): void {
    this.first ??= now
    this.advance(now)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
  }

  leave (now: number): void {
    this.advance(now)
    this.inFlight--
    this.lastEnd = now
  }

  /** Zeroes the counters; requests in flight stay in flight and start the new busy period. */
  reset (now: number): void {
    this.requests = 0
    this.concurrencyViolations = 0
    this.maxInFlight = this.inFlight
    this.inFlightMs = 0
    this.lastChange = now
    this.first = this.inFlight > 0 ? now : undefined
    this.lastEnd = undefined
  }

  get busyMs (): number {
    if (this.first === undefined) return 0
    const end = this.inFlight > 0 ? performance.now() : this.lastEnd ?? this.first
    return end - this.first
  }

  get meanInFlight (): number {
    const busy = this.busyMs
    if (busy <= 0) return this.maxInFlight > 0 ? this.maxInFlight : 0
    const open = this.inFlight > 0 ? this.inFlight * (performance.now() - this.lastChange) : 0
    return (this.inFlightMs + open) / busy
  }

  toJSON (): GraphAppStats {
    return {
      requests: this.requests,
      concurrencyViolations: this.concurrencyViolations,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      inFlightMs: this.inFlightMs,
      busyMs: this.busyMs,
      meanInFlight: this.meanInFlight
    }
  }
}

export class Throttle {
  private readonly ownApps: Record<string, GraphAppStats> = {}
  private readonly windows = new Map<string, { start: number, count: number }>()
  readonly concurrency: number
  readonly requests: number
  readonly windowMs: number

  /** `stats`: where per-app load (`apps`) and `concurrencyViolations` are counted. */
  constructor (opts: GraphThrottling = {}, private readonly stats?: GraphSimulatorStats) {
    this.concurrency = opts.concurrencyPerApp ?? 4
    this.requests = opts.requestsPerMailbox ?? 10000
    this.windowMs = (opts.windowSec ?? 600) * 1000
  }

  private load (appId: string): AppLoad {
    const apps = this.stats?.apps ?? this.ownApps
    let load = apps[appId] as AppLoad | undefined
    if (load === undefined) {
      load = new AppLoad()
      apps[appId] = load
    }
    return load
  }

  /**
   * Takes a concurrency slot; false when the app already has `concurrency` requests in flight (a concurrency
   * violation: counted, and the caller answers 429).
   */
  acquire (appId: string): boolean {
    const load = this.load(appId)
    load.requests++
    if (load.inFlight >= this.concurrency) {
      load.concurrencyViolations++
      if (this.stats !== undefined) this.stats.concurrencyViolations++
      return false
    }
    load.enter(performance.now())
    return true
  }

  release (appId: string): void {
    const load = this.load(appId)
    if (load.inFlight > 0) load.leave(performance.now())
  }

  /** Counts one request against app + mailbox; returns Retry-After seconds when over budget. */
  spend (appId: string, mailboxGuid: string, now = Date.now()): number | undefined {
    const key = `${appId}|${mailboxGuid}`
    let w = this.windows.get(key)
    if (w === undefined || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 }
      this.windows.set(key, w)
    }
    if (w.count >= this.requests) return Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000))
    w.count++
    return undefined
  }
}

/** Whether the fault knobs target this path. */
export function faultsApply (faults: GraphFaults, path: string): boolean {
  return faults.only === undefined || faults.only.length === 0 || faults.only.some((s) => path.includes(s))
}

/** Consumes one injected refusal (GraphFaults.reject), if one is pending for this path. */
export function injectedRejection (faults: GraphFaults, path: string): GraphRejection | undefined {
  const r = faults.reject
  if (r === undefined || r.count <= 0 || !faultsApply(faults, path)) return undefined
  r.count--
  return r
}

/** Consumes one injected 429/503, if any is pending for this path. */
export function injectedFault (faults: GraphFaults, path: string): 429 | 503 | undefined {
  if (!faultsApply(faults, path)) return undefined
  if (faults.throttle > 0) { faults.throttle--; return 429 }
  if (faults.http503 > 0) { faults.http503--; return 503 }
  return undefined
}
