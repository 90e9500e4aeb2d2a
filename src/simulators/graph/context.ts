/**
 * State shared by the simulator's handlers.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { MailboxStore } from '../store/store.js'
import type { DeltaRounds } from './delta.js'
import type { ImportTokens } from './import-token.js'
import type { BearerIdentity, GraphFaults, GraphQuirks, GraphSimulatorStats } from './types.js'

export type GraphVersion = 'v1.0' | 'beta'

export interface SimContext {
  store: MailboxStore
  /** Graph origin, https://host:port. */
  url: string
  /** Import endpoint origin (the simulated outlook.office365.com). */
  importOrigin: string
  faults: GraphFaults
  quirks: GraphQuirks
  stats: GraphSimulatorStats
  sessionLifetimeSec: number
  acceptForeignData: boolean
  /** SHA-256 of every stream this simulator exported (only consulted when acceptForeignData is false). */
  exported: Set<string>
  tokens: ImportTokens
  delta: DeltaRounds
  mailboxId: (guid: string) => string
  /** A store id as this simulator hands it out (URL-safe, or standard base64 under the quirk). */
  wireId: (storeId: string) => string
}

/** One authenticated Graph request, as the router sees it. */
export interface GraphCall {
  method: string
  version: GraphVersion
  /** Raw request path (no query), used to build nextLinks the way Graph echoes them. */
  path: string
  query: URLSearchParams
  /** Raw query string including '?', or '' (repeated verbatim in redirects). */
  search: string
  headers: IncomingHttpHeaders
  identity: BearerIdentity
  /** Parsed JSON body; undefined when the body is empty. */
  json: () => Promise<unknown>
  /** The body's bytes (a MIME upload is base64 text, not JSON). Read once; `json` and `raw` share it. */
  raw: () => Promise<Buffer>
}
