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
import { XMLParser } from 'fast-xml-parser'
import { BadRequest } from '../../../errors.js'

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors'
} as const

const XML_NS = 'http://www.w3.org/XML/1998/namespace'

// ------------------------------------------------------------------ writing

const ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;'
}

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
 * Escapes text (`attribute` false) and attribute values. Text XML 1.0 cannot carry is refused
 * (MBG_ERR_BAD_REQUEST), never stripped: a changed name or id would reach the server as something the caller did
 * not send. Callers check caller text first (naming the field); this is the last line.
 *
 * A carriage return is written as a character reference everywhere, and so are a line feed and a tab in an
 * attribute value: a parser turns a CR LF in text into LF (XML 1.0 §2.11) and white space in an attribute value
 * into spaces (§3.3.3), so a text body's CR LF line ends would reach the server as LF alone.
 */
export function escapeXml (value: string, attribute = true): string {
  const bad = notXmlText(value)
  if (bad !== undefined) throw new BadRequest(`text the EWS backend cannot carry in XML (${bad})`)
  return value.replace(attribute ? /[&<>"'\r\n\t]/g : /[&<>"'\r]/g, (c) => ESCAPES[c])
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
  return escapeXml(value, false)
}

/**
 * A serialized element kept as pieces, in document order, so that big text runs (item data: megabytes of
 * base64, already checked and needing no escapes) are never concatenated into a whole-request string: text
 * pieces, or item data as bytes (its ASCII base64, a slice of the bytes the caller sent), written into the
 * request once (`xmlBytes`) or sent piece by piece (`xmlPieces`).
 */
export class XmlParts {
  constructor (readonly parts: ReadonlyArray<string | Buffer>) {}
}

/** A serialized body element: one string, or pieces (`XmlParts`). */
export type XmlBody = string | XmlParts

/** UTF-8 bytes of a body element (what it adds to a request). */
export function xmlByteLength (body: XmlBody): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  let n = 0
  for (const part of body.parts) n += typeof part === 'string' ? Buffer.byteLength(part) : part.length
  return n
}

/** The UTF-8 bytes of `parts` joined, each written once into one Buffer. */
export function xmlBytes (parts: ReadonlyArray<string | Buffer>): Buffer {
  let length = 0
  for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part) : part.length
  const out = Buffer.allocUnsafe(length)
  let offset = 0
  for (const part of parts) {
    offset += typeof part === 'string' ? out.write(part, offset, 'utf8') : part.copy(out, offset)
  }
  return out
}

/** UTF-16 units of a text piece encoded at a time by `xmlPieces`. */
const PIECE_CHARS = 1024 * 1024

/**
 * The UTF-8 bytes of `parts` joined, as pieces made as they are asked for: bytes as they are (slices, never
 * copied), text encoded a megabyte at a time (never cutting a surrogate pair), so that a large item is held once.
 */
export function * xmlPieces (parts: ReadonlyArray<string | Buffer>): Generator<Buffer> {
  for (const part of parts) {
    if (typeof part !== 'string') {
      yield part
      continue
    }
    for (let i = 0; i < part.length;) {
      let end = Math.min(i + PIECE_CHARS, part.length)
      const last = part.charCodeAt(end - 1)
      if (end < part.length && last >= 0xd800 && last <= 0xdbff) end++
      yield Buffer.from(part.slice(i, end), 'utf8')
      i = end
    }
  }
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
  /**
   * The element's character data as bytes, when it is one big ASCII text run of a document parsed from its bytes
   * (item data: `m:Data`), a slice of those bytes; `text` then decodes them each time it is read. Read `bytes`
   * first to keep megabytes of item data from being copied into a string.
   */
  bytes?: Buffer
}

export class XmlError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'XmlError'
  }
}

type RawNode = Record<string | symbol, unknown> & { ':@'?: Record<string, string> }

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
  jPath: false,
  // Where each element's markup starts and ends: parseXml checks the tags there (the parser accepts any end tag).
  captureMetaData: true
})

/** Where an element's markup starts ('<' of its start tag) and ends (past the '>' of its end tag), in UTF-16 units. */
interface Span { startIndex: number, endIndex?: number }
const SPAN = XMLParser.getMetaDataSymbol() as unknown as symbol

// Names (XML 1.0 fifth edition §2.3 NameStartChar / NameChar, without ':'), qualified names (Namespaces in XML
// 1.0 §4 QName), start tags with attributes (XML 1.0 §3.1 STag, EmptyElemTag: values quoted, holding no '<').
const NAME_START = 'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D' +
  '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}'
const NCNAME = `[${NAME_START}][${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F\\u2040]*`
const QNAME = `${NCNAME}(?::${NCNAME})?`
// eslint-disable-next-line no-misleading-character-class -- code point ranges of the XML name classes, no sequences
const NAME = new RegExp(`^${QNAME}$`, 'u')
// eslint-disable-next-line no-misleading-character-class -- as NAME
const ATTRIBUTES = new RegExp(`(?:\\s+${QNAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*\\s*(/?)>`, 'uy')
// The names EWS answers use: ASCII, tested without Unicode tables first.
const ASCII_NAME = /^[A-Z_a-z][\w.-]*(?::[A-Z_a-z][\w.-]*)?$/
const ASCII_ATTRIBUTES = /(?:\s+[A-Z_a-z][\w.-]*(?::[A-Z_a-z][\w.-]*)?\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*(\/?)>/y
// What may surround the root element (XML 1.0 §2.8 Misc: white space, comments, processing instructions; the XML
// declaration is one). No document type declaration: a SOAP message must not hold one (SOAP 1.1 §3).
const MISC = /^(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!-))*-->)*$/

const GT = 0x3e
const SLASH = 0x2f

/** Whether `code` is XML white space (XML 1.0 §2.3 S: space, tab, CR, LF). */
const isSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a

/** A name as error messages show it: at most 64 UTF-16 units of what a backend sent. */
const shown = (name: string): string => name.length > 64 ? `${name.slice(0, 64)}…` : name

/**
 * Checks the markup of one element the parser read, at the span it recorded: a start tag of that name (a
 * qualified name; attributes quoted and separated by white space), and either ending there (`/>`) or closed by
 * an end tag of the same name. fast-xml-parser reads text and structure, but takes any end tag for the innermost
 * open element and leaves unclosed elements open at the end of the document: a truncated, mis-nested or HTML
 * body shows here.
 */
function checkTags (doc: string, name: string, span: Span | undefined, attributes: number): void {
  if (span?.endIndex === undefined) throw new XmlError(`element '${shown(name)}' is not closed`)
  if (!ASCII_NAME.test(name) && !NAME.test(name)) throw new XmlError(`'${shown(name)}' is not an element name`)
  // The start tag: '<' and the name (the parser took the name from there), then attributes, then '>' or '/>'.
  let at = span.startIndex + 1 + name.length
  if (doc.charCodeAt(at - name.length - 1) !== 0x3c || !doc.startsWith(name, at - name.length)) {
    throw new XmlError(`malformed start tag of element '${shown(name)}'`)
  }
  let empty: boolean
  if (doc.charCodeAt(at) === GT) {
    empty = false
    at++
  } else if (doc.charCodeAt(at) === SLASH && doc.charCodeAt(at + 1) === GT) {
    empty = true
    at += 2
  } else {
    ASCII_ATTRIBUTES.lastIndex = at
    let m = ASCII_ATTRIBUTES.exec(doc)
    if (m === null) {
      ATTRIBUTES.lastIndex = at
      m = ATTRIBUTES.exec(doc)
      if (m === null) throw new XmlError(`malformed start tag of element '${shown(name)}'`)
      at = ATTRIBUTES.lastIndex
    } else {
      at = ASCII_ATTRIBUTES.lastIndex
    }
    empty = m[1] === '/'
    // Each attribute once (XML 1.0 §3.1, Unique Att Spec): the parser kept the last of a repeated name.
    if (countAttributes(doc, span.startIndex + 1 + name.length, at) !== attributes) {
      throw new XmlError(`a repeated attribute in the start tag of element '${shown(name)}'`)
    }
  }
  if (empty) {
    if (at !== span.endIndex) throw new XmlError(`malformed start tag of element '${shown(name)}'`)
    return
  }
  // The end tag: '</', the name, white space, '>', ending where the parser ended the element.
  let end = span.endIndex - 2
  while (isSpace(doc.charCodeAt(end))) end--
  const lt = end + 1 - name.length - 2
  if (doc.charCodeAt(lt) !== 0x3c || doc.charCodeAt(lt + 1) !== SLASH || !doc.startsWith(name, lt + 2) ||
    doc.charCodeAt(span.endIndex - 1) !== GT || lt < at) {
    throw new XmlError(`element '${shown(name)}' is not closed by its end tag`)
  }
}

/** The attributes of a well-formed start tag between `from` and `to`: its '=' signs outside quoted values. */
function countAttributes (doc: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = doc.charCodeAt(i)
    if (c === 0x3d) n++
    else if (c === 0x22 || c === 0x27) {
      i = doc.indexOf(doc[i], i + 1)
      if (i === -1) break
    }
  }
  return n
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

/** Text with its references decoded; an '&' that starts no reference is not well-formed XML (XmlError). */
function decodeEntities (value: string): string {
  if (!value.includes('&')) return value
  return value.replace(/&(?:(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);)?/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError('an \'&\' that starts no entity or character reference')
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : match
    }
    return NAMED_ENTITIES[ref] ?? match
  })
}

// Long text runs (ExportItems m:Data: base64 item data) make fast-xml-parser slow and wasteful: it accumulates
// text a character at a time (a string object per character, about 30 bytes of garbage per byte of item data), so
// they are lifted out before parsing and put back after. Any item's data is longer than this. A lifted run is the
// text after the last '>' before a '<', so it never holds a '>'; a run found inside a comment is dropped with it,
// one inside a CDATA section (which holds a '<') is put back as it was.
const BIG_TEXT = 1024
// eslint-disable-next-line no-control-regex -- U+0001 delimits lifted-text placeholders: it cannot occur in XML text
const PLACEHOLDERS = /\u0001(\d+)\u0001/g

/**
 * Parses a whole document into a namespace-resolved tree; throws XmlError when the
 * body is not well-formed XML (HTML error pages, truncated bodies, …). `xml` is text, or
 * the UTF-8 bytes of the document as read: then its big text runs (base64 item data) are
 * sliced out of the bytes and never become part of a whole-document string: an ASCII run (base64 item data)
 * stays bytes (`XmlNode.bytes`), another run is decoded once.
 *
 * One pass of fast-xml-parser reads the document; its errors (unclosed comments, CDATA sections or tags,
 * nesting deeper than MAX_XML_DEPTH: XmlTooDeep) and the checks of `checkTags` (every element's start and end
 * tag, at the places the parser recorded) and of what surrounds the one root element (only white space,
 * comments and processing instructions) make up the well-formedness check.
 */
export function parseXml (xml: string | Buffer): XmlNode {
  // U+0001 is no XML 1.0 character (section 2.2); refused here, it could not be told from a placeholder.
  if (typeof xml === 'string' ? xml.includes('\u0001') : xml.includes(0x01)) {
    throw new XmlError('not well-formed XML (U+0001)')
  }
  const big: Array<string | Buffer> = []
  const reduced = typeof xml === 'string' ? liftBigText(xml, big) : liftBigBytes(xml, big)
  let raw: RawNode[]
  try {
    raw = parser.parse(reduced) as RawNode[]
  } catch (err) {
    if (/nested tags/i.test((err as Error).message)) throw new XmlTooDeep()
    throw new XmlError(`not well-formed XML (${(err as Error).message.slice(0, 200)})`)
  }
  // What else the top level holds (text, CDATA; the parser leaves out comments and processing instructions) is
  // checked in the document itself, before and after the root.
  const roots = raw.filter((n) => elementName(n) !== undefined)
  if (roots.length !== 1) throw new XmlError('expected exactly one root element')
  const span = roots[0][SPAN] as Span | undefined
  if (span === undefined || !MISC.test(reduced.slice(0, span.startIndex))) {
    throw new XmlError('content before the root element')
  }
  if (span.endIndex !== undefined && !MISC.test(reduced.slice(span.endIndex))) {
    throw new XmlError('content after the root element')
  }
  return convert(roots[0], new Map([['xml', XML_NS]]), big, reduced)
}

/** What `bigRuns` reads of a document: text or its UTF-8 bytes ('<' and '>' as the string or the byte). */
interface Searchable<T> {
  length: number
  indexOf: (value: T, from: number) => number
  lastIndexOf: (value: T, from: number) => number
}

/**
 * The text runs of BIG_TEXT+ units between a tag's '>' and the next '<', as [start, end) offsets, in order. A run
 * that long holds a multiple of BIG_TEXT, so only those offsets are looked at: a few searches per BIG_TEXT units,
 * not two per tag.
 */
function bigRuns<T> (doc: Searchable<T>, lt: T, gt: T): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  let end = 0
  for (let at = BIG_TEXT; at < doc.length; at += BIG_TEXT) {
    const next = doc.indexOf(lt, at)
    if (next === -1) break
    // The only run that can end between `at` and `next` ends at `next` (no '<' lies between them), so whether it
    // is taken or not, the search goes on after `next`: each '<' is found once, whatever the text between (a
    // search that went on from `at` + BIG_TEXT found the same far '<' again and again: quadratic in an answer
    // with a '>' every few hundred bytes and no '<').
    // The run starts after the last '>' before its end: it never holds a '>' (one in text, or in an attribute
    // value, a comment or a CDATA section, starts the run after it; the rest is put back by `convert`), nor the
    // '<' that ended the run before it.
    const start = doc.lastIndexOf(gt, next - 1) + 1
    if (start > 0 && start > end && next - start >= BIG_TEXT) {
      runs.push([start, next])
      end = next
    }
    at = next - (next % BIG_TEXT)
  }
  return runs
}

/** Replaces every text run of BIG_TEXT+ characters between two tags with a placeholder. */
function liftBigText (xml: string, big: Array<string | Buffer>): string {
  const runs = bigRuns(xml, '<', '>')
  if (runs.length === 0) return xml
  const parts: string[] = []
  let last = 0
  for (const [start, end] of runs) {
    parts.push(xml.slice(last, start), `\u0001${big.length}\u0001`)
    big.push(xml.slice(start, end))
    last = end
  }
  parts.push(xml.slice(last))
  return parts.join('')
}

/**
 * `liftBigText` over the UTF-8 bytes of a document: returns the rest of the document as text. A lifted
 * run of ASCII without references (base64 item data) is kept as its bytes, a slice of `xml` (never copied);
 * any other run is decoded as UTF-8. The bytes '<' and '>' never occur inside a multi-byte UTF-8 sequence, so
 * decoding the pieces between them gives the text decoding the whole would give.
 */
function liftBigBytes (xml: Buffer, big: Array<string | Buffer>): string {
  const runs = bigRuns(xml, 0x3c, 0x3e)
  if (runs.length === 0) return xml.toString('utf8')
  const parts: string[] = []
  let last = 0
  for (const [start, end] of runs) {
    parts.push(xml.toString('utf8', last, start), `\u0001${big.length}\u0001`)
    const run = xml.subarray(start, end)
    big.push(isAscii(run) && run.indexOf(0x26) === -1 ? run : run.toString('utf8'))
    last = end
  }
  parts.push(xml.toString('utf8', last))
  return parts.join('')
}

function elementName (node: RawNode): string | undefined {
  for (const key in node) {
    if (key !== ':@' && key !== '#text' && key !== '#cdata') return key
  }
  return undefined
}

/** A lifted run as text (a run of bytes is ASCII). */
function runText (run: string | Buffer): string {
  return typeof run === 'string' ? run : run.toString('latin1')
}

function convert (node: RawNode, scope: Map<string, string>, big: Array<string | Buffer>, doc: string): XmlNode {
  const name = elementName(node) as string
  const rawAttrs = node[':@']
  let inner = scope
  const attrs: Record<string, string> = {}
  let count = 0
  if (rawAttrs !== undefined) {
    for (const k in rawAttrs) {
      count++
      const v = decodeEntities(rawAttrs[k])
      if (k === 'xmlns' || k.startsWith('xmlns:')) {
        if (inner === scope) inner = new Map(scope)
        inner.set(k === 'xmlns' ? '' : k.slice(6), v)
      } else {
        const colon = k.indexOf(':')
        attrs[colon === -1 ? k : k.slice(colon + 1)] = v
      }
    }
  }
  checkTags(doc, name, node[SPAN] as Span | undefined, count)
  const colon = name.indexOf(':')
  const prefix = colon === -1 ? '' : name.slice(0, colon)
  const ns = inner.get(prefix)
  if (ns === undefined && prefix !== '') throw new XmlError(`undeclared namespace prefix '${prefix}'`)
  const children: XmlNode[] = []
  const texts: Array<string | Buffer> = []
  for (const child of (node[name] as RawNode[] | undefined) ?? []) {
    const text = child['#text']
    if (text !== undefined) {
      const value = String(text)
      if (value.indexOf('\u0001') === -1) {
        texts.push(decodeEntities(value))
      } else {
        // Lifted runs, the whole text or part of it (a text '>' ends the part before a run): put back in order.
        // A run of bytes holds no reference (liftBigBytes): nothing to decode.
        let from = 0
        for (const hole of value.matchAll(PLACEHOLDERS)) {
          if (hole.index > from) texts.push(decodeEntities(value.slice(from, hole.index)))
          const run = big[Number(hole[1])]
          texts.push(typeof run === 'string' ? decodeEntities(run) : run)
          from = hole.index + hole[0].length
        }
        if (from < value.length) texts.push(decodeEntities(value.slice(from)))
      }
    } else if ('#cdata' in child) {
      // A run lifted out of a CDATA section (one that holds a '<') is put back as it was.
      for (const c of child['#cdata'] as RawNode[]) {
        texts.push(String(c['#text'] ?? '').replace(PLACEHOLDERS, (_, n: string) => runText(big[Number(n)])))
      }
    } else {
      children.push(convert(child, inner, big, doc))
    }
  }
  const out = { ns: ns ?? '', local: colon === -1 ? name : name.slice(colon + 1), attrs, children, text: '' }
  const bytes = texts.length === 1 && typeof texts[0] !== 'string' ? texts[0] : undefined
  if (bytes === undefined) {
    out.text = texts.map((t) => typeof t === 'string' ? t : t.toString('latin1')).join('')
    return out
  }
  // The bytes stay the element's data; its text is made only when asked for.
  return Object.defineProperties(out, {
    text: { get: () => bytes.toString('latin1'), enumerable: true },
    bytes: { value: bytes, enumerable: true }
  })
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
