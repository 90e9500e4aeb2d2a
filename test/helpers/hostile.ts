/**
 * A hostile backend for tests: a loopback HTTP(S) server that answers with whatever the
 * test scripts, including bodies of hundreds of MiB streamed lazily from one reused 1 MiB
 * buffer (written as the client reads, stopped when it hangs up), so the test process
 * never holds the body it sends; and the peak memory a piece of work cost.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { loopbackCertificate } from '../../src/simulators/tls.js'

export type HostileHandler = (req: IncomingMessage & { body: string }, res: ServerResponse) => void

export interface HostileServer {
  /** `http(s)://127.0.0.1:port` */
  origin: string
  /** Requests seen (method and path). */
  seen: Array<{ method: string, url: string }>
  /** What answers the next requests. */
  handler: HostileHandler
  /** Drops every open connection (answers still being written end there); the server goes on listening. */
  hangUp: () => void
  close: () => Promise<void>
}

/**
 * Starts the server; `https` uses the simulators' loopback certificate (trusted by a gateway built
 * with the simulators' CA, as test/helper.ts buildTestGateway builds it).
 */
export async function startHostile (options: { https?: boolean } = {}): Promise<HostileServer> {
  const state: HostileServer = {
    origin: '',
    seen: [],
    handler: (_req, res) => { res.writeHead(500).end() },
    hangUp: () => {},
    close: async () => {}
  }
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      state.seen.push({ method: req.method ?? '', url: req.url ?? '' })
      state.handler(Object.assign(req, { body: Buffer.concat(chunks).toString('utf8') }), res)
    })
  }
  let server: Server
  if (options.https === true) {
    const tls = await loopbackCertificate()
    server = createHttpsServer({ key: tls.key, cert: tls.cert }, listener) as unknown as Server
  } else {
    server = createHttpServer(listener)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.origin = `${options.https === true ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.hangUp = () => { server.closeAllConnections() }
  state.close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return state
}

const MiB = 1024 * 1024

/**
 * Writes `head`, then `fillBytes` bytes of `fill` (one ASCII character), then `tail`, honouring
 * back-pressure and stopping as soon as the client hangs up. No content-length: the reader has to count.
 */
export function streamHuge (res: ServerResponse, status: number, contentType: string, head: string,
  fillBytes: number, tail: string, fill = 'x'): void {
  const block = Buffer.alloc(MiB, fill)
  let left = fillBytes
  const state = { closed: false }
  res.on('close', () => { state.closed = true })
  res.writeHead(status, { 'content-type': contentType })
  res.write(head)
  const pump = (): void => {
    while (!state.closed && left > 0) {
      const n = Math.min(left, MiB)
      left -= n
      if (!res.write(n === MiB ? block : block.subarray(0, n))) { res.once('drain', pump); return }
    }
    if (!state.closed) res.end(tail)
  }
  pump()
}

/**
 * Writes headers and then one byte every `everyMs` until the client hangs up: an answer that never
 * ends, yet never idles long enough for a per-chunk (body) timeout.
 */
export function drip (res: ServerResponse, status = 200, everyMs = 100): void {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' })
  res.write('<')
  const timer = setInterval(() => { res.write(' ') }, everyMs)
  res.on('close', () => { clearInterval(timer) })
}

/**
 * How far `work` raised this process's peak resident set (`process.resourceUsage().maxRSS`), MiB: 0 when the
 * peak it reached was no higher than an earlier one. A peak, so it cannot miss a short spike.
 */
export async function peakGrowthMiB<T> (work: () => Promise<T>): Promise<{ value: T, growthMiB: number }> {
  globalThis.gc?.()
  const before = process.resourceUsage().maxRSS
  const value = await work()
  const after = process.resourceUsage().maxRSS
  return { value, growthMiB: Math.round((after - before) / 1024) }
}
