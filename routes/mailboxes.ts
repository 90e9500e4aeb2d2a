import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MailboxParams, problems, UPSTREAM } from '../src/schemas/common.js'
import { Mailbox, MailboxCreate, MailboxList, MailboxListQuery } from '../src/schemas/mailbox.js'

const mailboxes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['mailboxes'],
      summary: 'List mailboxes',
      description: 'Mailboxes of the configuration document and those registered through POST /mailboxes, together, ' +
        'ordered by primary address, each primary followed by its archive once discovered; paged.',
      operationId: 'listMailboxes',
      querystring: MailboxListQuery,
      response: { 200: Type.Ref(MailboxList), ...problems(400, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.listMailboxes(request.query, request.caller))

  fastify.post('/mailboxes', {
    config: { scope: 'mailboxes:admin', audit: 'mailbox.add' },
    schema: {
      tags: ['mailboxes'],
      summary: 'Register a mailbox',
      description: 'Registers a mailbox at runtime, kept in the gateway\'s state store (no configuration change, no ' +
        'restart). The backend is not asked: a mailbox it does not know is registered, and calls to it then answer ' +
        '404 MBG_ERR_MAILBOX_NOT_FOUND. 409 when the address is configured or registered already; 422 ' +
        'MBG_ERR_BACKEND_UNKNOWN for a backend that is not configured.',
      operationId: 'registerMailbox',
      body: Type.Ref(MailboxCreate),
      response: { 201: Type.Ref(Mailbox), ...problems(400, 409, 422) }
    }
  }, async (request, reply) => {
    const mailbox = await fastify.mailboxService.addMailbox(request.body, request.caller)
    request.audited = { mailbox: mailbox.address, mailboxId: mailbox.id, backend: mailbox.backend }
    return await reply.code(201).header('location', `/mailboxes/${mailbox.id}`).send(mailbox)
  })

  fastify.delete('/mailboxes/:mailbox', {
    config: { scope: 'mailboxes:admin', audit: 'mailbox.remove' },
    schema: {
      tags: ['mailboxes'],
      summary: 'Remove a registered mailbox',
      description: 'Removes a mailbox registered through POST /mailboxes, by primary SMTP address or id (its archive ' +
        'goes with it). Nothing in the mailbox changes. A mailbox of the configuration document is a 409 ' +
        'MBG_ERR_MAILBOX_CONFIGURED: remove it from the document instead.',
      operationId: 'unregisterMailbox',
      params: MailboxParams,
      response: { 204: Type.Null({ description: 'Removed.' }), ...problems(400, 404, 409) }
    }
  }, async (request, reply) => {
    const removed = await fastify.mailboxService.removeMailbox(request.params.mailbox, request.caller)
    request.audited = { mailbox: removed.address, mailboxId: removed.id, backend: removed.backend }
    return await reply.code(204).send(null)
  })
}

export default mailboxes
