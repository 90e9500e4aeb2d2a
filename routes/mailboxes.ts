import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems, UPSTREAM } from '../src/schemas/common.js'
import { MailboxList } from '../src/schemas/mailbox.js'

const mailboxes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['mailboxes'],
      summary: 'List mailboxes',
      description: 'Mailboxes the gateway is configured for, with their archives once discovered.',
      operationId: 'listMailboxes',
      querystring: Type.Object({}, { additionalProperties: false }),
      response: { 200: Type.Ref(MailboxList), ...problems(400, ...UPSTREAM) }
    }
  }, async (request) => ({ mailboxes: await fastify.mailboxService.listMailboxes(request.caller) }))
}

export default mailboxes
