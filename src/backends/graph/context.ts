/**
 * Shared state of one Graph backend instance, handed to the folder, export and
 * import modules so each stays small.
 */
import type { Logger } from 'pino'
import type { ResolvedGraphBackend } from '../../config.js'
import type { CallOptions, Policy } from '../policy.js'
import type { GraphHttp } from './http.js'
import type { ImportSessions } from './import-sessions.js'

export type ApiVersion = 'v1.0' | 'beta'

/** Most redirects followed for one request (auxiliary archives answer 308). */
export const MAX_REDIRECTS = 5

/** A mailbox as the adapter addresses it. */
export interface GraphMailbox {
  /** `MBX:{guid}@{tenant}`. */
  mbx: string
  version: ApiVersion
  archive: boolean
  /** `https://graph/{ver}/admin/exchange/mailboxes/{mbx}` (mbx raw, as the docs write it). */
  base: string
  /** Policy key: concurrency, budgets and retries are per backend mailbox (app + mailbox). */
  key: string
  /** Who asked (OperationContext.caller): the policy serves callers of one mailbox round-robin. */
  caller?: string
}

export interface GraphContext {
  /** The backend's resolved settings; `graphUrl` is an origin (no path, no version). */
  config: ResolvedGraphBackend
  http: GraphHttp
  policy: Policy
  logger: Logger
  sessions: ImportSessions
  /** Auxiliary archive MBX ids Graph itself pointed us to, per main archive MBX. */
  auxMailboxes: Map<string, Set<string>>
}

/**
 * The policy's view of one call about `mailbox`: `operation` is the Graph action (`exportItems`,
 * `importItem`, `createImportSession`, `listFolders`, `getFolder`, `createFolder`, …).
 */
export function callFor (ctx: GraphContext, mailbox: GraphMailbox, operation: string, idempotent: boolean,
  signal?: AbortSignal, cost?: CallOptions['cost']): CallOptions {
  return {
    backend: ctx.config.name,
    operation,
    key: mailbox.key,
    idempotent,
    ...(mailbox.caller !== undefined ? { caller: mailbox.caller } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(cost !== undefined ? { cost } : {})
  }
}

/** MBX ids are opaque but go raw into paths: allow only the characters they are made of. */
export const MAILBOX_ID = /^[A-Za-z0-9:@._-]{1,300}$/

export function rememberAux (ctx: GraphContext, main: string, aux: string): void {
  if (aux === main) return
  let set = ctx.auxMailboxes.get(main)
  if (set === undefined) {
    set = new Set()
    ctx.auxMailboxes.set(main, set)
  }
  set.add(aux)
}

/** Mailbox ids a cursor or redirect may legitimately name for this mailbox. */
export function knownMailboxIds (ctx: GraphContext, mailbox: GraphMailbox): string[] {
  return [mailbox.mbx, ...(ctx.auxMailboxes.get(mailbox.mbx) ?? [])]
}

/** The MBX id in a Graph URL path (`/{ver}/admin/exchange/mailboxes/{mbx}/...`), if there is one. */
export function mailboxIdInPath (pathname: string): string | undefined {
  const m = /^\/[^/]+\/admin\/exchange\/mailboxes\/([^/]+)/i.exec(pathname)
  if (m === null) return undefined
  try {
    return decodeURIComponent(m[1])
  } catch {
    return undefined
  }
}
