/**
 * Streaming export of a folder, its subtree, or a whole mailbox (`root` with its subtree), as NDJSON lines
 * (the `ExportLine` schema, src/schemas/item.ts): one line per item or per item that could not be exported,
 * progress lines, and last a summary.
 *
 * Nothing is read faster than the caller takes it: folders are listed page by page, and the ids of each
 * listing page are fed, as they are read, to the one ordered batch runner (src/service/batches.ts) through
 * exportItems, which starts backend calls only as fast as results are taken. The lines are pulled by the
 * answer stream, so a caller reading slowly slows the listings and exports, and memory stays flat. Item data
 * is written as the backend gave it (base64 text), never decoded nor re-encoded.
 *
 * Every line but the summary carries a `cursor`: the position just after that line, sealed like page tokens
 * (src/service/page-tokens.ts) and bound to the mailbox, folder and subtree flag. Resuming with the cursor of
 * the last complete line received delivers every item exactly once over all requests. A position names the
 * folder (its index in the folder plan and a short hash of its id, so a changed tree is noticed), the listing
 * page (the adapter's own cursor, which the EWS adapter keys on creation time so arrivals never shift it) and
 * how far into the page (a count, and the hash of the last id delivered, so an item deleted meanwhile in front
 * of it shifts nothing).
 */
import { createHash } from 'node:crypto'
import { decodedLength } from '../base64.js'
import { BadRequest, ShuttingDown, toItemError } from '../errors.js'
import type { Folder, ItemSummary } from '../backends/mailbox-backend.js'
import { parseFolderRef } from '../backends/mailbox-backend.js'
import { deadlinePassed } from '../upstream/deadline.js'
import { batchOptions, exportItems, type BatchOptions, type ExportResult, type MailboxTarget } from './items.js'

/** Item summaries per listing page (a resumed position keeps the page size it was made with). */
export const EXPORT_PAGE_SIZE = 100
/** Folders per listing page while the plan of a subtree is read. */
const FOLDER_PAGE_SIZE = 1000
/** Item data longer than this (base64 characters) is written as its own chunk, not copied into its line. */
const INLINE_DATA_MAX = 64 * 1024
/** Characters that JSON cannot carry unescaped; base64 has none of them. */
// eslint-disable-next-line no-control-regex -- the C0 controls are exactly what JSON must escape (RFC 8259 §7)
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/

/** Where an export stands: just before the next item to deliver. Sealed into every line's `cursor`. */
interface Position {
  v: 1
  /** Index of the folder in the plan; the plan's length when the export is done. */
  f: number
  /** idHash of that folder's id; '' when done. */
  h: string
  /** Items per listing page. */
  n: number
  /** Adapter cursor of the listing page being delivered; absent for a folder's first page. */
  p?: string
  /** Entries of that page already delivered. */
  k: number
  /** idHash of the last entry delivered from that page. */
  l?: string
  /** Items of the folder delivered before that page. */
  d: number
}

/** Counts of a streamed export, kept up to date while it runs (for the audit log). */
export interface StreamCounts {
  /** Item lines written. */
  succeeded: number
  /** Error lines written. */
  failed: number
  /** Decoded bytes of the item data written. */
  bytes: number
  /** True once the summary of an export that reached its end is written. */
  complete: boolean
}

export interface ExportStream {
  /**
   * NDJSON text: each line ends with '\n'; an item line with large data comes in three chunks, its data as the
   * text or bytes the backend gave (`ItemData`: bytes are ASCII base64, written as they are).
   */
  chunks: AsyncIterable<string | Buffer>
  counts: StreamCounts
}

export interface ExportStreamRequest {
  /** Folder id or well-known name. */
  folder: string
  subtree: boolean
  /** The cursor of the last line received, to resume. */
  cursor?: string
}

/** Seals and opens positions for one export (mailbox, folder, subtree): see MailboxService.exportStream. */
export interface PositionSeal {
  seal: (position: string) => string
  /** Throws MBG_ERR_BAD_REQUEST for a cursor not sealed for this export. */
  open: (cursor: string) => string
}

type ItemError = ReturnType<typeof toItemError>

type Line =
  | { type: 'item', summary: ItemSummary, folderId: string, result: Exclude<ExportResult, { error: unknown }> }
  | { type: 'error', itemId: string, folderId: string, error: ItemError }
  | { type: 'progress', folder: string, displayName: string, done: number, total: number }

/** What the listing side hands the writing side, in input order: a line to write and where it leaves the export. */
type Entry =
  | { kind: 'item', summary: ItemSummary, folderId: string, after: Position }
  | { kind: 'mark', line: Extract<Line, { type: 'progress' }>, after: Position }

/** A short, stable hash of an id (96 bits, base64url): enough to recognise it again, short enough for every line. */
function idHash (id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url').slice(0, 16)
}

function readPosition (text: string): Position {
  let p: Partial<Position> | null = null
  try {
    p = JSON.parse(text) as Partial<Position> | null
  } catch {}
  const int = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0
  if (p === null || typeof p !== 'object' || p.v !== 1 || !int(p.f) || typeof p.h !== 'string' || !int(p.n) ||
    (p.n as number) < 1 || !int(p.k) || !int(p.d) || (p.p !== undefined && typeof p.p !== 'string') ||
    (p.l !== undefined && typeof p.l !== 'string')) {
    throw new BadRequest('cursor is not a position of this export')
  }
  return p as Position
}

/**
 * The folders an export covers, in the order it exports them: the folder alone, or the folder and every folder
 * below it, depth first, each folder before its subfolders, siblings in listing order. The tree is read from the
 * flat listing below root (parents named by `parentId`), page by page.
 */
export async function planFolders (target: MailboxTarget, folder: string, subtree: boolean,
  signal?: AbortSignal): Promise<Folder[]> {
  const { mailbox, backend } = target
  const start = await backend.getFolder(mailbox, parseFolderRef(folder), { signal })
  if (!subtree) return [start]
  const children = new Map<string, Folder[]>()
  let cursor: string | undefined
  do {
    const page = await backend.listFolders(mailbox, {
      limit: FOLDER_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {})
    }, { signal })
    for (const f of page.values) {
      if (f.parentId === null) continue
      const list = children.get(f.parentId) ?? []
      list.push(f)
      children.set(f.parentId, list)
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  const plan: Folder[] = []
  const seen = new Set<string>()
  const stack: Folder[] = [start]
  while (stack.length > 0) {
    const f = stack.pop() as Folder
    if (seen.has(f.id)) continue
    seen.add(f.id)
    plan.push(f)
    const below = children.get(f.id) ?? []
    for (let i = below.length - 1; i >= 0; i--) stack.push(below[i])
  }
  return plan
}

/** The line of an item or error, without its cursor: `{"type":…,` up to the cursor's value. */
function itemHead (line: Extract<Line, { type: 'item' }>): string {
  const { summary, folderId, result } = line
  return `{"type":"item","itemId":${JSON.stringify(result.itemId)},"changeKey":${JSON.stringify(result.changeKey)},` +
    `"folderId":${JSON.stringify(folderId)},"itemClass":${JSON.stringify(summary.itemClass)},` +
    `"size":${summary.size},"source":${JSON.stringify(result.source)},"cursor":`
}

/**
 * Opens a streamed export: reads the folder plan and waits for the first line, so that an export that cannot
 * start (unknown folder, a cursor not of this export, a backend refusing the first call as a whole) throws here,
 * before anything is written, and becomes a problem answer. Once lines flow, a failure ends the stream with a
 * summary (`complete: false`, the `error`, the cursor to resume from). The caller going away (`signal`) ends it
 * with nothing more; a shutdown (`stop`) ends it after the calls in flight, with a summary.
 */
export async function openExportStream (target: MailboxTarget, request: ExportStreamRequest, tokens: PositionSeal,
  options?: BatchOptions): Promise<ExportStream> {
  const { signal, stop } = batchOptions(options)
  const { mailbox, backend } = target
  const resumed = request.cursor !== undefined ? readPosition(tokens.open(request.cursor)) : undefined
  const plan = await planFolders(target, request.folder, request.subtree, signal)
  const seal = (p: Position): string => tokens.seal(JSON.stringify(p))
  const startOf = (f: number): Position =>
    ({ v: 1, f, h: f < plan.length ? idHash(plan[f].id) : '', n: EXPORT_PAGE_SIZE, k: 0, d: 0 })

  let start: Position
  if (resumed === undefined) {
    start = startOf(0)
  } else if (resumed.h === '') {
    start = startOf(plan.length)
  } else {
    // The folder by its hash: where it was, or where it is now when folders came or went before it.
    const f = plan[resumed.f] !== undefined && idHash(plan[resumed.f].id) === resumed.h
      ? resumed.f
      : plan.findIndex((x) => idHash(x.id) === resumed.h)
    if (f < 0) throw new BadRequest('the folder this cursor was exporting is gone; start the export again')
    start = { ...resumed, f }
  }

  const counts: StreamCounts = { succeeded: 0, failed: 0, bytes: 0, complete: false }
  const queue: Entry[] = []

  /** The ids to export, page by page and folder by folder, noting each entry's line and position in `queue`. */
  async function * ids (): AsyncGenerator<string> {
    for (let f = start.f; f < plan.length; f++) {
      const folder = plan[f]
      const h = idHash(folder.id)
      const first = f === start.f
      const n = first ? start.n : EXPORT_PAGE_SIZE
      let at: Position = first ? start : startOf(f)
      const { displayName, totalItemCount: total } = folder
      const mark = (done: number, after: Position): Entry =>
        ({ kind: 'mark', line: { type: 'progress', folder: folder.id, displayName, done, total }, after })
      queue.push(mark(at.d + at.k, at))
      for (;;) {
        if (stop?.aborted === true) return
        const page = await backend.listItems(mailbox, { id: folder.id },
          { limit: n, ...(at.p !== undefined ? { cursor: at.p } : {}) }, { signal })
        const values = page.values
        let from = 0
        if (at.k > 0 || at.l !== undefined) {
          const last = at.l !== undefined ? values.findIndex((v) => idHash(v.id) === at.l) : -1
          from = last >= 0 ? last + 1 : Math.min(at.k, values.length)
        }
        const next = page.nextCursor
        for (let j = from; j < values.length; j++) {
          const within = at.p !== undefined ? { p: at.p } : {}
          const after: Position = j + 1 < values.length
            ? { v: 1, f, h, n, ...within, k: j + 1, l: idHash(values[j].id), d: at.d }
            : next !== undefined
              ? { v: 1, f, h, n, p: next, k: 0, d: at.d + values.length }
              : startOf(f + 1)
          queue.push({ kind: 'item', summary: values[j], folderId: folder.id, after })
          yield values[j].id
        }
        if (next === undefined) {
          queue.push(mark(at.d + values.length, startOf(f + 1)))
          break
        }
        at = { v: 1, f, h, n, p: next, k: 0, d: at.d + values.length }
        queue.push(mark(at.d, at))
      }
    }
  }

  /** Lines in order, each with the position after it. */
  async function * lines (): AsyncGenerator<{ line: Line, after: Position }> {
    const marks = function * (): Generator<{ line: Line, after: Position }> {
      while (queue[0]?.kind === 'mark') {
        const m = queue.shift() as Extract<Entry, { kind: 'mark' }>
        yield { line: m.line, after: m.after }
      }
    }
    for await (const result of exportItems(target, ids(), options)) {
      yield * marks()
      const entry = queue.shift() as Extract<Entry, { kind: 'item' }>
      if ('error' in result) {
        // Not sent because the gateway is stopping: not delivered, the cursor stays before it.
        if (stop?.aborted === true && result.error.code === 'MBG_ERR_SHUTTING_DOWN') return
        const { itemId, error } = result
        yield { line: { type: 'error', itemId, folderId: entry.folderId, error }, after: entry.after }
      } else {
        yield { line: { type: 'item', summary: entry.summary, folderId: entry.folderId, result }, after: entry.after }
      }
    }
    yield * marks()
  }

  const it = lines()
  // The first line (or the end): failures up to here are the request's.
  const first = await it.next()
  let last = start

  /** One line as NDJSON text, counted. */
  function * write (line: Line, after: Position): Generator<string | Buffer> {
    const cursor = JSON.stringify(seal(after))
    last = after
    if (line.type === 'item') {
      const data = line.result.data
      counts.succeeded++
      counts.bytes += decodedLength(data)
      const head = `${itemHead(line)}${cursor},"data":`
      // Bytes are base64 the adapter checked (nothing to escape); text is looked at.
      if (typeof data === 'string' && NEEDS_ESCAPE.test(data)) {
        yield `${head}${JSON.stringify(data)}}\n`
      } else if (data.length > INLINE_DATA_MAX) {
        yield `${head}"`
        yield data
        yield '"}\n'
      } else {
        yield `${head}"${typeof data === 'string' ? data : data.toString('latin1')}"}\n`
      }
      return
    }
    if (line.type === 'error') counts.failed++
    yield `${JSON.stringify({ ...line, cursor: undefined }).slice(0, -1)},"cursor":${cursor}}\n`
  }

  async function * chunks (): AsyncGenerator<string | Buffer> {
    let error: ItemError | undefined
    try {
      if (first.done !== true) yield * write(first.value.line, first.value.after)
      for (let next = first; next.done !== true;) {
        next = await it.next()
        if (next.done !== true) yield * write(next.value.line, next.value.after)
      }
    } catch (err) {
      // The caller went away: nobody reads a summary, the stream just ends. A passed deadline is the request's,
      // told in the summary.
      if (signal?.aborted === true && deadlinePassed(signal) === undefined) return
      error = toItemError(err)
    } finally {
      await it.return(undefined)
    }
    const complete = error === undefined && last.h === ''
    if (error === undefined && !complete) {
      error = toItemError(new ShuttingDown('the export stopped before its end; resume it with the cursor'))
    }
    counts.complete = complete
    yield `${JSON.stringify({
      type: 'summary',
      succeeded: counts.succeeded,
      failed: counts.failed,
      complete,
      ...(error !== undefined ? { error } : {}),
      cursor: seal(last)
    })}\n`
  }

  return { chunks: chunks(), counts }
}
