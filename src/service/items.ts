/**
 * Item export and import over the port: the import rules checked once, batches cut to
 * the backend's limits and run by the one ordered runner, results streamed in order.
 * Routes, jobs and change cursors all come through here.
 */
import type { Static } from '@sinclair/typebox'
import { decodedLength, isStrictBase64 } from '../base64.js'
import {
  BadRequest, DataIncompatible, DataInvalid, isGatewayError, NotSupported, ShuttingDown, toItemError, TooLarge
} from '../errors.js'
import { NO_TELEMETRY, type ItemOutcome, type Telemetry } from '../telemetry.js'
import {
  parseFolderRef, type BackendCapabilities, type DeleteMode, type DeleteRequest, type ExportResult as PortExportResult,
  type FolderRef, type ImportItem as PortImportItem, type ImportResult, type ItemData, type ItemSummary,
  type ItemWriteResult, type MailboxBackend, type MailboxRef, type MailboxType
} from '../backends/mailbox-backend.js'
import type { ExportResult as ExportResultSchema, ImportItem as ImportItemSchema } from '../schemas/item.js'
import { runOrdered } from './batches.js'

/** A resolved mailbox and the backend serving it (what a route's mailbox hook hands over). */
export interface MailboxTarget {
  mailbox: MailboxRef
  backend: MailboxBackend
}

/**
 * One export result as callers see it: the item with the backend type it came from, or its error. Its `data` is
 * text or bytes (mailbox-backend.ts `ItemData`); the answer writes either as the schema's base64 string.
 */
export type ExportResult = WithItemData<Static<typeof ExportResultSchema>>

/**
 * One item of an import request, as callers send it (the public `ImportItem` schema), its `data` as text or as
 * bytes of the request body (`ItemData`, routes swap them in: src/json-bytes.ts `itemData`).
 */
export type ImportRequestItem = WithItemData<Static<typeof ImportItemSchema>>

/** `T` with a `data` string member widened to `ItemData`. */
type WithItemData<T> = T extends { data: string } ? Omit<T, 'data'> & { data: ItemData } : T

export interface ImportRules {
  /** Whether data exported from one backend type may be imported into the other. */
  crossBackendImport: 'allow' | 'deny'
}

/** How a batch runs, besides what it carries. */
export interface BatchOptions {
  /**
   * Import only: the position in the caller's request of each item given (items of other formats left out,
   * src/service/formats.ts); messages, the port's `position` and results' `index` use it. Default: the item's own
   * index.
   */
  positions?: readonly number[]
  /** The caller's signal: the caller went away; calls in flight are aborted and the run throws. */
  signal?: AbortSignal
  /**
   * Graceful stop (shutdown): no backend call starts after it fires; items not sent by then get a
   * per-item 503 MBG_ERR_SHUTTING_DOWN (retryable) in their place. Calls in flight complete normally.
   */
  stop?: AbortSignal
  /** Where item outcomes and batch splits are reported (default NO_TELEMETRY). */
  telemetry?: Telemetry
}

/** Options as given: a bare AbortSignal is the caller's signal (the older form). */
export function batchOptions (options: BatchOptions | AbortSignal | undefined): BatchOptions {
  return options instanceof AbortSignal ? { signal: options } : options ?? {}
}

/** The per-item outcome a result reports to telemetry: done, not done, or a write that may be done. */
function outcomeOf (result: object): ItemOutcome {
  if (!('error' in result)) return 'ok'
  return (result.error as { code?: string }).code === 'MBG_ERR_OUTCOME_UNKNOWN' ? 'unknown' : 'failed'
}

/** Totals of a batch answer. */
export interface BatchSummary<R> {
  results: R[]
  succeeded: number
  failed: number
}

/** Collects a result stream into the JSON answer of a batch call. */
export async function summarize<R extends object> (results: AsyncIterable<R>): Promise<BatchSummary<R>> {
  const out: R[] = []
  let failed = 0
  for await (const r of results) {
    if ('error' in r) failed++
    out.push(r)
  }
  return { results: out, succeeded: out.length - failed, failed }
}

/**
 * Full-fidelity export of `itemIds` (an array, or a stream read as results are taken):
 * one result per id, in request order, batch by batch.
 * Throws (e.g. 503 with Retry-After) only when the first backend call fails as a whole for a
 * reason that concerns every id (src/service/batches.ts); a batch the backend refuses for one
 * of its ids is split until that id alone gets the error; other whole-call failures become
 * per-item errors of that call's ids. `options` may be the caller's AbortSignal alone.
 */
export async function * exportItems (
  target: MailboxTarget,
  itemIds: Iterable<string> | AsyncIterable<string>,
  options?: BatchOptions | AbortSignal
): AsyncGenerator<ExportResult> {
  const { mailbox, backend } = target
  const { signal, stop, telemetry = NO_TELEMETRY } = batchOptions(options)
  const results = runOrdered<string, PortExportResult>(itemIds, {
    limits: backend.limits.export,
    run: async (ids, _indices, batchSignal) => await backend.exportBatch(mailbox, ids, { signal: batchSignal }),
    onBatchError: (ids, _indices, err) => ids.map((itemId) => ({ itemId, error: toItemError(err) })),
    onSplit: (err) => telemetry.split({ backend: backend.name, kind: 'export', code: codeOf(err) }),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
  for await (const r of results) {
    const outcome = outcomeOf(r)
    const bytes = 'data' in r ? decodedLength(r.data) : 0
    telemetry.items({ backend: backend.name, kind: 'export', outcome, count: 1, bytes })
    yield 'error' in r ? r : { ...r, source: mailbox.type }
  }
}

function codeOf (err: unknown): string {
  return isGatewayError(err) ? err.code : 'MBG_ERR_INTERNAL'
}

/**
 * Exports every item of a folder, page by page (`pageSize` summaries a page), in listing order.
 * Yields the summary with its export result, so a caller can stream both. When `stop` fires, ids of
 * the page in hand get MBG_ERR_SHUTTING_DOWN and no further page is listed: the generator then throws
 * MBG_ERR_SHUTTING_DOWN, so an incomplete folder is never taken for a whole one.
 */
export async function * exportFolder (
  target: MailboxTarget,
  folder: string,
  options: BatchOptions & { pageSize?: number } = {}
): AsyncGenerator<{ summary: ItemSummary, result: ExportResult }> {
  const ref = parseFolderRef(folder)
  const signal = options.signal
  let cursor: string | undefined
  do {
    const page = await target.backend.listItems(
      target.mailbox,
      ref,
      {
        limit: options.pageSize ?? 100,
        ...(cursor !== undefined ? { cursor } : {})
      },
      signal !== undefined ? { signal } : {}
    )
    let k = 0
    for await (const result of exportItems(target, page.values.map((s) => s.id), options)) {
      yield { summary: page.values[k++], result }
    }
    cursor = page.nextCursor
    if (cursor !== undefined && options.stop?.aborted === true) {
      throw new ShuttingDown('the folder export stopped before its end; run it again')
    }
  } while (cursor !== undefined)
}

/**
 * Checks one import item against the rules that hold whatever the backend: mode and
 * ids agree, the data is strict base64, and it comes from a backend type this
 * deployment accepts; with `capabilities` (the target backend's), an item marked
 * `associated` needs `associatedItems` (else 501 MBG_ERR_NOT_SUPPORTED saying why).
 * Returns the port's item, or the error that refuses it.
 */
export function checkImportItem (item: ImportRequestItem, index: number, into: MailboxType,
  rules: ImportRules, capabilities?: BackendCapabilities): PortImportItem | Error {
  if (item.mode === 'create' && (item.itemId !== undefined || item.changeKey !== undefined)) {
    return new BadRequest(`import item ${index}: create mode takes no itemId or changeKey`)
  }
  if (item.mode === 'update' && (item.itemId === undefined || item.changeKey === undefined)) {
    return new BadRequest(`import item ${index}: update mode needs itemId and changeKey`)
  }
  if (rules.crossBackendImport === 'deny' && item.source !== undefined && item.source !== into) {
    return new DataIncompatible(
      `data exported from a ${item.source} mailbox cannot be imported into a ${into} mailbox in this deployment (crossBackendImport is deny)`
    )
  }
  const associated = item.associated === true
  const can = capabilities?.associatedItems
  if (associated && can !== undefined && !can.supported) {
    return new NotSupported(`import item ${index} is marked associated, and a ${into} mailbox cannot hold it: ` +
      can.reason)
  }
  if (!isStrictBase64(item.data)) return new DataInvalid(`import item ${index}: data is not base64`)
  const folderId: FolderRef = parseFolderRef(item.folderId)
  const flag = associated ? { associated } : {}
  return item.mode === 'create'
    ? { folderId, mode: 'create', data: item.data, position: index, ...flag }
    : {
        folderId,
        mode: 'update',
        itemId: item.itemId as string,
        changeKey: item.changeKey as string,
        data: item.data,
        position: index,
        ...flag
      }
}

/**
 * The per-item 413 MBG_ERR_TOO_LARGE of an import item above the target backend's `limits.import.maxItemBytes`
 * (bytes of its decoded stream): refused before it is sent.
 */
export function tooLargeItem (index: number, size: number, most: number, backend: string): Error {
  return new TooLarge(`import item ${index} is ${size} bytes; backend ${backend} takes items of at most ${most} ` +
    'bytes (its maxItemBytes)')
}

/**
 * Full-fidelity import of `items` (an array, or a stream read as results are taken):
 * items that break a rule (including data that is not strict base64: a per-item 422) get
 * their error in place and are not sent; the rest go in batches cut to the backend's limits
 * (count and bytes); an item above the backend's `maxItemBytes` gets a per-item 413 MBG_ERR_TOO_LARGE and is not
 * sent. Yields one result per input item, in input order, `index` counting in
 * the request. A batch the backend refuses for one of its items (too large, data it cannot
 * read) is split until that item alone gets the error; a batch whose answer was lost gives
 * its items MBG_ERR_OUTCOME_UNKNOWN and is never sent again (src/service/batches.ts).
 * `options` may be the caller's AbortSignal alone.
 */
export async function * importItems (
  target: MailboxTarget,
  items: Iterable<ImportRequestItem> | AsyncIterable<ImportRequestItem>,
  rules: ImportRules,
  options?: BatchOptions | AbortSignal
): AsyncGenerator<ImportResult> {
  const { mailbox, backend } = target
  const { signal, stop, telemetry = NO_TELEMETRY, positions } = batchOptions(options)
  const at = (index: number): number => positions?.[index] ?? index
  const checked = new Map<number, PortImportItem>()
  const sizes = new Map<number, number>()
  const results = runOrdered<ImportRequestItem, ImportResult>(items, {
    limits: backend.limits.import,
    weight: (item) => item.data.length,
    refuse: (item, index) => {
      // Only an item asking for a capability looks at them (test doubles of the port may have none).
      const c = checkImportItem(item, at(index), mailbox.type, rules,
        item.associated === true ? backend.capabilities : undefined)
      if (c instanceof Error) return { index, error: toItemError(c) }
      const size = decodedLength(c.data)
      const most = backend.limits.import.maxItemBytes
      if (most !== undefined && size > most) {
        return { index, error: toItemError(tooLargeItem(at(index), size, most, backend.name)) }
      }
      checked.set(index, c)
      sizes.set(index, size)
      return undefined
    },
    run: async (_items, indices, batchSignal) => {
      // Kept until the call succeeds: a part of a split batch is sent again.
      const batch = indices.map((i) => checked.get(i) as PortImportItem)
      const results = await backend.importBatch(mailbox, batch, { signal: batchSignal })
      indices.forEach((i) => checked.delete(i))
      return results.map((r) => ({ ...r, index: indices[r.index] }))
    },
    onBatchError: (_items, indices, err) => indices.map((index) => {
      checked.delete(index)
      return { index, error: toItemError(err) }
    }),
    onSplit: (err) => telemetry.split({ backend: backend.name, kind: 'import', code: codeOf(err) }),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
  for await (const r of results) {
    const outcome = outcomeOf(r)
    const bytes = outcome === 'ok' ? sizes.get(r.index) ?? 0 : 0
    sizes.delete(r.index)
    telemetry.items({ backend: backend.name, kind: 'import', outcome, count: 1, bytes })
    yield positions !== undefined ? { ...r, index: at(r.index) } : r
  }
}

/**
 * Deletes `ids` (an array, or a stream read as results are taken) in `mode`, batches cut to the backend's
 * `limits.delete`, one result per id in request order (`{ id, status: 'deleted' }` or `{ id, error }`). One bad
 * id never fails its neighbours: an unknown or already deleted item is its own 404 MBG_ERR_ITEM_NOT_FOUND. The
 * request fails as a whole only as export does (src/service/batches.ts): its first call failed for a reason about
 * every id (throttled, a mode or request the backend does not support: 501 MBG_ERR_NOT_SUPPORTED, a Graph
 * request without `folderId`: 400).
 */
export async function * deleteItems (
  target: MailboxTarget,
  ids: Iterable<string> | AsyncIterable<string>,
  request: { mode: DeleteMode, folderId?: string },
  options?: BatchOptions | AbortSignal
): AsyncGenerator<ItemWriteResult> {
  const { mailbox, backend } = target
  const { signal, stop } = batchOptions(options)
  const port: DeleteRequest = {
    mode: request.mode,
    ...(request.folderId !== undefined ? { folderId: parseFolderRef(request.folderId) } : {})
  }
  yield * runOrdered<string, ItemWriteResult>(ids, {
    limits: backend.limits.delete,
    run: async (batch, _indices, batchSignal) =>
      await backend.deleteItems(mailbox, batch, port, { signal: batchSignal }),
    onBatchError: (batch, _indices, err) => batch.map((id) => ({ id, error: toItemError(err) })),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
}

/**
 * Moves `ids` into `folderId` (an id or well-known name of the same mailbox), batches cut to the backend's
 * `limits.move`, one result per id in request order (`{ id, status: 'moved', newId? }` or `{ id, error }`). A
 * batch whose answer was lost is not sent again: each of its ids gets MBG_ERR_OUTCOME_UNKNOWN (it may have moved,
 * and then has a new id); the other batches go on. A backend without a documented move (Graph) fails the request
 * with 501 MBG_ERR_NOT_SUPPORTED.
 */
export async function * moveItems (
  target: MailboxTarget,
  ids: Iterable<string> | AsyncIterable<string>,
  folderId: string,
  options?: BatchOptions | AbortSignal
): AsyncGenerator<ItemWriteResult> {
  const { mailbox, backend } = target
  const { signal, stop } = batchOptions(options)
  const folder = parseFolderRef(folderId)
  yield * runOrdered<string, ItemWriteResult>(ids, {
    limits: backend.limits.move,
    run: async (batch, _indices, batchSignal) =>
      await backend.moveItems(mailbox, batch, folder, { signal: batchSignal }),
    onBatchError: (batch, _indices, err) => batch.map((id) => ({ id, error: toItemError(err) })),
    ...(signal !== undefined ? { signal } : {}),
    ...(stop !== undefined ? { stop } : {})
  })
}
