/**
 * Maps gateway mailbox ids and SMTP addresses to mailboxes and the backend that
 * serves them. Mailboxes come from configuration; what only the backend knows
 * (Graph `MBX:` ids, whether an archive exists) is discovered on first use and
 * cached for `discoveryTtlMs`.
 */
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { MailboxBackend, MailboxKind, MailboxRef } from './mailbox-backend.js'
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
}

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

  constructor (options: RouterOptions) {
    this.backends = options.backends
    this.configured = options.mailboxes
    this.logger = options.logger
    this.ttl = options.discoveryTtlMs ?? 10 * 60_000
  }

  backend (name: string): MailboxBackend {
    const b = this.backends.get(name)
    if (b === undefined) throw new Error(`unknown backend ${name}`)
    return b
  }

  /**
   * Every mailbox, primaries followed by their archives. A backend that cannot be reached still lists its primaries.
   */
  async list (): Promise<MailboxRef[]> {
    const lists = await Promise.all(this.configured.map(async (m) => {
      try {
        return await this.refsFor(m)
      } catch (err) {
        this.logger.warn(
          { err, mailbox: m.address, backend: m.backend },
          'mailbox discovery failed; listing the primary only'
        )
        return [this.primaryRef(m)]
      }
    }))
    return lists.flat()
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

  private async discover (m: ConfiguredMailbox): Promise<MailboxRef[]> {
    const backend = this.backend(m.backend)
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
    await Promise.allSettled([...this.backends.values()].map(async (b) => await b.close()))
  }
}
