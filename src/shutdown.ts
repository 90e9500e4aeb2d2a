/**
 * Graceful shutdown. On SIGTERM or SIGINT the server (src/server.ts) closes the app:
 *
 *  1. No new connections; a request that still arrives (pipelined, or on a connection that was
 *     mid-request) answers 503 MBG_ERR_SHUTTING_DOWN problem+json with Retry-After.
 *  2. Requests in flight run to their end. Their answers carry `Connection: close` and their
 *     connection is closed once the answer is written; idle keep-alive connections are closed at
 *     once, so no caller's connection holds the process.
 *  3. Then the backends (undici pools), the token providers and, in demo mode, the simulators close,
 *     and the process exits 0.
 *
 * `SHUTDOWN_TIMEOUT_MS` bounds it. At the stop point (`stopAfterMs`) the app's stop signal fires:
 * batch work starts no new backend calls and reports the items it did not send as
 * MBG_ERR_SHUTTING_DOWN (retryable). At the deadline what still runs is logged (`reportDeadline`)
 * and the process exits 1.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { annotate } from './upstream/errors.js'
import { ShuttingDown } from './errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Requests whose answer has not been written yet (the deadline report). */
    inFlight: () => InFlightRequest[]
  }
}

/** Seconds a caller refused during the drain is told to wait (Retry-After) before sending again. */
export const DRAIN_RETRY_AFTER_SEC = 5

/** How long before the deadline the stop signal fires, for deadlines of 10 s and more (ms). */
export const STOP_MARGIN_MS = 5000

/**
 * When the stop signal fires, in ms after shutdown began: STOP_MARGIN_MS before the deadline, or
 * half-way for deadlines under 10 s. The rest is left for backend calls already sent to finish and
 * for the answers that report them to be written.
 */
export function stopAfterMs (timeoutMs: number): number {
  return timeoutMs - Math.min(STOP_MARGIN_MS, timeoutMs / 2)
}

/** A request still running, as the deadline report logs it: never its URL values, headers or body. */
export interface InFlightRequest {
  method: string
  /** The route pattern (e.g. `/mailboxes/:mailbox/items::import`), `(no route)` when none matched. */
  route: string
  requestId: string
  /** How long it has run, in ms. */
  runningMs: number
}

/**
 * Registers the drain behaviour (steps 1 and 2 above) and the in-flight registry
 * (`fastify.inFlight()`) on the root instance. Call it after the hook that sets the request id.
 */
export function drain (fastify: FastifyInstance): void {
  const running = new Map<FastifyRequest, number>()
  let closing = false
  fastify.decorate('inFlight', () => {
    const now = Date.now()
    return [...running].map(([request, started]) => ({
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      requestId: String(request.id),
      runningMs: now - started
    }))
  })
  // Fastify's own 503 while closing (return503OnClosing) is bare JSON without Retry-After: ours is a problem.
  fastify.addHook('preClose', async () => {
    closing = true
    // A keep-alive connection that was busy when the close began and goes idle without an answer of ours ending
    // on it is closed too (else it would hold the close until its keep-alive timeout, past SHUTDOWN_TIMEOUT_MS).
    const sweep = setInterval(() => { fastify.server.closeIdleConnections() }, 1000)
    sweep.unref()
    fastify.server.once('close', () => { clearInterval(sweep) })
  })
  fastify.addHook('onRequest', async (request, reply) => {
    running.set(request, Date.now())
    reply.raw.once('close', () => {
      running.delete(request)
      // The connection of an answer finished while closing is idle now: close it (and any other idle one).
      if (closing) fastify.server.closeIdleConnections()
    })
    if (closing) {
      throw annotate(new ShuttingDown('it accepts no new requests; send this one again'), {
        retryAfterMs: DRAIN_RETRY_AFTER_SEC * 1000
      })
    }
  })
  fastify.addHook('onSend', async (_request, reply) => {
    if (closing && !reply.raw.headersSent) reply.header('connection', 'close')
  })
}

/**
 * Logs, at warn level, what the deadline cut off: each request still running (method, route,
 * request id, how long it ran), or that closing the backends did not finish.
 */
export function reportDeadline (logger: Logger, timeoutMs: number, inFlight: InFlightRequest[]): void {
  for (const r of inFlight) {
    logger.warn({ reqId: r.requestId, method: r.method, route: r.route, runningMs: r.runningMs },
      'shutdown deadline: request still running, abandoned')
  }
  logger.warn({ timeoutMs, requests: inFlight.length },
    inFlight.length > 0
      ? 'shutdown deadline (SHUTDOWN_TIMEOUT_MS) reached with requests still running: exiting 1'
      : 'shutdown deadline (SHUTDOWN_TIMEOUT_MS) reached while closing backends: exiting 1')
}
