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
import { formatMailboxId } from './ids.js'
import { importHandler } from './import-server.js'
import { ImportTokens } from './import-token.js'
import { Throttle } from './throttle.js'
import type { GraphFaults, GraphSimulator, GraphSimulatorOptions } from './types.js'

export type {
  BearerIdentity,
  GraphFaults,
  GraphSimulator,
  GraphSimulatorOptions,
  GraphSimulatorStats,
  GraphThrottling
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

function makeFaults (tokens: ImportTokens): GraphFaults {
  const faults = { throttle: 0, retryAfterSec: 1, http503: 0, delayMs: 0 } as GraphFaults
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
  const ctx: SimContext = {
    store,
    url: '',
    importOrigin: '',
    faults: makeFaults(tokens),
    stats: { requests: 0, throttled: 0, sessionsCreated: 0 },
    sessionLifetimeSec: options.importSessionLifetimeSec ?? 900,
    acceptForeignData: options.acceptForeignData ?? true,
    exported: new Set(),
    tokens,
    delta: new DeltaRounds(),
    mailboxId: (guid) => formatMailboxId(guid, store.tenantId)
  }
  const throttle = new Throttle(options.throttling)
  const logger = options.logger?.child({ component: 'graph-simulator' })
  const tls = { key: options.tls.key, cert: options.tls.cert }
  const graph = createServer(tls, graphHandler({ ctx, throttle, verifyBearer: options.verifyBearer, logger }))
  const outlook = createServer(tls, importHandler({ ctx, throttle, logger }))
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
    stats: ctx.stats,
    mailboxId: ctx.mailboxId,
    close: async () => { await Promise.all([closeServer(graph), closeServer(outlook)]) }
  }
}
