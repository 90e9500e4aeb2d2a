/**
 * The OData query options the mailbox API honours: $filter (comparisons joined by and/or, with
 * parentheses), $orderby, $top/$skip paging with nextLinks, $count and the Prefer page size.
 * Every other system query option is refused (checkQueryOptions), never silently ignored.
 */
import { badRequest } from './http.js'

export type QueryOption =
  '$filter' | '$select' | '$expand' | '$orderby' | '$top' | '$skip' | '$count' | '$skiptoken' | '$deltatoken'

/** The names Graph's OData layer gives system query options in its errors (AllowedQueryOptions). */
const OPTION_NAMES: Record<string, string> = {
  $filter: 'Filter',
  $select: 'Select',
  $expand: 'Expand',
  $orderby: 'OrderBy',
  $top: 'Top',
  $skip: 'Skip',
  $count: 'Count',
  $search: 'Search',
  $format: 'Format',
  $skiptoken: 'SkipToken',
  $deltatoken: 'DeltaToken',
  $apply: 'Apply',
  $compute: 'Compute'
}

/**
 * Refuses every `$` query option not in `allowed` with 400 BadRequest, worded as Graph words it:
 * "The query specified in the URI is not valid. Query option 'Search' is not allowed. ..."
 * (seen in microsoft-graph-docs-contrib issue 2556 and msgraph-sdk-dotnet issue 3097), or
 * "The query parameter '$x' is not supported." for a name OData does not know.
 * Non-`$` parameters (disposalType, ...) are left to the handlers.
 */
export function checkQueryOptions (query: URLSearchParams, allowed: readonly QueryOption[]): void {
  for (const key of new Set(query.keys())) {
    if (!key.startsWith('$') || (allowed as readonly string[]).includes(key)) continue
    const name = OPTION_NAMES[key]
    if (name === undefined) throw badRequest(`The query parameter '${key}' is not supported.`)
    throw badRequest(`The query specified in the URI is not valid. Query option '${name}' is not allowed. ` +
      "To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.")
  }
}

/** The query options each kind of request implements (protocol brief §4). */
export const QUERY_OPTIONS = {
  /** settings/exchange: the docs list no OData query options. */
  none: [],
  /** GET folders, childFolders, items (§4.2, §4.7, §4.9; no $search: not searchable). */
  collection: ['$filter', '$select', '$expand', '$orderby', '$top', '$skip', '$count'],
  /** GET one folder or item (§4.3, §4.10). */
  entity: ['$select', '$expand'],
  /** folders/delta, childFolders/delta (§4.8): $select only; the page size is a Prefer header. */
  folderDelta: ['$select', '$skiptoken', '$deltatoken'],
  /** items/delta (§4.11): $select and $top (receivedDateTime filters name no mailboxItem property). */
  itemDelta: ['$select', '$top', '$skiptoken', '$deltatoken']
} as const satisfies Record<string, readonly QueryOption[]>

export type FieldValue = string | number | boolean | Date | null
export type FieldGetters<T> = Record<string, (entity: T) => FieldValue>

type Token = { t: 'word', v: string } | { t: 'str', v: string } | { t: 'lit', v: string } | { t: '(' } | { t: ')' }

function tokenize (src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '(' || c === ')') { out.push({ t: c }); i++; continue }
    if (c === "'") {
      let v = ''
      i++
      for (;;) {
        if (i >= src.length) throw badRequest('Invalid filter clause: unterminated string literal.')
        if (src[i] === "'") {
          if (src[i + 1] === "'") { v += "'"; i += 2; continue }
          i++
          break
        }
        v += src[i++]
      }
      out.push({ t: 'str', v })
      continue
    }
    const m = /^[^\s()']+/.exec(src.slice(i))
    if (m === null) throw badRequest('Invalid filter clause.')
    const w = m[0]
    out.push(/^[A-Za-z_][\w.]*$/.test(w) && !/^(true|false|null)$/i.test(w) ? { t: 'word', v: w } : { t: 'lit', v: w })
    i += w.length
  }
  return out
}

const OPS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le']
const DATE_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/

function literal (tok: Token): FieldValue {
  if (tok.t === 'str') return tok.v
  if (tok.t !== 'lit') throw badRequest('Invalid filter clause: a literal was expected.')
  const v = tok.v
  if (/^true$/i.test(v)) return true
  if (/^false$/i.test(v)) return false
  if (/^null$/i.test(v)) return null
  if (DATE_RE.test(v)) {
    const d = new Date(/T/.test(v) && !/(Z|[+-]\d{2}:\d{2})$/.test(v) ? `${v}Z` : v)
    if (Number.isNaN(d.getTime())) throw badRequest(`Invalid date literal '${v}'.`)
    return d
  }
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v)
  throw badRequest(`Invalid filter clause: unrecognized literal '${v}'.`)
}

function compare (a: FieldValue, op: string, b: FieldValue, field: string): boolean {
  if (a === null || b === null) {
    if (op === 'eq') return a === b
    if (op === 'ne') return a !== b
    return false
  }
  let x: number | string | boolean
  let y: number | string | boolean
  if (a instanceof Date) {
    if (typeof b === 'string' && DATE_RE.test(b)) b = new Date(b)
    if (!(b instanceof Date)) throw badRequest(`A binary operator with incompatible types was detected for '${field}'.`)
    x = a.getTime(); y = b.getTime()
  } else if (typeof a === 'string') {
    if (typeof b !== 'string') {
      throw badRequest(`A binary operator with incompatible types was detected for '${field}'.`)
    }
    // Exchange compares strings case-insensitively.
    x = a.toLowerCase(); y = b.toLowerCase()
  } else {
    if (typeof b !== typeof a || b instanceof Date) {
      throw badRequest(`A binary operator with incompatible types was detected for '${field}'.`)
    }
    x = a; y = b as number | boolean
  }
  switch (op) {
    case 'eq': return x === y
    case 'ne': return x !== y
    case 'gt': return x > y
    case 'ge': return x >= y
    case 'lt': return x < y
    default: return x <= y
  }
}

/** Compiles $filter into a predicate over the entity (unknown properties → 400). */
export function parseFilter<T> (src: string | null, fields: FieldGetters<T>,
  typeName: string): ((e: T) => boolean) | undefined {
  if (src === null || src.trim() === '') return undefined
  const toks = tokenize(src)
  let pos = 0
  const peekWord = (w: string): boolean => {
    const t = toks[pos]
    return t !== undefined && t.t === 'word' && t.v.toLowerCase() === w
  }
  const orExpr = (): ((e: T) => boolean) => {
    let left = andExpr()
    while (peekWord('or')) { pos++; const l = left; const r = andExpr(); left = (e) => l(e) || r(e) }
    return left
  }
  const andExpr = (): ((e: T) => boolean) => {
    let left = primary()
    while (peekWord('and')) { pos++; const l = left; const r = primary(); left = (e) => l(e) && r(e) }
    return left
  }
  const primary = (): ((e: T) => boolean) => {
    const tok = toks[pos++]
    if (tok === undefined) throw badRequest('Invalid filter clause: unexpected end of expression.')
    if (tok.t === '(') {
      const inner = orExpr()
      if (toks[pos++]?.t !== ')') throw badRequest('Invalid filter clause: missing closing parenthesis.')
      return inner
    }
    if (tok.t === 'word' && tok.v.toLowerCase() === 'not') { const inner = primary(); return (e) => !inner(e) }
    if (tok.t !== 'word') throw badRequest('Invalid filter clause: a property name was expected.')
    const getter = fields[tok.v]
    if (getter === undefined) {
      throw badRequest(`Could not find a property named '${tok.v}' on type 'microsoft.graph.${typeName}'.`)
    }
    const opTok = toks[pos++]
    if (opTok === undefined || opTok.t !== 'word' || !OPS.includes(opTok.v.toLowerCase())) {
      throw badRequest('Invalid filter clause: an operator was expected.')
    }
    const valTok = toks[pos++]
    if (valTok === undefined) throw badRequest('Invalid filter clause: a literal was expected.')
    const value = literal(valTok)
    const op = opTok.v.toLowerCase()
    const field = tok.v
    return (e) => compare(getter(e), op, value, field)
  }
  const pred = orExpr()
  if (pos !== toks.length) throw badRequest('Invalid filter clause: syntax error after the expression.')
  return pred
}

/** Sorts by one or more `field [asc|desc]` terms. */
export function applyOrderBy<T> (list: T[], src: string | null, fields: FieldGetters<T>, typeName: string): T[] {
  if (src === null || src.trim() === '') return list
  const terms = src.split(',').map((term) => {
    const m = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(term)
    if (m === null) throw badRequest(`Invalid $orderby expression '${term}'.`)
    const getter = fields[m[1]]
    if (getter === undefined) {
      throw badRequest(`Could not find a property named '${m[1]}' on type 'microsoft.graph.${typeName}'.`)
    }
    return { getter, dir: m[2]?.toLowerCase() === 'desc' ? -1 : 1 }
  })
  const key = (v: FieldValue): number | string =>
    v instanceof Date
      ? v.getTime()
      : v === null
        ? ''
        : typeof v === 'boolean'
          ? Number(v)
          : typeof v === 'string'
            ? v.toLowerCase()
            : v
  return [...list].sort((a, b) => {
    for (const { getter, dir } of terms) {
      const x = key(getter(a))
      const y = key(getter(b))
      if (x < y) return -dir
      if (x > y) return dir
    }
    return 0
  })
}

export function intParam (query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name)
  if (v === null) return undefined
  if (!/^\d+$/.test(v)) throw badRequest(`Invalid value '${v}' for query option '${name}'.`)
  return Number(v)
}

export const DEFAULT_PAGE_SIZE = 10
export const MAX_PAGE_SIZE = 1000

/** `Prefer: odata.maxpagesize=N`, if present. */
export function preferredPageSize (prefer: string | string[] | undefined): number | undefined {
  const v = Array.isArray(prefer) ? prefer.join(',') : prefer
  const m = v === undefined ? null : /odata\.maxpagesize\s*=\s*(\d+)/i.exec(v)
  return m === null ? undefined : Math.max(1, Math.min(MAX_PAGE_SIZE, Number(m[1])))
}

/** Serializes query parameters the way Graph writes its links ('$' as %24, spaces as %20). */
export function encodeQuery (params: URLSearchParams): string {
  return params.toString().replace(/\+/g, '%20')
}

/**
 * $top/$skip paging: returns one page and, when more remain, a nextLink that repeats the request's
 * query with `$skip` advanced (the docs' links look like `...items?%24skip=10`).
 */
export function pageOf<T> (all: T[], query: URLSearchParams, linkBase: string,
  prefer?: number): { page: T[], nextLink?: string, count?: number } {
  const top = intParam(query, '$top')
  const skip = intParam(query, '$skip') ?? 0
  const size = Math.max(1, Math.min(MAX_PAGE_SIZE, top ?? prefer ?? DEFAULT_PAGE_SIZE))
  const page = all.slice(skip, skip + size)
  const countParam = query.get('$count')
  if (countParam !== null && !/^(true|false)$/i.test(countParam)) {
    throw badRequest(`Invalid value '${countParam}' for query option '$count'.`)
  }
  const out: { page: T[], nextLink?: string, count?: number } = { page }
  if (countParam?.toLowerCase() === 'true') out.count = all.length
  if (skip + size < all.length) {
    const next = new URLSearchParams(query)
    next.delete('$skip')
    next.set('$skip', String(skip + size))
    out.nextLink = `${linkBase}?${encodeQuery(next)}`
  }
  return out
}
