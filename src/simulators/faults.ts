/**
 * Seeded fault plans shared by the EWS and Graph simulators: rules that make a fraction of the calls of chosen
 * operations fail the way real Exchange and Graph servers fail, reproducibly (same seed and same sequence of
 * requests → same faults). Also the SIMULATOR_FAULTS document demo mode and `npm run sim` read.
 */
import { readFileSync } from 'node:fs'

/**
 * What a fired rule does to one request. "Not acted on" means the store is untouched; "acted" means the
 * operation ran (items stored, folders created) before the answer went wrong.
 *
 * - `throttle`: not acted on. Graph: 429 `TooManyRequests` with `Retry-After` in the rule's `retryAfter` form
 *   (Microsoft Graph throttling guidance, https://learn.microsoft.com/graph/throttling: "429 Too Many Requests …
 *   Retry-After header"; without the header clients back off exponentially). The import endpoint answers the
 *   same status with `{"Message": …}`. EWS: HTTP 429 (or 503 with `status: 503`) with `Retry-After`, an empty
 *   body and no SOAP: what a front end or load balancer in front of Exchange sends (EWS itself documents no 429;
 *   /work/shared/protocol/ews.md §1 "HTTP status behaviour").
 * - `serverBusy` (EWS only): not acted on. HTTP 500 SOAP fault `ErrorServerBusy` with
 *   `MessageXml/t:Value[@Name="BackOffMilliseconds"]` (https://learn.microsoft.com/exchange/client-developer/
 *   exchange-web-services/ews-throttling-in-exchange, "ErrorServerBusy … BackOffMilliseconds").
 * - `unavailable`: not acted on. Graph 503 `ServiceUnavailable` (JSON error, `Retry-After` as for throttle; Graph
 *   "503 may carry Retry-After", https://learn.microsoft.com/graph/errors); EWS a plain HTML 503 as IIS answers
 *   when requests queue (EWS throttling page above).
 * - `serverError`: not acted on. Graph 500 `{"error":{"code":"InternalServerError"}}` (import endpoint
 *   `{"Message": …}`); EWS HTTP 500 SOAP fault `ErrorInternalServerError` (ResponseCode docs:
 *   https://learn.microsoft.com/exchange/client-developer/web-service-reference/responsecode).
 * - `resetBefore`: not acted on; the socket is destroyed without an answer (a failover or a proxy dropping the
 *   connection).
 * - `resetAfter`: acted (items stored, folder created), then the socket is destroyed before the answer: the
 *   client cannot know the outcome.
 * - `truncatedAfter`: acted, then the answer is cut. EWS: half the body and the literal `=== Truncated Data ===`
 *   with HTTP 200 (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/
 *   how-to-export-items-by-using-ews-in-exchange, "responses … may end with === Truncated Data ==="); Graph and
 *   the import endpoint: status and headers as usual, the JSON body cut in half (not parseable). An answer
 *   without a body is sent whole.
 * - `slow`: the answer is delayed by the rule's `delayMs` (default 1000) before the operation runs; on Graph
 *   the request holds its concurrency slot meanwhile.
 * - `expiredSession` (Graph `importItem` only): not acted on. Every import URL issued so far expires (the
 *   `expireSessions` knob) and this upload answers 401 "The auth token has expired.", as an upload past a
 *   session's `expirationDateTime` does (https://learn.microsoft.com/graph/api/
 *   mailbox-createimportsession: the URL is valid until expirationDateTime).
 */
export type FaultKind =
  | 'throttle' | 'serverBusy' | 'unavailable' | 'serverError' | 'resetBefore' | 'resetAfter' | 'truncatedAfter'
  | 'slow' | 'expiredSession'

export const FAULT_KINDS: readonly FaultKind[] = [
  'throttle', 'serverBusy', 'unavailable', 'serverError', 'resetBefore', 'resetAfter', 'truncatedAfter', 'slow',
  'expiredSession'
]
/** Kinds each simulator understands. */
export const EWS_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'expiredSession')
export const GRAPH_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'serverBusy')

/**
 * EWS operation names rules can target: the SOAP operations the EWS simulator serves (the keys of OPERATIONS in
 * ./ews/operations/index.ts; the body element's local name, e.g. `<m:ExportItems>`), matched case-sensitively.
 */
export const EWS_OPERATIONS = [
  'GetFolder', 'FindFolder', 'SyncFolderHierarchy', 'CreateFolder', 'UpdateFolder', 'DeleteFolder', 'FindItem',
  'GetItem', 'SyncFolderItems', 'ExportItems', 'UploadItems', 'DeleteItem', 'MoveItem', 'ConvertId', 'CreateItem',
  'GetAttachment'
] as const

/**
 * Graph operation names rules can target. `delta` covers folder and item delta; `importItem` is the POST to an
 * importUrl.
 */
export const GRAPH_OPERATIONS = [
  'getExchangeSettings', 'listFolders', 'getFolder', 'createFolder', 'updateFolder', 'deleteFolder', 'listItems',
  'getItem', 'deleteItem', 'delta', 'exportItems', 'createImportSession', 'importItem'
] as const

/**
 * `Retry-After` forms for throttle/unavailable answers: `seconds` an integer (RFC 9110 §10.2.3 delay-seconds,
 * rounded up), `decimal` a decimal number of seconds (e.g. "1.5"; not RFC-conforming, but clients must not choke
 * on it), `httpDate` an IMF-fixdate that many seconds ahead (RFC 9110 §5.6.7), `absent` no header.
 */
export type RetryAfterForm = 'seconds' | 'decimal' | 'httpDate' | 'absent'
export const RETRY_AFTER_FORMS: readonly RetryAfterForm[] = ['seconds', 'decimal', 'httpDate', 'absent']

/** One rule of a fault plan. */
export interface FaultRule {
  /** Operation names the rule applies to (EWS_OPERATIONS or GRAPH_OPERATIONS); absent or '*': all. */
  operations?: string[]
  /** Probability (0..1) that a matching call fires the rule. */
  rate: number
  /** What a fired rule does; one is drawn per firing. */
  kinds: FaultKind[]
  /** Relative weights of `kinds` (same length, ≥ 0); default equal. */
  weights?: number[]
  /** Fire at most this many times (counts down as it fires); absent: unlimited. */
  count?: number
  /** `slow`: delay in milliseconds (default 1000). */
  delayMs?: number
  /** `throttle`/`unavailable`: Retry-After form; absent: cycles seconds → decimal → httpDate → absent. */
  retryAfter?: RetryAfterForm
  /** `throttle`/`unavailable`: Retry-After value in seconds (default 1). */
  retryAfterSec?: number
  /** `serverBusy`: BackOffMilliseconds (default 500). */
  backOffMs?: number
  /** EWS `throttle`: HTTP status, 429 (default) or 503. */
  status?: 429 | 503
}

/** A fired rule, resolved for one request. */
export interface FaultDecision {
  kind: FaultKind
  /** `slow`: milliseconds to wait. */
  delayMs: number
  /** `throttle`/`unavailable`: the Retry-After header value, undefined for the `absent` form. */
  retryAfter: string | undefined
  /** `serverBusy`: BackOffMilliseconds. */
  backOffMs: number
  /** EWS `throttle`: HTTP status. */
  status: 429 | 503
}

/** Seed and rules of one plan. */
export interface FaultPlanConfig { seed?: number, rules?: FaultRule[] }

/**
 * mulberry32: a 32-bit seeded PRNG (Tommy Ettinger's public-domain generator), uniform in [0, 1).
 * The same seed always yields the same sequence.
 */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `Retry-After` header value for `sec` seconds in `form`; undefined for `absent`. */
export function retryAfterValue (form: RetryAfterForm, sec: number, now = Date.now()): string | undefined {
  switch (form) {
    case 'seconds': return String(Math.ceil(sec))
    case 'decimal': return Number.isInteger(sec) ? sec.toFixed(1) : String(sec)
    case 'httpDate': return new Date(Math.ceil((now + sec * 1000) / 1000) * 1000).toUTCString()
    case 'absent': return undefined
  }
}

/**
 * A seeded fault plan, mutable at runtime: `configure` replaces seed and rules (and restarts the random
 * sequence), `clear` removes every rule. Rules are tried in order for each call; every rule whose operations
 * match draws from the PRNG (so the sequence does not depend on which rule fires) and the first that fires wins.
 */
export class FaultPlan {
  rules: FaultRule[] = []
  seed = 1
  private random: () => number = mulberry32(1)
  private readonly cycles = new Map<FaultRule, number>()

  /** `kinds`: the kinds this simulator supports; `name` prefixes validation errors. */
  constructor (readonly kinds: readonly FaultKind[], readonly name: string, config: FaultPlanConfig = {}) {
    this.configure(config)
  }

  /** Replaces seed (default 1) and rules; throws a one-line Error naming the bad field. */
  configure (config: FaultPlanConfig): void {
    const rules = parseFaultRules(config.rules ?? [], this.name, this.kinds)
    const seed = config.seed ?? 1
    if (!Number.isInteger(seed)) throw new Error(`${this.name}: seed must be an integer`)
    this.seed = seed
    this.rules = rules
    this.random = mulberry32(seed)
    this.cycles.clear()
  }

  clear (): void {
    this.configure({ seed: this.seed })
  }

  /** The fault for one call of `op`, or undefined. */
  decide (op: string): FaultDecision | undefined {
    let fired: FaultRule | undefined
    let pick = 0
    for (const rule of this.rules) {
      if (rule.operations !== undefined && !rule.operations.includes('*') && !rule.operations.includes(op)) continue
      if (rule.count !== undefined && rule.count <= 0) continue
      const r = this.random()
      const k = this.random()
      if (fired === undefined && r < rule.rate) {
        fired = rule
        pick = k
      }
    }
    if (fired === undefined) return undefined
    if (fired.count !== undefined) fired.count--
    const kind = weighted(fired.kinds, fired.weights, pick)
    let form = fired.retryAfter
    if (form === undefined) {
      const n = this.cycles.get(fired) ?? 0
      this.cycles.set(fired, n + 1)
      form = RETRY_AFTER_FORMS[n % RETRY_AFTER_FORMS.length]
    }
    return {
      kind,
      delayMs: fired.delayMs ?? 1000,
      retryAfter: retryAfterValue(form, fired.retryAfterSec ?? 1),
      backOffMs: fired.backOffMs ?? 500,
      status: fired.status ?? 429
    }
  }
}

function weighted (kinds: FaultKind[], weights: number[] | undefined, u: number): FaultKind {
  if (weights === undefined) return kinds[Math.min(kinds.length - 1, Math.floor(u * kinds.length))]
  const total = weights.reduce((a, b) => a + b, 0)
  let acc = 0
  for (let i = 0; i < kinds.length; i++) {
    acc += weights[i] / total
    if (u < acc) return kinds[i]
  }
  return kinds[kinds.length - 1]
}

const RULE_KEYS = new Set([
  'operations', 'rate', 'kinds', 'weights', 'count', 'delayMs', 'retryAfter', 'retryAfterSec', 'backOffMs', 'status'
])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

/**
 * Validates rules (e.g. parsed JSON); throws a one-line Error such as "ews[0].rate must be a number 0..1".
 * `operations`, when given, are the names rules may target (besides '*'): any other name is refused, since a
 * rule naming it would never fire.
 */
export function parseFaultRules (
  value: unknown, name: string, kinds: readonly FaultKind[], operations?: readonly string[]
): FaultRule[] {
  if (!Array.isArray(value)) throw new Error(`${name} must be an array of fault rules`)
  return value.map((raw, i) => {
    const at = `${name}[${i}]`
    if (!isObject(raw)) throw new Error(`${at} must be an object`)
    const unknown = Object.keys(raw).find((k) => !RULE_KEYS.has(k))
    if (unknown !== undefined) throw new Error(`${at} has an unknown field "${unknown}"`)
    const r = raw as unknown as FaultRule
    if (r.operations !== undefined &&
      (!Array.isArray(r.operations) || r.operations.some((o) => typeof o !== 'string' || o === ''))) {
      throw new Error(`${at}.operations must be an array of operation names (or '*')`)
    }
    const badOp = operations === undefined ? undefined : r.operations?.find((o) => o !== '*' && !operations.includes(o))
    if (badOp !== undefined) {
      throw new Error(`${at}.operations: "${badOp}" is not one of ${operations?.join(', ') ?? ''} (or '*')`)
    }
    if (!isNonNegative(r.rate) || r.rate > 1) throw new Error(`${at}.rate must be a number 0..1`)
    if (!Array.isArray(r.kinds) || r.kinds.length === 0) throw new Error(`${at}.kinds must be a non-empty array`)
    const bad = r.kinds.find((k) => !kinds.includes(k))
    if (bad !== undefined) throw new Error(`${at}.kinds: "${String(bad)}" is not one of ${kinds.join(', ')}`)
    if (r.weights !== undefined && (!Array.isArray(r.weights) || r.weights.length !== r.kinds.length ||
      !r.weights.every(isNonNegative) || !r.weights.some((w) => w > 0))) {
      throw new Error(`${at}.weights must be non-negative numbers, one per kind, not all 0`)
    }
    if (r.count !== undefined && (!Number.isInteger(r.count) || r.count < 0)) {
      throw new Error(`${at}.count must be a non-negative integer`)
    }
    for (const key of ['delayMs', 'retryAfterSec', 'backOffMs'] as const) {
      if (r[key] !== undefined && !isNonNegative(r[key])) throw new Error(`${at}.${key} must be a number ≥ 0`)
    }
    if (r.retryAfter !== undefined && !RETRY_AFTER_FORMS.includes(r.retryAfter)) {
      throw new Error(`${at}.retryAfter must be one of ${RETRY_AFTER_FORMS.join(', ')}`)
    }
    if (r.status !== undefined && r.status !== 429 && r.status !== 503) {
      throw new Error(`${at}.status must be 429 or 503`)
    }
    // A copy: `count` counts down on the plan's own rule.
    return { ...r, kinds: [...r.kinds], ...(r.operations !== undefined ? { operations: [...r.operations] } : {}) }
  })
}

/**
 * Items whose export fails the whole batch (a damaged message): matched by store id (as EWS hands ids out;
 * Graph ids are matched after decoding their URL-safe form) or by a substring of the subject.
 */
export interface PoisonMarkers {
  ids?: string[]
  subjects?: string[]
  /**
   * The whole-request error code a poisoned batch gets (default: EWS `ErrorInternalServerError` SOAP fault,
   * Graph `ErrorCorruptData`), e.g. a Graph `InternalServerError` for a 500 that does not name the item.
   */
  code?: string
}

/** Whether an item carries one of the markers. */
export function isPoisoned (markers: PoisonMarkers | undefined, item: { id: string, subject?: string }): boolean {
  if (markers === undefined) return false
  if (markers.ids?.includes(item.id) === true) return true
  const subject = item.subject
  return subject !== undefined && (markers.subjects?.some((s) => s !== '' && subject.includes(s)) ?? false)
}

/** What an EWS request body over `maxRequestBytes` gets: a bare HTTP 413 or the ErrorMessageSizeExceeded fault. */
export type OversizeAnswer = 'http413' | 'soapFault'

/**
 * The SIMULATOR_FAULTS document (JSON), e.g.
 * `{"seed":7,"ews":[{"operations":["ExportItems"],"rate":0.1,"kinds":["serverBusy","resetAfter"]}]}`.
 */
export interface SimulatorFaultsConfig {
  /** PRNG seed of both plans (default 1). */
  seed?: number
  ews?: FaultRule[]
  graph?: FaultRule[]
  /** Poisoned items, for both simulators. */
  poison?: PoisonMarkers
  /** EWS request body limit in bytes (default: none below the simulator's 100 MiB). */
  ewsMaxRequestBytes?: number
  /** EWS answer to an oversized body (default 'http413'). */
  ewsOversizeAnswer?: OversizeAnswer
  /** Graph import endpoint body limit in bytes (default 210 MiB). */
  graphImportMaxBytes?: number
  /** Graph concurrent requests per app (default 4). */
  graphConcurrencyPerApp?: number
}

const CONFIG_KEYS = new Set([
  'seed', 'ews', 'graph', 'poison', 'ewsMaxRequestBytes', 'ewsOversizeAnswer', 'graphImportMaxBytes',
  'graphConcurrencyPerApp'
])

function stringArray (v: unknown, at: string): string[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`${at} must be an array of strings`)
  return v as string[]
}

function positiveInt (v: unknown, at: string): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${at} must be a positive integer`)
  return v
}

/** Validates a parsed SIMULATOR_FAULTS document; throws a one-line Error naming the bad field. */
export function validateSimulatorFaults (value: unknown): SimulatorFaultsConfig {
  if (!isObject(value)) throw new Error('SIMULATOR_FAULTS must be a JSON object')
  const unknown = Object.keys(value).find((k) => !CONFIG_KEYS.has(k))
  if (unknown !== undefined) throw new Error(`SIMULATOR_FAULTS has an unknown field "${unknown}"`)
  const out: SimulatorFaultsConfig = {}
  if (value.seed !== undefined) {
    if (typeof value.seed !== 'number' || !Number.isInteger(value.seed)) {
      throw new Error('SIMULATOR_FAULTS.seed must be an integer')
    }
    out.seed = value.seed
  }
  if (value.ews !== undefined) {
    out.ews = parseFaultRules(value.ews, 'SIMULATOR_FAULTS.ews', EWS_FAULT_KINDS, EWS_OPERATIONS)
  }
  if (value.graph !== undefined) {
    out.graph = parseFaultRules(value.graph, 'SIMULATOR_FAULTS.graph', GRAPH_FAULT_KINDS, GRAPH_OPERATIONS)
  }
  if (value.poison !== undefined) {
    if (!isObject(value.poison)) throw new Error('SIMULATOR_FAULTS.poison must be an object')
    const extra = Object.keys(value.poison).find((k) => k !== 'ids' && k !== 'subjects')
    if (extra !== undefined) throw new Error(`SIMULATOR_FAULTS.poison has an unknown field "${extra}"`)
    const ids = stringArray(value.poison.ids, 'SIMULATOR_FAULTS.poison.ids')
    const subjects = stringArray(value.poison.subjects, 'SIMULATOR_FAULTS.poison.subjects')
    out.poison = { ...(ids !== undefined ? { ids } : {}), ...(subjects !== undefined ? { subjects } : {}) }
  }
  const ewsMax = positiveInt(value.ewsMaxRequestBytes, 'SIMULATOR_FAULTS.ewsMaxRequestBytes')
  if (ewsMax !== undefined) out.ewsMaxRequestBytes = ewsMax
  if (value.ewsOversizeAnswer !== undefined) {
    if (value.ewsOversizeAnswer !== 'http413' && value.ewsOversizeAnswer !== 'soapFault') {
      throw new Error('SIMULATOR_FAULTS.ewsOversizeAnswer must be "http413" or "soapFault"')
    }
    out.ewsOversizeAnswer = value.ewsOversizeAnswer
  }
  const importMax = positiveInt(value.graphImportMaxBytes, 'SIMULATOR_FAULTS.graphImportMaxBytes')
  if (importMax !== undefined) out.graphImportMaxBytes = importMax
  const concurrency = positiveInt(value.graphConcurrencyPerApp, 'SIMULATOR_FAULTS.graphConcurrencyPerApp')
  if (concurrency !== undefined) out.graphConcurrencyPerApp = concurrency
  return out
}

/**
 * Reads SIMULATOR_FAULTS: undefined when unset or empty; JSON, or `@/path/file.json` for a file holding it.
 * Throws a one-line Error ("SIMULATOR_FAULTS is not valid JSON: …", "… .rate must be a number 0..1").
 */
export function simulatorFaultsFromEnv (env: NodeJS.ProcessEnv = process.env): SimulatorFaultsConfig | undefined {
  const raw = env.SIMULATOR_FAULTS?.trim()
  if (raw === undefined || raw === '') return undefined
  let text = raw
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8')
    } catch (err) {
      throw new Error(`SIMULATOR_FAULTS: cannot read ${raw.slice(1)}: ${(err as Error).message}`)
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new Error(`SIMULATOR_FAULTS is not valid JSON: ${(err as Error).message.split('\n')[0]}`)
  }
  return validateSimulatorFaults(parsed)
}
