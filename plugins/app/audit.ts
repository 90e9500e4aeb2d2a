/**
 * Writes the audit log (src/audit.ts): one record per answered request of a route that declares an audit event
 * (`config: { audit: 'items.export' }`), and one `access.denied` record per request refused for its caller
 * (401 MBG_ERR_UNAUTHENTICATED, 403 MBG_ERR_INSUFFICIENT_SCOPE / MBG_ERR_MAILBOX_FORBIDDEN) on any route.
 *
 * Counts come from the answer object before it is serialized (`preSerialization`); item bytes are computed from
 * base64 lengths, never by decoding. Problem codes are read from the (small) problem body.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { base64Bytes, type AuditEvent, type AuditLog, type AuditOutcome, type AuditRecord } from '../../src/audit.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The audit event a request of this route writes (src/audit.ts). */
    audit?: AuditEvent
  }
  interface FastifyInstance {
    /** The audit log (AUDIT_LOG). */
    auditLog: AuditLog
  }
  interface FastifyRequest {
    /**
     * The mailbox a request acted on, set by a handler whose route has no resolved `request.mailbox` (POST and
     * DELETE /mailboxes): its record names it as resolved.
     */
    audited?: { mailbox: string, mailboxId?: string, backend?: string }
  }
}

const DENIALS = new Set(['MBG_ERR_UNAUTHENTICATED', 'MBG_ERR_INSUFFICIENT_SCOPE', 'MBG_ERR_MAILBOX_FORBIDDEN'])
const UNKNOWN = 'MBG_ERR_OUTCOME_UNKNOWN'

interface BatchAnswer {
  results?: Array<{ data?: string, index?: number, error?: { code?: string } }>
  succeeded?: number
  failed?: number
}

interface Counted {
  items?: NonNullable<AuditRecord['items']>
  bytes?: number
  folderId?: string
}

const counted = new WeakMap<FastifyRequest, Counted>()

/** Counts and bytes of a batch answer; folder id of a folder answer. */
function count (request: FastifyRequest, event: AuditEvent, payload: unknown): Counted {
  if (event === 'folder.create' || event === 'folder.rename') {
    const id = (payload as { id?: unknown } | null)?.id
    return typeof id === 'string' ? { folderId: id } : {}
  }
  const answer = payload as BatchAnswer | null
  if (answer === null || !Array.isArray(answer.results)) return {}
  const results = answer.results
  const unknown = results.filter((r) => r.error?.code === UNKNOWN).length
  const failed = results.filter((r) => r.error !== undefined).length
  let bytes = 0
  if (event === 'items.export') {
    for (const r of results) if (typeof r.data === 'string') bytes += base64Bytes(r.data)
  } else if (event === 'items.import') {
    const items = (request.body as { items?: Array<{ data?: unknown }> } | undefined)?.items ?? []
    for (const r of results) {
      const data = r.error === undefined && r.index !== undefined ? items[r.index]?.data : undefined
      if (typeof data === 'string') bytes += base64Bytes(data)
    }
  }
  return {
    items: {
      requested: results.length, succeeded: results.length - failed, failed, ...(unknown > 0 ? { unknown } : {})
    },
    ...(event === 'items.export' || event === 'items.import' ? { bytes } : {})
  }
}

function problemCode (payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 64 * 1024) return undefined
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}

function outcomeOf (status: number, code: string | undefined, items: Counted['items']): AuditOutcome {
  if (code !== undefined && DENIALS.has(code)) return 'denied'
  if (status >= 400) return 'failure'
  if (items !== undefined && items.failed > 0) return items.succeeded === 0 ? 'failure' : 'partial'
  return 'success'
}

async function audit (fastify: FastifyInstance, opts: { auditLog: AuditLog }): Promise<void> {
  fastify.decorate('auditLog', opts.auditLog)
  fastify.decorateRequest('audited', undefined)
  const codes = new WeakMap<FastifyRequest, string>()

  fastify.addHook('preSerialization', async (request, _reply, payload) => {
    const event = request.routeOptions.config?.audit
    if (event !== undefined) counted.set(request, count(request, event, payload))
    return payload
  })
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    if (reply.statusCode >= 400) {
      const code = problemCode(payload)
      if (code !== undefined) codes.set(request, code)
    }
    return payload
  })
  fastify.addHook('onResponse', async (request, reply) => {
    const code = codes.get(request)
    const denied = code !== undefined && DENIALS.has(code)
    const routeEvent = request.routeOptions.config?.audit
    if (!denied && routeEvent === undefined) return
    const c = counted.get(request) ?? {}
    const resolved = (request as { mailbox?: { mailbox?: { address: string, id: string, backend: string } } })
      .mailbox?.mailbox
    const mailbox = resolved !== undefined
      ? { mailbox: resolved.address, mailboxId: resolved.id, backend: resolved.backend }
      : request.audited
    // Named in the body (POST /mailboxes) when the request failed before a handler named it.
    const body = request.body as { address?: unknown, backend?: unknown } | undefined
    const posted = routeEvent === 'mailbox.add' && typeof body?.address === 'string'
      ? {
          mailbox: body.address.slice(0, 320).toLowerCase(),
          ...(typeof body.backend === 'string' ? { backend: body.backend.slice(0, 64) } : {})
        }
      : undefined
    const params = request.params as { mailbox?: unknown, folder?: unknown } | undefined
    const named = params?.mailbox
    const folderId = c.folderId ?? (routeEvent?.startsWith('folder.') === true && typeof params?.folder === 'string'
      ? params.folder.slice(0, 1024)
      : undefined)
    const caller = request.caller
    const attempted = request.headers.authorization !== undefined
      ? 'bearer'
      : request.headers['x-api-key'] !== undefined ? 'apiKey' : undefined
    const credential = caller !== undefined
      ? { kind: caller.credential, ...(caller.credentialId !== undefined ? { id: caller.credentialId } : {}) }
      : attempted !== undefined ? { kind: attempted } : undefined
    const record: AuditRecord & { action?: string, replayed?: boolean } = {
      event: denied ? 'access.denied' : routeEvent as AuditEvent,
      outcome: outcomeOf(reply.statusCode, code, c.items),
      status: reply.statusCode,
      ...(code !== undefined ? { code } : {}),
      requestId: String(request.id),
      ...(caller !== undefined ? { client: caller.client } : {}),
      ...(credential !== undefined ? { credential } : {}),
      ip: request.ip,
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0].slice(0, 200),
      ...(mailbox !== undefined
        ? mailbox
        : posted ?? (typeof named === 'string' ? { mailbox: named.slice(0, 320) } : {})),
      ...(c.items !== undefined ? { items: c.items } : {}),
      ...(c.bytes !== undefined ? { bytes: c.bytes } : {}),
      ...(folderId !== undefined ? { folderId } : {}),
      ...(denied && routeEvent !== undefined ? { action: routeEvent } : {}),
      ...(reply.getHeader('idempotent-replayed') === 'true' ? { replayed: true } : {}),
      durationMs: Math.round(reply.elapsedTime)
    }
    opts.auditLog.record(record)
  })
  fastify.addHook('onClose', async () => { opts.auditLog.flush() })
}

export default fp(audit, { name: 'audit' })
