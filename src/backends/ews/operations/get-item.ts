/**
 * GetItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/getitem-operation) for one
 * item: as MIME (`IncludeMimeContent`, ews.md §6.11), or as its property set (`AllProperties`). Children of
 * `m:ItemShape` in schema order (types.xsd ItemResponseShapeType): BaseShape, IncludeMimeContent, BodyType, …,
 * AdditionalProperties. The answer is one `m:GetItemResponseMessage` whose `m:Items` holds the item as the element
 * of its type (t:Message, t:CalendarItem, t:Contact, t:Task, t:Item, …), `t:MimeContent` first (types.xsd ItemType).
 */
import { NS, el, child, childText, childrenOf, type XmlNode } from '../soap/xml.js'
import { decodeBase64 } from '../base64-bytes.js'
import { fieldUris, type ResponseMessage } from './common.js'

/** What a MIME read asks for besides the id and the MIME: the item's class and its subject (a file name). */
export const MIME_FIELDS = ['item:ItemClass', 'item:Subject']

/** IdOnly with the MIME content, the item class and the subject. */
export function buildGetItemMime (id: string): string {
  return el('m:GetItem', {},
    el('m:ItemShape', {},
      el('t:BaseShape', {}, 'IdOnly'),
      el('t:IncludeMimeContent', {}, 'true'),
      fieldUris(MIME_FIELDS)),
    el('m:ItemIds', {}, el('t:ItemId', { Id: id })))
}

/** What a property-set read asks for besides AllProperties. */
export interface PropertiesShape {
  /**
   * Ask for `item:TextBody` too (the body as text beside an HTML body): Exchange 2013 and later
   * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/textbody).
   */
  textBody: boolean
  /** Ask for `item:Flag` (follow-up flag): Exchange 2013 and later. */
  flag: boolean
  /** `t:ExtendedFieldURI` elements (already XML) of the extended properties to read. */
  extended: string[]
}

/**
 * AllProperties with BodyType `Best` (the body as it is stored: HTML when it is HTML or RTF, else text;
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/bodytype), and the body, attachments
 * (metadata), TextBody and Flag where the server has them, and the extended properties asked for.
 */
export function buildGetItemProperties (id: string, shape: PropertiesShape): string {
  const fields = ['item:Body', 'item:Attachments']
  if (shape.textBody) fields.push('item:TextBody')
  if (shape.flag) fields.push('item:Flag')
  return el('m:GetItem', {},
    el('m:ItemShape', {},
      el('t:BaseShape', {}, 'AllProperties'),
      el('t:BodyType', {}, 'Best'),
      fieldUris(fields, shape.extended)),
    el('m:ItemIds', {}, el('t:ItemId', { Id: id })))
}

/** The item element of a successful GetItem message (the first child of `m:Items`), or undefined. */
export function readItemNode (message: ResponseMessage): XmlNode | undefined {
  return childrenOf(child(message.node, NS.m, 'Items'), NS.t)[0]
}

/** An item read with its MIME content. */
export interface MimeRead {
  id: string
  changeKey?: string
  /** The local name of the item's element: Message, CalendarItem, Contact, Task, MeetingRequest, Item, … */
  element: string
  itemClass?: string
  subject?: string
  /** The MIME stream, decoded from base64 once (a large one from the answer's bytes, never a whole string). */
  data: Buffer
}

/**
 * The MIME read of a successful message, or what makes it unusable: no item, no ItemId, no MimeContent, or
 * MimeContent that is not base64 (white space a server may wrap it with is allowed). `t:MimeContent@CharacterSet`
 * is not needed: the stream is ASCII MIME (RFC 2045) whose parts name their own charsets
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/mimecontent).
 */
export function readMime (message: ResponseMessage): MimeRead | { problem: string } {
  const node = readItemNode(message)
  if (node === undefined) return { problem: 'no item' }
  const idNode = child(node, NS.t, 'ItemId')
  const id = idNode?.attrs.Id
  if (id === undefined || id === '') return { problem: 'an item without ItemId' }
  const mime = child(node, NS.t, 'MimeContent')
  if (mime === undefined) return { problem: 'an item without MimeContent' }
  const data = decodeBase64(mime.bytes ?? mime.text)
  if (data === undefined) {
    return { problem: mime.text.trim() === '' ? 'empty MimeContent' : 'MimeContent that is not base64' }
  }
  const itemClass = childText(node, NS.t, 'ItemClass')
  const subject = childText(node, NS.t, 'Subject')
  return {
    id,
    ...(idNode?.attrs.ChangeKey !== undefined ? { changeKey: idNode.attrs.ChangeKey } : {}),
    element: node.local,
    ...(itemClass !== undefined ? { itemClass } : {}),
    ...(subject !== undefined ? { subject } : {}),
    data
  }
}
