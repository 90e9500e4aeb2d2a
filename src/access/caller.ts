/**
 * Who is calling and what they may do: the caller an authenticated request acts as (README "Security model").
 *
 * A caller is one configured client (`auth.clients[]` of the configuration document): its scopes say which
 * operations it may call, its mailbox allow-list (addresses or glob patterns, optionally limited to some
 * backends) which mailboxes. The service layer asks `mayAccess` for every mailbox a request names, so every
 * transport (HTTP routes now, jobs and the CLI later) gets the same answer.
 */
import picomatch from 'picomatch'
import { CALLER_SCOPES, type CallerClientSettings, type CallerScope } from '../config.js'

export { CALLER_SCOPES, type CallerScope }

/**
 * A mailbox as the allow-list sees it: its SMTP address and the configured backend serving it (unknown before the
 * mailbox is resolved: then only the address is checked).
 */
export interface MailboxIdentity {
  address: string
  backend?: string
}

/** How the caller proved who it is. */
export type CredentialKind = 'apiKey' | 'bearer' | 'none'

/** The authenticated caller of one request. */
export interface Caller {
  /** The client's configured name (`auth.clients[].name`); `anonymous` when `auth.mode` is `none`. */
  client: string
  credential: CredentialKind
  /** Which credential: the API key's configured `id`, or the bearer token's `azp`/`appid`; never a secret. */
  credentialId?: string
  /** Scopes this request holds. */
  scopes: ReadonlySet<CallerScope>
  /** Whether the client's allow-list admits this mailbox. */
  mayAccess: (mailbox: MailboxIdentity) => boolean
  /** Requests this client may make per window (`auth.rateLimit` or the client's own). */
  rateLimit: { max: number, windowSec: number }
}

/** The caller when `auth.mode` is `none`: every scope, every mailbox. */
export function anonymousCaller (rateLimit: { max: number, windowSec: number }): Caller {
  return {
    client: 'anonymous',
    credential: 'none',
    scopes: new Set(CALLER_SCOPES),
    mayAccess: () => true,
    rateLimit
  }
}

/**
 * The allow-list test of one client: the mailbox's address matches one of `mailboxes` (picomatch globs,
 * case-insensitive: `alice@contoso.com`, `*@contoso.com`, `*`) and, when `backends` is given, its backend is
 * one of them.
 */
export function mailboxMatcher (client: Pick<CallerClientSettings, 'mailboxes' | 'backends'>):
(mailbox: MailboxIdentity) => boolean {
  const match = picomatch(client.mailboxes, { nocase: true, dot: true })
  const backends = client.backends !== undefined ? new Set(client.backends) : undefined
  return (mailbox) =>
    (backends === undefined || mailbox.backend === undefined || backends.has(mailbox.backend)) && match(mailbox.address)
}

/** The caller `client` makes, holding `scopes` (a subset of the client's). */
export function clientCaller (
  client: CallerClientSettings,
  credential: Exclude<CredentialKind, 'none'>,
  credentialId: string,
  scopes: Iterable<CallerScope>,
  defaultRateLimit: { max: number, windowSec: number },
  matcher = mailboxMatcher(client)
): Caller {
  return {
    client: client.name,
    credential,
    credentialId,
    scopes: new Set(scopes),
    mayAccess: matcher,
    rateLimit: client.rateLimit ?? defaultRateLimit
  }
}
