/**
 * SyncFolderHierarchy: folder Create/Update/Delete since the client's SyncState,
 * restricted to the subtree of SyncFolderId (default: the mailbox root).
 */
import type { RequestContext } from '../context.js'
import { isWithin, ownMailbox, resolveFolder, targetFolderEl } from '../context.js'
import { toEwsError } from '../errors.js'
import { parseShape, renderFolder } from '../shapes.js'
import { decodeSyncState, encodeSyncState } from '../sync-state.js'
import { NS, child, required, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

/** Changes per response; Exchange pages hierarchy sync too, so clients must loop. */
export const HIERARCHY_PAGE = 512

export function syncFolderHierarchy (ctx: RequestContext, req: XmlEl): string {
  const shape = parseShape(required(req, NS.m, 'FolderShape'))
  const syncFolderEl = child(req, NS.m, 'SyncFolderId')
  const rawState = child(req, NS.m, 'SyncState')?.text
  try {
    const root = syncFolderEl !== undefined
      ? resolveFolder(ctx, targetFolderEl(syncFolderEl))
      : ctx.store.requireFolder(ownMailbox(ctx).rootId)
    const since = decodeSyncState(rawState, `h:${root.id}`, ctx.store)
    const changes = ctx.store.changesSince(root.mailboxGuid, since, { kind: 'folder' })
    // Parents of folders that no longer exist come from the change log.
    let logParents: Map<string, string | null> | undefined
    const inScope = (id: string): boolean => {
      if (id === root.id) return false
      const live = ctx.store.folders.get(id)
      if (live !== undefined) return isWithin(ctx, live, root.id)
      if (logParents === undefined) {
        logParents = new Map()
        for (const rec of ctx.store.requireMailbox(root.mailboxGuid).log) {
          if (rec.kind === 'folder') logParents.set(rec.id, rec.folderId)
        }
      }
      let cur = logParents.get(id) ?? null
      for (let hops = 0; cur !== null && hops < 1000; hops++) {
        if (cur === root.id) return true
        const liveParent = ctx.store.folders.get(cur)
        if (liveParent !== undefined) return isWithin(ctx, liveParent, root.id)
        cur = logParents.get(cur) ?? null
      }
      return false
    }
    const relevant = changes.filter((c) => inScope(c.id))
    const batch = relevant.slice(0, HIERARCHY_PAGE)
    const last = batch.length === relevant.length
    const nextSeq = last ? ctx.store.sequence : batch[batch.length - 1].seq
    let xml = ''
    for (const c of batch) {
      const folder = ctx.store.folders.get(c.id)
      if (c.op === 'delete' || folder === undefined) {
        xml += `<t:Delete><t:FolderId Id="${c.id}"/></t:Delete>`
      } else {
        const tag = c.op === 'create' ? 'Create' : 'Update'
        xml += `<t:${tag}>${renderFolder(ctx.store, folder, shape)}</t:${tag}>`
      }
    }
    return operationResponse('SyncFolderHierarchy', [successMessage('SyncFolderHierarchy',
      `<m:SyncState>${encodeSyncState(`h:${root.id}`, nextSeq, ctx.store)}</m:SyncState>` +
      `<m:IncludesLastFolderInRange>${last}</m:IncludesLastFolderInRange><m:Changes>${xml}</m:Changes>`)])
  } catch (err) {
    return operationResponse('SyncFolderHierarchy', [errorMessage('SyncFolderHierarchy', toEwsError(err))])
  }
}
