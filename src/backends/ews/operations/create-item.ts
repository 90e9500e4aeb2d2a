/**
 * CreateItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/createitem-operation) of
 * one item that is stored, never sent: `MessageDisposition="SaveOnly"`, and for a calendar item
 * `SendMeetingInvitations="SendToNone"` (messages.xsd CreateItemType; ews.md §6.12). `m:SavedItemFolderId` (a
 * FolderId or a DistinguishedFolderId: TargetFolderIdType) before `m:Items`. The answer is one
 * `m:CreateItemResponseMessage` whose `m:Items` holds the new item with its `t:ItemId`.
 *
 * From MIME (ews.md §6.12; "Import items by using EWS in Exchange",
 * https://learn.microsoft.com/exchange/client-developer/exchange-web-services/how-to-import-items-by-using-ews-in-exchange):
 * a t:Message with the .eml as `t:MimeContent` and PidTagMessageFlags (0x0E07, PT_LONG) set, because "you will need
 * to set the PidTagMessageFlags (0x0E07) extended property if the email is not a draft"; a t:CalendarItem with the
 * .ics as `t:MimeContent`. MimeContent is the first child of an item (types.xsd ItemType), ExtendedProperty after
 * it.
 */
import { NS, XmlParts, el, child, childrenOf } from '../soap/xml.js'
import { folderIdXml, type FolderTarget, type ResponseMessage } from './common.js'

/**
 * PidTagMessageFlags ([MS-OXPROPS] 2.784, [MS-OXCMSG] 2.2.1.6): property id 0x0E07, PT_LONG (EWS `Integer`).
 * mfRead (0x00000001) is the read state; mfUnsent (0x00000008) makes a draft, so a value without it is a message
 * that is not a draft. Settable only before the message is first saved: in the CreateItem itself.
 */
export const MESSAGE_FLAGS_TAG = 0x0e07
/** PidTagMessageFlags mfRead. */
export const MF_READ = 0x1
/** PidTagMessageFlags mfUnsent: the message is a draft. */
export const MF_UNSENT = 0x8

/** The `t:ExtendedProperty` of PidTagMessageFlags with `value`. */
export function messageFlagsXml (value: number): string {
  return el('t:ExtendedProperty', {},
    el('t:ExtendedFieldURI', { PropertyTag: '0x0E07', PropertyType: 'Integer' }),
    el('t:Value', {}, String(value)))
}

/** The CreateItem attributes for an item of `element` (a calendar item sends no invitations). */
function createAttributes (element: string): Record<string, string> {
  return element === 'CalendarItem'
    ? { MessageDisposition: 'SaveOnly', SendMeetingInvitations: 'SendToNone' }
    : { MessageDisposition: 'SaveOnly' }
}

/**
 * A CreateItem of a message (.eml, stored read and not a draft: PidTagMessageFlags = mfRead) or a calendar item
 * (.ics) from MIME. `mime` is the MIME stream as base64 (its ASCII bytes, `base64-bytes.ts` encodeBase64): a piece
 * of its own, never copied into a request string.
 */
export function buildCreateItemFromMime (folder: FolderTarget, element: 'Message' | 'CalendarItem',
  mime: Buffer): XmlParts {
  // U+0000 cannot be in ids (escapeXml refuses it): it marks where the MIME goes.
  const xml = el('m:CreateItem', createAttributes(element),
    el('m:SavedItemFolderId', {}, folderIdXml(folder)),
    el('m:Items', {},
      el(`t:${element}`, {},
        el('t:MimeContent', {}, '\u0000'),
        element === 'Message' && messageFlagsXml(MF_READ))))
  const at = xml.indexOf('\u0000')
  return new XmlParts([xml.slice(0, at), mime, xml.slice(at + 1)])
}

/**
 * A CreateItem of one item from its element (`t:Message`, `t:CalendarItem`, `t:Contact`, `t:Task`), given as XML
 * in which each U+0000 marks where the next of `contents` goes (file attachments' `t:Content`, standard base64,
 * pieces of their own: never joined into a request string).
 */
export function buildCreateItem (folder: FolderTarget, element: string, itemXml: string,
  contents: string[] = []): XmlParts {
  const xml = el('m:CreateItem', createAttributes(element),
    el('m:SavedItemFolderId', {}, folderIdXml(folder)),
    el('m:Items', {}, itemXml))
  const pieces = xml.split('\u0000')
  if (pieces.length !== contents.length + 1) throw new Error('buildCreateItem: markers and contents differ')
  const parts: string[] = [pieces[0]]
  contents.forEach((content, i) => parts.push(content, pieces[i + 1]))
  return new XmlParts(parts)
}

/** The id of the item a successful CreateItem message created: `m:Items/t:<item>/t:ItemId`, or what is missing. */
export function readCreated (message: ResponseMessage): { id: string, changeKey?: string } | { problem: string } {
  const item = childrenOf(child(message.node, NS.m, 'Items'), NS.t)[0]
  if (item === undefined) return { problem: 'no item' }
  const idNode = child(item, NS.t, 'ItemId')
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') return { problem: 'an item without ItemId' }
  const changeKey = idNode?.attrs.ChangeKey
  return { id, ...(changeKey !== undefined && changeKey !== '' ? { changeKey } : {}) }
}
