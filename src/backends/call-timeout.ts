/**
 * The time allowed for one backend HTTP exchange (the timeout of a single call, not the caller request's deadline
 * of src/upstream/deadline.ts), joined with the caller's signal (a request the caller gave up on).
 *
 * Same behaviour as `AbortSignal.any([caller, AbortSignal.timeout(ms)])`, which the adapters made per request
 * before: the signal aborts with the caller's reason when the caller's signal aborts (at once when it already
 * has), or with a DOMException named 'TimeoutError' when `ms` pass first. Made from one AbortController, one timer
 * (unref'd, as AbortSignal.timeout's) and one listener instead: AbortSignal.any keeps weak references and
 * registrations per source signal, which showed in profiles at several percent of the gateway's CPU. Call
 * `done()` once the exchange is over (answer read or failed): it stops the timer and drops the listener.
 */
export class CallTimeout {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private expired = false
  private readonly onAbort: (() => void) | undefined

  /** @param ms time allowed, in milliseconds; @param caller the caller's signal, if any */
  constructor (ms: number, private readonly caller?: AbortSignal) {
    this.signal = this.controller.signal
    const controller = this.controller
    if (caller?.aborted === true) {
      controller.abort(caller.reason)
    } else if (caller !== undefined) {
      this.onAbort = () => { controller.abort(caller.reason) }
      caller.addEventListener('abort', this.onAbort, { once: true })
    }
    this.timer = setTimeout(() => {
      if (controller.signal.aborted) return
      this.expired = true
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
    }, ms)
    this.timer.unref()
  }

  /** True once the deadline passed before the caller gave up (AbortSignal.timeout(ms).aborted). */
  get timedOut (): boolean {
    return this.expired
  }

  /** The exchange is over: no timer, no listener left behind. */
  done (): void {
    clearTimeout(this.timer)
    if (this.onAbort !== undefined) this.caller?.removeEventListener('abort', this.onAbort)
  }
}
