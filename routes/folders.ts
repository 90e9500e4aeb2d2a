import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { parseFolderRef } from '../src/backends/mailbox-backend.js'
import { FolderParams, MailboxParams, problems, UPSTREAM } from '../src/schemas/common.js'
import { Folder, FolderCreate, FolderList, FolderListQuery, FolderUpdate } from '../src/schemas/folder.js'
import { mailboxContext } from './context.js'

const folders: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes/:mailbox/folders', {
    schema: {
      tags: ['folders'],
      summary: 'List folders',
      description: 'The folder tree below root as a flat, paged list (each folder names its parentId), or one level with ?parentId=.',
      operationId: 'listFolders',
      params: MailboxParams,
      querystring: FolderListQuery,
      response: { 200: Type.Ref(FolderList), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const { parentId, pageSize = 100, pageToken } = request.query
    const scope = `folders|${mailbox.id}|${parentId ?? ''}`
    const page = await backend.listFolders(mailbox, {
      limit: pageSize,
      ...(pageToken !== undefined ? { cursor: fastify.pageTokens.open(scope, pageToken) } : {}),
      ...(parentId !== undefined ? { parentId: parseFolderRef(parentId) } : {})
    }, { signal })
    return {
      folders: page.values,
      ...(page.nextCursor !== undefined ? { nextPageToken: fastify.pageTokens.seal(scope, page.nextCursor) } : {})
    }
  })

  fastify.get('/mailboxes/:mailbox/folders/:folder', {
    schema: {
      tags: ['folders'],
      summary: 'Get a folder',
      operationId: 'getFolder',
      params: FolderParams,
      response: { 200: Type.Ref(Folder), ...problems(400, 404, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    return await backend.getFolder(mailbox, parseFolderRef(request.params.folder), { signal })
  })

  fastify.post('/mailboxes/:mailbox/folders', {
    schema: {
      tags: ['folders'],
      summary: 'Create a folder',
      operationId: 'createFolder',
      params: MailboxParams,
      body: Type.Ref(FolderCreate),
      response: { 201: Type.Ref(Folder), ...problems(400, 404, 409, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const { displayName, parentId, folderClass } = request.body as {
      displayName: string
      parentId?: string
      folderClass?: string
    }
    const folder = await backend.createFolder(mailbox, {
      displayName,
      ...(parentId !== undefined ? { parentId: parseFolderRef(parentId) } : {}),
      ...(folderClass !== undefined ? { folderClass } : {})
    }, { signal })
    return await reply
      .code(201)
      .header('location', `/mailboxes/${encodeURIComponent(request.params.mailbox)}/folders/${folder.id}`)
      .send(folder)
  })

  fastify.patch('/mailboxes/:mailbox/folders/:folder', {
    schema: {
      tags: ['folders'],
      summary: 'Rename a folder',
      operationId: 'renameFolder',
      params: FolderParams,
      body: Type.Ref(FolderUpdate),
      response: { 200: Type.Ref(Folder), ...problems(400, 404, 409, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    const { displayName } = request.body as { displayName: string }
    return await backend.renameFolder(mailbox, parseFolderRef(request.params.folder), displayName, { signal })
  })

  fastify.delete('/mailboxes/:mailbox/folders/:folder', {
    schema: {
      tags: ['folders'],
      summary: 'Delete a folder',
      description: 'Deletes the folder, its subfolders and their items. Well-known folders cannot be deleted.',
      operationId: 'deleteFolder',
      params: FolderParams,
      response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(400, 404, 409, ...UPSTREAM) }
    }
  }, async (request, reply) => {
    const { mailbox, backend, signal } = await mailboxContext(request, reply)
    await backend.deleteFolder(mailbox, parseFolderRef(request.params.folder), { signal })
    return await reply.code(204).send(null)
  })
}

export default folders
