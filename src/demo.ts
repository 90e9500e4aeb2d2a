/**
 * Demo mode: with no backend configured, the gateway starts the simulators on
 * loopback and configures itself against them — Alice and Bob as EWS
 * mailboxes (Basic auth, impersonation), Carol and Dave as Graph mailboxes
 * (client credentials through MSAL against the identity simulator).
 */
import type { Logger } from 'pino'
import { CALLER_SCOPES, parseGatewayConfig, type GatewayConfig, type RuntimeExtras } from './config.js'
import { simulatorFaultsFromEnv } from './simulators/faults.js'
import { startSimulators, DEMO_CREDENTIALS, GATEWAY_RESOURCE, type Simulators } from './simulators/index.js'
import { hashApiKey } from './access/authenticator.js'
import { DEMO_MAILBOXES } from './simulators/store/seed.js'

export interface Demo {
  simulators: Simulators
  config: GatewayConfig
  extras: RuntimeExtras
}

/**
 * The backends/mailboxes document (README "Configuration") for the simulators: Alice and Bob
 * on the EWS simulator, Carol and Dave on Graph, the import endpoint's host allowed. With
 * `caFile` (the simulators' CA written to a file) every backend trusts it through
 * `tls.caFile`, so the document works as MBG_CONFIG as is (`npm run sim` prints it); without,
 * the CA is passed as a runtime extra (demo mode, demoConfig).
 */
export function simulatorDocument (sims: Simulators, options: { caFile?: string, apiKey?: string } = {}):
Record<string, unknown> {
  const authority = new URL(sims.identity.authority)
  const importHost = new URL(sims.graph.importOrigin).host
  const tls = options.caFile !== undefined ? { tls: { caFile: options.caFile } } : {}
  return {
    backends: {
      'onprem-ews': {
        type: 'ews',
        url: sims.ews.url,
        auth: { kind: 'basic', username: DEMO_CREDENTIALS.ews.username, password: DEMO_CREDENTIALS.ews.password },
        impersonation: true,
        ...tls
      },
      'exo-graph': {
        type: 'graph',
        tenantId: sims.tenantId,
        clientId: DEMO_CREDENTIALS.app.clientId,
        clientSecret: DEMO_CREDENTIALS.app.clientSecret,
        authorityHost: authority.origin,
        graphUrl: sims.graph.url,
        allowedImportHosts: [importHost],
        ...tls
      }
    },
    mailboxes: [
      { address: DEMO_MAILBOXES.alice.smtp, backend: 'onprem-ews', displayName: DEMO_MAILBOXES.alice.name },
      { address: DEMO_MAILBOXES.bob.smtp, backend: 'onprem-ews', displayName: DEMO_MAILBOXES.bob.name },
      { address: DEMO_MAILBOXES.carol.smtp, backend: 'exo-graph', displayName: DEMO_MAILBOXES.carol.name },
      { address: DEMO_MAILBOXES.dave.smtp, backend: 'exo-graph', displayName: DEMO_MAILBOXES.dave.name }
    ],
    auth: demoAuth(sims, options),
    // The simulators accept each other's streams; real Exchange behaviour is undocumented (see README).
    crossBackendImport: 'allow'
  }
}

/**
 * Callers of the demo gateway: one client, `demo`, holding every scope for every mailbox, reached with
 * `apiKey` (when given) or with a bearer token the identity simulator issues to the demo caller app
 * (DEMO_CREDENTIALS.caller, client credentials for `api://mailbox-gateway/.default`).
 */
function demoAuth (sims: Simulators, options: { caFile?: string, apiKey?: string }): Record<string, unknown> {
  return {
    mode: 'required',
    oidc: {
      issuer: sims.identity.issuer,
      audience: [GATEWAY_RESOURCE],
      ...(options.caFile !== undefined ? { tls: { caFile: options.caFile } } : {})
    },
    clients: [{
      name: 'demo',
      apiKeys: options.apiKey !== undefined ? [{ id: 'demo', sha256: hashApiKey(options.apiKey) }] : [],
      appIds: [DEMO_CREDENTIALS.caller.clientId],
      scopes: [...CALLER_SCOPES],
      mailboxes: ['*']
    }]
  }
}

/**
 * The demo document, parsed like a configured one (defaults filled in), plus the simulators' CA; `apiKey` is the
 * demo client's key (demo mode makes one per run, or takes DEMO_API_KEY).
 */
export function demoConfig (sims: Simulators, apiKey?: string): { config: GatewayConfig, extras: RuntimeExtras } {
  const doc = simulatorDocument(sims, apiKey !== undefined ? { apiKey } : {})
  return { config: parseGatewayConfig(doc, 'demo configuration'), extras: { ca: sims.ca } }
}

/**
 * Configured mode (a backend configured, no simulators started): SIMULATOR_FAULTS has nothing to act on, so when
 * it is set anyway this logs one warning saying it is ignored.
 */
export function warnFaultsIgnored (logger: Logger, env: NodeJS.ProcessEnv = process.env): void {
  if ((env.SIMULATOR_FAULTS?.trim() ?? '') === '') return
  logger.warn('SIMULATOR_FAULTS is ignored: a backend is configured, and the simulators only run in demo mode ' +
    '(`npm run sim` reads it too)')
}

/**
 * Starts the simulators for demo mode, with the faults SIMULATOR_FAULTS asks for (README "Simulators and demo
 * mode"). Throws a one-line Error when SIMULATOR_FAULTS is not valid.
 */
export async function startDemo (apiKey: string, logger?: Logger, env: NodeJS.ProcessEnv = process.env):
Promise<Demo> {
  const faults = simulatorFaultsFromEnv(env)
  if (faults !== undefined) logger?.warn({ faults }, 'demo mode: SIMULATOR_FAULTS injects faults into the simulators')
  const simulators = await startSimulators({
    ...(logger !== undefined ? { logger } : {}),
    ...(faults !== undefined ? { faults } : {})
  })
  return { simulators, ...demoConfig(simulators, apiKey) }
}
