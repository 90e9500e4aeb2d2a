/**
 * exportItems: ≤20 ids per POST, results correlated by itemId (never by order),
 * per-item errors read from `error` or `Error`, and ids living in an auxiliary
 * archive re-POSTed to the URL Graph names (ErrorArchiveFolderMovedPermanently).
 */
import { isStrictBase64 } from '../../base64.js'
import { IdMalformed, UpstreamBadResponse, toItemError } from '../../errors.js'
import type { ExportResult, ItemData } from '../mailbox-backend.js'
import {
  MAX_REDIRECTS, callFor, mailboxIdInPath, rememberAux, type GraphContext, type GraphMailbox
} from './context.js'
import { exportItemError, getCi } from './errors.js'
import { changeKeyFromEtag, toPublicId, tryFromPublicId } from './ids.js'
import { redactUrl } from '../../redact.js'

const MOVED = 'ErrorArchiveFolderMovedPermanently'

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
  if (url.protocol !== 'https:' || url.origin !== ctx.config.graphUrl) return undefined
  if (!/^\/[^/]+\/admin\/exchange\/mailboxes\/[^/]+\/exportItems$/i.test(url.pathname) ||
    url.href === from) { return undefined }
  return url
}

/**
 * A success entry's payload, or what makes it unusable: exportItemResponse carries `changeKey`
 * (a string; an answer carrying the version only as an entity tag, `@odata.etag` W/"<changeKey>",
 * still has it) and `data` (Edm.Stream inline as base64, protocol brief §7), which must be
 * standard padded base64 (RFC 4648 section 4) or importing it back would fail.
 */
function readExported (entry: unknown): { changeKey: string, data: ItemData } | { problem: string } {
  const data = getCi(entry, 'data')
  const changeKey = getCi(entry, 'changeKey')
  if (data === undefined || data === null) return { problem: 'no data' }
  // Large data comes as the bytes of the answer (graphJson with `itemData`, src/json-bytes.ts).
  if ((typeof data !== 'string' && !Buffer.isBuffer(data)) || !isStrictBase64(data)) {
    return { problem: 'data that is not base64' }
  }
  const version = typeof changeKey === 'string' && changeKey !== ''
    ? changeKey
    : changeKeyFromEtag(getCi(entry, '@odata.etag'))
  if (version === undefined) return { problem: 'no changeKey string' }
  return { changeKey: version, data }
}

/** Exports one chunk (unique, well-formed ids) and returns a result per id. */
async function exportChunk (ctx: GraphContext, mailbox: GraphMailbox, ids: string[],
  signal?: AbortSignal): Promise<Map<string, ExportResult>> {
  const out = new Map<string, ExportResult>()
  let pending = new Map<string, string[]>([[`${mailbox.base}/exportItems`, ids]])
  for (let hop = 0; pending.size > 0; hop++) {
    const next = new Map<string, string[]>()
    for (const [url, batch] of pending) {
      if (hop > MAX_REDIRECTS) {
        const error = toItemError(new UpstreamBadResponse(`more than ${MAX_REDIRECTS} archive redirects`))
        for (const id of batch) out.set(id, { itemId: id, error })
        continue
      }
      let body: { value?: unknown }
      try {
        body = await ctx.policy.run(callFor(ctx, mailbox, 'exportItems', true, signal),
          async () => {
            const { body } = await ctx.http.graphJson<{ value?: unknown }>({
              method: 'POST',
              url,
              body: { itemIds: batch },
              itemData: true,
              subject: {
                kind: 'item', ref: batch.length === 1 ? batch[0] : `${batch.length} items`, count: batch.length
              },
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
          out.set(itemId, { itemId, error: toItemError(exportItemError(code, message, toPublicId(itemId))) })
          continue
        }
        const exported = readExported(entry)
        if ('problem' in exported) {
          // An unusable entry is that item's failure, never a success and never the call's.
          const error = new UpstreamBadResponse(
            `exportItems answered for item ${toPublicId(itemId)} with ${exported.problem}`
          )
          out.set(itemId, { itemId, error: toItemError(error) })
          continue
        }
        out.set(itemId, { itemId, changeKey: exported.changeKey, data: exported.data })
      }
    }
    pending = next
  }
  return out
}

/**
 * MailboxBackend.exportBatch: one exportItems POST (plus archive re-POSTs) for at most
 * 20 public ids (see ids.ts), sent to Graph as Graph ids and answered under the ids as
 * asked. Duplicates are exported once and reported at each position; malformed ids
 * never leave the gateway. Throws when the first POST fails as a whole.
 */
export async function exportBatch (ctx: GraphContext, mailbox: GraphMailbox, itemIds: string[],
  signal?: AbortSignal): Promise<ExportResult[]> {
  const graphIds = itemIds.map((id) => tryFromPublicId(id))
  const ids = [...new Set(graphIds.filter((id): id is string => id !== undefined))]
  const results = ids.length > 0 ? await exportChunk(ctx, mailbox, ids, signal) : new Map<string, ExportResult>()
  return itemIds.map((publicId, i): ExportResult => {
    const graphId = graphIds[i]
    if (graphId === undefined) return { itemId: publicId, error: toItemError(new IdMalformed(publicId.slice(0, 100))) }
    const r = results.get(graphId)
    if (r === undefined) {
      const error = toItemError(new UpstreamBadResponse(`exportItems returned nothing for ${publicId}`))
      return { itemId: publicId, error }
    }
    return { ...r, itemId: publicId }
  })
}
