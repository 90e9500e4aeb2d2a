/**
 * Small HTTP plumbing shared by both listeners: replies, errors and body reading.
 * The simulator speaks raw node:https rather than Fastify so that every status, header and body
 * byte is the protocol's (308 with an empty body, key-segment paths such as mailboxes('MBX%3A…')).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface Reply {
  status: number
  headers?: Record<string, string>
  /** JSON-serialized when present; no body when undefined. */
  body?: unknown
  /** A body sent as these bytes instead (a message's MIME, `$value`), with its media type. */
  raw?: { contentType: string, data: Buffer }
}

/** A Graph-shaped error ({error:{code,message,innerError}}) raised anywhere below the router. */
export class GraphError extends Error {
  constructor (readonly status: number, readonly code: string, message: string,
    readonly headers: Record<string, string> = {}) {
    super(message)
    this.name = 'GraphError'
  }
}

/** An error of the import endpoint, which is Exchange's REST front end: {"Message": "..."}. */
export class ImportError extends Error {
  constructor (readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ImportError'
  }
}

/** 308 to the auxiliary archive that physically holds a folder's content. */
export class Redirect extends Error {
  constructor (readonly location: string) {
    super('Permanent Redirect')
    this.name = 'Redirect'
  }
}

export const notFound = (): GraphError =>
  new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.')
export const badRequest = (message: string, code = 'BadRequest'): GraphError => new GraphError(400, code, message)

export function graphErrorBody (err: GraphError, ids: RequestIds): unknown {
  return {
    error: {
      code: err.code,
      message: err.message,
      innerError: {
        // Graph writes this one without a zone designator.
        date: new Date().toISOString().slice(0, 19),
        'request-id': ids.requestId,
        'client-request-id': ids.clientRequestId
      }
    }
  }
}

export interface RequestIds { requestId: string, clientRequestId: string }

export class BodyTooLarge extends Error {}

/** Beyond this, an oversized body is no longer drained: the answer goes out and the connection closes. */
const DRAIN_LIMIT = 256 * 1024 * 1024

/**
 * The whole body; BodyTooLarge when it exceeds `limit`. An oversized body is read to its end (up to
 * DRAIN_LIMIT) and dropped, so the client receives the 413 instead of a write error.
 */
export async function readBody (req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const b = chunk as Buffer
    size += b.length
    if (size > Math.max(limit, DRAIN_LIMIT)) throw new BodyTooLarge('body too large')
    if (size <= limit) chunks.push(b)
  }
  if (size > limit) throw new BodyTooLarge('body too large')
  return Buffer.concat(chunks)
}

/**
 * How an injected fault ends a reply (GraphFaults.plan): 'resetAfter' destroys the socket instead of
 * answering, 'truncatedAfter' sends status and headers with half of the JSON body.
 */
export type ReplyFault = 'resetAfter' | 'truncatedAfter' | undefined

/** Thrown to destroy the socket without an answer (an injected resetBefore). */
export class ResetConnection extends Error {}

/** Writes `reply` as `send` does, or ends it the way `fault` says. */
export function sendFaulted (res: ServerResponse, reply: Reply, fault: ReplyFault): void {
  if (fault === 'resetAfter') {
    res.socket?.destroy()
    return
  }
  if (fault !== 'truncatedAfter' || (reply.body === undefined && reply.raw === undefined)) {
    send(res, reply)
    return
  }
  const whole = reply.raw?.data ?? Buffer.from(JSON.stringify(reply.body))
  const payload = whole.subarray(0, Math.floor(whole.length / 2))
  const headers: Record<string, string> = { ...reply.headers }
  headers['content-type'] ??=
    'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8'
  headers['content-length'] = String(payload.length)
  res.writeHead(reply.status, headers)
  res.end(payload)
}

export function send (res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers }
  if (reply.raw !== undefined) {
    headers['content-type'] = reply.raw.contentType
    headers['content-length'] = String(reply.raw.data.length)
    res.writeHead(reply.status, headers)
    res.end(reply.raw.data)
    return
  }
  if (reply.body === undefined) {
    headers['content-length'] = '0'
    res.writeHead(reply.status, headers)
    res.end()
    return
  }
  const payload = Buffer.from(JSON.stringify(reply.body))
  headers['content-type'] ??=
    'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8'
  headers['content-length'] = String(payload.length)
  res.writeHead(reply.status, headers)
  res.end(payload)
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
