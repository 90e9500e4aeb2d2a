/**
 * Response XML, written as strings in schema element order (xs:sequence is
 * strict, so order is part of the contract). Fixed prefixes: s (SOAP), m
 * (messages), t (types).
 */
import { NS } from './xml.js'
import { type EwsError, type EwsFault, type MessageValues } from './errors.js'

const ESC: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;'
}

/**
 * Escapes text or an attribute value. A carriage return is written as `&#xD;`, as Exchange writes it in bodies:
 * a raw one would reach the client as a line feed (XML 1.0 section 2.11 end-of-line handling) and a CRLF body
 * would come back altered.
 */
export function esc (s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => ESC[c])
}

/** Drops characters XML 1.0 cannot carry at all (store subjects are arbitrary strings). */
export function text (s: string): string {
  // eslint-disable-next-line no-control-regex
  return esc(s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, ''))
}

/** xs:dateTime the way Exchange writes it: UTC, no fractional seconds. */
export function dateTime (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export const SERVER_VERSION = {
  major: 15,
  minor: 20,
  majorBuild: 8857,
  minorBuild: 22,
  version: 'V2018_01_08'
} as const

const SERVER_VERSION_INFO =
  `<h:ServerVersionInfo MajorVersion="${SERVER_VERSION.major}" MinorVersion="${SERVER_VERSION.minor}" ` +
  `MajorBuildNumber="${SERVER_VERSION.majorBuild}" MinorBuildNumber="${SERVER_VERSION.minorBuild}" Version="${SERVER_VERSION.version}" ` +
  `xmlns:h="${NS.t}" xmlns="${NS.t}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`

/**
 * Every answer (operation responses and SOAP faults alike) carries `t:ServerVersionInfo` in the
 * SOAP header: services.wsdl binds it as a header part of every operation's output message, and
 * clients that do not pin a version (exchangelib's ConvertId probe) read the build from any answer,
 * a fault included (faultXml writes the same header).
 */
export function envelope (body: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${NS.soap}"><s:Header>${SERVER_VERSION_INFO}</s:Header>` +
    `<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">${body}</s:Body></s:Envelope>`
  )
}

function valuesXml (values: MessageValues): string {
  return values.map(([name, value]) => `<t:Value Name="${esc(name)}">${text(value)}</t:Value>`).join('')
}

/**
 * SOAP 1.1 fault in the shape Exchange uses (faultcode prefix bound to the types namespace), with
 * ServerVersionInfo in its header like every other answer.
 */
export function faultXml (fault: EwsFault): string {
  const values: string[] = []
  if (fault.position !== undefined) {
    values.push(
      `<t:LineNumber>${fault.position.line}</t:LineNumber><t:LinePosition>${fault.position.col}</t:LinePosition><t:Violation>${text(fault.message)}</t:Violation>`
    )
  }
  if (fault.values.length > 0) values.push(valuesXml(fault.values))
  const messageXml = values.length > 0 ? `<t:MessageXml xmlns:t="${NS.t}">${values.join('')}</t:MessageXml>` : ''
  const faultString = fault.message
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${NS.soap}">` +
    `<s:Header>${SERVER_VERSION_INFO}</s:Header><s:Body><s:Fault>` +
    `<faultcode xmlns:a="${NS.t}">a:${fault.code}</faultcode>` +
    `<faultstring xml:lang="en-US">${text(faultString)}</faultstring>` +
    `<detail><e:ResponseCode xmlns:e="${NS.e}">${fault.code}</e:ResponseCode>` +
    `<e:Message xmlns:e="${NS.e}">${text(faultString)}</e:Message>${messageXml}</detail>` +
    '</s:Fault></s:Body></s:Envelope>'
}

/** `m:<Op>Response` wrapping the per-input response messages. */
export function operationResponse (op: string, messages: string[]): string {
  return `<m:${op}Response xmlns:m="${NS.m}" xmlns:t="${NS.t}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${op}Response>`
}

export function successMessage (op: string, payload = ''): string {
  return `<m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${payload}</m:${op}ResponseMessage>`
}

/** `emptyPayload` is what the schema requires even on error (e.g. `<m:Items/>` for GetItem). */
export function errorMessage (op: string, err: EwsError, emptyPayload = ''): string {
  const xml = err.values.length > 0 ? `<m:MessageXml>${valuesXml(err.values)}</m:MessageXml>` : ''
  return (
    `<m:${op}ResponseMessage ResponseClass="Error"><m:MessageText>${text(err.message)}</m:MessageText>` +
    `<m:ResponseCode>${err.code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${xml}${emptyPayload}</m:${op}ResponseMessage>`
  )
}

export function idAttrs (id: string, changeKey: string): string {
  return `Id="${esc(id)}" ChangeKey="${esc(changeKey)}"`
}
