/**
 * HTTP authentication (Basic and NTLM against configured accounts, Bearer through the
 * identity simulator's verifier) and mailbox selection from the SOAP headers.
 */
import { timingSafeEqual } from 'node:crypto'
import type { MailboxStore, StoreMailbox } from '../store/store.js'
import { contextFor, type RequestContext } from './context.js'
import { EwsFault } from './errors.js'
import { ntlmStep, type NtlmConnectionState } from './ntlm.js'
import type { EwsAccount, EwsSimulatorOptions } from './types.js'
import { NS, child, type XmlEl } from './xml.js'

export const FULL_ACCESS_AS_APP = 'full_access_as_app'

/** Who sent a request: an account (by Basic, or NTLM on this connection) or an app (Bearer token). */
export type Caller = { kind: 'basic' | 'ntlm', account: EwsAccount } | { kind: 'app', appId: string }

export interface AuthFailure { failed: true, diagnostics?: string }

/** The first leg of an NTLM handshake: answer 401 with this `WWW-Authenticate` value. */
export interface AuthChallenge { challenge: string }

function safeEqual (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Authenticates one request from its `Authorization` header and, for NTLM, its connection's state
 * (src/simulators/ews/ntlm.ts): as IIS does with connection-based authentication, a request without
 * the header on a connection an NTLM handshake bound to an account is that account's. An NTLM
 * Type 1 message restarts the handshake on its connection.
 */
export async function authenticate (header: string | undefined,
  options: Pick<EwsSimulatorOptions, 'accounts' | 'verifyBearer'>,
  connection: NtlmConnectionState = {}): Promise<Caller | AuthFailure | AuthChallenge> {
  if (header === undefined) {
    return connection.account !== undefined ? { kind: 'ntlm', account: connection.account } : { failed: true }
  }
  const space = header.indexOf(' ')
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
  const value = space < 0 ? '' : header.slice(space + 1).trim()
  if (scheme === 'ntlm') {
    const step = ntlmStep(value, connection, options.accounts)
    if (step.step === 'challenge') return { challenge: step.header }
    if (step.step === 'failed') return { failed: true }
    return { kind: 'ntlm', account: step.account }
  }
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return { failed: true }
    const user = decoded.slice(0, colon).toLowerCase()
    const password = decoded.slice(colon + 1)
    const account = options.accounts.find((a) => a.username.toLowerCase() === user)
    if (account === undefined || !safeEqual(account.password, password)) return { failed: true }
    return { kind: 'basic', account }
  }
  if (scheme === 'bearer' && options.verifyBearer !== undefined) {
    let identity: Awaited<ReturnType<NonNullable<EwsSimulatorOptions['verifyBearer']>>>
    try {
      identity = await options.verifyBearer(value)
    } catch {
      identity = undefined
    }
    if (identity === undefined) {
      return {
        failed: true,
        diagnostics: '2000001;reason="The token is invalid or has expired.";error_category="invalid_token"'
      }
    }
    if (!identity.roles.includes(FULL_ACCESS_AS_APP)) {
      return {
        failed: true,
        diagnostics:
          '2000008;reason="The token contains no permissions, or permissions can not be understood.";error_category="invalid_grant"'
      }
    }
    return { kind: 'app', appId: identity.appId }
  }
  return { failed: true }
}

/** Versions of ExchangeVersionType in the schema snapshot. */
export const SERVER_VERSIONS = new Set([
  'Exchange2007', 'Exchange2007_SP1', 'Exchange2009', 'Exchange2010', 'Exchange2010_SP1', 'Exchange2010_SP2',
  'Exchange2012', 'Exchange2013', 'Exchange2013_SP1', 'Exchange2015', 'Exchange2016', 'V2015_10_05', 'V2016_01_06',
  'V2016_04_13', 'V2016_07_13', 'V2016_10_10', 'V2017_01_07', 'V2017_04_14', 'V2017_07_11', 'V2017_10_09', 'V2018_01_08'
])

export function checkServerVersion (header: XmlEl | undefined): string {
  const el = header === undefined ? undefined : child(header, NS.t, 'RequestServerVersion')
  const version = el?.attrs.Version
  if (version === undefined || !SERVER_VERSIONS.has(version)) throw new EwsFault('ErrorInvalidServerVersion')
  return version
}

const NO_MAILBOX = 'The SMTP address has no mailbox associated with it.'

/**
 * Picks the identity a request acts as. With ExchangeImpersonation: the impersonated user
 * (the caller needs the impersonation right; that user's rights apply). Without it: the
 * caller's own account (delegate access) — its mailbox if it has one, plus every mailbox it
 * holds FullAccess on. App-only callers have no mailbox or grants and must impersonate.
 * Faults: ErrorInvalidExchangeImpersonationHeaderData, ErrorImpersonateUserDenied,
 * ErrorNonExistentMailbox, ErrorMissingEmailAddress [D responsecode.md].
 */
export function selectMailbox (store: MailboxStore, caller: Caller, header: XmlEl | undefined): RequestContext {
  const canImpersonate = caller.kind === 'app' || caller.account.impersonation
  const impersonation = header === undefined ? undefined : child(header, NS.t, 'ExchangeImpersonation')
  if (impersonation !== undefined) {
    const sid = child(impersonation, NS.t, 'ConnectingSID')
    const value = sid?.children.find(
      (c) => c.ns === NS.t && ['PrimarySmtpAddress', 'SmtpAddress', 'PrincipalName', 'SID'].includes(c.local)
    )
    if (value === undefined || value.text.trim() === '') {
      throw new EwsFault('ErrorInvalidExchangeImpersonationHeaderData')
    }
    if (!canImpersonate) throw new EwsFault('ErrorImpersonateUserDenied')
    // The simulator has no directory of SIDs; UPNs equal primary SMTP addresses.
    const address = value.local === 'SID' ? undefined : value.text.trim()
    if (address === undefined) throw new EwsFault('ErrorNonExistentMailbox', NO_MAILBOX)
    const mailbox = store.mailboxBySmtp(address)
    if (mailbox === undefined) throw new EwsFault('ErrorNonExistentMailbox', NO_MAILBOX, [['SmtpAddress', address]])
    return contextFor(store, mailbox, [mailbox.smtp])
  }
  // App-only callers have no mailbox of their own: they must impersonate.
  if (caller.kind === 'app') throw new EwsFault('ErrorMissingEmailAddress')
  const { account } = caller
  let own: StoreMailbox | undefined
  if (account.smtp !== undefined) {
    own = store.mailboxBySmtp(account.smtp)
    if (own === undefined) throw new EwsFault('ErrorNonExistentMailbox', NO_MAILBOX, [['SmtpAddress', account.smtp]])
  }
  return contextFor(store, own, [account.username, ...(account.smtp !== undefined ? [account.smtp] : [])])
}
