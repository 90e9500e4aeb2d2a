/**
 * What every mailbox route needs: the mailbox (resolved from id or SMTP address),
 * the backend port serving it, and an AbortSignal that fires if the caller goes away.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MailboxBackend, MailboxRef } from '../src/backends/mailbox-backend.js'

export interface MailboxContext {
  mailbox: MailboxRef
  backend: MailboxBackend
  signal: AbortSignal
}

export async function mailboxContext (request: FastifyRequest<{ Params: { mailbox: string } }>,
  reply: FastifyReply): Promise<MailboxContext> {
  const { mailbox, backend } = await request.server.backends.resolve(request.params.mailbox)
  const controller = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) controller.abort() })
  return { mailbox, backend, signal: controller.signal }
}

/** Public view of a mailbox (routing data stays inside). */
export function publicMailbox (m: MailboxRef): Omit<MailboxRef, 'backendRef'> {
  const { backendRef: _hidden, ...rest } = m
  return rest
}
