/**
 * NTLM on the EWS simulator, over real loopback connections: each undici Client below is one
 * keep-alive TCP connection. Type 1 → 401 with a Type 2 challenge; a Type 3 whose NTLMv2
 * response proves the account's password binds the account to that connection (later requests
 * need no header); anything else is a 401. Messages are built with @node-ntlm/core; the
 * exchangelib interop test drives the same server with an independent client (requests_ntlm).
 */
import t, { type Test } from 'tap'
import { createType1Message, createType3Message, parseType2Message, type Type2Message } from '@node-ntlm/core'
import { Client } from 'undici'
import { ALICE, dfid, envelope, harness, m, messages, shape, type Harness } from './ews-test-client.js'

const getInbox = m('GetFolder', shape('FolderShape', 'Default') + m('FolderIds', dfid('inbox')))
const EXTENDED_SESSIONSECURITY = 0x00080000
const TARGET_INFO = 0x00800000

interface Answer { status: number, challenges: string[], text: string }

/** One connection to the simulator. */
function connection (t: Test, h: Harness): { send: (authorization?: string) => Promise<Answer> } {
  const url = new URL(h.sim.url)
  const client = new Client(url.origin, { pipelining: 1 })
  t.teardown(async () => { await client.close() })
  let sockets = 0
  client.on('connect', () => { sockets++ })
  return {
    async send (authorization?: string): Promise<Answer> {
      const res = await client.request({
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          ...(authorization !== undefined ? { authorization } : {})
        },
        body: envelope(getInbox, { impersonate: ALICE })
      })
      const text = await res.body.text()
      const header = res.headers['www-authenticate']
      t.equal(sockets, 1, 'still the one connection')
      return { status: res.statusCode, challenges: header === undefined ? [] : [header].flat(), text }
    }
  }
}

function type2Of (answer: Answer): Type2Message {
  const challenge = answer.challenges.find((c) => /^NTLM \S/.test(c))
  if (challenge === undefined) throw new Error(`no NTLM challenge in ${JSON.stringify(answer.challenges)}`)
  return parseType2Message(challenge)
}

const names = { domain: 'CONTOSO', workstation: 'TESTHOST' }
const type3 = (type2: Type2Message, username: string, password: string, domain = 'CONTOSO'): string =>
  createType3Message(type2, { domain, workstation: 'TESTHOST', username, password })

t.test('Type 1 → 401 with an NTLMv2 challenge; a verified Type 3 binds the account to the connection', async (t) => {
  const h = await harness(t)
  const c = connection(t, h)
  const none = await c.send()
  t.equal(none.status, 401)
  t.ok(none.challenges.includes('NTLM'), 'NTLM is offered next to Basic')

  const negotiate = await c.send(createType1Message(names))
  t.equal(negotiate.status, 401)
  const type2 = type2Of(negotiate)
  t.equal(type2.serverChallenge.length, 8)
  t.ok(type2.negotiateFlags & EXTENDED_SESSIONSECURITY, 'extended session security')
  t.ok(type2.negotiateFlags & TARGET_INFO, 'target information: clients answer NTLMv2')
  t.equal(type2.targetName.toString('utf16le'), 'CONTOSO')

  const authenticated = await c.send(type3(type2, 'svc-ews', 'svc-secret-1'))
  t.equal(authenticated.status, 200, authenticated.text)
  t.equal(messages(authenticated.text, 'GetFolder')[0].Folders.Folder[0].DisplayName, 'Inbox')

  for (let i = 0; i < 2; i++) {
    const later = await c.send()
    t.equal(later.status, 200, 'a later request on that connection needs no header')
  }
  t.same(h.sim.stats.ntlm, { challenges: 1, authenticated: 1, refused: 0, onBoundConnection: 2 })

  const other = connection(t, h)
  t.equal((await other.send()).status, 401, 'another connection is not authenticated')

  // A second handshake draws a new server challenge.
  const again = type2Of(await other.send(createType1Message(names)))
  t.notSame(again.serverChallenge, type2.serverChallenge)
})

t.test('a user principal name with an empty domain, as Windows and requests_ntlm send it', async (t) => {
  const h = await harness(t)
  const c = connection(t, h)
  const type2 = type2Of(await c.send(createType1Message({ domain: '', workstation: 'TESTHOST' })))
  const res = await c.send(type3(type2, 'svc-ews', 'svc-secret-1', ''))
  t.equal(res.status, 200, 'a bare user name with no domain')

  const d = connection(t, h)
  const type2b = type2Of(await d.send(createType1Message({ domain: '', workstation: 'TESTHOST' })))
  // alice may not impersonate: the request acts as her (ErrorImpersonateUserDenied proves who it is).
  const alice = await d.send(type3(type2b, 'alice@contoso.example', 'alice-secret-1', ''))
  t.equal(alice.status, 500)
  t.match(alice.text, /ErrorImpersonateUserDenied/)
})

t.test('wrong password, unknown user, foreign domain, NTLMv1 and a replayed Type 3 get 401', async (t) => {
  const h = await harness(t)
  const attempts: Array<[string, (type2: Type2Message) => string]> = [
    ['wrong password', (type2) => type3(type2, 'svc-ews', 'svc-secret-2')],
    ['unknown user', (type2) => type3(type2, 'nobody', 'svc-secret-1')],
    ['foreign domain', (type2) => type3(type2, 'svc-ews', 'svc-secret-1', 'FABRIKAM')],
    ['NTLMv1 (no extended security, no target info)', (type2) => {
      const v1Only = type2.negotiateFlags & ~EXTENDED_SESSIONSECURITY & ~TARGET_INFO
      return type3({ ...type2, negotiateFlags: v1Only, targetInfo: undefined }, 'svc-ews', 'svc-secret-1')
    }],
    ['not an NTLM message', () => 'NTLM bm90IG50bG0=']
  ]
  for (const [name, make] of attempts) {
    const c = connection(t, h)
    const type2 = type2Of(await c.send(createType1Message(names)))
    const res = await c.send(make(type2))
    t.equal(res.status, 401, name)
    t.equal((await c.send()).status, 401, `${name}: the connection stays unauthenticated`)
  }
  t.equal(h.sim.stats.ntlm.refused, attempts.length)
  t.equal(h.sim.stats.ntlm.authenticated, 0)

  // A Type 3 answers its own challenge once: replayed on another connection, or again on its own, it fails.
  const c = connection(t, h)
  const good = type3(type2Of(await c.send(createType1Message(names))), 'svc-ews', 'svc-secret-1')
  t.equal((await c.send(good)).status, 200)
  t.equal((await c.send(good)).status, 401, 'the same Type 3 again on its connection')
  const d = connection(t, h)
  t.equal((await d.send(good)).status, 401, 'the Type 3 on a connection that was never challenged')
})

t.test('Basic still works, and a Basic request on an NTLM connection is judged by its header', async (t) => {
  const h = await harness(t)
  const c = connection(t, h)
  const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
  t.equal((await c.send(basic('svc-ews', 'svc-secret-1'))).status, 200)
  t.equal((await c.send()).status, 401, 'Basic does not bind a connection')
  const type2 = type2Of(await c.send(createType1Message(names)))
  t.equal((await c.send(type3(type2, 'svc-ews', 'svc-secret-1'))).status, 200)
  t.equal((await c.send(basic('svc-ews', 'wrong'))).status, 401)
})
