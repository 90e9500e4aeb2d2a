import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FolderParams, MailboxParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import { Folder, FolderCreate, FolderList, FolderListQuery, FolderUpdate } from '../../src/schemas/folder.js'
import { IdempotencyHeaders } from '../../src/schemas/idempotency.js'
import { ChangesQuery, FolderChanges } from '../../src/schemas/changes.js'
import { idempotent, workSignal } from './idempotency.js'

const folders: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes/:mailbox/folders', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['folders'],
      summary: 'List folders',
      description: 'The folder tree below root as a flat, paged list (each folder names its parentId), or one level with ?parentId=.',
      operationId: 'listFolders',
      params: MailboxParams,
      querystring: FolderListQuery,
      response: { 200: Type.Ref(FolderList), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.listFolders(request.mailbox, request.query, request.cancel))

  fastify.get('/mailboxes/:mailbox/folders/changes', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['folders'],
      summary: 'Folder changes since a cursor',
      description: 'Without a cursor, every folder below root as `created` (a full sync); then only the folders ' +
        'created, changed (renamed, moved) or deleted since (EWS SyncFolderHierarchy, Graph folders/delta). Call ' +
        'again with `cursor` while `more` is true; keep the last cursor for the next sync. A cursor the backend no ' +
        'longer accepts is a 410 MBG_ERR_CURSOR_EXPIRED: start again without one.',
      operationId: 'listFolderChanges',
      params: MailboxParams,
      querystring: ChangesQuery,
      response: { 200: Type.Ref(FolderChanges), ...problems(400, 404, 410, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.listFolderChanges(request.mailbox, request.query, request.cancel))

  fastify.get('/mailboxes/:mailbox/folders/:folder', {
    config: { scope: 'mailboxes:read' },
    schema: {
      tags: ['folders'],
      summary: 'Get a folder',
      operationId: 'getFolder',
      params: FolderParams,
      response: { 200: Type.Ref(Folder), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request) => await fastify.mailboxService.getFolder(request.mailbox, request.params.folder, request.cancel))

  fastify.post('/mailboxes/:mailbox/folders', {
    config: { scope: 'folders:write', audit: 'folder.create' },
    ...idempotent(fastify),
    schema: {
      tags: ['folders'],
      summary: 'Create a folder',
      operationId: 'createFolder',
      params: MailboxParams,
      headers: IdempotencyHeaders,
      body: Type.Ref(FolderCreate),
      response: { 201: Type.Ref(Folder), ...problems(400, 404, 409, 422, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const folder = await fastify.mailboxService.createFolder(request.mailbox, request.body, workSignal(request))
    const location = `/mailboxes/${encodeURIComponent(request.params.mailbox)}/folders/${folder.id}`
    return await reply.code(201).header('location', location).send(folder)
  })

  fastify.patch('/mailboxes/:mailbox/folders/:folder', {
    config: { scope: 'folders:write', audit: 'folder.rename' },
    schema: {
      tags: ['folders'],
      summary: 'Rename a folder',
      operationId: 'renameFolder',
      params: FolderParams,
      body: Type.Ref(FolderUpdate),
      response: { 200: Type.Ref(Folder), ...problems(400, 404, 409, ...UPSTREAM) }
    }
  }, async (request) => {
    const { mailbox, params, body, cancel } = request
    return await fastify.mailboxService.renameFolder(mailbox, params.folder, body.displayName, cancel)
  })

  fastify.delete('/mailboxes/:mailbox/folders/:folder', {
    config: { scope: 'folders:write', audit: 'folder.delete' },
    schema: {
      tags: ['folders'],
      summary: 'Delete a folder',
      description: 'Deletes the folder, its subfolders and their items. Well-known folders cannot be deleted.',
      operationId: 'deleteFolder',
      params: FolderParams,
      response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(400, 404, 409, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    await fastify.mailboxService.deleteFolder(request.mailbox, request.params.folder, request.cancel)
    return await reply.code(204).send(null)
  })
}

export default folders
