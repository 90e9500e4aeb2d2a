/** Operation registry: body element local name → handler. */
import type { RequestContext } from '../context.js'
import type { XmlEl } from '../xml.js'
import { getAttachment } from '../attachments.js'
import { convertId } from './convert-id.js'
import { createFolder } from './create-folder.js'
import { createItem } from './create-item.js'
import { deleteFolder } from './delete-folder.js'
import { deleteItem } from './delete-item.js'
import { exportItems } from './export-items.js'
import { findFolder } from './find-folder.js'
import { findItem } from './find-item.js'
import { getFolder } from './get-folder.js'
import { getItem } from './get-item.js'
import { moveItem } from './move-item.js'
import { syncFolderHierarchy } from './sync-folder-hierarchy.js'
import { syncFolderItems } from './sync-folder-items.js'
import { updateFolder } from './update-folder.js'
import { uploadItems } from './upload-items.js'

/** An operation handler: the m:<Op>Response element (async for the ones that convert MIME). */
export type Operation = (ctx: RequestContext, req: XmlEl) => string | Promise<string>

export const OPERATIONS: Record<string, Operation> = {
  GetFolder: getFolder,
  FindFolder: findFolder,
  SyncFolderHierarchy: syncFolderHierarchy,
  CreateFolder: createFolder,
  UpdateFolder: updateFolder,
  DeleteFolder: deleteFolder,
  FindItem: findItem,
  GetItem: getItem,
  CreateItem: createItem,
  GetAttachment: getAttachment,
  SyncFolderItems: syncFolderItems,
  ExportItems: exportItems,
  UploadItems: uploadItems,
  DeleteItem: deleteItem,
  MoveItem: moveItem,
  ConvertId: convertId
}
