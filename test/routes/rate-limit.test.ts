/**
 * Rate limiting per client (plugins/app/rate-limit.ts): RateLimit-* headers on every counted answer, 429
 * MBG_ERR_RATE_LIMITED with Retry-After past the limit; the count is the client's (all its keys and tokens, all
 * routes), other clients and the probes are unaffected, and refused credentials are not counted.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, TEST_API_KEY } from '../helper.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { CALLER_SCOPES } from '../../src/config.js'

const TIGHT_A = generateApiKey()
const TIGHT_B = generateApiKey()

t.test('a client past its limit gets 429 with Retry-After; other clients and the probes go on', async (t) => {
  const { app } = await buildTestGateway(t, {
    credentials: false,
    auth: (auth) => {
      auth.clients.push({
        name: 'tight',
        apiKeys: [{ id: 'a', sha256: hashApiKey(TIGHT_A) }, { id: 'b', sha256: hashApiKey(TIGHT_B) }],
        appIds: [],
        scopes: [...CALLER_SCOPES],
        mailboxes: ['*'],
        rateLimit: { max: 3, windowSec: 3600 }
      })
    }
  })
  const tight = async (key: string, url = '/mailboxes'): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'GET', url, headers: { 'x-api-key': key } })

  // Refused credentials are not counted against anyone.
  for (let i = 0; i < 5; i++) {
    const refused = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': 'mbg_nope' } })
    t.equal(refused.statusCode, 401)
  }
  const remaining: string[] = []
  const calls = [[TIGHT_A, '/mailboxes'], [TIGHT_B, `/mailboxes/${MAILBOXES.ews.primary}`], [TIGHT_A, '/metrics']]
  for (const [key, url] of calls) {
    const res = await tight(key, url)
    t.equal(res.statusCode, 200, `${url} within the limit`)
    t.equal(res.headers['ratelimit-limit'], '3')
    remaining.push(String(res.headers['ratelimit-remaining']))
    t.ok(Number(res.headers['ratelimit-reset']) > 0, 'RateLimit-Reset in seconds')
  }
  t.same(remaining, ['2', '1', '0'], 'one count per client across its keys and routes')
  const over = await tight(TIGHT_B)
  t.equal(over.statusCode, 429)
  t.match(over.headers['content-type'], /application\/problem\+json/)
  t.match(json(over), { code: 'MBG_ERR_RATE_LIMITED', status: 429, detail: /client tight may make 3 requests per/ })
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After')
  t.equal(over.headers['ratelimit-remaining'], '0')

  const other = await app.inject({ method: 'GET', url: '/mailboxes', headers: { 'x-api-key': TEST_API_KEY } })
  t.equal(other.statusCode, 200, 'another client is not limited by it')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'probes are never limited')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).headers['ratelimit-limit'], undefined)
})

t.test('a client past its limit gets 429 before a scope refusal: refusals count too', async (t) => {
  const { app } = await buildTestGateway(t, {
    credentials: false,
    auth: (auth) => {
      auth.clients.push({
        name: 'tight-reader',
        apiKeys: [{ id: 'a', sha256: hashApiKey(TIGHT_A) }],
        appIds: [],
        scopes: ['mailboxes:read'],
        mailboxes: ['*'],
        rateLimit: { max: 2, windowSec: 3600 }
      })
    }
  })
  const headers = { 'x-api-key': TIGHT_A }
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers })).statusCode, 403, 'no metrics:read')
  t.equal((await app.inject({ method: 'GET', url: '/mailboxes', headers })).statusCode, 200)
  const over = await app.inject({ method: 'GET', url: '/metrics', headers })
  t.equal(over.statusCode, 429, 'the third request is over the limit, whatever it asks for')
  t.equal(json(over).code, 'MBG_ERR_RATE_LIMITED')
})
