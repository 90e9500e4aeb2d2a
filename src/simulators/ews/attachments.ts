/**
 * Attachment ids and GetAttachment (https://learn.microsoft.com/exchange/client-developer/web-service-reference/
 * getattachment-operation). An attachment id is opaque base64, like Exchange's: the bytes of its item's id, a kind
 * byte and the attachment's number (u16 little-endian), so it names the item it belongs to.
 */
import { readItemContent } from '../store/content.js'
import type { RequestContext } from './context.js'
import { injectedMessageFault, itemById } from './context.js'
import { EwsError, toEwsError } from './errors.js'
import { NS, required, type XmlEl } from './xml.js'
import { dateTime, errorMessage, esc, operationResponse, successMessage, text } from './writer.js'

const ATTACHMENT_KIND = 0x0a
const ITEM_ID_BYTES = 44

/** The id of attachment number `index` (0-based, PidTagAttachNumber order) of an item. */
export function attachmentId (itemId: string, index: number): string {
  const tail = Buffer.alloc(3)
  tail[0] = ATTACHMENT_KIND
  tail.writeUInt16LE(index, 1)
  return Buffer.concat([Buffer.from(itemId, 'base64'), tail]).toString('base64')
}

/** The item id and attachment number an attachment id names; ErrorInvalidIdMalformed when it is not one. */
export function parseAttachmentId (id: string | undefined): { itemId: string, index: number } {
  if (id === undefined || id === '') throw new EwsError('ErrorInvalidIdEmpty', 'Id is empty.')
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(id) ? Buffer.from(id, 'base64') : Buffer.alloc(0)
  if (bytes.length !== ITEM_ID_BYTES + 3 || bytes[ITEM_ID_BYTES] !== ATTACHMENT_KIND) {
    throw new EwsError('ErrorInvalidIdMalformed')
  }
  return {
    itemId: bytes.subarray(0, ITEM_ID_BYTES).toString('base64'),
    index: bytes.readUInt16LE(ITEM_ID_BYTES + 1)
  }
}

/**
 * GetAttachment: one response message per AttachmentId, each with its t:FileAttachment and Content (base64). An id
 * of an item that is gone answers ErrorItemNotFound, a number the item does not have ErrorInvalidAttachmentId.
 * The AttachmentShape (IncludeMimeContent, BodyType) applies to item attachments, which the simulator does not
 * hold: file attachments are answered whole.
 */
export function getAttachment (ctx: RequestContext, req: XmlEl): string {
  const ids = required(req, NS.m, 'AttachmentIds').children.filter((c) => c.ns === NS.t && c.local === 'AttachmentId')
  const messages = ids.map((el) => {
    try {
      injectedMessageFault(ctx)
      const { itemId, index } = parseAttachmentId(el.attrs.Id)
      const item = itemById(ctx, itemId)
      const a = readItemContent(item).attachments[index]
      if (a === undefined) throw new EwsError('ErrorInvalidAttachmentId', 'The attachment id is invalid.')
      const xml = `<t:FileAttachment><t:AttachmentId Id="${esc(el.attrs.Id ?? '')}"/>` +
        `<t:Name>${text(a.name)}</t:Name>` +
        `${a.contentType !== undefined ? `<t:ContentType>${text(a.contentType)}</t:ContentType>` : ''}` +
        `${a.contentId !== undefined ? `<t:ContentId>${text(a.contentId)}</t:ContentId>` : ''}` +
        `<t:Size>${a.data.length}</t:Size>` +
        `${a.lastModified !== undefined ? `<t:LastModifiedTime>${dateTime(a.lastModified)}</t:LastModifiedTime>` : ''}` +
        `<t:IsInline>${a.isInline === true}</t:IsInline><t:IsContactPhoto>false</t:IsContactPhoto>` +
        `<t:Content>${a.data.toString('base64')}</t:Content></t:FileAttachment>`
      return successMessage('GetAttachment', `<m:Attachments>${xml}</m:Attachments>`)
    } catch (err) {
      return errorMessage('GetAttachment', toEwsError(err), '<m:Attachments/>')
    }
  })
  return operationResponse('GetAttachment', messages)
}
