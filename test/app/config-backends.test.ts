/**
 * Backend settings: the schema defaults are filled in once, when the document is parsed,
 * and each backend is resolved once into what its adapter and token provider take as is.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseGatewayConfig, resolveBackend, resolveGraphBackend, type GatewayConfig } from '../../src/config.js'
import { MAX_REDIRECTS } from '../../src/backends/graph/context.js'

const MAILBOX = { address: 'a@contoso.com', backend: 'b' }
const BASIC = { kind: 'basic', username: 'svc', password: 'pw' }
const OAUTH = { kind: 'oauth', tenantId: 't', clientId: 'c', clientSecret: 's' }
const parse = (backend: Record<string, unknown>): GatewayConfig =>
  parseGatewayConfig({ backends: { b: backend }, mailboxes: [MAILBOX] }, 'test')
const graph = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'graph', tenantId: 't', clientId: 'c', clientSecret: 's', ...extra })
/** A Graph backend without a client secret. */
const graphNoSecret = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'graph', tenantId: 't', clientId: 'c', ...extra })
const ews = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ type: 'ews', url: 'https://mail.contoso.com/EWS/Exchange.asmx', auth: BASIC, ...extra })

/** Answer caps by default: 256 MiB of item data, 16 MiB otherwise, 1 MiB for an error (src/upstream/answer.ts). */
const ANSWER_CAPS = { dataBytes: 256 * 1024 * 1024, otherBytes: 16 * 1024 * 1024, errorBytes: 1024 * 1024 }

t.test('a parsed document has the documented defaults filled in', async (t) => {
  const raw = {
    backends: {
      onprem: ews(),
      'exo-ews': ews({ url: 'https://outlook.office365.com/EWS/Exchange.asmx', auth: OAUTH }),
      'exo-graph': graph()
    },
    mailboxes: [{ address: 'a@contoso.com', backend: 'onprem' }]
  }
  const before = structuredClone(raw)
  const config = parseGatewayConfig(raw, 'test')
  t.same(raw, before, 'the input document is not modified')
  t.strictSame(config.backends.onprem, {
    ...ews(),
    serverVersion: 'Exchange2013_SP1',
    impersonation: true,
    exportBatchSize: 50,
    uploadBatchSize: 20,
    maxItemBytes: 19_660_800,
    pageSize: 1000,
    timeoutMs: 60_000,
    maxConcurrency: 27,
    answerCaps: ANSWER_CAPS
  })
  const exoEws = config.backends['exo-ews']
  if (exoEws.type !== 'ews') throw new Error('not an EWS backend')
  t.strictSame(exoEws.auth, {
    ...OAUTH,
    scope: 'https://outlook.office365.com/.default',
    authorityHost: 'https://login.microsoftonline.com'
  })
  t.strictSame(config.backends['exo-graph'], {
    ...graph(),
    authorityHost: 'https://login.microsoftonline.com',
    graphUrl: 'https://graph.microsoft.com',
    apiVersion: { primary: 'v1.0', archive: 'beta' },
    exportBatchSize: 20,
    importConcurrency: 4,
    appConcurrency: 4,
    budgets: {
      requests: { limit: 10_000, windowSec: 600 },
      uploadBytes: { limit: 150_000_000, windowSec: 300 }
    },
    pageSize: 100,
    timeoutMs: 60_000,
    allowedImportHosts: ['outlook.office365.com'],
    answerCaps: ANSWER_CAPS
  })
})

t.test('configured values win over defaults', async (t) => {
  const config = parse(ews({ serverVersion: 'Exchange2016', impersonation: false, exportBatchSize: 7, pageSize: 1000 }))
  t.match(config.backends.b, { serverVersion: 'Exchange2016', impersonation: false, exportBatchSize: 7 })
  t.match(config.backends.b, { uploadBatchSize: 20, pageSize: 1000 })
  const apiVersion = { primary: 'beta', archive: 'beta' }
  const g = parse(graph({ apiVersion, allowedImportHosts: ['import.example:8443'] })).backends.b
  t.match(g, { apiVersion: { primary: 'beta', archive: 'beta' }, allowedImportHosts: ['import.example:8443'] })
})

t.test('pacing settings: caps and budgets per backend, defaults filled in key by key', async (t) => {
  const g = parse(graph({ appConcurrency: 8, budgets: { requests: { limit: 10, windowSec: 2 } } })).backends.b
  t.match(g, {
    appConcurrency: 8,
    budgets: { requests: { limit: 10, windowSec: 2 }, uploadBytes: { limit: 150_000_000, windowSec: 300 } }
  })
  const e = parse(ews({ maxConcurrency: 10, budgets: { uploadBytes: { limit: 150_000_000, windowSec: 300 } } }))
  t.match(e.backends.b, { maxConcurrency: 10, budgets: { uploadBytes: { limit: 150_000_000, windowSec: 300 } } })
  t.equal((e.backends.b as { budgets?: { requests?: unknown } }).budgets?.requests, undefined, 'EWS: none by default')
  t.throws(() => parse(graph({ appConcurrency: 0 })), { code: 'MBG_ERR_CONFIG_INVALID' })
  t.throws(() => parse(graph({ budgets: { requests: { limit: 0, windowSec: 2 } } })),
    { code: 'MBG_ERR_CONFIG_INVALID' })
})

t.test('a resolved backend is what the adapter and token provider take', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mbg-'))
  const caFile = join(dir, 'ca.pem')
  const keyFile = join(dir, 'app.key')
  writeFileSync(caFile, 'CA-PEM')
  writeFileSync(keyFile, 'KEY-PEM')
  const env = { EWS_PASSWORD: 'from-env', GRAPH_SECRET: 'graph-secret' }

  const ewsSettings = parse(ews({ auth: { ...BASIC, password: 'env:EWS_PASSWORD' }, tls: { caFile } })).backends.b
  const e = resolveBackend('onprem', ewsSettings, { ca: 'EXTRA' }, env)
  t.strictSame(e, {
    type: 'ews',
    url: 'https://mail.contoso.com/EWS/Exchange.asmx',
    serverVersion: 'Exchange2013_SP1',
    impersonation: true,
    exportBatchSize: 50,
    uploadBatchSize: 20,
    maxItemBytes: 19_660_800,
    pageSize: 1000,
    timeoutMs: 60_000,
    maxConcurrency: 27,
    answerCaps: ANSWER_CAPS,
    name: 'onprem',
    auth: { kind: 'basic', username: 'svc', password: 'from-env' },
    tls: { ca: 'CA-PEM\nEXTRA' },
    userAgent: 'mailbox-gateway/0.1'
  })

  const oauthAuth = { ...OAUTH, clientSecret: 'env:GRAPH_SECRET', authorityHost: 'https://login.example/' }
  const oauthSettings = parse(ews({ auth: oauthAuth }))
  const oauth = resolveBackend('exo', oauthSettings.backends.b, {}, env)
  t.match(oauth, {
    auth: {
      kind: 'oauth',
      oauth: {
        clientSecret: 'graph-secret',
        authorityHost: 'https://login.example',
        scope: 'https://outlook.office365.com/.default'
      }
    }
  })

  const certificate = { thumbprint: 'a'.repeat(40), privateKeyFile: keyFile }
  const graphUrl = 'https://Graph.Microsoft.com:443'
  const settings = parse(graphNoSecret({ certificate, graphUrl, timeoutMs: 900_000 })).backends.b
  if (settings.type !== 'graph') throw new Error('not a Graph backend')
  const g = resolveGraphBackend('g', settings, { ca: 'EXTRA', importHosts: ['127.0.0.1:9'] }, env)
  t.strictSame(g.oauth, {
    tenantId: 't',
    clientId: 'c',
    authorityHost: 'https://login.microsoftonline.com',
    scope: 'https://graph.microsoft.com/.default',
    ca: 'EXTRA',
    certificate: { thumbprint: 'a'.repeat(40), privateKey: 'KEY-PEM' }
  })
  t.equal(g.graphUrl, 'https://graph.microsoft.com', 'graphUrl normalized to its origin')
  t.equal(g.timeoutMs, 600_000, 'Graph requests wait at most 10 minutes')
  t.same(g.allowedImportHosts, ['outlook.office365.com', '127.0.0.1:9'])
  t.same(g.tls, { ca: 'EXTRA' })
  t.notOk('clientSecret' in g || 'certificate' in g || 'tenantId' in g, 'credentials live in `oauth` only')
  t.equal(MAX_REDIRECTS, 5)

  const unresolved = (backend: Record<string, unknown>, pattern: RegExp): void => {
    t.throws(() => resolveBackend('b', parse(backend).backends.b, {}, env),
      { code: 'MBG_ERR_CONFIG_INVALID', message: pattern })
  }
  unresolved(ews({ auth: { ...BASIC, password: 'env:UNSET' } }), /UNSET/)
  unresolved(graph({ certificate: { ...certificate, privateKeyFile: join(dir, 'missing.key') } }), /certificate key/)
  unresolved(ews({ tls: { caFile: join(dir, 'missing.pem') } }), /CA file/)
})

t.test('EWS NTLM: DOMAIN\\user or user@domain, the password an env: secret like Basic\'s', async (t) => {
  const env = { EWS_PASSWORD: 'ntlm-from-env' }
  for (const username of ['CONTOSO\\svc-migration', 'svc-migration@contoso.com']) {
    const settings = parse(ews({ auth: { kind: 'ntlm', username, password: 'env:EWS_PASSWORD' } })).backends.b
    const resolved = resolveBackend('onprem', settings, {}, env)
    t.strictSame(resolved.type === 'ews' ? resolved.auth : undefined,
      { kind: 'ntlm', username, password: 'ntlm-from-env' }, username)
  }
  for (const username of ['svc-migration', 'CONTOSO\\', '\\svc', 'A\\B\\c', 'svc@', 'CONTOSO\\svc@contoso.com']) {
    t.throws(() => parse(ews({ auth: { kind: 'ntlm', username, password: 'pw' } })),
      { code: 'MBG_ERR_CONFIG_INVALID', message: /backends\/b/ }, username)
  }
  t.throws(() => parse(ews({ auth: { kind: 'ntlm', username: 'CONTOSO\\svc', password: 'pw', domain: 'X' } })),
    { code: 'MBG_ERR_CONFIG_INVALID' }, 'no unknown keys')
  const unset = parse(ews({ auth: { kind: 'ntlm', username: 'CONTOSO\\svc', password: 'env:UNSET_NTLM' } }))
  t.throws(() => resolveBackend('onprem', unset.backends.b, {}, {}),
    { code: 'MBG_ERR_CONFIG_INVALID', message: /UNSET_NTLM/ })
})

t.test('Graph limits are refused, not silently changed', async (t) => {
  const refused = (extra: Record<string, unknown>, pattern: RegExp): void => {
    t.throws(() => parse(graph(extra)), { code: 'MBG_ERR_CONFIG_INVALID', message: pattern }, JSON.stringify(extra))
  }
  refused({ exportBatchSize: 50 }, /backends\/b/) // Graph caps exportItems at 20 ids
  refused({ pageSize: 5000 }, /backends\/b/)
  refused({ apiVersion: { primary: 'v2' } }, /backends\/b/)
})

t.test('invalid Graph URLs, authority hosts and national clouds are refused', async (t) => {
  // By the schema, when the document is parsed (the message names the backend) ...
  const refused = (extra: Record<string, unknown>): void => {
    t.throws(() => parse(graph(extra)), { code: 'MBG_ERR_CONFIG_INVALID', message: /backends\/b/ },
      JSON.stringify(extra))
  }
  refused({ graphUrl: 'http://graph.microsoft.com' })
  refused({ graphUrl: 'https://graph.microsoft.com/' })
  refused({ graphUrl: 'https://graph.microsoft.com/v1.0' })
  refused({ graphUrl: 'nope' })
  refused({ authorityHost: 'http://127.0.0.1:1' })
  t.throws(() => parse(ews({ auth: { ...OAUTH, authorityHost: 'http://login.example' } })),
    { code: 'MBG_ERR_CONFIG_INVALID', message: /backends\/b/ })
  t.throws(() => parse(graphNoSecret()),
    { code: 'MBG_ERR_CONFIG_INVALID', message: /needs clientSecret or certificate/ })
  // ... or when the backend is resolved.
  const unresolved = (extra: Record<string, unknown>, pattern: RegExp): void => {
    t.throws(() => resolveBackend('g', parse(graph(extra)).backends.b, {}, {}),
      { code: 'MBG_ERR_CONFIG_INVALID', message: pattern }, JSON.stringify(extra))
  }
  unresolved({ graphUrl: 'https://graph.microsoft.us' }, /national cloud/)
  unresolved({ authorityHost: 'https://bad host' }, /authorityHost/)
})

t.test('policy settings: queue and circuit, validated', async (t) => {
  const doc = (policy: unknown): unknown => ({
    backends: { b: ews() }, mailboxes: [{ address: 'a@contoso.com', backend: 'b' }], policy
  })
  const config = parseGatewayConfig(doc({ maxQueued: 50, queueTimeoutMs: 2000, circuit: { volumeThreshold: 40 } }), 't')
  t.same(config.policy, { maxQueued: 50, queueTimeoutMs: 2000, circuit: { volumeThreshold: 40 } })
  t.throws(() => parseGatewayConfig(doc({ circuit: { errorThresholdPercentage: 0 } }), 't'),
    { code: 'MBG_ERR_CONFIG_INVALID' })
  t.throws(() => parseGatewayConfig(doc({ queueTimeout: 5 }), 't'), { code: 'MBG_ERR_CONFIG_INVALID' })
})
