/**
 * Delta rounds for folders and items.
 *
 * A round starts at the initial GET (or at a $deltatoken replay): the set of changed objects is taken
 * from the store once (store.changesSince, or the current contents for a full sync) and kept
 * server-side, so that every $skiptoken page slices the same list even while the mailbox changes.
 * Objects are rendered at page time. The final page's $deltatoken carries the store sequence the
 * round started at; the next round reports what changed after it.
 */
import { randomBytes } from 'node:crypto'
import { GraphError } from './http.js'

export interface DeltaScope {
  kind: 'folder' | 'item'
  /** Mailbox GUID the URL addressed. */
  mailboxGuid: string
  /** 'tree' (folders/delta), the parent folder id (childFolders/delta) or the folder id (items/delta). */
  scope: string
}

export interface DeltaEntry { id: string, removed: boolean }

interface Round extends DeltaScope {
  /** The store's sync epoch when the round started (MailboxStore.expireSyncStates). */
  epoch: number
  entries: DeltaEntry[]
  /** Store sequence when the round started: the next round's starting point. */
  highWater: number
  select: string | null
  pageSize: number
  lastUsed: number
}

interface TokenBody {
  /** Sync epoch of the store that issued the token. */
  e?: number
  r?: string
  o?: number
  s?: number
  k: string
  m: string
  sc: string
  sel: string | null
  ps: number
}

const MAX_ROUNDS = 2000

const invalidToken = (): GraphError =>
  new GraphError(400, 'BadRequest', 'The delta or skip token is invalid for this request.')

export class DeltaRounds {
  private readonly rounds = new Map<string, Round>()

  /** Starts a round; `entries` is computed by the caller from the store. */
  start (scope: DeltaScope, entries: DeltaEntry[], highWater: number, select: string | null, pageSize: number,
    epoch: number): string {
    const id = randomBytes(9).toString('base64url')
    this.rounds.set(id, { ...scope, epoch, entries, highWater, select, pageSize, lastUsed: Date.now() })
    if (this.rounds.size > MAX_ROUNDS) {
      // Evict the least recently used round; its skiptoken then answers 410 like an expired sync state.
      let oldest: string | undefined
      let t = Infinity
      for (const [k, r] of this.rounds) if (r.lastUsed < t) { t = r.lastUsed; oldest = k }
      if (oldest !== undefined) this.rounds.delete(oldest)
    }
    return id
  }

  get (roundId: string): Round | undefined {
    const r = this.rounds.get(roundId)
    if (r !== undefined) r.lastUsed = Date.now()
    return r
  }

  skipToken (roundId: string, offset: number, round: Round): string {
    return encode({
      e: round.epoch,
      r: roundId,
      o: offset,
      k: round.kind,
      m: round.mailboxGuid,
      sc: round.scope,
      sel: round.select,
      ps: round.pageSize
    })
  }

  deltaToken (round: Round): string {
    return encode({
      e: round.epoch,
      s: round.highWater,
      k: round.kind,
      m: round.mailboxGuid,
      sc: round.scope,
      sel: round.select,
      ps: round.pageSize
    })
  }

  /** Decodes a token and checks it belongs to this collection. */
  decode (token: string, scope: DeltaScope): TokenBody {
    let body: TokenBody
    try {
      body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TokenBody
    } catch {
      throw invalidToken()
    }
    if (
      typeof body !== 'object' ||
      body === null ||
      body.k !== scope.kind ||
      body.m !== scope.mailboxGuid ||
      body.sc !== scope.scope
    ) { throw invalidToken() }
    return body
  }
}

function encode (body: TokenBody): string {
  return Buffer.from(JSON.stringify(body)).toString('base64url')
}

export const syncStateGone = (): GraphError =>
  new GraphError(
    410,
    'SyncStateNotFound',
    'The sync state is not found or has expired. Restart the synchronization without a token.'
  )
