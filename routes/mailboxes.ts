import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MailboxParams, problems, UPSTREAM } from '../src/schemas/common.js'
import { Mailbox, MailboxList } from '../src/schemas/mailbox.js'
import { publicMailbox } from './context.js'

const mailboxes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes', {
    schema: {
      tags: ['mailboxes'],
      summary: 'List mailboxes',
      description: 'Mailboxes the gateway is configured for, with their archives once discovered.',
      operationId: 'listMailboxes',
      querystring: Type.Object({}, { additionalProperties: false }),
      response: { 200: Type.Ref(MailboxList), ...problems(400, ...UPSTREAM) }
    }
  }, async () => {
    const list = await fastify.backends.list()
    return { mailboxes: list.map(publicMailbox) }
  })

  fastify.get('/mailboxes/:mailbox', {
    schema: {
      tags: ['mailboxes'],
      summary: 'Get a mailbox',
      description: 'By gateway id, or by primary SMTP address (an archive is reached by its id).',
      operationId: 'getMailbox',
      params: MailboxParams,
      response: { 200: Type.Ref(Mailbox), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request) => {
    const { mailbox } = await fastify.backends.resolve(request.params.mailbox)
    return publicMailbox(mailbox)
  })
}

export default mailboxes
