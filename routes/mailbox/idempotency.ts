/**
 * Idempotency-Key on a write route (draft-ietf-httpapi-idempotency-key-header-06): spread
 * `idempotent(fastify)` into the route's options. A request with the header
 *
 * - has its body bytes hashed as they arrive (`preParsing`), so the fingerprint is of the body as sent;
 * - claims its key once the mailbox is resolved (`preHandler`, after the mailbox hook): a repeat of a
 *   finished request is answered here with the recorded answer (same status, body byte for byte, and
 *   `Idempotent-Replayed: true`) and the handler does not run; another request with the key is a 422,
 *   a repeat while the first still runs a 409 with Retry-After (src/service/idempotency.ts);
 * - hands the answer it sends to the service (`onSend`), which records it or frees the key.
 *
 * The work of a claimed request follows `workSignal`: it is not cancelled when the caller goes away,
 * so its answer is recorded for the caller's retry instead of being cut off half done.
 * A request without the header is handled exactly as before.
 */
import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import { parseIdempotencyKey, requestFingerprint, type IdempotencyClaim } from '../../src/service/index.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** SHA-256 (hex) of the body bytes as received, for a request with an Idempotency-Key; else null. */
    bodySha256: string | null
    /** The Idempotency-Key this request holds until its answer is sent; null for none. */
    idempotencyClaim: IdempotencyClaim | null
  }
}

/** The header a replayed answer carries (as Stripe names it; the draft names none). */
export const REPLAYED_HEADER = 'idempotent-replayed'
/** Answer headers recorded with the body and sent again on a replay. */
const RECORDED_HEADERS = ['content-type', 'location', 'retry-after']
const EMPTY_SHA256 = createHash('sha256').digest('hex')

/**
 * The signal a route's work follows: the caller's cancellation (request.cancel), except for a request
 * holding an Idempotency-Key, whose work runs to its end so its answer can be recorded and replayed.
 */
export function workSignal (request: FastifyRequest): AbortSignal | undefined {
  return request.idempotencyClaim === null ? request.cancel : undefined
}

function recordedHeaders (reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of RECORDED_HEADERS) {
    const value = reply.getHeader(name)
    if (value !== undefined) out[name] = String(value)
  }
  return out
}

/**
 * The Idempotency-Key header as sent: one string, or every value when the header came on more than one line.
 * Node joins repeated lines of a header it does not know into one "k1, k2" string (http.IncomingMessage.headers),
 * which would pass for one key, so the lines are counted in the raw headers (names case-insensitive).
 */
function idempotencyKeyHeader (request: FastifyRequest): string | string[] | undefined {
  const raw = request.raw.rawHeaders
  const values: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'idempotency-key') values.push(raw[i + 1])
  }
  return values.length > 1 ? values : request.headers['idempotency-key']
}

/** Route hooks that give the route Idempotency-Key handling (see the module comment). */
export function idempotent (fastify: FastifyInstance): Pick<RouteShorthandOptions,
'preParsing' | 'preHandler' | 'onSend' | 'onResponse'> {
  if (!fastify.hasRequestDecorator('idempotencyClaim')) {
    fastify.decorateRequest('bodySha256', null)
    fastify.decorateRequest('idempotencyClaim', null)
  }
  const keys = (): typeof fastify.idempotencyKeys => fastify.idempotencyKeys

  return {
    async preParsing (request, _reply, payload) {
      if (request.headers['idempotency-key'] === undefined) return payload
      const hash = createHash('sha256')
      const tee = new Transform({
        transform (chunk: Buffer, _encoding, done) { hash.update(chunk); done(null, chunk) },
        flush (done) { request.bodySha256 = hash.digest('hex'); done() }
      })
      payload.once('error', (err) => tee.destroy(err))
      return payload.pipe(tee)
    },

    async preHandler (request, reply) {
      const key = parseIdempotencyKey(idempotencyKeyHeader(request))
      if (key === undefined) return
      const route = request.routeOptions.url ?? request.url
      const mediaType = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
      const fingerprint = requestFingerprint(request.method, route, request.bodySha256 ?? EMPTY_SHA256, {
        params: request.params as Record<string, string>,
        ...(mediaType !== '' ? { mediaType } : {})
      })
      // Scoped by client too: one client's key never replays another client's answer.
      const scope = {
        mailboxId: request.mailbox.mailbox.id,
        ...(request.caller !== undefined ? { principal: request.caller.client } : {})
      }
      const start = await keys().begin(scope, key, fingerprint)
      if ('replay' in start) {
        const { status, headers, body } = start.replay
        return await reply.code(status).headers(headers).header(REPLAYED_HEADER, 'true').send(body)
      }
      request.idempotencyClaim = start.claim
    },

    async onSend (request, reply, payload) {
      const claim = request.idempotencyClaim
      if (claim === null) return payload
      request.idempotencyClaim = null
      try {
        if (typeof payload === 'string' || payload === null || payload === undefined) {
          const body = typeof payload === 'string' ? payload : ''
          const answer = { status: reply.statusCode, headers: recordedHeaders(reply), body }
          const outcome = await keys().finish(claim, answer)
          request.log.debug({ idempotency: outcome, statusCode: reply.statusCode }, 'idempotency key settled')
          if (outcome === 'lost') request.log.warn('idempotency key lapsed before the answer: not recorded')
        } else {
          await keys().abandon(claim)
          request.log.warn('answer cannot be recorded (not text): idempotency key freed')
        }
      } catch (err) {
        // The answer still goes out; the key lapses with its lease.
        request.log.warn({ err }, 'idempotency key could not be settled')
      }
      return payload
    },

    async onResponse (request) {
      // No answer went through onSend (e.g. it failed before): free the key rather than wait for the lease.
      const claim = request.idempotencyClaim
      if (claim === null) return
      request.idempotencyClaim = null
      await keys().abandon(claim).catch((err: unknown) => {
        request.log.warn({ err }, 'idempotency key could not be freed')
      })
    }
  }
}
