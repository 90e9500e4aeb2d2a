/**
 * Outlook's throttling model: a concurrency cap per app (across mailboxes) and a request budget
 * per app + mailbox per window, plus the injected faults of GraphFaults.
 */
import type { GraphFaults, GraphRejection, GraphThrottling } from './types.js'

export class Throttle {
  private readonly inflight = new Map<string, number>()
  private readonly windows = new Map<string, { start: number, count: number }>()
  readonly concurrency: number
  readonly requests: number
  readonly windowMs: number

  constructor (opts: GraphThrottling = {}) {
    this.concurrency = opts.concurrencyPerApp ?? 4
    this.requests = opts.requestsPerMailbox ?? 10000
    this.windowMs = (opts.windowSec ?? 600) * 1000
  }

  /** Takes a concurrency slot; false when the app already has `concurrency` requests in flight. */
  acquire (appId: string): boolean {
    const n = this.inflight.get(appId) ?? 0
    if (n >= this.concurrency) return false
    this.inflight.set(appId, n + 1)
    return true
  }

  release (appId: string): void {
    const n = (this.inflight.get(appId) ?? 1) - 1
    if (n <= 0) this.inflight.delete(appId)
    else this.inflight.set(appId, n)
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
