/**
 * Maps gateway mailbox ids and SMTP addresses to mailboxes and the backend that
 * serves them. Mailboxes come from configuration (consulted first) and from the
 * registry of mailboxes registered at runtime (a MailboxRegistryStore,
 * src/state/store.ts: POST /mailboxes); what only the backend knows
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
import { BackendUnknown, BadRequest, MailboxConfigured, MailboxExists, MailboxNotFound } from '../errors.js'
import { compareAddresses, type MailboxRegistryStore, type RegisteredMailbox } from '../state/store.js'
import { MemoryMailboxRegistry } from '../state/memory.js'

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
  /** Mailboxes registered at runtime; default an in-memory registry (MemoryMailboxRegistry). Closed with the router. */
  registry?: MailboxRegistryStore
}

/** A known mailbox: configured, or registered at runtime (then with `registeredAt`, epoch ms). */
interface KnownMailbox extends ConfiguredMailbox {
  registeredAt?: number
}

/** One page of GET /mailboxes (see `BackendRouter.page`). */
export interface MailboxPage {
  mailboxes: ListedMailbox[]
  /** The address to pass as `after` for the next page; absent on the last page. */
  next?: string
}

/** Discoveries one page of GET /mailboxes runs at once (the policy paces each backend besides). */
const PAGE_DISCOVERY_CONCURRENCY = 16

/** Why a configured mailbox could not be discovered (GET /mailboxes shows it instead of dropping its archive). */
export interface DiscoveryFailure {
  state: 'failed'
  /** MBG_ERR_* code of the failure. */
  code: string
  detail: string
}

/**
 * A mailbox as listed and resolved: a primary whose discovery failed carries `discovery`; one registered at runtime
 * carries `registeredAt` (RFC 3339), its archive too.
 */
export type ListedMailbox = MailboxRef & { discovery?: DiscoveryFailure, registeredAt?: string }

interface Discovered {
  at: number
  refs: ListedMailbox[]
}

export function mailboxId (backend: string, address: string, kind: MailboxKind): string {
  const digest = createHash('sha256').update(`${backend}|${address.toLowerCase()}|${kind}`).digest('hex').slice(0, 16)
  return `mbx-${digest}`
}

/** `fn` over `values`, at most `limit` at once, results in order. */
async function mapLimit<T, R> (values: T[], limit: number, fn: (value: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(values.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < values.length) {
      const i = next++
      results[i] = await fn(values[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker))
  return results
}

function known (entry: RegisteredMailbox): KnownMailbox {
  return {
    address: entry.address,
    backend: entry.backend,
    registeredAt: entry.addedAt,
    ...(entry.displayName !== undefined ? { displayName: entry.displayName } : {})
  }
}

export class BackendRouter {
  private readonly backends: Map<string, MailboxBackend>
  private readonly configured: ConfiguredMailbox[]
  /** Configured mailboxes in address order (lower-case addresses), for paging. */
  private readonly ordered: ConfiguredMailbox[]
  /** Configured mailboxes by lower-case address, primary id and archive id. */
  private readonly configuredKeys = new Map<string, ConfiguredMailbox>()
  private readonly registry: MailboxRegistryStore
  /** Per mailbox key, bumped when it is removed: a discovery that started before is not cached. */
  private readonly generations = new Map<string, number>()
  private readonly logger: Logger
  private readonly ttl: number
  private readonly cache = new Map<string, Discovered>()
  private readonly inflight = new Map<string, Promise<ListedMailbox[]>>()
  private readonly tokens: Map<string, TokenProvider>
  /** The adapters as given, unobserved (for the start-up check). */
  private readonly adapters: Map<string, MailboxBackend>
  /** Readiness of every backend; `health.start()` runs the start-up checks. */
  readonly health: BackendHealth

  constructor (options: RouterOptions) {
    this.configured = options.mailboxes
    this.ordered = [...options.mailboxes]
      .sort((a, b) => compareAddresses(a.address.toLowerCase(), b.address.toLowerCase()))
    for (const m of options.mailboxes) {
      for (const key of [m.address.toLowerCase(), mailboxId(m.backend, m.address, 'primary'),
        mailboxId(m.backend, m.address, 'archive')]) this.configuredKeys.set(key, m)
    }
    this.registry = options.registry ?? new MemoryMailboxRegistry()
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
   * Every mailbox, configured and registered, by address, primaries followed by their archives (all pages of
   * `page`). A mailbox whose discovery failed is listed as its primary with `discovery` (see `page`).
   */
  async list (): Promise<ListedMailbox[]> {
    const all: ListedMailbox[] = []
    let after: string | undefined
    do {
      const page = await this.page({ limit: 1000, ...(after !== undefined ? { after } : {}) })
      all.push(...page.mailboxes)
      after = page.next
    } while (after !== undefined)
    return all
  }

  /**
   * One page of mailboxes, configured and registered together, ordered by primary address (lower-case, code-point
   * order, `compareAddresses`): at most `limit` owners whose address sorts after `after`, each primary followed by
   * its archive, so a pair is never split between pages (a page holds up to 2 × `limit` mailboxes). `admit` (the
   * caller's allow-list) leaves owners out before their discovery, so a page may hold fewer while more follow.
   * A registered address that is also configured is listed once, as configured; registrations of a backend no
   * longer configured are left out (and logged). A mailbox whose discovery failed (its backend unreachable or
   * misconfigured, the address unknown to it) is still listed, as its primary with
   * `discovery: { state: 'failed', code, detail }`: whether it has an archive is unknown.
   */
  async page (query: { after?: string, limit: number, admit?: (m: { address: string, backend: string }) => boolean }):
  Promise<MailboxPage> {
    const limit = Math.max(1, query.limit)
    const owners: KnownMailbox[] = []
    let after = query.after?.toLowerCase()
    let exhausted = false
    while (owners.length < limit) {
      const batch = await this.ownersAfter(after, limit - owners.length)
      if (batch.length === 0) {
        exhausted = true
        break
      }
      after = batch[batch.length - 1].address.toLowerCase()
      for (const m of batch) if (query.admit === undefined || query.admit(m)) owners.push(m)
    }
    if (!exhausted && after !== undefined) exhausted = (await this.ownersAfter(after, 1)).length === 0
    const lists = await mapLimit(owners, PAGE_DISCOVERY_CONCURRENCY, async (m): Promise<ListedMailbox[]> => {
      try {
        return await this.refsFor(m)
      } catch (err) {
        this.logger.warn(
          { err, mailbox: m.address, backend: m.backend },
          'mailbox discovery failed; listing the primary only'
        )
        return [{ ...this.primaryRef(m), discovery: { state: 'failed', ...describeFailure(err) } }]
      }
    })
    return { mailboxes: lists.flat(), ...(!exhausted && after !== undefined ? { next: after } : {}) }
  }

  /**
   * The next (at most) `n` owners after the lower-case address `after`: configured and registered merged in
   * address order. Each source gives its first `n`; the merge stops at the last address of a source that may
   * have more, so nothing is skipped.
   */
  private async ownersAfter (after: string | undefined, n: number): Promise<KnownMailbox[]> {
    const past = (address: string): boolean => after === undefined || compareAddresses(address, after) > 0
    const configured: KnownMailbox[] = []
    for (const m of this.ordered) {
      if (configured.length === n) break
      if (past(m.address.toLowerCase())) configured.push(m)
    }
    const registered = await this.registry.list(after, n)
    let cut: string | undefined
    const lower = (m: { address: string }): string => m.address.toLowerCase()
    if (configured.length === n) cut = lower(configured[n - 1])
    if (registered.length === n && (cut === undefined || compareAddresses(registered[n - 1].address, cut) < 0)) {
      cut = registered[n - 1].address
    }
    const merged = [
      ...configured,
      ...registered.filter((e) => {
        if (this.configuredKeys.has(e.address)) return false
        if (this.backends.has(e.backend)) return true
        this.logger.warn({ mailbox: e.address, backend: e.backend },
          'registered mailbox names a backend that is no longer configured; not listed')
        return false
      }).map(known)
    ].sort((a, b) => compareAddresses(lower(a), lower(b)))
    const within = cut === undefined ? merged : merged.filter((m) => compareAddresses(lower(m), cut) <= 0)
    // Registrations left out (configured, or of a gone backend) still move the cursor past them.
    if (within.length === 0 && cut !== undefined) return await this.ownersAfter(cut, n)
    return within.slice(0, n)
  }

  /**
   * Registers a mailbox at runtime (POST /mailboxes): `backend` must be configured (else 422
   * MBG_ERR_BACKEND_UNKNOWN); an address already configured or registered is a 409 MBG_ERR_MAILBOX_EXISTS.
   * Nothing is asked of the backend: a mailbox it does not know is registered, and calls to it then answer 404
   * MBG_ERR_MAILBOX_NOT_FOUND. Returns the primary as listed before discovery.
   */
  async register (m: ConfiguredMailbox, addedBy?: string): Promise<ListedMailbox> {
    const address = m.address.toLowerCase()
    if (!this.backends.has(m.backend)) {
      throw new BackendUnknown(`"${m.backend}" is not a configured backend (configured: ` +
        `${[...this.backends.keys()].join(', ')})`)
    }
    if (this.configuredKeys.has(address)) throw new MailboxExists(`${address} (it is in the configuration document)`)
    const result = await this.registry.add({
      address,
      backend: m.backend,
      id: mailboxId(m.backend, address, 'primary'),
      archiveId: mailboxId(m.backend, address, 'archive'),
      ...(m.displayName !== undefined ? { displayName: m.displayName } : {}),
      ...(addedBy !== undefined ? { addedBy } : {})
    })
    if (result.status === 'exists') {
      throw new MailboxExists(`${address} (registered ${new Date(result.entry.addedAt).toISOString()} on backend ` +
        `${result.entry.backend})`)
    }
    return this.primaryRef(known(result.entry))
  }

  /**
   * Removes a mailbox registered at runtime, named by its address or its primary's id (DELETE
   * /mailboxes/{mailbox}), and drops its cached discovery. Throws 409 MBG_ERR_MAILBOX_CONFIGURED for a
   * configured one, 404 MBG_ERR_MAILBOX_NOT_FOUND for an unknown one, 400 for an archive's id (an archive goes
   * with its primary). `check` sees the registration before it is removed and may refuse by throwing (the
   * caller's allow-list). Returns the registration removed.
   */
  async unregister (idOrAddress: string, check?: (entry: RegisteredMailbox) => void): Promise<RegisteredMailbox> {
    const key = idOrAddress.toLowerCase()
    const configured = this.configuredKeys.get(key)
    if (configured !== undefined) {
      throw new MailboxConfigured(`${configured.address.toLowerCase()}: only mailboxes registered through the API ` +
        'can be removed through it; remove this one from `mailboxes` of the configuration document and restart')
    }
    const entry = await this.registry.find(key)
    if (entry === undefined) throw new MailboxNotFound(idOrAddress)
    if (key === entry.archiveId.toLowerCase()) {
      throw new BadRequest(`${idOrAddress} is the archive of ${entry.address}: an archive is removed with its ` +
        'primary (name the primary\'s address or id)')
    }
    check?.(entry)
    if (await this.registry.remove(entry.address) === 'absent') throw new MailboxNotFound(idOrAddress)
    this.forget(entry)
    return entry
  }

  /** Drops what is cached of a mailbox: its discovery, and any discovery of it still under way. */
  private forget (m: { address: string, backend: string }): void {
    const key = `${m.backend}|${m.address.toLowerCase()}`
    this.cache.delete(key)
    this.inflight.delete(key)
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1)
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

  /**
   * The backend serving a gateway id or primary SMTP address, and the mailbox's address, found without asking any
   * backend (no discovery): configured mailboxes first, then registered ones. Undefined for a name the gateway does
   * not know. For checks made before a request body is read (a body the backend could never take: src/service
   * `importBodyLimit`); `resolve` remains the one answer about whether the mailbox exists.
   */
  async backendOf (idOrAddress: string):
  Promise<{ address: string, backend: MailboxBackend, name: string } | undefined> {
    const key = idOrAddress.toLowerCase()
    let m: KnownMailbox | undefined = this.configuredKeys.get(key)
    if (m === undefined) {
      const entry = await this.registry.find(key)
      if (entry !== undefined && this.backends.has(entry.backend)) m = known(entry)
    }
    if (m === undefined) return undefined
    return { address: m.address.toLowerCase(), backend: this.backend(m.backend), name: m.backend }
  }

  /**
   * Resolves a gateway id or a primary SMTP address, configured mailboxes first, then registered ones.
   * Throws MBG_ERR_MAILBOX_NOT_FOUND (also for an archive id of a mailbox that has none, and for a registration
   * whose backend is no longer configured). `check` sees the mailbox's address and backend before any backend is
   * asked, and may refuse by throwing (the caller's allow-list).
   */
  async resolve (idOrAddress: string, check?: (m: { address: string, backend: string }) => void):
  Promise<{ mailbox: MailboxRef, backend: MailboxBackend }> {
    const key = idOrAddress.toLowerCase()
    let m: KnownMailbox | undefined = this.configuredKeys.get(key)
    if (m === undefined) {
      const entry = await this.registry.find(key)
      if (entry !== undefined && this.backends.has(entry.backend)) m = known(entry)
    }
    if (m !== undefined) {
      check?.({ address: m.address.toLowerCase(), backend: m.backend })
      const refs = await this.refsFor(m)
      const wanted = key === mailboxId(m.backend, m.address, 'archive') ? 'archive' : 'primary'
      const mailbox = refs.find((r) => r.kind === wanted)
      if (mailbox !== undefined) return { mailbox, backend: this.backend(m.backend) }
    }
    throw new MailboxNotFound(idOrAddress)
  }

  private primaryRef (m: KnownMailbox): ListedMailbox {
    const backend = this.backend(m.backend)
    return {
      id: mailboxId(m.backend, m.address, 'primary'),
      address: m.address.toLowerCase(),
      type: backend.type,
      kind: 'primary',
      backend: m.backend,
      ...(m.displayName !== undefined ? { displayName: m.displayName } : {}),
      ...(m.registeredAt !== undefined ? { registeredAt: new Date(m.registeredAt).toISOString() } : {})
    }
  }

  private async refsFor (m: KnownMailbox): Promise<ListedMailbox[]> {
    const key = `${m.backend}|${m.address.toLowerCase()}`
    const hit = this.cache.get(key)
    if (hit !== undefined && Date.now() - hit.at < this.ttl) return hit.refs
    const generation = this.generations.get(key)
    let pending = this.inflight.get(key)
    if (pending === undefined) {
      const started: Promise<ListedMailbox[]> = this.discover(m).finally(() => {
        if (this.inflight.get(key) === started) this.inflight.delete(key)
      })
      pending = started
      this.inflight.set(key, pending)
    }
    const refs = await pending
    // Removed meanwhile: the answer stands for this call, but is not kept.
    if (this.generations.get(key) === generation) this.cache.set(key, { at: Date.now(), refs })
    return refs
  }

  private async discover (m: KnownMailbox, adapter?: MailboxBackend): Promise<ListedMailbox[]> {
    const backend = adapter ?? this.backend(m.backend)
    const found = await backend.discover(m.address)
    const primary = this.primaryRef(m)
    if (found.primaryRef !== undefined) primary.backendRef = found.primaryRef
    if (primary.displayName === undefined && found.displayName !== undefined) primary.displayName = found.displayName
    if (found.archive === undefined) return [primary]
    const archive: ListedMailbox = {
      id: mailboxId(m.backend, m.address, 'archive'),
      address: primary.address,
      type: backend.type,
      kind: 'archive',
      backend: m.backend,
      primaryId: primary.id,
      ...(primary.displayName !== undefined ? { displayName: `${primary.displayName} (archive)` } : {}),
      ...(found.archive.ref !== undefined ? { backendRef: found.archive.ref } : {}),
      ...(primary.registeredAt !== undefined ? { registeredAt: primary.registeredAt } : {})
    }
    primary.archiveId = archive.id
    return [primary, archive]
  }

  async close (): Promise<void> {
    this.health.close()
    await Promise.allSettled([...[...this.backends.values()].map(async (b) => await b.close()), this.registry.close()])
  }
}
