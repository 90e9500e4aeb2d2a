/**
 * GetAttachment (https://learn.microsoft.com/exchange/client-developer/web-service-reference/getattachment-operation):
 * `m:AttachmentIds` with one `t:AttachmentId` per attachment (messages.xsd GetAttachmentType; no AttachmentShape:
 * a file attachment's content comes without one). One `m:GetAttachmentResponseMessage` per id, in order, each with
 * `m:Attachments` holding the attachment: a `t:FileAttachment` carries its bytes as base64 in `t:Content`.
 */
import { isStrictBase64 } from '../../../base64.js'
import { NS, el, child, childrenOf } from '../soap/xml.js'
import type { ResponseMessage } from './common.js'

export function buildGetAttachment (ids: string[]): string {
  return el('m:GetAttachment', {}, el('m:AttachmentIds', {}, ...ids.map((id) => el('t:AttachmentId', { Id: id }))))
}

/**
 * The content of the file attachment of a successful message, as standard base64 text, passed on as the server
 * wrote it (white space a server may wrap it with taken out); or what makes the answer unusable: no file
 * attachment, no content, content that is not base64. An empty file has empty content ('').
 */
export function readFileContent (message: ResponseMessage): { contentBytes: string } | { problem: string } {
  const file = childrenOf(child(message.node, NS.m, 'Attachments'), NS.t, 'FileAttachment')[0]
  if (file === undefined) return { problem: 'no FileAttachment' }
  const content = child(file, NS.t, 'Content')
  if (content === undefined) return { problem: 'a FileAttachment without Content' }
  // JSON carries the content as text: a large one is made text once, here, from the bytes of the answer.
  let text = content.text
  if (text === '') return { contentBytes: '' }
  if (!isStrictBase64(content.bytes ?? text)) {
    text = text.replace(/\s+/g, '')
    if (text !== '' && !isStrictBase64(text)) return { problem: 'Content that is not base64' }
  }
  return { contentBytes: text }
}
