/**
 * The Graph listener: request ids, bearer auth, injected faults, Outlook throttling, routing, and
 * errors in Graph's shape.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { GraphCall, GraphVersion, SimContext } from './context.js'
import type { FaultDecision } from '../faults.js'
import {
  BodyTooLarge, GraphError, graphErrorBody, readBody, Redirect, ResetConnection, sendFaulted, sleep,
  type Reply, type ReplyFault
} from './http.js'
import { parseMailboxId } from './ids.js'
import { graphOperation } from './operations.js'
import { pathSegments, routeGraph } from './router.js'
import { faultsApply, injectedFault, injectedRejection, type Throttle } from './throttle.js'
import type { BearerIdentity } from './types.js'

const GRAPH_BODY_LIMIT = 4 * 1024 * 1024

export interface GraphServerDeps {
  ctx: SimContext
  throttle: Throttle
  verifyBearer: (token: string) => Promise<BearerIdentity | undefined>
  logger?: Logger | undefined
}

function header (req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * Throws the GraphError (or ResetConnection) of an injected fault that strikes before the request is acted on;
 * waits for `slow`. Returns the fault that strikes after acting, if any.
 */
export async function beforeActing (planned: FaultDecision | undefined): Promise<ReplyFault> {
  if (planned === undefined) return undefined
  const retry: Record<string, string> = planned.retryAfter !== undefined ? { 'retry-after': planned.retryAfter } : {}
  switch (planned.kind) {
    case 'slow':
      await sleep(planned.delayMs)
      return undefined
    case 'resetBefore':
      throw new ResetConnection()
    case 'throttle':
      throw new GraphError(429, 'TooManyRequests', 'Too many requests. Please try again later.', retry)
    case 'unavailable':
      throw new GraphError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please try again later.',
        retry)
    case 'serverError':
      throw new GraphError(500, 'InternalServerError', 'An internal server error occurred.')
    case 'resetAfter':
    case 'truncatedAfter':
      return planned.kind
    default:
      // expiredSession acts on the import endpoint only (see import-server.ts).
      return undefined
  }
}

/** Counts one injected fault in stats.faults. */
export function countFault (ctx: SimContext, kind: keyof SimContext['stats']['faults']): void {
  ctx.stats.faults[kind] = (ctx.stats.faults[kind] ?? 0) + 1
}

export function graphHandler (deps: GraphServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, throttle } = deps
  return (req, res) => {
    const started = Date.now()
    const ids = { requestId: randomUUID(), clientRequestId: header(req, 'client-request-id') ?? randomUUID() }
    ctx.stats.requests++
    const target = new URL(req.url ?? '/', 'https://graph.invalid')
    const path = target.pathname
    let slotApp: string | undefined
    let after: ReplyFault

    const run = async (): Promise<Reply> => {
      const auth = header(req, 'authorization')
      const bearer = auth === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1]
      if (bearer === undefined) {
        throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', {
          'www-authenticate':
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
        })
      }
      let identity: BearerIdentity | undefined
      try {
        identity = await deps.verifyBearer(bearer)
      } catch {
        identity = undefined
      }
      if (identity === undefined) {
        throw new GraphError(
          401,
          'InvalidAuthenticationToken',
          'Access token validation failure. Invalid audience, signature or lifetime.',
          { 'www-authenticate': 'Bearer error="invalid_token"' }
        )
      }

      const segs = pathSegments(path)
      const op = graphOperation(req.method ?? 'GET', segs.slice(1))
      ctx.stats.byOperation[op] = (ctx.stats.byOperation[op] ?? 0) + 1
      // The slot first: a request that finds the app at its limit is a concurrency violation whatever else
      // would have happened to it.
      if (!throttle.acquire(identity.appId)) {
        throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
          'retry-after': '1'
        })
      }
      slotApp = identity.appId

      const fault = injectedFault(ctx.faults, path)
      if (fault !== undefined) countFault(ctx, fault === 429 ? 'throttle' : 'unavailable')
      const retryAfter = String(ctx.faults.retryAfterSec)
      if (fault === 429) {
        throw new GraphError(429, 'TooManyRequests', 'Too many requests. Please try again later.', {
          'retry-after': retryAfter
        })
      }
      if (fault === 503) {
        throw new GraphError(
          503,
          'ServiceUnavailable',
          'The service is temporarily unavailable. Please try again later.',
          { 'retry-after': retryAfter }
        )
      }
      const rejection = injectedRejection(ctx.faults, path)
      if (rejection !== undefined) {
        throw new GraphError(rejection.status, rejection.code, rejection.message ??
        rejection.code)
      }
      const planned = ctx.faults.plan.decide(op)
      const late = planned?.kind === 'resetAfter' || planned?.kind === 'truncatedAfter'
      if (planned !== undefined && planned.kind !== 'expiredSession' && !late) countFault(ctx, planned.kind)
      const afterActing = await beforeActing(planned)

      const v = segs[0]?.toLowerCase()
      if (v !== 'v1.0' && v !== 'beta') throw new GraphError(400, 'BadRequest', `Invalid version: ${segs[0] ?? ''}`)
      const version: GraphVersion = v
      const rest = segs.slice(1)
      if (rest.length >= 4 && rest[0].toLowerCase() === 'admin') {
        const mbx = parseMailboxId(rest[3])
        const wait = mbx === undefined ? undefined : throttle.spend(identity.appId, mbx.guid)
        if (wait !== undefined) {
          throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxRequests limit.', {
            'retry-after': String(wait)
          })
        }
      }
      if (ctx.faults.delayMs > 0 && faultsApply(ctx.faults, path)) await sleep(ctx.faults.delayMs)

      let parsed: { done: boolean, value: unknown } = { done: false, value: undefined }
      let rawBody: Promise<Buffer> | undefined
      const raw = async (): Promise<Buffer> => await (rawBody ??= readBody(req, GRAPH_BODY_LIMIT))
      const call: GraphCall = {
        method: (req.method ?? 'GET').toUpperCase(),
        version,
        path,
        query: target.searchParams,
        search: target.search,
        headers: req.headers,
        identity,
        raw,
        json: async () => {
          if (parsed.done) return parsed.value
          const bytes = await raw()
          let value: unknown
          if (bytes.length > 0) {
            try {
              value = JSON.parse(bytes.toString('utf8'))
            } catch {
              throw new GraphError(
                400,
                'BadRequest',
                'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'
              )
            }
          }
          parsed = { done: true, value }
          return value
        }
      }
      const reply = await routeGraph(ctx, call, rest)
      if (afterActing !== undefined) {
        countFault(ctx, afterActing)
        after = afterActing
      }
      return reply
    }

    const toReply = (err: unknown): Reply => {
      if (err instanceof ResetConnection) {
        after = 'resetAfter'
        return { status: 0 }
      }
      if (err instanceof Redirect) return { status: 308, headers: { location: err.location } }
      if (err instanceof GraphError) return { status: err.status, headers: err.headers, body: graphErrorBody(err, ids) }
      if (err instanceof BodyTooLarge) {
        return {
          status: 413,
          body: graphErrorBody(new GraphError(413, 'RequestEntityTooLarge', 'The request body is too large.'), ids)
        }
      }
      deps.logger?.error({ err, path }, 'graph simulator: unhandled error')
      return {
        status: 500,
        body: graphErrorBody(new GraphError(500, 'generalException', 'An internal server error occurred.'), ids)
      }
    }

    run().catch(toReply).then((reply) => {
      if (slotApp !== undefined) throttle.release(slotApp)
      if (reply.status === 429) ctx.stats.throttled++
      sendFaulted(res, {
        ...reply,
        headers: { 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId, ...reply.headers }
      }, after)
      // Paths carry no secrets on this listener (the bearer token is a header); queries are left out anyway.
      deps.logger?.debug(
        { method: req.method, path, status: reply.status, ms: Date.now() - started },
        'graph simulator request'
      )
    }).catch((err: unknown) => {
      deps.logger?.error({ err, path }, 'graph simulator: failed to send a reply')
      res.destroy()
    })
  }
}
