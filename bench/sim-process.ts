/**
 * The benchmark's simulator process (started by bench/processes.ts with an IPC channel): two sets of the simulated
 * EWS, identity and Graph backends, each over its own demo tenant store:
 *
 *  - `main`: Graph throttling out of the way (a request budget no run reaches), so throughput figures measure the
 *    data path, not Outlook's budget;
 *  - `ceiling`: Graph at a low request ceiling (BENCH_CEILING_REQUESTS per BENCH_CEILING_WINDOW_SEC per app +
 *    mailbox) that the gateway does not know about, as in test/routes/jobs-ceiling.test.ts.
 *
 * First IPC message: `{ready, sets: {main, ceiling}}`, each set with its URLs, the CA and the gateway configuration
 * file (BENCH_API_KEY opens it). Then it answers `{id, cmd, ...}` requests (see `handle`) with `{id, ...}`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulators, DEMO_CREDENTIALS, type Simulators } from '../src/simulators/index.js'
import { toWireId } from '../src/simulators/graph/index.js'
import { simulatorDocument } from '../src/demo.js'
import { itemStream } from '../test/helpers/items.js'

const apiKey = process.env.BENCH_API_KEY
if (apiKey === undefined || process.send === undefined) throw new Error('start me from bench/processes.ts')
const ceilingRequests = Number(process.env.BENCH_CEILING_REQUESTS ?? 20)
const ceilingWindowSec = Number(process.env.BENCH_CEILING_WINDOW_SEC ?? 1)

const dir = mkdtempSync(join(tmpdir(), 'mbg-bench-sim-'))
const sets: Record<string, Simulators> = {
  main: await startSimulators({ graphThrottling: { requestsPerMailbox: 1e9, windowSec: 600 } }),
  ceiling: await startSimulators({
    graphThrottling: { requestsPerMailbox: ceilingRequests, windowSec: ceilingWindowSec }
  })
}

/**
 * The gateway document for a set (the demo one, see src/demo.ts); `unbudgeted`: Graph budgets far above any run (the
 * main set).
 */
function gatewayDocument (sims: Simulators, caFile: string, unbudgeted: boolean): Record<string, unknown> {
  const doc = simulatorDocument(sims, { caFile, apiKey }) as {
    backends: Record<string, Record<string, unknown>>
    auth: Record<string, unknown>
  }
  // The benchmark is one caller offering the load of many: the per-client rate limit (600 a minute) is lifted.
  doc.auth.rateLimit = { max: 1_000_000, windowSec: 1 }
  if (unbudgeted) {
    Object.assign(doc.backends['exo-graph'], {
      budgets: { requests: { limit: 1e9, windowSec: 600 }, uploadBytes: { limit: 1e12, windowSec: 300 } },
      // What the default derives from Outlook's upload budget (150 MB × 3/4), kept while the budget is lifted.
      maxItemBytes: 112_500_000
    })
  }
  return doc
}

const described: Record<string, unknown> = {}
for (const [name, sims] of Object.entries(sets)) {
  const caFile = join(dir, `${name}-ca.pem`)
  writeFileSync(caFile, sims.ca)
  const configFile = join(dir, `${name}-gateway.json`)
  writeFileSync(configFile, JSON.stringify(gatewayDocument(sims, caFile, name === 'main')))
  described[name] = {
    ews: sims.ews.url,
    identity: sims.identity.authority,
    graph: sims.graph.url,
    ca: sims.ca,
    configFile,
    credentials: DEMO_CREDENTIALS
  }
}

/** Ids of a store folder or item as each side names it: EWS (standard base64), Graph (URL-safe) and the gateway. */
function ids (storeId: string, kind: 'ews' | 'graph'): { store: string, direct: string, gateway: string } {
  const graph = toWireId(storeId)
  return {
    store: storeId,
    direct: kind === 'ews' ? storeId : graph,
    gateway: kind === 'ews' ? graph.replace(/=+$/, '') : graph
  }
}

interface Request {
  id: number
  cmd: string
  set?: string
  mailbox?: string
  name?: string
  count?: number
  size?: number
  folder?: string
  reset?: boolean
}

function handle (req: Request): Record<string, unknown> {
  const sims = sets[req.set ?? 'main']
  const store = sims.store
  const mailbox = (): { guid: string, kind: 'ews' | 'graph' } => {
    const m = store.mailboxBySmtp(req.mailbox as string)
    if (m === undefined) throw new Error(`no mailbox ${String(req.mailbox)}`)
    return { guid: m.guid, kind: /^(alice|bob)@/.test(req.mailbox as string) ? 'ews' : 'graph' }
  }
  switch (req.cmd) {
    case 'folder': {
      // A new folder below the Inbox holding `count` items of about `size` bytes each.
      const { guid, kind } = mailbox()
      const folder = store.createFolder(store.wellKnownFolder(guid, 'inbox').id, req.name as string)
      const items: string[] = []
      // One item a second, oldest first, ending now: listings page by creation time (EWS: keyset on
      // DateTimeCreated), and real folders do not hold thousands of items created within one second.
      const count = req.count ?? 0
      const start = Date.now() - count * 1000
      for (let i = 0; i < count; i++) {
        const data = itemStream(`${req.name as string} #${i}`, req.size ?? 1000)
        items.push(store.createItem(folder.id, data, { created: new Date(start + i * 1000) }).id)
      }
      return {
        folder: ids(folder.id, kind),
        items: items.map((i) => ids(i, kind)),
        bytes: items.reduce((n, i) => n + store.requireItem(i).size, 0),
        graphMailbox: sims.graph.mailboxId(guid)
      }
    }
    case 'drop':
      store.deleteFolder(req.folder as string)
      return {}
    case 'count':
      return { count: store.itemsIn(req.folder as string).length }
    case 'graphStats': {
      const stats = { ...sims.graph.stats, apps: undefined }
      if (req.reset === true) sims.graph.resetStats()
      return { stats }
    }
    default:
      throw new Error(`unknown command ${req.cmd}`)
  }
}

process.on('message', (req: Request) => {
  try {
    process.send?.({ id: req.id, ...handle(req) })
  } catch (err) {
    process.send?.({ id: req.id, error: (err as Error).message })
  }
})
process.on('SIGTERM', () => {
  Promise.all(Object.values(sets).map(async (s) => { await s.close() })).finally(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  }).catch(() => undefined)
})
process.send({ ready: true, sets: described })
