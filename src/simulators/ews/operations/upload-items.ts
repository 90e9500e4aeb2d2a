/**
 * UploadItems [MS-OXWSBTRF]: CreateNew (ItemId ignored, new item), Update (ItemId
 * required, item must be in ParentFolderId, else ErrorItemNotFound) and
 * UpdateOrCreate (update when the item is in ParentFolderId, otherwise a new copy).
 * `faults.uploadWithoutChangeKey` leaves the ChangeKey out of success answers (see EwsFaults).
 */
import { parseId, StoreError, type StoreItem } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { checkChangeKey, folderById, injectedMessageFault, itemById } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { NS, child, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, esc, idAttrs, operationResponse, successMessage } from '../writer.js'
import { isStrictBase64 } from '../../../base64.js'

/**
 * t:Data as Exchange takes it: base64 (xs:base64Binary), white space allowed; anything else is ErrorCorruptData.
 * Checked by Node's decoder (src/base64.ts), not a regular expression over megabytes.
 */
function decodeData (raw: string): Buffer {
  const compact = raw.replace(/\s+/g, '')
  if (compact !== '' && !isStrictBase64(compact)) {
    throw new EwsError('ErrorCorruptData', 'The item data is not valid base64.')
  }
  return Buffer.from(compact, 'base64')
}

interface UploadRequest { action: string, associated: boolean, parent: XmlEl, itemId?: XmlEl, data: string }

function readItems (req: XmlEl): UploadRequest[] {
  const els = required(req, NS.m, 'Items').children.filter((c) => c.ns === NS.t && c.local === 'Item')
  return els.map((el) => {
    const action = requiredAttr(el, 'CreateAction')
    if (action !== 'CreateNew' && action !== 'Update' && action !== 'UpdateOrCreate') {
      throw EwsFault.schema(
        `The request failed schema validation: The 'CreateAction' attribute is invalid - The value '${action}' is invalid according to its datatype 'CreateActionType'.`
      )
    }
    const itemId = child(el, NS.t, 'ItemId')
    // Checked for the whole batch before anything is written: this is a request-level fault.
    if (action !== 'CreateNew' && itemId === undefined) {
      throw new EwsFault('ErrorInvalidRequest', `The request is invalid: CreateAction ${action} requires an ItemId.`)
    }
    const associated = el.attrs.IsAssociated === 'true' || el.attrs.IsAssociated === '1'
    return {
      action,
      associated,
      parent: required(el, NS.t, 'ParentFolderId'),
      ...(itemId !== undefined ? { itemId } : {}),
      data: required(el, NS.t, 'Data').text
    }
  })
}

/** The item named by ItemId when it lives in `folderId`; undefined when it is elsewhere or gone. */
function existingIn (ctx: RequestContext, id: string, folderId: string): StoreItem | undefined {
  const item = ctx.store.items.get(id)
  return item !== undefined && item.folderId === folderId ? item : undefined
}

function uploadOne (ctx: RequestContext, u: UploadRequest): StoreItem {
  const parent = folderById(ctx, u.parent.attrs.Id)
  const data = decodeData(u.data)
  if (u.action === 'CreateNew') return ctx.store.createItem(parent.id, data, { associated: u.associated })
  const id = u.itemId?.attrs.Id
  const changeKey = u.itemId?.attrs.ChangeKey
  checkChangeKey(changeKey)
  if (u.action === 'Update') {
    const item = itemById(ctx, id)
    if (item.folderId !== parent.id) throw new EwsError('ErrorItemNotFound')
    return ctx.store.updateItem(item.id, data, changeKey)
  }
  // UpdateOrCreate: only a malformed id is an error; an id from elsewhere (another
  // folder or mailbox, or a deleted item) means "create a new copy".
  try {
    parseId(id ?? '')
  } catch (err) {
    if (err instanceof StoreError) throw new EwsError('ErrorInvalidIdMalformed')
    throw err
  }
  const current = existingIn(ctx, id as string, parent.id)
  if (current !== undefined) return ctx.store.updateItem(current.id, data, changeKey)
  return ctx.store.createItem(parent.id, data, { associated: u.associated })
}

export function uploadItems (ctx: RequestContext, req: XmlEl): string {
  const items = readItems(req)
  const messages = items.map((u) => {
    try {
      injectedMessageFault(ctx)
      const item = uploadOne(ctx, u)
      const faults = ctx.faults
      if (faults?.uploadWithoutChangeKey !== undefined && faults.uploadWithoutChangeKey > 0) {
        faults.uploadWithoutChangeKey--
        return successMessage('UploadItems', `<m:ItemId Id="${esc(item.id)}"/>`)
      }
      return successMessage('UploadItems', `<m:ItemId ${idAttrs(item.id, item.changeKey)}/>`)
    } catch (err) {
      return errorMessage('UploadItems', toEwsError(err))
    }
  })
  return operationResponse('UploadItems', messages)
}
