/**
 * The fair queue of one backend: concurrency caps at two levels and the order waiting calls get a slot.
 *
 * A call needs a slot of its backend (for Graph: of its app registration, which Outlook caps at
 * 4 concurrent requests across all mailboxes, https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits;
 * for EWS: EWSMaxConcurrency, 27 by default) and a slot of its mailbox. A call that cannot have both
 * waits; freed slots go round-robin across mailboxes, and within a mailbox round-robin across callers
 * (one request, later one principal), each caller's calls in order. So one bulk import cannot starve
 * another mailbox's single GET, nor another caller's request to the same mailbox.
 *
 * The gateway refuses rather than queue without end: a call finding `maxQueued` calls waiting, or
 * waiting longer than `queueTimeoutMs`, fails with 503 MBG_ERR_OVERLOADED and Retry-After. A caller's
 * abort removes its waiting calls at once.
 */
import { Overloaded } from '../errors.js'
import { annotate } from '../upstream/errors.js'

export interface FairQueueOptions {
  /** Concurrent calls of the backend (all mailboxes). */
  backendConcurrency: number
  /** Concurrent calls per mailbox. */
  mailboxConcurrency: number
  /** Most calls waiting for a slot; one more is refused. */
  maxQueued: number
  /** Longest a call waits for a slot before it is refused (ms). */
  queueTimeoutMs: number
}

interface Waiter {
  mailbox: string
  caller: string
  grant: (release: () => void) => void
  fail: (err: unknown) => void
}

/** Gives a slot back; a second call does nothing. */
export type Release = () => void

export class FairQueue {
  private active = 0
  private readonly activePerMailbox = new Map<string, number>()
  /** mailbox → caller → waiting calls. Map order is the round-robin order: a served entry goes last. */
  private readonly waiting = new Map<string, Map<string, Waiter[]>>()
  private count = 0
  /** Mean seconds a slot is held (moving average), for the Retry-After of a refusal. */
  private meanHeldMs = 1000

  constructor (
    readonly name: string,
    private readonly options: FairQueueOptions,
    private readonly onQueued: (delta: number) => void = () => {}
  ) {}

  /** Calls waiting for a slot. */
  get queued (): number { return this.count }
  /** Calls holding a slot. */
  get inFlight (): number { return this.active }

  /**
   * Resolves with the release of a slot (backend and mailbox level) once the call has one.
   * Rejects with 503 MBG_ERR_OVERLOADED (Retry-After) when the queue is full or the wait passes
   * `queueTimeoutMs`, and with the signal's reason (an AbortError) when the caller aborts.
   */
  async acquire (mailbox: string, caller: string, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted()
    if (this.count === 0 && this.hasRoom(mailbox)) return this.take(mailbox)
    if (this.count >= this.options.maxQueued) {
      throw this.overloaded(`${this.count} calls to backend ${this.name} are waiting already`)
    }
    return await new Promise<Release>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const waiter: Waiter = {
        mailbox,
        caller,
        grant: (release) => { done(); resolve(release) },
        fail: (err) => { done(); reject(err) }
      }
      const onAbort = (): void => {
        if (this.remove(waiter)) waiter.fail(signal?.reason)
      }
      const timer = setTimeout(() => {
        if (!this.remove(waiter)) return
        const ms = this.options.queueTimeoutMs
        waiter.fail(this.overloaded(`a call to backend ${this.name} waited ${ms} ms for a slot`))
      }, this.options.queueTimeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.enqueue(waiter)
      this.dispatch()
    })
  }

  private overloaded (why: string): Error {
    // A caller should come back when about as many slot-times as are queued have passed.
    const ms = Math.max(1000, this.meanHeldMs * (this.count + 1) / this.options.backendConcurrency)
    return annotate(new Overloaded(why), { retryAfterMs: ms })
  }

  private hasRoom (mailbox: string): boolean {
    return this.active < this.options.backendConcurrency &&
      (this.activePerMailbox.get(mailbox) ?? 0) < this.options.mailboxConcurrency
  }

  private take (mailbox: string): Release {
    this.active++
    this.activePerMailbox.set(mailbox, (this.activePerMailbox.get(mailbox) ?? 0) + 1)
    const started = Date.now()
    let released = false
    return () => {
      if (released) return
      released = true
      this.meanHeldMs += (Date.now() - started - this.meanHeldMs) / 10
      this.active--
      const n = (this.activePerMailbox.get(mailbox) ?? 1) - 1
      if (n <= 0) this.activePerMailbox.delete(mailbox)
      else this.activePerMailbox.set(mailbox, n)
      this.dispatch()
    }
  }

  private enqueue (w: Waiter): void {
    let callers = this.waiting.get(w.mailbox)
    if (callers === undefined) { callers = new Map(); this.waiting.set(w.mailbox, callers) }
    let list = callers.get(w.caller)
    if (list === undefined) { list = []; callers.set(w.caller, list) }
    list.push(w)
    this.count++
    this.onQueued(1)
  }

  /** Takes a waiter out of the queue; false when it was not there (granted or failed already). */
  private remove (w: Waiter): boolean {
    const callers = this.waiting.get(w.mailbox)
    const list = callers?.get(w.caller)
    const i = list?.indexOf(w) ?? -1
    if (callers === undefined || list === undefined || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) callers.delete(w.caller)
    if (callers.size === 0) this.waiting.delete(w.mailbox)
    this.count--
    this.onQueued(-1)
    return true
  }

  /** Grants free slots: the first mailbox (round-robin order) with room, its first caller, its first call. */
  private dispatch (): void {
    while (this.active < this.options.backendConcurrency && this.count > 0) {
      let next: Waiter | undefined
      for (const [mailbox, callers] of this.waiting) {
        if (!this.hasRoom(mailbox)) continue
        const [caller, list] = callers.entries().next().value as [string, Waiter[]]
        next = list[0]
        // Served: this caller goes last in its mailbox, the mailbox last among mailboxes.
        callers.delete(caller)
        if (list.length > 1) callers.set(caller, list)
        this.waiting.delete(mailbox)
        if (callers.size > 0) this.waiting.set(mailbox, callers)
        list.shift()
        break
      }
      if (next === undefined) return
      this.count--
      this.onQueued(-1)
      next.grant(this.take(next.mailbox))
    }
  }
}
