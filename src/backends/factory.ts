/**
 * The edge where configuration picks implementations: one adapter per configured
 * backend (EWS or Graph), their token providers, one shared retry/pacing policy,
 * and the router over them.
 */
import type { Logger } from 'pino'
import { resolveBackend, type GatewayConfig, type ResolvedBackend, type RuntimeExtras } from '../config.js'
import { createMsalTokenProvider, type MsalTokenProvider } from '../auth/msal-token-provider.js'
import type { MailboxBackend } from './mailbox-backend.js'
import { NO_TELEMETRY, type Telemetry } from '../telemetry.js'
import type { MailboxRegistryStore } from '../state/store.js'
import { Policy } from './policy.js'
import { BackendRouter } from './router.js'
import { createEwsBackend } from './ews/index.js'
import { createGraphBackend } from './graph/index.js'

/** The adapter for one resolved backend, and its token provider when it uses OAuth. */
function createBackend (
  backend: ResolvedBackend, policy: Policy, logger: Logger
): { adapter: MailboxBackend, tokens?: MsalTokenProvider } {
  const log = logger.child({ backend: backend.name })
  if (backend.type === 'ews') {
    const auth = backend.auth
    const settings = { backend: backend.name, path: `backends.${backend.name}.auth` }
    const tokens = auth.kind === 'oauth' ? createMsalTokenProvider({ ...auth.oauth, logger: log, settings }) : undefined
    const deps = { policy, logger: log, ...(tokens !== undefined ? { tokenProvider: tokens } : {}) }
    return { adapter: withClose(createEwsBackend(backend, deps), tokens), ...(tokens !== undefined ? { tokens } : {}) }
  }
  const settings = { backend: backend.name, path: `backends.${backend.name}` }
  const tokens = createMsalTokenProvider({ ...backend.oauth, logger: log, settings })
  const adapter = createGraphBackend(backend, { policy, logger: log, tokenProvider: tokens })
  return { adapter: withClose(adapter, tokens), tokens }
}

/** Closes the token provider together with the adapter. */
function withClose (backend: MailboxBackend, tokens: MsalTokenProvider | undefined): MailboxBackend {
  if (tokens === undefined) return backend
  const close = backend.close.bind(backend)
  backend.close = async () => { await close(); await tokens.close() }
  return backend
}

/**
 * Builds the router over a parsed config. Every backend is resolved (secrets, files) before
 * any adapter is created; a resolution failure throws MBG_ERR_CONFIG_INVALID. The token
 * providers go to the router too, for the start-up check (src/backends/health.ts), and so do
 * the policy's circuits, for readiness. `telemetry` receives what the policy reports.
 */
export function createRouter (
  config: GatewayConfig, extras: RuntimeExtras, logger: Logger,
  options: { discoveryTtlMs?: number, telemetry?: Telemetry, registry?: MailboxRegistryStore } = {}
): BackendRouter {
  const { telemetry = NO_TELEMETRY, ...routerOptions } = options
  const policy = new Policy(config.policy ?? {}, telemetry)
  const resolved = Object.entries(config.backends).map(([name, settings]) => resolveBackend(name, settings, extras))
  const created = resolved.map((b) => ({ name: b.name, ...createBackend(b, policy, logger) }))
  const backends = new Map(created.map((c): [string, MailboxBackend] => [c.name, c.adapter]))
  const tokenProviders = new Map(created.flatMap((c): Array<[string, MsalTokenProvider]> =>
    c.tokens !== undefined ? [[c.name, c.tokens]] : []))
  return new BackendRouter({
    backends,
    mailboxes: config.mailboxes,
    logger,
    tokenProviders,
    circuits: (name) => policy.circuit(name),
    ...routerOptions
  })
}
