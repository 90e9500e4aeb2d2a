import { Readable } from 'node:stream'
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest, preParsingAsyncHookHandler } from 'fastify'
import { FolderParams, MailboxParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import {
  deleteRequest, ExportLine, ExportResponse, exportRequest, FolderExportRequest, ImportResponse, importRequest,
  ItemList, ItemListQuery, ItemWriteResponse, moveRequest
} from '../../src/schemas/item.js'
import { configurable } from '../../src/schemas/limits.js'
import { IdempotencyHeaders } from '../../src/schemas/idempotency.js'
import { ChangesQuery, ItemChanges } from '../../src/schemas/changes.js'
import { idempotent, workSignal } from './idempotency.js'
import { importBodyBound } from './hooks.js'
import { exportAnswerPieces, itemData, WHOLE_ANSWER_BYTES, type ExportAnswer } from '../../src/service/index.js'

/** Bytes of NDJSON the answer stream holds before it stops asking for more lines. */
const STREAM_HIGH_WATER_MARK = 64 * 1024

/**
 * The chunks of a streamed answer, with the request's deadline running only while the next chunk is awaited
 * (routes/mailbox/hooks.ts `request.deadline`), not while the chunks wait for the caller to read them.
 */
async function * paced<T> (chunks: AsyncIterable<T>, request: FastifyRequest): AsyncGenerator<T> {
  const it = chunks[Symbol.asyncIterator]()
  try {
    for (;;) {
      request.deadline.restart()
      const next = await it.next()
      request.deadline.pause()
      if (next.done === true) return
      yield next.value
    }
  } finally {
    request.deadline.pause()
    await it.return?.()
  }
}

export interface ItemRoutesOptions {
  /** Most ids per export / items per import. */
  maxBatchItems: number
}

const items: FastifyPluginAsyncTypebox<ItemRoutesOptions> = async (fastify, opts) => {
  fastify.get('/mailboxes/:mailbox/folders/:folder/items', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['items'],
      summary: 'List items of a folder',
      description: 'Paged item summaries: the normal items, or with `associated=true` the folder-associated ones ' +
        '(rules, views, forms; EWS mailboxes only, a Graph mailbox answers 501 MBG_ERR_NOT_SUPPORTED). ' +
        'Export them by id like any item; import them back with `associated: true`.',
      operationId: 'listItems',
      params: FolderParams,
      querystring: ItemListQuery,
      response: { 200: Type.Ref(ItemList), ...problems(400, 404, 501, ...UPSTREAM) }
    }
  }, async (request) => {
    const { mailbox, params, query, cancel } = request
    return await fastify.mailboxService.listItems(mailbox, params.folder, query, cancel)
  })

  fastify.get('/mailboxes/:mailbox/folders/:folder/items/changes', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['items'],
      summary: 'Item changes of a folder since a cursor',
      description: 'Without a cursor, every item of the folder as `created` (a full sync); then only what was ' +
        'created, updated, deleted or marked read or unread since (EWS SyncFolderItems, Graph items/delta). Call ' +
        'again with `cursor` while `more` is true; keep the last cursor for the next sync. A cursor the backend no ' +
        'longer accepts is a 410 MBG_ERR_CURSOR_EXPIRED: start again without one.',
      operationId: 'listItemChanges',
      params: FolderParams,
      querystring: ChangesQuery,
      response: { 200: Type.Ref(ItemChanges), ...problems(400, 404, 410, ...UPSTREAM) }
    }
  }, async (request) => {
    const { mailbox, params, query, cancel } = request
    return await fastify.mailboxService.listItemChanges(mailbox, params.folder, query, cancel)
  })

  fastify.post('/mailboxes/:mailbox/items::export', {
    config: { scope: 'items:export', audit: 'items.export' },
    schema: {
      tags: ['items'],
      summary: 'Export items (full fidelity, MIME or property set)',
      description: `Exports up to ${opts.maxBatchItems} items (${configurable('MAX_BATCH_ITEMS')}) as opaque full-fidelity streams (default), or with \`format\` \`mime\` as .eml, .ics or .vcf (by the item's kind) or \`json\` as property sets (README "Formats"). Answers 200 with one result per id, in request order; a failed item carries an error and never fails its neighbours (a task has no MIME: a per-item 501). A format the mailbox's backend has for no kind of item is a 501 MBG_ERR_NOT_SUPPORTED before anything is sent (GET /mailboxes/{mailbox} lists its capabilities). Item data in one answer is bounded (${configurable('MAX_EXPORT_ANSWER_BYTES', 'bytes')}); ids past the bound get a per-item 413 (export them in another request).`,
      operationId: 'exportItems',
      params: MailboxParams,
      body: exportRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ExportResponse), ...problems(400, 404, 413, 415, 501, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { itemIds, ...format } = request.body
    const answer = await fastify.mailboxService.exportItemsAs(request.mailbox, itemIds, format,
      { signal: request.cancel, stop: request.stop })
    // The answer object still goes through the hooks (audit counts); its bytes are written by exportAnswerPieces:
    // a small answer in one Buffer, a large one piece by piece as the caller reads it (Content-Length known up
    // front), never joined into one buffer.
    const serialize = reply.getSerializationFunction('200')
    if (serialize !== undefined) {
      reply.type('application/json; charset=utf-8').serializer((payload: unknown) => {
        if (reply.statusCode === 200) {
          const answered = exportAnswerPieces(payload as ExportAnswer, serialize)
          if (typeof answered === 'string') return answered
          if (answered.bytes <= WHOLE_ANSWER_BYTES) return answered.whole() as never
          reply.header('content-length', answered.bytes)
          return Readable.from(answered.pieces(), { objectMode: false, highWaterMark: STREAM_HIGH_WATER_MARK }) as never
        }
        // A problem answered after all (a hook failed): serialized as any problem is.
        const problem = reply.getSerializationFunction(String(reply.statusCode), 'application/problem+json')
        return problem !== undefined ? problem(payload as Record<string, unknown>) : JSON.stringify(payload)
      })
    }
    // Item data may be bytes (src/backends/mailbox-backend.ts ItemData): exportAnswerPieces writes it as the
    // schema's base64 string.
    return answer as never
  })

  fastify.post('/mailboxes/:mailbox/folders/:folder/items::export', {
    config: { scope: 'items:export', audit: 'items.export' },
    schema: {
      tags: ['items'],
      summary: 'Export a folder, its subtree or a whole mailbox (streamed)',
      description: 'Streams every item of the folder (with `subtree`, of every folder below it too; the folder ' +
        '`root` with `subtree` is the whole mailbox) as `application/x-ndjson`: one `item` line per item (its data ' +
        'is the full-fidelity stream, to import unchanged), one `error` line per item that could not be exported, ' +
        '`progress` lines as folders and listing pages are done, and last a `summary` line. The gateway reads ' +
        'from the backend only as fast as the caller reads. Every line but the summary carries a `cursor`; after ' +
        'a cut connection, send the cursor of the last complete line received to resume: every item is delivered ' +
        'exactly once over all the requests. A summary with `complete: false` (a backend failed, the gateway is ' +
        'shutting down) carries the cursor to resume from too. An export that cannot start (unknown folder, a ' +
        'cursor of another export, the backend refusing the first call) is a problem answer instead.',
      operationId: 'exportFolder',
      params: FolderParams,
      body: Type.Ref(FolderExportRequest),
      response: {
        200: {
          description: 'The export, one JSON object per line (each line validates against ExportLine).',
          content: { 'application/x-ndjson': { schema: Type.Ref(ExportLine) } }
        },
        ...problems(400, 404, 415, ...UPSTREAM)
      }
    }
  }, async (request, reply) => {
    const exp = await fastify.mailboxService.exportStream(request.mailbox, request.params.folder, request.body,
      { signal: request.cancel, stop: request.stop })
    request.auditCounts = exp.counts
    const body = Readable.from(paced(exp.chunks, request), { objectMode: false, highWaterMark: STREAM_HIGH_WATER_MARK })
    // A stream is sent as it is, never serialized: the 200 schema documents its lines.
    return await reply.type('application/x-ndjson').send(body as never)
  })

  // A body the mailbox's backend could never take is refused (413) before it is read, then Idempotency-Key's hooks.
  const keyed = idempotent(fastify)
  const bound = importBodyBound(fastify, opts.maxBatchItems)
  const hashed = keyed.preParsing as preParsingAsyncHookHandler
  const importHooks = {
    ...keyed,
    preParsing: async function (this: FastifyInstance, ...[request, reply, payload]: Parameters<typeof bound>) {
      const checked = await bound.call(this, request, reply, payload) as typeof payload
      return await hashed.call(this, request, reply, checked)
    }
  }
  fastify.post('/mailboxes/:mailbox/items::import', {
    // Item data stays bytes of the body read (src/build.ts): the handler swaps its stand-ins back (`itemData`).
    config: { scope: 'items:import', audit: 'items.import', itemData: true },
    ...importHooks,
    schema: {
      tags: ['items'],
      summary: 'Import items (full fidelity, MIME or property set)',
      description: `Imports up to ${opts.maxBatchItems} items (${configurable('MAX_BATCH_ITEMS')}) into folders: full-fidelity streams as exported, creating new items or updating existing ones (itemId + current changeKey); .eml and .ics files (\`format: "mime"\`: messages and appointments) and property sets (\`format: "json"\`: messages, appointments, contacts, tasks), creating new items. A meeting (an .ics with ATTENDEE, a property set with attendees) and a vCard are refused per item with 422 MBG_ERR_DATA_INCOMPATIBLE, before anything is sent: Exchange cannot import either; an appointment gets a new UID, which its result reports (\`uidReplaced\`); what the mailbox's backend cannot create is a per-item 501 MBG_ERR_NOT_SUPPORTED with the reason. Answers 200 with one result per item, in input order. A larger request body than the limit (${configurable('BODY_LIMIT_BYTES', 'bytes')}) is a 413; so is, before any of it is read, a body whose Content-Length is above what the mailbox's backend could take: for a backend with an item-size limit (\`maxItemBytes\`; EWS by default), the larger of \`MAX_EXPORT_ANSWER_BYTES\` and one such item as base64, plus 8 KiB per item and 64 KiB (README "API tour").`,
      operationId: 'importItems',
      params: MailboxParams,
      headers: IdempotencyHeaders,
      body: importRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ImportResponse), ...problems(400, 404, 409, 413, 415, 422, ...UPSTREAM) }
    }
  }, async (request) => {
    const { body } = request
    const items = body.items.map((item) => ('data' in item ? { ...item, data: itemData(body, item.data) } : item))
    return await fastify.mailboxService.importItems(request.mailbox, items,
      { signal: workSignal(request), stop: request.stop })
  })

  fastify.post('/mailboxes/:mailbox/items::delete', {
    ...idempotent(fastify),
    config: { scope: 'items:write', audit: 'items.delete' },
    schema: {
      tags: ['items'],
      summary: 'Delete items',
      description: `Deletes up to ${opts.maxBatchItems} items (${configurable('MAX_BATCH_ITEMS')}): \`mode\` \`soft\` (default, recoverable), \`hard\` (permanent) or \`moveToDeletedItems\` (EWS only). A Graph mailbox needs \`folderId\`, the folder the items are in, and answers 501 MBG_ERR_NOT_SUPPORTED for \`moveToDeletedItems\`. Answers 200 with one result per id, in request order; an unknown or already deleted item is its own 404 and never fails its neighbours.`,
      operationId: 'deleteItems',
      params: MailboxParams,
      headers: IdempotencyHeaders,
      body: deleteRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ItemWriteResponse), ...problems(400, 404, 409, 415, 422, 501, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.deleteItems(request.mailbox, request.body.ids,
    {
      ...(request.body.mode !== undefined ? { mode: request.body.mode } : {}),
      ...(request.body.folderId !== undefined ? { folderId: request.body.folderId } : {})
    },
    { signal: workSignal(request), stop: request.stop }))

  fastify.post('/mailboxes/:mailbox/items::move', {
    ...idempotent(fastify),
    config: { scope: 'items:write', audit: 'items.move' },
    schema: {
      tags: ['items'],
      summary: 'Move items to another folder',
      description: `Moves up to ${opts.maxBatchItems} items (${configurable('MAX_BATCH_ITEMS')}) into \`folderId\` of the same mailbox. Answers 200 with one result per id, in request order: \`newId\` is the item's id in its new folder (the old id no longer works). Items whose answer was lost get MBG_ERR_OUTCOME_UNKNOWN and are not sent again. A Graph mailbox answers 501 MBG_ERR_NOT_SUPPORTED: its API documents no move.`,
      operationId: 'moveItems',
      params: MailboxParams,
      headers: IdempotencyHeaders,
      body: moveRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ItemWriteResponse), ...problems(400, 404, 409, 415, 422, 501, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.moveItems(request.mailbox, request.body.ids,
    request.body.folderId, { signal: workSignal(request), stop: request.stop }))
}

export default items
