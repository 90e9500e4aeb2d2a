/**
 * HTTP front of the EWS simulator: POST /EWS/Exchange.asmx, SOAP 1.1 over plain
 * HTTP on loopback. Order per request: body size → auth → parse → fault knobs, then the
 * fault plan → SOAP headers (version, mailbox) → operation → faults that strike after acting.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino, type Logger } from 'pino'
import { authenticate, checkServerVersion, selectMailbox } from './auth.js'
import { EWS_FAULT_KINDS, FaultPlan, isPoisoned, type FaultDecision } from '../faults.js'
import { EwsFault } from './errors.js'
import type { NtlmConnectionState } from './ntlm.js'
import { OPERATIONS } from './operations/index.js'
import type { EwsFaultCounts, EwsFaults, EwsSimulator, EwsSimulatorOptions, EwsStats } from './types.js'
import { NS, child, parseXml, type XmlEl } from './xml.js'
import { envelope, faultXml } from './writer.js'

const PATH = '/ews/exchange.asmx'
/** Larger than Exchange's 25 MB UploadItems default, so the limit never hides a test bug. */
const MAX_BODY = 100 * 1024 * 1024
const TRUNCATION_MARKER = '=== Truncated Data ==='
const XML_TYPE = 'text/xml; charset=utf-8'

interface Parsed { op?: string, request?: XmlEl, header?: XmlEl, fault?: EwsFault }

/**
 * The body as text; `{ over }` when it exceeds `limit` (read to its end and dropped, so the client gets the
 * answer rather than a reset) or MAX_BODY (`drained: false`: reading stopped there).
 */
async function readBody (req: IncomingMessage, limit: number): Promise<string | { over: true, drained: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return { over: true, drained: false }
    if (size <= limit) chunks.push(chunk as Buffer)
  }
  if (size > limit) return { over: true, drained: true }
  return Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '')
}

/** Finds the operation element; every failure becomes an ErrorSchemaValidation fault. */
function parseEnvelope (xml: string): Parsed {
  try {
    const root = parseXml(xml)
    if (root.ns !== NS.soap || root.local !== 'Envelope') {
      throw EwsFault.schema(
        `The request failed schema validation: The root element must be Envelope in namespace '${NS.soap}', not '${root.local}' in '${root.ns}'.`
      )
    }
    const body = child(root, NS.soap, 'Body')
    const request = body?.children[0]
    if (request === undefined) {
      throw EwsFault.schema('The request failed schema validation: The SOAP Body has no operation element.')
    }
    const header = child(root, NS.soap, 'Header')
    const op = request.local
    if (request.ns !== NS.m) {
      return {
        op,
        fault: EwsFault.schema(
          `The request failed schema validation: The element '${op}' in namespace '${request.ns}' is not expected; operations are in namespace '${NS.m}'.`
        )
      }
    }
    if (OPERATIONS[op] === undefined) {
      return {
        op,
        fault: EwsFault.schema(
          `The request failed schema validation: The element '${op}' in namespace '${NS.m}' is not a supported operation.`
        )
      }
    }
    return { op, request, ...(header !== undefined ? { header } : {}) }
  } catch (err) {
    if (err instanceof EwsFault) return { fault: err }
    throw err
  }
}

/** Rewrites every RootFolder of a Find* answer to "more to come, next offset = the offset asked for". */
function stallPaging (body: string, request: XmlEl): string {
  const view = request.children.find((c) => c.ns === NS.m && /^IndexedPage(Item|Folder)View$/.test(c.local))
  const offset = /^\d+$/.test(view?.attrs.Offset ?? '') ? view?.attrs.Offset as string : '0'
  const rootFolder =
    /<m:RootFolder IndexedPagingOffset="\d+"( TotalItemsInView="\d+") IncludesLastItemInRange="(true|false)"/g
  return body.replace(rootFolder, `<m:RootFolder IndexedPagingOffset="${offset}"$1 IncludesLastItemInRange="false"`)
}

function emptyNtlmStats (): EwsStats['ntlm'] {
  return { challenges: 0, authenticated: 0, refused: 0, onBoundConnection: 0 }
}

export async function startEwsSimulator (options: EwsSimulatorOptions): Promise<EwsSimulator> {
  const log: Logger = options.logger ?? pino({ level: 'silent' })
  const faults: EwsFaults = {
    serverBusy: 0,
    backOffMs: 500,
    http503: 0,
    delayMs: 0,
    truncate: 0,
    reset: 0,
    stallPaging: 0,
    messages: [],
    plan: new FaultPlan(EWS_FAULT_KINDS, 'ews faults', options.faultPlan),
    oversizeAnswer: options.oversizeAnswer ?? 'http413',
    ...(options.poison !== undefined ? { poison: options.poison } : {}),
    ...(options.maxRequestBytes !== undefined ? { maxRequestBytes: options.maxRequestBytes } : {})
  }
  const stats: EwsStats = {
    requests: 0, byOperation: {}, inFlight: 0, maxInFlight: 0, faults: {}, ntlm: emptyNtlmStats()
  }
  /** NTLM is connection-based: each connection's handshake state and bound account. */
  const ntlmConnections = new WeakMap<Socket, NtlmConnectionState>()
  const ntlmState = (socket: Socket): NtlmConnectionState => {
    let state = ntlmConnections.get(socket)
    if (state === undefined) {
      state = {}
      ntlmConnections.set(socket, state)
    }
    return state
  }
  const count = (kind: keyof EwsFaultCounts): void => { stats.faults[kind] = (stats.faults[kind] ?? 0) + 1 }
  const host = options.host ?? '127.0.0.1'

  function send (res: ServerResponse, status: number, body: string,
    headers: Record<string, string | string[]> = {}): void {
    res.writeHead(status, { 'content-type': XML_TYPE, 'content-length': Buffer.byteLength(body), ...headers })
    res.end(body)
  }

  function unauthorized (res: ServerResponse, diagnostics: string | undefined): void {
    const challenges = [`Basic realm="${host}"`]
    if (options.verifyBearer !== undefined) {
      challenges.push(
        `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"${diagnostics !== undefined ? ', error="invalid_token"' : ''}`
      )
    }
    // As IIS with Windows authentication on: NTLM offered (Negotiate/Kerberos is not simulated).
    challenges.push('NTLM')
    res.writeHead(401, {
      'www-authenticate': challenges,
      'content-length': 0,
      ...(diagnostics !== undefined ? { 'x-ms-diagnostics': diagnostics } : {})
    })
    res.end()
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now()
    stats.requests++
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    res.once('close', () => { stats.inFlight-- })
    const path = (req.url ?? '').split('?')[0].toLowerCase()
    if (path !== PATH) {
      res.writeHead(404, { 'content-length': 0 }).end()
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-length': 0 }).end()
      return
    }
    const xml = await readBody(req, Math.min(faults.maxRequestBytes ?? MAX_BODY, MAX_BODY))
    if (typeof xml !== 'string') {
      if (faults.maxRequestBytes !== undefined) count('tooLarge')
      log.info({ limit: faults.maxRequestBytes ?? MAX_BODY }, 'ews request body too large')
      const close: Record<string, string> = xml.drained ? {} : { connection: 'close' }
      if (faults.oversizeAnswer === 'soapFault' && xml.drained) {
        send(res, 500, faultXml(new EwsFault('ErrorMessageSizeExceeded')), close)
      } else {
        res.writeHead(413, { 'content-length': 0, ...close }).end()
      }
      return
    }
    const header = req.headers.authorization
    const ntlmHeader = header !== undefined && /^ntlm /i.test(header)
    const caller = await authenticate(header, options, ntlmState(req.socket))
    if ('challenge' in caller) {
      stats.ntlm.challenges++
      // The first leg of the handshake: the Type 3 message must come on this same connection.
      res.writeHead(401, { 'www-authenticate': caller.challenge, 'content-length': 0 }).end()
      return
    }
    if ('failed' in caller) {
      if (ntlmHeader) stats.ntlm.refused++
      // Never the header itself: it holds a credential (Basic) or a proof of one (NTLM Type 3).
      log.info({ status: 401, bearer: caller.diagnostics !== undefined, ntlm: ntlmHeader }, 'ews auth failed')
      unauthorized(res, caller.diagnostics)
      return
    }
    if (caller.kind === 'ntlm') {
      if (ntlmHeader) stats.ntlm.authenticated++
      else stats.ntlm.onBoundConnection++
    }
    const parsed = parseEnvelope(xml)
    const op = parsed.op
    if (op !== undefined) stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1
    const applies = faults.only === undefined || (op !== undefined && faults.only.includes(op))
    const headers: Record<string, string> = { 'request-id': randomUUID(), 'x-feserver': 'EWSSIM01' }
    const clientRequestId = req.headers['client-request-id']
    if (typeof clientRequestId === 'string' && req.headers['return-client-request-id'] === 'true') {
      headers['client-request-id'] = clientRequestId
    }

    if (applies && faults.delayMs > 0) await sleep(faults.delayMs)
    // The count-down knobs first; when none of them strikes, the fault plan may.
    let planned: FaultDecision | undefined
    if (applies && faults.reset > 0) {
      faults.reset--
      planned = { kind: 'resetBefore', delayMs: 0, retryAfter: undefined, backOffMs: 0, status: 429 }
    } else if (applies && faults.http503 > 0) {
      faults.http503--
      planned = { kind: 'unavailable', delayMs: 0, retryAfter: undefined, backOffMs: 0, status: 503 }
    } else if (applies && faults.serverBusy > 0) {
      faults.serverBusy--
      planned = { kind: 'serverBusy', delayMs: 0, retryAfter: undefined, backOffMs: faults.backOffMs, status: 429 }
    } else if (op !== undefined && parsed.fault === undefined) {
      planned = faults.plan.decide(op)
    }
    const kind = planned?.kind
    if (planned !== undefined && kind !== 'truncatedAfter' && kind !== 'resetAfter') {
      count(planned.kind)
      log.info({ op, kind }, 'ews injected fault')
    }
    if (planned?.kind === 'slow') await sleep(planned.delayMs)
    if (kind === 'resetBefore') {
      req.socket.destroy()
      return
    }
    if (kind === 'unavailable') {
      res
        .writeHead(503, { 'content-type': 'text/html', ...headers })
        .end('<html><body><h1>Service Unavailable</h1></body></html>')
      return
    }
    if (planned?.kind === 'throttle') {
      const retry: Record<string, string> =
        planned.retryAfter !== undefined ? { 'retry-after': planned.retryAfter } : {}
      res.writeHead(planned.status, { 'content-length': 0, ...headers, ...retry }).end()
      return
    }
    let status = 200
    let body: string
    let acted = false
    try {
      if (planned?.kind === 'serverBusy') {
        throw new EwsFault('ErrorServerBusy', undefined, [['BackOffMilliseconds', String(planned.backOffMs)]])
      }
      if (kind === 'serverError') throw new EwsFault('ErrorInternalServerError')
      if (parsed.fault !== undefined) throw parsed.fault
      checkServerVersion(parsed.header)
      const ctx = {
        ...selectMailbox(options.store, caller, parsed.header),
        op: op as string,
        messageFaults: faults.messages,
        faults,
        poisoned: (item: { id: string, subject?: string }): boolean => {
          if (!isPoisoned(faults.poison, item)) return false
          count('poison')
          return true
        }
      }
      body = envelope(await OPERATIONS[op as string](ctx, parsed.request as XmlEl))
      acted = true
      if (applies && faults.stallPaging > 0 && (op === 'FindItem' || op === 'FindFolder')) {
        faults.stallPaging--
        count('stallPaging')
        log.info({ op }, 'ews fault: paging that does not advance')
        body = stallPaging(body, parsed.request as XmlEl)
      }
    } catch (err) {
      if (!(err instanceof EwsFault)) throw err
      status = 500
      body = faultXml(err)
      log.info({ op, code: err.code }, 'ews fault')
    }
    // Faults that strike after acting fire only when the operation answered (a request-level fault has nothing
    // to lose).
    if (acted && (kind === 'resetAfter' || kind === 'truncatedAfter')) {
      count(kind)
      log.info({ op, kind }, 'ews injected fault')
    }
    if (acted && kind === 'resetAfter') {
      req.socket.destroy()
      return
    }
    if (applies && faults.truncate > 0) {
      faults.truncate--
      count('truncatedAfter')
      body = body.slice(0, Math.floor(body.length / 2)) + TRUNCATION_MARKER
    } else if (acted && kind === 'truncatedAfter') {
      body = body.slice(0, Math.floor(body.length / 2)) + TRUNCATION_MARKER
    }
    send(res, status, body, headers)
    log.debug({ op, status, ms: Date.now() - started, bytes: body.length }, 'ews request')
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'ews simulator internal error')
      if (!res.headersSent) {
        send(
          res,
          500,
          faultXml(new EwsFault('ErrorInternalServerError', 'An internal server error occurred. The operation failed.'))
        )
      } else res.destroy()
    })
  })
  // Idle keep-alive connections live well past any client's reuse window (undici reuses for the server's hint
  // less 1 s): with Node's 5 s default, a client on a busy machine can send on a socket the server has just
  // closed ("other side closed"). close() ends every connection, so long-lived idle ones never pin it.
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}/EWS/Exchange.asmx`,
    faults,
    stats,
    resetStats () {
      stats.requests = 0
      stats.byOperation = {}
      stats.maxInFlight = stats.inFlight
      stats.faults = {}
      stats.ntlm = emptyNtlmStats()
    },
    async close () {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((err) => (err !== undefined ? reject(err) : resolve()))
      )
      // In-flight requests (e.g. a delayMs fault) must not keep the simulator alive.
      server.closeAllConnections()
      await closed
    }
  }
}
