import type { Logger } from 'pino'

/** An app registration (service principal) of the simulated tenant. */
export interface IdentityApp {
  clientId: string
  clientSecret?: string
  /** SHA-1 hex thumbprint of the app's certificate (the `x5t` of its client assertions). */
  certificateThumbprint?: string
  /** PEM certificate or SPKI public key that verifies the app's client assertions. */
  publicKeyPem?: string
  /** Application permissions (app roles) granted per resource, e.g. `{ 'https://graph.microsoft.com': ['MailboxItem.Read.All'] }`. */
  roles: Record<string /* audience */, string[]>
}

export interface IdentitySimulatorOptions {
  tenantId: string
  apps: IdentityApp[]
  /** Interface to listen on; default 127.0.0.1. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  tls: { key: string, cert: string }
  /** Access-token lifetime; default 3600. */
  tokenLifetimeSec?: number
  logger?: Logger
}

export interface VerifiedToken {
  appId: string
  roles: string[]
  tenantId: string
  expiresAt: Date
}

export interface IdentitySimulator {
  /** https://127.0.0.1:PORT/{tenantId} */
  authority: string
  /** 127.0.0.1:PORT (for MSAL knownAuthorities) */
  host: string
  /** https://127.0.0.1:PORT/{tenantId}/v2.0 (the tokens' iss) */
  issuer: string
  /** Checks signature, iss, aud, exp and nbf; undefined when any check fails. */
  verify: (token: string, audience: string) => Promise<VerifiedToken | undefined>
  stats: { tokensIssued: number, failures: number }
  close: () => Promise<void>
}
