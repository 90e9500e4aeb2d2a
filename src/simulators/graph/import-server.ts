/**
 * The import listener (the simulated outlook.office365.com): POST
 * /api/{gv1.0|gbeta}/Mailboxes('MBX:…')/importItem?authtoken=… with no Authorization header.
 * It is Exchange's REST front end, not Graph: errors are {"Message": "..."}.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { SimContext } from './context.js'
import { beforeActing, countFault } from './graph-server.js'
import {
  BodyTooLarge, GraphError, ImportError, readBody, ResetConnection, sendFaulted, sleep, type Reply, type ReplyFault
} from './http.js'
import { parseMailboxId } from './ids.js'
import { importItem } from './import-item.js'
import { faultsApply, injectedFault, injectedRejection, type Throttle } from './throttle.js'

const PATH_RE = /^\/api\/(gv1\.0|gbeta)\/Mailboxes\('([^']*)'\)\/importItem$/i

export function importHandler (
  deps: { ctx: SimContext, throttle: Throttle, logger?: Logger | undefined }
): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, throttle } = deps
  return (req, res) => {
    const started = Date.now()
    const requestId = randomUUID()
    ctx.stats.requests++
    const target = new URL(req.url ?? '/', 'https://outlook.invalid')
    const path = target.pathname
    let slotApp: string | undefined
    let after: ReplyFault

    const run = async (): Promise<Reply> => {
      let decoded: string
      try {
        decoded = decodeURIComponent(path)
      } catch {
        throw new ImportError(400, 'The request URL is malformed.')
      }
      const m = PATH_RE.exec(decoded)
      if (m === null) throw new ImportError(404, 'The requested resource was not found.')
      if (req.method !== 'POST') throw new ImportError(405, 'The requested method is not allowed.')
      if (req.headers.authorization !== undefined) {
        // The URL is pre-authenticated; a bearer meant for Graph has the wrong audience here.
        throw new ImportError(401, 'The Authorization header must not be sent with a pre-authenticated import URL.')
      }
      const token = target.searchParams.get('authtoken')
      if (token === null || token === '') throw new ImportError(401, 'The auth token is missing.')
      const claims = ctx.tokens.verify(token, Date.now())
      if ('invalid' in claims) throw new ImportError(401, claims.invalid)
      const mbx = parseMailboxId(m[2])
      const session = mbx === undefined ? undefined : ctx.store.mailboxes.get(mbx.guid)
      if (session === undefined || mbx?.guid !== claims.mbx) {
        throw new ImportError(401,
          'The auth token is not valid for this mailbox.')
      }

      ctx.stats.byOperation.importItem = (ctx.stats.byOperation.importItem ?? 0) + 1
      // Same slots as the Graph listener: Outlook's concurrency limit is per app across both.
      if (!throttle.acquire(claims.app)) {
        throw new ImportError(429,
          'Application is over its MailboxConcurrency limit.', { 'retry-after': '1' })
      }
      slotApp = claims.app

      const fault = injectedFault(ctx.faults, path)
      if (fault !== undefined) countFault(ctx, fault === 429 ? 'throttle' : 'unavailable')
      const retryAfter = String(ctx.faults.retryAfterSec)
      if (fault === 429) {
        throw new ImportError(429, 'Too many requests. Please try again later.',
          { 'retry-after': retryAfter })
      }
      if (fault === 503) {
        throw new ImportError(503, 'The service is temporarily unavailable.',
          { 'retry-after': retryAfter })
      }
      const rejection = injectedRejection(ctx.faults, path)
      if (rejection !== undefined) throw new ImportError(rejection.status, rejection.message ?? rejection.code)
      const planned = ctx.faults.plan.decide('importItem')
      const late = planned?.kind === 'resetAfter' || planned?.kind === 'truncatedAfter'
      if (planned !== undefined && !late) countFault(ctx, planned.kind)
      if (planned?.kind === 'expiredSession') {
        // Every URL issued so far expires, this one included (GraphFaults.expireSessions).
        ctx.faults.expireSessions = true
        throw new ImportError(401, 'The auth token has expired.')
      }
      let afterActing: ReplyFault
      try {
        afterActing = await beforeActing(planned)
      } catch (err) {
        // The import endpoint is not Graph: its errors are {"Message": …}.
        if (err instanceof GraphError) throw new ImportError(err.status, err.message, err.headers)
        throw err
      }
      const wait = throttle.spend(claims.app, session.guid)
      if (wait !== undefined) {
        throw new ImportError(429, 'Application is over its MailboxRequests limit.',
          { 'retry-after': String(wait) })
      }
      if (ctx.faults.delayMs > 0 && faultsApply(ctx.faults, path)) await sleep(ctx.faults.delayMs)

      const raw = await readBody(req, ctx.faults.importMaxBytes)
      let body: unknown
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        throw new ImportError(400, 'The request body is not valid JSON.')
      }
      const reply = importItem(ctx, session, m[1].toLowerCase() === 'gbeta' ? 'gbeta' : 'gv1.0', body)
      if (afterActing !== undefined && reply.status < 300) {
        countFault(ctx, afterActing)
        after = afterActing
      }
      return reply
    }

    run().catch((err: unknown): Reply => {
      if (err instanceof ResetConnection) {
        after = 'resetAfter'
        return { status: 0 }
      }
      if (err instanceof ImportError) {
        return {
          status: err.status,
          headers: err.headers,
          body: { Message: err.message }
        }
      }
      if (err instanceof BodyTooLarge) {
        countFault(ctx, 'tooLarge')
        return { status: 413, body: { Message: 'The request body is too large.' } }
      }
      deps.logger?.error({ err, path }, 'graph simulator import: unhandled error')
      return { status: 500, body: { Message: 'An internal server error occurred.' } }
    }).then((reply) => {
      if (slotApp !== undefined) throttle.release(slotApp)
      if (reply.status === 429) ctx.stats.throttled++
      const headers: Record<string, string> = { 'request-id': requestId, ...reply.headers }
      if (reply.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8'
      sendFaulted(res, { ...reply, headers }, after)
      // Never log the query string: it carries the session's authtoken.
      deps.logger?.debug(
        { method: req.method, path, status: reply.status, ms: Date.now() - started },
        'graph simulator import'
      )
    }).catch((err: unknown) => {
      deps.logger?.error({ err, path }, 'graph simulator import: failed to send a reply')
      res.destroy()
    })
  }
}
