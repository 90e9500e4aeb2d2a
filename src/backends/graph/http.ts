/**
 * The Graph adapter's HTTP layer: one undici Agent (trusting an extra CA when
 * configured), bearer tokens attached only for the Graph origin, manual redirects
 * (auxiliary archives answer 308), one forced token refresh on 401, and transport
 * failures mapped to MBG_ERR_* errors annotated for the retry policy.
 */
import { createSecureContext, rootCertificates } from 'node:tls'
import { Agent, request, type Dispatcher } from 'undici'
import type { Logger } from 'pino'
import {
  UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable, isGatewayError, type GatewayError
} from '../../errors.js'
import type { TokenProvider } from '../../auth/token-provider.js'
import { graphError, type Subject } from './errors.js'
import { annotate } from '../../upstream/errors.js'
import { certificateError } from '../../upstream/misconfiguration.js'
import { redactUrl } from '../../redact.js'
import { CallTimeout } from '../call-timeout.js'
import { capOf, DEFAULT_ANSWER_CAPS, readCappedBytes, type AnswerCaps } from '../../upstream/answer.js'
import { parseJsonBytes } from '../../json-bytes.js'
import { sendable, type PiecedBody } from '../../upstream/pieced-body.js'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /**
   * The body as bytes instead of `text` (which is then empty): a successful answer carrying item data
   * (`itemData`), parsed from its bytes by `graphJson` (src/json-bytes.ts).
   */
  bytes?: Buffer
  /** URL that finally answered (after redirects). */
  url: string
}

export interface GraphRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  body?: unknown
  headers?: Record<string, string>
  subject: Subject
  signal?: AbortSignal
  /** The answer carries item data (exportItems): the `dataBytes` cap applies, else `otherBytes`. */
  itemData?: boolean
}

export interface GraphHttpOptions {
  /** Name of the backend in the configuration document, for errors naming its settings. */
  backend?: string
  graphOrigin: string
  ca?: string
  timeoutMs: number
  maxRedirects: number
  tokenProvider: TokenProvider
  logger: Logger
  /** Caps on answers, enforced while reading (src/upstream/answer.ts); default DEFAULT_ANSWER_CAPS. */
  answerCaps?: AnswerCaps
}

const REDIRECTS = new Set([301, 302, 307, 308])

/** A request body written piece by piece (src/upstream/pieced-body.ts). */
export type { PiecedBody } from '../../upstream/pieced-body.js'

export class GraphHttp {
  readonly graphOrigin: string
  private readonly agent: Agent
  private readonly options: GraphHttpOptions

  constructor (options: GraphHttpOptions) {
    this.options = options
    this.graphOrigin = options.graphOrigin
    // `ca` replaces Node's trust store, so keep the public roots and add ours. The context is made once: given
    // as `ca`, the ~150 certificates would be parsed again for every new connection.
    const ca = options.ca !== undefined ? [...rootCertificates, options.ca] : undefined
    const secureContext = ca !== undefined ? createSecureContext({ ca }) : undefined
    this.agent = new Agent({
      connect: {
        ...(secureContext !== undefined ? { secureContext } : {}),
        timeout: Math.min(options.timeoutMs, 30_000)
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 10_000
    })
  }

  async close (): Promise<void> {
    await this.agent.close()
  }

  /**
   * One HTTP exchange without any Graph semantics (used for the import endpoint too). The answer is read
   * under a cap (`answerCaps`: `errorBytes` for a status outside 2xx, else `dataBytes` when `itemData`,
   * else `otherBytes`); past it, 502 MBG_ERR_UPSTREAM_BAD_RESPONSE naming the setting.
   */
  async send (method: string, url: string, headers: Record<string, string>, body: string | PiecedBody | undefined,
    signal?: AbortSignal, itemData = false): Promise<RawResponse> {
    const timeout = new CallTimeout(this.options.timeoutMs, signal)
    const started = Date.now()
    let res: Dispatcher.ResponseData
    try {
      const out = body !== undefined ? sendable(body, headers) : { headers }
      res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        ...out,
        dispatcher: this.agent,
        signal: timeout.signal
      })
      const kind = res.statusCode < 200 || res.statusCode >= 300 ? 'errorBytes' : itemData ? 'dataBytes' : 'otherBytes'
      const cap = capOf(this.options.backend ?? 'graph', this.options.answerCaps ?? DEFAULT_ANSWER_CAPS, kind)
      const where = `${method} ${redactUrl(url)} (HTTP ${res.statusCode})`
      const bytes = await readCappedBytes(res.body, res.headers['content-length'], cap, where)
      const keep = kind === 'dataBytes'
      if (this.options.logger.isLevelEnabled('debug')) {
        this.options.logger.debug(
          { method, url: redactUrl(url), status: res.statusCode, ms: Date.now() - started },
          'graph http'
        )
      }
      return keep
        ? { status: res.statusCode, headers: res.headers, text: '', bytes, url }
        : { status: res.statusCode, headers: res.headers, text: bytes.toString('utf8'), url }
    } catch (err) {
      // The caller went away: not an upstream failure, let the abort propagate as is.
      if (signal?.aborted === true || isGatewayError(err)) throw err
      throw this.transportError(err, method, url, timeout.timedOut)
    } finally {
      timeout.done()
    }
  }

  private transportError (err: unknown, method: string, url: string, timedOut: boolean): GatewayError {
    const code = (err as { code?: unknown })?.code
    const codeText = typeof code === 'string' ? code : (err as Error)?.name ?? 'error'
    const where = `${method} ${redactUrl(url)}`
    this.options.logger.debug({ method, url: redactUrl(url), code: codeText }, 'graph http failed')
    const origin = originOf(url)
    const untrusted = certificateError(err, {
      backend: this.options.backend ?? 'graph',
      origin,
      urlSetting: origin === this.graphOrigin ? 'graphUrl' : 'allowedImportHosts'
    })
    if (untrusted !== undefined) return untrusted
    if (timedOut || codeText === 'UND_ERR_HEADERS_TIMEOUT' || codeText === 'UND_ERR_BODY_TIMEOUT' ||
        codeText === 'UND_ERR_CONNECT_TIMEOUT' || codeText === 'TimeoutError' || codeText === 'ETIMEDOUT') {
      return annotate(new UpstreamTimeout(where), { retry: 'idempotent' })
    }
    return annotate(new UpstreamUnavailable(`${where}: ${codeText}`), { upstreamCode: codeText, retry: 'idempotent' })
  }

  /** True when the URL is on the Graph origin over https (the only place the bearer token may go). */
  isGraphUrl (url: URL): boolean {
    return url.protocol === 'https:' && url.origin === this.graphOrigin
  }

  /**
   * A Graph call: bearer token, manual redirects within the Graph origin, one forced
   * token refresh on 401. Returns 2xx responses; throws mapped errors otherwise.
   */
  async graph (req: GraphRequest): Promise<RawResponse> {
    let forced = false
    for (;;) {
      const token = await this.options.tokenProvider.getToken(forced ? { forceRefresh: true } : {})
      const res = await this.followRedirects(req, token)
      if (res.status === 401 && !forced) {
        forced = true
        this.options.logger.debug({ url: redactUrl(res.url) }, 'graph 401: refreshing the token once')
        continue
      }
      if (res.status >= 200 && res.status < 300) return res
      throw graphError(res.status, res.text, res.headers, req.subject)
    }
  }

  /** Graph call that parses a JSON body. */
  async graphJson<T> (req: GraphRequest): Promise<{ body: T, response: RawResponse }> {
    const response = await this.graph(req)
    if (response.text.length === 0 && (response.bytes?.length ?? 0) === 0) return { body: {} as T, response }
    try {
      // Item data (long plain `data` values) stays bytes of the answer: slices, never copied into strings.
      const body = response.bytes !== undefined
        ? parseJsonBytes(response.bytes, { data: (bytes) => bytes })
        : JSON.parse(response.text)
      return { body: body as T, response }
    } catch {
      // Cut-short answers (a failover mid-answer, a proxy) are transient: an idempotent call is sent again;
      // a write whose answer is unreadable is an unknown outcome (src/backends/policy.ts outcomeOf).
      const where = `${req.method} ${redactUrl(response.url)}`
      throw annotate(new UpstreamUnavailable(`unreadable (non-JSON) body from ${where}`),
        { retry: 'idempotent' })
    }
  }

  private async followRedirects (req: GraphRequest, token: string): Promise<RawResponse> {
    let url = new URL(req.url)
    const seen = new Set<string>()
    const body = req.body !== undefined ? JSON.stringify(req.body) : undefined
    for (let hop = 0; ; hop++) {
      if (!this.isGraphUrl(url)) {
        throw new UpstreamBadResponse(`refusing to send credentials outside the Graph origin: ${redactUrl(url)}`)
      }
      seen.add(url.href)
      const headers: Record<string, string> = {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...req.headers
      }
      const res = await this.send(req.method, url.href, headers, body, req.signal, req.itemData === true)
      if (!REDIRECTS.has(res.status)) return res
      const location = res.headers.location
      const target = Array.isArray(location) ? location[0] : location
      if (target === undefined) {
        throw new UpstreamBadResponse(`HTTP ${res.status} without Location from ${redactUrl(url)}`)
      }
      let next: URL
      try {
        next = new URL(target, url)
      } catch {
        throw new UpstreamBadResponse(`unparseable redirect Location ${redactUrl(target)}`)
      }
      if (next.protocol !== 'https:' || !this.isGraphUrl(next)) {
        throw new UpstreamBadResponse(`redirect to a foreign or insecure location refused: ${redactUrl(next)}`)
      }
      if (seen.has(next.href)) throw new UpstreamBadResponse(`redirect loop at ${redactUrl(next)}`)
      if (hop + 1 > this.options.maxRedirects) {
        throw new UpstreamBadResponse(`more than ${this.options.maxRedirects} redirects from ${redactUrl(req.url)}`)
      }
      this.options.logger.debug(
        { status: res.status, from: redactUrl(url), to: redactUrl(next), hop: hop + 1 },
        'graph redirect'
      )
      url = next
    }
  }
}

function originOf (url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid url)'
  }
}
