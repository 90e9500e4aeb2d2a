/**
 * Caller authentication and authorization (README "Security model"): API keys and bearer JWTs from the
 * identity simulator (real tokens, fetched over HTTPS), scopes per route, mailbox allow-lists, key expiry
 * and rotation without a restart.
 */
import t from 'tap'
import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import { SignJWT, generateKeyPair } from 'jose'
import type { Test } from 'tap'
import { buildTestGateway, json, MAILBOXES, TEST_API_KEY, type TestGateway } from '../helper.js'
import { clientCredentialsToken } from '../helpers/tokens.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { DEMO_CREDENTIALS, GATEWAY_RESOURCE } from '../../src/simulators/index.js'
import type { AuthSettings } from '../../src/config.js'

const READER_KEY = generateApiKey()
const ALICE_ONLY_KEY = generateApiKey()
const EXPIRING_KEY = generateApiKey()
const PARTIAL_APP = { clientId: '7a1e2b3c-0000-4000-8000-00000000a001', clientSecret: 'partial-app-secret' }
const STRANGER_APP = { clientId: '7a1e2b3c-0000-4000-8000-00000000a002', clientSecret: 'stranger-app-secret' }
const KEY_EXPIRES = Date.parse('2030-01-01T00:00:00Z')

let clock = Date.now()

function addClients (auth: AuthSettings): void {
  auth.clients.push(
    {
      name: 'reader',
      apiKeys: [{ id: 'r1', sha256: hashApiKey(READER_KEY) }],
      appIds: [],
      scopes: ['mailboxes:read'],
      mailboxes: ['*']
    },
    {
      name: 'alice-only',
      apiKeys: [{ id: 'a1', sha256: hashApiKey(ALICE_ONLY_KEY) }],
      appIds: [],
      scopes: ['mailboxes:read', 'items:export', 'items:import', 'folders:write'],
      mailboxes: [MAILBOXES.ews.primary]
    },
    {
      name: 'expiring',
      apiKeys: [{ id: 'e1', sha256: hashApiKey(EXPIRING_KEY), expires: new Date(KEY_EXPIRES).toISOString() }],
      appIds: [],
      scopes: ['mailboxes:read'],
      mailboxes: ['*']
    },
    {
      name: 'partial-app',
      apiKeys: [],
      appIds: [PARTIAL_APP.clientId],
      scopes: ['mailboxes:read', 'items:export', 'items:import', 'folders:write'],
      mailboxes: ['*@contoso.example', '*']
    }
  )
}

async function gateway (t: Test): Promise<TestGateway> {
  return await buildTestGateway(t, {
    credentials: false,
    auth: addClients,
    authNow: () => clock,
    extraApps: [
      { ...PARTIAL_APP, roles: { [GATEWAY_RESOURCE]: ['mailboxes:read'] } },
      { ...STRANGER_APP, roles: { [GATEWAY_RESOURCE]: ['mailboxes:read', 'items:export'] } }
    ]
  })
}

const IMPORT = { items: [{ folderId: 'inbox', mode: 'create', data: 'AAAA' }] }

const PROTECTED: Array<{ method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object }> = [
  { method: 'GET', url: '/mailboxes' },
  { method: 'GET', url: `/mailboxes/${MAILBOXES.ews.primary}` },
  { method: 'GET', url: `/mailboxes/${MAILBOXES.ews.primary}/folders` },
  { method: 'GET', url: `/mailboxes/${MAILBOXES.ews.primary}/folders/inbox` },
  { method: 'POST', url: `/mailboxes/${MAILBOXES.ews.primary}/folders`, payload: { displayName: 'x' } },
  { method: 'PATCH', url: `/mailboxes/${MAILBOXES.ews.primary}/folders/x`, payload: { displayName: 'y' } },
  { method: 'DELETE', url: `/mailboxes/${MAILBOXES.ews.primary}/folders/x` },
  { method: 'GET', url: `/mailboxes/${MAILBOXES.graph.primary}/folders/inbox/items` },
  { method: 'POST', url: `/mailboxes/${MAILBOXES.ews.primary}/items:export`, payload: { itemIds: ['a'] } },
  { method: 'POST', url: `/mailboxes/${MAILBOXES.ews.primary}/items:import`, payload: { items: [] } },
  { method: 'GET', url: '/metrics' },
  { method: 'GET', url: '/no/such/route' }
]

t.test('without a credential every route but the probes is a 401 problem, before any work', async (t) => {
  const { app, sims } = await gateway(t)
  const before = { ews: sims.ews.stats.requests, graph: sims.graph.stats.requests }
  for (const r of PROTECTED) {
    const res = await app.inject({
      method: r.method, url: r.url, ...(r.payload !== undefined ? { payload: r.payload } : {})
    })
    t.equal(res.statusCode, 401, `${r.method} ${r.url}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(json(res).code, 'MBG_ERR_UNAUTHENTICATED')
    t.match(res.headers['www-authenticate'], /^Bearer realm="mailbox-gateway"/)
    t.notMatch(res.headers['www-authenticate'], /error=/, 'no error code when no credential was sent (RFC 6750 3.1)')
  }
  t.same({ ews: sims.ews.stats.requests, graph: sims.graph.stats.requests }, before, 'no backend call was made')
  for (const url of ['/health/live', '/health']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url} needs no credential`)
  }
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.not(ready.statusCode, 401, '/health/ready needs no credential')
})

t.test('API keys: a known key lets in, an unknown, malformed, doubled or expired one does not', async (t) => {
  const { app } = await gateway(t)
  const ok = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': TEST_API_KEY } })
  t.equal(ok.statusCode, 200)
  t.equal(json(ok).mailboxes.length, 7, 'four mailboxes and three archives')
  for (const [name, headers] of [
    ['unknown key', { 'x-api-key': generateApiKey() }],
    ['empty key', { 'x-api-key': '' }],
    ['garbage', { 'x-api-key': '\u00ff'.repeat(3000) }],
    ['key and bearer both', { 'x-api-key': TEST_API_KEY, authorization: 'Bearer abc.def.ghi' }],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`demo:${TEST_API_KEY}`).toString('base64')}` }],
    ['key as bearer', { authorization: `Bearer ${TEST_API_KEY}` }]
  ] as const) {
    const res = await app.inject({ method: 'GET', url: '/mailboxes', headers })
    t.equal(res.statusCode, 401, name)
    t.equal(json(res).code, 'MBG_ERR_UNAUTHENTICATED', name)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, name)
  }
  const twice = await app.inject({
    method: 'GET', url: '/mailboxes', headers: { 'x-api-key': [TEST_API_KEY, TEST_API_KEY] as unknown as string }
  })
  t.equal(twice.statusCode, 401, 'two X-API-Key headers')

  clock = KEY_EXPIRES - 1000
  const before = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': EXPIRING_KEY } })
  t.equal(before.statusCode, 200, 'the key works until it expires')
  clock = KEY_EXPIRES
  const after = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': EXPIRING_KEY } })
  t.equal(after.statusCode, 401)
  t.match(json(after).detail, /API key e1 has expired/)
  clock = Date.now()
})

t.test('bearer tokens from the issuer: valid lets in; expired, wrong audience, forged or foreign do not', async (t) => {
  const { app, sims } = await gateway(t)
  const token = await clientCredentialsToken(sims, DEMO_CREDENTIALS.caller)
  const ok = await app.inject({ method: 'GET', url: '/mailboxes', headers: { authorization: `Bearer ${token}` } })
  t.equal(ok.statusCode, 200, 'a token for api://mailbox-gateway with the demo caller app')
  t.equal(json(ok).mailboxes.length, 7)

  const expect401 = async (name: string, authorization: string, detail: RegExp): Promise<void> => {
    const res = await app.inject({ method: 'GET', url: '/mailboxes', headers: { authorization } })
    t.equal(res.statusCode, 401, name)
    t.equal(json(res).code, 'MBG_ERR_UNAUTHENTICATED', name)
    t.match(json(res).detail, detail, name)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, name)
  }
  // Tokens live an hour; the gateway allows 60 s of clock skew.
  clock = Date.now() + 3600_000 + 61_000
  await expect401('expired', `Bearer ${token}`, /expired/)
  clock = Date.now()
  // A real token of the same issuer, for Graph: valid signature, wrong audience.
  const graphToken = await clientCredentialsToken(sims, DEMO_CREDENTIALS.app, 'https://graph.microsoft.com/.default')
  await expect401('wrong audience', `Bearer ${graphToken}`, /another audience/)
  const [h, p, s] = token.split('.')
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
  const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['items:import'] })).toString('base64url')
  await expect401('payload changed after signing', `Bearer ${h}.${forged}.${s}`, /signature/)
  const { privateKey } = await generateKeyPair('RS256')
  const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'other' }).sign(privateKey)
  await expect401('signed by another key', `Bearer ${foreign}`, /signature/)
  const otherIssuer = await new SignJWT({ ...claims, iss: 'https://evil.example/v2.0' })
    .setProtectedHeader({ alg: 'RS256', kid: 'other' }).sign(privateKey)
  await expect401('another issuer', `Bearer ${otherIssuer}`, /issuer|signature/)
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`
  await expect401('alg none', `Bearer ${none}`, /valid JWT|signature/)
  await expect401('not a JWT', 'Bearer not-a-jwt', /valid JWT/)
  await expect401('no token', 'Bearer ', /Bearer <token>/)
})

t.test('scopes: a client without the route\'s scope gets 403 insufficient_scope', async (t) => {
  const { app, sims } = await gateway(t)
  const list = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': READER_KEY } })
  t.equal(list.statusCode, 200, 'mailboxes:read lists')
  for (const r of PROTECTED.filter((r) => r.method !== 'GET')) {
    const res = await app.inject({
      method: r.method,
      url: r.url,
      headers: { 'x-api-key': READER_KEY },
      ...(r.payload !== undefined ? { payload: r.payload } : {})
    })
    t.equal(res.statusCode, 403, `${r.method} ${r.url}`)
    t.equal(json(res).code, 'MBG_ERR_INSUFFICIENT_SCOPE')
    t.match(res.headers['www-authenticate'],
      /error="insufficient_scope", scope="(items:export|items:import|folders:write)"/)
  }
  const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': READER_KEY } })
  t.equal(metrics.statusCode, 403, '/metrics needs metrics:read')

  // A bearer token holds the scopes of its roles that its client has: this app's roles give mailboxes:read only.
  const partial = await clientCredentialsToken(sims, PARTIAL_APP)
  const bearer = { authorization: `Bearer ${partial}` }
  const read = await app.inject({ method: 'GET', url: `/mailboxes/${MAILBOXES.ews.primary}/folders`, headers: bearer })
  t.equal(read.statusCode, 200)
  const exp = await app.inject({
    method: 'POST', url: `/mailboxes/${MAILBOXES.ews.primary}/items:export`, headers: bearer, payload: { itemIds: ['x'] }
  })
  t.equal(exp.statusCode, 403)
  t.equal(json(exp).code, 'MBG_ERR_INSUFFICIENT_SCOPE')
  // A valid token of an app that no client names may do nothing.
  const stranger = await clientCredentialsToken(sims, STRANGER_APP)
  const res = await app.inject({ method: 'GET', url: '/mailboxes', headers: { authorization: `Bearer ${stranger}` } })
  t.equal(res.statusCode, 403)
  t.match(json(res).detail, /app:7a1e2b3c-0000-4000-8000-00000000a002 holds none/)
})

t.test('mailbox allow-lists: other mailboxes are 403 and not listed', async (t) => {
  const { app, sims } = await gateway(t)
  const headers = { 'x-api-key': ALICE_ONLY_KEY }
  const list = await app.inject({ method: 'GET', url: '/mailboxes', headers })
  const addresses = json(list).mailboxes.map((m: { address: string }) => m.address)
  t.same(addresses, [MAILBOXES.ews.primary, MAILBOXES.ews.primary],
    'Alice and her archive')
  const own = await app.inject({ method: 'GET', url: `/mailboxes/${MAILBOXES.ews.primary}/folders`, headers })
  t.equal(own.statusCode, 200)
  const before = sims.graph.stats.requests
  for (const mailbox of [MAILBOXES.ews.other, MAILBOXES.graph.primary, MAILBOXES.graph.other.toUpperCase()]) {
    for (const r of [
      { method: 'GET' as const, url: `/mailboxes/${mailbox}/folders` },
      { method: 'POST' as const, url: `/mailboxes/${mailbox}/items:import`, payload: IMPORT },
      { method: 'POST' as const, url: `/mailboxes/${mailbox}/folders`, payload: { displayName: 'nope' } }
    ]) {
      const res = await app.inject({ ...r, headers })
      t.equal(res.statusCode, 403, `${r.method} ${r.url}`)
      t.equal(json(res).code, 'MBG_ERR_MAILBOX_FORBIDDEN')
    }
  }
  t.equal(sims.graph.stats.requests, before, 'no Graph call for a mailbox the caller may not use')
})

t.test('keys rotate without a restart: reload swaps the clients in place', async (t) => {
  const { app, config } = await gateway(t)
  const fresh = generateApiKey()
  const auth = structuredClone(config.auth) as AuthSettings
  const demo = auth.clients.find((c) => c.name === 'demo')
  if (demo === undefined) throw new Error('no demo client')
  demo.apiKeys = [{ id: 'next', sha256: hashApiKey(fresh) }, ...demo.apiKeys]
  app.authenticator.reload(auth)
  const status = async (key: string): Promise<number> =>
    (await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': key } })).statusCode
  t.equal(await status(fresh), 200, 'new key')
  t.equal(await status(TEST_API_KEY), 200, 'old key still, while both are listed')
  demo.apiKeys = demo.apiKeys.filter((k) => k.id === 'next')
  app.authenticator.reload(structuredClone(auth))
  t.equal(await status(TEST_API_KEY), 401, 'old key removed')
  t.equal(await status(fresh), 200)
})

t.test('auth.mode none lets everyone in (local use)', async (t) => {
  const { app } = await buildTestGateway(t, { credentials: false, auth: (a) => { a.mode = 'none' } })
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${MAILBOXES.graph.primary}/folders` })
  t.equal(res.statusCode, 200)
})

t.test('a credential header sent twice is refused, whichever line holds the valid one', async (t) => {
  const { app, sims } = await gateway(t)
  const token = await clientCredentialsToken(sims, DEMO_CREDENTIALS.caller)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const raw = async (lines: string[]): Promise<{ status: number, body: string }> => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString() })
    socket.write(['GET /mailboxes HTTP/1.1', 'Host: 127.0.0.1', ...lines, 'Connection: close', '', ''].join('\r\n'))
    await once(socket, 'close')
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }
  }
  for (const [why, lines] of [
    ['valid first', [`Authorization: Bearer ${token}`, 'Authorization: Bearer junk']],
    ['valid last', ['Authorization: Bearer junk', `Authorization: Bearer ${token}`]],
    ['two keys', [`X-API-Key: ${TEST_API_KEY}`, `x-api-key: ${TEST_API_KEY}`]]
  ] as const) {
    const res = await raw([...lines])
    t.equal(res.status, 401, why)
    t.match(res.body, /send one (Authorization|X-API-Key) header, not 2/, why)
  }
  t.equal((await raw([`X-API-Key: ${TEST_API_KEY}`])).status, 200, 'one line is fine')
})

t.test('failed authentications from one address are limited: 429 after 30 a minute, audited once', async (t) => {
  const { app, audit } = await gateway(t)
  const statuses: number[] = []
  for (let i = 0; i < 35; i++) {
    const res = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': `mbg_guess${i}` } })
    statuses.push(res.statusCode)
  }
  t.same(statuses.slice(0, 30), Array(30).fill(401), 'the first 30 are 401')
  t.same(statuses.slice(30), Array(5).fill(429), 'then 429')
  const limited = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': 'mbg_more' } })
  t.equal(json(limited).code, 'MBG_ERR_RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After')
  const denials = audit().filter((r) => r.event === 'access.denied')
  t.equal(denials.filter((r) => r.code === 'MBG_ERR_UNAUTHENTICATED').length, 30)
  t.equal(denials.filter((r) => r.code === 'MBG_ERR_RATE_LIMITED').length, 1, 'one record for the flood past the limit')
  const ok = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(ok.statusCode, 200, 'probes still answer')
})

t.test('a restricted client learns nothing about mailboxes outside its allow-list', async (t) => {
  const { app } = await gateway(t)
  const headers = { 'x-api-key': ALICE_ONLY_KEY }
  for (const mailbox of [MAILBOXES.ews.other, 'nobody@contoso.example', 'nobody%00@elsewhere.example']) {
    const res = await app.inject({ method: 'GET', url: `/mailboxes/${mailbox}/folders`, headers })
    t.equal(res.statusCode, 403, `${mailbox}: 403 whether it exists or not`)
  }
})
