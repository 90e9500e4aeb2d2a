/**
 * The adapter's HTTP layer against a scripted HTTPS upstream on loopback (real sockets):
 * behaviours the Graph simulator has no reason to produce (hostile redirects, loops,
 * stalls, resets). The token provider here is a counting stub: what is under test is
 * where tokens go and when a refresh is forced, not how tokens are obtained.
 */
import t from 'tap'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { GraphHttp, type GraphHttpOptions } from '../../../src/backends/graph/http.js'
import { captureLogs } from '../../helpers/logs.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function listen (tls: { key: string, cert: string },
  handler: Handler): Promise<{ server: Server, origin: string, seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = []
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => { seen.push(req); handler(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

t.test('http layer', async (t) => {
  const tls = await loopbackCertificate()
  const lines: string[] = []
  const { logger } = captureLogs('debug', { redaction: false }, lines)
  let routes: Record<string, Handler> = {}
  const graph = await listen(tls, (req, res) => {
    const h = routes[req.url ?? '']
    if (h !== undefined) h(req, res)
    else { res.statusCode = 404; res.end() }
  })
  const foreign = await listen(tls, (_req, res) => { res.end('{}') })
  t.teardown(() => {
    graph.server.closeAllConnections()
    graph.server.close()
    foreign.server.closeAllConnections()
    foreign.server.close()
  })
  const tokens = { calls: [] as boolean[], n: 0 }
  const options: GraphHttpOptions = {
    graphOrigin: graph.origin,
    ca: tls.ca,
    // Generous: an answer that is merely slow on a busy machine is never taken for a stall.
    timeoutMs: 60_000,
    maxRedirects: 3,
    logger,
    tokenProvider: {
      getToken: async (o) => {
        tokens.calls.push(o?.forceRefresh === true)
        return `tok-${++tokens.n}`
      }
    }
  }
  const http = new GraphHttp(options)
  // Only for an upstream that stalls: times out whatever the machine's load.
  const impatient = new GraphHttp({ ...options, timeoutMs: 400 })
  t.teardown(async () => { await http.close(); await impatient.close() })
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
  const redirect =
    (status: number, location: string): Handler =>
      (_req, res) => {
        res.writeHead(status, { location })
        res.end()
      }
  const get = async (path: string): Promise<unknown> =>
    (await http.graphJson({ method: 'GET', url: `${graph.origin}${path}`, subject: { kind: 'folder', ref: 'F' } })).body

  t.test('an origin whose certificate is not trusted: MBG_ERR_BACKEND_MISCONFIGURED naming tls.caFile', async (t) => {
    const untrusting = new GraphHttp({
      backend: 'exo',
      graphOrigin: graph.origin,
      timeoutMs: 400,
      maxRedirects: 3,
      logger,
      tokenProvider: { getToken: async () => 'tok' }
    })
    t.teardown(async () => await untrusting.close())
    routes = { '/x': json(200, {}) }
    graph.seen.length = 0
    const subject = { kind: 'other' as const, ref: 'x' }
    const graphCall = untrusting.graphJson({ method: 'GET', url: `${graph.origin}/x`, subject })
    await t.rejects(graphCall, {
      code: 'MBG_ERR_BACKEND_MISCONFIGURED',
      upstreamCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      message: /does not trust.*backends\.exo\.tls\.caFile/
    })
    // The import endpoint is another origin: the same certificate problem, the same setting.
    await t.rejects(untrusting.send('POST', `${foreign.origin}/import?authtoken=SECRET`, {}, '{}'), {
      code: 'MBG_ERR_BACKEND_MISCONFIGURED', message: /backends\.exo\.tls\.caFile/
    })
    t.equal(graph.seen.length, 0, 'nothing reached the server')
  })

  t.test('308 within the Graph origin is followed with the bearer, and logged', async (t) => {
    routes = { '/a': redirect(308, '/b'), '/b': json(200, { ok: 1 }) }
    graph.seen.length = 0
    t.same(await get('/a'), { ok: 1 })
    t.equal(graph.seen.length, 2)
    t.match(graph.seen[1].headers.authorization, /^Bearer tok-/)
    t.ok(lines.some((l) => l.includes('graph redirect') && l.includes('/b')), 'the hop is logged')
  })

  t.test('redirects off the Graph origin or to http are refused before any request', async (t) => {
    foreign.seen.length = 0
    routes = { '/x': redirect(308, `${foreign.origin}/steal`) }
    await t.rejects(get('/x'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
    routes = { '/y': redirect(307, graph.origin.replace('https:', 'http:') + '/plain') }
    await t.rejects(get('/y'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
    t.equal(foreign.seen.length, 0, 'the foreign host never saw a request (nor a token)')
    await t.rejects(
      http.graph({ method: 'GET', url: `${foreign.origin}/direct`, subject: { kind: 'other', ref: 'x' } }),
      { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' }
    )
    t.equal(foreign.seen.length, 0)
  })

  t.test('redirect loops and too many hops are detected', async (t) => {
    routes = { '/l1': redirect(308, '/l2'), '/l2': redirect(308, '/l1') }
    await t.rejects(get('/l1'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', message: /loop/ })
    routes = {
      '/h0': redirect(301, '/h1'),
      '/h1': redirect(302, '/h2'),
      '/h2': redirect(308, '/h3'),
      '/h3': redirect(308, '/h4'),
      '/h4': json(200, {})
    }
    await t.rejects(get('/h0'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', message: /redirects/ })
  })

  t.test('401 forces one token refresh, a second 401 is MBG_ERR_UPSTREAM_AUTH', async (t) => {
    let n = 0
    routes = {
      '/auth': (req, res) => {
        n++
        json(n === 1 ? 401 : 200, { seen: req.headers.authorization })(req, res)
      }
    }
    tokens.calls.length = 0
    t.match(await get('/auth'), { seen: /^Bearer tok-/ })
    t.same(tokens.calls, [false, true])
    routes = { '/deny': json(401, { error: { code: 'InvalidAuthenticationToken', message: 'expired' } }) }
    tokens.calls.length = 0
    await t.rejects(get('/deny'), { code: 'MBG_ERR_UPSTREAM_AUTH', upstreamCode: 'InvalidAuthenticationToken' })
    t.same(tokens.calls, [false, true])
  })

  t.test('a stalled upstream is MBG_ERR_UPSTREAM_TIMEOUT, a reset socket UNAVAILABLE; both idempotent-retryable',
    async (t) => {
      routes = { '/slow': () => { /* never answers */ } }
      const stalled = { method: 'GET', url: `${graph.origin}/slow`, subject: { kind: 'folder', ref: 'F' } } as const
      await t.rejects(impatient.graphJson(stalled), { code: 'MBG_ERR_UPSTREAM_TIMEOUT', retry: 'idempotent' })
      routes = { '/reset': (req) => { req.socket.destroy() } }
      await t.rejects(get('/reset'), { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'idempotent' })
    })

  t.test('the bearer token never reaches the log', async (t) => {
    t.notOk(lines.some((l) => /tok-\d/.test(l)), 'no token in logs')
  })
})
