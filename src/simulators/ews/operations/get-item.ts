/** GetItem: one response message (with one item) per requested id. */
import type { RequestContext } from '../context.js'
import { injectedMessageFault, itemById } from '../context.js'
import { toEwsError } from '../errors.js'
import { parseShape, renderItem } from '../shapes.js'
import { NS, required, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

export function getItem (ctx: RequestContext, req: XmlEl): string {
  const shape = parseShape(required(req, NS.m, 'ItemShape'))
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const item = itemById(ctx, el.attrs.Id)
      return successMessage('GetItem', `<m:Items>${renderItem(item, shape)}</m:Items>`)
    } catch (err) {
      // ItemInfoResponseMessageType requires m:Items even on error.
      return errorMessage('GetItem', toEwsError(err), '<m:Items/>')
    }
  })
  return operationResponse('GetItem', messages)
}
