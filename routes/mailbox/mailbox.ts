import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { mailboxView } from '../../src/service/index.js'
import { MailboxParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import { Mailbox } from '../../src/schemas/mailbox.js'

const mailbox: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes/:mailbox', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['mailboxes'],
      summary: 'Get a mailbox',
      description: 'By gateway id, or by primary SMTP address (an archive is reached by its id).',
      operationId: 'getMailbox',
      params: MailboxParams,
      response: { 200: Type.Ref(Mailbox), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request) => mailboxView(request.mailbox.mailbox))
}

export default mailbox
