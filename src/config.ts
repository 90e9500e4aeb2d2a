/**
 * Configuration: environment variables plus an optional JSON document describing
 * backends and mailboxes. This is the only module that reads process.env.
 * Everything is validated at boot; errors name the offending key.
 */
import { readFileSync } from 'node:fs'
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import envSchema from 'env-schema'
import { ConfigInvalid } from './errors.js'

if (!FormatRegistry.Has('email')) FormatRegistry.Set('email', (v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v))

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface to listen on (0.0.0.0 in containers).' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent')
    ],
    { default: 'info' }
  ),
  MBG_CONFIG_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'Path of the backends/mailboxes JSON document.' })
  ),
  MBG_CONFIG: Type.Optional(Type.String({ minLength: 1, description: 'The same JSON document, inline.' })),
  MAX_BATCH_ITEMS: Type.Integer({
    default: 100,
    minimum: 1,
    maximum: 1000,
    description: 'Most ids per export and items per import request.'
  }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 128 * 1024 * 1024, minimum: 1024, description: 'Largest request body.' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ default: 300_000, minimum: 1000 }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    default: 1000,
    minimum: 0,
    description: 'Shed load (503) when the event loop lags more than this; 0 disables.'
  }),
  PAGE_TOKEN_SECRET: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'Key that seals page tokens; set it so tokens survive restarts and work across replicas.'
    })
  )
})
export type Env = Static<typeof EnvSchema>

const Secret = Type.String({
  minLength: 1,
  description: 'A literal value, or "env:NAME" to read it from the environment.'
})
const Tls = Type.Object({
  caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file with extra CA certificates to trust.' }))
}, { additionalProperties: false })
const Certificate = Type.Object({
  thumbprint: Type.String({ pattern: '^[0-9A-Fa-f]{40}$' }),
  privateKeyFile: Type.String({ minLength: 1 })
}, { additionalProperties: false })
const OAuthCredentials = {
  tenantId: Type.String({ minLength: 1 }),
  clientId: Type.String({ minLength: 1 }),
  clientSecret: Type.Optional(Secret),
  certificate: Type.Optional(Certificate),
  authorityHost: Type.Optional(Type.String({ pattern: '^https://' }))
}

export const EwsBackendSchema = Type.Object({
  type: Type.Literal('ews'),
  url: Type.String({ pattern: '^https?://.+/EWS/Exchange\\.asmx$', description: 'EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx' }),
  auth: Type.Union([
    Type.Object({ kind: Type.Literal('basic'), username: Type.String({ minLength: 1 }), password: Secret },
      { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('oauth'), ...OAuthCredentials, scope: Type.Optional(Type.String()) },
      { additionalProperties: false })
  ]),
  serverVersion: Type.Optional(Type.String({ default: 'Exchange2013_SP1' })),
  impersonation: Type.Optional(Type.Boolean({ default: true })),
  exportBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  uploadBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
  tls: Type.Optional(Tls)
}, { additionalProperties: false })

export const GraphBackendSchema = Type.Object({
  type: Type.Literal('graph'),
  ...OAuthCredentials,
  graphUrl: Type.Optional(Type.String({ pattern: '^https://[^/]+$', default: 'https://graph.microsoft.com' })),
  apiVersion: Type.Optional(Type.Object({
    primary: Type.Union([Type.Literal('v1.0'), Type.Literal('beta')]),
    archive: Type.Literal('beta')
  }, { additionalProperties: false })),
  exportBatchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  importConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 999 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1000 })),
  allowedImportHosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  tls: Type.Optional(Tls)
}, { additionalProperties: false })

export const GatewayConfigSchema = Type.Object({
  backends: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }),
    Type.Union([EwsBackendSchema, GraphBackendSchema])),
  mailboxes: Type.Array(Type.Object({
    address: Type.String({ format: 'email' }),
    backend: Type.String({ minLength: 1 }),
    displayName: Type.Optional(Type.String())
  }, { additionalProperties: false }), { minItems: 1 }),
  policy: Type.Optional(Type.Object({
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    maxInlineDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 }))
  }, { additionalProperties: false })),
  crossBackendImport: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
    description: 'Whether data exported from one backend type may be imported into the other (EWS ExportItems data into Graph import and back). Undocumented by Microsoft; default deny.'
  }))
}, { additionalProperties: false })

export type EwsBackendSettings = Static<typeof EwsBackendSchema>
export type GraphBackendSettings = Static<typeof GraphBackendSchema>
export type GatewayConfig = Static<typeof GatewayConfigSchema>

/** Runtime extras the config file cannot express (demo mode passes CA PEMs directly). */
export interface RuntimeExtras {
  /** Extra CA PEM trusted by every backend (the simulators' throwaway certificate). */
  ca?: string
  /** Hosts an importUrl may point at, in addition to configured ones. */
  importHosts?: string[]
}

function formatErrors (schema: TSchema, value: unknown): string {
  return [...Value.Errors(schema, value)]
    .slice(0, 5)
    .map((e) => `${e.path === '' ? '/' : e.path}: ${e.message}`)
    .join('; ')
}

/** Validates the backends/mailboxes document; throws MBG_ERR_CONFIG_INVALID with the first problems. */
export function parseGatewayConfig (raw: unknown, source: string): GatewayConfig {
  if (!Value.Check(GatewayConfigSchema, raw)) {
    throw new ConfigInvalid(`${source}: ${formatErrors(GatewayConfigSchema, raw)}`)
  }
  const config = raw
  for (const m of config.mailboxes) {
    if (config.backends[m.backend] === undefined) {
      throw new ConfigInvalid(`${source}: mailbox ${m.address} names unknown backend "${m.backend}"`)
    }
  }
  for (const [name, b] of Object.entries(config.backends)) {
    const creds = b.type === 'graph' ? b : b.auth.kind === 'oauth' ? b.auth : undefined
    if (creds !== undefined && creds.clientSecret === undefined && creds.certificate === undefined) {
      throw new ConfigInvalid(`${source}: backend "${name}" needs clientSecret or certificate`)
    }
  }
  const seen = new Set<string>()
  for (const m of config.mailboxes) {
    const key = m.address.toLowerCase()
    if (seen.has(key)) throw new ConfigInvalid(`${source}: mailbox ${m.address} is listed twice`)
    seen.add(key)
  }
  return config
}

/** Resolves "env:NAME" secret references. */
export function resolveSecret (value: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!value.startsWith('env:')) return value
  const name = value.slice(4)
  const v = env[name]
  if (v === undefined || v === '') {
    throw new ConfigInvalid(`environment variable ${name} (referenced as a secret) is not set`)
  }
  return v
}

export function readFileSetting (path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigInvalid(`cannot read ${what} ${path}: ${(err as Error).message}`)
  }
}

export interface LoadedConfig {
  env: Env
  /** Undefined means demo mode: no backend configured. */
  gateway?: GatewayConfig
}

export function loadConfig (env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let parsedEnv: Env
  try {
    // An empty variable counts as unset (`MBG_CONFIG=` in a compose file means "none").
    const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
    parsedEnv = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (err) {
    throw new ConfigInvalid((err as Error).message)
  }
  if (parsedEnv.MBG_CONFIG_FILE !== undefined && parsedEnv.MBG_CONFIG !== undefined) {
    throw new ConfigInvalid('set MBG_CONFIG_FILE or MBG_CONFIG, not both')
  }
  let text: string | undefined
  let source = ''
  if (parsedEnv.MBG_CONFIG_FILE !== undefined) {
    text = readFileSetting(parsedEnv.MBG_CONFIG_FILE, 'config file')
    source = parsedEnv.MBG_CONFIG_FILE
  } else if (parsedEnv.MBG_CONFIG !== undefined) {
    text = parsedEnv.MBG_CONFIG
    source = 'MBG_CONFIG'
  }
  if (text === undefined) return { env: parsedEnv }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigInvalid(`${source} is not valid JSON: ${(err as Error).message}`)
  }
  return { env: parsedEnv, gateway: parseGatewayConfig(raw, source) }
}
