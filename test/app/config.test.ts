import t from 'tap'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, parseGatewayConfig, resolveSecret, stateStoreSetting } from '../../src/config.js'

const valid = {
  backends: {
    onprem: { type: 'ews', url: 'https://mail.contoso.com/EWS/Exchange.asmx', auth: { kind: 'basic', username: 'svc', password: 'env:EWS_PASSWORD' } },
    exo: { type: 'graph', tenantId: 't', clientId: 'c', clientSecret: 'env:GRAPH_SECRET' }
  },
  mailboxes: [{ address: 'a@contoso.com', backend: 'onprem' }, { address: 'b@contoso.com', backend: 'exo' }],
  auth: {
    oidc: { issuer: 'https://login.microsoftonline.com/t/v2.0', audience: ['api://mailbox-gateway'] },
    clients: [{
      name: 'ops',
      apiKeys: [{ id: 'k1', sha256: 'a'.repeat(64) }],
      appIds: ['11111111-2222-3333-4444-555555555555'],
      scopes: ['mailboxes:read'],
      mailboxes: ['*@contoso.com']
    }]
  }
}

t.test('no backend configured means demo mode, with defaults', async (t) => {
  const c = loadConfig({})
  t.equal(c.gateway, undefined)
  t.match(c.env, {
    HOST: '127.0.0.1',
    PORT: 3000,
    LOG_LEVEL: 'info',
    MAX_BATCH_ITEMS: 100,
    SHUTDOWN_TIMEOUT_MS: 30_000,
    IDEMPOTENCY_TTL_SEC: 86_400,
    JOB_LEASE_SEC: 60,
    JOB_POLL_SEC: 5,
    JOB_CONCURRENCY: 2,
    MAX_ACTIVE_JOBS_PER_CLIENT: 100
  })
  t.equal(loadConfig({ MBG_CONFIG: '', PORT: '' }).gateway, undefined, 'empty variables count as unset')
})

t.test('a valid document from a file or inline', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mbg-'))
  const file = join(dir, 'gateway.json')
  writeFileSync(file, JSON.stringify(valid))
  t.equal(loadConfig({ MBG_CONFIG_FILE: file }).gateway?.mailboxes.length, 2)
  t.equal(loadConfig({ MBG_CONFIG: JSON.stringify(valid), PORT: '8080' }).env.PORT, 8080)
})

t.test('invalid settings are rejected at boot with the offending key', async (t) => {
  const bad = (env: Record<string, string>, pattern: RegExp): void => {
    t.throws(() => loadConfig(env), { code: 'MBG_ERR_CONFIG_INVALID', message: pattern })
  }
  bad({ PORT: 'eighty' }, /PORT/)
  bad({ LOG_LEVEL: 'loud' }, /LOG_LEVEL/)
  bad({ SHUTDOWN_TIMEOUT_MS: 'soon' }, /SHUTDOWN_TIMEOUT_MS/)
  bad({ SHUTDOWN_TIMEOUT_MS: '500' }, /SHUTDOWN_TIMEOUT_MS must be >= 1000/)
  bad({ IDEMPOTENCY_TTL_SEC: '10' }, /IDEMPOTENCY_TTL_SEC must be >= 60/)
  bad({ JOB_LEASE_SEC: '4' }, /JOB_LEASE_SEC must be >= 5/)
  bad({ JOB_LEASE_SEC: 'long' }, /JOB_LEASE_SEC/)
  bad({ JOB_POLL_SEC: '0' }, /JOB_POLL_SEC must be >= 1/)
  bad({ JOB_CONCURRENCY: '0' }, /JOB_CONCURRENCY must be >= 1/)
  bad({ JOB_CONCURRENCY: '1.5' }, /JOB_CONCURRENCY/)
  bad({ MAX_ACTIVE_JOBS_PER_CLIENT: '0' }, /MAX_ACTIVE_JOBS_PER_CLIENT must be >= 1/)
  bad({ MAX_ACTIVE_JOBS_PER_CLIENT: 'many' }, /MAX_ACTIVE_JOBS_PER_CLIENT/)
  bad({ MBG_CONFIG: '{not json' }, /not valid JSON/)
  bad({ MBG_CONFIG_FILE: '/nonexistent/gateway.json' }, /cannot read config file/)
  bad({ MBG_CONFIG: '{}', MBG_CONFIG_FILE: 'x' }, /not both/)
  const withBad = (mutate: (c: any) => void, pattern: RegExp): void => {
    const c = structuredClone(valid)
    mutate(c)
    t.throws(() => parseGatewayConfig(c, 'test'), { code: 'MBG_ERR_CONFIG_INVALID', message: pattern }, pattern.source)
  }
  withBad((c) => { c.mailboxes[0].backend = 'nope' }, /unknown backend "nope"/)
  withBad((c) => { c.backends.onprem.url = 'ftp://x' }, /\/backends\/onprem/)
  withBad((c) => { delete c.backends.exo.clientSecret }, /needs clientSecret or certificate/)
  withBad((c) => { c.mailboxes.push({ address: 'A@contoso.com', backend: 'exo' }) }, /listed twice/)
  withBad((c) => { c.mailboxes[0].address = 'not-an-address' }, /mailboxes\/0\/address/)
  withBad((c) => { c.extra = true }, /\//)
  // The auth section
  bad({ MBG_CONFIG: JSON.stringify({ ...valid, auth: undefined }) }, /no "auth" section: callers must be authenticated/)
  withBad((c) => { c.auth.clients = [] }, /auth.clients is empty/)
  withBad((c) => { c.auth.clients.push({ ...c.auth.clients[0], appIds: [] }) }, /client "ops" is listed twice/)
  withBad((c) => { c.auth.clients.push({ ...c.auth.clients[0], name: 'b', appIds: [] }) }, /API key k1 is listed twice/)
  withBad((c) => { c.auth.clients.push({ ...c.auth.clients[0], name: 'b', apiKeys: [] }) }, /given to two auth clients/)
  withBad((c) => { delete c.auth.oidc }, /has appIds but auth.oidc is not configured/)
  withBad((c) => { c.auth.clients[0].backends = ['nope'] }, /names unknown backend "nope"/)
  withBad((c) => { c.auth.clients[0].scopes = ['items:everything'] }, /auth\/clients\/0\/scopes/)
  withBad((c) => { c.auth.clients[0].apiKeys[0].sha256 = 'secret-in-clear' }, /sha256/)
  withBad((c) => { c.auth.clients[0].apiKeys[0].expires = 'tomorrow' }, /expires 'tomorrow'/)
  withBad((c) => { c.auth.clients[0].apiKeys[0].expires = '2020-13-01T00:00:00Z' }, /expires '2020-13-01T00:00:00Z'/)
  withBad((c) => { c.auth.clients[0].apiKeys[0].expires = '2020-12-31T23:59:60Z' }, /is not an RFC 3339 instant/)
  withBad((c) => { c.auth.mode = 'open' }, /auth\/mode/)
  const none = parseGatewayConfig({ ...valid, auth: { mode: 'none' } }, 'test')
  t.equal(none.auth?.mode, 'none', 'mode none needs no client')
  t.match(parseGatewayConfig(valid, 'test').auth, { mode: 'required', rateLimit: { max: 600, windowSec: 60 } },
    'defaults filled in')
})

t.test('STATE_STORE: memory or sqlite:<path>, nothing else', async (t) => {
  t.equal(loadConfig({}).env.STATE_STORE, undefined, 'unset: the mode decides')
  t.same(stateStoreSetting(loadConfig({}).env.STATE_STORE), { kind: 'sqlite', path: 'data/mailbox-gateway.db' },
    'with a backend configured: the file under data/')
  t.same(stateStoreSetting(loadConfig({}).env.STATE_STORE, true), { kind: 'memory' },
    'demo mode: memory, like its simulated mailboxes')
  t.same(stateStoreSetting(loadConfig({ STATE_STORE: 'sqlite:data/mailbox-gateway.db' }).env.STATE_STORE, true),
    { kind: 'sqlite', path: 'data/mailbox-gateway.db' }, 'demo mode with a file named: that file')
  t.same(stateStoreSetting(loadConfig({ STATE_STORE: 'memory' }).env.STATE_STORE), { kind: 'memory' })
  t.same(stateStoreSetting(loadConfig({ STATE_STORE: 'sqlite:/var/lib/mbg/state.db' }).env.STATE_STORE),
    { kind: 'sqlite', path: '/var/lib/mbg/state.db' })
  for (const value of ['sqlite:', 'postgres://db/gateway', 'Memory', 'sqlite']) {
    t.throws(() => loadConfig({ STATE_STORE: value }), { code: 'MBG_ERR_CONFIG_INVALID', message: /STATE_STORE/ }, value)
    t.throws(() => stateStoreSetting(value), { code: 'MBG_ERR_CONFIG_INVALID', message: /STATE_STORE/ }, value)
  }
})

t.test('secrets can come from the environment', async (t) => {
  t.equal(resolveSecret('plain'), 'plain')
  t.equal(resolveSecret('env:X', { X: 'from-env' }), 'from-env')
  t.throws(() => resolveSecret('env:MISSING', {}), { message: /MISSING/ })
})
