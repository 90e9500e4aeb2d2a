/**
 * SyncFolderItems (ews.md §6.10) and SyncFolderHierarchy (§6.5): changes since an opaque SyncState.
 *
 * Requests carry the SyncState verbatim (none for a full sync). Answers are read into the port's
 * changes: `t:Create` / `t:Update` wrap an item or folder element, `t:Delete` an ItemId / FolderId,
 * `t:ReadFlagChange` an ItemId and IsRead (items only), per SyncFolderItemsChangesType and
 * SyncFolderChangesType in types.xsd; the new SyncState and IncludesLastItemInRange /
 * IncludesLastFolderInRange come with them.
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/syncfolderitems
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/syncfolderhierarchy
 */
import type { FolderChange, ItemChange } from '../../mailbox-backend.js'
import { toPublicId } from '../ids.js'
import { readFolder, readItemSummary } from '../mapping.js'
import { NS, child, childText, childrenOf, el, text } from '../soap/xml.js'
import {
  SEARCH_KEY_FIELD, fieldUris, folderIdXml, ResponseShapeError, type FolderTarget, type ResponseMessage
} from './common.js'
import { ITEM_FIELDS } from './find-item.js'
import { FOLDER_FIELDS } from './get-folder.js'

/** MaxChangesReturned is a MaxSyncChangesReturnedType: 1–512 (types.xsd; ews.md §8). */
export const MAX_SYNC_CHANGES = 512

/**
 * SyncFolderItems of the normal items of `folder`, at most `max` (1–512) changes, IdOnly + the summary fields and
 * the search key (PidTagSearchKey).
 */
export function buildSyncFolderItems (folder: FolderTarget, state: string | undefined, max: number): string {
  return el('m:SyncFolderItems', {},
    el('m:ItemShape', {}, el('t:BaseShape', {}, 'IdOnly'), fieldUris(ITEM_FIELDS, [SEARCH_KEY_FIELD])),
    el('m:SyncFolderId', {}, folderIdXml(folder)),
    state !== undefined && el('m:SyncState', {}, text(state)),
    el('m:MaxChangesReturned', {}, String(Math.max(1, Math.min(MAX_SYNC_CHANGES, Math.floor(max))))),
    el('m:SyncScope', {}, 'NormalItems'))
}

/** SyncFolderHierarchy of the tree below `root` (the IPM subtree root), IdOnly + the Folder fields. */
export function buildSyncFolderHierarchy (root: FolderTarget, state: string | undefined): string {
  return el('m:SyncFolderHierarchy', {},
    el('m:FolderShape', {}, el('t:BaseShape', {}, 'IdOnly'), fieldUris(FOLDER_FIELDS)),
    el('m:SyncFolderId', {}, folderIdXml(root)),
    state !== undefined && el('m:SyncState', {}, text(state)))
}

/** One answer of a Sync* call: its changes, the SyncState to send next, and whether the range was complete. */
export interface SyncPage<T> { changes: T[], state: string, last: boolean }

/** SyncState and the Includes…InRange flag of a success message; a message without them is a bad answer. */
function stateOf (message: ResponseMessage, op: string, lastName: string): { state: string, last: boolean } {
  const state = childText(message.node, NS.m, 'SyncState')?.trim()
  if (state === undefined || state === '') throw new ResponseShapeError(`${op}: no SyncState`)
  const last = childText(message.node, NS.m, lastName)?.trim()
  if (last !== 'true' && last !== 'false' && last !== '1' && last !== '0') {
    throw new ResponseShapeError(`${op}: no ${lastName}`)
  }
  return { state, last: last === 'true' || last === '1' }
}

/** The Id of an ItemId / FolderId child; a change without one is a bad answer. */
function idOf (node: ReturnType<typeof child>, local: 'ItemId' | 'FolderId', op: string): {
  id: string
  changeKey?: string
} {
  const idNode = child(node, NS.t, local)
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') throw new ResponseShapeError(`${op}: a change without ${local}`)
  const changeKey = idNode?.attrs.ChangeKey
  return { id: toPublicId(id), ...(changeKey !== undefined && changeKey !== '' ? { changeKey } : {}) }
}

/** Reads a SyncFolderItems success message. */
export function readItemChanges (message: ResponseMessage): SyncPage<ItemChange> {
  const op = 'SyncFolderItems'
  const { state, last } = stateOf(message, op, 'IncludesLastItemInRange')
  const changes: ItemChange[] = []
  for (const node of childrenOf(child(message.node, NS.m, 'Changes'), NS.t)) {
    switch (node.local) {
      case 'Create':
      case 'Update': {
        const element = childrenOf(node, NS.t)[0]
        if (element === undefined) throw new ResponseShapeError(`${op}: ${node.local} without an item`)
        const item = readItemSummary(element)
        changes.push({
          change: node.local === 'Create' ? 'created' : 'updated', id: item.id, changeKey: item.changeKey, item
        })
        break
      }
      case 'Delete':
        changes.push({ change: 'deleted', id: idOf(node, 'ItemId', op).id })
        break
      case 'ReadFlagChange': {
        const isRead = childText(node, NS.t, 'IsRead')?.trim()
        if (isRead !== 'true' && isRead !== 'false' && isRead !== '1' && isRead !== '0') {
          throw new ResponseShapeError(`${op}: ReadFlagChange without IsRead`)
        }
        const read = isRead === 'true' || isRead === '1'
        changes.push({ change: 'readFlagChanged', ...idOf(node, 'ItemId', op), isRead: read })
        break
      }
      default:
        throw new ResponseShapeError(`${op}: unknown change ${node.local}`)
    }
  }
  return { changes, state, last }
}

/** Reads a SyncFolderHierarchy success message. */
export function readFolderChanges (message: ResponseMessage): SyncPage<FolderChange> {
  const op = 'SyncFolderHierarchy'
  const { state, last } = stateOf(message, op, 'IncludesLastFolderInRange')
  const changes: FolderChange[] = []
  for (const node of childrenOf(child(message.node, NS.m, 'Changes'), NS.t)) {
    switch (node.local) {
      case 'Create':
      case 'Update': {
        const element = childrenOf(node, NS.t)[0]
        const read = element !== undefined ? readFolder(element, undefined) : undefined
        if (read === undefined) throw new ResponseShapeError(`${op}: ${node.local} without a folder`)
        changes.push({
          change: node.local === 'Create' ? 'created' : 'updated',
          id: read.folder.id,
          ...(read.changeKey !== undefined ? { changeKey: read.changeKey } : {}),
          folder: read.folder
        })
        break
      }
      case 'Delete':
        changes.push({ change: 'deleted', id: idOf(node, 'FolderId', op).id })
        break
      default:
        throw new ResponseShapeError(`${op}: unknown change ${node.local}`)
    }
  }
  return { changes, state, last }
}
