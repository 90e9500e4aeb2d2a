/** Every route under /mailboxes/:mailbox, behind the hooks that resolve the mailbox once. */
import type { FastifyPluginAsync } from 'fastify'
import hooks from './hooks.js'
import mailbox from './mailbox.js'
import folders from './folders.js'
import items, { type ItemRoutesOptions } from './items.js'
import formats from './formats.js'

const mailboxRoutes: FastifyPluginAsync<ItemRoutesOptions> = async (fastify, opts) => {
  await fastify.register(hooks)
  await fastify.register(mailbox)
  await fastify.register(folders)
  await fastify.register(items, opts)
  await fastify.register(formats)
}

export default mailboxRoutes
