/**
 * XML plumbing for the EWS adapter: escaping, a tiny element writer (we write
 * requests by hand so children come out in schema order, see ews.md §0.2) and a
 * namespace-aware reader.
 *
 * Exchange answers with `s:`, `soap:`, `h:`, `t:`, `m:` or default namespaces
 * interchangeably, so the reader resolves every prefix through the xmlns
 * declarations in scope and callers match on (namespace URI, local name) only.
 */
import { isAscii } from 'node:buffer'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { BadRequest } from '../../../errors.js'

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors'
} as const

const XML_NS = 'http://www.w3.org/XML/1998/namespace'

// ------------------------------------------------------------------ writing

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

// Not XML 1.0 Char (section 2.2): C0 controls but tab, LF and CR; U+FFFE/U+FFFF; unpaired surrogates (no code point).
const NOT_XML_CHAR = new RegExp('[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\ufffe\\uffff]' +
  '|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]')

/**
 * The first character of `value` XML 1.0 cannot carry, as "U+XXXX at position N" (0-based,
 * UTF-16 units), or undefined when every character can be carried.
 */
export function notXmlText (value: string): string | undefined {
  const m = NOT_XML_CHAR.exec(value)
  if (m === null) return undefined
  return `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at position ${m.index}`
}

/**
 * Escapes text and attribute values. Text XML 1.0 cannot carry is refused (MBG_ERR_BAD_REQUEST),
 * never stripped: a changed name or id would reach the server as something the caller did not send.
 * Callers check caller text first (naming the field); this is the last line.
 */
export function escapeXml (value: string): string {
  const bad = notXmlText(value)
  if (bad !== undefined) throw new BadRequest(`text the EWS backend cannot carry in XML (${bad})`)
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c])
}

export type Attrs = Record<string, string | number | boolean | undefined>

/**
 * `el('t:FolderId', { Id: id })` → `<t:FolderId Id="…"/>`. Children are already-serialized
 * strings (use `text()` for character data), so order is exactly the call order.
 */
export function el (name: string, attrs: Attrs = {}, ...children: Array<string | undefined | false>): string {
  let out = '<' + name
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined) out += ` ${k}="${escapeXml(String(v))}"`
  }
  const body = children.filter((c): c is string => typeof c === 'string').join('')
  return body === '' ? out + '/>' : `${out}>${body}</${name}>`
}

export function text (value: string): string {
  return escapeXml(value)
}

/**
 * A serialized element kept as pieces, in document order, so that big text runs (item data: megabytes of
 * base64, already checked and needing no escapes) are never concatenated into a whole-request string: the
 * pieces are written into the request bytes once (`xmlBytes`).
 */
export class XmlParts {
  constructor (readonly parts: readonly string[]) {}
}

/** A serialized body element: one string, or pieces (`XmlParts`). */
export type XmlBody = string | XmlParts

/** UTF-8 bytes of a body element (what it adds to a request). */
export function xmlByteLength (body: XmlBody): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  let n = 0
  for (const part of body.parts) n += Buffer.byteLength(part)
  return n
}

/** The UTF-8 bytes of `parts` joined, each written once into one Buffer. */
export function xmlBytes (parts: readonly string[]): Buffer {
  let length = 0
  for (const part of parts) length += Buffer.byteLength(part)
  const out = Buffer.allocUnsafe(length)
  let offset = 0
  for (const part of parts) offset += out.write(part, offset, 'utf8')
  return out
}

// ------------------------------------------------------------------ reading

export interface XmlNode {
  /** Namespace URI ('' when none). */
  ns: string
  local: string
  /** Attributes by local name (unprefixed attributes have no namespace in XML; prefixed ones are rare in EWS). */
  attrs: Record<string, string>
  children: XmlNode[]
  /** Concatenated character data directly inside this element. */
  text: string
}

export class XmlError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'XmlError'
  }
}

type RawNode = Record<string, unknown> & { ':@'?: Record<string, string> }

/**
 * Deepest element nesting read from a backend. EWS answers nest about 12 deep (Envelope, Body,
 * …Response, ResponseMessages, …ResponseMessage, Items, Message, …); a deeper document is refused
 * before it is turned into a tree (the reader and `convert` below would recurse that deep).
 */
export const MAX_XML_DEPTH = 64

/** A document nested deeper than MAX_XML_DEPTH: a broken or hostile answer, not a transient one. */
export class XmlTooDeep extends XmlError {
  constructor () {
    super(`XML nested deeper than ${MAX_XML_DEPTH} elements`)
    this.name = 'XmlTooDeep'
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded below: fast-xml-parser leaves numeric character references alone.
  processEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_XML_DEPTH,
  // No callback here reads the path of a tag: without this, the parser writes it out as text for every tag.
  jPath: false
})

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function decodeEntities (value: string): string {
  if (!value.includes('&')) return value
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (match, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : match
    }
    return NAMED_ENTITIES[ref] ?? match
  })
}

// Long text runs (ExportItems m:Data: base64 item data) make fast-xml-parser slow and wasteful: it accumulates
// text a character at a time (a string object per character, about 30 bytes of garbage per byte of item data), so
// they are lifted out before parsing and put back after. Any item's data is longer than this. A run is lifted
// only when it holds no '>': a '>' that is not a tag's end (inside an attribute value, a comment, a CDATA section)
// is always followed by a '>' before the next '<', but in a comment or a CDATA section holding a '<' (put back).
const BIG_TEXT = 1024
// eslint-disable-next-line no-control-regex -- U+0001 delimits lifted-text placeholders: it cannot occur in XML text
const PLACEHOLDER = /^\u0001(\d+)\u0001$/
// eslint-disable-next-line no-control-regex -- as PLACEHOLDER
const PLACEHOLDERS = /\u0001(\d+)\u0001/g

/**
 * Parses a whole document into a namespace-resolved tree; throws XmlError when the
 * body is not well-formed XML (HTML error pages, truncated bodies, …). `xml` is text, or
 * the UTF-8 bytes of the document as read: then its big text runs (base64 item data) are
 * sliced out of the bytes, each decoded once, and never become part of a whole-document string.
 */
export function parseXml (xml: string | Buffer): XmlNode {
  const big: string[] = []
  const reduced = typeof xml === 'string' ? liftBigText(xml, big) : liftBigBytes(xml, big)
  const valid = XMLValidator.validate(reduced)
  if (valid !== true) {
    throw new XmlError(`not well-formed XML (${valid.err.code} at ${valid.err.line}:${valid.err.col})`)
  }
  // The validator accepts trailing garbage after the root element (e.g. '=== Truncated Data ===').
  if (!reduced.trimEnd().endsWith('>')) throw new XmlError('content after the root element')
  let raw: RawNode[]
  try {
    raw = parser.parse(reduced) as RawNode[]
  } catch (err) {
    if (/nested tags/i.test((err as Error).message)) throw new XmlTooDeep()
    throw new XmlError(`not well-formed XML (${(err as Error).message.slice(0, 200)})`)
  }
  const roots = raw.filter((n) => elementName(n) !== undefined)
  if (roots.length !== 1) throw new XmlError('expected exactly one root element')
  return convert(roots[0], new Map([['xml', XML_NS]]), big)
}

/** Replaces every text run of BIG_TEXT+ characters between two tags with a placeholder (linear scan). */
function liftBigText (xml: string, big: string[]): string {
  const parts: string[] = []
  let last = 0
  let gt = xml.indexOf('>')
  while (gt !== -1) {
    const lt = xml.indexOf('<', gt + 1)
    if (lt === -1) break
    const next = xml.indexOf('>', gt + 1)
    if (lt - gt - 1 >= BIG_TEXT && next > lt) {
      parts.push(xml.slice(last, gt + 1), `\u0001${big.length}\u0001`)
      big.push(xml.slice(gt + 1, lt))
      last = lt
    }
    gt = next > lt ? next : xml.indexOf('>', lt)
  }
  if (last === 0) return xml
  parts.push(xml.slice(last))
  return parts.join('')
}

/**
 * `liftBigText` over the UTF-8 bytes of a document: returns the rest of the document as text. A lifted
 * run of ASCII (base64 item data) becomes a one-byte string (latin1 decoding is a plain copy, and later
 * checks and copies of it are byte-wise); any other run is decoded as UTF-8. The bytes '<' and '>' never
 * occur inside a multi-byte UTF-8 sequence, so decoding the pieces between them gives the text decoding
 * the whole would give.
 */
function liftBigBytes (xml: Buffer, big: string[]): string {
  const parts: string[] = []
  let last = 0
  let gt = xml.indexOf(0x3e)
  while (gt !== -1) {
    const lt = xml.indexOf(0x3c, gt + 1)
    if (lt === -1) break
    const next = xml.indexOf(0x3e, gt + 1)
    if (lt - gt - 1 >= BIG_TEXT && next > lt) {
      parts.push(xml.toString('utf8', last, gt + 1), `\u0001${big.length}\u0001`)
      const run = xml.subarray(gt + 1, lt)
      big.push(run.toString(isAscii(run) ? 'latin1' : 'utf8'))
      last = lt
    }
    gt = next > lt ? next : xml.indexOf(0x3e, lt)
  }
  if (last === 0) return xml.toString('utf8')
  parts.push(xml.toString('utf8', last))
  return parts.join('')
}

function elementName (node: RawNode): string | undefined {
  for (const key of Object.keys(node)) {
    if (key !== ':@' && key !== '#text' && key !== '#cdata' && !key.startsWith('?')) return key
  }
  return undefined
}

function convert (node: RawNode, scope: Map<string, string>, big: string[]): XmlNode {
  const name = elementName(node) as string
  const rawAttrs = node[':@'] ?? {}
  let inner = scope
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (inner === scope) inner = new Map(scope)
      inner.set(k === 'xmlns' ? '' : k.slice(6), decodeEntities(v))
    }
  }
  const attrs: Record<string, string> = {}
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue
    const colon = k.indexOf(':')
    attrs[colon === -1 ? k : k.slice(colon + 1)] = decodeEntities(v)
  }
  const colon = name.indexOf(':')
  const prefix = colon === -1 ? '' : name.slice(0, colon)
  const ns = inner.get(prefix)
  if (ns === undefined && prefix !== '') throw new XmlError(`undeclared namespace prefix '${prefix}'`)
  const children: XmlNode[] = []
  let textValue = ''
  for (const child of (node[name] as RawNode[]) ?? []) {
    if ('#text' in child) {
      const value = String(child['#text'])
      const hole = PLACEHOLDER.exec(value)
      textValue += hole !== null ? decodeEntities(big[Number(hole[1])]) : decodeEntities(value)
    } else if ('#cdata' in child) {
      // A run lifted out of a CDATA section that holds a '<' is put back as it was.
      for (const c of child['#cdata'] as RawNode[]) {
        textValue += String(c['#text'] ?? '').replace(PLACEHOLDERS, (_, n: string) => big[Number(n)])
      }
    } else if (elementName(child) !== undefined) {
      children.push(convert(child, inner, big))
    }
  }
  return { ns: ns ?? '', local: colon === -1 ? name : name.slice(colon + 1), attrs, children, text: textValue }
}

// ------------------------------------------------------------------ navigation

export function child (node: XmlNode | undefined, ns: string, local: string): XmlNode | undefined {
  return node?.children.find((c) => c.ns === ns && c.local === local)
}

export function childrenOf (node: XmlNode | undefined, ns: string, local?: string): XmlNode[] {
  if (node === undefined) return []
  return node.children.filter((c) => c.ns === ns && (local === undefined || c.local === local))
}

/** Follows a path of (namespace, local) steps. */
export function path (node: XmlNode | undefined, ...steps: Array<[string, string]>): XmlNode | undefined {
  let cur = node
  for (const [ns, local] of steps) cur = child(cur, ns, local)
  return cur
}

export function childText (node: XmlNode | undefined, ns: string, local: string): string | undefined {
  return child(node, ns, local)?.text
}
