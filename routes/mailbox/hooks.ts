/**
 * Hooks for every route under /mailboxes/:mailbox: the mailbox is resolved once
 * (id or SMTP address; 404 problem when unknown) and a cancellation signal is made
 * once, so handlers only call the service.
 *
 * The signal follows the response, not the request: Fastify's own `request.signal`
 * listens for the request stream's `close`, which Node emits as soon as a request body
 * has been read, so it aborts every POST with a body at once (fastify/fastify#6725,
 * still open; test/routes/cancellation.test.ts pins that down). Ours aborts only when
 * the response closes before it was fully written: the caller went away.
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { MailboxTarget } from '../../src/service/index.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The mailbox named by `:mailbox`, with the backend serving it. */
    mailbox: MailboxTarget
    /** Aborted when the caller goes away before the answer is written. */
    cancel: AbortSignal
  }
}

const hooks: FastifyPluginAsync = async (fastify) => {
  fastify.decorateRequest('mailbox', null as unknown as MailboxTarget)
  fastify.decorateRequest('cancel', null as unknown as AbortSignal)
  fastify.addHook<{ Params: { mailbox: string } }>('preHandler', async (request, reply) => {
    // The request id names the caller: the policy serves the callers of one mailbox round-robin.
    request.mailbox = await fastify.mailboxService.resolve(request.params.mailbox, request.id)
    const controller = new AbortController()
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return
      // Before or while the answer was written: either way the work stops and the log says why, once.
      request.log.info({ answerStarted: reply.raw.headersSent }, 'caller went away before the answer')
      controller.abort()
    })
    request.cancel = controller.signal
  })
}

export default fp(hooks, { name: 'mailbox-hooks' })
