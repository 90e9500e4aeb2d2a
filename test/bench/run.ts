/**
 * `npm run bench`: what the gateway costs, measured as ratios taken side by side
 * in one run (these machines are noisy; absolute numbers mean little).
 *
 *   gateway vs direct backend call — the same work through the gateway's HTTP API
 *     and straight against the simulated backend, interleaved iteration by iteration;
 *   gateway vs exchangelib — an independent EWS client doing the same export.
 *
 * Results go to stdout and bench-results/latest.json.
 */
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { Agent, request } from 'undici'
import { buildGateway } from '../../src/build.js'
import { createRouter } from '../../src/backends/factory.js'
import { demoConfig } from '../../src/demo.js'
import { startSimulators, DEMO_CREDENTIALS } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { openAuthenticator } from '../helpers/auth.js'

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20)
const WARMUP = 3
const BATCH = 20

const logger = pino({ level: 'silent' })
const sims = await startSimulators({ logger })
const { config, extras } = demoConfig(sims)
const app = await buildGateway({
  authenticator: openAuthenticator(),
  router: createRouter(config, extras, logger),
  mode: 'demo',
  logger,
  docsUi: false,
  crossBackendImport: 'allow'
})
const gw = await app.listen({ host: '127.0.0.1', port: 0 })
const tlsAgent = new Agent({ connect: { ca: sims.ca } })

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const p90 = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)] }

async function time (fn: () => Promise<void>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/** Runs A and B alternately (A first on even iterations, B first on odd ones). */
async function sideBySide (name: string, a: () => Promise<void>,
  b: () => Promise<void>): Promise<Record<string, number | string>> {
  const ta: number[] = []
  const tb: number[] = []
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const first = i % 2 === 0 ? [a, ta] as const : [b, tb] as const
    const second = i % 2 === 0 ? [b, tb] as const : [a, ta] as const
    const t1 = await time(first[0])
    const t2 = await time(second[0])
    if (i >= WARMUP) { first[1].push(t1); second[1].push(t2) }
  }
  return {
    scenario: name,
    gatewayMedianMs: round(median(ta)),
    directMedianMs: round(median(tb)),
    gatewayP90Ms: round(p90(ta)),
    directP90Ms: round(p90(tb)),
    ratio: round(median(ta) / median(tb))
  }
}
const round = (n: number): number => Math.round(n * 100) / 100

async function gatewayJson (method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const res = await request(`${gw}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {})
  })
  const text = await res.body.text()
  if (res.statusCode !== 200 && res.statusCode !== 201) {
    throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`)
  }
  return JSON.parse(text)
}

// ---- EWS, direct: hand-written SOAP as any EWS client would send it
const basicCredentials = `${DEMO_CREDENTIALS.ews.username}:${DEMO_CREDENTIALS.ews.password}`
const basic = `Basic ${Buffer.from(basicCredentials).toString('base64')}`
function soap (smtp: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">' +
    `<soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${smtp}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  )
}
async function ews (smtp: string, body: string): Promise<string> {
  const res = await request(sims.ews.url, {
    method: 'POST',
    body: soap(smtp, body),
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization: basic, 'x-anchormailbox': smtp }
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`EWS ${res.statusCode}`)
  return text
}

// ---- Graph, direct: a client-credentials token and plain JSON calls
const tokenRes = await request(`${sims.identity.authority}/oauth2/v2.0/token`, {
  method: 'POST',
  dispatcher: tlsAgent,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: DEMO_CREDENTIALS.app.clientId,
    client_secret: DEMO_CREDENTIALS.app.clientSecret,
    scope: 'https://graph.microsoft.com/.default'
  }).toString()
})
const token = ((await tokenRes.body.json()) as { access_token: string }).access_token
async function graph (method: 'GET' | 'POST', url: string, body?: unknown, auth = true): Promise<any> {
  const res = await request(url, {
    method,
    dispatcher: tlsAgent,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`Graph ${res.statusCode} ${text.slice(0, 200)}`)
  return text.length > 0 ? JSON.parse(text) : undefined
}

const results: Array<Record<string, number | string>> = []
const alice = DEMO_MAILBOXES.alice.smtp
const carol = DEMO_MAILBOXES.carol.smtp
const aliceInbox = sims.store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
// The 5 MB item is left out so one item does not dominate every sample.
const aliceItems = sims.store.itemsIn(aliceInbox.id).filter((i) => i.size < 1024 * 1024).slice(0, BATCH)
const aliceIds = (await gatewayJson('GET', `/mailboxes/${alice}/folders/inbox/items?pageSize=100`)).items
  .filter((i: { size: number }) => i.size < 1024 * 1024).slice(0, BATCH).map((i: { id: string }) => i.id)
const exportXml =
  `<m:ExportItems><m:ItemIds>${aliceItems.map((i) => `<t:ItemId Id="${i.id}"/>`).join('')}</m:ItemIds></m:ExportItems>`

results.push(
  await sideBySide(
    `EWS export ${BATCH} items`,
    async () => {
      const r = await gatewayJson('POST', `/mailboxes/${alice}/items:export`, { itemIds: aliceIds })
      if (r.succeeded !== BATCH) throw new Error('export failed')
    },
    async () => {
      await ews(alice, exportXml)
    }
  )
)

results.push(
  await sideBySide(
    'EWS folder tree (deep)',
    async () => {
      await gatewayJson('GET', `/mailboxes/${alice}/folders?pageSize=1000`)
    },
    async () => {
      await ews(
        alice,
        '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/><t:FieldURI FieldURI="folder:TotalCount"/><t:FieldURI FieldURI="folder:ChildFolderCount"/></t:AdditionalProperties></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="1000" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>'
      )
    }
  )
)

const mbx = sims.graph.mailboxId(DEMO_MAILBOXES.carol.guid)
const graphBase = `${sims.graph.url}/v1.0/admin/exchange/mailboxes/${mbx}`
const carolIds = (await gatewayJson('GET', `/mailboxes/${carol}/folders/inbox/items?pageSize=100`)).items
  .filter((i: { size: number }) => i.size < 1024 * 1024).slice(0, BATCH).map((i: { id: string }) => i.id)
results.push(
  await sideBySide(
    `Graph export ${BATCH} items`,
    async () => {
      const r = await gatewayJson('POST', `/mailboxes/${carol}/items:export`, { itemIds: carolIds })
      if (r.succeeded !== BATCH) throw new Error('export failed')
    },
    async () => {
      await graph('POST', `${graphBase}/exportItems`, { itemIds: carolIds })
    }
  )
)

// EWS → Graph copy of 10 items: export from Alice, import into Carol's inbox
const copyIds = aliceIds.slice(0, 10)
const session = await graph('POST', `${graphBase}/createImportSession`, {})
results.push(await sideBySide('EWS → Graph copy of 10 items',
  async () => {
    const exp = await gatewayJson('POST', `/mailboxes/${alice}/items:export`, { itemIds: copyIds })
    const imp = await gatewayJson('POST', `/mailboxes/${carol}/items:import`, {
      items: exp.results.map((r: { data: string }) => ({ folderId: 'inbox', mode: 'create', data: r.data }))
    })
    if (imp.succeeded !== 10) throw new Error('import failed')
  },
  async () => {
    const xml = await ews(
      alice,
      `<m:ExportItems><m:ItemIds>${aliceItems
        .slice(0, 10)
        .map((i) => `<t:ItemId Id="${i.id}"/>`)
        .join('')}</m:ItemIds></m:ExportItems>`
    )
    const datas = [...xml.matchAll(/<m:Data>([^<]*)<\/m:Data>/g)].map((m) => m[1])
    const inbox = await graph('GET', `${graphBase}/folders/inbox?$select=id`)
    // Graph allows 4 concurrent requests per app: the direct client uses the same parallelism as the gateway.
    for (let i = 0; i < datas.length; i += 4) {
      await Promise.all(
        datas
          .slice(i, i + 4)
          .map(
            async (d) => await graph('POST', session.importUrl, { FolderId: inbox.id, Mode: 'create', Data: d }, false)
          )
      )
    }
  }))

// Gateway vs exchangelib (an independent client), same export, same run
const python = '/usr/bin/python3'
const hasExchangelib = spawnSync(python, ['-c', 'import exchangelib'], { stdio: 'ignore' }).status === 0
if (hasExchangelib) {
  const script = fileURLToPath(new URL('exchangelib_export.py', import.meta.url))
  // Asynchronously: the simulator answering exchangelib lives in this process.
  const py = await promisify(execFile)(
    python,
    [
      script,
      sims.ews.url,
      DEMO_CREDENTIALS.ews.username,
      DEMO_CREDENTIALS.ews.password,
      alice,
      String(BATCH),
      String(ITERATIONS),
      String(WARMUP)
    ],
    { encoding: 'utf8', timeout: 300_000 }
  )
  const lib = JSON.parse(py.stdout.trim().split('\n').pop() ?? '{}') as { ms: number[] }
  const ours: number[] = []
  const oldest = (await gatewayJson('GET', `/mailboxes/${alice}/folders/inbox/items?pageSize=${BATCH}`)).items.map(
    (i: { id: string }) => i.id
  )
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const ms = await time(async () => {
      await gatewayJson('POST', `/mailboxes/${alice}/items:export`, { itemIds: oldest })
    })
    if (i >= WARMUP) ours.push(ms)
  }
  results.push({
    scenario: `EWS export ${BATCH} items: gateway vs exchangelib`,
    gatewayMedianMs: round(median(ours)),
    exchangelibMedianMs: round(median(lib.ms)),
    ratio: round(median(ours) / median(lib.ms))
  })
} else {
  console.error(
    'exchangelib not installed (apt-get install python3-exchangelib): gateway-vs-exchangelib scenario skipped'
  )
}

await app.close()
await sims.close()
await tlsAgent.close()

console.log(
  `\nmailbox-gateway benchmarks (${ITERATIONS} iterations after ${WARMUP} warm-up, medians in ms; ratio = gateway / other)\n`
)
console.table(results)
const dir = fileURLToPath(new URL('../../bench-results/', import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(
  `${dir}latest.json`,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, iterations: ITERATIONS, results }, null, 2)}\n`
)
