/**
 * mailboxFolder operations: list, create, get, update, delete, and folder delta.
 */
import type { StoreFolder, StoreMailbox } from '../store/store.js'
import type { GraphCall, GraphVersion, SimContext } from './context.js'
import { deltaReply } from './delta-handler.js'
import type { DeltaEntry } from './delta.js'
import { badRequest, type Reply } from './http.js'
import { pathSegment } from './ids.js'
import { applyOrderBy, pageOf, parseFilter, preferredPageSize, type FieldGetters } from './odata.js'
import { fromStoreError } from './resolve.js'
import { FOLDER_PROPS, folderJson, mailboxUrl, parseExpand, parseSelect } from './serialize.js'

export function mailboxContext (ctx: SimContext, version: GraphVersion, mailbox: StoreMailbox): string {
  return `${ctx.url}/${version}/$metadata#admin/exchange/mailboxes('${encodeURIComponent(ctx.mailboxId(mailbox.guid))}')`
}

function folderFields (ctx: SimContext, version: GraphVersion): FieldGetters<StoreFolder> {
  return {
    id: (f) => ctx.wireId(f.id),
    displayName: (f) => f.displayName,
    parentFolderId: (f) => f.parentId === null ? null : ctx.wireId(f.parentId),
    childFolderCount: (f) => f.childIds.length,
    totalItemCount: (f) => f.itemIds.length,
    type: (f) => f.folderClass,
    wellKnownName: (f) => folderJson(ctx, f, version).wellKnownName as string | null
  }
}

/** GET .../folders or .../folders/{id}/childFolders */
export function listFolders (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, parent: StoreFolder,
  isRoot: boolean): Reply {
  const fields = folderFields(ctx, call.version)
  const select = parseSelect(call.query.get('$select'), FOLDER_PROPS[call.version], 'mailboxFolder')
  const expand = parseExpand(call.query.get('$expand'))
  const filter = parseFilter(call.query.get('$filter'), fields, 'mailboxFolder')
  let list = ctx.store.children(parent.id)
  if (filter !== undefined) list = list.filter(filter)
  list = applyOrderBy(list, call.query.get('$orderby'), fields, 'mailboxFolder')
  const { page, nextLink, count } = pageOf(
    list,
    call.query,
    `${ctx.url}${call.path}`,
    preferredPageSize(call.headers.prefer)
  )
  const base = mailboxContext(ctx, call.version, mailbox)
  const body: Record<string, unknown> = {
    '@odata.context': isRoot ? `${base}/folders` : `${base}/folders('${ctx.wireId(parent.id)}')/childFolders`
  }
  if (count !== undefined) body['@odata.count'] = count
  body.value = page.map((f) => folderJson(ctx, f, call.version, { select, expand }))
  if (nextLink !== undefined) body['@odata.nextLink'] = nextLink
  return { status: 200, body }
}

export function getFolder (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, folder: StoreFolder): Reply {
  const select = parseSelect(call.query.get('$select'), FOLDER_PROPS[call.version], 'mailboxFolder')
  const expand = parseExpand(call.query.get('$expand'))
  return {
    status: 200,
    body: {
      '@odata.context': `${mailboxContext(ctx, call.version, mailbox)}/folders/$entity`,
      ...folderJson(ctx, folder, call.version, { select, expand })
    }
  }
}

const NAV_PROPS = ['singleValueExtendedProperties', 'multiValueExtendedProperties', 'childFolders', 'items']

function objectBody (body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null ||
    Array.isArray(body)) { throw badRequest('Empty Payload. JSON content expected.') }
  return body as Record<string, unknown>
}

function checkKnownProps (body: Record<string, unknown>, version: GraphVersion): void {
  for (const k of Object.keys(body)) {
    if (k.startsWith('@odata.') || FOLDER_PROPS[version].includes(k) || NAV_PROPS.includes(k)) continue
    throw badRequest(
      `The property '${k}' does not exist on type 'microsoft.graph.mailboxFolder'. Make sure to only use property names that are defined by the type.`
    )
  }
}

/** POST .../folders or .../childFolders: {displayName, type} → 201 */
export async function createFolder (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox,
  parent: StoreFolder): Promise<Reply> {
  const body = objectBody(await call.json())
  checkKnownProps(body, call.version)
  if (typeof body.displayName !== 'string' ||
    body.displayName.trim() === '') {
    throw badRequest("The property 'displayName' is required.",
      'ErrorInvalidRequest')
  }
  if (typeof body.type !== 'string' || body.type.trim() === '') {
    throw badRequest("The property 'type' is required.",
      'ErrorInvalidRequest')
  }
  let folder: StoreFolder
  try {
    folder = ctx.store.createFolder(parent.id, body.displayName, body.type)
  } catch (err) {
    throw fromStoreError(err)
  }
  const location = `${mailboxUrl(ctx, call.version, mailbox.guid)}/folders/${pathSegment(ctx.wireId(folder.id))}`
  return {
    status: 201,
    headers: { location },
    body: {
      '@odata.context': `${mailboxContext(ctx, call.version, mailbox)}/folders/$entity`,
      ...folderJson(ctx, folder, call.version)
    }
  }
}

/** PATCH: only displayName may change; `type` is immutable. → 200 with the folder */
export async function updateFolder (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox,
  folder: StoreFolder): Promise<Reply> {
  const body = objectBody(await call.json())
  checkKnownProps(body, call.version)
  if (body.type !== undefined && body.type !== folder.folderClass) {
    throw badRequest(
      "The property 'type' cannot be updated. Delete the folder and create it again with the new type.",
      'BadRequest'
    )
  }
  for (const k of Object.keys(body)) {
    if (!['displayName', 'type', 'singleValueExtendedProperties', 'multiValueExtendedProperties'].includes(k) &&
      !k.startsWith('@odata.')) {
      throw badRequest(`The property '${k}' is read-only and cannot be updated.`, 'ErrorInvalidRequest')
    }
  }
  if (body.displayName !== undefined) {
    if (typeof body.displayName !== 'string') {
      throw badRequest("The property 'displayName' must be a string.",
        'ErrorInvalidRequest')
    }
    if (body.displayName !== folder.displayName) {
      try {
        ctx.store.renameFolder(folder.id, body.displayName)
      } catch (err) {
        throw fromStoreError(err)
      }
    }
  }
  return {
    status: 200,
    body: {
      '@odata.context': `${mailboxContext(ctx, call.version, mailbox)}/folders/$entity`,
      ...folderJson(ctx, folder, call.version)
    }
  }
}

export function deleteFolder (ctx: SimContext, folder: StoreFolder): Reply {
  try {
    ctx.store.deleteFolder(folder.id)
  } catch (err) {
    throw fromStoreError(err)
  }
  return { status: 204 }
}

/** Is `folder` below `ancestor` (using `parentOf` for folders that no longer exist)? */
function isBelow (id: string, ancestor: string, parentOf: (id: string) => string | null | undefined): boolean {
  let p = parentOf(id)
  for (let hops = 0; p !== null && p !== undefined && hops < 1000; hops++) {
    if (p === ancestor) return true
    p = parentOf(p)
  }
  return false
}

/** GET .../folders/delta (scope: the whole IPM subtree) or .../folders/{id}/childFolders/delta (direct children). */
export function folderDelta (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox,
  parent: StoreFolder | undefined): Reply {
  const store = ctx.store
  const root = parent ?? store.requireFolder(mailbox.msgRootId)
  const compute = (since: number): DeltaEntry[] => {
    if (since === 0) {
      const list = parent === undefined ? store.descendants(root.id) : store.children(root.id)
      return list.map((f) => ({ id: f.id, removed: false }))
    }
    // Parents of folders that are gone come from the change log.
    const loggedParent = new Map<string, string | null>()
    for (const guid of [mailbox.guid, ...mailbox.auxGuids]) {
      for (const rec of store.requireMailbox(guid).log) {
        if (rec.kind === 'folder') {
          loggedParent.set(rec.id,
            rec.folderId)
        }
      }
    }
    const parentOf = (id: string): string | null | undefined => store.folders.get(id)?.parentId ?? loggedParent.get(id)
    const inScope = (id: string): boolean =>
      parent === undefined ? isBelow(id, root.id, parentOf) : parentOf(id) === root.id
    return store.changesSince(mailbox.guid, since, { kind: 'folder' })
      .filter((c) => inScope(c.id))
      .map((c) => ({ id: c.id, removed: c.op === 'delete' }))
  }
  return deltaReply(ctx, call, {
    scope: { kind: 'folder', mailboxGuid: mailbox.guid, scope: parent === undefined ? 'tree' : parent.id },
    compute,
    checkSelect: (select) => { parseSelect(select, FOLDER_PROPS[call.version], 'mailboxFolder') },
    render: (id, select) => {
      const f = store.folders.get(id)
      if (f === undefined) return undefined
      const shape = ctx.quirks.deltaFolders
      // Microsoft's delta example shows entries with only id and displayName.
      const sparse = shape === 'idAndNameOnly' || (shape === 'sparse' && select === null)
      const declared = FOLDER_PROPS[call.version]
      const selected = sparse ? new Set(['displayName']) : parseSelect(select, declared, 'mailboxFolder')
      return folderJson(ctx, f, call.version, { select: selected })
    },
    contextUrl: `${ctx.url}/${call.version}/$metadata#Collection(microsoft.graph.mailboxFolder)`
  })
}
