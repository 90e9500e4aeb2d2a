/**
 * exportItems: ≤20 ids per POST, results correlated by itemId (never by order),
 * per-item errors read from `error` or `Error`, and ids living in an auxiliary
 * archive re-POSTed to the URL Graph names (ErrorArchiveFolderMovedPermanently).
 */
import { IdMalformed, UpstreamBadResponse, toItemError } from '../../errors.js'
import type { ExportResult } from '../mailbox-backend.js'
import { GRAPH_ID, mailboxIdInPath, rememberAux, type GraphContext, type GraphMailbox } from './context.js'
import { exportItemError, getCi } from './errors.js'
import { redactUrl } from '../../redact.js'

const MOVED = 'ErrorArchiveFolderMovedPermanently'

function chunks<T> (values: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size))
  return out
}

/**
 * The re-POST target of a moved item: only an https exportItems URL of another mailbox
 * on the Graph origin (the message is upstream data; it must not steer our token elsewhere).
 */
function movedTarget (ctx: GraphContext, message: string, from: string): URL | undefined {
  let url: URL
  try {
    url = new URL(message.trim())
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' || url.origin !== ctx.config.graphOrigin) return undefined
  if (!/^\/[^/]+\/admin\/exchange\/mailboxes\/[^/]+\/exportItems$/i.test(url.pathname) || url.href === from) {
    return undefined
  }
  return url
}

/** Exports one chunk (unique, well-formed ids) and returns a result per id. */
async function exportChunk (ctx: GraphContext, mailbox: GraphMailbox, ids: string[],
  signal?: AbortSignal): Promise<Map<string, ExportResult>> {
  const out = new Map<string, ExportResult>()
  let pending = new Map<string, string[]>([[`${mailbox.base}/exportItems`, ids]])
  for (let hop = 0; pending.size > 0; hop++) {
    const next = new Map<string, string[]>()
    for (const [url, batch] of pending) {
      if (hop > ctx.config.maxRedirects) {
        const error = toItemError(new UpstreamBadResponse(`more than ${ctx.config.maxRedirects} archive redirects`))
        for (const id of batch) out.set(id, { itemId: id, error })
        continue
      }
      let body: { value?: unknown }
      try {
        body = await ctx.policy.run({ key: mailbox.key, idempotent: true, ...(signal !== undefined ? { signal } : {}) },
          async () => {
            const { body } = await ctx.http.graphJson<{ value?: unknown }>({
              method: 'POST',
              url,
              body: { itemIds: batch },
              subject: { kind: 'item', ref: batch.length === 1 ? batch[0] : `${batch.length} items` },
              ...(signal !== undefined ? { signal } : {})
            })
            return body
          })
      } catch (err) {
        // A failed re-POST to an auxiliary archive must not lose the results already in hand.
        if (hop === 0) throw err
        const error = toItemError(err)
        for (const id of batch) out.set(id, { itemId: id, error })
        continue
      }
      if (!Array.isArray(body.value)) {
        throw new UpstreamBadResponse(`exportItems answered without value[] (${redactUrl(url)})`)
      }
      const wanted = new Set(batch)
      for (const entry of body.value) {
        const itemId = getCi(entry, 'itemId')
        if (typeof itemId !== 'string' || !wanted.has(itemId)) {
          ctx.logger.warn(
            { itemId: typeof itemId === 'string' ? itemId.slice(0, 100) : undefined },
            'exportItems returned an id that was not asked for'
          )
          continue
        }
        const err = getCi(entry, 'error')
        if (err !== undefined && err !== null) {
          const code = String(getCi(err, 'code') ?? 'Unknown')
          const message = String(getCi(err, 'message') ?? '')
          if (code === MOVED) {
            const target = movedTarget(ctx, message, url)
            if (target !== undefined) {
              const aux = mailboxIdInPath(target.pathname)
              if (aux !== undefined && mailbox.archive) rememberAux(ctx, mailbox.mbx, aux)
              ctx.logger.debug({ itemId, to: redactUrl(target) }, 'export re-POST to an auxiliary archive')
              const list = next.get(target.href) ?? []
              list.push(itemId)
              next.set(target.href, list)
              continue
            }
            out.set(itemId, {
              itemId,
              error: toItemError(
                new UpstreamBadResponse(`${MOVED} pointing to a refused location ${redactUrl(message)}`)
              )
            })
            continue
          }
          out.set(itemId, { itemId, error: toItemError(exportItemError(code, message, itemId)) })
          continue
        }
        const data = getCi(entry, 'data')
        const changeKey = getCi(entry, 'changeKey')
        if (typeof data !== 'string') {
          out.set(itemId, {
            itemId,
            error: toItemError(new UpstreamBadResponse(`export of ${itemId} returned no data`))
          })
          continue
        }
        out.set(itemId, { itemId, changeKey: typeof changeKey === 'string' ? changeKey : '', data })
      }
    }
    pending = next
  }
  return out
}

/** Async generator behind MailboxBackend.exportItems (results in request order, chunk by chunk). */
export async function * exportItems (ctx: GraphContext, mailbox: GraphMailbox, itemIds: string[],
  signal?: AbortSignal): AsyncGenerator<ExportResult> {
  let yielded = false
  for (const chunk of chunks(itemIds, ctx.config.exportBatchSize)) {
    // Duplicates are exported once and reported at each position; malformed ids never leave the gateway.
    const ids = [...new Set(chunk.filter((id) => GRAPH_ID.test(id)))]
    let results: Map<string, ExportResult>
    try {
      results = ids.length > 0 ? await exportChunk(ctx, mailbox, ids, signal) : new Map()
    } catch (err) {
      // Before anything was streamed the whole call can still fail with a proper status;
      // afterwards the failure belongs to this chunk's items only.
      if (!yielded) throw err
      const error = toItemError(err)
      results = new Map(ids.map((id) => [id, { itemId: id, error }]))
    }
    for (const id of chunk) {
      if (!GRAPH_ID.test(id)) {
        yield { itemId: id, error: toItemError(new IdMalformed(id.slice(0, 100))) }
      } else {
        yield (
          results.get(id) ?? {
            itemId: id,
            error: toItemError(new UpstreamBadResponse(`exportItems returned nothing for ${id}`))
          }
        )
      }
      yielded = true
    }
  }
}
