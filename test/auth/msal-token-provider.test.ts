import t, { type Test } from 'tap'
import { X509Certificate } from 'node:crypto'
import { createServer } from 'node:net'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { generate } from 'selfsigned'
import { ConfidentialClientApplication } from '@azure/msal-node'
import { loopbackCertificate } from '../../src/simulators/tls.js'
import { startIdentitySimulator } from '../../src/simulators/identity/index.js'
import { createMsalTokenProvider, type MsalTokenProviderOptions } from '../../src/auth/msal-token-provider.js'
import { MsalNetworkClient } from '../../src/auth/msal-network-client.js'
import { isGatewayError } from '../../src/errors.js'
import { captureLogs } from '../helpers/logs.js'

const TENANT = '0b7e4c2a-91d3-4f6e-8a10-3c5d7e9f1a2b'
const SECRET_APP = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a'
const CERT_APP = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'
const SECRET = 'msal~Test.Secret-987_xyz'
const GRAPH = 'https://graph.microsoft.com'

const tls = await loopbackCertificate()
const appCert = await generate([{ name: 'commonName', value: 'mbg-msal-test' }], { keySize: 2048, algorithm: 'sha256' })
const thumbprint = new X509Certificate(appCert.cert).fingerprint.replaceAll(':', '')

const sim = await startIdentitySimulator({
  tenantId: TENANT,
  tls,
  apps: [
    {
      clientId: SECRET_APP,
      clientSecret: SECRET,
      roles: { [GRAPH]: ['MailboxItem.Export.All', 'MailboxFolder.Read.All'] }
    },
    {
      clientId: CERT_APP,
      certificateThumbprint: thumbprint,
      publicKeyPem: appCert.cert,
      roles: { [GRAPH]: ['MailboxItem.ImportExport.All'] }
    }
  ]
})
t.teardown(() => sim.close())

/** pino writing to an in-memory stream, so the test can read every line. */
function capturedLogger (): { logger: pino.Logger, text: () => string } {
  const lines: string[] = []
  const { logger } = captureLogs('trace', { redaction: false }, lines)
  return { logger, text: () => lines.join('') }
}

function provider (
  t: Test,
  overrides: Partial<MsalTokenProviderOptions> = {}
): ReturnType<typeof createMsalTokenProvider> & { log: () => string } {
  const { logger, text } = capturedLogger()
  const p = createMsalTokenProvider({
    tenantId: TENANT,
    clientId: SECRET_APP,
    clientSecret: SECRET,
    authorityHost: `https://${sim.host}`,
    scope: `${GRAPH}/.default`,
    ca: tls.ca,
    logger,
    ...overrides
  })
  t.teardown(() => p.close())
  return Object.assign(p, { log: text })
}

t.test('acquires a token over HTTPS, caches it, forceRefresh fetches a new one', async (t) => {
  const p = provider(t)
  const before = sim.stats.tokensIssued
  const token = await p.getToken()
  t.equal(sim.stats.tokensIssued, before + 1)
  const verified = await sim.verify(token, GRAPH)
  t.equal(verified?.appId, SECRET_APP)
  t.same(verified?.roles, ['MailboxItem.Export.All', 'MailboxFolder.Read.All'])

  const again = await p.getToken()
  t.equal(again, token, 'served from the MSAL cache')
  t.equal(sim.stats.tokensIssued, before + 1, 'no new token request')

  const fresh = await p.getToken({ forceRefresh: true })
  t.equal(sim.stats.tokensIssued, before + 2, 'forceRefresh asked the token endpoint')
  t.ok(await sim.verify(fresh, GRAPH))
  t.not(fresh, token, 'a different token')
  t.equal(await p.getToken(), fresh, 'the refreshed token is cached')
  t.equal(sim.stats.tokensIssued, before + 2)

  const log = p.log()
  t.notMatch(log, SECRET, 'no secret in logs')
  t.notMatch(log, token.split('.')[2], 'no token in logs')
  t.notMatch(log, fresh.split('.')[2], 'no token in logs')
})

t.test('a held token is given without asking MSAL until MSAL would renew it', async (t) => {
  const calls = (): number => spy.count
  const spy = { count: 0 }
  const original = ConfidentialClientApplication.prototype.acquireTokenByClientCredential
  ConfidentialClientApplication.prototype.acquireTokenByClientCredential = async function (request) {
    spy.count++
    return await original.call(this, request)
  }
  t.teardown(() => { ConfidentialClientApplication.prototype.acquireTokenByClientCredential = original })

  const p = provider(t)
  const token = await p.getToken()
  t.equal(calls(), 1)
  t.equal(await p.getToken(), token)
  t.equal(await p.getToken(), token)
  t.equal(calls(), 1, 'a token valid for an hour is held: MSAL is not asked again')
  const fresh = await p.getToken({ forceRefresh: true })
  t.equal(calls(), 2, 'forceRefresh asks MSAL')
  t.equal(await p.getToken(), fresh, 'and the refreshed token is the one held')
  t.equal(calls(), 2)

  // A token that MSAL renews at once (its lifetime is under MSAL's 5-minute renewal offset) is never held.
  const shortSim = await startIdentitySimulator({
    tenantId: TENANT,
    tls,
    tokenLifetimeSec: 120,
    apps: [{ clientId: SECRET_APP, clientSecret: SECRET, roles: { [GRAPH]: ['MailboxItem.Export.All'] } }]
  })
  t.teardown(() => shortSim.close())
  const short = provider(t, { authorityHost: `https://${shortSim.host}` })
  const issued = shortSim.stats.tokensIssued
  await short.getToken()
  await short.getToken()
  t.equal(calls(), 4, 'MSAL is asked every time')
  t.equal(shortSim.stats.tokensIssued, issued + 2, 'and it asks the token endpoint every time')
})

t.test('an acquisition that ends after a forced refresh does not put its older token back', async (t) => {
  const original = ConfidentialClientApplication.prototype.acquireTokenByClientCredential
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let first = true
  ConfidentialClientApplication.prototype.acquireTokenByClientCredential = async function (request) {
    const result = await original.call(this, request)
    // The first unforced acquisition ends only after the forced one.
    if (first && request.skipCache !== true) { first = false; await gate }
    return result
  }
  t.teardown(() => { ConfidentialClientApplication.prototype.acquireTokenByClientCredential = original })

  const p = provider(t)
  const slow = p.getToken()
  const fresh = await p.getToken({ forceRefresh: true })
  release()
  const old = await slow
  t.not(old, fresh, 'the slow acquisition got the token the forced one replaced')
  t.equal(await p.getToken(), fresh, 'the token held is the forced refresh\'s')
})

t.test('wrong secret -> MBG_ERR_BACKEND_MISCONFIGURED naming clientSecret, AADSTS code, secret hidden', async (t) => {
  const wrong = 'definitely-Wrong~secret-4242'
  const p = provider(t, { clientSecret: wrong, settings: { backend: 'exo', path: 'backends.exo' } })
  const failures = sim.stats.failures
  const err = await p.getToken().then(() => undefined, (e: unknown) => e)
  t.ok(isGatewayError(err), 'a gateway error')
  if (!isGatewayError(err)) return
  t.equal(err.code, 'MBG_ERR_BACKEND_MISCONFIGURED')
  t.equal(err.statusCode, 502)
  t.equal(err.retry, undefined, 'not retried')
  t.match(err.upstreamCode, /7000215/)
  t.match(err.message, /AADSTS7000215/)
  t.match(err.message, /check backends\.exo\.clientSecret/)
  t.notMatch(err.message, wrong)
  t.notMatch(JSON.stringify(err), wrong)
  t.notMatch(String(err.stack), wrong)
  t.equal(sim.stats.failures, failures + 1)
  const log = p.log()
  t.match(log, 'MBG_ERR_BACKEND_MISCONFIGURED', 'the failure is logged')
  t.notMatch(log, wrong, 'no secret in logs')
})

t.test('unknown client and wrong tenant carry their AADSTS codes and name the setting', async (t) => {
  const settings = { backend: 'onprem', path: 'backends.onprem.auth' }
  const failure = async (p: { getToken: () => Promise<string> }): Promise<unknown> =>
    await p.getToken().then(() => undefined, (e: unknown) => e)
  const unknown = await failure(provider(t, { clientId: '12345678-1234-4234-8234-123456789012', settings }))
  t.match(unknown, {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED', upstreamCode: /700016/, message: /check backends\.onprem\.auth\.clientId/
  })
  const tenant = await failure(provider(t, { tenantId: 'contoso.onmicrosoft.com', settings }))
  t.match(tenant, {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    upstreamCode: /90002/,
    message: /Tenant 'contoso\.onmicrosoft\.com' not found.*check backends\.onprem\.auth\.tenantId/
  })
})

t.test('untrusted certificate (no CA) -> MBG_ERR_BACKEND_MISCONFIGURED naming tls.caFile', async (t) => {
  const p = provider(t, { ca: undefined, settings: { backend: 'exo', path: 'backends.exo' } })
  const err = await p.getToken().then(() => undefined, (e: unknown) => e)
  t.match(err, {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    upstreamCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    message: /does not trust.*backends\.exo\.tls\.caFile/
  })
  t.equal((err as { retry?: string }).retry, undefined, 'not retried')
})

t.test('certificate credential', async (t) => {
  const p = provider(t, {
    clientId: CERT_APP,
    clientSecret: undefined,
    certificate: { thumbprint, privateKey: appCert.private }
  })
  const token = await p.getToken()
  const verified = await sim.verify(token, GRAPH)
  t.equal(verified?.appId, CERT_APP)
  t.same(verified?.roles, ['MailboxItem.ImportExport.All'])
  t.notMatch(p.log(), 'PRIVATE KEY')

  const otherKey = await generate([{ name: 'commonName', value: 'not-registered' }], { keySize: 2048 })
  const bad = provider(t, {
    clientId: CERT_APP,
    clientSecret: undefined,
    certificate: { thumbprint, privateKey: otherKey.private }
  })
  const err = await bad.getToken().then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'MBG_ERR_BACKEND_MISCONFIGURED', upstreamCode: /700027/, message: /\.certificate$/ })
})

t.test('unreachable authority -> MBG_ERR_UPSTREAM_UNAVAILABLE, retry safe (no mailbox call was sent)', async (t) => {
  // A port that was free a moment ago: connection refused.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const p = provider(t, { authorityHost: `https://127.0.0.1:${port}` })
  const err = await p.getToken().then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'safe' })
})

// An http authority host and missing credentials are refused when the configuration is parsed
// (test/app/config-backends.test.ts); the options type requires a secret or a certificate.

t.test('plain MSAL without knownAuthorities: instance discovery is answered by the simulator', async (t) => {
  const network = new MsalNetworkClient({ ca: tls.ca, instanceDiscoveryOrigin: `https://${sim.host}` })
  t.teardown(() => network.close())
  const seen: string[] = []
  const spy = {
    sendGetRequestAsync: async <T>(url: string, o?: Parameters<MsalNetworkClient['sendGetRequestAsync']>[1],
      timeout?: number) => {
      seen.push(url)
      return await network.sendGetRequestAsync<T>(url, o, timeout)
    },
    sendPostRequestAsync: async <T>(url: string, o?: Parameters<MsalNetworkClient['sendPostRequestAsync']>[1]) => {
      seen.push(url)
      return await network.sendPostRequestAsync<T>(url, o)
    }
  }
  const cca = new ConfidentialClientApplication({
    auth: { clientId: SECRET_APP, clientSecret: SECRET, authority: sim.authority },
    system: { networkClient: spy }
  })
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] })
  t.ok(result)
  t.equal((await sim.verify(result?.accessToken ?? '', GRAPH))?.appId, SECRET_APP)
  t.ok(
    seen.some((u) => u.startsWith('https://login.microsoftonline.com/common/discovery/instance')),
    'MSAL asked for instance discovery'
  )
  t.ok(
    seen.some((u) => u.startsWith(`${sim.authority}/v2.0/.well-known/openid-configuration`)),
    'then the tenant metadata'
  )
  t.ok(seen.some((u) => u.startsWith(`${sim.authority}/oauth2/v2.0/token`)), 'then the token endpoint')
})

t.test('token endpoint 503 / 429 -> unavailable / throttled, both safe to retry', async (t) => {
  // A stand-in authority whose token endpoint is failing (Entra outage or throttling).
  let status = 503
  const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    res.setHeader('content-type', 'application/json')
    if (req.method === 'GET') {
      res.end(JSON.stringify({
        issuer: `${origin}/${TENANT}/v2.0`,
        token_endpoint: `${origin}/${TENANT}/oauth2/v2.0/token`,
        authorization_endpoint: `${origin}/${TENANT}/oauth2/v2.0/authorize`,
        jwks_uri: `${origin}/${TENANT}/discovery/v2.0/keys`
      }))
      return
    }
    req.resume()
    res.statusCode = status
    if (status === 429) res.setHeader('retry-after', '1')
    res.end(
      JSON.stringify({
        error: 'temporarily_unavailable',
        error_description: 'AADSTS90033: A transient error has occurred. Please try again.',
        error_codes: [90033]
      })
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`

  const unavailable = await provider(t, { authorityHost: host }).getToken().then(() => undefined, (e: unknown) => e)
  t.match(unavailable, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'safe', upstreamCode: 'AADSTS90033' })
  status = 429
  const throttled = await provider(t, { authorityHost: host }).getToken().then(() => undefined, (e: unknown) => e)
  t.match(throttled, {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retry: 'safe',
    retryAfter: 1,
    retryAfterMs: 1000,
    upstreamCode: 'AADSTS90033'
  })
})
