import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FolderParams, MailboxParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import {
  ExportResponse, exportRequest, ImportResponse, importRequest, ItemList, ItemListQuery
} from '../../src/schemas/item.js'
import { configurable } from '../../src/schemas/limits.js'
import { IdempotencyHeaders } from '../../src/schemas/idempotency.js'
import { idempotent, workSignal } from './idempotency.js'

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
        '(rules, views, forms; EWS mailboxes only, a Graph mailbox answers 422 MBG_ERR_NOT_SUPPORTED). ' +
        'Export them by id like any item; import them back with `associated: true`.',
      operationId: 'listItems',
      params: FolderParams,
      querystring: ItemListQuery,
      response: { 200: Type.Ref(ItemList), ...problems(400, 404, 422, ...UPSTREAM) }
    }
  }, async (request) => {
    const { mailbox, params, query, cancel } = request
    return await fastify.mailboxService.listItems(mailbox, params.folder, query, cancel)
  })

  fastify.post('/mailboxes/:mailbox/items::export', {
    config: { scope: 'items:export', audit: 'items.export' },
    schema: {
      tags: ['items'],
      summary: 'Export items (full fidelity)',
      description: `Exports up to ${opts.maxBatchItems} items (${configurable('MAX_BATCH_ITEMS')}) as opaque full-fidelity streams. Answers 200 with one result per id, in request order; a failed item carries an error and never fails its neighbours. Item data in one answer is bounded (${configurable('MAX_EXPORT_ANSWER_BYTES', 'bytes')}); ids past the bound get a per-item 413 (export them in another request).`,
      operationId: 'exportItems',
      params: MailboxParams,
      body: exportRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ExportResponse), ...problems(400, 404, 413, 415, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.exportItems(request.mailbox, request.body.itemIds,
    { signal: request.cancel, stop: request.stop }))

  fastify.post('/mailboxes/:mailbox/items::import', {
    config: { scope: 'items:import', audit: 'items.import' },
    ...idempotent(fastify),
    schema: {
      tags: ['items'],
      summary: 'Import items (full fidelity)',
      description: `Imports up to ${opts.maxBatchItems} item streams (${configurable('MAX_BATCH_ITEMS')}), as exported, into folders, creating new items or updating existing ones (itemId + current changeKey). Answers 200 with one result per item, in input order. A larger request body than the limit (${configurable('BODY_LIMIT_BYTES', 'bytes')}) is a 413.`,
      operationId: 'importItems',
      params: MailboxParams,
      headers: IdempotencyHeaders,
      body: importRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ImportResponse), ...problems(400, 404, 409, 413, 415, 422, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.importItems(request.mailbox, request.body.items,
    { signal: workSignal(request), stop: request.stop }))
}

export default items
