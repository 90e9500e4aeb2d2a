/**
 * Namespace-aware view of a SOAP request.
 *
 * fast-xml-parser keeps prefixes as written, but EWS clients use any prefix
 * (`s:`, `soap:`, `SOAP-ENV:`, default namespaces), so prefixes are resolved
 * through the in-scope xmlns declarations once and every lookup afterwards
 * matches on (namespace URI, local name).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { EwsFault } from './errors.js'

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors'
} as const

export interface XmlEl {
  ns: string
  local: string
  /** Unqualified attributes by local name (xmlns declarations excluded). */
  attrs: Record<string, string>
  children: XmlEl[]
  text: string
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  // Text is kept as sent (a subject or body may begin or end with white space, xs:string); the white space
  // between elements is dropped in convert.
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: true,
  commentPropName: false
})

type RawNode = Record<string, unknown>

function splitName (qname: string): [string | undefined, string] {
  const i = qname.indexOf(':')
  return i < 0 ? [undefined, qname] : [qname.slice(0, i), qname.slice(i + 1)]
}

/**
 * Megabytes of base64 (UploadItems t:Data) make fast-xml-parser's validator and parser
 * slow and garbage-heavy, character by character. Long text runs without markup or
 * entities are swapped for placeholders before parsing and restored afterwards.
 */
const LONG_TEXT = 16384
// eslint-disable-next-line no-control-regex -- U+0001 cannot occur in XML 1.0 text, so it marks placeholders
const PLACEHOLDER = /^\u0001(\d+)\u0001$/

function liftLongText (xml: string, lifted: string[]): string {
  const parts: string[] = []
  let last = 0
  let gt = xml.indexOf('>')
  while (gt !== -1) {
    const lt = xml.indexOf('<', gt + 1)
    if (lt === -1) break
    if (lt - gt - 1 >= LONG_TEXT && !xml.slice(gt + 1, lt).includes('&')) {
      parts.push(xml.slice(last, gt + 1), `\u0001${lifted.length}\u0001`)
      lifted.push(xml.slice(gt + 1, lt))
      last = lt
    }
    gt = xml.indexOf('>', lt)
  }
  if (last === 0) return xml
  parts.push(xml.slice(last))
  return parts.join('')
}

function convert (name: string, node: RawNode, scope: Map<string, string>, lifted: string[]): XmlEl {
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>
  let local = scope
  const attrs: Record<string, string> = {}
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (local === scope) local = new Map(scope)
      local.set(k === 'xmlns' ? '' : k.slice(6), String(v))
    }
  }
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue
    attrs[splitName(k)[1]] = String(v)
  }
  const [prefix, localName] = splitName(name)
  const ns = local.get(prefix ?? '')
  if (ns === undefined) {
    throw EwsFault.schema(
      prefix === undefined ? `Element '${name}' has no namespace.` : `The namespace prefix '${prefix}' is not declared.`
    )
  }
  const el: XmlEl = { ns, local: localName, attrs, children: [], text: '' }
  const kids = node[name] as RawNode[]
  for (const kid of kids) {
    if ('#text' in kid) {
      const text = String(kid['#text'])
      const m = PLACEHOLDER.exec(text)
      el.text += m !== null ? lifted[Number(m[1])] : text
      continue
    }
    const kidName = Object.keys(kid).find((k) => k !== ':@')
    if (kidName === undefined) continue
    el.children.push(convert(kidName, kid, local, lifted))
  }
  // EWS has no mixed content: the text of an element with children is the white space laid out between them.
  if (el.children.length > 0 && el.text.trim() === '') el.text = ''
  return el
}

/**
 * Parses a request; malformed XML becomes an ErrorSchemaValidation fault with the
 * line/position the validator reports (as Exchange's fault does).
 */
export function parseXml (text: string): XmlEl {
  const lifted: string[] = []
  const xml = liftLongText(text, lifted)
  const check = XMLValidator.validate(xml)
  if (check !== true) {
    throw EwsFault.schema(`The request failed schema validation: ${check.err.msg}`, {
      line: check.err.line,
      col: check.err.col
    })
  }
  const nodes = parser.parse(xml) as RawNode[]
  const roots = nodes.filter((n) => Object.keys(n).some((k) => k !== ':@' && k !== '#text'))
  if (roots.length !== 1) {
    throw EwsFault.schema('The request failed schema validation: the document must have exactly one root element.')
  }
  const rootName = Object.keys(roots[0]).find((k) => k !== ':@') as string
  return convert(rootName, roots[0], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), lifted)
}

export function child (el: XmlEl, ns: string, local: string): XmlEl | undefined {
  return el.children.find((c) => c.local === local && c.ns === ns)
}

export function childrenNamed (el: XmlEl, ns: string, local: string): XmlEl[] {
  return el.children.filter((c) => c.local === local && c.ns === ns)
}

/** A child the schema requires; missing → ErrorSchemaValidation fault. */
export function required (el: XmlEl, ns: string, local: string): XmlEl {
  const c = child(el, ns, local)
  if (c === undefined) {
    throw EwsFault.schema(
      `The request failed schema validation: The element '${el.local}' in namespace '${el.ns}' has incomplete content. List of possible elements expected: '${local}' in namespace '${ns}'.`
    )
  }
  return c
}

/** An attribute the schema requires; missing → ErrorSchemaValidation fault. */
export function requiredAttr (el: XmlEl, name: string): string {
  const v = el.attrs[name]
  if (v === undefined) {
    throw EwsFault.schema(`The request failed schema validation: The required attribute '${name}' is missing.`)
  }
  return v
}
