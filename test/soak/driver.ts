/**
 * What the soak and saturation tests share: item streams with a marker in the subject, seeding them
 * straight into the simulators' store, the ids the gateway shows for store items (and back), and a
 * careful caller of the public API.
 *
 * The careful caller (`exportAll`, `importAll`) sends requests through `app.inject` and:
 *  - sends again, after their `retryAfter` (1 s when absent), the items whose per-item error is `retryable`,
 *  - never sends again an item answered MBG_ERR_OUTCOME_UNKNOWN or a non-retryable error,
 *  - records the status of every whole-request answer that is not 200 (and sends its items again).
 * It keeps, per item, the last answer it got; the tests then compare that with the store.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { fromPublicId as fromEwsPublicId, toPublicId as toEwsPublicId } from '../../src/backends/ews/ids.js'
import { fromPublicId as fromGraphPublicId, toPublicId as toGraphPublicId } from '../../src/backends/graph/ids.js'
import { fromWireId, toWireId } from '../../src/simulators/graph/ids.js'
import { itemStream } from '../helpers/items.js'
export { itemStream }
import type { MailboxStore, StoreItem } from '../../src/simulators/store/store.js'
import type { TestGateway } from '../helper.js'

export type BackendType = 'ews' | 'graph'

export interface ItemError {
  code: string
  status: number
  message: string
  retryable: boolean
  upstreamCode?: string
  retryAfter?: number
}

/** Creates `subjects.length` items (about 1–3 KB each) in a new folder `folderName` under the mailbox's inbox. */
export function seedItems (store: MailboxStore, mailboxGuid: string, folderName: string,
  subjects: string[]): StoreItem[] {
  const folder = store.createFolder(store.wellKnownFolder(mailboxGuid, 'inbox').id, folderName)
  return subjects.map((s, i) => store.createItem(folder.id, itemStream(s, 1024 + (i % 7) * 300)))
}

/** The id the gateway shows for a store item on a backend of `type`. */
export function publicIdOf (type: BackendType, storeId: string): string {
  return type === 'ews' ? toEwsPublicId(storeId) : toGraphPublicId(toWireId(storeId))
}

/** The store id of an id the gateway showed. */
export function storeIdOf (type: BackendType, publicId: string): string {
  return type === 'ews' ? fromEwsPublicId(publicId) : fromWireId(fromGraphPublicId(publicId))
}

/** Store items whose subject starts with `prefix`, counted per subject. */
export function subjectsInStore (store: MailboxStore, prefix: string): Map<string, StoreItem[]> {
  const out = new Map<string, StoreItem[]>()
  for (const item of store.items.values()) {
    if (item.subject?.startsWith(prefix) !== true) continue
    const list = out.get(item.subject) ?? []
    list.push(item)
    out.set(item.subject, list)
  }
  return out
}

/** What the careful caller saw. */
export interface CallerLog {
  /** Statuses of whole-request answers that were not 200. */
  wholeRequest: number[]
  /** Items sent again because their answer said `retryable` (or their request failed as a whole). */
  resent: number
  requests: number
}

export function newCallerLog (): CallerLog {
  return { wholeRequest: [], resent: 0, requests: 0 }
}

export interface CarefulOptions {
  /** Items per request. */
  requestSize: number
  /** Requests of one mailbox in flight at once. */
  parallel: number
  /** Rounds of sending again what is retryable. */
  maxRounds?: number
  log: CallerLog
}

interface Answer<R> { status: number, retryAfterSec: number, results?: R[] }

async function post<R> (gw: TestGateway, url: string, payload: Record<string, unknown>,
  log: CallerLog): Promise<Answer<R>> {
  log.requests++
  const res = await gw.app.inject({ method: 'POST', url, payload })
  const retryAfter = Number(res.headers['retry-after'])
  const retryAfterSec = Number.isFinite(retryAfter) ? retryAfter : 1
  if (res.statusCode !== 200) {
    log.wholeRequest.push(res.statusCode)
    return { status: res.statusCode, retryAfterSec }
  }
  return { status: 200, retryAfterSec, results: (JSON.parse(res.body) as { results: R[] }).results }
}

/** Runs `work` over `chunks`, at most `parallel` at once. */
async function pool<C> (chunks: C[], parallel: number, work: (c: C) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < chunks.length) await work(chunks[next++])
  }
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker))
}

function chunk<T> (xs: T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

/**
 * Sends `pending` keys in rounds: `send` answers per key either 'done', 'final' (never sent again) or a
 * number (retryable: seconds to wait). Keys still retryable after `maxRounds` stay as last answered.
 */
async function rounds<K> (pending: K[], options: CarefulOptions,
  send: (batch: K[]) => Promise<Array<'done' | 'final' | number>>): Promise<void> {
  const maxRounds = options.maxRounds ?? 8
  for (let round = 0; pending.length > 0 && round < maxRounds; round++) {
    if (round > 0) options.log.resent += pending.length
    const again: K[] = []
    let wait = 0
    await pool(chunk(pending, options.requestSize), options.parallel, async (batch) => {
      const outcome = await send(batch)
      outcome.forEach((o, k) => {
        if (typeof o === 'number') {
          again.push(batch[k])
          wait = Math.max(wait, o)
        }
      })
    })
    pending = again
    if (pending.length > 0) await sleep(Math.min(10, Math.max(wait, 0.2)) * 1000)
  }
}

export interface ExportOutcome { data?: string, error?: ItemError }

/** Exports every id of `ids` (public ids) from `mailbox` as a careful caller; the last answer per id. */
export async function exportAll (gw: TestGateway, mailbox: string, ids: string[],
  options: CarefulOptions): Promise<Map<string, ExportOutcome>> {
  const out = new Map<string, ExportOutcome>()
  const url = `/mailboxes/${encodeURIComponent(mailbox)}/items:export`
  await rounds(ids, options, async (batch) => {
    const answer = await post<{ itemId: string, data?: string, error?: ItemError }>(gw, url, { itemIds: batch },
      options.log)
    if (answer.results === undefined) return batch.map(() => answer.retryAfterSec)
    return answer.results.map((r, k) => {
      if (r.itemId !== batch[k]) throw new Error(`export answer out of order: ${r.itemId} for ${batch[k]}`)
      if (r.error === undefined) {
        out.set(r.itemId, { data: r.data as string })
        return 'done'
      }
      out.set(r.itemId, { error: r.error })
      return r.error.retryable ? r.error.retryAfter ?? 1 : 'final'
    })
  })
  return out
}

export interface ImportItem { marker: string, data: string, folderId?: string }
export interface ImportOutcome { itemId?: string, error?: ItemError }

/** Imports `items` (create mode, into `folderId`, default inbox) as a careful caller; the last answer per marker. */
export async function importAll (gw: TestGateway, mailbox: string, items: ImportItem[],
  options: CarefulOptions): Promise<Map<string, ImportOutcome>> {
  const out = new Map<string, ImportOutcome>()
  const url = `/mailboxes/${encodeURIComponent(mailbox)}/items:import`
  await rounds(items, options, async (batch) => {
    const payload = { items: batch.map((i) => ({ folderId: i.folderId ?? 'inbox', mode: 'create', data: i.data })) }
    const answer = await post<{ index: number, itemId?: string, error?: ItemError }>(gw, url, payload, options.log)
    if (answer.results === undefined) return batch.map(() => answer.retryAfterSec)
    return answer.results.map((r, k) => {
      if (r.index !== k) throw new Error(`import answer out of order: ${r.index} at ${k}`)
      const marker = batch[k].marker
      if (r.error === undefined) {
        out.set(marker, { itemId: r.itemId as string })
        return 'done'
      }
      out.set(marker, { error: r.error })
      // Never sent again: an unknown outcome (it may be stored) or an item that must change first.
      return r.error.retryable && r.error.code !== 'MBG_ERR_OUTCOME_UNKNOWN' ? r.error.retryAfter ?? 1 : 'final'
    })
  })
  return out
}

/** Sum of a prom-client counter's values, optionally only those whose labels match. */
export async function counterSum (gw: TestGateway, name: string,
  labels: Record<string, string> = {}): Promise<number> {
  const metric = gw.metrics.registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const { values } = await metric.get()
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((a, v) => a + v.value, 0)
}
