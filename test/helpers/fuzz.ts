/**
 * Request generation for the OpenAPI-driven fuzz suite (test/fuzz/openapi-fuzz.test.ts).
 *
 * Every operation of openapi/openapi.json (method, path template, parameters, request body schema,
 * documented statuses) is read from the document; a request is that operation's valid baseline
 * (real mailboxes, folders and items of the seeded simulators) with one to three mutations applied,
 * drawn with fast-check (seeded, shrinking): hostile path segments (percent-encoded traversal, NUL,
 * lone surrogates, bidi controls, prototype names, huge and empty values), bad query parameters,
 * wrong and missing content types, bad and huge headers, wrong methods, unknown routes, and bodies
 * that break JSON syntax, the body schema (wrong types, lengths, enums, missing and extra keys),
 * carry duplicate or prototype keys, nest deeply or are not UTF-8.
 *
 * Each request says whether it can write (`safe`): it is safe when its operation does not write, or
 * when something in it must make the gateway refuse it (a body the schema refuses, checked here with
 * ajv configured as src/build.ts configures the gateway's; an unknown mailbox; a wrong method; a
 * refused content type or Idempotency-Key). The suite sends safe requests to a gateway whose store
 * must not change, the others to a second gateway.
 *
 * Credentials are one more dimension (`credentialsFor`): valid API keys and bearer tokens, a read-only
 * key (its writes are refused with 403), and credentials that prove nothing (refused with 401): a
 * request whose credential is refused must change nothing, whatever else it carries.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { OPENAPI_PATH } from '../../src/cli/openapi.js'
import { templateOf } from './openapi-contract.js'

/* ----------------------------------------------------------------------------------------------
 * The document
 * -------------------------------------------------------------------------------------------- */

type Schema = Record<string, any>

interface DocParameter { name: string, in: 'path' | 'query' | 'header', required?: boolean, schema: Schema }
interface DocOperation {
  parameters?: DocParameter[]
  requestBody?: { content: Record<string, { schema: Schema }> }
  responses: Record<string, unknown>
}

const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  paths: Record<string, Record<string, DocOperation>>
  components: { schemas: Record<string, Schema> }
}

/** One operation of the document. */
export interface Operation {
  /** `METHOD /template`, as reports name it. */
  name: string
  method: string
  template: string
  pathParams: string[]
  query: DocParameter[]
  headers: DocParameter[]
  /** The JSON request body schema, with `$ref`s into the document's components. */
  body?: Schema
  /** Statuses the document lists for it. */
  statuses: number[]
  /** Whether a successful call can change the mailbox store. */
  writes: boolean
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head']

export const OPERATIONS: Operation[] = Object.entries(doc.paths).flatMap(([template, item]) =>
  Object.entries(item).filter(([m]) => HTTP_METHODS.includes(m)).map(([m, op]) => {
    const params = op.parameters ?? []
    const method = m.toUpperCase()
    return {
      name: `${method} ${template}`,
      method,
      template,
      pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
      query: params.filter((p) => p.in === 'query'),
      headers: params.filter((p) => p.in === 'header'),
      ...(op.requestBody !== undefined ? { body: op.requestBody.content['application/json'].schema } : {}),
      statuses: Object.keys(op.responses).map(Number),
      writes: method !== 'GET' && !template.endsWith('items:export')
    }
  }))

/**
 * Statuses Fastify itself may answer on any route (not found, method not allowed, content too large,
 * unsupported media type, bad request), all as problem+json.
 */
export const FRAMEWORK_STATUSES = [400, 404, 405, 413, 415]

/** The operation a concrete method and path reach, HEAD answering as GET; undefined for none. */
export function operationOf (method: string, path: string): Operation | undefined {
  // As the router sees it: dot segments (also %2e) resolved, a trailing slash ignored.
  const resolved = new URL(path, 'http://gateway.test').pathname
  const template = templateOf(resolved.length > 1 ? resolved.replace(/\/+$/, '') : resolved)
  const m = method === 'HEAD' ? 'GET' : method
  return OPERATIONS.find((o) => o.template === template && o.method === m)
}

/* ----------------------------------------------------------------------------------------------
 * Body validity, as the gateway decides it
 * -------------------------------------------------------------------------------------------- */

const ajv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: false, allErrors: false, strict: false })
addFormats.default(ajv)
// Item data (`format: byte` in the document) is checked item by item: data that is not base64 fails that item alone
// (per-item 422 MBG_ERR_DATA_INVALID in a 200, README "Error model"), never the request, so it refuses no body here.
ajv.addFormat('byte', () => true)
ajv.addSchema({ ...doc, $id: 'openapi.json' })
const bodyValidators = new Map<string, ValidateFunction>()

function refsToDocument (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(refsToDocument)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi.json${v}` : refsToDocument(v)
  }
  return out
}

/** Keys secure-json-parse (Fastify's JSON parser, protoAction/constructorAction 'error') refuses. */
function hasPrototypeKeys (root: unknown): boolean {
  const stack = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (value === null || typeof value !== 'object') continue
    if (Object.hasOwn(value, '__proto__')) return true
    const ctor = Object.getOwnPropertyDescriptor(value, 'constructor')?.value as unknown
    if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return true
    stack.push(...Object.values(value))
  }
  return false
}

/**
 * Whether the gateway must refuse this body for the operation: not UTF-8-decodable into JSON, a
 * prototype key, or not valid against the operation's body schema. False means it may be accepted.
 */
export function bodyRefused (op: Operation, payload: string | Buffer | undefined): boolean {
  if (op.body === undefined) return false
  if (payload === undefined) return true
  const text = typeof payload === 'string' ? payload : payload.toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return true
  }
  if (hasPrototypeKeys(value)) return true
  let validate = bodyValidators.get(op.name)
  if (validate === undefined) bodyValidators.set(op.name, validate = ajv.compile(refsToDocument(op.body) as Schema))
  return !validate(value)
}

function resolve (schema: Schema): Schema {
  let s = schema
  while (typeof s.$ref === 'string') {
    s = doc.components.schemas[String(s.$ref).replace('#/components/schemas/', '')]
  }
  return s
}

/* ----------------------------------------------------------------------------------------------
 * Requests
 * -------------------------------------------------------------------------------------------- */

/** A request as sent with `app.inject`. */
export interface FuzzRequest {
  /** The operation it was made from, or 'unknown route'. */
  op: string
  method: string
  url: string
  headers: Record<string, string | string[]>
  payload?: string | Buffer
  /** What was done to the baseline, in order. */
  mutations: string[]
  /** Cannot change the store (see the module comment). */
  safe: boolean
  credential: string
}

/** Real values of the seeded simulators the baselines use. */
export interface Baseline {
  /** Mailbox address (not encoded) per backend type. */
  mailboxes: string[]
  /** Per mailbox: a folder id and an item id in it, and a valid item stream (base64) to import. */
  folderIds: string[]
  itemIds: string[]
  /** Folder ids a rename or delete may target (created for the run). */
  scratchFolderIds: string[]
  importData: string
}

/** A caller credential; see the module comment. */
export interface Credential {
  name: string
  headers: Record<string, string>
  /** The gateway must refuse every request carrying it. */
  refused: boolean
  /** Statuses it may cause on any route, besides the operation's own. */
  statuses: number[]
  /** Reads only: the gateway must refuse every write carrying it (403). */
  readOnly?: boolean
}

/** Credentials that prove nothing: every request carrying one is refused with 401 before any work. */
const REFUSED: Array<Pick<Credential, 'name' | 'headers'>> = [
  { name: 'none', headers: {} },
  { name: 'garbage bearer', headers: { authorization: 'Bearer not.a.jwt' } },
  {
    name: 'unsigned JWT',
    headers: { authorization: `Bearer ${b64url('{"alg":"none"}')}.${b64url('{"sub":"x","aud":"y"}')}.` }
  },
  { name: 'garbage basic', headers: { authorization: 'Basic %%%' } },
  { name: 'huge bearer', headers: { authorization: `Bearer ${'A'.repeat(16 * 1024)}` } },
  { name: 'api key junk', headers: { 'x-api-key': '../../etc/passwd\u00e9' } },
  { name: 'key and bearer', headers: { 'x-api-key': 'mbg_x', authorization: 'Bearer x' } }
]

/** Credentials the fuzz gateways know (test/fuzz/openapi-fuzz.test.ts makes them). */
export interface ValidCredentials {
  /** Every scope, every mailbox. */
  apiKey: string
  /** A bearer JWT of the demo caller app: every scope, every mailbox. */
  bearer: string
  /** Scope mailboxes:read only: every other operation is a 403. */
  readOnlyKey: string
  /** A real token of the same issuer for another audience (Graph). */
  wrongAudience: string
}

/**
 * The credential dimension: valid ones weighted up (so most requests get past authentication to the routes),
 * the refused ones (401), a read-only key (403 on anything but reads).
 */
export function credentialsFor (valid: ValidCredentials): Credential[] {
  const key: Credential = { name: 'api key', headers: { 'x-api-key': valid.apiKey }, refused: false, statuses: [] }
  const bearer: Credential = {
    name: 'bearer', headers: { authorization: `Bearer ${valid.bearer}` }, refused: false, statuses: []
  }
  return [
    ...Array<Credential>(6).fill(key),
    ...Array<Credential>(3).fill(bearer),
    {
      name: 'read-only key',
      headers: { 'x-api-key': valid.readOnlyKey },
      refused: false,
      readOnly: true,
      statuses: [403]
    },
    {
      name: 'wrong audience',
      headers: { authorization: `Bearer ${valid.wrongAudience}` },
      refused: true,
      statuses: [401, 429]
    },
    // Past 30 failed authentications a minute from one address, refusals are 429s.
    ...REFUSED.map((c) => ({ ...c, refused: true, statuses: [401, 429] }))
  ]
}

function b64url (s: string): string {
  return Buffer.from(s).toString('base64url')
}

/** Percent-encodes every code unit outside unreserved ASCII; lone surrogates become their WTF-8 bytes. */
export function pct (s: string): string {
  let out = ''
  for (const ch of s) {
    if (/^[A-Za-z0-9._~-]$/.test(ch)) { out += ch; continue }
    const cp = ch.codePointAt(0) as number
    const bytes = cp >= 0xd800 && cp <= 0xdfff
      ? Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)])
      : Buffer.from(ch, 'utf8')
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Strings that break things: empty, huge, control and format characters, surrogates, prototype names. */
export const HOSTILE_STRINGS: string[] = [
  '', ' ', '\t', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\ud83dx', '\u202eevil\u202c', '\u200f\u200e',
  '\ufeff', '\ufffe', '\uffff', '\u0085', '\u2028', '😀'.repeat(128), '😀'.repeat(127), 'é'.repeat(256),
  'a'.repeat(255), 'a'.repeat(256), 'a'.repeat(1025), 'a'.repeat(70_000), '../../etc/passwd', '..\\..\\boot.ini',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '<x xmlns="urn:a">&amp;</x>', ']]>',
  '&xxe;', "' OR '1'='1", '$metadata', '{}', '[]', 'null', 'undefined', '-1', '1e309', 'AAMkAA==', 'inbox\u0000',
  'msgfolderroot', 'me', '%00', '%2e%2e%2f'
]

/** Path segments as sent (already encoded, or deliberately not). */
const HOSTILE_SEGMENTS: string[] = [
  '..%2F..%2Fetc%2Fpasswd', '..%2f', '%2e%2e%2f%2e%2e%2f', '%2E%2E', '..%5C..%5C', '%00', 'inbox%00', 'x%00y',
  '%2F', '%5C', '%ZZ', '%', '%C0%AF', '%E0%80%AF', '%ED%A0%80', '%FF%FE', '%E2%80%AE', '%EF%BB%BF',
  '__proto__', 'constructor', 'prototype', '__proto__%5Bx%5D', 'a'.repeat(513), 'a'.repeat(1025), 'a'.repeat(2049),
  'a'.repeat(20_000), '%20', '%0D%0A', '%0A', '%09', ';', ';x=1', ',', '*', '~', '$', '$metadata', "'", '%22', '%3C',
  'AAMkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D', 'AAMk', '-', '%2B', '+', '%25', '%252F'
]

const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).map(pct) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(pct) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'.%/\\:@!$&()*+,;=~-_'.split('')), maxLength: 12 }) }
)

const WELL_KNOWN = ['root', 'inbox', 'drafts', 'sentitems', 'deleteditems', 'outbox', 'junkemail', 'calendar',
  'contacts', 'tasks', 'notes', 'journal', 'archive', 'msgfolderroot']

/** A value for a report line: JSON, long ones cut. */
function short (s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 10))}…(${s.length})` : JSON.stringify(s)
}

function decodeOr (s: string): string {
  try { return decodeURIComponent(s) } catch { return s }
}

/** A request under construction. */
interface Draft {
  op: Operation
  method: string
  path: Record<string, string>
  suffix: string
  query: string[]
  headers: Record<string, string | string[]>
  /** A JSON value (sent as JSON text), or raw bytes; undefined sends no body. */
  body?: { value: unknown } | { raw: string | Buffer }
  mutations: string[]
  /** Something in it must make the gateway refuse it. */
  refused: boolean
}

type Mutation = (d: Draft) => void

/* Header mutations ---------------------------------------------------------------------------- */

const REFUSED_CONTENT_TYPES = ['text/plain', 'application/xml', 'text/xml', 'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded', 'application/octet-stream', 'application/jsonp', 'json', 'image/png',
  'application/soap+xml', 'text/html; charset=utf-8']
const ODD_CONTENT_TYPES = ['application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=latin1',
  'application/json;charset=utf-16', 'application/problem+json', 'application/vnd.api+json', 'application/json;;;',
  'application/json; charset="utf-8"', 'application/json ; x=y', '*/*', '', ' application/json']

const contentTypeArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...REFUSED_CONTENT_TYPES).map((ct): Mutation => (d) => {
    d.headers['content-type'] = ct
    d.mutations.push(`content-type ${JSON.stringify(ct)}`)
    // Refused or not by the content type the request ends up with (render: a later mutation may replace it).
  }),
  fc.constantFrom(...ODD_CONTENT_TYPES).map((ct): Mutation => (d) => {
    d.headers['content-type'] = ct
    d.mutations.push(`content-type ${JSON.stringify(ct)}`)
  }),
  fc.constant<Mutation>((d) => {
    Reflect.deleteProperty(d.headers, 'content-type')
    d.mutations.push('no content-type')
  })
)

const BAD_IDEMPOTENCY_KEYS: Array<string | string[]> = ['', ' ', '"', '""', '"unterminated', '"a" , "b"', 'ü',
  'a'.repeat(256), `"${'a'.repeat(256)}"`, '"\\x"', 'a\u007fb', '\u00e9t\u00e9', ['a', 'b'], ['a', 'a']]

const idempotencyArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...BAD_IDEMPOTENCY_KEYS).map((key): Mutation => (d) => {
    d.headers['idempotency-key'] = key
    d.mutations.push(`idempotency-key ${JSON.stringify(key)}`)
    // Refused or not by the key the request ends up with (render: a later mutation may replace it).
  }),
  fc.uuid().map((key): Mutation => (d) => {
    d.headers['idempotency-key'] = `"${key}"`
    d.mutations.push(`idempotency-key "${key}"`)
  })
)

const HEADER_NAMES = ['x-request-id', 'accept', 'accept-charset', 'accept-encoding', 'content-encoding',
  'content-language', 'x-forwarded-for', 'x-forwarded-host', 'forwarded', 'origin', 'referer', 'user-agent', 'cookie',
  'if-match', 'if-none-match', 'range', 'expect', 'x-http-method-override', 'prefer', 'x-ms-client-request-id',
  'x-anchormailbox', 'x-custom', '__proto__', 'constructor']
const HEADER_VALUES = ['', 'application/xml', 'gzip', 'br, deflate', 'identity', '../../etc/passwd', '__proto__',
  'DELETE', 'bytes=0-1', '100-continue', '*', 'a'.repeat(8 * 1024), 'a'.repeat(64 * 1024), 'é', '\u00ff\u00fe',
  '{"a":1}', '<x/>', 'return=minimal', 'null', '0', '-1']

const headerArb: fc.Arbitrary<Mutation> = fc.tuple(fc.constantFrom(...HEADER_NAMES),
  fc.oneof(fc.constantFrom(...HEADER_VALUES), fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e })
      .map((c) => String.fromCharCode(c)),
    maxLength: 60
  })))
  .map(([name, value]): Mutation => (d) => {
    if (name === '__proto__' || name === 'constructor') {
      Object.defineProperty(d.headers, name, { value, enumerable: true, writable: true, configurable: true })
    } else {
      d.headers[name] = value
    }
    d.mutations.push(`header ${name}: ${short(value)}`)
  })

/* Method and route mutations ------------------------------------------------------------------ */

const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE']

const methodArb: fc.Arbitrary<Mutation> = fc.nat().map((n): Mutation => (d) => {
  const taken = OPERATIONS.filter((o) => o.template === d.op.template).map((o) => o.method)
  if (taken.includes('GET')) taken.push('HEAD')
  const free = ALL_METHODS.filter((m) => !taken.includes(m))
  d.method = free[n % free.length]
  d.mutations.push(`method ${d.method}`)
  d.refused = true
})

const SUFFIXES = ['/x', '/..', '/%2e%2e', '/.', '/', '//', '/items', '/folders', ':export', ':import', ':purge',
  '%3Aexport', '/%00', '/__proto__', '.json', '~', '/a/b/c/d/e/f/g', `/${'a'.repeat(3000)}`]

const suffixArb: fc.Arbitrary<Mutation> = fc.constantFrom(...SUFFIXES).map((s): Mutation => (d) => {
  d.suffix += s
  d.mutations.push(`suffix ${JSON.stringify(s.length > 40 ? `${s.slice(0, 10)}…(${s.length})` : s)}`)
})

function pathMutation (op: Operation, mailboxOnly: boolean): fc.Arbitrary<Mutation> {
  const params = mailboxOnly ? op.pathParams.filter((p) => p === 'mailbox') : op.pathParams
  return fc.tuple(fc.constantFrom(...params), segmentArb, fc.constantFrom('replace', 'prefix', 'suffix'))
    .map(([param, seg, how]): Mutation => (d) => {
      const old = d.path[param]
      d.path[param] = how === 'replace' ? seg : how === 'prefix' ? seg + old : old + seg
      d.mutations.push(`path ${param} ${how} ${short(seg)}`)
      const decoded = decodeOr(d.path[param]).toLowerCase()
      // An unknown mailbox is refused before anything else; a folder only when it is no folder at all.
      if (param === 'mailbox' && decoded !== decodeOr(old).toLowerCase()) d.refused = true
      if (param === 'folder' && !WELL_KNOWN.includes(decoded) && decoded !== decodeOr(old).toLowerCase() &&
        !/^[A-Za-z0-9_-]{20,}$/.test(decoded)) d.refused = true
    })
}

/* Query mutations ----------------------------------------------------------------------------- */

const QUERY_KEYS = ['pageSize', 'pageToken', 'parentId', 'x', '__proto__', 'constructor', 'prototype',
  '__proto__[polluted]', 'constructor[prototype][polluted]', '__proto__.polluted', '$filter', '$top', '$select', '',
  'pageSize[]', 'pageSize[0]', 'a'.repeat(300)]
const QUERY_VALUES = ['', '0', '-1', '1', '1000', '1001', '1e3', '1.5', '01', '0x10', ' 1', '%201', 'NaN', 'Infinity',
  'true', 'null', '[]', '{}', 'abc', '99999999999999999999', '%00', '%ZZ', 'inbox', '..%2F..%2F', 'a'.repeat(8193),
  'a'.repeat(100_000), 'AAAA', 'eyJ4IjoxfQ', '%E2%80%AE', '%ED%A0%80', 'polluted']

const queryArb: fc.Arbitrary<Mutation> = fc.array(
  fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.constantFrom(...QUERY_VALUES),
    fc.string({ unit: 'binary', maxLength: 30 }).map(pct)), fc.boolean()),
  { minLength: 1, maxLength: 3 }
).map((pairs): Mutation => (d) => {
  for (const [k, v, bare] of pairs) d.query.push(bare && v === '' ? pct(k) : `${pct(k)}=${v}`)
  d.mutations.push(`query ${d.query.join('&').slice(0, 120)}`)
})

/* Body mutations ------------------------------------------------------------------------------ */

const BROKEN_JSON = ['', ' ', '{', '}', '[', '{"a":}', '{"a":1,}', "{'a':1}", '{a:1}', '{"a":NaN}', '{"a":01}',
  '{"a":1}x', '{"a":1}{"a":1}', '/* c */{}', '{"a":"\u0000"}', '{"a":"\\ud800"', '{"a":"\\x41"}', 'nul', 'tru',
  '\ufeff', '\u0000', 'null', '[]', '"x"', '1', 'true', '-0', '1e999', '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}', '{"a":{"__proto__":{"x":1}}}', '[{"__proto__":null}]']

const WRONG_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, '', 'x', [], {}, [[]], { a: 1 }, [''], [null]]

/** Where a body value sits, with its (resolved) schema. */
interface Site { path: Array<string | number>, schema: Schema }

function sites (value: unknown, schema: Schema, path: Array<string | number> = []): Site[] {
  const s = resolve(schema)
  const out: Site[] = [{ path, schema: s }]
  if (s.type === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, sub] of Object.entries<Schema>(s.properties ?? {})) {
      if (k in (value as object)) out.push(...sites((value as Record<string, unknown>)[k], sub, [...path, k]))
      else out.push({ path: [...path, k], schema: resolve(sub) })
    }
  }
  if (s.type === 'array' && Array.isArray(value) && value.length > 0) {
    out.push(...sites(value[0], s.items as Schema, [...path, 0]))
  }
  return out
}

function getAt (root: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], root)
}

function setAt (root: { value: unknown }, path: Array<string | number>, value: unknown, remove = false): void {
  if (path.length === 0) { root.value = value; return }
  const parent = getAt(root.value, path.slice(0, -1))
  if (parent === null || typeof parent !== 'object') return
  const key = path[path.length - 1]
  if (remove) Reflect.deleteProperty(parent, key)
  else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A schema-driven change at one site: a value of the wrong type, out of its bounds, or a hostile string. */
function valueFor (site: Site, pick: number, hostile: string): { what: string, value: unknown, remove?: boolean } {
  const s = site.schema
  const choices: Array<() => { what: string, value: unknown, remove?: boolean }> = [
    () => ({ what: 'wrong type', value: WRONG_VALUES[pick % WRONG_VALUES.length] }),
    () => ({ what: 'hostile string', value: hostile }),
    () => ({ what: 'removed', value: undefined, remove: true })
  ]
  if (s.type === 'string' || s.anyOf !== undefined) {
    const max = typeof s.maxLength === 'number' ? s.maxLength : 1024
    choices.push(() => ({ what: 'over maxLength', value: 'b'.repeat(max + 1) }))
    choices.push(() => ({ what: 'huge string', value: 'b'.repeat(1 << 20) }))
    choices.push(() => ({ what: 'empty string', value: '' }))
    choices.push(() => ({ what: 'case changed', value: 'CREATE' }))
  }
  if (s.type === 'array') {
    const max = typeof s.maxItems === 'number' ? s.maxItems : 100
    choices.push(() => ({ what: 'empty array', value: [] }))
    choices.push(() => ({ what: 'over maxItems', value: Array.from({ length: max + 1 }, () => 'AAMkAA') }))
  }
  if (s.type === 'object') {
    choices.push(() => ({ what: 'empty object', value: {} }))
  }
  return choices[pick % choices.length]()
}

const EXTRA_KEYS = ['extra', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'displayname',
  'DisplayName', '$type', '@odata.type', 'a'.repeat(1000)]

function bodyMutation (op: Operation): fc.Arbitrary<Mutation> {
  return fc.oneof(
    // Broken syntax, or a valid body cut short.
    fc.constantFrom(...BROKEN_JSON).map((raw): Mutation => (d) => {
      d.body = { raw }
      d.mutations.push(`body ${JSON.stringify(raw)}`)
    }),
    fc.nat().map((n): Mutation => (d) => {
      const text = JSON.stringify(bodyValue(d)) ?? '' // undefined once a mutation removed the whole body
      const cut = text.slice(0, n % Math.max(1, text.length))
      d.body = { raw: cut }
      d.mutations.push(`body cut at ${cut.length} of ${text.length}`)
    }),
    // A schema-driven change at one site.
    fc.tuple(fc.nat(), fc.nat(), fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'binary' })))
      .map(([at, pick, hostile]): Mutation => (d) => {
        const value = { value: structuredClone(bodyValue(d)) }
        const all = sites(value.value, op.body as Schema)
        const site = all[at % all.length]
        const change = valueFor(site, pick, hostile)
        setAt(value, site.path, change.value, change.remove)
        d.body = value
        const shown = typeof change.value === 'string' && change.value.length > 40
          ? `${JSON.stringify(change.value.slice(0, 10))}…(${change.value.length})`
          : JSON.stringify(change.value)
        d.mutations.push(`body /${site.path.join('/')} ${change.what} ${shown ?? ''}`)
      }),
    // An extra key, prototype names among them, at some object.
    fc.tuple(fc.nat(), fc.constantFrom(...EXTRA_KEYS), fc.constantFrom<unknown>(1, 'x', null, { polluted: true }, []))
      .map(([at, key, v]): Mutation => (d) => {
        const value = { value: structuredClone(bodyValue(d)) }
        const objects = sites(value.value, op.body as Schema)
          .filter((s) => { const o = getAt(value.value, s.path); return o !== null && typeof o === 'object' })
        const site = objects[at % Math.max(1, objects.length)] as Site | undefined
        if (site === undefined) return
        setAt(value, [...site.path, key], v)
        d.body = value
        d.mutations.push(`body /${site.path.join('/')} extra key ${JSON.stringify(key.slice(0, 20))}`)
      }),
    // A key given twice (the first or the last value wins, depending on the parser).
    fc.tuple(fc.nat(), fc.constantFrom<unknown>(1, 'dup', null, [], '\ud800'), fc.boolean())
      .map(([at, v, first]): Mutation => (d) => {
        const text = JSON.stringify(bodyValue(d)) ?? '' // undefined once a mutation removed the whole body
        const keys = [...text.matchAll(/"([A-Za-z]+)":/g)]
        if (keys.length === 0) return
        const m = keys[at % keys.length]
        const dup = `"${m[1]}":${JSON.stringify(v)},`
        const i = m.index
        const raw = first ? text.slice(0, i) + dup + text.slice(i) : insertAfterValue(text, i, `,${dup.slice(0, -1)}`)
        d.body = { raw }
        d.mutations.push(`body duplicate key ${m[1]} = ${JSON.stringify(v)} ${first ? 'first' : 'last'}`)
      }),
    // Deep nesting, closed or not.
    fc.tuple(fc.constantFrom(64, 1000, 10_000, 100_000), fc.constantFrom('[', '{"a":'), fc.boolean(), fc.boolean())
      .map(([depth, open, closed, inside]): Mutation => (d) => {
        const close = open === '[' ? ']' : '}'
        const deep = open.repeat(depth) + '1' + (closed ? close.repeat(depth) : '')
        const base = bodyValue(d)
        const key = base !== null && typeof base === 'object' ? Object.keys(base)[0] ?? 'a' : 'a'
        d.body = { raw: inside ? `{"${key}":${deep}}` : deep }
        const where = inside ? ` under ${key}` : ''
        d.mutations.push(`body nested ${depth} deep with ${open}${closed ? '' : ' (unclosed)'}${where}`)
      }),
    // Bytes that are not UTF-8, or UTF-16.
    fc.constantFrom('ff', 'c0af', 'eda080', 'f4908080', 'fe', '80', 'e282', 'utf16le', 'utf16le-bom')
      .map((bytes): Mutation => (d) => {
        const text = JSON.stringify(bodyValue(d)) ?? '' // undefined once a mutation removed the whole body
        if (bytes.startsWith('utf16le')) {
          const bom = Buffer.from(bytes.endsWith('bom') ? 'fffe' : '', 'hex')
          d.body = { raw: Buffer.concat([bom, Buffer.from(text, 'utf16le')]) }
        } else {
          const at = text.indexOf('":"') + 3
          const parts = at < 3 ? [text] : [text.slice(0, at), Buffer.from(bytes, 'hex'), text.slice(at)]
          d.body = { raw: Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p) : p)) }
        }
        d.mutations.push(`body bytes ${bytes}`)
      })
  )
}

/** Inserts `extra` after the JSON value that follows the key at `keyIndex` (a string, number, literal or bracket). */
function insertAfterValue (text: string, keyIndex: number, extra: string): string {
  let i = text.indexOf(':', keyIndex) + 1
  let depth = 0
  let inString = false
  for (; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') { inString = false; if (depth === 0) { i++; break } }
      continue
    }
    if (c === '"') inString = true
    else if (c === '[' || c === '{') depth++
    else if (c === ']' || c === '}') {
      if (depth === 0) break
      depth--
      if (depth === 0) { i++; break }
    } else if (c === ',' && depth === 0) break
  }
  return text.slice(0, i) + extra + text.slice(i)
}

function bodyValue (d: Draft): unknown {
  if (d.body !== undefined && 'value' in d.body) return d.body.value
  return d.op.body !== undefined ? baselineBody(d.op, currentBaseline) : {}
}

/* Baselines ----------------------------------------------------------------------------------- */

let currentBaseline: Baseline

function baselineBody (op: Operation, b: Baseline): unknown {
  if (op.template === '/mailboxes') return { address: 'fuzz@contoso.example', backend: 'exo-graph' }
  if (op.template.endsWith('items:export')) return { itemIds: [b.itemIds[0]] }
  if (op.template.endsWith('items:delete')) return { ids: [b.itemIds[0]], mode: 'soft', folderId: b.folderIds[0] }
  if (op.template.endsWith('items:move')) return { ids: [b.itemIds[0]], folderId: 'drafts' }
  if (op.template.endsWith('items:import')) {
    return { items: [{ folderId: 'drafts', mode: 'create', data: b.importData }] }
  }
  return { displayName: 'Fuzz folder' }
}

/** The operation's valid request (the mailbox and ids of one backend type). */
function baselineDraft (op: Operation, b: Baseline, which: number): Draft {
  const i = which % b.mailboxes.length
  const path: Record<string, string> = {}
  for (const p of op.pathParams) {
    if (p === 'mailbox') path[p] = pct(b.mailboxes[i])
    else if (p === 'folder' && op.method !== 'GET') path[p] = b.scratchFolderIds[i]
    else if (p === 'folder') path[p] = which % 3 === 0 ? 'inbox' : b.folderIds[i]
    else path[p] = 'x'
  }
  const headers: Record<string, string | string[]> = {}
  const d: Draft = { op, method: op.method, path, suffix: '', query: [], headers, mutations: [], refused: false }
  if (op.body !== undefined) {
    headers['content-type'] = 'application/json'
    d.body = { value: baselineBody(op, b) }
  }
  return d
}

/* The request arbitrary ----------------------------------------------------------------------- */

function mutationsFor (op: Operation): fc.Arbitrary<Mutation> {
  const kinds: Array<{ weight: number, arbitrary: fc.Arbitrary<Mutation> }> = [
    { weight: 2, arbitrary: headerArb },
    { weight: 2, arbitrary: queryArb },
    { weight: 1, arbitrary: methodArb },
    { weight: 1, arbitrary: suffixArb }
  ]
  if (op.pathParams.length > 0) kinds.push({ weight: 4, arbitrary: pathMutation(op, false) })
  if (op.body !== undefined) {
    kinds.push({ weight: 8, arbitrary: bodyMutation(op) })
    kinds.push({ weight: 2, arbitrary: contentTypeArb })
  }
  if (op.headers.length > 0) kinds.push({ weight: 2, arbitrary: idempotencyArb })
  return fc.oneof(...kinds)
}

const UNKNOWN_PATHS = ['/', '/MAILBOXES', '/mailbox', '/mailboxes/', '//mailboxes', '/mailboxes//folders',
  '/mailboxes/x/items:purge', '/mailboxes/x/items', '/mailboxes/x/folders/y/items/z', '/%2e%2e/mailboxes',
  '/docs', '/docs/json', '/documentation/json', '/openapi.json', '/health/../mailboxes', '/health/live/x',
  '/.env', '/admin', '/mailboxes%2Fx', '/metrics/', '/%ZZ', '/%00', '/mailboxes/%2F..%2F..%2F', '/*',
  `/${'a'.repeat(5000)}`, '/mailboxes/x/folders/y/items:export', '/favicon.ico', '/mailboxes?__proto__[x]=1']

/** A request for an operation (or for no route at all), with its mutations applied. */
export function requestArb (baseline: Baseline, credentials: Credential[]): fc.Arbitrary<FuzzRequest> {
  currentBaseline = baseline
  const ops = [...OPERATIONS.map((o) => o.name), 'unknown route']
  return fc.tuple(fc.constantFrom(...ops), fc.nat(), fc.constantFrom(...credentials)).chain(([name, which, cred]) => {
    const op = OPERATIONS.find((o) => o.name === name)
    if (op === undefined) {
      return fc.tuple(fc.constantFrom(...UNKNOWN_PATHS), fc.constantFrom(...ALL_METHODS), fc.option(headerArb))
        .map(([url, method, header]) => {
          const d = baselineDraft(OPERATIONS[0], baseline, which)
          d.method = method
          header?.(d)
          return render({ ...d, mutations: [...d.mutations, `unknown route ${method} ${url.slice(0, 60)}`] }, cred,
            'unknown route', url)
        })
    }
    return fc.array(mutationsFor(op), { minLength: 1, maxLength: 3 }).chain((muts) => {
      const d = baselineDraft(op, baseline, which)
      for (const m of muts) m(d)
      // A writing operation must stay refused unless this run is for the second gateway: no change here.
      return fc.constant(render(d, cred))
    })
  })
}

function render (d: Draft, cred: Credential, opName?: string, url?: string): FuzzRequest {
  let target = url
  if (target === undefined) {
    target = d.op.template.replace(/\{([^}]+)\}/g, (_m, p: string) => d.path[p]) + d.suffix
    if (d.query.length > 0) target += `?${d.query.join('&')}`
  }
  const headers = { ...cred.headers, ...d.headers }
  let payload: string | Buffer | undefined
  if (d.body !== undefined) payload = 'raw' in d.body ? d.body.raw : JSON.stringify(d.body.value)
  if (url === undefined && d.body !== undefined && 'raw' in d.body === false && payload === undefined) payload = ''
  const name = opName ?? d.op.name
  const path = target.split('?')[0]
  const method = d.method
  // Could it reach a writing handler? Any spelling of the path that names a writing operation counts.
  const spellings = [path, decodeOr(path), new URL(path, 'http://x').pathname]
  const writes = ['POST', 'PATCH', 'DELETE'].includes(method) &&
    spellings.some((p) => operationOf(method, p)?.writes === true || OPERATIONS.some((o) => o.writes &&
      o.method === method && new RegExp(`^${o.template.replace(/\{[^}]+\}/g, '[^/]*')}`).test(p)))
  // The body and headers are judged by the operation the request reaches, which is not the one it was drawn from
  // when a suffix moves it (`…/folders/{f}/items/%2e%2e/%2e%2e` reaches the folder create): refused only if
  // every writing operation it can reach refuses them.
  const reached = [...new Set(spellings.map((p) => operationOf(method, p)).filter((o) => o?.writes === true))]
  const judges = reached.length > 0 ? reached as Operation[] : [d.op]
  const jsonType = /json/i.test(String(headers['content-type'] ?? 'application/json'))
  const bodyIsRefused = d.body !== undefined && jsonType &&
    judges.every((o) => o.body !== undefined && bodyRefused(o, payload))
  // A bad Idempotency-Key or a refused content type, as finally sent, is refused before anything is written.
  const key = headers['idempotency-key']
  const keyRefused = key !== undefined &&
    judges.every((o) => o.headers.some((h) => h.name.toLowerCase() === 'idempotency-key')) &&
    BAD_IDEMPOTENCY_KEYS.some((k) => JSON.stringify(k) === JSON.stringify(key))
  const typeRefused = d.body !== undefined && REFUSED_CONTENT_TYPES.includes(String(headers['content-type']))
  const safe = !writes || d.refused || keyRefused || typeRefused || bodyIsRefused || cred.refused ||
    (cred.readOnly === true)
  return {
    op: name,
    method,
    url: target,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    mutations: [`credential ${cred.name}`, ...d.mutations],
    safe,
    credential: cred.name
  }
}

/** The request, exactly, for a failure message (long values cut, bytes shown in hex). */
export function showRequest (r: FuzzRequest): string {
  const cut = (s: string): string => s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s
  const payload = r.payload === undefined
    ? '(none)'
    : typeof r.payload === 'string' ? JSON.stringify(cut(r.payload)) : `hex ${cut(r.payload.toString('hex'))}`
  const headers = Object.entries(r.headers).map(([k, v]) => `  ${k}: ${cut(JSON.stringify(v))}`).join('\n')
  return `${r.method} ${cut(r.url)}\n${headers}\n  body: ${payload}\n  mutations: ${r.mutations.join('; ')}`
}
