/**
 * One place that turns every error into RFC 9457 application/problem+json:
 * MBG_ERR_* errors keep their status and code, request validation and body
 * parsing failures become 400/413/415, anything unexpected becomes an opaque 500
 * (logged with its stack, never shown).
 */
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  BadRequest,
  isGatewayError,
  Overloaded,
  RouteNotFound,
  TooLarge,
  UnsupportedMediaType
} from '../../src/errors.js'
import type { ProblemT } from '../../src/schemas/common.js'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage'
}

const TOO_LARGE = new TooLarge('').code
const UNSUPPORTED_MEDIA_TYPE = new UnsupportedMediaType('').code
const BAD_REQUEST = new BadRequest('').code

/** Fastify's own client-error codes and what they mean for callers. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: BAD_REQUEST,
  FST_ERR_CTP_INVALID_JSON_BODY: BAD_REQUEST
}

export function problemType (code: string): string {
  return `urn:mailbox-gateway:problem:${code.replace(/^MBG_ERR_/, '').toLowerCase().replace(/_/g, '-')}`
}

export function buildProblem (request: FastifyRequest, status: number, code: string, detail: string | undefined,
  extra: Partial<ProblemT> = {}): ProblemT {
  return {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail !== undefined ? { detail } : {}),
    instance: request.url.split('?')[0],
    code,
    requestId: String(request.id),
    ...extra
  }
}

export function sendProblem (reply: FastifyReply, problem: ProblemT): FastifyReply {
  if (problem.retryAfter !== undefined) reply.header('retry-after', String(problem.retryAfter))
  return reply.code(problem.status).type('application/problem+json').send(problem)
}

function validationErrors (error: FastifyError): Array<{ path: string, message: string }> {
  // A union of literals (TypeBox Type.Union of Type.Literal: anyOf of const) fails once per literal and once for
  // the anyOf: said once, with the values it takes.
  const all = error.validation ?? []
  const allowed = new Map<string, unknown[]>()
  for (const v of all) {
    if (v.keyword !== 'const') continue
    const list = allowed.get(v.instancePath) ?? []
    list.push((v.params as { allowedValue?: unknown }).allowedValue)
    allowed.set(v.instancePath, list)
  }
  const said = new Set<string>()
  const merged = all.flatMap((v) => {
    const values = allowed.get(v.instancePath)
    if (values === undefined || (v.keyword !== 'const' && v.keyword !== 'anyOf')) return [v]
    if (said.has(v.instancePath)) return []
    said.add(v.instancePath)
    const message = values.length === 1
      ? `must be ${JSON.stringify(values[0])}`
      : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`
    return [{ ...v, keyword: 'enum', params: {}, message }]
  })
  return merged.map((v) => {
    const missing = v.params as { missingProperty?: string, additionalProperty?: string } | undefined
    let path = `/${error.validationContext ?? 'body'}${v.instancePath}`
    if (missing?.missingProperty !== undefined) path += `/${missing.missingProperty}`
    if (missing?.additionalProperty !== undefined) path += `/${missing.additionalProperty}`
    const message = missing?.additionalProperty !== undefined ? 'is not allowed' : (v.message ?? 'is invalid')
    return { path, message }
  })
}

async function problemDetails (fastify: FastifyInstance): Promise<void> {
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (reply.raw.destroyed || request.raw.socket?.destroyed === true) {
      // The caller went away (its work was cancelled): nobody to answer, and not a gateway fault.
      // routes/mailbox/hooks.ts logged the caller going away; this is the cancelled work's error.
      request.log.debug({ errName: error.name, errCode: error.code }, 'cancelled: the caller went away')
      return reply.code(499).send()
    }
    if (error.validation !== undefined) {
      const errors = validationErrors(error)
      return sendProblem(
        reply,
        buildProblem(
          request,
          400,
          'MBG_ERR_BAD_REQUEST',
          `Request ${error.validationContext ?? 'body'} is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
          { errors }
        )
      )
    }
    if (isGatewayError(error)) {
      const status = error.statusCode ?? 500
      if (status >= 500) request.log.warn({ err: error }, 'request failed upstream')
      const internal = error.code === 'MBG_ERR_INTERNAL'
      return sendProblem(reply, buildProblem(request, status, error.code, internal ? undefined : error.message, {
        ...(error.upstreamCode !== undefined ? { upstreamCode: error.upstreamCode } : {}),
        ...(error.upstreamRequestId !== undefined ? { upstreamRequestId: error.upstreamRequestId } : {}),
        ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {})
      }))
    }
    if (error.code === 'FST_UNDER_PRESSURE') {
      // @fastify/under-pressure sheds load: tell callers when to come back.
      const err = new Overloaded('too many requests in progress or event loop saturated')
      return sendProblem(
        reply,
        buildProblem(request, 503, err.code, err.message, { retryAfter: Number(reply.getHeader('retry-after') ?? 10) })
      )
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500
    if (status >= 400 && status < 500) {
      const code =
        FASTIFY_CODES[error.code] ??
        (status === 413 ? TOO_LARGE : status === 415 ? UNSUPPORTED_MEDIA_TYPE : BAD_REQUEST)
      let message = error.message
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        // Name what the route takes: the media types of its body schema, else JSON.
        const body = request.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined
        const content = body?.content
        const accepted = content !== undefined ? Object.keys(content) : ['application/json']
        const sent = String(request.headers['content-type'] ?? '(none)').slice(0, 80)
        message = `Content-Type ${sent} is not taken here; send ${accepted.join(', ')}`
      }
      return sendProblem(
        reply,
        buildProblem(request, status === 413 || status === 415 ? status : 400, code, message)
      )
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(reply, buildProblem(request, 500, 'MBG_ERR_INTERNAL', undefined))
  })

  fastify.setNotFoundHandler((request, reply) => {
    const err = new RouteNotFound(request.method, request.url.split('?')[0])
    return sendProblem(reply, buildProblem(request, 404, err.code, err.message))
  })
}

export default fp(problemDetails, { name: 'problem-details', fastify: '5.x' })
