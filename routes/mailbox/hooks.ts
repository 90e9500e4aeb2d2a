/**
 * Hooks for every route under /mailboxes/:mailbox: the mailbox is resolved once
 * (id or SMTP address; 404 problem when unknown), a cancellation signal is made
 * once and the gateway's stop signal is handed on, so handlers only call the service.
 *
 * The signal follows the response, not the request: Fastify's own `request.signal`
 * listens for the request stream's `close`, which Node emits as soon as a request body
 * has been read, so it aborts every POST with a body at once (fastify/fastify#6725,
 * still open; test/routes/cancellation.test.ts pins that down). Ours aborts only when
 * the response closes before the gateway ended it: the caller went away.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, preParsingAsyncHookHandler } from 'fastify'
import { armDeadline, raceDeadline, type MailboxTarget } from '../../src/service/index.js'
import { TooLarge } from '../../src/errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The mailbox named by `:mailbox`, with the backend serving it. */
    mailbox: MailboxTarget
    /**
     * Aborted when the caller goes away before the answer is written, or when the request's deadline for
     * backend calls (`fastify.upstreamDeadlineMs`) passes: then with a 504 MBG_ERR_UPSTREAM_TIMEOUT as its
     * reason (src/upstream/deadline.ts).
     */
    cancel: AbortSignal
    /**
     * The gateway's stop signal (`fastify.stopping`, src/shutdown.ts): aborted at the stop point of a
     * shutdown. Batch work then starts no new backend calls and reports the items it did not send as
     * MBG_ERR_SHUTTING_DOWN; calls in flight go on (`cancel` stops those).
     */
    stop: AbortSignal
    /**
     * The request's deadline for backend calls, for an answer streamed over a long time: `pause()` stops it while
     * the answer waits for the caller to read, `restart()` gives the next wait for the backends all of it again.
     * The deadline then bounds each wait for the next part of the answer, not the whole answer.
     */
    deadline: { pause: () => void, restart: () => void }
  }
}

/** The stop signal of an app that has none (hooks registered outside the gateway app). */
const NEVER = new AbortController().signal

const hooks: FastifyPluginAsync = async (fastify) => {
  fastify.decorateRequest('mailbox', null as unknown as MailboxTarget)
  fastify.decorateRequest('cancel', null as unknown as AbortSignal)
  fastify.decorateRequest('stop', null as unknown as AbortSignal)
  fastify.decorateRequest('deadline', null as unknown as FastifyRequest['deadline'])
  fastify.addHook<{ Params: { mailbox: string } }>('preHandler', async (request, reply) => {
    // Armed first: the deadline bounds the mailbox's discovery too (shared, so only the wait for it is cut).
    const controller = new AbortController()
    const arm = (): () => void => fastify.hasDecorator('upstreamDeadlineMs')
      ? armDeadline(controller, fastify.upstreamDeadlineMs, 'UPSTREAM_DEADLINE_MS')
      : () => {}
    let disarm = arm()
    let closed = false
    request.deadline = {
      pause: () => { disarm(); disarm = () => {} },
      restart: () => { disarm(); disarm = closed || controller.signal.aborted ? () => {} : arm() }
    }
    reply.raw.once('close', () => {
      closed = true
      disarm()
      // Ended: the answer is complete on our side (under inject nothing is ever flushed, so not "finished").
      if (reply.raw.writableEnded) return
      // Before or while the answer was written: either way the work stops and the log says why, once.
      request.log.info({ answerStarted: reply.raw.headersSent }, 'caller went away before the answer')
      controller.abort()
    })
    request.cancel = controller.signal
    request.stop = fastify.hasDecorator('stopping') ? fastify.stopping : NEVER
    // The request id names the caller: the policy serves the callers of one mailbox round-robin.
    request.mailbox = await raceDeadline(
      fastify.mailboxService.resolve(request.params.mailbox, request.id, request.caller), controller.signal)
  })
}

/**
 * A preParsing hook for an import route under /mailboxes/:mailbox: a body whose Content-Length is above what the
 * mailbox's backend could take (`MailboxService.importBodyLimit`: the larger of one export answer and one item of
 * the backend's `maxItemBytes`, as base64, plus room for `maxItems` items' other fields) is refused with a 413
 * MBG_ERR_TOO_LARGE before any of it is read, instead of being read, parsed and refused item by item. Runs after
 * the caller's credential and scope were checked (plugins/app/access.ts); a mailbox it cannot place without
 * asking a backend is left to the route (and BODY_LIMIT_BYTES). A body without Content-Length (chunked) is bounded
 * by BODY_LIMIT_BYTES only.
 */
export function importBodyBound (fastify: FastifyInstance, maxItems: number): preParsingAsyncHookHandler {
  return async (request, _reply, payload) => {
    const declared = Number(request.headers['content-length'])
    if (!Number.isFinite(declared) || declared <= 0) return payload
    const { mailbox } = request.params as { mailbox: string }
    const backendLimit = await fastify.mailboxService.importBodyLimit(mailbox, maxItems, request.caller)
    if (backendLimit === undefined) return payload
    // Never more than the body limit, which Fastify applies after this hook: the problem states what is taken.
    const limit = Math.min(backendLimit, request.routeOptions.bodyLimit ?? fastify.initialConfig.bodyLimit ?? Infinity)
    if (declared <= limit) return payload
    throw new TooLarge(`the request body is ${declared} bytes; an import into ${mailbox.slice(0, 320)} takes at ` +
      `most ${limit} (the larger of MAX_EXPORT_ANSWER_BYTES and one item of its backend's maxItemBytes as base64, ` +
      'plus the items\' other fields, and at most BODY_LIMIT_BYTES): send fewer items per request, or items its ' +
      'backend takes')
  }
}

export default fp(hooks, { name: 'mailbox-hooks' })
