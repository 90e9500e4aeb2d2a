/**
 * ExportItems: per id, the current Id/ChangeKey and the full-fidelity stream.
 * A ChangeKey in the request need not be current but must parse [MS-OXWSBTRF R184].
 */
import type { RequestContext } from '../context.js'
import { checkChangeKey, itemById } from '../context.js'
import { toEwsError } from '../errors.js'
import { NS, required, type XmlEl } from '../xml.js'
import { errorMessage, idAttrs, operationResponse, successMessage } from '../writer.js'

export function exportItems (ctx: RequestContext, req: XmlEl): string {
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const messages = ids.map((el) => {
    try {
      checkChangeKey(el.attrs.ChangeKey)
      const item = itemById(ctx, el.attrs.Id)
      return successMessage(
        'ExportItems',
        `<m:ItemId ${idAttrs(item.id, item.changeKey)}/><m:Data>${item.blob().toString('base64')}</m:Data>`
      )
    } catch (err) {
      return errorMessage('ExportItems', toEwsError(err))
    }
  })
  return operationResponse('ExportItems', messages)
}
