import t, { type Test } from 'tap'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import { generate } from 'selfsigned'
import { loopbackCertificate } from '../../src/simulators/tls.js'
import {
  startIdentitySimulator,
  JWT_BEARER_ASSERTION
} from '../../src/simulators/identity/index.js'
import { captureLogs } from '../helpers/logs.js'

const TENANT = '6f1c9a0e-3b7d-4c1e-9a55-2d8f0b4e7a11'
const SECRET_APP = '2a7c4a63-0b1e-4f7e-9d0c-5b6a3e2f1d00'
const CERT_APP = '9e0d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b'
const SECRET = 'sim~Secret.Value-123'
const GRAPH = 'https://graph.microsoft.com'
const EXO = 'https://outlook.office365.com'

const tls = await loopbackCertificate()
const appCert = await generate([{ name: 'commonName', value: 'mbg-test-app' }], { keySize: 2048, algorithm: 'sha256' })
const appThumbprint = new X509Certificate(appCert.cert).fingerprint.replaceAll(':', '')

const logLines: string[] = []
const { logger } = captureLogs('debug', { redaction: false }, logLines)

const sim = await startIdentitySimulator({
  tenantId: TENANT,
  tls,
  logger,
  apps: [
    {
      clientId: SECRET_APP,
      clientSecret: SECRET,
      roles: { [GRAPH]: ['MailboxItem.Read.All', 'MailboxFolder.Read.All'], [EXO]: ['full_access_as_app'] }
    },
    {
      clientId: CERT_APP,
      certificateThumbprint: appThumbprint,
      publicKeyPem: appCert.cert,
      roles: { [GRAPH]: ['MailboxItem.ImportExport.All'] }
    }
  ]
})
const agent = new Agent({ connect: { ca: tls.ca } })
t.teardown(async () => { await sim.close(); await agent.close() })

const tokenEndpoint = `${sim.authority}/oauth2/v2.0/token`

async function post (form: Record<string, string>,
  url = tokenEndpoint): Promise<{ status: number, body: Record<string, unknown>, headers: Record<string, unknown> }> {
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString()
  })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown>, headers: res.headers }
}

async function get (url: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: agent })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
}

const secretForm = (scope = `${GRAPH}/.default`): Record<string, string> =>
  ({ grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: SECRET, scope })

function checkAadError (t: Test, res: { status: number, body: Record<string, unknown> }, status: number, error: string,
  code: number): void {
  t.equal(res.status, status, `HTTP ${status}`)
  t.equal(res.body.error, error)
  t.same(res.body.error_codes, [code])
  const desc = String(res.body.error_description)
  t.match(desc, new RegExp(`^AADSTS${code}: `))
  t.match(
    desc,
    /\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/
  )
  t.match(res.body.trace_id, /^[0-9a-f-]{36}$/)
  t.match(res.body.correlation_id, /^[0-9a-f-]{36}$/)
  t.match(res.body.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/)
  t.match(res.body.error_uri, new RegExp(`code=${code}$`))
}

t.test('endpoints and metadata over HTTPS', async (t) => {
  t.match(sim.host, /^127\.0\.0\.1:\d+$/)
  t.equal(sim.authority, `https://${sim.host}/${TENANT}`)
  t.equal(sim.issuer, `https://${sim.host}/${TENANT}/v2.0`)

  const meta = await get(`${sim.authority}/v2.0/.well-known/openid-configuration`)
  t.equal(meta.status, 200)
  t.equal(meta.body.issuer, sim.issuer)
  t.equal(meta.body.token_endpoint, tokenEndpoint)
  t.equal(meta.body.authorization_endpoint, `${sim.authority}/oauth2/v2.0/authorize`)
  t.equal(meta.body.end_session_endpoint, `${sim.authority}/oauth2/v2.0/logout`)
  t.equal(meta.body.jwks_uri, `https://${sim.host}/${TENANT}/discovery/v2.0/keys`)
  t.same(meta.body.id_token_signing_alg_values_supported, ['RS256'])
  t.ok(Array.isArray(meta.body.response_types_supported))
  t.equal(typeof meta.body.tenant_region_scope, 'string')

  const jwks = await get(String(meta.body.jwks_uri))
  const keys = jwks.body.keys as JWK[]
  t.equal(keys.length, 1)
  t.equal(keys[0].kty, 'RSA')
  t.equal(keys[0].use, 'sig')
  t.equal(keys[0].kid, keys[0].x5t)
  t.ok(Array.isArray(keys[0].x5c))

  const wrong = await get(
    `https://${sim.host}/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration`
  )
  checkAadError(t, wrong, 400, 'invalid_tenant', 90002)

  const authorize = `${sim.authority}/oauth2/v2.0/authorize`
  const inst = await get(
    `https://${sim.host}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authorize)}`
  )
  t.equal(inst.status, 200)
  t.equal(inst.body.tenant_discovery_endpoint, `${sim.authority}/v2.0/.well-known/openid-configuration`)
  t.same(inst.body.metadata, [{ preferred_network: sim.host, preferred_cache: sim.host, aliases: [sim.host] }])
  const otherInst = await get(
    `https://${sim.host}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent('https://example.com/x/oauth2/v2.0/authorize')}`
  )
  checkAadError(t, otherInst, 400, 'invalid_instance', 50049)

  // The simulator's certificate is not trusted without the CA.
  await t.rejects(request(`${sim.authority}/v2.0/.well-known/openid-configuration`), /self[- ]signed/i)
})

t.test('client secret: token, claims, verify()', async (t) => {
  const before = sim.stats.tokensIssued
  const res = await post(secretForm())
  t.equal(res.status, 200)
  t.equal(res.body.token_type, 'Bearer')
  t.equal(res.body.expires_in, 3600)
  t.equal(res.body.ext_expires_in, 3600)
  t.equal(res.headers['cache-control'], 'no-store, no-cache')
  t.equal(sim.stats.tokensIssued, before + 1)
  const token = String(res.body.access_token)

  const header = decodeProtectedHeader(token)
  t.equal(header.alg, 'RS256')
  t.equal(header.typ, 'JWT')
  t.ok(header.kid)
  const claims = decodeJwt(token)
  t.equal(claims.aud, GRAPH)
  t.equal(claims.iss, sim.issuer)
  t.equal(claims.appid, SECRET_APP)
  t.equal(claims.azp, SECRET_APP)
  t.equal(claims.azpacr, '1')
  t.equal(claims.tid, TENANT)
  t.equal(claims.ver, '2.0')
  t.equal(claims.idtyp, 'app')
  t.equal(claims.sub, claims.oid)
  t.match(claims.oid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/)
  t.same(claims.roles, ['MailboxItem.Read.All', 'MailboxFolder.Read.All'])
  t.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600)
  t.ok(claims.nbf !== undefined)

  // An independent verifier using only the published JWKS accepts it.
  const jwks = (await get(`https://${sim.host}/${TENANT}/discovery/v2.0/keys`)).body.keys as JWK[]
  const { payload } = await jwtVerify(token, await importJWK(jwks[0], 'RS256'), { issuer: sim.issuer, audience: GRAPH })
  t.equal(payload.appid, SECRET_APP)

  const ok = await sim.verify(token, GRAPH)
  t.ok(ok)
  t.equal(ok?.appId, SECRET_APP)
  t.same(ok?.roles, ['MailboxItem.Read.All', 'MailboxFolder.Read.All'])
  t.equal(ok?.tenantId, TENANT)
  t.equal(ok?.expiresAt.getTime(), (claims.exp ?? 0) * 1000)
  t.equal(
    await sim.verify(token, `${GRAPH}/`).then((v) => v?.appId),
    SECRET_APP,
    'trailing slash on the audience is the same resource'
  )

  t.equal(await sim.verify(token, EXO), undefined, 'wrong audience')
  const [h, p, s] = token.split('.')
  const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['MailboxItem.ImportExport.All'] })).toString(
    'base64url'
  )
  t.equal(await sim.verify(`${h}.${forged}.${s}`, GRAPH), undefined, 'tampered payload')
  const flipped = s.slice(0, -4) + (s.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  t.equal(await sim.verify(`${h}.${p}.${flipped}`, GRAPH), undefined, 'tampered signature')
  t.equal(await sim.verify('not-a-jwt', GRAPH), undefined, 'garbage')

  // A token signed by some other key with the same claims is rejected.
  const other = await generate([{ name: 'commonName', value: 'attacker' }], { keySize: 2048 })
  const foreign = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: header.kid })
    .sign(createPrivateKey(other.private))
  t.equal(await sim.verify(foreign, GRAPH), undefined, 'foreign signature')

  // Exchange Online audience carries that resource's roles.
  const exo = await post(secretForm(`${EXO}/.default`))
  t.equal(exo.status, 200)
  t.same((await sim.verify(String(exo.body.access_token), EXO))?.roles, ['full_access_as_app'])
  // First-party app id form of the scope maps to the resource URI.
  const byId = await post(secretForm('00000003-0000-0000-c000-000000000000/.default'))
  t.equal(decodeJwt(String(byId.body.access_token)).aud, GRAPH)

  // HTTP Basic client authentication (client_secret_basic) works too.
  const basic = await request(tokenEndpoint, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${SECRET_APP}:${encodeURIComponent(SECRET)}`).toString('base64')}`
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${GRAPH}/.default` }).toString()
  })
  t.equal(basic.statusCode, 200)
  await basic.body.dump()
})

t.test('expired token is rejected by verify()', async (t) => {
  // iat and exp are whole seconds, so a token's validity is up to 1 s shorter than its lifetime:
  // 3 s leaves a busy machine at least 2 s to see it valid. Then wait until its own exp has passed.
  const short = await startIdentitySimulator({
    tenantId: TENANT,
    tls,
    tokenLifetimeSec: 3,
    apps: [{ clientId: SECRET_APP, clientSecret: SECRET, roles: { [GRAPH]: ['x'] } }]
  })
  t.teardown(() => short.close())
  const res = await post(secretForm(), `${short.authority}/oauth2/v2.0/token`)
  const token = String(res.body.access_token)
  t.ok(await short.verify(token, GRAPH), 'valid at first')
  t.equal(await sim.verify(token, GRAPH), undefined, 'other issuer (port) rejected')
  const expiresAt = Number(decodeJwt(token).exp) * 1000
  while (Date.now() < expiresAt) await sleep(expiresAt - Date.now() + 10)
  t.equal(await short.verify(token, GRAPH), undefined, 'expired')
})

t.test('error shapes', async (t) => {
  const failures = sim.stats.failures
  const issued = sim.stats.tokensIssued
  checkAadError(t, await post({ ...secretForm(), client_secret: 'wrong' }), 401, 'invalid_client', 7000215)
  checkAadError(
    t,
    await post({ ...secretForm(), client_id: '11111111-2222-3333-4444-555555555555' }),
    400,
    'unauthorized_client',
    700016
  )
  checkAadError(t, await post(secretForm(`${GRAPH}/Mail.Read`)), 400, 'invalid_scope', 1002012)
  checkAadError(t, await post(secretForm(`${GRAPH}/.default ${EXO}/.default`)), 400, 'invalid_scope', 70011)
  checkAadError(t, await post({ ...secretForm(), grant_type: 'password' }), 400, 'unsupported_grant_type', 70003)
  checkAadError(
    t,
    await post(secretForm(), `https://${sim.host}/contoso.onmicrosoft.com/oauth2/v2.0/token`),
    400,
    'invalid_request',
    90002
  )
  checkAadError(
    t,
    await post({ grant_type: 'client_credentials', client_id: SECRET_APP, scope: `${GRAPH}/.default` }),
    401,
    'invalid_client',
    7000216
  )
  checkAadError(
    t,
    await post({ grant_type: 'client_credentials', client_secret: SECRET, scope: `${GRAPH}/.default` }),
    400,
    'invalid_request',
    900144
  )
  checkAadError(t, await post(secretForm('https://contoso.example/.default')), 400, 'invalid_resource', 500011)
  t.equal(sim.stats.failures, failures + 9)
  t.equal(sim.stats.tokensIssued, issued)

  // The wrong-secret description names the app but never echoes the secret.
  const res = await post({ ...secretForm(), client_secret: 'wrong-but-unique-value' })
  t.notMatch(JSON.stringify(res.body), 'wrong-but-unique-value')
  t.match(String(res.body.error_description), SECRET_APP)
})

async function assertion (claims: { aud?: string, iss?: string, sub?: string, expIn?: number },
  opts: { x5t?: string | null, key?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const x5t = opts.x5t === undefined ? Buffer.from(appThumbprint, 'hex').toString('base64url') : opts.x5t
  return await new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(x5t !== null ? { x5t } : {}) })
    .setAudience(claims.aud ?? tokenEndpoint)
    .setIssuer(claims.iss ?? CERT_APP)
    .setSubject(claims.sub ?? CERT_APP)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (claims.expIn ?? 600))
    .sign(createPrivateKey(opts.key ?? appCert.private))
}

const certForm = (clientAssertion: string): Record<string, string> => ({
  grant_type: 'client_credentials',
  client_id: CERT_APP,
  scope: `${GRAPH}/.default`,
  client_assertion_type: JWT_BEARER_ASSERTION,
  client_assertion: clientAssertion
})

t.test('certificate credential (client_assertion)', async (t) => {
  t.equal(JWT_BEARER_ASSERTION, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
  const res = await post(certForm(await assertion({})))
  t.equal(res.status, 200)
  const verified = await sim.verify(String(res.body.access_token), GRAPH)
  t.equal(verified?.appId, CERT_APP)
  t.same(verified?.roles, ['MailboxItem.ImportExport.All'])
  t.equal(decodeJwt(String(res.body.access_token)).azpacr, '2')

  const other = await generate([{ name: 'commonName', value: 'someone-else' }], { keySize: 2048 })
  checkAadError(t, await post(certForm(await assertion({}, { key: other.private }))), 401, 'invalid_client', 700027)
  checkAadError(
    t,
    await post(certForm(await assertion({}, { x5t: Buffer.alloc(20, 7).toString('base64url') }))),
    401,
    'invalid_client',
    700027
  )
  checkAadError(t, await post(certForm(await assertion({}, { x5t: null }))), 401, 'invalid_client', 700027)
  checkAadError(
    t,
    await post(certForm(await assertion({ aud: 'https://example.com/token' }))),
    401,
    'invalid_client',
    50027
  )
  checkAadError(
    t,
    await post(certForm(await assertion({ iss: SECRET_APP, sub: SECRET_APP }))),
    401,
    'invalid_client',
    700021
  )
  checkAadError(t, await post(certForm(await assertion({ expIn: -600 }))), 401, 'invalid_client', 700024)
  checkAadError(
    t,
    await post({ ...certForm('x.y.z'), client_assertion_type: 'urn:example' }),
    400,
    'invalid_request',
    50027
  )
  // A secret is no use for an app that only has a certificate.
  checkAadError(t, await post({ ...secretForm(), client_id: CERT_APP }), 401, 'invalid_client', 7000215)
})

t.test('logs carry client ids and outcomes, never secrets, assertions or tokens', async (t) => {
  const res = await post(secretForm())
  const token = String(res.body.access_token)
  const text = logLines.join('')
  t.match(text, SECRET_APP)
  t.match(text, '"outcome":"issued"')
  t.match(text, '"outcome":"invalid_client"')
  t.notMatch(text, SECRET)
  t.notMatch(text, token.split('.')[2])
  t.notMatch(text, /eyJ[\w-]+\.[\w-]+\./, 'no JWT (token or assertion) in logs')
})
