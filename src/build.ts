/**
 * Builds the Fastify instance around the app plugin: server options, logger,
 * request ids and validation settings. Used by the server, the tests and the
 * OpenAPI generator alike.
 */
import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import Fastify, { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import { Ajv, type Options as AjvOptions } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import app, { type AppOptions } from './app.js'
import type { BackendRouter } from './backends/router.js'
import type { CallerAuthenticator } from './access/authenticator.js'
import { isStrictBase64 } from './base64.js'
import { closeStalledReaders } from './send-stall.js'
import { NOT_PARSED, parseJsonBytes, standInData } from './json-bytes.js'
import { lengthKeywords } from './string-length.js'
import { SHARED_SCHEMAS } from './schemas/index.js'
import { BadRequest, UnsupportedMediaType } from './errors.js'
import { buildProblem } from '../plugins/app/problem-details.js'
import { drain } from './shutdown.js'

export interface BuildOptions {
  router: BackendRouter
  /** See AppOptions.authenticator. */
  authenticator: CallerAuthenticator
  /** See AppOptions.auditLog. */
  auditLog?: AppOptions['auditLog']
  /**
   * TRUST_PROXY: 'false' (default), 'true', a hop count, or comma-separated proxy addresses/CIDRs (Fastify
   * `trustProxy`): which X-Forwarded-For entries give `request.ip` (audit log, rate limits).
   */
  trustProxy?: string
  mode: 'demo' | 'configured'
  logger: Logger
  maxBatchItems?: number
  maxExportAnswerBytes?: number
  bodyLimit?: number
  requestTimeoutMs?: number
  /** SEND_STALL_TIMEOUT_MS: close a connection whose client stopped reading its answer (src/send-stall.ts). */
  sendStallMs?: number
  /** See AppOptions.upstreamDeadlineMs (UPSTREAM_DEADLINE_MS). */
  upstreamDeadlineMs?: number
  crossBackendImport?: 'allow' | 'deny'
  docsUi?: boolean
  underPressure?: AppOptions['underPressure']
  pageTokenSecret?: string
  /** See AppOptions.backendChecks (default on). */
  backendChecks?: AppOptions['backendChecks']
  /**
   * See AppOptions.idempotency. The in-memory store's lease (how long an unfinished request holds its
   * Idempotency-Key) defaults to the request timeout here.
   */
  idempotency?: AppOptions['idempotency']
  /** See AppOptions.metrics (default: a fresh instance). */
  metrics?: AppOptions['metrics']
  /** See AppOptions.stop: the server's stop signal (src/shutdown.ts); default never fires. */
  stop?: AbortSignal
  /** See AppOptions.jobs (default: in memory, run in this process). */
  jobs?: AppOptions['jobs']
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** TRUST_PROXY as Fastify takes it. */
function trustProxySetting (value: string | undefined):
boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^[0-9]+$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/**
 * Bodies are validated strictly (a string is not an array, a number not a name);
 * only querystrings and path parameters, which arrive as text, are coerced.
 */
function validator (coerce: boolean): Ajv {
  const options: AjvOptions = {
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    allErrors: false,
    strict: false
  }
  const ajv = new Ajv(options)
  addFormats.default(ajv)
  // ajv-formats' own `byte` regex overflows V8's regex stack on multi-megabyte strings.
  ajv.addFormat('byte', isStrictBase64)
  // The same minLength/maxLength, deciding from .length where it can: no count of every character of item data.
  ajv.removeKeyword('minLength')
  ajv.removeKeyword('maxLength')
  ajv.addKeyword(lengthKeywords)
  for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema)
  return ajv
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's body carries item data (`data` members of megabytes of base64): long plain ones are kept as
     * bytes of the body read and stand in as short strings through validation (src/json-bytes.ts
     * `standInData`); the handler swaps them back with `itemData`.
     */
    itemData?: boolean
  }
}

/** The first byte of a UTF-8 byte order mark: such a body goes to Fastify's parser, which skips the mark. */
const UTF8_BOM = 0xef
/**
 * Text that sends a body to Fastify's own parser instead, which scans for prototype keys (secure-json-parse looks
 * for `"__proto__":` and `"constructor":`, each letter plain or a \\u escape, with two regular expressions over the
 * whole text: a few ms per MB of item data). Text holding neither name and no \\u escape cannot hold such a key.
 * Looked for outside the lifted item data only (src/json-bytes.ts `giveUpOn`): the item data is plain base64, so
 * a 133 MB body is not searched three times over.
 */
const NOT_PLAIN = ['__proto__', 'constructor', '\\u'] as const

/**
 * Reads a request body as Fastify's own reader does (413 FST_ERR_CTP_BODY_TOO_LARGE past `limit`, at once when
 * Content-Length says so; 400 FST_ERR_CTP_INVALID_CONTENT_LENGTH when the body is not as long as it said; a
 * stream error as a 400). With `preallocate` (a route whose body carries item data) or a small declared length,
 * into one buffer of the declared length, allocated up front: collecting the chunks and joining them at the end
 * would hold a body of item data twice. Other bodies are collected as they come, so that a Content-Length alone
 * (up to the body limit, with no body sent) does not make the gateway reserve that much memory.
 */
function readBody (payload: NodeJS.ReadableStream & { receivedEncodedLength?: number },
  contentLength: string | undefined, limit: number, preallocate: boolean,
  done: (err: Error | null, bytes: Buffer) => void): void {
  const declared = Number(contentLength)
  if (declared > limit) { done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), EMPTY); return }
  const into = Number.isSafeInteger(declared) && declared > 0 && (preallocate || declared <= PREALLOCATE_ANY)
    ? Buffer.allocUnsafe(declared)
    : undefined
  const chunks: Buffer[] = []
  let received = 0
  let filled = 0
  const stop = (): void => {
    payload.removeListener('data', onData)
    payload.removeListener('end', onEnd)
    payload.removeListener('error', onEnd)
  }
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (received + bytes.length > limit || (payload.receivedEncodedLength ?? 0) > limit) {
      stop()
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), EMPTY)
      return
    }
    // Once a chunk does not fit (a preParsing stream that changed the length), the rest is collected.
    if (into !== undefined && chunks.length === 0 && received + bytes.length <= into.length) {
      bytes.copy(into, received)
      filled = received + bytes.length
    } else chunks.push(bytes)
    received += bytes.length
  }
  const onEnd = (err?: Error & { statusCode?: number }): void => {
    stop()
    if (err !== undefined && err !== null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
      done(err, EMPTY)
      return
    }
    if (!Number.isNaN(declared) && (payload.receivedEncodedLength ?? received) !== declared) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), EMPTY)
      return
    }
    // A body as long as declared filled `into` exactly; else the chunks, copied (never a view over the socket's
    // read buffer), after what `into` holds.
    if (into !== undefined && chunks.length === 0 && filled === into.length) { done(null, into); return }
    if (into !== undefined && filled > 0) chunks.unshift(into.subarray(0, filled))
    done(null, Buffer.concat(chunks, received))
  }
  payload.on('data', onData)
  payload.on('end', onEnd)
  payload.on('error', onEnd)
  payload.resume()
}

const EMPTY = Buffer.alloc(0)
/** Bodies up to this many bytes are read into one buffer of their declared length on any route. */
const PREALLOCATE_ANY = 1024 * 1024
/**
 * The largest JSON body of a route that carries no item data (a batch of ids at MAX_BATCH_ITEMS of 1,024
 * characters each is about 1 MiB): larger ones are refused with 413 before they are read, so that such routes do
 * not take BODY_LIMIT_BYTES (meant for imports) from any caller.
 */
export const SMALL_BODY_LIMIT = 4 * 1024 * 1024

function problemBody (status: number, detail: string): string {
  return JSON.stringify({
    type: 'urn:mailbox-gateway:problem:bad-request',
    title: status === 408 ? 'Request Timeout' : 'Bad Request',
    status,
    detail,
    code: 'MBG_ERR_BAD_REQUEST'
  })
}

/**
 * How many Host header lines a request has. RFC 9112 section 3.2: a server must answer 400 to an HTTP/1.1
 * request without Host and to any request with more than one Host line; Node only checks the former, and
 * answers it without a body, so the gateway checks both itself.
 */
function hostLines (rawHeaders: string[]): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === 'host') n++
  return n
}

export async function buildGateway (options: BuildOptions): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 128 * 1024 * 1024,
    requestTimeout: options.requestTimeoutMs ?? 300_000,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    // While closing, src/shutdown.ts answers new requests with a 503 problem and Retry-After, and closes each
    // connection once its answer is written; idle ones are closed at once.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: 'x-request-id',
    trustProxy: trustProxySetting(options.trustProxy),
    // Errors raised before routing (malformed URLs) and at the socket level (unknown methods,
    // bad framing) are problem+json too.
    frameworkErrors (error, request, reply) {
      const raw = reply as unknown as { code: (n: number) => { type: (t: string) => { send: (b: unknown) => void } } }
      raw
        .code(400)
        .type('application/problem+json')
        .send(buildProblem(request, 400, 'MBG_ERR_BAD_REQUEST', error.message))
    },
    clientErrorHandler (error, socket) {
      if (!socket.writable) return
      // Node's own answer to a request not received within requestTimeout is a 408 (RFC 9110 section 15.5.9).
      const timedOut = (error as { code?: string }).code === 'ERR_HTTP_REQUEST_TIMEOUT'
      const body = timedOut
        ? problemBody(408, 'The request was not received in full within REQUEST_TIMEOUT_MS')
        : problemBody(400, 'The request could not be parsed as HTTP')
      socket.end(
        `HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
      )
    },
    // Node would answer a missing Host with a bare 400; the onRequest hook below answers it (and two) as a problem.
    http: { requireHostHeader: false },
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const strict = validator(false)
  const coercing = validator(true)
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))

  // DELETE and GET sent with a JSON content type but no body (common with curl aliases) are fine.
  const json = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset would be read as something else.
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(String(request.headers['content-type']))?.[1]
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      done(new UnsupportedMediaType(`application/json; charset=${charset.slice(0, 40)}: JSON bodies are UTF-8 ` +
        '(RFC 8259); send the body in UTF-8, with charset=utf-8 or none'), undefined)
      return
    }
    const itemData = request.routeOptions.config.itemData === true
    const routeLimit = request.routeOptions.bodyLimit ?? fastify.initialConfig.bodyLimit ?? 0
    // Only bodies that carry item data may be large; every other JSON body (ids, a folder, a job) is small.
    const limit = itemData ? routeLimit : Math.min(routeLimit, SMALL_BODY_LIMIT)
    readBody(payload, request.headers['content-length'], limit, itemData,
      (err, bytes) => { if (err !== null) done(err, undefined); else parseJsonBody(request, bytes, done) })
  })
  const parseJsonBody = (request: FastifyRequest, bytes: Buffer,
    done: (err: Error | null, body?: unknown) => void): void => {
    if (bytes.length === 0 && (request.method === 'DELETE' || request.method === 'GET')) {
      done(null, undefined)
      return
    }
    // Bytes that are not UTF-8 would be read with U+FFFD in their place: a name or subject silently altered.
    if (!isUtf8(bytes)) {
      done(new BadRequest('the body is not UTF-8 (RFC 8259 §8.1): a byte sequence is not a UTF-8 character; send ' +
        'the JSON encoded as UTF-8'), undefined)
      return
    }
    let value: unknown = NOT_PARSED
    if (bytes.length > 0 && bytes[0] !== UTF8_BOM) {
      try {
        // Item data (long base64 strings) is copied out of the bytes once, not decoded into a text first; on a
        // route whose body carries item data, not copied at all (kept as slices of `bytes`). Text that could poison
        // a prototype, or holds an escape, goes to Fastify's own parser (secure-json-parse), which checks it.
        if (request.routeOptions.config.itemData !== true) {
          value = parseJsonBytes(bytes, { giveUpOn: NOT_PLAIN })
        } else {
          const standIn = standInData()
          value = parseJsonBytes(bytes, { data: standIn.data, giveUpOn: NOT_PLAIN })
          if (value !== NOT_PARSED) value = standIn.adopt(value)
        }
      } catch {
        value = NOT_PARSED // not JSON: the default parser says so, as it always does
      }
    }
    // `done` outside the try: what it runs must not be taken for a parse error (and `done` called twice).
    if (value !== NOT_PARSED) done(null, value)
    else json(request, bytes.toString('utf8'), done)
  }

  fastify.addHook('onRequest', async (request, reply) => {
    if (!REQUEST_ID.test(String(request.id))) (request as { id: string }).id = randomUUID()
    reply.header('x-request-id', request.id)
    const hosts = hostLines(request.raw.rawHeaders)
    if (hosts > 1 || (hosts === 0 && request.raw.httpVersion === '1.1')) {
      throw new BadRequest(`an HTTP/1.1 request needs exactly one Host header; it has ${hosts}`)
    }
  })
  // The gateway reads bodies as sent: a coded one (gzip, …) would be taken for its compressed bytes. RFC 9110
  // section 8.4: a content coding the server does not accept is a 415.
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    const coding = String(request.headers['content-encoding'] ?? '').trim().toLowerCase()
    const headers = request.headers
    const body = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0
    if (body && coding !== '' && coding !== 'identity') {
      throw new UnsupportedMediaType(`Content-Encoding ${coding.slice(0, 40)}: bodies are taken uncompressed; send ` +
        'it without a content coding')
    }
    return payload
  })
  drain(fastify as unknown as FastifyInstance)
  closeStalledReaders(fastify as unknown as FastifyInstance, options.sendStallMs ?? 120_000)

  await fastify.register(fp(app, { name: 'mailbox-gateway' }), {
    router: options.router,
    authenticator: options.authenticator,
    ...(options.auditLog !== undefined ? { auditLog: options.auditLog } : {}),
    mode: options.mode,
    maxBatchItems: options.maxBatchItems ?? 100,
    ...(options.maxExportAnswerBytes !== undefined ? { maxExportAnswerBytes: options.maxExportAnswerBytes } : {}),
    crossBackendImport: options.crossBackendImport ?? 'deny',
    docsUi: options.docsUi ?? true,
    ...(options.underPressure !== undefined ? { underPressure: options.underPressure } : {}),
    ...(options.backendChecks !== undefined ? { backendChecks: options.backendChecks } : {}),
    ...(options.pageTokenSecret !== undefined ? { pageTokenSecret: options.pageTokenSecret } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    ...(options.stop !== undefined ? { stop: options.stop } : {}),
    ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
    ...(options.upstreamDeadlineMs !== undefined ? { upstreamDeadlineMs: options.upstreamDeadlineMs } : {}),
    idempotency: { leaseMs: options.requestTimeoutMs ?? 300_000, ...options.idempotency }
  })
  return fastify as unknown as FastifyInstance
}
