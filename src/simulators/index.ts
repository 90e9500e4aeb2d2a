/**
 * Starts the simulated Microsoft side on loopback over one shared store:
 * EWS (HTTP), identity (HTTPS, Entra ID v2.0 client credentials) and Graph
 * (HTTPS, plus a second HTTPS origin for import uploads). Used by demo mode,
 * `npm run sim`, tests and benchmarks.
 */
import type { Logger } from 'pino'
import type { SimulatorFaultsConfig } from './faults.js'
import { loopbackCertificate } from './tls.js'
import { startEwsSimulator, type EwsSimulator } from './ews/index.js'
import { startIdentitySimulator, type IdentityApp, type IdentitySimulator } from './identity/index.js'
import { startGraphSimulator, type GraphSimulator, type GraphThrottling } from './graph/index.js'
import { seedDemoTenant, DEMO_MAILBOXES, DEMO_TENANT_ID } from './store/seed.js'
import type { MailboxStore } from './store/store.js'
import { CALLER_SCOPES } from '../config.js'

export const GRAPH_RESOURCE = 'https://graph.microsoft.com'
export const EXCHANGE_RESOURCE = 'https://outlook.office365.com'
/**
 * The gateway's own app id URI: callers ask the identity simulator for `api://mailbox-gateway/.default`
 * and get a token with this audience whose `roles` are their gateway scopes (README "Security model").
 */
export const GATEWAY_RESOURCE = 'api://mailbox-gateway'

export const GRAPH_ROLES = [
  'MailboxFolder.Read.All', 'MailboxFolder.ReadWrite.All', 'MailboxItem.Read.All', 'MailboxItem.ReadWrite.All',
  'MailboxItem.Export.All', 'MailboxItem.ImportExport.All', 'User.Read.All',
  // MIME and property sets go through the Outlook APIs (messages, events, contacts), which need their own.
  'Mail.ReadWrite', 'Calendars.ReadWrite', 'Contacts.ReadWrite'
]

/** Demo credentials. They only open the simulators on this machine's loopback interface. */
export const DEMO_CREDENTIALS = {
  ews: { username: 'svc-gateway@contoso.example', password: 'demo-ews-password' },
  app: { clientId: '5d7e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0c11', clientSecret: 'demo-client-secret' },
  /** A caller of the gateway (an integration platform's app registration) holding every gateway scope. */
  caller: { clientId: '0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5', clientSecret: 'demo-caller-secret' }
} as const

export interface SimulatorsOptions {
  store?: MailboxStore
  host?: string
  logger?: Logger
  /** More app registrations in the identity simulator (e.g. one lacking a role). */
  extraApps?: IdentityApp[]
  /** Graph import session lifetime (seconds). */
  importSessionLifetimeSec?: number
  /** Fixed ports (`npm run sim -- --ews-port …`); absent or 0: a free port each. */
  ports?: SimulatorPorts
  /** Fault plans, poisoned items and limits (the SIMULATOR_FAULTS document; see ./faults.ts). */
  faults?: SimulatorFaultsConfig
  /** Outlook throttling of the Graph simulator (concurrency per app, requests per app + mailbox per window). */
  graphThrottling?: GraphThrottling
}

/** Ports of the four listeners. */
export interface SimulatorPorts {
  ews?: number
  identity?: number
  graph?: number
  /** The Graph import endpoint (models outlook.office365.com). */
  graphImport?: number
}

export interface Simulators {
  store: MailboxStore
  tenantId: string
  /** PEM of the throwaway certificate the HTTPS simulators use. */
  ca: string
  ews: EwsSimulator
  identity: IdentitySimulator
  graph: GraphSimulator
  close: () => Promise<void>
}

/**
 * Rights of the demo EWS service account: the impersonation right (EwsAccount.impersonation,
 * all mailboxes) and FullAccess on the mailboxes demo mode serves over EWS, so the gateway's
 * delegate mode (`impersonation: false`) works as well. Mailboxes missing from `store` are skipped.
 */
export function grantDemoServiceAccount (store: MailboxStore): void {
  for (const mailbox of [DEMO_MAILBOXES.alice, DEMO_MAILBOXES.bob]) {
    if (store.mailboxes.has(mailbox.guid)) store.grantFullAccess(mailbox.guid, DEMO_CREDENTIALS.ews.username)
  }
}

export async function startSimulators (options: SimulatorsOptions = {}): Promise<Simulators> {
  const store = options.store ?? seedDemoTenant()
  grantDemoServiceAccount(store)
  const host = options.host ?? '127.0.0.1'
  const tls = await loopbackCertificate()
  const child = (name: string): Logger | undefined => options.logger?.child({ simulator: name })
  const started: Array<{ close: () => Promise<void> }> = []
  const faults = options.faults ?? {}
  const seed = faults.seed !== undefined ? { seed: faults.seed } : {}
  try {
    const identity = await startIdentitySimulator({
      tenantId: store.tenantId,
      host,
      tls,
      apps: [{
        clientId: DEMO_CREDENTIALS.app.clientId,
        clientSecret: DEMO_CREDENTIALS.app.clientSecret,
        roles: { [GRAPH_RESOURCE]: GRAPH_ROLES, [EXCHANGE_RESOURCE]: ['full_access_as_app'] }
      }, {
        clientId: DEMO_CREDENTIALS.caller.clientId,
        clientSecret: DEMO_CREDENTIALS.caller.clientSecret,
        roles: { [GATEWAY_RESOURCE]: [...CALLER_SCOPES] }
      }, ...(options.extraApps ?? [])],
      ...opt('port', options.ports?.identity),
      ...opt('logger', child('identity'))
    })
    started.push(identity)
    const ews = await startEwsSimulator({
      store,
      host,
      accounts: [{ ...DEMO_CREDENTIALS.ews, impersonation: true }],
      verifyBearer: async (token) => await identity.verify(token, EXCHANGE_RESOURCE),
      ...opt('port', options.ports?.ews),
      ...opt('logger', child('ews')),
      ...(faults.ews !== undefined || faults.seed !== undefined
        ? { faultPlan: { ...seed, rules: faults.ews ?? [] } }
        : {}),
      ...opt('poison', faults.poison),
      ...opt('maxRequestBytes', faults.ewsMaxRequestBytes),
      ...opt('oversizeAnswer', faults.ewsOversizeAnswer)
    })
    started.push(ews)
    const graph = await startGraphSimulator({
      store,
      host,
      tls,
      verifyBearer: async (token) => await identity.verify(token, GRAPH_RESOURCE),
      ...opt('importSessionLifetimeSec', options.importSessionLifetimeSec),
      ...opt('port', options.ports?.graph),
      ...opt('outlookPort', options.ports?.graphImport),
      ...opt('logger', child('graph')),
      ...(faults.graph !== undefined || faults.seed !== undefined
        ? { faultPlan: { ...seed, rules: faults.graph ?? [] } }
        : {}),
      ...opt('poison', faults.poison),
      ...opt('importMaxBytes', faults.graphImportMaxBytes),
      ...(faults.graphConcurrencyPerApp !== undefined || options.graphThrottling !== undefined
        ? {
            throttling: {
              ...options.graphThrottling,
              ...opt('concurrencyPerApp', faults.graphConcurrencyPerApp)
            }
          }
        : {})
    })
    started.push(graph)
    return {
      store,
      tenantId: store.tenantId,
      ca: tls.ca,
      ews,
      identity,
      graph,
      close: async () => { await Promise.allSettled(started.reverse().map(async (s) => await s.close())) }
    }
  } catch (err) {
    await Promise.allSettled(started.map(async (s) => await s.close()))
    throw err
  }
}

function opt<K extends string, V> (key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>)
}

export { DEMO_TENANT_ID }
