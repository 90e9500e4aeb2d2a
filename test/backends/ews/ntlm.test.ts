/**
 * The EWS adapter's NTLM connections against a scripted loopback server whose handshake is the
 * EWS simulator's (src/simulators/ews/ntlm.ts) and whose other answers the test chooses: the
 * handshake stays on one socket, a server that forgets a connection gets a new handshake, and a
 * server offering no NTLM or only NTLMv1 is a configuration error naming auth.kind.
 */
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { Policy } from '../../../src/backends/policy.js'
import type { MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { ntlmStep, type NtlmConnectionState } from '../../../src/simulators/ews/ntlm.js'
import { ewsConfig } from '../../helpers/backends.js'
import { captureLogs, findSecrets, registerSecret } from '../../helpers/logs.js'

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
const alice: MailboxRef = { id: 'alice', address: 'alice@contoso.example', type: 'ews', kind: 'primary', backend: 'n' }
const PASSWORD = 'ntlm-Pa55-secret'
registerSecret(PASSWORD)
const accounts = [{ username: 'svc-ews', password: PASSWORD, impersonation: true }]

const folderMessage = '<GetFolderResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode>' +
  `<Folders><Folder xmlns="${T}"><FolderId Id="${Buffer.from('f').toString('base64')}"/>` +
  '<DisplayName>Inbox</DisplayName></Folder></Folders></GetFolderResponseMessage>'
/** A GetFolder answer for as many folder ids as the request names. */
const folderOk = (request: string): string =>
  '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
  `<GetFolderResponse xmlns="${M}"><ResponseMessages>` +
  folderMessage.repeat(Math.max(1, request.match(/<t:(Distinguished)?FolderId /g)?.length ?? 1)) +
  '</ResponseMessages></GetFolderResponse></soap:Body></soap:Envelope>'

interface Seen { socket: number, authorization?: string, bodyBytes: number }
const seen: Seen[] = []
const states = new Map<Socket, NtlmConnectionState & { id: number }>()
let sockets = 0
/** What the server does to a request; the default plays IIS with NTLM on. */
let behaviour: 'ntlm' | 'noNtlm' | 'v1Only' = 'ntlm'

function answer (req: IncomingMessage, res: ServerResponse, body: string): void {
  let state = states.get(req.socket)
  if (state === undefined) {
    state = { id: ++sockets }
    states.set(req.socket, state)
  }
  const header = req.headers.authorization
  seen.push({ socket: state.id, ...(header !== undefined ? { authorization: header } : {}), bodyBytes: body.length })
  if (behaviour === 'noNtlm') {
    const offered = ['Negotiate', 'Basic realm="mail.contoso.com"']
    res.writeHead(401, { 'www-authenticate': offered, 'content-length': 0 }).end()
    return
  }
  const ok = (): void => { res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(folderOk(body)) }
  if (header === undefined) {
    if (state.account !== undefined) { ok(); return }
    res.writeHead(401, { 'www-authenticate': 'NTLM', 'content-length': 0 }).end()
    return
  }
  const step = ntlmStep(header.replace(/^NTLM /, ''), state, accounts)
  if (step.step === 'challenge') {
    let challenge = step.header
    if (behaviour === 'v1Only') {
      // The same challenge without extended session security and target information (flags at offset 20).
      const msg = Buffer.from(challenge.slice(5), 'base64')
      msg.writeUInt32LE((msg.readUInt32LE(20) & ~0x00080000 & ~0x00800000) >>> 0, 20)
      challenge = `NTLM ${msg.toString('base64')}`
    }
    res.writeHead(401, { 'www-authenticate': challenge, 'content-length': 0 }).end()
    return
  }
  if (step.step === 'authenticated') { ok(); return }
  res.writeHead(401, { 'www-authenticate': 'NTLM', 'content-length': 0 }).end()
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => { answer(req, res, Buffer.concat(chunks).toString('utf8')) })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx`
t.teardown(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const logLines: string[] = []
const { logger } = captureLogs('debug', { redaction: false }, logLines)
const policy = new Policy({ baseDelayMs: 5, maxInlineDelayMs: 500 })
function backend (t: Test, password = PASSWORD): ReturnType<typeof createEwsBackend> {
  const b = createEwsBackend(ewsConfig('n', { url, auth: { kind: 'ntlm', username: 'CONTOSO\\svc-ews', password } }),
    { policy, logger })
  t.teardown(async () => { await b.close() })
  return b
}

t.beforeEach(() => {
  seen.length = 0
  behaviour = 'ntlm'
})

t.test('the handshake runs on one socket; later calls go on it without a header', async (t) => {
  const b = backend(t)
  for (let i = 0; i < 3; i++) t.equal((await b.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  const [negotiate, authenticate, ...later] = seen
  t.match(negotiate.authorization, /^NTLM TlRMTVNTUAAB/, 'Type 1 first')
  t.equal(negotiate.bodyBytes, 0, 'with an empty body: the envelope goes once')
  t.match(authenticate.authorization, /^NTLM TlRMTVNTUAAD/, 'then Type 3, with the request')
  t.ok(authenticate.bodyBytes > 0)
  t.equal(authenticate.socket, negotiate.socket, 'on the socket that got the challenge')
  t.same(later.map((s) => [s.socket, s.authorization]), [[negotiate.socket, undefined], [negotiate.socket, undefined]],
    'later calls: same socket, no header')
  t.same(findSecrets(logLines, [PASSWORD]), [], 'neither the password nor a Type 3 in the logs')
})

t.test('a server that no longer knows the connection (401 without a header) gets a new handshake', async (t) => {
  const b = backend(t)
  await b.getFolder(alice, { wellKnown: 'inbox' })
  for (const state of states.values()) state.account = undefined
  seen.length = 0
  t.equal((await b.getFolder(alice, { wellKnown: 'inbox' })).displayName, 'Inbox')
  t.same(seen.map((s) => s.authorization?.slice(0, 21)), [undefined, 'NTLM TlRMTVNTUAABAAAA', 'NTLM TlRMTVNTUAADAAAA'])
})

t.test('a wrong password: the Type 3 is refused once, a 502 naming the settings', async (t) => {
  const wrong = 'wrong-ntlm-secret'
  registerSecret(wrong)
  const b = backend(t, wrong)
  await t.rejects(b.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    upstreamCode: 'HTTP401',
    message: /NTLM .*backends\.n\.auth\.username .*backends\.n\.auth\.password/
  })
  t.equal(seen.filter((s) => s.authorization?.startsWith('NTLM TlRMTVNTUAAD') === true).length, 1)
  t.same(findSecrets(logLines, [wrong]), [])
})

t.test('a server offering no NTLM: 502 naming auth.kind and what it offers', async (t) => {
  behaviour = 'noNtlm'
  const b = backend(t)
  await t.rejects(b.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    message: /does not offer NTLM \(it offers Negotiate, Basic\).*backends\.n\.auth\.kind/
  })
  t.equal(seen.length, 1, 'not retried')
})

t.test('a challenge that allows only NTLMv1 is refused before any response is computed', async (t) => {
  behaviour = 'v1Only'
  const b = backend(t)
  await t.rejects(b.getFolder(alice, { wellKnown: 'inbox' }), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    message: /only NTLMv1/
  })
  t.same(seen.map((s) => s.authorization?.slice(0, 17)), ['NTLM TlRMTVNTUAAB'], 'no Type 3 sent')
})
