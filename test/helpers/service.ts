/**
 * Adapter tests drive a backend the way the gateway does: through the service layer's
 * batch runner (src/service/items.ts), which cuts batches to the backend's limits.
 */
import type { FolderRef, MailboxBackend, MailboxRef, OperationContext } from '../../src/backends/mailbox-backend.js'
import { exportItems, importItems, type ExportResult, type ImportRequestItem } from '../../src/service/index.js'

/** Drains an async iterable. */
export async function collect<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const value of iterable) out.push(value)
  return out
}

/** An import item as adapter tests write it: the folder as a parsed reference. */
export interface TestImportItem {
  folderId: FolderRef
  mode: 'create' | 'update'
  data: string
  itemId?: string
  changeKey?: string
  associated?: boolean
}

function folderString (ref: FolderRef): string {
  return 'id' in ref ? ref.id : ref.wellKnown
}

/** Exports through the service; results without the service's `source`. */
export async function * exportItemsVia (
  backend: MailboxBackend,
  mailbox: MailboxRef,
  itemIds: string[],
  ctx?: OperationContext
): AsyncGenerator<Extract<ExportResult, { error: unknown }> | { itemId: string, changeKey: string, data: string }> {
  for await (const r of exportItems({ mailbox, backend }, itemIds, ctx?.signal)) {
    if ('error' in r) yield r
    // Data as the caller's JSON answer carries it: text (large data comes from an adapter as bytes, ItemData).
    else {
      const data = typeof r.data === 'string' ? r.data : r.data.toString('latin1')
      yield { itemId: r.itemId, changeKey: r.changeKey, data }
    }
  }
}

/** Imports through the service (cross-backend data allowed, as in demo mode). */
export function importItemsVia (backend: MailboxBackend, mailbox: MailboxRef, items: TestImportItem[],
  ctx?: OperationContext) {
  const request: ImportRequestItem[] = items.map((i) => ({ ...i, folderId: folderString(i.folderId) }))
  return importItems({ mailbox, backend }, request, { crossBackendImport: 'allow' }, ctx?.signal)
}
