/**
 * GetItem: one response message (with one item) per requested id, rendered from the item's content with the
 * ItemShape's BaseShape, IncludeMimeContent, BodyType and AdditionalProperties (../item-xml.ts).
 */
import type { RequestContext } from '../context.js'
import { injectedMessageFault, itemById } from '../context.js'
import { toEwsError } from '../errors.js'
import { renderFullItem } from '../item-xml.js'
import { parseShape } from '../shapes.js'
import { NS, required, type XmlEl } from '../xml.js'
import { errorMessage, operationResponse, successMessage } from '../writer.js'

export async function getItem (ctx: RequestContext, req: XmlEl): Promise<string> {
  const shape = parseShape(required(req, NS.m, 'ItemShape'))
  const ids = required(req, NS.m, 'ItemIds').children.filter((c) => c.ns === NS.t)
  const messages: string[] = []
  for (const el of ids) {
    try {
      injectedMessageFault(ctx)
      const item = itemById(ctx, el.attrs.Id)
      messages.push(successMessage('GetItem', `<m:Items>${await renderFullItem(ctx.store, item, shape)}</m:Items>`))
    } catch (err) {
      // ItemInfoResponseMessageType requires m:Items even on error.
      messages.push(errorMessage('GetItem', toEwsError(err), '<m:Items/>'))
    }
  }
  return operationResponse('GetItem', messages)
}
