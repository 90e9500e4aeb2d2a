/**
 * ExportItems: per id, the current Id/ChangeKey and the full-fidelity stream.
 * A ChangeKey in the request need not be current but must parse [MS-OXWSBTRF R184].
 * `faults.exportDamage` damages the answers for chosen items; a poisoned item (`faults.poison`) fails the whole
 * request with an ErrorInternalServerError SOAP fault, no per-item messages (see EwsFaults).
 */
import type { RequestContext } from '../context.js'
import { checkChangeKey, injectedMessageFault, itemById } from '../context.js'
import { EwsFault, toEwsError } from '../errors.js'
import { NS, required, type XmlEl } from '../xml.js'
import { errorMessage, esc, idAttrs, operationResponse, successMessage } from '../writer.js'

export function exportItems (ctx: RequestContext, req: XmlEl): string {
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      checkChangeKey(el.attrs.ChangeKey)
      const item = itemById(ctx, el.attrs.Id)
      // Not an EwsError: toEwsError rethrows it, so the whole request becomes a SOAP fault.
      if (ctx.poisoned?.(item) === true) {
        throw new EwsFault(ctx.faults?.poison?.code ?? 'ErrorInternalServerError',
          'An internal server error occurred. The operation failed.')
      }
      const damage = ctx.faults?.exportDamage?.[item.id]
      let data = item.blob().toString('base64')
      if (damage === 'data') data = data.slice(0, 16) + '...'
      if (damage === 'wrapped') data = data.replace(/.{1,76}/g, '$&\r\n  ')
      const id = damage === 'changeKey' ? `Id="${esc(item.id)}"` : idAttrs(item.id, item.changeKey)
      return successMessage('ExportItems', `<m:ItemId ${id}/><m:Data>${data}</m:Data>`)
    } catch (err) {
      return errorMessage('ExportItems', toEwsError(err))
    }
  })
  return operationResponse('ExportItems', messages)
}
