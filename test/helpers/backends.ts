/**
 * Settings for tests that build an adapter directly: one backend written as the JSON
 * document would hold it (`type` implied), parsed and resolved the way the gateway does it
 * (src/config.ts), so the adapter gets exactly what it gets in production. Tests that need
 * a value the document cannot hold (a sub-second timeout) override the resolved object.
 */
import {
  parseGatewayConfig, resolveEwsBackend, resolveGraphBackend, type BackendSettings, type ResolvedEwsBackend,
  type ResolvedGraphBackend, type RuntimeExtras
} from '../../src/config.js'
import type { Test } from 'tap'
import type { Logger } from 'pino'
import type { MailboxBackend, MailboxRef } from '../../src/backends/mailbox-backend.js'
import type { Policy } from '../../src/backends/policy.js'
import { createGraphBackend } from '../../src/backends/graph/index.js'
import { createMsalTokenProvider } from '../../src/auth/msal-token-provider.js'
import { DEMO_MAILBOXES, DEMO_TENANT_ID } from '../../src/simulators/store/seed.js'

/** A demo user's mailbox as the router would hand it to an EWS adapter named `ews` (id: the user's name). */
export function ewsMailbox (user: 'alice' | 'bob', kind: 'primary' | 'archive' = 'primary'): MailboxRef {
  const id = kind === 'primary' ? user : `${user}-archive`
  return { id, address: DEMO_MAILBOXES[user].smtp, type: 'ews', kind, backend: 'ews' }
}

/** OAuth settings for an EWS backend whose token provider is a test stub. */
export const STUB_OAUTH = { kind: 'oauth', tenantId: 'tenant', clientId: 'client', clientSecret: 'unused' } as const

function parsed (name: string, backend: Record<string, unknown>): BackendSettings {
  const doc = { backends: { [name]: backend }, mailboxes: [{ address: 'test@contoso.example', backend: name }] }
  const config = parseGatewayConfig(doc, `test backend ${name}`)
  return config.backends[name]
}

/** `settings`: an EWS backend of the JSON document without `type`. */
export function ewsConfig (
  name: string, settings: Record<string, unknown>, extras: RuntimeExtras = {}
): ResolvedEwsBackend {
  const s = parsed(name, { type: 'ews', ...settings })
  if (s.type !== 'ews') throw new Error(`${name} is not an EWS backend`)
  return resolveEwsBackend(name, s, extras)
}

/** `settings`: a Graph backend of the JSON document without `type`. */
export function graphConfig (
  name: string, settings: Record<string, unknown>, extras: RuntimeExtras = {}
): ResolvedGraphBackend {
  const s = parsed(name, { type: 'graph', ...settings })
  if (s.type !== 'graph') throw new Error(`${name} is not a Graph backend`)
  return resolveGraphBackend(name, s, extras)
}

/** The simulators and shared parts a directly built Graph adapter talks to. */
export interface GraphChain {
  /** The identity simulator's host (`127.0.0.1:port`): the MSAL authority host. */
  identityHost: string
  /** The Graph simulator's base URL and its import origin. */
  graph: { url: string, importOrigin: string }
  /** The loopback CA both simulators' certificates chain to. */
  ca: string
  policy: Policy
  logger: Logger
}

/**
 * A Graph adapter named `name` for the app `app` over the real chain (identity simulator → MSAL → adapter →
 * Graph simulator), closed with its token provider at `t`'s teardown. `settings` adds to or overrides the
 * backend's JSON settings (pageSize 50 unless given).
 */
export function graphBackendOn (
  t: Test, chain: GraphChain, app: { clientId: string, clientSecret: string }, name = 'graph',
  settings: Record<string, unknown> = {}
): { backend: MailboxBackend, tokens: ReturnType<typeof createMsalTokenProvider> } {
  const config = graphConfig(name, {
    tenantId: DEMO_TENANT_ID,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    authorityHost: `https://${chain.identityHost}`,
    graphUrl: chain.graph.url,
    allowedImportHosts: [new URL(chain.graph.importOrigin).host],
    pageSize: 50,
    ...settings
  }, { ca: chain.ca })
  const tokens = createMsalTokenProvider({ ...config.oauth, logger: chain.logger })
  const backend = createGraphBackend(config, { policy: chain.policy, logger: chain.logger, tokenProvider: tokens })
  t.teardown(async () => { await backend.close(); await tokens.close() })
  return { backend, tokens }
}
