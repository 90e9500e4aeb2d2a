/**
 * The edge where configuration picks implementations: one adapter per configured
 * backend (EWS or Graph), their token providers, one shared retry/pacing policy,
 * and the router over them.
 */
import type { Logger } from 'pino'
import { resolveBackend, type GatewayConfig, type ResolvedBackend, type RuntimeExtras } from '../config.js'
import { createMsalTokenProvider, type MsalTokenProvider } from '../auth/msal-token-provider.js'
import type { MailboxBackend } from './mailbox-backend.js'
import { Policy } from './policy.js'
import { BackendRouter } from './router.js'
import { createEwsBackend } from './ews/index.js'
import { createGraphBackend } from './graph/index.js'

/** The adapter for one resolved backend, with its token provider when it uses OAuth. */
function createBackend (backend: ResolvedBackend, policy: Policy, logger: Logger): MailboxBackend {
  const log = logger.child({ backend: backend.name })
  if (backend.type === 'ews') {
    const auth = backend.auth
    const tokens = auth.kind === 'oauth' ? createMsalTokenProvider({ ...auth.oauth, logger: log }) : undefined
    const deps = { policy, logger: log, ...(tokens !== undefined ? { tokenProvider: tokens } : {}) }
    return withClose(createEwsBackend(backend, deps), tokens)
  }
  const tokens = createMsalTokenProvider({ ...backend.oauth, logger: log })
  return withClose(createGraphBackend(backend, { policy, logger: log, tokenProvider: tokens }), tokens)
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
 * any adapter is created; a resolution failure throws MBG_ERR_CONFIG_INVALID.
 */
export function createRouter (
  config: GatewayConfig, extras: RuntimeExtras, logger: Logger, options: { discoveryTtlMs?: number } = {}
): BackendRouter {
  const policy = new Policy(config.policy ?? {})
  const resolved = Object.entries(config.backends).map(([name, settings]) => resolveBackend(name, settings, extras))
  const backends = new Map(resolved.map((b): [string, MailboxBackend] => [b.name, createBackend(b, policy, logger)]))
  return new BackendRouter({ backends, mailboxes: config.mailboxes, logger, ...options })
}
