import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { parseFolderRef, type ImportItem as PortImportItem, type MailboxType } from '../src/backends/mailbox-backend.js'
import { BadRequest, DataIncompatible, toItemError } from '../src/errors.js'
import { FolderParams, MailboxParams, PageQuery, problems, UPSTREAM } from '../src/schemas/common.js'
import { ExportResponse, exportRequest, ImportResponse, importRequest, ItemList } from '../src/schemas/item.js'
import { mailboxContext } from './context.js'

export interface ItemRoutesOptions {
  /** Most ids per export / items per import. */
  maxBatchItems: number
  /** Whether data exported from one backend type may be imported into the other. */
  crossBackendImport: 'allow' | 'deny'
}

interface ImportBodyItem {
  folderId: string
  mode: 'create' | 'update'
  data: string
  itemId?: string
  changeKey?: string
  source?: MailboxType
}

const items: FastifyPluginAsyncTypebox<ItemRoutesOptions> = async (fastify, opts) => {
  fastify.get('/mailboxes/:mailbox/folders/:folder/items', {
    schema: {
      tags: ['items'],
      summary: 'List items of a folder',
      description: 'Paged item summaries (normal items, not folder-associated ones).',
      operationId: 'listItems',
      params: FolderParams,
      querystring: PageQuery,
      response: { 200: Type.Ref(ItemList), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const { pageSize = 100, pageToken } = request.query
    const scope = `items|${mailbox.id}|${request.params.folder}`
    const page = await backend.listItems(
      mailbox,
      parseFolderRef(request.params.folder),
      { limit: pageSize, ...(pageToken !== undefined ? { cursor: fastify.pageTokens.open(scope, pageToken) } : {}) },
      { signal }
    )
    return {
      items: page.values,
      ...(page.nextCursor !== undefined ? { nextPageToken: fastify.pageTokens.seal(scope, page.nextCursor) } : {})
    }
  })

  fastify.post('/mailboxes/:mailbox/items::export', {
    schema: {
      tags: ['items'],
      summary: 'Export items (full fidelity)',
      description: `Exports up to ${opts.maxBatchItems} items as opaque full-fidelity streams. Answers 200 with one result per id, in request order; a failed item carries an error and never fails its neighbours.`,
      operationId: 'exportItems',
      params: MailboxParams,
      body: exportRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ExportResponse), ...problems(400, 404, 413, 415, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const results = []
    let failed = 0
    for await (const r of backend.exportItems(mailbox, request.body.itemIds, { signal })) {
      if ('error' in r) { failed++; results.push(r) } else results.push({ ...r, source: mailbox.type })
    }
    return { results, succeeded: results.length - failed, failed }
  })

  fastify.post('/mailboxes/:mailbox/items::import', {
    schema: {
      tags: ['items'],
      summary: 'Import items (full fidelity)',
      description: `Imports up to ${opts.maxBatchItems} item streams (as exported) into folders, creating new items or updating existing ones (itemId + current changeKey). Answers 200 with one result per item, in input order.`,
      operationId: 'importItems',
      params: MailboxParams,
      body: importRequest(opts.maxBatchItems),
      response: { 200: Type.Ref(ImportResponse), ...problems(400, 404, 413, 415, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const input = (request.body as { items: ImportBodyItem[] }).items
    const results: Array<
      { index: number, itemId: string, changeKey: string } | { index: number, error: ReturnType<typeof toItemError> }
    > = new Array(input.length)
    const sent: PortImportItem[] = []
    const sentIndex: number[] = []
    input.forEach((item, index) => {
      const problem =
        item.mode === 'create'
          ? item.itemId !== undefined || item.changeKey !== undefined
            ? 'create mode takes no itemId or changeKey'
            : undefined
          : item.itemId === undefined || item.changeKey === undefined
            ? 'update mode needs itemId and changeKey'
            : undefined
      if (problem !== undefined) {
        results[index] = { index, error: toItemError(new BadRequest(problem)) }
        return
      }
      if (opts.crossBackendImport === 'deny' && item.source !== undefined && item.source !== mailbox.type) {
        results[index] = {
          index,
          error: toItemError(
            new DataIncompatible(
              `data exported from a ${item.source} mailbox cannot be imported into a ${mailbox.type} mailbox in this deployment (crossBackendImport is deny)`
            )
          )
        }
        return
      }
      sent.push({
        folderId: parseFolderRef(item.folderId),
        mode: item.mode,
        data: item.data,
        ...(item.itemId !== undefined ? { itemId: item.itemId } : {}),
        ...(item.changeKey !== undefined ? { changeKey: item.changeKey } : {})
      })
      sentIndex.push(index)
    })
    if (sent.length > 0) {
      for await (const r of backend.importItems(mailbox, sent, { signal })) {
        const index = sentIndex[r.index]
        results[index] = { ...r, index }
      }
    }
    const failed = results.filter((r) => 'error' in r).length
    return { results, succeeded: results.length - failed, failed }
  })
}

export default items
