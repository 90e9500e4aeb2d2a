/**
 * Microsoft Graph simulator: the mailbox import/export surface (settings/exchange, mailbox folders
 * and items, delta, exportItems, createImportSession) on one HTTPS listener, and the pre-authenticated
 * import endpoint (outlook.office365.com) on a second one. Serves from the shared MailboxStore.
 */
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { SimContext } from './context.js'
import { DeltaRounds } from './delta.js'
import { graphHandler } from './graph-server.js'
import { formatMailboxId, toWireId } from './ids.js'
import { importHandler } from './import-server.js'
import { ImportTokens } from './import-token.js'
import { AppLoad, Throttle } from './throttle.js'
import {
  DEFAULT_QUIRKS, type GraphFaults, type GraphSimulator, type GraphSimulatorOptions, type GraphSimulatorStats
} from './types.js'
import { FaultPlan, GRAPH_FAULT_KINDS } from '../faults.js'
import { performance } from 'node:perf_hooks'

export type {
  BearerIdentity, GraphAppStats, GraphExportDamage, GraphFaultCounts, GraphFaults, GraphQuirks, GraphSimulator,
  GraphSimulatorOptions, GraphSimulatorStats, GraphThrottling
} from './types.js'
export { toWireId, fromWireId, formatMailboxId, parseMailboxId } from './ids.js'

async function listen (server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return (server.address() as AddressInfo).port
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) return
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Exchange Online accepts messages up to 150 MB; base64 adds a third. */
const IMPORT_BODY_LIMIT = 210 * 1024 * 1024

function makeFaults (tokens: ImportTokens, options: GraphSimulatorOptions): GraphFaults {
  const faults = {
    throttle: 0,
    retryAfterSec: 1,
    http503: 0,
    delayMs: 0,
    plan: new FaultPlan(GRAPH_FAULT_KINDS, 'graph faults', options.faultPlan),
    importMaxBytes: options.importMaxBytes ?? IMPORT_BODY_LIMIT,
    ...(options.poison !== undefined ? { poison: options.poison } : {})
  } as GraphFaults
  // A trigger rather than a state: setting it expires every import URL issued so far.
  Object.defineProperty(faults, 'expireSessions', {
    enumerable: true,
    get: () => false,
    set: (v: boolean) => { if (v) tokens.generation++ }
  })
  return faults
}

export async function startGraphSimulator (options: GraphSimulatorOptions): Promise<GraphSimulator> {
  const host = options.host ?? '127.0.0.1'
  const tokens = new ImportTokens()
  const store = options.store
  const quirks = { ...DEFAULT_QUIRKS, ...options.quirks }
  const ctx: SimContext = {
    store,
    url: '',
    importOrigin: '',
    faults: makeFaults(tokens, options),
    quirks,
    stats: {
      requests: 0, throttled: 0, sessionsCreated: 0, byOperation: {}, concurrencyViolations: 0, apps: {}, faults: {}
    },
    sessionLifetimeSec: options.importSessionLifetimeSec ?? 900,
    acceptForeignData: options.acceptForeignData ?? true,
    exported: new Set(),
    tokens,
    delta: new DeltaRounds(),
    mailboxId: (guid) => formatMailboxId(guid, store.tenantId),
    wireId: (storeId) => quirks.standardBase64Ids ? storeId : toWireId(storeId)
  }
  const throttle = new Throttle(options.throttling, ctx.stats)
  const logger = options.logger?.child({ component: 'graph-simulator' })
  const tls = { key: options.tls.key, cert: options.tls.cert }
  const graph = createServer(tls, graphHandler({ ctx, throttle, verifyBearer: options.verifyBearer, logger }))
  const outlook = createServer(tls, importHandler({ ctx, throttle, logger }))
  // As in the EWS simulator: idle connections outlive every client's reuse window; close() ends them all.
  graph.keepAliveTimeout = 65_000
  outlook.keepAliveTimeout = 65_000
  const urlHost = host.includes(':') ? `[${host}]` : host
  try {
    ctx.url = `https://${urlHost}:${await listen(graph, options.port ?? 0, host)}`
    ctx.importOrigin = `https://${urlHost}:${await listen(outlook, options.outlookPort ?? 0, host)}`
  } catch (err) {
    await Promise.all([closeServer(graph), closeServer(outlook)])
    throw err
  }
  logger?.info({ url: ctx.url, importOrigin: ctx.importOrigin }, 'graph simulator listening')
  return {
    url: ctx.url,
    importOrigin: ctx.importOrigin,
    faults: ctx.faults,
    quirks,
    stats: ctx.stats,
    resetStats: () => { resetStats(ctx.stats) },
    mailboxId: ctx.mailboxId,
    close: async () => { await Promise.all([closeServer(graph), closeServer(outlook)]) }
  }
}

function resetStats (stats: GraphSimulatorStats): void {
  stats.requests = 0
  stats.throttled = 0
  stats.sessionsCreated = 0
  stats.byOperation = {}
  stats.concurrencyViolations = 0
  stats.faults = {}
  // The per-app objects also hold the live in-flight counts the concurrency limit reads: reset, never replace.
  const now = performance.now()
  for (const load of Object.values(stats.apps)) (load as AppLoad).reset(now)
}
