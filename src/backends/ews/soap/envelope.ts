/**
 * SOAP 1.1 envelopes for EWS: writing requests (RequestServerVersion and optional
 * ExchangeImpersonation headers, fixed prefixes soap/t/m) and reading responses
 * (Body payload or SOAP Fault, resolved by namespace, never by prefix).
 */
import {
  NS, XmlParts, el, text, parseXml, child, childrenOf, childText, xmlByteLength, xmlBytes, xmlPieces, type XmlBody,
  type XmlNode
} from './xml.js'
import type { PiecedBody } from '../../../upstream/pieced-body.js'

/** Request bytes from which a body in pieces is sent in pieces rather than written into one Buffer. */
const PIECED_FROM = 1024 * 1024

export interface EnvelopeOptions {
  serverVersion: string
  /** SMTP address to impersonate (ExchangeImpersonation/ConnectingSID/SmtpAddress). */
  impersonate?: string
}

/**
 * Wraps one body element (already serialized with t:/m: prefixes) in a request envelope: a string, or for a
 * body in pieces (XmlParts: item data) the request's UTF-8 bytes: up to a megabyte one Buffer (`whole`), each
 * piece written once; past it, pieces made as the socket takes them (item data given as bytes is sent as those
 * bytes, never copied), so a large item is never held twice.
 */
export function buildEnvelope (body: string, options: EnvelopeOptions): string
export function buildEnvelope (body: XmlBody, options: EnvelopeOptions): string | PiecedBody
export function buildEnvelope (body: XmlBody, options: EnvelopeOptions): string | PiecedBody {
  const header = el('soap:Header', {},
    el('t:RequestServerVersion', { Version: options.serverVersion }),
    options.impersonate !== undefined &&
      el('t:ExchangeImpersonation', {}, el('t:ConnectingSID', {}, el('t:SmtpAddress', {}, text(options.impersonate))))
  )
  const wrap = (inner: string): string => '<?xml version="1.0" encoding="utf-8"?>' +
    el('soap:Envelope', { 'xmlns:soap': NS.soap, 'xmlns:t': NS.t, 'xmlns:m': NS.m }, header, el('soap:Body', {}, inner))
  if (typeof body === 'string') return wrap(body)
  // U+0000 cannot be in the header (escapeXml refuses it): it marks where the body goes.
  const whole = wrap('\u0000')
  const at = whole.indexOf('\u0000')
  const parts = [whole.slice(0, at), ...body.parts, whole.slice(at + 1)]
  const bytes = xmlByteLength(new XmlParts(parts))
  if (bytes <= PIECED_FROM) {
    const one = xmlBytes(parts)
    return { bytes, whole: one, pieces: function * () { yield one } }
  }
  return { bytes, pieces: () => xmlPieces(parts) }
}

export interface SoapFault {
  /** EWS ResponseCode (detail/e:ResponseCode, else the local part of faultcode). */
  code: string
  message: string
  /** MessageXml t:Value pairs, e.g. BackOffMilliseconds. */
  values: Record<string, string>
}

export interface ParsedEnvelope {
  /** The single child of soap:Body, when it is not a Fault. */
  body?: XmlNode
  fault?: SoapFault
  /** ServerVersionInfo@Version, for logs only (free text, never validated). */
  serverVersion?: string
}

/**
 * Parses a response (text, or its UTF-8 bytes as read: see parseXml); throws XmlError when it is
 * not a SOAP envelope at all.
 */
export function parseEnvelope (xml: string | Buffer): ParsedEnvelope {
  const root = parseXml(xml)
  if (root.ns !== NS.soap || root.local !== 'Envelope') throw new EnvelopeError('not a SOAP 1.1 envelope')
  const header = child(root, NS.soap, 'Header')
  const info = child(header, NS.t, 'ServerVersionInfo')
  const body = child(root, NS.soap, 'Body')
  if (body === undefined) throw new EnvelopeError('SOAP envelope without Body')
  const out: ParsedEnvelope = {}
  if (info?.attrs.Version !== undefined) out.serverVersion = info.attrs.Version
  const payload = body.children[0]
  if (payload === undefined) throw new EnvelopeError('empty SOAP Body')
  if (payload.ns === NS.soap && payload.local === 'Fault') out.fault = readFault(payload)
  else out.body = payload
  return out
}

export class EnvelopeError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'EnvelopeError'
  }
}

/**
 * Most UTF-16 units kept of a fault's code, message and each MessageXml value (longer ones are cut): they
 * name a code, a line, a property or a wait, never more than a few hundred characters from Exchange, and
 * are logged and matched, never relayed whole.
 */
export const MAX_FAULT_TEXT = 1024

function readFault (fault: XmlNode): SoapFault {
  // faultcode/faultstring/detail are unqualified in SOAP 1.1; be lenient about that.
  const byLocal = (local: string): XmlNode | undefined => fault.children.find((c) => c.local === local)
  const detail = byLocal('detail')
  const faultcode = byLocal('faultcode')?.text.trim() ?? ''
  const code = childText(detail, NS.e, 'ResponseCode')?.trim() ?? faultcode.slice(faultcode.indexOf(':') + 1)
  const message = childText(detail, NS.e, 'Message')?.trim() ?? byLocal('faultstring')?.text.trim() ?? ''
  const values: Record<string, string> = {}
  const messageXml = detail?.children.find((c) => c.local === 'MessageXml' && (c.ns === NS.t || c.ns === NS.m))
  readValues(messageXml, values)
  for (const [k, v] of Object.entries(values)) values[k] = v.slice(0, MAX_FAULT_TEXT)
  return { code: code.slice(0, MAX_FAULT_TEXT), message: message.slice(0, MAX_FAULT_TEXT), values }
}

/** Collects `t:Value Name="…"` pairs and simple text children (LineNumber, Violation, …). */
export function readValues (messageXml: XmlNode | undefined,
  into: Record<string, string> = {}): Record<string, string> {
  if (messageXml === undefined) return into
  for (const v of childrenOf(messageXml, NS.t)) {
    if (v.local === 'Value' && v.attrs.Name !== undefined) into[v.attrs.Name] = v.text.trim()
    else if (v.children.length === 0) into[v.local] = v.text.trim()
  }
  return into
}
