/**
 * Import sessions, one per target mailbox, reused until shortly before they expire.
 *
 * The importUrl is pre-authenticated (its `authtoken` is the credential) and MSAL
 * cannot refresh it: `expirationDateTime` is the only signal, so a session is
 * renewed `renewBeforeMs` early, and callers drop it on 401/403 from the import
 * endpoint. Concurrent items share one in-flight creation.
 */
import { UpstreamBadResponse } from '../../errors.js'
import { redactUrl } from '../../redact.js'

export interface ImportSession {
  /** MBX id the session is bound to. */
  mailboxId: string
  importUrl: string
  expiresAt: number
  /** Time from which the session is renewed instead of reused. */
  renewAt: number
}

export interface RawSession {
  importUrl?: unknown
  expirationDateTime?: unknown
}

export interface ImportSessionsOptions {
  create: (mailboxId: string) => Promise<RawSession>
  renewBeforeMs: number
  /** Hosts (`host` or `host:port`) an importUrl may point to. */
  allowedHosts: string[]
  now?: () => number
}

/** The importUrl must be https and on an allowed host: we send item data there without further checks. */
export function checkImportUrl (value: unknown, allowedHosts: string[]): URL {
  if (typeof value !== 'string') throw new UpstreamBadResponse('createImportSession returned no importUrl')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UpstreamBadResponse('createImportSession returned an unparseable importUrl')
  }
  const allowed = allowedHosts.map((h) => h.toLowerCase())
  if (url.protocol !== 'https:' || !(allowed.includes(url.host.toLowerCase()) ||
    allowed.includes(url.hostname.toLowerCase()))) {
    throw new UpstreamBadResponse(`importUrl on a host that is not allowed: ${redactUrl(url)}`)
  }
  return url
}

export class ImportSessions {
  private readonly sessions = new Map<string, ImportSession>()
  private readonly pending = new Map<string, Promise<ImportSession>>()
  private readonly now: () => number

  constructor (private readonly options: ImportSessionsOptions) {
    this.now = options.now ?? Date.now
  }

  /** A usable session for the mailbox: the cached one while fresh, else a new one. */
  async get (mailboxId: string): Promise<ImportSession> {
    const cached = this.sessions.get(mailboxId)
    if (cached !== undefined && this.now() < cached.renewAt) return cached
    let p = this.pending.get(mailboxId)
    if (p === undefined) {
      // Shared by concurrent items: not tied to the signal of whichever item asked first.
      p = this.open(mailboxId).finally(() => this.pending.delete(mailboxId))
      this.pending.set(mailboxId, p)
    }
    return await p
  }

  /** Forgets a session the import endpoint refused (only if it is still the current one). */
  invalidate (session: ImportSession): void {
    if (this.sessions.get(session.mailboxId) === session) this.sessions.delete(session.mailboxId)
  }

  clear (): void {
    this.sessions.clear()
  }

  private async open (mailboxId: string): Promise<ImportSession> {
    const raw = await this.options.create(mailboxId)
    checkImportUrl(raw.importUrl, this.options.allowedHosts)
    // Used exactly as returned (the docs say not to customize it), not re-serialized.
    const importUrl = raw.importUrl as string
    const now = this.now()
    const parsed = typeof raw.expirationDateTime === 'string' ? Date.parse(raw.expirationDateTime) : Number.NaN
    // No usable expiry: assume a short life rather than reusing a dead URL for long.
    const expiresAt = Number.isNaN(parsed) ? now + 5 * 60_000 : parsed
    const lifetime = Math.max(0, expiresAt - now)
    // A session shorter-lived than the renewal margin would be renewed on every item: use half its life instead.
    const margin = Math.min(this.options.renewBeforeMs, lifetime / 2)
    const session: ImportSession = { mailboxId, importUrl, expiresAt, renewAt: expiresAt - margin }
    this.sessions.set(mailboxId, session)
    return session
  }
}
