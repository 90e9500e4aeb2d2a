/**
 * The HTTP side of the EWS adapter: one undici Pool per endpoint origin (NTLM: connections
 * of its own, src/backends/ews/ntlm.ts), SOAP POSTs with auth, routing and tracing headers,
 * and translation of every transport or protocol failure into an annotated MBG_ERR_* error
 * for the retry policy.
 */
import { randomUUID } from 'node:crypto'
import { Pool, type Dispatcher } from 'undici'
import type { Logger } from 'pino'
import type { TokenProvider } from '../../auth/token-provider.js'
import {
  AccessDenied, TooLarge, UpstreamAuth, UpstreamBadResponse, UpstreamThrottled, UpstreamTimeout, UpstreamUnavailable,
  isGatewayError, type GatewayError
} from '../../errors.js'
import { annotate, parseRetryAfter } from '../../upstream/errors.js'
import { capOf, DEFAULT_ANSWER_CAPS, readCappedBytes, type AnswerCaps } from '../../upstream/answer.js'
import { basicAuthError, certificateError, ntlmAuthError } from '../../upstream/misconfiguration.js'
import { errorForCode, faultIsolates, faultMayHaveWritten, OUR_BUG_CODES } from './errors.js'
import { NtlmConnections } from './ntlm.js'
import { CallTimeout } from '../call-timeout.js'
import { buildEnvelope, parseEnvelope, type ParsedEnvelope } from './soap/envelope.js'
import { sendable, type PiecedBody } from '../../upstream/pieced-body.js'
import { MAX_XML_DEPTH, NS, XmlTooDeep, type XmlBody, type XmlNode } from './soap/xml.js'

export interface EwsClientConfig {
  name: string
  url: string
  /** NTLM: `username` is DOMAIN\\user or user@domain. */
  auth: { kind: 'basic' | 'ntlm', username: string, password: string } | { kind: 'oauth' }
  serverVersion: string
  impersonation: boolean
  timeoutMs: number
  tls?: { ca?: string, rejectUnauthorized?: boolean }
  userAgent: string
  /** Caps on answers, enforced while reading (src/upstream/answer.ts); default DEFAULT_ANSWER_CAPS. */
  answerCaps?: AnswerCaps
}

export interface CallOptions {
  signal?: AbortSignal
  /**
   * The answer carries item data (GetItem with MIME content, GetAttachment): read under the `dataBytes` cap, not
   * `otherBytes` (ExportItems always is).
   */
  itemData?: boolean
  /**
   * The request carries the caller's item data (CreateItem from MIME or a property set): a fault about data blames
   * it (ErrorMessageSizeExceeded → 413), as for UploadItems.
   */
  callerData?: boolean
}

const TRUNCATED = '=== Truncated Data ==='
/** Operations whose request carries many items (a refusal of the whole may be one item's doing). */
const BATCH_OPS = new Set(['ExportItems', 'UploadItems'])

// Failures where the request certainly never reached the server: any call may be retried.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH'
])
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

export class EwsClient {
  private readonly pools = new Map<string, Pool>()
  private ntlmConnections: NtlmConnections | undefined
  private readonly endpoint: URL

  constructor (
    private readonly config: EwsClientConfig,
    private readonly logger: Logger,
    private readonly tokenProvider?: TokenProvider
  ) {
    this.endpoint = new URL(config.url)
  }

  /**
   * Sends one operation for one mailbox and returns the `m:<op>Response` element.
   * `bodyXml` is the serialized body element (prefixes t:/m:, declared on the envelope), whole or in pieces.
   */
  async call (op: string, mailbox: string, bodyXml: XmlBody, options: CallOptions = {}): Promise<XmlNode> {
    const envelope = buildEnvelope(bodyXml, {
      serverVersion: this.config.serverVersion,
      ...(this.config.impersonation ? { impersonate: mailbox } : {})
    })
    let response = await this.post(op, mailbox, envelope, options, false)
    if (response.status === 401 && this.config.auth.kind === 'oauth') {
      // The token may have been revoked or expired early: one retry with a fresh one.
      response = await this.post(op, mailbox, envelope, options, true)
    }
    return this.interpret(op, mailbox, response, options.callerData === true)
  }

  async close (): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    const ntlm = this.ntlmConnections
    this.ntlmConnections = undefined
    await Promise.all([...pools.map(async (p) => await p.close()), ntlm?.close()])
  }

  /** Timeouts and TLS settings of every connection to the endpoint. */
  private connectionOptions (): Pool.Options {
    const tls = this.config.tls
    return {
      headersTimeout: this.config.timeoutMs,
      bodyTimeout: this.config.timeoutMs,
      ...(tls !== undefined
        ? {
            connect: {
              ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
              ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {})
            }
          }
        : {})
    }
  }

  private pool (): Pool {
    const origin = this.endpoint.origin
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, this.connectionOptions())
      this.pools.set(origin, pool)
    }
    return pool
  }

  /** Sends one SOAP POST: on NTLM-authenticated connections, else through the pool with `authorization`. */
  private async dispatch (headers: Record<string, string>, envelope: string | PiecedBody, signal: AbortSignal,
    authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const path = this.endpoint.pathname + this.endpoint.search
    const auth = this.config.auth
    if (auth.kind === 'ntlm') {
      this.ntlmConnections ??= new NtlmConnections({
        backend: this.config.name,
        username: auth.username,
        password: auth.password,
        origin: this.endpoint.origin,
        client: this.connectionOptions()
      })
      return await this.ntlmConnections.request({ path, headers, body: envelope, signal })
    }
    const send = sendable(envelope, authorization !== undefined ? { ...headers, authorization } : headers)
    return await this.pool().request({ path, method: 'POST', headers: send.headers, body: send.body, signal })
  }

  private async authorization (forceRefresh: boolean): Promise<string> {
    const auth = this.config.auth
    if (auth.kind === 'ntlm') throw new Error('NTLM authenticates connections, not requests')
    if (auth.kind === 'basic') {
      return 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`,
        'utf8').toString('base64')
    }
    if (this.tokenProvider === undefined) throw new UpstreamAuth('no token provider configured')
    try {
      return 'Bearer ' + await this.tokenProvider.getToken(forceRefresh ? { forceRefresh: true } : {})
    } catch (err) {
      // A configuration problem (untrusted authority certificate, rejected secret) says which
      // setting to fix; its message holds no secret (src/auth/msal-token-provider.ts redacts).
      if (isGatewayError(err) && err.code === 'MBG_ERR_BACKEND_MISCONFIGURED') throw err
      // Other token endpoint trouble: report as an auth problem but never echo what it said.
      this.logger.warn(
        { err: { name: (err as Error).name, code: (err as { code?: unknown }).code } },
        'EWS token acquisition failed'
      )
      // The token provider's own errors already say what failed (refused, throttled, unreachable: AADSTS code,
      // retry hint; secrets redacted), as the Graph adapter passes them on: keep them.
      if (isGatewayError(err)) throw err
      // Nothing was sent to EWS yet: any call may be retried.
      throw annotate(new UpstreamAuth('could not obtain an access token'), { retry: 'safe' })
    }
  }

  private async post (op: string, mailbox: string, envelope: string | PiecedBody, options: CallOptions,
    forceRefresh: boolean): Promise<RawResponse> {
    const started = performance.now()
    const clientRequestId = randomUUID()
    // NTLM authenticates the connection (src/backends/ews/ntlm.ts), not each request.
    const authorization = this.config.auth.kind === 'ntlm' ? undefined : await this.authorization(forceRefresh)
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      accept: 'text/xml',
      'user-agent': this.config.userAgent,
      'client-request-id': clientRequestId,
      'return-client-request-id': 'true',
      soapaction: `"${NS.m}/${op}"`
    }
    if (this.config.impersonation) headers['x-anchormailbox'] = mailbox
    const timeout = new CallTimeout(this.config.timeoutMs, options.signal)
    try {
      const res = await this.dispatch(headers, envelope, timeout.signal, authorization)
      // EWS answers 200 or, with a SOAP fault, 500 (ews.md §1); only ExportItems carries item data.
      const data = op === 'ExportItems' || options.itemData === true
      const kind = res.statusCode !== 200 ? 'errorBytes' : data ? 'dataBytes' : 'otherBytes'
      const cap = capOf(this.config.name, this.config.answerCaps ?? DEFAULT_ANSWER_CAPS, kind)
      const body = await readCappedBytes(res.body, res.headers['content-length'], cap, `${op} (HTTP ${res.statusCode})`)
      const requestId = header(res.headers['request-id'])
      this.logger.debug(
        {
          op,
          mailbox,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          requestId,
          clientRequestId
        },
        'EWS call'
      )
      return { status: res.statusCode, body, requestId, retryAfter: header(res.headers['retry-after']) }
    } catch (err) {
      const ms = Math.round(performance.now() - started)
      const code = (err as { code?: unknown }).code
      this.logger.debug(
        { op, mailbox, status: 0, ms, clientRequestId, errCode: code },
        'EWS call failed'
      )
      if (options.signal?.aborted === true) throw err
      // The NTLM handshake's own findings (no NTLM offered, NTLMv1 only, an unreadable challenge), and a capped answer.
      if (isGatewayError(err)) throw err
      const peer = { backend: this.config.name, origin: this.endpoint.origin, urlSetting: 'url' }
      const untrusted = certificateError(err, peer)
      if (untrusted !== undefined) throw untrusted
      if (timeout.timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
        throw annotate(new UpstreamTimeout(`${op} after ${this.config.timeoutMs} ms`), { retry: 'idempotent' })
      }
      const notSent = typeof code === 'string' && NOT_SENT_CODES.has(code)
      throw annotate(new UpstreamUnavailable(`${op}: connection failed${typeof code === 'string' ? ` (${code})` : ''}`),
        { retry: notSent ? 'safe' : 'idempotent' })
    } finally {
      timeout.done()
    }
  }

  private interpret (op: string, mailbox: string, res: RawResponse, callerData: boolean): XmlNode {
    const extras = res.requestId !== undefined ? { upstreamRequestId: res.requestId } : {}
    const retryAfterMs = parseRetryAfter(res.retryAfter)
    const hinted = { retryAfterMs }
    switch (res.status) {
      case 401:
        // Basic and NTLM credentials come from the configuration only: a 401 means they are wrong there.
        if (this.config.auth.kind === 'basic') throw basicAuthError(this.config.name, res.requestId)
        if (this.config.auth.kind === 'ntlm') throw ntlmAuthError(this.config.name, res.requestId)
        throw annotate(new UpstreamAuth(`${this.config.name} answered 401`), extras)
      case 403:
        // EXO answers 403 when EWS is blocked for the app, tenant or licence (ews.md §1): not retryable.
        throw annotate(new AccessDenied(`EWS access blocked for ${mailbox}`), { ...extras, upstreamCode: 'HTTP403' })
      case 413:
        // Refused before it was read: nothing done. For a batch, one large item may be the cause.
        throw annotate(new TooLarge(`${op} request body`), { ...extras, isolate: BATCH_OPS.has(op) })
      case 429:
        throw annotate(new UpstreamThrottled(`${op}: HTTP 429`), { ...extras, ...hinted, retry: 'safe' })
      case 503:
        throw annotate(new UpstreamUnavailable(`${op}: HTTP 503`), { ...extras, ...hinted, retry: 'safe' })
    }
    if (res.status !== 200 && res.status !== 500) {
      if (res.status >= 500) {
        throw annotate(new UpstreamUnavailable(`${op}: HTTP ${res.status}`), {
          ...extras,
          ...hinted,
          retry: 'idempotent'
        })
      }
      throw annotate(new UpstreamBadResponse(`${op}: HTTP ${res.status}`), extras)
    }
    let parsed: ParsedEnvelope
    try {
      if (res.body.includes(TRUNCATED)) throw new Error('truncated')
      parsed = parseEnvelope(res.body)
    } catch (err) {
      // A document nested that deep is no failover artefact: the same answer would come again.
      if (err instanceof XmlTooDeep) {
        throw annotate(new UpstreamBadResponse(`${op}: XML nested deeper than ${MAX_XML_DEPTH} elements`), extras)
      }
      // Failovers produce truncated or non-XML bodies; Microsoft says treat them as transient (ews.md §1).
      throw annotate(new UpstreamUnavailable(`${op}: unreadable response (HTTP ${res.status})`), {
        ...extras,
        retry: 'idempotent'
      })
    }
    if (parsed.fault !== undefined) {
      throw this.faultError(op, mailbox, parsed.fault.code, parsed.fault.values, extras, callerData)
    }
    const body = parsed.body as XmlNode
    if (res.status !== 200 || body.ns !== NS.m || body.local !== `${op}Response`) {
      throw annotate(new UpstreamBadResponse(`${op}: unexpected ${body.local}`), extras)
    }
    return body
  }

  private faultError (op: string, mailbox: string, code: string, values: Record<string, string>,
    extras: { upstreamRequestId?: string }, callerData: boolean): GatewayError {
    if (OUR_BUG_CODES.has(code)) {
      // Our request was wrong: a bug to fix, not an outage. Values hold line/position, never secrets.
      this.logger.error(
        { op, mailbox, upstreamCode: code, detail: values },
        'EWS rejected a request the adapter built'
      )
    }
    // UploadItems and CreateItem carry the caller's item data: a fault about data blames it (e.g.
    // ErrorMessageSizeExceeded → 413).
    const dataFrom = op === 'UploadItems' || callerData ? { dataFrom: 'caller' as const } : {}
    const error = errorForCode(code, { about: 'request', subject: op, address: mailbox, values, ...dataFrom })
    const isolate = faultIsolates(op, code)
    // A server-side failure (or, on UploadItems, a fault that may follow written items) is sent again when the call
    // is idempotent; a write is then an unknown outcome (src/backends/policy.ts outcomeOf). An isolating fault is
    // split instead.
    const transient = !isolate && (code === 'ErrorInternalServerError' || faultMayHaveWritten(op, code))
    return annotate(error, {
      ...extras,
      ...(isolate ? { isolate: true } : {}),
      ...(transient ? { retry: 'idempotent' as const } : {})
    })
  }
}

/** An answer as read: `body` is its bytes (a BOM dropped), parsed as such (soap/xml.ts parseXml). */
interface RawResponse { status: number, body: Buffer, requestId?: string, retryAfter?: string }

function header (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
