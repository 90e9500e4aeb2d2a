/**
 * Per-backend readiness, reported by GET /health/ready.
 *
 * At start each configured backend is checked once in the background (a token fetch and
 * the discovery of its first configured mailbox, see BackendRouter.checkBackend), bounded
 * by `timeoutMs`; until a backend's first check ends its state is `unknown`. A failing check
 * is logged once and re-run every `retryMs` until it passes. A configuration problem that a
 * real call runs into (MBG_ERR_BACKEND_MISCONFIGURED, e.g. an import host the gateway refuses,
 * which no check can see) marks the backend failing too, for CALL_FAILURE_MS: long enough for a
 * load balancer to take the replica out, short enough that a problem fixed on the backend's side
 * (a renewed certificate) does not keep it out until a restart; the next failing call marks it
 * again. A backend whose circuit is open (src/backends/policy.ts: it kept failing, calls fail fast
 * until a trial call passes) is failing too, with source `circuit`, while the circuit stays open;
 * every backend's report shows its circuit state. Timers are unref'd and cleared on close, as
 * @fastify/under-pressure does with its own.
 */
import type { Logger } from 'pino'
import { isGatewayError } from '../errors.js'
import type { MailboxBackend, MailboxType } from './mailbox-backend.js'
import type { CircuitReport } from './policy.js'

const MISCONFIGURED = 'MBG_ERR_BACKEND_MISCONFIGURED'

/** How long a configuration problem a real call ran into keeps a backend failing (ms). */
export const CALL_FAILURE_MS = 5 * 60_000

/** A circuit's state as readiness shows it. */
export type CircuitState = CircuitReport['state']

/** One backend's readiness as GET /health/ready shows it (src/schemas/health.ts). */
export type BackendState = (
  | { type: MailboxType, state: 'unknown' }
  | { type: MailboxType, state: 'ok' }
  | {
    type: MailboxType
    state: 'failing'
    /** MBG_ERR_* code of the failure. */
    code: string
    /** What failed, naming the setting to fix for MBG_ERR_BACKEND_MISCONFIGURED. */
    detail: string
    /**
     * `check`: the start-up check (re-run until it passes); `call`: a real call (kept CALL_FAILURE_MS);
     * `circuit`: the backend kept failing and its circuit is open.
     */
    source: 'check' | 'call' | 'circuit'
    /** ISO 8601 time of the failure (of the latest run, for a check; when it opened, for a circuit). */
    checkedAt: string
  }
) & {
  /** The backend's circuit (closed, open: calls fail fast, halfOpen: a trial call is let through). */
  circuit?: CircuitState
}

export interface ReadinessReport {
  ready: boolean
  backends: Record<string, BackendState>
}

export interface BackendChecksOptions {
  /** Longest a backend's check may take before it counts as failed (MBG_ERR_UPSTREAM_TIMEOUT). Default 30000 ms. */
  timeoutMs?: number
  /** Time between re-runs of a failing check. Default 30000 ms. */
  retryMs?: number
}

interface Failure { code: string, detail: string, at: string }

interface Entry {
  type: MailboxType
  check?: { ok: true } | ({ ok: false } & Failure)
  /** A configuration problem a real call ran into. */
  call?: Failure
  /** The next re-run of a failing check (unref'd). */
  timer?: NodeJS.Timeout
  /** The bound of the running check (not unref'd: a hung check must still end). */
  bound?: NodeJS.Timeout
  logged: boolean
}

/** An open circuit as a readiness failure. */
function circuitFailure (name: string, circuit: CircuitReport): Failure {
  const inS = Math.ceil((circuit.retryInMs ?? 0) / 1000)
  return {
    code: 'MBG_ERR_UPSTREAM_UNAVAILABLE',
    detail: `circuit open: backend ${name} kept failing; calls fail fast, a trial call is let through in ${inS} s`,
    at: new Date(circuit.openedAt ?? Date.now()).toISOString()
  }
}

/** `{ code, detail }` of anything thrown. Non-gateway errors stay opaque, as in problem answers. */
export function describeFailure (err: unknown): { code: string, detail: string } {
  if (isGatewayError(err)) return { code: err.code, detail: err.message }
  return { code: 'MBG_ERR_INTERNAL', detail: 'Internal error' }
}

export class BackendHealth {
  private readonly entries = new Map<string, Entry>()
  private readonly logger: Logger
  private readonly check: (name: string) => Promise<void>
  private readonly circuits: ((name: string) => CircuitReport) | undefined
  private started = false
  private closed = false
  private settled: Promise<void> = Promise.resolve()

  /**
   * @param backends name → type of every configured backend
   * @param check runs one backend's check; resolves when it passes, throws why it failed
   * @param circuits each backend's circuit (the policy's); without it no circuit is shown
   */
  constructor (backends: Map<string, MailboxType>, check: (name: string) => Promise<void>, logger: Logger,
    circuits?: (name: string) => CircuitReport) {
    for (const [name, type] of backends) this.entries.set(name, { type, logged: false })
    this.check = check
    this.logger = logger
    this.circuits = circuits
  }

  /** Starts every backend's check in the background (once; later calls do nothing). */
  start (options: BackendChecksOptions = {}): void {
    if (this.started || this.closed) return
    this.started = true
    const timeoutMs = options.timeoutMs ?? 30_000
    const retryMs = options.retryMs ?? 30_000
    this.settled = Promise.all([...this.entries.keys()].map(async (name) => await this.run(name, timeoutMs, retryMs)))
      .then(() => undefined)
  }

  /** Resolves once every backend's first check has ended (passed, failed or timed out). */
  async firstChecks (): Promise<void> {
    await this.settled
  }

  /** Records a configuration problem a real call ran into (only MBG_ERR_BACKEND_MISCONFIGURED counts). */
  observe (name: string, error: unknown): void {
    const entry = this.entries.get(name)
    const code = isGatewayError(error) ? error.code : (error as { code?: unknown } | undefined)?.code
    if (entry === undefined || code !== MISCONFIGURED || this.callFailure(entry) !== undefined) return
    const detail = isGatewayError(error) ? error.message : String((error as { message?: unknown }).message ?? '')
    entry.call = { code, detail, at: new Date().toISOString() }
    this.logger.error({ backend: name, code, detail }, `backend ${name} is misconfigured: ${detail}`)
  }

  /** The call-found failure still in force, if any. */
  private callFailure (entry: Entry): Failure | undefined {
    if (entry.call === undefined || Date.now() - Date.parse(entry.call.at) >= CALL_FAILURE_MS) return undefined
    return entry.call
  }

  report (): ReadinessReport {
    const backends: Record<string, BackendState> = {}
    let ready = true
    for (const [name, e] of this.entries) {
      const circuit = this.circuits?.(name)
      const call = this.callFailure(e)
      const failure = call !== undefined
        ? { ...call, source: 'call' as const }
        : e.check?.ok === false
          ? { ...e.check, source: 'check' as const }
          : circuit?.state === 'open' ? { ...circuitFailure(name, circuit), source: 'circuit' as const } : undefined
      const shown = circuit !== undefined ? { circuit: circuit.state } : {}
      if (failure !== undefined) {
        const { code, detail, source, at } = failure
        backends[name] = { type: e.type, state: 'failing', code, detail, source, checkedAt: at, ...shown }
        ready = false
      } else if (e.check?.ok === true) {
        backends[name] = { type: e.type, state: 'ok', ...shown }
      } else {
        backends[name] = { type: e.type, state: 'unknown', ...shown }
        ready = false
      }
    }
    return { ready, backends }
  }

  close (): void {
    this.closed = true
    for (const e of this.entries.values()) {
      clearTimeout(e.timer)
      clearTimeout(e.bound)
    }
  }

  private async run (name: string, timeoutMs: number, retryMs: number): Promise<void> {
    const entry = this.entries.get(name)
    if (entry === undefined || this.closed) return
    const timeout = new Promise<never>((_resolve, reject) => {
      entry.bound = setTimeout(() => {
        reject(Object.assign(new Error('timeout'), { timedOut: true }))
      }, timeoutMs)
    })
    let outcome: Entry['check']
    try {
      await Promise.race([this.check(name), timeout])
      outcome = { ok: true }
    } catch (err) {
      const timedOut = (err as { timedOut?: boolean }).timedOut === true
      const { code, detail } = timedOut
        ? {
            code: 'MBG_ERR_UPSTREAM_TIMEOUT',
            detail: `the start-up check of backend ${name} did not finish within ${timeoutMs} ms`
          }
        : describeFailure(err)
      outcome = { ok: false, code, detail, at: new Date().toISOString() }
    } finally {
      clearTimeout(entry.bound)
    }
    if (this.closed) return
    const before = entry.check
    entry.check = outcome
    if (outcome.ok) {
      if (!entry.logged || before?.ok === false) {
        this.logger.info({ backend: name, type: entry.type }, `backend ${name} is ready`)
      }
    } else {
      const level = entry.logged && before?.ok === false && before.code === outcome.code ? 'debug' : 'error'
      this.logger[level]({ backend: name, type: entry.type, code: outcome.code, detail: outcome.detail },
        `backend ${name} failed its check: ${outcome.detail}`)
      // Not awaited: run() catches the check's own failures and schedules the next retry itself.
      entry.timer = setTimeout(() => this.run(name, timeoutMs, retryMs), retryMs)
      entry.timer.unref()
    }
    entry.logged = true
  }
}

/**
 * The backend, unchanged, except that every MBG_ERR_BACKEND_MISCONFIGURED one of its calls
 * throws or reports per item (batch results `{ error: { code } }`) is passed to `onProblem`.
 * A Proxy rather than a wrapper class, so the port can grow without this file changing.
 */
export function observed (backend: MailboxBackend, onProblem: (error: unknown) => void): MailboxBackend {
  const inspect = (value: unknown): void => {
    if (!Array.isArray(value)) return
    for (const r of value) {
      const error = (r as { error?: { code?: unknown, message?: unknown } } | null)?.error
      if (error?.code === MISCONFIGURED) onProblem(error)
    }
  }
  return new Proxy(backend, {
    get (target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function' || prop === 'constructor') return value
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (!(result instanceof Promise)) return result
        return result.then((v) => { inspect(v); return v }, (err: unknown) => {
          if (isGatewayError(err) && err.code === MISCONFIGURED) onProblem(err)
          throw err
        })
      }
    }
  })
}
