/**
 * Configuration: environment variables plus an optional JSON document describing
 * backends and mailboxes. This is the only module that reads process.env.
 * Everything is validated at boot; errors name the offending key.
 *
 * The TypeBox schemas are the one description of every setting and its default:
 * parseGatewayConfig fills the defaults in once and checks, resolveBackend then
 * turns one backend's settings into the object its adapter and token provider
 * take as is (secrets, CA and key files read).
 */
import { readFileSync } from 'node:fs'
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import envSchema from 'env-schema'
import { ConfigInvalid } from './errors.js'
import { DEFAULT_ANSWER_CAPS } from './upstream/answer.js'

if (!FormatRegistry.Has('email')) FormatRegistry.Set('email', (v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v))

/**
 * Default STATE_STORE with a backend configured: a SQLite file under `data/` in the working directory (a folder git
 * ignores). Demo mode defaults to `memory` (see `stateStoreSetting`).
 */
export const DEFAULT_STATE_STORE = 'sqlite:data/mailbox-gateway.db'

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
  MAX_EXPORT_ANSWER_BYTES: Type.Integer({
    default: 64 * 1024 * 1024,
    minimum: 1,
    maximum: 256 * 1024 * 1024,
    description: 'Most item data (base64 characters) one export answer carries; ids past it get a per-item 413.'
  }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 128 * 1024 * 1024, minimum: 1024, description: 'Largest request body.' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ default: 300_000, minimum: 1000 }),
  SEND_STALL_TIMEOUT_MS: Type.Integer({
    default: 120_000,
    minimum: 0,
    description: 'A connection whose client has stopped reading its answer (bytes waiting, none taken) this long is ' +
      'closed, freeing the answer; 0: never.'
  }),
  UPSTREAM_DEADLINE_MS: Type.Integer({
    default: 120_000,
    minimum: 1000,
    maximum: 3_600_000,
    description: 'Longest one request to the gateway spends on backend calls, every retry, back-off and slow ' +
      'answer included; past it, calls are cut off and the request fails with 504 MBG_ERR_UPSTREAM_TIMEOUT.'
  }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    default: 1000,
    minimum: 0,
    description: 'Shed load (503) when the event loop lags more than this; 0 disables.'
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    default: 30_000,
    minimum: 1000,
    maximum: 3_600_000,
    description: 'Longest graceful shutdown after SIGTERM/SIGINT; batch work stops starting backend calls ' +
      '5 s before it (half-way for deadlines under 10 s), and work still running at it is logged and abandoned.'
  }),
  IDEMPOTENCY_TTL_SEC: Type.Integer({
    default: 86_400,
    minimum: 60,
    maximum: 30 * 86_400,
    description: 'How long an Idempotency-Key and its recorded answer are kept, seconds.'
  }),
  STATE_STORE: Type.Optional(Type.String({
    pattern: '^(memory|sqlite:.+)$',
    description: 'Where state that outlives a request (Idempotency-Keys, copy jobs, registered mailboxes) is kept: ' +
      '`sqlite:<file>` (a path relative to the working directory; the file and its folder are created) or `memory` ' +
      `(this process only, lost on exit). Unset: \`${DEFAULT_STATE_STORE}\`, or \`memory\` in demo mode.`
  })),
  JOB_LEASE_SEC: Type.Integer({
    default: 60,
    minimum: 5,
    maximum: 3600,
    description: 'Lease of a running copy job, seconds, renewed every third of it: a job whose gateway died is ' +
      'taken up by another runner (or the restarted gateway) once its lease has run out.'
  }),
  JOB_POLL_SEC: Type.Integer({
    default: 5,
    minimum: 1,
    maximum: 300,
    description: 'How often an idle job runner looks for runnable jobs (and jobs whose lease ran out), seconds.'
  }),
  JOB_CONCURRENCY: Type.Integer({
    default: 2,
    minimum: 1,
    maximum: 64,
    description: 'Copy jobs one gateway process runs at once.'
  }),
  MAX_ACTIVE_JOBS_PER_CLIENT: Type.Integer({
    default: 100,
    minimum: 1,
    maximum: 100_000,
    description: 'Copy jobs one client may have that are not over (queued, running, paused, or scheduled between ' +
      'passes); creating, running again or verifying one more is a 409 MBG_ERR_JOB_LIMIT.'
  }),
  TRUST_PROXY: Type.String({
    default: 'false',
    pattern: '^(true|false|[0-9]{1,2}|[0-9A-Fa-f.:/, ]+)$',
    description: 'Whom to believe about the client address (X-Forwarded-For), for the audit log and rate limits: ' +
      'false (the socket\'s address), true (any proxy), a number of proxy hops, or proxy addresses/CIDRs, comma-separated.'
  }),
  AUDIT_LOG: Type.String({
    default: 'stdout',
    minLength: 1,
    description: 'Where audit records go: stdout (with the service log, `"log":"audit"`), stderr, off, or a file path.'
  }),
  DEMO_API_KEY: Type.Optional(Type.String({
    pattern: '^mbg_[A-Za-z0-9_-]{32,}$',
    description: 'Demo mode: the demo client\'s API key (default: a new one each start, printed at start).'
  })),
  PAGE_TOKEN_SECRET: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'Key that seals page tokens; set it so tokens survive restarts and work across replicas.'
    })
  )
})
export type Env = Static<typeof EnvSchema>

/** STATE_STORE parsed: the in-memory store, or a SQLite file (src/state/sqlite.ts) at `path` as given. */
export type StateStoreSetting = { kind: 'memory' } | { kind: 'sqlite', path: string }

/**
 * Parses a STATE_STORE value already checked against EnvSchema (`memory` or `sqlite:<path>`). Unset, it is
 * DEFAULT_STATE_STORE, or `memory` in demo mode (`demo`): the simulated mailboxes live in memory and are seeded
 * afresh at every start, so copy jobs and ledgers kept in a file would point at folders and items that are gone.
 */
export function stateStoreSetting (value: string | undefined, demo = false): StateStoreSetting {
  value ??= demo ? 'memory' : DEFAULT_STATE_STORE
  if (value === 'memory') return { kind: 'memory' }
  if (value.startsWith('sqlite:') && value.length > 'sqlite:'.length) return { kind: 'sqlite', path: value.slice(7) }
  throw new ConfigInvalid(`STATE_STORE must be "memory" or "sqlite:<path>"; it is "${value}"`)
}

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
  authorityHost: Type.String({
    pattern: '^https://',
    default: 'https://login.microsoftonline.com',
    // eslint-disable-next-line no-template-curly-in-string -- documentation text naming the two settings
    description: 'Identity platform host; the authority is `${authorityHost}/${tenantId}`.'
  })
}
type OAuthKey = keyof typeof OAuthCredentials

/** A budget: at most `limit` units per `windowSec` seconds, per app + mailbox (src/backends/budgets.ts). */
const budgetLimit = (description: string, defaults?: { limit: number, windowSec: number }) => Type.Object({
  limit: Type.Integer({ minimum: 1 }),
  windowSec: Type.Integer({ minimum: 1, maximum: 86_400 })
}, { additionalProperties: false, description, ...(defaults !== undefined ? { default: defaults } : {}) })
/** Caps on a backend's answers, enforced while reading (src/upstream/answer.ts). */
const answerCaps = (data: string) => Type.Object({
  dataBytes: Type.Integer({
    minimum: 1024,
    maximum: 1024 * 1024 * 1024,
    default: DEFAULT_ANSWER_CAPS.dataBytes,
    description: `Most bytes of one answer carrying item data (${data}).`
  }),
  otherBytes: Type.Integer({
    minimum: 1024,
    maximum: 1024 * 1024 * 1024,
    default: DEFAULT_ANSWER_CAPS.otherBytes,
    description: 'Most bytes of any other successful answer.'
  }),
  errorBytes: Type.Integer({
    minimum: 1024,
    maximum: 64 * 1024 * 1024,
    default: DEFAULT_ANSWER_CAPS.errorBytes,
    description: 'Most bytes of an answer with an error status (EWS SOAP faults come with HTTP 500).'
  })
}, {
  additionalProperties: false,
  default: {},
  description: 'Caps on each answer of this backend, checked while it is read: a larger answer is dropped ' +
    'at the cap and the call fails with 502 MBG_ERR_UPSTREAM_BAD_RESPONSE naming the setting.'
})

/**
 * Default largest EWS import item, bytes: the decoded size of 25 MB (25 × 2^20) of base64, the UploadItems request
 * limit of Exchange 2010 SP1 (maxRequestLength, server web.config; uploaditems-operation, ews.md §6.2 and §10).
 */
export const EWS_MAX_ITEM_BYTES = 25 * 1024 * 1024 / 4 * 3

const REQUESTS_BUDGET = 'Requests per mailbox (every attempt counts): at most `limit` in any `windowSec` seconds.'
const UPLOAD_BUDGET = 'Bytes uploaded per mailbox (import request bodies): at most `limit` in any `windowSec` seconds.'

/*
 * Keys with a `default` may be left out of the document: parseGatewayConfig fills them in
 * (TypeBox Value.Default) before it checks, so the settings types below have them all.
 */

export const EwsBackendSchema = Type.Object({
  type: Type.Literal('ews'),
  url: Type.String({
    pattern: '^https?://.+/EWS/Exchange\\.asmx$',
    description: 'EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx'
  }),
  auth: Type.Union([
    Type.Object({ kind: Type.Literal('basic'), username: Type.String({ minLength: 1 }), password: Secret },
      { additionalProperties: false }),
    Type.Object({
      kind: Type.Literal('ntlm'),
      username: Type.String({
        // DOMAIN\user (down-level logon name) or user@domain (UPN); one backslash or one @, nothing empty.
        pattern: '^([^\\\\@]+\\\\[^\\\\@]+|[^\\\\@]+@[^\\\\@]+)$',
        description: 'Windows account: DOMAIN\\user or user@domain (NTLMv2; Kerberos/Negotiate is not supported).'
      }),
      password: Secret
    }, { additionalProperties: false }),
    Type.Object({
      kind: Type.Literal('oauth'),
      ...OAuthCredentials,
      scope: Type.String({ default: 'https://outlook.office365.com/.default' })
    }, { additionalProperties: false })
  ]),
  serverVersion: Type.String({ default: 'Exchange2013_SP1' }),
  impersonation: Type.Boolean({
    default: true,
    description: 'ExchangeImpersonation and X-AnchorMailbox on every call.'
  }),
  exportBatchSize: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Ids per ExportItems call.' }),
  uploadBatchSize: Type.Integer({ minimum: 1, maximum: 500, default: 20, description: 'Items per UploadItems call.' }),
  maxItemBytes: Type.Integer({
    minimum: 1024,
    maximum: 2 ** 40,
    default: EWS_MAX_ITEM_BYTES,
    description: 'Largest item (bytes of its full-fidelity stream) an import sends; a larger one is refused ' +
      'before it is sent (413 MBG_ERR_TOO_LARGE). Default: what fits in 25 MB of base64, the UploadItems request ' +
      'limit Exchange documents (maxRequestLength in the EWS web.config); raise both together.'
  }),
  pageSize: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 1000,
    description: 'Most entries per FindFolder/FindItem call, and so per listing page. Default and maximum: ' +
      'Exchange\'s EWSFindCountLimit, 1000 (no more in one answer; restricted searches, every item page after ' +
      'the first, may be answered 250 at a time: ews.md §9).'
  }),
  timeoutMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'Per request.' }),
  maxConcurrency: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 27,
    description: 'Concurrent calls to this backend, all mailboxes together (Exchange\'s EWSMaxConcurrency: 27).'
  }),
  budgets: Type.Optional(Type.Object({
    requests: Type.Optional(budgetLimit(REQUESTS_BUDGET)),
    uploadBytes: Type.Optional(budgetLimit(UPLOAD_BUDGET))
  }, { additionalProperties: false, description: 'Pacing budgets per mailbox; none by default.' })),
  answerCaps: answerCaps('ExportItems'),
  tls: Type.Optional(Tls)
}, { additionalProperties: false })

export const GraphBackendSchema = Type.Object({
  type: Type.Literal('graph'),
  ...OAuthCredentials,
  graphUrl: Type.String({
    pattern: '^https://[^/]+$', default: 'https://graph.microsoft.com', description: 'Graph origin, no version.'
  }),
  apiVersion: Type.Object({
    primary: Type.Union([Type.Literal('v1.0'), Type.Literal('beta')]),
    archive: Type.Literal('beta')
  }, {
    additionalProperties: false,
    default: { primary: 'v1.0', archive: 'beta' },
    description: 'Archives exist only on beta.'
  }),
  exportBatchSize: Type.Integer({
    minimum: 1, maximum: 20, default: 20, description: 'Ids per exportItems call (Graph takes at most 20).'
  }),
  importConcurrency: Type.Integer({
    minimum: 1, maximum: 16, default: 4, description: 'Parallel import POSTs per mailbox.'
  }),
  appConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 4,
    description: 'Concurrent requests of this backend\'s app registration, all mailboxes together (Outlook allows 4).'
  }),
  budgets: Type.Object({
    requests: budgetLimit(REQUESTS_BUDGET, { limit: 10_000, windowSec: 600 }),
    uploadBytes: budgetLimit(UPLOAD_BUDGET, { limit: 150_000_000, windowSec: 300 })
  }, {
    additionalProperties: false,
    default: {},
    description: 'Pacing budgets per app + mailbox (Outlook: 10,000 requests per 10 min, 150 MB upload per 5 min).'
  }),
  maxItemBytes: Type.Optional(Type.Integer({
    minimum: 1024,
    maximum: 2 ** 40,
    description: 'Largest item (bytes of its full-fidelity stream) an import sends; a larger one is refused ' +
      'before it is sent (413 MBG_ERR_TOO_LARGE). Graph documents no per-item limit; default: the largest item ' +
      'whose base64 import body fits in the upload budget (`budgets.uploadBytes.limit`, Outlook: 150 MB per ' +
      '5 minutes per mailbox). Set it to the tenant\'s maximum message size (35 MB by default) to refuse such ' +
      'items up front.'
  })),
  pageSize: Type.Integer({ minimum: 1, maximum: 999, default: 100, description: '$top when no limit is given.' }),
  timeoutMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'Per request; at most 600000 is used.' }),
  allowedImportHosts: Type.Array(Type.String({ minLength: 1 }), {
    default: ['outlook.office365.com'],
    description: 'Hosts (`host` or `host:port`) an importUrl may point at.'
  }),
  answerCaps: answerCaps('exportItems'),
  tls: Type.Optional(Tls)
}, { additionalProperties: false })

export const BackendSchema = Type.Union([EwsBackendSchema, GraphBackendSchema])

const BACKEND_NAME = '^[A-Za-z0-9_-]+$'

/** Scopes a caller may hold (README "Security model"); each route needs one of them. */
export const CALLER_SCOPES = [
  'mailboxes:read', 'items:export', 'items:import', 'folders:write', 'items:write', 'metrics:read', 'mailboxes:admin',
  'jobs:read', 'jobs:write'
] as const
export type CallerScope = typeof CALLER_SCOPES[number]
const Scope = Type.Union(CALLER_SCOPES.map((s) => Type.Literal(s)))

const RateLimit = Type.Object({
  max: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Most requests per window.' }),
  windowSec: Type.Integer({ minimum: 1, maximum: 86_400, description: 'Window length, seconds.' })
}, { additionalProperties: false })

export const ApiKeySchema = Type.Object({
  id: Type.String({
    pattern: '^[A-Za-z0-9._-]{1,64}$',
    description: 'Names the key in the audit log and in logs (never the key itself), e.g. "2026-11".'
  }),
  sha256: Type.String({
    pattern: '^[0-9a-f]{64}$',
    description: 'SHA-256 of the key, lower-case hex (`npm run apikey` prints a new key and this line).'
  }),
  expires: Type.Optional(Type.String({
    minLength: 1, description: 'After this instant the key is refused (RFC 3339, e.g. 2027-06-30T00:00:00Z).'
  }))
}, { additionalProperties: false })

export const CallerClientSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9._@-]{1,64}$', description: 'The client, as the audit log names it.' }),
  apiKeys: Type.Array(ApiKeySchema, {
    default: [], description: 'Keys of this client (several at once while rotating).'
  }),
  appIds: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
    default: [],
    description: 'OAuth client ids (the `azp` or `appid` claim of its bearer tokens) that act as this client.'
  }),
  scopes: Type.Array(Scope, {
    uniqueItems: true,
    description: 'Scopes the client may hold. A bearer token holds those of its `roles`/`scp` claims that are here.'
  }),
  mailboxes: Type.Array(Type.String({ minLength: 1, maxLength: 320 }), {
    description: 'Mailbox allow-list: addresses or glob patterns ("*@contoso.com", "*"), case-insensitive.'
  }),
  backends: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), {
    description: 'When given, only mailboxes served by these backends.'
  })),
  rateLimit: Type.Optional(RateLimit)
}, { additionalProperties: false })

export const AuthSchema = Type.Object({
  mode: Type.Union([Type.Literal('required'), Type.Literal('none')], {
    default: 'required',
    description: '"none" lets anyone who reaches the port do anything (local use only; logged as a warning).'
  }),
  oidc: Type.Optional(Type.Object({
    issuer: Type.String({
      pattern: '^https://',
      description: 'Expected `iss`, e.g. https://login.microsoftonline.com/{tenant}/v2.0 (Entra ID v2 tokens).'
    }),
    audience: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1, description: 'Accepted `aud` values, e.g. the gateway app\'s client id and "api://mailbox-gateway".'
    }),
    jwksUri: Type.Optional(Type.String({
      pattern: '^https://', description: 'Signing keys; default: `jwks_uri` of the issuer\'s discovery document.'
    })),
    clockToleranceSec: Type.Integer({ minimum: 0, maximum: 600, default: 60, description: 'Allowed clock skew.' }),
    tls: Type.Optional(Tls)
  }, { additionalProperties: false })),
  clients: Type.Array(CallerClientSchema, { default: [] }),
  rateLimit: Type.Object({
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600 }),
    windowSec: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 })
  }, {
    additionalProperties: false,
    default: {},
    description: 'Requests per client per window, unless the client has its own (RateLimit-* answer headers).'
  })
}, { additionalProperties: false })
export type AuthSettings = Static<typeof AuthSchema>
export type CallerClientSettings = Static<typeof CallerClientSchema>

export const GatewayConfigSchema = Type.Object({
  backends: Type.Record(Type.String({ pattern: BACKEND_NAME }), BackendSchema),
  mailboxes: Type.Array(Type.Object({
    address: Type.String({ format: 'email' }),
    backend: Type.String({ minLength: 1 }),
    displayName: Type.Optional(Type.String())
  }, { additionalProperties: false }), { minItems: 1 }),
  policy: Type.Optional(Type.Object({
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'Concurrent calls per mailbox.' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    maxInlineDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 })),
    maxBackgroundDelayMs: Type.Optional(Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      description: 'Longest a copy job\'s call waits for budgets and throttling answers in all (ms).'
    })),
    maxQueued: Type.Optional(Type.Integer({
      minimum: 1, maximum: 1_000_000, description: 'Most calls waiting for a slot, per backend.'
    })),
    queueTimeoutMs: Type.Optional(Type.Integer({
      minimum: 100, maximum: 600_000, description: 'Longest a call waits for a slot (ms).'
    })),
    circuit: Type.Optional(Type.Object({
      errorThresholdPercentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
      volumeThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
      windowMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 600_000 })),
      resetMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 }))
    }, { additionalProperties: false }))
  }, { additionalProperties: false })),
  auth: Type.Optional(AuthSchema),
  crossBackendImport: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
    description: 'Whether data exported from one backend type may be imported into the other (EWS ExportItems data into Graph import and back). Undocumented by Microsoft; default deny.'
  }))
}, { additionalProperties: false })

/** One EWS backend as parsed: every key with a schema default is present. */
export type EwsBackendSettings = Static<typeof EwsBackendSchema>
/** One Graph backend as parsed: every key with a schema default is present. */
export type GraphBackendSettings = Static<typeof GraphBackendSchema>
export type BackendSettings = Static<typeof BackendSchema>
/** The backends/mailboxes document as parsed (defaults filled in, checked). */
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

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A copy of the document with the schema defaults filled in (TypeBox Value.Default), the one
 * place defaults are applied. Value.Default descends into a Record's values only when their
 * schema has a default of its own, so each backend is defaulted against BackendSchema here;
 * a backend that matches neither variant is left as it is for the check to report.
 */
function withDefaults (raw: unknown): unknown {
  const doc = Value.Default(GatewayConfigSchema, Value.Clone(raw))
  if (isRecord(doc) && isRecord(doc.backends)) {
    const name = new RegExp(BACKEND_NAME)
    for (const key of Object.keys(doc.backends)) {
      if (name.test(key)) doc.backends[key] = Value.Default(BackendSchema, doc.backends[key])
    }
  }
  return doc
}

/**
 * Parses the backends/mailboxes document: fills in the schema defaults, then validates.
 * Throws MBG_ERR_CONFIG_INVALID naming the first problems (JSON pointer paths).
 */
export function parseGatewayConfig (raw: unknown, source: string): GatewayConfig {
  const config = withDefaults(raw)
  if (!Value.Check(GatewayConfigSchema, config)) {
    throw new ConfigInvalid(`${source}: ${formatErrors(GatewayConfigSchema, config)}`)
  }
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
  if (config.auth !== undefined) checkAuth(config, source)
  const seen = new Set<string>()
  for (const m of config.mailboxes) {
    const key = m.address.toLowerCase()
    if (seen.has(key)) throw new ConfigInvalid(`${source}: mailbox ${m.address} is listed twice`)
    seen.add(key)
  }
  return config
}

/**
 * Cross-checks of the `auth` section: client names, API keys and app ids each used once, named backends exist,
 * expiry instants parse, and `mode: "required"` has at least one client (otherwise nobody could call).
 */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i

function checkAuth (config: GatewayConfig, source: string): void {
  const auth = config.auth as AuthSettings
  const names = new Set<string>()
  const keys = new Set<string>()
  const apps = new Set<string>()
  if (auth.mode === 'required' && auth.clients.length === 0) {
    throw new ConfigInvalid(`${source}: auth.clients is empty, so no caller could be let in ` +
      '(add a client, or set auth.mode "none" for local use only)')
  }
  for (const client of auth.clients) {
    if (names.has(client.name)) throw new ConfigInvalid(`${source}: auth client "${client.name}" is listed twice`)
    names.add(client.name)
    for (const key of client.apiKeys) {
      if (keys.has(key.sha256)) {
        throw new ConfigInvalid(`${source}: auth client "${client.name}": API key ${key.id} is listed twice`)
      }
      keys.add(key.sha256)
      if (key.expires !== undefined && (!RFC3339.test(key.expires) || Number.isNaN(Date.parse(key.expires)))) {
        throw new ConfigInvalid(`${source}: auth client "${client.name}": API key ${key.id} expires ` +
          `'${key.expires}' is not an RFC 3339 instant`)
      }
    }
    for (const appId of client.appIds) {
      if (apps.has(appId.toLowerCase())) {
        throw new ConfigInvalid(`${source}: app id ${appId} is given to two auth clients`)
      }
      apps.add(appId.toLowerCase())
    }
    if (client.appIds.length > 0 && auth.oidc === undefined) {
      throw new ConfigInvalid(`${source}: auth client "${client.name}" has appIds but auth.oidc is not configured`)
    }
    for (const backend of client.backends ?? []) {
      if (config.backends[backend] === undefined) {
        throw new ConfigInvalid(`${source}: auth client "${client.name}" names unknown backend "${backend}"`)
      }
    }
  }
}

/** The CA PEM the caller authenticator trusts at the token issuer: `auth.oidc.tls.caFile`, else the runtime one. */
export function authIssuerCa (auth: AuthSettings, extras: RuntimeExtras = {}): string | undefined {
  const file = auth.oidc?.tls?.caFile
  return file !== undefined ? readFileSetting(file, 'auth.oidc.tls.caFile') : extras.ca
}

/** Resolves "env:NAME" secret references. */
export function resolveSecret (value: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!value.startsWith('env:')) return value
  const name = value.slice(4)
  const v = env[name]
  if (v === undefined ||
    v === '') { throw new ConfigInvalid(`environment variable ${name} (referenced as a secret) is not set`) }
  return v
}

export function readFileSetting (path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigInvalid(`cannot read ${what} ${path}: ${(err as Error).message}`)
  }
}

// ---------------------------------------------------------------- resolved backends
//
// What the adapters and token providers take, as is: secrets read from the environment,
// CA and key files read, URLs normalized. Produced once per backend by resolveBackend.

/** A client certificate with its private key read (PEM). */
export interface ResolvedCertificate {
  /** SHA-1 thumbprint, hex. */
  thumbprint: string
  /** PEM private key. */
  privateKey: string
  /** Optional PEM chain sent as x5c (subject name/issuer authentication). */
  x5c?: string
}

/**
 * Client-credentials settings for one token provider (src/auth/msal-token-provider.ts):
 * a client secret, a certificate, or both (the certificate is used then).
 */
export type ResolvedOAuth = {
  tenantId: string
  clientId: string
  /** `https://host` without trailing slash; the authority is `${authorityHost}/${tenantId}`. */
  authorityHost: string
  /** e.g. 'https://graph.microsoft.com/.default' */
  scope: string
  /** Extra PEM to trust at the authority (the simulator CA). */
  ca?: string
} & (
  | { clientSecret: string, certificate?: ResolvedCertificate }
  | { clientSecret?: string, certificate: ResolvedCertificate }
)

/** `tls.caFile` read and joined with RuntimeExtras.ca; absent when neither is set. */
export interface ResolvedTls {
  /** PEM, one or more certificates. */
  ca: string
}

export type ResolvedEwsAuth =
  | { kind: 'basic', username: string, password: string }
  /** `username`: DOMAIN\user or user@domain (src/backends/ews/ntlm.ts). */
  | { kind: 'ntlm', username: string, password: string }
  | { kind: 'oauth', oauth: ResolvedOAuth }

/** One EWS backend, ready for createEwsBackend (src/backends/ews/index.ts). */
export type ResolvedEwsBackend = Omit<EwsBackendSettings, 'auth' | 'tls'> & {
  name: string
  auth: ResolvedEwsAuth
  tls?: ResolvedTls
  /** User-Agent header of every EWS request. */
  userAgent: string
}

/** One Graph backend, ready for createGraphBackend (src/backends/graph/index.ts). */
export type ResolvedGraphBackend = Omit<GraphBackendSettings, OAuthKey | 'tls'> & {
  name: string
  /** Token provider settings; scope https://graph.microsoft.com/.default. */
  oauth: ResolvedOAuth
  tls?: ResolvedTls
}

export type ResolvedBackend = ResolvedEwsBackend | ResolvedGraphBackend

const USER_AGENT = 'mailbox-gateway/0.1'
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default'
/** Longest Graph request timeout used, whatever the configuration says. */
const GRAPH_MAX_TIMEOUT_MS = 600_000
/** The mailbox import/export API is "Global service only" on every API page (protocol brief graph.md §1). */
const NATIONAL_CLOUDS = ['graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']

function parseUrl (value: string, problem: string): URL {
  try {
    return new URL(value)
  } catch {
    throw new ConfigInvalid(problem)
  }
}

function resolveTls (tls: { caFile?: string } | undefined, extras: RuntimeExtras): ResolvedTls | undefined {
  const file = tls?.caFile !== undefined ? readFileSetting(tls.caFile, 'CA file') : undefined
  const pems = [file, extras.ca].filter((p): p is string => p !== undefined)
  return pems.length > 0 ? { ca: pems.join('\n') } : undefined
}

function resolveOAuth (
  name: string, creds: Pick<GraphBackendSettings, OAuthKey>, scope: string, tls: ResolvedTls | undefined,
  env: NodeJS.ProcessEnv
): ResolvedOAuth {
  const authorityHost = creds.authorityHost.replace(/\/+$/, '')
  parseUrl(authorityHost, `backend "${name}": authorityHost '${authorityHost}' is not a URL`)
  const { tenantId, clientId } = creds
  const base = { tenantId, clientId, authorityHost, scope, ...(tls !== undefined ? { ca: tls.ca } : {}) }
  const clientSecret = creds.clientSecret !== undefined ? resolveSecret(creds.clientSecret, env) : undefined
  if (creds.certificate !== undefined) {
    const privateKey = readFileSetting(creds.certificate.privateKeyFile, 'certificate key')
    const certificate = { thumbprint: creds.certificate.thumbprint, privateKey }
    return { ...base, certificate, ...(clientSecret !== undefined ? { clientSecret } : {}) }
  }
  if (clientSecret === undefined) throw new ConfigInvalid(`backend "${name}" needs clientSecret or certificate`)
  return { ...base, clientSecret }
}

/**
 * Resolves one parsed EWS backend: reads `env:` secrets and the CA and key files, adds the
 * runtime CA. Throws MBG_ERR_CONFIG_INVALID for an unset secret variable, an unreadable file
 * or an unparseable URL.
 */
export function resolveEwsBackend (
  name: string, settings: EwsBackendSettings, extras: RuntimeExtras = {}, env: NodeJS.ProcessEnv = process.env
): ResolvedEwsBackend {
  const { auth, tls: tlsSettings, ...rest } = settings
  parseUrl(settings.url, `${name}: url must be an http(s) URL`)
  const tls = resolveTls(tlsSettings, extras)
  return {
    ...rest,
    name,
    auth: auth.kind === 'oauth'
      ? { kind: 'oauth', oauth: resolveOAuth(name, auth, auth.scope, tls, env) }
      : { kind: auth.kind, username: auth.username, password: resolveSecret(auth.password, env) },
    ...(tls !== undefined ? { tls } : {}),
    userAgent: USER_AGENT
  }
}

/**
 * Resolves one parsed Graph backend: the token provider settings (secret or key file read,
 * scope https://graph.microsoft.com/.default), graphUrl as an origin, runtime import hosts
 * and CA added. Throws MBG_ERR_CONFIG_INVALID as resolveEwsBackend does, and for a national
 * cloud Graph host, where the mailbox import/export API does not exist.
 */
export function resolveGraphBackend (
  name: string, settings: GraphBackendSettings, extras: RuntimeExtras = {}, env: NodeJS.ProcessEnv = process.env
): ResolvedGraphBackend {
  // The credentials go to the token provider only, resolved.
  const { tenantId, clientId, clientSecret, certificate, authorityHost, tls: tlsSettings, ...rest } = settings
  // The schema admits only https://host[:port]; its origin is the normalized form.
  const url = parseUrl(settings.graphUrl, `graphUrl of backend ${name} is not a URL`)
  if (NATIONAL_CLOUDS.includes(url.hostname.toLowerCase())) {
    throw new ConfigInvalid(
      `the Graph mailbox import/export API is not available in the national cloud ${url.hostname}`
    )
  }
  const tls = resolveTls(tlsSettings, extras)
  return {
    ...rest,
    name,
    graphUrl: url.origin,
    timeoutMs: Math.min(settings.timeoutMs, GRAPH_MAX_TIMEOUT_MS),
    allowedImportHosts: [...settings.allowedImportHosts, ...(extras.importHosts ?? [])],
    oauth: resolveOAuth(name, settings, GRAPH_SCOPE, tls, env),
    ...(tls !== undefined ? { tls } : {})
  }
}

/** resolveEwsBackend or resolveGraphBackend, by `settings.type`. */
export function resolveBackend (
  name: string, settings: BackendSettings, extras: RuntimeExtras = {}, env: NodeJS.ProcessEnv = process.env
): ResolvedBackend {
  return settings.type === 'ews'
    ? resolveEwsBackend(name, settings, extras, env)
    : resolveGraphBackend(name, settings, extras, env)
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
  const gateway = parseGatewayConfig(raw, source)
  if (gateway.auth === undefined) {
    throw new ConfigInvalid(`${source}: no "auth" section: callers must be authenticated (README "Security model": ` +
      'auth.clients with API keys or bearer tokens), or set "auth": { "mode": "none" } for local use only')
  }
  return { env: parsedEnv, gateway }
}
