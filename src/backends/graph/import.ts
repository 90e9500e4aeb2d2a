/**
 * Import: one item per POST to the session's pre-authenticated importUrl, with
 * PascalCase bodies and NO Authorization header (protocol brief §4.16).
 *
 * Sessions are reused per mailbox (see import-sessions.ts). A 401/403 from the
 * import endpoint means the session's authtoken is dead: renew and retry the item
 * once. A 409 "...expected in mailbox MBX:x" means the folder lives in an
 * auxiliary archive: open a session there and retry.
 */
import { BadRequest, DataInvalid, UpstreamBadResponse, toItemError } from '../../errors.js'
import type { ImportItem, ImportResult } from '../mailbox-backend.js'
import { GRAPH_ID, MAILBOX_ID, checkId, rememberAux, type GraphContext, type GraphMailbox } from './context.js'
import { getCi, importError, parseUpstreamError } from './errors.js'
import type { Folders } from './folders.js'

const WRONG_MAILBOX = /expected in mailbox\s+'?(MBX:[^\s'"]+)/i

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
}

function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

/** Upload one item; returns the new itemId/changeKey or throws a mapped error. */
async function upload (ctx: GraphContext, mailbox: GraphMailbox, folderId: string, item: ImportItem,
  signal?: AbortSignal): Promise<{ itemId: string, changeKey: string }> {
  const body: Record<string, string> = { FolderId: folderId, Mode: item.mode, Data: item.data }
  // Create mode must not carry ItemId/ChangeKey (the endpoint rejects them).
  if (item.mode === 'update') {
    body.ItemId = item.itemId as string
    body.ChangeKey = item.changeKey as string
  }
  const payload = JSON.stringify(body)
  let target = mailbox.mbx
  let renewed = false
  let rerouted = 0
  for (;;) {
    const session = await ctx.sessions.get(target)
    const res = await ctx.http.send(
      'POST',
      session.importUrl,
      { 'content-type': 'application/json', accept: 'application/json' },
      payload,
      signal
    )
    if (res.status >= 200 && res.status < 300) {
      let parsed: unknown
      try {
        parsed = JSON.parse(res.text)
      } catch {
        throw new UpstreamBadResponse('the import endpoint answered with a non-JSON body')
      }
      const itemId = getCi(parsed, 'itemId')
      const changeKey = getCi(parsed, 'changeKey')
      if (typeof itemId !== 'string' || !GRAPH_ID.test(itemId)) {
        throw new UpstreamBadResponse('the import endpoint answered without a usable itemId')
      }
      return { itemId, changeKey: typeof changeKey === 'string' ? changeKey : '' }
    }
    if ((res.status === 401 || res.status === 403) && !renewed) {
      ctx.sessions.invalidate(session)
      renewed = true
      ctx.logger.debug({ mailbox: target, status: res.status }, 'import session refused: renewing')
      continue
    }
    if (res.status === 409 && rerouted < 2) {
      const m = WRONG_MAILBOX.exec(parseUpstreamError(res.text, res.headers).message ?? '')
      const other = m?.[1].replace(/[.,;:)]+$/, '')
      if (other !== undefined && other !== target && MAILBOX_ID.test(other)) {
        ctx.logger.debug({ from: target, to: other }, 'import rerouted to the mailbox the endpoint named')
        if (mailbox.archive) rememberAux(ctx, mailbox.mbx, other)
        target = other
        rerouted++
        continue
      }
    }
    throw importError(res.status, res.text, res.headers, {
      ...(item.mode === 'update' ? { itemId: item.itemId } : {}),
      folderId
    })
  }
}

async function importOne (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, item: ImportItem,
  signal?: AbortSignal): Promise<{ itemId: string, changeKey: string }> {
  if (item.mode !== 'create' && item.mode !== 'update') {
    throw new BadRequest(`unknown import mode ${String(item.mode).slice(0, 20)}`)
  }
  if (item.mode === 'update') {
    if (typeof item.itemId !== 'string' || item.itemId.length === 0 || typeof item.changeKey !== 'string' ||
      item.changeKey.length === 0) {
      throw new BadRequest('update mode requires itemId and changeKey')
    }
    checkId(item.itemId)
  }
  if (typeof item.data !== 'string' || item.data.length === 0) throw new DataInvalid('empty data')
  const folderId = await folders.folderId(mailbox, item.folderId)
  // Only an update may be blindly retried: re-running a create whose outcome is unknown can duplicate the item.
  return await ctx.policy.run(
    { key: mailbox.key, idempotent: item.mode === 'update', ...(signal !== undefined ? { signal } : {}) },
    async () => await upload(ctx, mailbox, folderId, item, signal)
  )
}

/**
 * Async generator behind MailboxBackend.importItems: items run with bounded
 * parallelism, results come out in input order as soon as each is known.
 */
export async function * importItems (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, items: ImportItem[],
  signal?: AbortSignal): AsyncGenerator<ImportResult> {
  const slots = items.map(() => deferred<ImportResult>())
  let nextIndex = 0
  let stopped = false
  const worker = async (): Promise<void> => {
    // eslint-disable-next-line no-unmodified-loop-condition -- `stopped` is set by the consumer below
    while (!stopped && nextIndex < items.length) {
      const index = nextIndex++
      try {
        const r = await importOne(ctx, folders, mailbox, items[index], signal)
        slots[index].resolve({ index, itemId: r.itemId, changeKey: r.changeKey })
      } catch (err) {
        if (!(err instanceof Error && 'code' in err) ||
          !String((err as { code: unknown }).code).startsWith('MBG_ERR_')) {
          ctx.logger.warn(
            { err: err instanceof Error ? { name: err.name, message: err.message } : String(err), index },
            'import item failed unexpectedly'
          )
        }
        slots[index].resolve({ index, error: toItemError(err) })
      }
    }
  }
  const workers = Array.from(
    { length: Math.min(ctx.config.importConcurrency, items.length) },
    async () => await worker()
  )
  try {
    for (const slot of slots) yield await slot.promise
  } finally {
    // The consumer stopped early: start nothing new, let in-flight items settle.
    stopped = true
    await Promise.allSettled(workers)
  }
}
