/**
 * Maps gateway mailbox ids and SMTP addresses to mailboxes and the backend that
 * serves them. Mailboxes come from configuration; what only the backend knows
 * (Graph `MBX:` ids, whether an archive exists) is discovered on first use and
 * cached for `discoveryTtlMs`. It also owns each backend's readiness (`health`,
 * src/backends/health.ts): the start-up check and the configuration problems calls
 * run into.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { TokenProvider } from '../auth/token-provider.js'
import type { MailboxBackend, MailboxKind, MailboxRef } from './mailbox-backend.js'
import type { CircuitReport } from './policy.js'
import { BackendHealth, describeFailure, observed } from './health.js'
import { MailboxNotFound } from '../errors.js'

export interface ConfiguredMailbox {
  address: string
  backend: string
  displayName?: string
}

export interface RouterOptions {
  backends: Map<string, MailboxBackend>
  mailboxes: ConfiguredMailbox[]
  logger: Logger
  discoveryTtlMs?: number
  /** Each OAuth backend's token provider, by backend name: the start-up check fetches a token first. */
  tokenProviders?: Map<string, TokenProvider>
  /** Each backend's circuit (src/backends/policy.ts `circuit`), shown by readiness. */
  circuits?: (backend: string) => CircuitReport
}

/** Why a configured mailbox could not be discovered (GET /mailboxes shows it instead of dropping its archive). */
export interface DiscoveryFailure {
  state: 'failed'
  /** MBG_ERR_* code of the failure. */
  code: string
  detail: string
}

/** A mailbox as listed: a primary whose discovery failed carries `discovery`. */
export type ListedMailbox = MailboxRef & { discovery?: DiscoveryFailure }

interface Discovered {
  at: number
  refs: MailboxRef[]
}

export function mailboxId (backend: string, address: string, kind: MailboxKind): string {
  const digest = createHash('sha256').update(`${backend}|${address.toLowerCase()}|${kind}`).digest('hex').slice(0, 16)
  return `mbx-${digest}`
}

export class BackendRouter {
  private readonly backends: Map<string, MailboxBackend>
  private readonly configured: ConfiguredMailbox[]
  private readonly logger: Logger
  private readonly ttl: number
  private readonly cache = new Map<string, Discovered>()
  private readonly inflight = new Map<string, Promise<MailboxRef[]>>()
  private readonly tokens: Map<string, TokenProvider>
  /** The adapters as given, unobserved (for the start-up check). */
  private readonly adapters: Map<string, MailboxBackend>
  /** Readiness of every backend; `health.start()` runs the start-up checks. */
  readonly health: BackendHealth

  constructor (options: RouterOptions) {
    this.configured = options.mailboxes
    this.logger = options.logger
    this.ttl = options.discoveryTtlMs ?? 10 * 60_000
    this.tokens = options.tokenProviders ?? new Map()
    this.adapters = options.backends
    this.health = new BackendHealth(
      new Map([...options.backends].map(([name, b]) => [name, b.type])),
      async (name) => { await this.checkBackend(name) },
      options.logger,
      options.circuits
    )
    // Configuration problems that calls run into mark the backend failing (GET /health/ready).
    this.backends = new Map([...options.backends].map(([name, b]) =>
      [name, observed(b, (err) => { this.health.observe(name, err) })]))
  }

  backend (name: string): MailboxBackend {
    const b = this.backends.get(name)
    if (b === undefined) throw new Error(`unknown backend ${name}`)
    return b
  }

  /**
   * Every mailbox, primaries followed by their archives. A mailbox whose discovery failed
   * (its backend unreachable or misconfigured) is still listed, as its primary with
   * `discovery: { state: 'failed', code, detail }`: whether it has an archive is unknown.
   */
  async list (): Promise<ListedMailbox[]> {
    const lists = await Promise.all(this.configured.map(async (m): Promise<ListedMailbox[]> => {
      try {
        return await this.refsFor(m)
      } catch (err) {
        this.logger.warn(
          { err, mailbox: m.address, backend: m.backend },
          'mailbox discovery failed; listing the primary only'
        )
        return [{ ...this.primaryRef(m), discovery: { state: 'failed', ...describeFailure(err) } }]
      }
    }))
    return lists.flat()
  }

  /**
   * One backend's start-up check: a token fetch (OAuth backends), then the discovery of its
   * first configured mailbox, whose result is cached like any discovery. A mailbox the backend
   * does not know (MBG_ERR_MAILBOX_NOT_FOUND) still shows the backend works: GET /mailboxes
   * marks that mailbox. Throws what failed otherwise.
   */
  async checkBackend (name: string): Promise<void> {
    await this.tokens.get(name)?.getToken()
    const first = this.configured.find((m) => m.backend === name)
    if (first === undefined) return
    const key = `${first.backend}|${first.address.toLowerCase()}`
    try {
      // The adapter itself: a failing check is the check's to report, not a call's (src/backends/health.ts).
      const refs = await this.discover(first, this.adapters.get(name))
      this.cache.set(key, { at: Date.now(), refs })
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MBG_ERR_MAILBOX_NOT_FOUND') throw err
      this.logger.warn({ backend: name, mailbox: first.address },
        `backend ${name} does not know mailbox ${first.address}`)
    }
  }

  /** Resolves a gateway id or a primary SMTP address. Throws MBG_ERR_MAILBOX_NOT_FOUND. */
  async resolve (idOrAddress: string): Promise<{ mailbox: MailboxRef, backend: MailboxBackend }> {
    const key = idOrAddress.toLowerCase()
    for (const m of this.configured) {
      const primaryId = mailboxId(m.backend, m.address, 'primary')
      const archiveId = mailboxId(m.backend, m.address, 'archive')
      if (key !== m.address.toLowerCase() && key !== primaryId && key !== archiveId) continue
      const refs = await this.refsFor(m)
      const wanted = key === archiveId ? 'archive' : 'primary'
      const mailbox = refs.find((r) => r.kind === wanted)
      if (mailbox === undefined) break
      return { mailbox, backend: this.backend(m.backend) }
    }
    throw new MailboxNotFound(idOrAddress)
  }

  private primaryRef (m: ConfiguredMailbox): MailboxRef {
    const backend = this.backend(m.backend)
    return {
      id: mailboxId(m.backend, m.address, 'primary'),
      address: m.address.toLowerCase(),
      type: backend.type,
      kind: 'primary',
      backend: m.backend,
      ...(m.displayName !== undefined ? { displayName: m.displayName } : {})
    }
  }

  private async refsFor (m: ConfiguredMailbox): Promise<MailboxRef[]> {
    const key = `${m.backend}|${m.address.toLowerCase()}`
    const hit = this.cache.get(key)
    if (hit !== undefined && Date.now() - hit.at < this.ttl) return hit.refs
    let pending = this.inflight.get(key)
    if (pending === undefined) {
      pending = this.discover(m).finally(() => this.inflight.delete(key))
      this.inflight.set(key, pending)
    }
    const refs = await pending
    this.cache.set(key, { at: Date.now(), refs })
    return refs
  }

  private async discover (m: ConfiguredMailbox, adapter?: MailboxBackend): Promise<MailboxRef[]> {
    const backend = adapter ?? this.backend(m.backend)
    const found = await backend.discover(m.address)
    const primary = this.primaryRef(m)
    if (found.primaryRef !== undefined) primary.backendRef = found.primaryRef
    if (primary.displayName === undefined && found.displayName !== undefined) primary.displayName = found.displayName
    if (found.archive === undefined) return [primary]
    const archive: MailboxRef = {
      id: mailboxId(m.backend, m.address, 'archive'),
      address: primary.address,
      type: backend.type,
      kind: 'archive',
      backend: m.backend,
      primaryId: primary.id,
      ...(primary.displayName !== undefined ? { displayName: `${primary.displayName} (archive)` } : {}),
      ...(found.archive.ref !== undefined ? { backendRef: found.archive.ref } : {})
    }
    primary.archiveId = archive.id
    return [primary, archive]
  }

  async close (): Promise<void> {
    this.health.close()
    await Promise.allSettled([...this.backends.values()].map(async (b) => await b.close()))
  }
}
