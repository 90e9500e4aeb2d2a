/**
 * One deadline per caller request for everything it asks of the backends: every attempt,
 * back-off, budget wait and slow answer of every call. The request's cancellation signal
 * (routes/mailbox/hooks.ts `request.cancel`) is aborted when the deadline passes, with a
 * 504 MBG_ERR_UPSTREAM_TIMEOUT as its reason; the retry policy (src/backends/policy.ts)
 * then sends nothing more and answers with that error (a write cut off in flight:
 * MBG_ERR_OUTCOME_UNKNOWN), and the batch runner stops the way it does for a caller gone.
 *
 * Without it a backend dripping one byte a second held a caller for every attempt's full
 * timeout: 4 × 60 s and the back-offs between them.
 */
import { UpstreamTimeout, isGatewayError, type GatewayError } from '../errors.js'
import { annotate } from './errors.js'

/** Deadlines by their reason, with their detail text: what tells a passed deadline from a caller gone away. */
const DEADLINES = new WeakMap<object, string>()

/** The 504 a request gets when its deadline of `ms` (setting `setting`) has passed. */
export function deadlineError (ms: number, setting: string): GatewayError {
  const detail = `the request's deadline of ${ms} ms (${setting}) passed`
  const err = new UpstreamTimeout(detail) as GatewayError
  DEADLINES.set(err, detail)
  return err
}

/**
 * A fresh copy of a deadline error for a call cut off in flight, hinted `retry: 'idempotent'`: its answer
 * was lost, so for a write the policy's `outcomeOf` makes it MBG_ERR_OUTCOME_UNKNOWN.
 */
export function cutOffInFlight (deadline: GatewayError): GatewayError {
  return annotate(new UpstreamTimeout(DEADLINES.get(deadline) ?? 'the request\'s deadline passed') as GatewayError,
    { retry: 'idempotent' })
}

/** The deadline error when `signal` was aborted by a passed deadline, else undefined. */
export function deadlinePassed (signal: AbortSignal | undefined): GatewayError | undefined {
  const reason: unknown = signal?.aborted === true ? signal.reason : undefined
  return isGatewayError(reason) && DEADLINES.has(reason) ? reason : undefined
}

/**
 * Aborts `controller` with deadlineError(ms, setting) after `ms`; returns the function that
 * disarms it (call it when the request is answered). The timer does not keep the process alive.
 */
export function armDeadline (controller: AbortController, ms: number, setting: string): () => void {
  const timer = setTimeout(() => { controller.abort(deadlineError(ms, setting)) }, ms)
  timer.unref()
  return () => { clearTimeout(timer) }
}

/**
 * `work`, or the deadline error as soon as `signal` is aborted by a passed deadline, whichever comes first:
 * for work shared by several requests (a mailbox's discovery) that one request's deadline must not abort.
 * Other aborts of `signal` are left to `work`.
 */
export async function raceDeadline<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  const passed = deadlinePassed(signal)
  if (passed !== undefined) throw passed
  let onAbort = (): void => {}
  const cut = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      const err = deadlinePassed(signal)
      if (err !== undefined) reject(err)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, cut])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
