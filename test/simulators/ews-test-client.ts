/**
 * Test-side SOAP client for the EWS simulator: builds envelopes (with any SOAP
 * prefix), posts them over real loopback HTTP and reads responses with an
 * independent parser (fast-xml-parser, prefixes stripped) so assertions never
 * reuse the simulator's own XML code.
 */
import { XMLParser } from 'fast-xml-parser'
import type { Test } from 'tap'
import { startEwsSimulator, type EwsSimulator, type EwsSimulatorOptions } from '../../src/simulators/ews/index.js'
import { seedDemoTenant, DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'

export const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
export const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
export const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/'
export const ALICE = DEMO_MAILBOXES.alice.smtp
export const BOB = DEMO_MAILBOXES.bob.smtp
export const DAVE = DEMO_MAILBOXES.dave.smtp

export const ACCOUNTS = [
  { username: 'svc-ews', password: 'svc-secret-1', impersonation: true },
  { username: 'alice@contoso.example', password: 'alice-secret-1', impersonation: false, smtp: ALICE },
  { username: 'nomailbox', password: 'nomailbox-secret', impersonation: false },
  // A service account without a mailbox for delegate access: tests grant it FullAccess where they need it.
  { username: 'svc-delegate', password: 'svc-delegate-secret', impersonation: false }
]
export const SVC = { user: 'svc-ews', pass: 'svc-secret-1' }
export const SVC_DELEGATE = { user: 'svc-delegate', pass: 'svc-delegate-secret' }
export const ALICE_LOGIN = { user: 'alice@contoso.example', pass: 'alice-secret-1' }

export interface EnvelopeOptions {
  /** Prefix of the SOAP envelope namespace ('' = default namespace). */
  soapPrefix?: string
  version?: string | null
  impersonate?: string | null
  /** Extra raw header XML. */
  header?: string
}

/** Wraps a body (which must declare or use prefixes m:/t:) in a SOAP 1.1 envelope. */
export function envelope (body: string, opts: EnvelopeOptions = {}): string {
  const p = opts.soapPrefix ?? 'soap'
  const q = p === '' ? '' : `${p}:`
  const decl = p === '' ? `xmlns="${SOAP}"` : `xmlns:${p}="${SOAP}"`
  const version =
    opts.version === null ? '' : `<t:RequestServerVersion Version="${opts.version ?? 'Exchange2013_SP1'}"/>`
  const imp =
    opts.impersonate === null || opts.impersonate === undefined
      ? ''
      : `<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${opts.impersonate}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
  return `<?xml version="1.0" encoding="utf-8"?><${q}Envelope ${decl} xmlns:t="${T}" xmlns:m="${M}">` +
    `<${q}Header>${version}${imp}${opts.header ?? ''}</${q}Header><${q}Body>${body}</${q}Body></${q}Envelope>`
}

export interface HttpResult { status: number, headers: Headers, text: string }

export async function post (url: string, xml: string,
  auth: { user: string, pass: string } | string | null): Promise<HttpResult> {
  const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' }
  if (typeof auth === 'string') headers.authorization = auth
  else if (auth !== null) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}`
  const res = await fetch(url, { method: 'POST', headers, body: xml })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

const parser = new XMLParser({
  // Character references decoded as any XML parser does (the simulator writes a carriage return as &#xD;).
  htmlEntities: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) =>
    name.endsWith('ResponseMessage') ||
    [
      'Folder',
      'CalendarFolder',
      'ContactsFolder',
      'TasksFolder',
      'Message',
      'CalendarItem',
      'Contact',
      'Task',
      'Item',
      'Create',
      'Update',
      'Delete',
      'Value'
    ].includes(name)
})

/** Parsed XML with prefixes removed; `any` keeps test navigation terse. */

export type Xml = any

export function parse (text: string): Xml {
  return parser.parse(text)
}

/** The ResponseMessage list of an operation response. */
export function messages (text: string, op: string): Xml[] {
  const doc = parse(text)
  return doc.Envelope.Body[`${op}Response`].ResponseMessages[`${op}ResponseMessage`]
}

export function codes (text: string, op: string): string[] {
  return messages(text, op).map((m) => m.ResponseCode)
}

export function faultCode (text: string): string {
  return parse(text).Envelope.Body.Fault.detail.ResponseCode
}

/** Every folder element of a Folders container, whatever its type. */
export function foldersOf (container: Xml): Xml[] {
  if (container === undefined || container === '') return []
  return ['Folder', 'CalendarFolder', 'ContactsFolder', 'TasksFolder'].flatMap((k) => container[k] ?? [])
}

export function itemsOf (container: Xml): Xml[] {
  if (container === undefined || container === '') return []
  return ['Message', 'CalendarItem', 'Contact', 'Task', 'Item'].flatMap((k) => container[k] ?? [])
}

export interface Harness {
  sim: EwsSimulator
  store: MailboxStore
  /** Calls an operation as svc-ews impersonating `mailbox` (default alice). */
  call: (
    body: string,
    opts?: EnvelopeOptions & { auth?: { user: string, pass: string } | string | null }
  ) => Promise<HttpResult>
}

export async function harness (t: Test, extra: Partial<EwsSimulatorOptions> = {}): Promise<Harness> {
  const store = seedDemoTenant()
  const sim = await startEwsSimulator({ store, accounts: ACCOUNTS, ...extra })
  t.teardown(() => sim.close())
  return {
    sim,
    store,
    call: async (body, opts = {}) => {
      const auth = opts.auth === undefined ? SVC : opts.auth
      const impersonate = opts.impersonate === undefined ? ALICE : opts.impersonate
      return await post(sim.url, envelope(body, { ...opts, impersonate }), auth)
    }
  }
}

export const m = (name: string, inner: string, attrs = ''): string =>
  `<m:${name}${attrs === '' ? '' : ' ' + attrs}>${inner}</m:${name}>`
export const dfid = (id: string): string => `<t:DistinguishedFolderId Id="${id}"/>`
/** A distinguished folder of a named mailbox (`t:Mailbox/t:EmailAddress`), as delegate access sends it. */
export const dfidOf = (id: string, smtp: string): string => `<t:DistinguishedFolderId Id="${id}">` +
  `<t:Mailbox><t:EmailAddress>${smtp}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
export const fid = (id: string, changeKey?: string): string =>
  `<t:FolderId Id="${id}"${changeKey !== undefined ? ` ChangeKey="${changeKey}"` : ''}/>`
export const iid = (id: string, changeKey?: string): string =>
  `<t:ItemId Id="${id}"${changeKey !== undefined ? ` ChangeKey="${changeKey}"` : ''}/>`
export const shape = (tag: 'FolderShape' | 'ItemShape', base: string, fields: string[] = []): string =>
  m(
    tag,
    `<t:BaseShape>${base}</t:BaseShape>${fields.length > 0 ? `<t:AdditionalProperties>${fields.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}</t:AdditionalProperties>` : ''}`
  )
