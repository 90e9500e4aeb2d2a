/**
 * Checks answers against the published contract: every 2xx JSON answer must validate
 * against its operation's response schema in openapi/openapi.json (ajv + ajv-formats,
 * with the document's components, as test/openapi-examples.test.ts compiles them).
 *
 * `checkResponse` finds the operation by method and concrete path (the path templates
 * of the document turned into patterns; the most literal match wins) and returns the
 * violations, if any. `enforceContract` wraps an app's `inject` so every awaited 2xx
 * answer is checked and a violation rejects the call, failing the test that made it.
 */
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { isStrictBase64 } from '../../src/base64.js'
import { OPENAPI_PATH } from '../../src/cli/openapi.js'

interface Operation { responses: Record<string, { content?: Record<string, unknown> }> }
type Document = { paths: Record<string, Record<string, Operation>> }

interface Route { template: string, pattern: RegExp, literals: number }

const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as Document

const routes: Route[] = Object.keys(doc.paths).map((template) => {
  const parts = template.split('/')
  // A whole-segment parameter takes the segment; one inside a segment (`{id}:pause`) stops at a colon.
  const source = parts.map((p) => /^\{[^}]+\}$/.test(p)
    ? '[^/]+'
    : p.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/:]+')).join('/')
  return { template, pattern: new RegExp(`^${source}$`), literals: parts.filter((p) => !/^\{[^}]+\}$/.test(p)).length }
})

const ajv = new Ajv({ strict: false, allErrors: true })
addFormats.default(ajv)
// The same check as ajv-formats' `byte`, without its regex, which overflows V8's stack on multi-megabyte streams.
ajv.addFormat('byte', isStrictBase64)
ajv.addSchema({ ...doc, $id: 'openapi.json' })
const compiled = new Map<string, ValidateFunction>()

/** JSON pointer (RFC 6901) as a URI fragment. */
function pointer (...tokens: string[]): string {
  return `#/${tokens.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`
}

/** The document's path template for a concrete request path, or undefined. */
export function templateOf (path: string): string | undefined {
  const matches = routes.filter((r) => r.pattern.test(path)).sort((a, b) => b.literals - a.literals)
  return matches[0]?.template
}

export interface ContractCheck {
  /** `METHOD template status`, or why the answer could not be checked. */
  where: string
  errors: ErrorObject[]
}

/**
 * Validates one answer. Returns undefined when there is nothing to check (not 2xx,
 * no JSON body), and a check with `errors` (empty when valid) otherwise. An answer
 * the document does not describe at all is a violation too.
 */
export function checkResponse (
  method: string, url: string, status: number, contentType: string | undefined, body: string
): ContractCheck | undefined {
  if (status < 200 || status > 299) return undefined
  if (contentType === undefined || !/^application\/json\b/.test(contentType) || body === '') return undefined
  // As the router sees it: dot segments resolved, a trailing slash ignored (routerOptions.ignoreTrailingSlash).
  const path = new URL(url, 'http://gateway.test').pathname.replace(/(.)\/+$/, '$1')
  const template = templateOf(path)
  const op = template !== undefined ? doc.paths[template][method.toLowerCase()] : undefined
  const where = `${method.toUpperCase()} ${template ?? path} ${status}`
  const media = op?.responses[String(status)]?.content?.['application/json']
  if (op === undefined || media === undefined) {
    const message = 'the document has no JSON answer for this'
    return { where, errors: [{ instancePath: '', schemaPath: '', keyword: 'undocumented', params: {}, message }] }
  }
  const p = pointer('paths', template as string, method.toLowerCase(), 'responses', String(status),
    'content', 'application/json', 'schema')
  let validate = compiled.get(p)
  if (validate === undefined) compiled.set(p, validate = ajv.compile({ $ref: `openapi.json${p}` }))
  const valid = validate(JSON.parse(body))
  return { where, errors: valid ? [] : [...(validate.errors ?? [])] }
}

/** Human-readable list of violations (instance path, message, offending value). */
export function describe (check: ContractCheck, body: string): string {
  const value = JSON.parse(body) as unknown
  const at = (ptr: string): unknown => ptr.split('/').slice(1).reduce<unknown>(
    (v, k) => (v as Record<string, unknown> | undefined)?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], value)
  return check.errors.map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath
    return `${where} ${e.message ?? e.keyword}: ${JSON.stringify(at(e.instancePath))}`
  }).join('\n')
}

/**
 * Makes `app.inject(options)` (the promise form every route test uses) reject when a 2xx
 * JSON answer does not validate against openapi/openapi.json. Other forms pass through unchecked.
 */
export function enforceContract (app: FastifyInstance): void {
  const inject = app.inject.bind(app) as (opts?: InjectOptions | string, cb?: unknown) => unknown
  const wrapped = (opts?: InjectOptions | string, cb?: unknown): unknown => {
    if (opts === undefined || cb !== undefined) return inject(opts, cb)
    return (inject(opts) as Promise<LightMyRequestResponse>).then((res) => {
      const method = typeof opts === 'string' ? 'GET' : opts.method ?? 'GET'
      const url = typeof opts === 'string' ? opts : String(opts.url ?? opts.path ?? '/')
      const contentType = res.headers['content-type'] as string | undefined
      const check = checkResponse(String(method), url, res.statusCode, contentType, res.body)
      if (check !== undefined && check.errors.length > 0) {
        throw new Error(`answer violates the published contract (${check.where}):\n${describe(check, res.body)}`)
      }
      return res
    })
  }
  Reflect.set(app, 'inject', wrapped)
}
