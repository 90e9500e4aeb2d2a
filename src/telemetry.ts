/**
 * What the pacing/retry policy (src/backends/policy.ts) and the service layer (src/service/)
 * report as they work. src/metrics.ts turns it into Prometheus metrics; tests and the no-op
 * default ignore it. Labels are bounded: a configured backend name, an operation name (EWS
 * operation or Graph action), an MBG_ERR_* code. Never a mailbox address, an id or a caller.
 */

/** One attempt of a backend call ended. */
export interface BackendCallEvent {
  /** Configured backend name (`backends.<name>` of the configuration document). */
  backend: string
  /** EWS operation (`ExportItems`, `UploadItems`, …) or Graph action (`exportItems`, `importItem`, …). */
  operation: string
  outcome: 'ok' | 'error'
  /** MBG_ERR_* code of a failed attempt. */
  code?: string
  /** Wall time of the attempt, seconds. */
  seconds: number
}

/** Per-item outcome the service reports: done, not done, or (writes only) outcome unknown. */
export type ItemOutcome = 'ok' | 'failed' | 'unknown'

export interface Telemetry {
  /** One attempt of a backend call ended (retries are separate attempts). */
  backendCall: (e: BackendCallEvent) => void
  /** A call is sent again after `waitSeconds` (the backend's Retry-After or the policy's back-off). */
  retry: (e: { backend: string, operation: string, code: string, waitSeconds: number }) => void
  /**
   * A call waited `seconds` before going out: for a concurrency slot (per app, backend or mailbox),
   * or for a request or upload-byte budget to refill.
   */
  paced: (e: { backend: string, reason: 'concurrency' | 'budget', seconds: number }) => void
  /** Calls of a backend waiting in the fair queue changed by `delta`. */
  queued: (backend: string, delta: number) => void
  /** Calls of a backend in flight changed by `delta`. */
  inFlight: (backend: string, delta: number) => void
  /** The circuit of a backend changed state. */
  circuit: (backend: string, state: 'closed' | 'open' | 'halfOpen') => void
  /**
   * Items the service finished: `count` items of one outcome, `bytes` of item data (decoded
   * full-fidelity stream bytes; 0 for failures).
   */
  items: (e: { backend: string, kind: 'export' | 'import', outcome: ItemOutcome, count: number, bytes: number }) => void
  /** A batch call failed as a whole for something one item may cause, and was split to find it. */
  split: (e: { backend: string, kind: 'export' | 'import', code: string }) => void
}

/** Reports nowhere. */
export const NO_TELEMETRY: Telemetry = {
  backendCall () {},
  retry () {},
  paced () {},
  queued () {},
  inFlight () {},
  circuit () {},
  items () {},
  split () {}
}
