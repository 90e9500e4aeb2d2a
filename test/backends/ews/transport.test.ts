/**
 * Failure handling that the simulator cannot produce on demand: a scripted
 * loopback server answers each request with whatever the test says.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { ewsConfig, STUB_OAUTH } from '../../helpers/backends.js'
import { type MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { toPublicId } from '../../../src/backends/ews/ids.js'
import { captureLogs } from '../../helpers/logs.js'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
const alice: MailboxRef = { id: 'alice', address: 'alice@contoso.example', type: 'ews', kind: 'primary', backend: 'x' }
const ID = (n: number): string => Buffer.from(`item-number-${n}-xx`).toString('base64')

type Handler = (req: IncomingMessage & { body: string }, res: ServerResponse) => void
let handler: Handler = (_req, res) => { res.writeHead(500).end() }
const seen: Array<{ headers: IncomingMessage['headers'], body: string }> = []
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    seen.push({ headers: req.headers, body })
    handler(Object.assign(req, { body }), res)
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx`

const logLines: string[] = []
const { logger } = captureLogs('debug', { redaction: false }, logLines)
const policy = new Policy({ baseDelayMs: 5, maxInlineDelayMs: 500 })
// The default timeout (60 s): an answer that is merely slow on a busy machine is never taken for a stall.
const auth = { kind: 'basic', username: 'svc', password: 'Pa55-secret' } as const
const basic = createEwsBackend(ewsConfig('b', { url, auth, exportBatchSize: 3 }), { policy, logger })
// Only for a server that never answers: times out whatever the machine's load.
// 300 ms: below what a configuration may say (1 s), so set on the resolved settings.
const impatient = createEwsBackend({ ...ewsConfig('i', { url, auth }), timeoutMs: 300 }, { policy, logger })
t.teardown(async () => {
  await basic.close()
  await impatient.close()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const envelope = (body: string): string =>
  `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`
const fault = (code: string, values = ''): string =>
  envelope(
    '<soap:Fault><faultcode xmlns:a="' +
      T +
      `">a:${code}</faultcode><faultstring>upstream text with ${'Pa55-secret'}</faultstring>` +
      `<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${code}</e:ResponseCode><t:MessageXml xmlns:t="${T}">${values}</t:MessageXml></detail></soap:Fault>`
  )
const folderOk = (): string =>
  envelope(
    `<GetFolderResponse xmlns="${M}"><ResponseMessages><GetFolderResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode>` +
      `<Folders><Folder xmlns="${T}"><FolderId Id="${ID(1)}"/><DisplayName>Inbox</DisplayName></Folder></Folders></GetFolderResponseMessage></ResponseMessages></GetFolderResponse>`
  )
const reply = (status: number, body: string, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', ...headers }).end(body)
}
/** Answers the listed handlers in turn, then repeats the last. */
const sequence = (...handlers: Handler[]): Handler => {
  let i = 0
  return (req, res) => handlers[Math.min(i++, handlers.length - 1)](req, res)
}

t.beforeEach(() => { seen.length = 0 })

t.test('default namespaces and odd prefixes in responses are understood', async (t) => {
  handler = reply(200, folderOk())
  const f = await basic.getFolder(alice, { wellKnown: 'root' })
  t.equal(f.displayName, 'Inbox')
  t.equal(f.id, toPublicId(ID(1)))
})

t.test('request-level SOAP faults map to gateway errors', async (t) => {
  handler = reply(500, fault('ErrorServerBusy', '<t:Value Name="BackOffMilliseconds">2500</t:Value>'))
  await t.rejects(basic.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retry: 'safe',
    retryAfterMs: 2500,
    retryAfter: 3
  })
  t.equal(seen.length, 1, 'a back-off longer than the policy absorbs is not waited for')

  logLines.length = 0
  handler = reply(500, fault('ErrorSchemaValidation', '<t:LineNumber>1</t:LineNumber><t:Violation>bad</t:Violation>'))
  const err = await basic.getFolder(alice, { wellKnown: 'inbox' }).then(() => new Error('resolved'), (e: Error) => e)
  t.match(err, { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502, upstreamCode: 'ErrorSchemaValidation' })
  t.notMatch(err.message, 'Pa55-secret', 'upstream text is not copied')
  t.ok(logLines.some((l) => JSON.parse(l).level === 50 && l.includes('ErrorSchemaValidation')), 'logged at error')

  for (const [code, expected] of [
    ['ErrorNonExistentMailbox', 'MBG_ERR_MAILBOX_NOT_FOUND'],
    ['ErrorImpersonateUserDenied', 'MBG_ERR_ACCESS_DENIED'],
    ['ErrorAccessDenied', 'MBG_ERR_ACCESS_DENIED'],
    ['ErrorInvalidRequest', 'MBG_ERR_UPSTREAM_REJECTED']
  ]) {
    handler = reply(500, fault(code))
    await t.rejects(basic.getFolder(alice, { wellKnown: 'inbox' }), { code: expected, upstreamCode: code }, code)
  }
})

t.test('HTTP statuses: 429 and 503 honour Retry-After, 401 to Basic credentials names them', async (t) => {
  handler = sequence(reply(429, '', { 'retry-after': '0' }), reply(503, 'busy'), reply(200, folderOk()))
  t.equal((await basic.getFolder(alice, { wellKnown: 'root' })).displayName, 'Inbox')
  t.equal(seen.length, 3)
  handler = reply(429, '', { 'retry-after': '120' })
  await t.rejects(basic.getFolder(alice, { wellKnown: 'root' }), {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retryAfter: 120
  })
  handler = reply(401, '', { 'www-authenticate': 'Basic realm="x"' })
  await t.rejects(basic.getFolder(alice, { wellKnown: 'root' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    statusCode: 502,
    upstreamCode: 'HTTP401',
    message: /backends\.b\.auth\.username/
  })
  handler = reply(403, 'blocked')
  await t.rejects(basic.getFolder(alice, { wellKnown: 'root' }), { code: 'MBG_ERR_ACCESS_DENIED' })
})

t.test('oauth: a 401 is retried once with a freshly forced token', async (t) => {
  const asked: Array<boolean | undefined> = []
  const oauth = createEwsBackend(ewsConfig('o', { url, auth: STUB_OAUTH }), {
    policy,
    logger,
    tokenProvider: {
      getToken: async (o) => {
        asked.push(o?.forceRefresh)
        return o?.forceRefresh === true ? 'fresh-token' : 'stale-token'
      }
    }
  })
  t.teardown(async () => await oauth.close())
  handler = (req, res) =>
    req.headers.authorization === 'Bearer fresh-token' ? reply(200, folderOk())(req, res) : reply(401, '')(req, res)
  t.equal((await oauth.getFolder(alice, { wellKnown: 'root' })).displayName, 'Inbox')
  t.same(asked, [undefined, true])
  handler = reply(401, '')
  asked.length = 0
  await t.rejects(oauth.getFolder(alice, { wellKnown: 'root' }), { code: 'MBG_ERR_UPSTREAM_AUTH' })
  t.same(asked, [undefined, true], 'only one forced refresh per call')
})

t.test('unreadable bodies and timeouts are transient; non-idempotent calls are not replayed', async (t) => {
  handler = sequence(
    reply(200, folderOk().slice(0, 200) + '=== Truncated Data ==='),
    reply(200, '<html>gateway error</html>'),
    reply(200, folderOk())
  )
  t.equal((await basic.getFolder(alice, { wellKnown: 'root' })).displayName, 'Inbox')
  t.equal(seen.length, 3)

  // Attempts are counted by the policy, not by the server: on a busy machine a 300 ms attempt may
  // time out before the server has read it.
  handler = () => { /* never answers */ }
  let retries = policy.stats.retries
  await t.rejects(impatient.getFolder(alice, { wellKnown: 'root' }),
    { code: 'MBG_ERR_UPSTREAM_TIMEOUT', statusCode: 504 })
  t.equal(policy.stats.retries - retries, policy.options.maxAttempts - 1, 'idempotent call retried up to maxAttempts')

  seen.length = 0
  retries = policy.stats.retries
  const folderId = { id: toPublicId(ID(9)) }
  t.match(
    await collect(importItemsVia(impatient, alice, [{ folderId, mode: 'create', data: 'AQAA' }])),
    [{
      index: 0,
      error: { code: 'MBG_ERR_OUTCOME_UNKNOWN', status: 502, retryable: false, message: /did not answer in time/ }
    }],
    'an unknown outcome of that item, not an error for the request'
  )
  t.equal(policy.stats.retries - retries, 0, 'CreateNew is not replayed after a timeout')
  t.ok(seen.length <= 1, 'sent at most once')
})

t.test('export: positional correlation, Warning items retried alone, concurrency and order', async (t) => {
  const exportResponse = (messages: string[]): string =>
    envelope(
      `<m:ExportItemsResponse xmlns:m="${M}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:ExportItemsResponse>`
    )
  const ok = (id: string): string =>
    `<m:ExportItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ItemId Id="${id}" ChangeKey="CK"/><m:Data>\n  ${Buffer.from(id).toString('base64')}\n</m:Data></m:ExportItemsResponseMessage>`
  const bad = (cls: string, code: string, extra = ''): string =>
    `<m:ExportItemsResponseMessage ResponseClass="${cls}"><m:MessageText>x</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${extra}</m:ExportItemsResponseMessage>`
  const idsIn = (body: string): string[] => [...body.matchAll(/<t:ItemId Id="([^"]+)"/g)].map((m) => m[1])
  let inFlight = 0
  let maxInFlight = 0
  const attempts = new Map<string, number>()
  const alone: string[] = []
  handler = (req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const ids = idsIn(req.body)
    if (ids.length === 1) alone.push(ids[0])
    // Later chunks answer sooner, so order has to be restored by the adapter.
    const delay = ids.includes(ID(0)) ? 60 : 5
    setTimeout(() => {
      inFlight--
      const messages = ids.map((id) => {
        const n = (attempts.get(id) ?? 0) + 1
        attempts.set(id, n)
        if (id === ID(1)) {
          return bad(
            'Error',
            'ErrorServerBusy',
            '<m:MessageXml><t:Value xmlns:t="' + T + '" Name="BackOffMilliseconds">10</t:Value></m:MessageXml>'
          )
        }
        if (id === ID(2) && n === 1) return bad('Warning', 'ErrorBatchProcessingStopped')
        if (id === ID(4)) return bad('Error', 'ErrorAccessDenied')
        if (id === ID(5)) return bad('Error', 'ErrorInvalidChangeKey')
        return ok(id)
      })
      reply(200, exportResponse(messages))(req, res)
    }, delay)
  }
  const ids = Array.from({ length: 12 }, (_, i) => toPublicId(ID(i)))
  const before = { ...policy.stats }
  const results = await collect(exportItemsVia(basic, alice, ids))
  t.same(results.map((r) => r.itemId), ids, 'request order')
  t.same(
    results.map((r) => ('error' in r ? r.error.code : 'ok')),
    [
      'ok',
      'MBG_ERR_UPSTREAM_THROTTLED',
      'ok',
      'ok',
      'MBG_ERR_ITEM_NOT_FOUND',
      'MBG_ERR_CHANGE_KEY_INVALID',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok'
    ]
  )
  t.match((results[1] as { error: object }).error, { status: 503, retryAfter: 1, upstreamCode: 'ErrorServerBusy' })
  // Another mailbox's id is refused per message with ErrorAccessDenied: not found in this mailbox.
  t.match((results[4] as { error: object }).error, { status: 404, upstreamCode: 'ErrorAccessDenied' })
  t.equal(attempts.get(ID(1)), policy.options.maxAttempts, 'throttled item re-sent by the policy until it gives up')
  t.equal(attempts.get(ID(2)), 2, 'skipped item re-sent once')
  t.same(alone.sort(), [ID(1), ID(1), ID(1), ID(2)].sort(), 'only unprocessed items are re-sent, each alone')
  t.equal(
    policy.stats.retries - before.retries,
    policy.options.maxAttempts,
    'every re-send was a retry of the one policy'
  )
  t.equal(policy.stats.gaveUp - before.gaveUp, 1)
  t.equal(attempts.get(ID(4)), 1, 'permanent errors are not retried')
  t.equal(
    (results[0] as { data: string }).data,
    Buffer.from(ID(0)).toString('base64'),
    'line-wrapped data is unwrapped'
  )
  t.ok(maxInFlight > 1 && maxInFlight <= policy.options.concurrency, `chunks ran concurrently (${maxInFlight})`)

  // A response with the wrong number of messages cannot be correlated: reported, not guessed.
  handler = reply(200, exportResponse([ok(ID(0))]))
  await t.rejects(collect(exportItemsVia(basic, alice, [toPublicId(ID(0)), toPublicId(ID(3))])), {
    code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE'
  })
})

t.test('unprocessed items: the policy waits BackOffMilliseconds before re-sending, and passes a long one on',
  async (t) => {
    const exportResponse = (messages: string[]): string =>
      envelope(
        `<m:ExportItemsResponse xmlns:m="${M}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:ExportItemsResponse>`
      )
    const busy = (ms: number): string =>
      '<m:ExportItemsResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>ErrorServerBusy</m:ResponseCode>' +
      `<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:MessageXml><t:Value xmlns:t="${T}" Name="BackOffMilliseconds">${ms}</t:Value></m:MessageXml></m:ExportItemsResponseMessage>`
    const ok = (id: string): string =>
      `<m:ExportItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ItemId Id="${id}" ChangeKey="CK"/><m:Data>AQAA</m:Data></m:ExportItemsResponseMessage>`
    const idsIn = (body: string): string[] => [...body.matchAll(/<t:ItemId Id="([^"]+)"/g)].map((m) => m[1])
    // Order, not a stopwatch: each request records whether a timer as long as the back-off, set when the
    // server answered busy, has fired; timers of one length run in order, so it has exactly when the
    // policy waited the back-off before re-sending.
    const sent: Array<{ backOffElapsed: boolean }> = []
    let backOffElapsed = true
    let backOff = 150
    handler = (req, res) => {
      sent.push({ backOffElapsed })
      const ids = idsIn(req.body)
      // The batch: the second item is throttled; alone, it goes through.
      if (ids.length > 1) {
        backOffElapsed = false
        if (backOff < 1000) setTimeout(() => { backOffElapsed = true }, backOff)
      }
      reply(200, exportResponse(ids.length > 1 ? [ok(ids[0]), busy(backOff)] : [ok(ids[0])]))(req, res)
    }
    const results = await collect(exportItemsVia(basic, alice, [toPublicId(ID(1)), toPublicId(ID(2))]))
    t.same(results.map((r) => 'error' in r ? r.error.code : r.itemId), [toPublicId(ID(1)), toPublicId(ID(2))])
    t.equal(sent.length, 2)
    t.equal(sent[1].backOffElapsed, true, 're-sent after the server\'s back-off')

    // Longer than the policy absorbs (500 ms here): no re-send, the item carries Retry-After.
    sent.length = 0
    backOff = 30_000
    const stats = { ...policy.stats }
    const long = await collect(exportItemsVia(basic, alice, [toPublicId(ID(1)), toPublicId(ID(2))]))
    t.notOk('error' in long[0])
    t.match((long[1] as { error: object }).error, {
      code: 'MBG_ERR_UPSTREAM_THROTTLED',
      status: 503,
      retryAfter: 30,
      upstreamCode: 'ErrorServerBusy'
    })
    t.equal(sent.length, 1, 'not re-sent')
    // The policy sleeps only before a retry: none, and one give-up, means no wait.
    t.same({ retries: policy.stats.retries - stats.retries, gaveUp: policy.stats.gaveUp - stats.gaveUp },
      { retries: 0, gaveUp: 1 }, 'gave up without waiting')
  })

t.test('an untrusted https certificate: MBG_ERR_BACKEND_MISCONFIGURED naming tls.caFile, not retried', async (t) => {
  const tls = await loopbackCertificate()
  let requests = 0
  const https = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests++
    req.resume()
    req.on('end', () => { res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(folderOk()) })
  })
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    https.closeAllConnections()
    await new Promise<void>((resolve) => https.close(() => resolve()))
  })
  const endpoint = `https://127.0.0.1:${(https.address() as AddressInfo).port}/EWS/Exchange.asmx`
  const settings = { url: endpoint, auth: { kind: 'basic', username: 'svc', password: 'Pa55-secret' } }
  const untrusting = createEwsBackend(ewsConfig('onprem', settings), { policy, logger })
  t.teardown(async () => await untrusting.close())
  await t.rejects(untrusting.getFolder(alice, { wellKnown: 'root' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    statusCode: 502,
    upstreamCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    message: /does not trust .*backends\.onprem\.tls\.caFile/
  })
  t.equal(requests, 0, 'nothing was sent')
  const trusting = createEwsBackend(ewsConfig('onprem', settings, { ca: tls.ca }), { policy, logger })
  t.teardown(async () => await trusting.close())
  t.equal((await trusting.getFolder(alice, { wellKnown: 'root' })).displayName, 'Inbox', 'with the CA it works')
})

t.test('the adapter has no retry loop or timer of its own', async (t) => {
  const dir = new URL('../../../src/backends/ews/', import.meta.url)
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
  t.ok(files.length > 5)
  for (const f of files) {
    const source = readFileSync(new URL(f, dir), 'utf8')
    t.notMatch(source, /timers\/promises|setTimeout|\bsleep\(/, f)
  }
})

t.test('secrets never reach the logs', async (t) => {
  const all = logLines.join('\n')
  t.ok(logLines.some((l) => l.includes('"op":"GetFolder"') && l.includes('"status":')), 'calls are logged')
  t.notMatch(all, 'Pa55-secret')
  t.notMatch(all, Buffer.from('svc:Pa55-secret').toString('base64'))
  t.notMatch(all, 'fresh-token')
  t.notMatch(all, 'stale-token')
  t.notMatch(all, /authorization/i)
})
