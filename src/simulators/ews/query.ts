/**
 * FindItem / FindFolder query parts: `m:Restriction` (a t:SearchExpression tree) and
 * `m:SortOrder` (t:FieldOrder list), evaluated over the store.
 *
 * What is modelled: IsEqualTo, IsNotEqualTo, IsGreaterThan, IsGreaterThanOrEqualTo,
 * IsLessThan, IsLessThanOrEqualTo (against a t:Constant or another property), Contains
 * (every ContainmentMode / ContainmentComparison), Exists, Not, And, Or, on the
 * properties in ITEM_PROPS / FOLDER_PROPS. Anything else is refused with the code
 * Exchange uses for what it cannot do, never answered as if applied
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/restriction,
 * .../sortorder, .../responsecode):
 * - a property that cannot be searched on (t:IndexedFieldURI, t:ExtendedFieldURI, other FieldURIs) →
 *   ErrorUnsupportedPathForQuery; sorted on → ErrorUnsupportedPathForSortGroup;
 * - Contains on a non-text property → ErrorContainsFilterWrongType;
 * - t:Excludes (bitmask) → ErrorUnsupportedQueryFilter;
 * - a constant that does not parse as the property's type → ErrorInvalidValueForProperty;
 * - a malformed expression (missing operands) → ErrorInvalidRestriction.
 * String comparisons and sorts ignore case, as the Exchange store does with its default sort locale.
 * Dates compare at the store's full precision (responses show whole seconds).
 */
import { decodeItemStream, PROP } from '../store/fts.js'
import type { StoreFolder, StoreItem } from '../store/store.js'
import { EwsError } from './errors.js'
import { NS, child, type XmlEl } from './xml.js'

type Kind = 'string' | 'date' | 'int' | 'bool' | 'importance'
type Value = string | number | boolean | undefined

interface Prop<T> { kind: Kind, get: (o: T) => Value }

const IMPORTANCE = ['Low', 'Normal', 'High']
const importanceCache = new WeakMap<StoreItem, { version: number, value: number }>()

/** PR_IMPORTANCE from the item's stream (0 Low, 1 Normal, 2 High; Normal when absent). */
function importance (item: StoreItem): number {
  const cached = importanceCache.get(item)
  if (cached !== undefined && cached.version === item.version) return cached.value
  let value = 1
  try {
    const prop = decodeItemStream(item.blob()).props.find((p) => p.id === PROP.Importance)
    if (prop !== undefined && [0, 1, 2].includes(Number(prop.value))) value = Number(prop.value)
  } catch {}
  importanceCache.set(item, { version: item.version, value })
  return value
}

/** Item properties a Restriction or SortOrder may name (FieldURI → kind and value). */
export const ITEM_PROPS: Record<string, Prop<StoreItem>> = {
  'item:Subject': { kind: 'string', get: (i) => i.subject },
  'item:ItemClass': { kind: 'string', get: (i) => i.itemClass },
  'item:DateTimeCreated': { kind: 'date', get: (i) => i.created.getTime() },
  // The store keeps one creation time; the simulator shows it as received time too.
  'item:DateTimeReceived': { kind: 'date', get: (i) => i.created.getTime() },
  'item:LastModifiedTime': { kind: 'date', get: (i) => i.modified.getTime() },
  'item:Size': { kind: 'int', get: (i) => i.size },
  'item:HasAttachments': { kind: 'bool', get: (i) => i.hasAttachments },
  'item:Importance': { kind: 'importance', get: importance },
  'message:IsRead': { kind: 'bool', get: (i) => i.isRead }
}

/** Folder properties a Restriction may name (FieldURI → kind and value). */
export const FOLDER_PROPS: Record<string, Prop<StoreFolder>> = {
  'folder:DisplayName': { kind: 'string', get: (f) => f.displayName },
  'folder:FolderClass': { kind: 'string', get: (f) => f.folderClass },
  'folder:TotalCount': { kind: 'int', get: (f) => f.itemIds.length },
  'folder:ChildFolderCount': { kind: 'int', get: (f) => f.childIds.length }
}

export type Predicate<T> = (o: T) => boolean
export type Comparator<T> = (a: T, b: T) => number

const PATHS = new Set(['FieldURI', 'IndexedFieldURI', 'ExtendedFieldURI', 'Path'])

function isPath (el: XmlEl): boolean {
  return el.ns === NS.t && PATHS.has(el.local)
}

function invalid (what: string): EwsError {
  return new EwsError('ErrorInvalidRestriction', `The restriction is invalid: ${what}.`)
}

function describe (el: XmlEl): string {
  if (el.local === 'FieldURI') return el.attrs.FieldURI ?? 'FieldURI'
  if (el.local === 'IndexedFieldURI') return `${el.attrs.FieldURI ?? ''}[${el.attrs.FieldIndex ?? ''}]`
  return el.local
}

function propOf<T> (el: XmlEl | undefined, props: Record<string, Prop<T>>, code: string): Prop<T> {
  if (el === undefined || !isPath(el)) throw invalid('a property path is missing')
  const prop = el.local === 'FieldURI' ? props[el.attrs.FieldURI ?? ''] : undefined
  if (prop === undefined) {
    throw new EwsError(code, code === 'ErrorUnsupportedPathForSortGroup'
      ? `The property ${describe(el)} cannot be used for sorting or grouping on this server.`
      : `The property ${describe(el)} cannot be used in a restriction on this server.`)
  }
  return prop
}

function parseConstant (kind: Kind, raw: string | undefined, path: string): Value {
  if (raw === undefined) throw invalid('a t:Constant has no Value')
  const bad = (): EwsError => new EwsError('ErrorInvalidValueForProperty', `The value '${raw}' is invalid for ${path}.`)
  switch (kind) {
    case 'string': return raw
    case 'int': {
      if (!/^\s*-?\d+\s*$/.test(raw)) throw bad()
      return Number(raw)
    }
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (v === 'true' || v === '1') return true
      if (v === 'false' || v === '0') return false
      throw bad()
    }
    case 'date': {
      // xs:dateTime; without a zone it is UTC (the simulator models no TimeZoneContext).
      const m = /^\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})?\s*$/.exec(raw)
      const ms = m !== null ? Date.parse(`${m[1]}${m[2] ?? 'Z'}`) : NaN
      if (Number.isNaN(ms)) throw bad()
      return ms
    }
    case 'importance': {
      const i = IMPORTANCE.findIndex((n) => n.toLowerCase() === raw.trim().toLowerCase())
      if (i < 0) throw bad()
      return i
    }
  }
}

/** Orders two present values of one kind; strings ignore case. */
function compareValues (a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase()
    const y = b.toLowerCase()
    return x < y ? -1 : x > y ? 1 : 0
  }
  return Number(a) - Number(b)
}

const COMPARE: Record<string, (c: number) => boolean> = {
  IsEqualTo: (c) => c === 0,
  IsNotEqualTo: (c) => c !== 0,
  IsGreaterThan: (c) => c > 0,
  IsGreaterThanOrEqualTo: (c) => c >= 0,
  IsLessThan: (c) => c < 0,
  IsLessThanOrEqualTo: (c) => c <= 0
}

function fold (s: string, comparison: string): string {
  let out = s
  if (comparison !== 'Exact' && comparison !== 'IgnoreNonSpacingCharacters') out = out.toLowerCase()
  if (comparison.includes('NonSpac') || comparison.startsWith('Loose')) {
    out = out.normalize('NFD').replace(/\p{M}/gu, '')
  }
  return out
}

/** Words of a text, one space apart. */
function words (s: string): string {
  return s.split(/[^\p{L}\p{N}]+/u).join(' ')
}

function contains<T> (el: XmlEl, props: Record<string, Prop<T>>): Predicate<T> {
  const [pathEl, constantEl] = el.children
  const prop = propOf(pathEl, props, 'ErrorUnsupportedPathForQuery')
  if (prop.kind !== 'string') {
    throw new EwsError('ErrorContainsFilterWrongType', 'The Contains filter can only be used on text properties.')
  }
  if (constantEl === undefined || constantEl.local !== 'Constant') throw invalid('Contains needs a t:Constant')
  const mode = el.attrs.ContainmentMode ?? 'FullString'
  const comparison = el.attrs.ContainmentComparison ?? 'Exact'
  const needle = fold(constantEl.attrs.Value ?? '', comparison)
  const test: Record<string, (h: string) => boolean> = {
    FullString: (h) => h === needle,
    Prefixed: (h) => h.startsWith(needle),
    Substring: (h) => h.includes(needle),
    PrefixOnWords: (h) => h.split(/[^\p{L}\p{N}]+/u).some((w) => w.startsWith(needle)),
    ExactPhrase: (h) => ` ${words(h)} `.includes(` ${words(needle)} `)
  }
  const match = test[mode]
  if (match === undefined) throw invalid(`unknown ContainmentMode '${mode}'`)
  return (o) => {
    const v = prop.get(o)
    return typeof v === 'string' && match(fold(v, comparison))
  }
}

function expression<T> (el: XmlEl | undefined, props: Record<string, Prop<T>>): Predicate<T> {
  if (el === undefined || el.ns !== NS.t) throw invalid('a search expression is missing')
  const name = el.local
  const cmp = COMPARE[name]
  if (cmp !== undefined) {
    const [pathEl, right] = el.children
    const left = propOf(pathEl, props, 'ErrorUnsupportedPathForQuery')
    if (right === undefined || right.local !== 'FieldURIOrConstant') {
      throw invalid(`${name} needs a t:FieldURIOrConstant`)
    }
    const operand = right.children[0]
    if (operand === undefined) throw invalid(`${name} has an empty t:FieldURIOrConstant`)
    let rhs: (o: T) => Value
    if (operand.local === 'Constant') {
      const value = parseConstant(left.kind, operand.attrs.Value, describe(pathEl))
      rhs = () => value
    } else {
      const other = propOf(operand, props, 'ErrorUnsupportedPathForQuery')
      if (other.kind !== left.kind) {
        throw new EwsError('ErrorUnsupportedTypeForConversion',
          'The two properties of the comparison have different types.')
      }
      rhs = other.get
    }
    return (o) => {
      const a = left.get(o)
      const b = rhs(o)
      // A property that is not set matches no comparison, as in Exchange (use Exists / Not Exists for that).
      if (a === undefined || b === undefined) return false
      return cmp(compareValues(a, b))
    }
  }
  switch (name) {
    case 'Exists': {
      const prop = propOf(el.children[0], props, 'ErrorUnsupportedPathForQuery')
      return (o) => prop.get(o) !== undefined
    }
    case 'Contains': return contains(el, props)
    case 'Not': {
      if (el.children.length !== 1) throw invalid('Not takes exactly one expression')
      const inner = expression(el.children[0], props)
      return (o) => !inner(o)
    }
    case 'And':
    case 'Or': {
      if (el.children.length === 0) throw invalid(`${name} needs at least one expression`)
      const parts = el.children.map((c) => expression(c, props))
      return name === 'And' ? (o) => parts.every((p) => p(o)) : (o) => parts.some((p) => p(o))
    }
    case 'Excludes':
      throw new EwsError('ErrorUnsupportedQueryFilter',
        'The Excludes (bitmask) filter is not supported by this server.')
    default: throw invalid(`unknown search expression '${name}'`)
  }
}

/** `m:Restriction` → predicate; undefined element → undefined (no filter). Throws EwsError. */
export function restriction<T> (el: XmlEl | undefined, props: Record<string, Prop<T>>): Predicate<T> | undefined {
  if (el === undefined) return undefined
  if (el.children.length !== 1) throw invalid('m:Restriction holds exactly one search expression')
  return expression(el.children[0], props)
}

/**
 * `m:SortOrder` → comparator; undefined element → undefined (store order). Unset values sort
 * first ascending, last descending. Throws EwsError for a property that cannot be sorted on.
 */
export function sortOrder<T> (el: XmlEl | undefined, props: Record<string, Prop<T>>): Comparator<T> | undefined {
  if (el === undefined) return undefined
  const orders = el.children.filter((c) => c.ns === NS.t && c.local === 'FieldOrder')
  if (orders.length === 0) throw invalid('m:SortOrder has no t:FieldOrder')
  const parts: Array<Comparator<T>> = orders.map((order) => {
    const prop = propOf(order.children[0], props, 'ErrorUnsupportedPathForSortGroup')
    const dir = order.attrs.Order === 'Descending' ? -1 : 1
    return (a, b) => {
      const x = prop.get(a)
      const y = prop.get(b)
      if (x === undefined || y === undefined) return dir * ((x === undefined ? 0 : 1) - (y === undefined ? 0 : 1))
      return dir * compareValues(x, y)
    }
  })
  return (a, b) => {
    for (const p of parts) {
      const r = p(a, b)
      if (r !== 0) return r
    }
    return 0
  }
}

/** The paging views the simulator models; others are refused rather than ignored. */
export function checkView (req: XmlEl, indexed: string, others: string[]): XmlEl | undefined {
  for (const name of others) {
    if (child(req, NS.m, name) !== undefined) {
      throw new EwsError('ErrorInvalidOperation', `${name} is not supported by this server; use ${indexed}.`)
    }
  }
  return child(req, NS.m, indexed)
}
