/**
 * The edge where configuration picks implementations: one adapter per configured
 * backend (EWS or Graph), their token providers, one shared retry/pacing policy,
 * and the router over them.
 */
import type { Logger } from 'pino'
import {
  readFileSetting,
  resolveSecret,
  type EwsBackendSettings,
  type GatewayConfig,
  type GraphBackendSettings,
  type RuntimeExtras
} from '../config.js'
import { createMsalTokenProvider } from '../auth/msal-token-provider.js'
import type { TokenProvider } from '../auth/token-provider.js'
import type { MailboxBackend } from './mailbox-backend.js'
import { Policy } from './policy.js'
import { BackendRouter } from './router.js'
import { createEwsBackend } from './ews/index.js'
import { createGraphBackend } from './graph/index.js'

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com'

interface Credentials {
  tenantId: string
  clientId: string
  clientSecret?: string
  certificate?: { thumbprint: string, privateKeyFile: string }
  authorityHost?: string
}

function caFor (tls: { caFile?: string } | undefined, extras: RuntimeExtras): string | undefined {
  const pems = [tls?.caFile !== undefined ? readFileSetting(tls.caFile, 'CA file') : undefined, extras.ca].filter(
    (p): p is string => p !== undefined
  )
  return pems.length > 0 ? pems.join('\n') : undefined
}

function tokenProvider (creds: Credentials, scope: string, ca: string | undefined,
  logger: Logger): TokenProvider & { close: () => Promise<void> } {
  return createMsalTokenProvider({
    tenantId: creds.tenantId,
    clientId: creds.clientId,
    ...(creds.clientSecret !== undefined ? { clientSecret: resolveSecret(creds.clientSecret) } : {}),
    ...(creds.certificate !== undefined
      ? {
          certificate: {
            thumbprint: creds.certificate.thumbprint,
            privateKey: readFileSetting(creds.certificate.privateKeyFile, 'certificate key')
          }
        }
      : {}),
    authorityHost: creds.authorityHost ?? DEFAULT_AUTHORITY,
    scope,
    ...(ca !== undefined ? { ca } : {}),
    logger
  })
}

function ewsBackend (name: string, s: EwsBackendSettings, policy: Policy, extras: RuntimeExtras,
  logger: Logger): MailboxBackend {
  const ca = caFor(s.tls, extras)
  const log = logger.child({ backend: name })
  const tokens =
    s.auth.kind === 'oauth'
      ? tokenProvider(s.auth, s.auth.scope ?? 'https://outlook.office365.com/.default', ca, log)
      : undefined
  const backend = createEwsBackend(
    {
      name,
      url: s.url,
      auth:
        s.auth.kind === 'basic'
          ? { kind: 'basic', username: s.auth.username, password: resolveSecret(s.auth.password) }
          : { kind: 'oauth' },
      ...(s.serverVersion !== undefined ? { serverVersion: s.serverVersion } : {}),
      ...(s.impersonation !== undefined ? { impersonation: s.impersonation } : {}),
      ...(s.exportBatchSize !== undefined ? { exportBatchSize: s.exportBatchSize } : {}),
      ...(s.uploadBatchSize !== undefined ? { uploadBatchSize: s.uploadBatchSize } : {}),
      ...(s.pageSize !== undefined ? { pageSize: s.pageSize } : {}),
      ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
      ...(ca !== undefined ? { tls: { ca } } : {})
    },
    { policy, logger: log, ...(tokens !== undefined ? { tokenProvider: tokens } : {}) }
  )
  return withClose(backend, tokens)
}

function graphBackend (name: string, s: GraphBackendSettings, policy: Policy, extras: RuntimeExtras,
  logger: Logger): MailboxBackend {
  const ca = caFor(s.tls, extras)
  const log = logger.child({ backend: name })
  const tokens = tokenProvider(s, 'https://graph.microsoft.com/.default', ca, log)
  const backend = createGraphBackend({
    name,
    graphUrl: s.graphUrl ?? 'https://graph.microsoft.com',
    ...(s.apiVersion !== undefined ? { apiVersion: s.apiVersion } : {}),
    ...(s.exportBatchSize !== undefined ? { exportBatchSize: s.exportBatchSize } : {}),
    ...(s.importConcurrency !== undefined ? { importConcurrency: s.importConcurrency } : {}),
    ...(s.pageSize !== undefined ? { pageSize: s.pageSize } : {}),
    ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    allowedImportHosts: [...(s.allowedImportHosts ?? ['outlook.office365.com']), ...(extras.importHosts ?? [])],
    ...(ca !== undefined ? { tls: { ca } } : {})
  }, { policy, logger: log, tokenProvider: tokens })
  return withClose(backend, tokens)
}

/** Closes the token provider together with the adapter. */
function withClose (backend: MailboxBackend, tokens: { close: () => Promise<void> } | undefined): MailboxBackend {
  if (tokens === undefined) return backend
  const close = backend.close.bind(backend)
  backend.close = async () => { await close(); await tokens.close() }
  return backend
}

export function createRouter (config: GatewayConfig, extras: RuntimeExtras, logger: Logger,
  options: { discoveryTtlMs?: number } = {}): BackendRouter {
  const policy = new Policy(config.policy ?? {})
  const backends = new Map<string, MailboxBackend>()
  for (const [name, settings] of Object.entries(config.backends)) {
    backends.set(name, settings.type === 'ews'
      ? ewsBackend(name, settings, policy, extras, logger)
      : graphBackend(name, settings, policy, extras, logger))
  }
  return new BackendRouter({ backends, mailboxes: config.mailboxes, logger, ...options })
}
