/**
 * Writes the audit log (src/audit.ts): one record per answered request of a route that declares an audit event
 * (`config: { audit: 'items.export' }`), and one `access.denied` record per request refused for its caller
 * (401 MBG_ERR_UNAUTHENTICATED, 403 MBG_ERR_INSUFFICIENT_SCOPE / MBG_ERR_MAILBOX_FORBIDDEN) on any route.
 *
 * Counts come from the answer object before it is serialized (`preSerialization`); item bytes are computed from
 * base64 lengths, never by decoding. A streamed answer is no object: its route sets `request.auditCounts` to
 * counts it keeps up to date while it writes, read when the answer is over (its connection closes, finished or cut
 * off). Problem codes are read from the (small) problem body. The record of any other answer is written
 * in `onSend`, which runs once the work is over whether or not the caller is still there (`onResponse` does not run
 * for a caller who hung up, and a write it asked for may still have been done): `callerGone` says so.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { decodedLength } from '../../src/base64.js'
import { itemData } from '../../src/json-bytes.js'
import { type AuditEvent, type AuditLog, type AuditOutcome, type AuditRecord } from '../../src/audit.js'

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
    /**
     * Counts of a streamed answer (items written, items failed, decoded bytes of item data, whether it reached
     * its end), set by its route and kept up to date while the answer is written; null for other answers.
     */
    auditCounts: StreamedCounts | null
  }
}

/** What a streamed answer counts for its audit record. */
export interface StreamedCounts {
  succeeded: number
  failed: number
  bytes: number
  /** False when the stream ended before its end (the caller went away, a backend failed, a shutdown). */
  complete: boolean
}

const DENIALS = new Set([
  'MBG_ERR_UNAUTHENTICATED', 'MBG_ERR_INSUFFICIENT_SCOPE', 'MBG_ERR_MAILBOX_FORBIDDEN', 'MBG_ERR_RATE_LIMITED'
])
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
  jobId?: string
  complete?: boolean
}

/** The counts of a streamed answer as they stood when it ended. */
function streamed (c: StreamedCounts): Counted {
  const { succeeded, failed, bytes, complete } = c
  return { items: { requested: succeeded + failed, succeeded, failed }, bytes, complete }
}

const counted = new WeakMap<FastifyRequest, Counted>()

/** Counts and bytes of a batch answer; folder id of a folder answer. */
function count (request: FastifyRequest, event: AuditEvent, payload: unknown): Counted {
  if (event === 'folder.create' || event === 'folder.rename') {
    const id = (payload as { id?: unknown } | null)?.id
    return typeof id === 'string' ? { folderId: id } : {}
  }
  if (event.startsWith('job.')) {
    // The job the answer shows (for job.create, the one it made).
    const id = (payload as { id?: unknown } | null)?.id
    return typeof id === 'string' ? { jobId: id } : {}
  }
  const answer = payload as BatchAnswer | null
  if (answer === null || !Array.isArray(answer.results)) {
    // One item (a property set read, an item created from an upload): done. An upload's bytes are its body's;
    // a MIME download is no object: its route sets `auditCounts`.
    if ((event === 'items.export' || event === 'items.import') &&
      typeof (answer as { itemId?: unknown } | null)?.itemId === 'string') {
      const body = request.body
      return { items: { requested: 1, succeeded: 1, failed: 0 }, bytes: Buffer.isBuffer(body) ? body.length : 0 }
    }
    return {}
  }
  const results = answer.results
  const unknown = results.filter((r) => r.error?.code === UNKNOWN).length
  const failed = results.filter((r) => r.error !== undefined).length
  let bytes = 0
  if (event === 'items.export') {
    // Item data is text or bytes (ItemData): its decoded size either way.
    for (const r of results) if (typeof r.data === 'string' || Buffer.isBuffer(r.data)) bytes += decodedLength(r.data)
  } else if (event === 'items.import') {
    const items = (request.body as { items?: Array<{ data?: unknown }> } | undefined)?.items ?? []
    for (const r of results) {
      const data = r.error === undefined && r.index !== undefined ? items[r.index]?.data : undefined
      // A long `data` is a stand-in for bytes of the body (src/json-bytes.ts): counted as the bytes it stands for.
      if (typeof data === 'string') bytes += decodedLength(itemData(request.body, data))
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

function outcomeOf (status: number, code: string | undefined, c: Counted): AuditOutcome {
  const items = c.items
  if (code !== undefined && DENIALS.has(code)) return 'denied'
  if (status >= 400) return 'failure'
  if (items !== undefined && (items.failed > 0 || c.complete === false)) {
    return items.succeeded === 0 ? 'failure' : 'partial'
  }
  return 'success'
}

async function audit (fastify: FastifyInstance, opts: { auditLog: AuditLog }): Promise<void> {
  fastify.decorate('auditLog', opts.auditLog)
  fastify.decorateRequest('audited', undefined)
  fastify.decorateRequest('auditCounts', null)

  fastify.addHook('preSerialization', async (request, _reply, payload) => {
    const event = request.routeOptions.config?.audit
    if (event !== undefined) counted.set(request, count(request, event, payload))
    return payload
  })
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const code = reply.statusCode >= 400 ? problemCode(payload) : undefined
    if (request.auditCounts !== null && request.auditCounts !== undefined) {
      // A streamed answer: its counts are final once its connection closes (finished or cut off).
      reply.raw.once('close', () => { write(request, reply, code) })
    } else {
      write(request, reply, code)
    }
    return payload
  })

  /** Writes the request's audit record, if it needs one. */
  const write = (request: FastifyRequest, reply: FastifyReply, code: string | undefined): void => {
    const denied = code !== undefined && DENIALS.has(code)
    const routeEvent = request.routeOptions.config?.audit
    if ((!denied && routeEvent === undefined) || request.auditQuiet === true) return
    const c = counted.get(request) ?? (request.auditCounts !== null ? streamed(request.auditCounts) : {})
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
    const params = request.params as { mailbox?: unknown, folder?: unknown, id?: unknown } | undefined
    const named = params?.mailbox
    const folderId = c.folderId ?? (routeEvent?.startsWith('folder.') === true && typeof params?.folder === 'string'
      ? params.folder.slice(0, 1024)
      : undefined)
    // A job control names its job in the path, even when the answer is a problem (404, 409).
    const jobId = c.jobId ?? (routeEvent?.startsWith('job.') === true && typeof params?.id === 'string'
      ? params.id.slice(0, 100)
      : undefined)
    const caller = request.caller
    const attempted = request.headers.authorization !== undefined
      ? 'bearer'
      : request.headers['x-api-key'] !== undefined ? 'apiKey' : undefined
    const credential = caller !== undefined
      ? { kind: caller.credential, ...(caller.credentialId !== undefined ? { id: caller.credentialId } : {}) }
      : attempted !== undefined ? { kind: attempted } : undefined
    const record: AuditRecord & { action?: string, replayed?: boolean, callerGone?: boolean } = {
      event: denied ? 'access.denied' : routeEvent as AuditEvent,
      outcome: outcomeOf(reply.statusCode, code, c),
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
      ...(c.complete !== undefined ? { complete: c.complete } : {}),
      ...(folderId !== undefined ? { folderId } : {}),
      ...(jobId !== undefined ? { jobId } : {}),
      ...(denied && routeEvent !== undefined ? { action: routeEvent } : {}),
      ...(reply.getHeader('idempotent-replayed') === 'true' ? { replayed: true } : {}),
      ...(reply.raw.destroyed || request.raw.socket?.destroyed === true ? { callerGone: true } : {}),
      durationMs: Math.round(reply.elapsedTime)
    }
    opts.auditLog.record(record)
  }
  fastify.addHook('onClose', async () => { opts.auditLog.flush() })
}

export default fp(audit, { name: 'audit' })
