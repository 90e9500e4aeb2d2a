import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { capabilitiesView, mailboxView } from '../../src/service/index.js'
import { MailboxParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import { Mailbox } from '../../src/schemas/mailbox.js'

const mailbox: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes/:mailbox', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['mailboxes'],
      summary: 'Get a mailbox',
      description: 'By gateway id, or by primary SMTP address (an archive is reached by its id). `capabilities` ' +
        'says what its backend can do beyond the core, each thing it cannot with why: the formats (`mime`, `json`) ' +
        'per direction and kind of item, folder-associated items, folders without a class.',
      operationId: 'getMailbox',
      params: MailboxParams,
      response: { 200: Type.Ref(Mailbox), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request) => ({
    ...mailboxView(request.mailbox.mailbox),
    capabilities: capabilitiesView(request.mailbox.backend)
  }))
}

export default mailbox
