/**
 * Pieces every operation shares: folder id elements, FieldURI lists and the
 * ResponseMessages reader (one message per input, in input order, ews.md §0.3).
 */
import { UpstreamBadResponse } from '../../../errors.js'
import { readValues } from '../soap/envelope.js'
import { NS, el, text, child, childText, childrenOf, type XmlNode } from '../soap/xml.js'

/** A folder as EWS addresses it: a real FolderId or a DistinguishedFolderId name. */
export type FolderTarget =
  | { id: string, changeKey?: string }
  | { distinguished: string, /** delegate access (no impersonation): whose folder */ mailbox?: string }

export function folderIdXml (target: FolderTarget): string {
  if ('id' in target) return el('t:FolderId', { Id: target.id, ChangeKey: target.changeKey })
  return el('t:DistinguishedFolderId', { Id: target.distinguished },
    target.mailbox !== undefined && el('t:Mailbox', {}, el('t:EmailAddress', {}, text(target.mailbox))))
}

/** `t:AdditionalProperties` with a FieldURI per name, then the given ExtendedFieldURI elements (already XML). */
export function fieldUris (uris: string[], extended: string[] = []): string {
  return el('t:AdditionalProperties', {}, ...uris.map((u) => el('t:FieldURI', { FieldURI: u })), ...extended)
}

/**
 * PidTagSearchKey (PR_SEARCH_KEY, [MS-OXPROPS] 2.1017: property id 0x300B, PT_BINARY) as a tagged extended property
 * path: the item's stable key (kept by copy, move, export and import).
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/extendedfielduri
 */
export const SEARCH_KEY_FIELD = el('t:ExtendedFieldURI', { PropertyTag: '0x300B', PropertyType: 'Binary' })

export interface ResponseMessage {
  responseClass: 'Success' | 'Warning' | 'Error'
  code: string
  /** MessageXml values (BackOffMilliseconds, MailboxGuid, …). */
  values: Record<string, string>
  node: XmlNode
}

/** A response we cannot read as the schema says (wrong count, missing parts): never guessed around. */
export class ResponseShapeError extends UpstreamBadResponse {
  constructor (problem: string) {
    super(problem)
    this.name = 'ResponseShapeError'
  }
}

/** Reads `m:ResponseMessages/m:<op>ResponseMessage*`; `expected` checks the count (positional correlation). */
export function responseMessages (response: XmlNode, op: string, expected?: number): ResponseMessage[] {
  const list = child(response, NS.m, 'ResponseMessages')
  if (list === undefined) throw new ResponseShapeError(`${op}: no ResponseMessages`)
  const messages = childrenOf(list, NS.m).map((node) => {
    const cls = node.attrs.ResponseClass
    if (cls !== 'Success' && cls !== 'Warning' && cls !== 'Error') {
      throw new ResponseShapeError(`${op}: bad ResponseClass`)
    }
    const code =
      childText(node, NS.m, 'ResponseCode')?.trim() ?? (cls === 'Success' ? 'NoError' : 'ErrorInternalServerError')
    return {
      responseClass: cls,
      code,
      values: readValues(child(node, NS.m, 'MessageXml')),
      node
    } satisfies ResponseMessage
  })
  if (expected !== undefined && messages.length !== expected) {
    throw new ResponseShapeError(`${op}: ${messages.length} response messages for ${expected} inputs`)
  }
  return messages
}

export function isSuccess (message: ResponseMessage): boolean {
  return message.responseClass === 'Success' && message.code === 'NoError'
}

/**
 * A Find* RootFolder: its entries and paging attributes. `last` is IncludesLastItemInRange;
 * `nextOffset` the IndexedPagingOffset when more exist; `total` TotalItemsInView when given.
 */
export interface FindPage { nodes: XmlNode[], last: boolean, nextOffset?: number, total?: number }

/**
 * Reads `m:RootFolder` of a FindItem/FindFolder answer to a view that started at `offset`.
 * An answer that says more exists (IncludesLastItemInRange="false") but whose
 * IndexedPagingOffset is not past `offset` cannot be advanced from: it is a
 * ResponseShapeError (MBG_ERR_UPSTREAM_BAD_RESPONSE), never the silent end of a listing
 * (https://learn.microsoft.com/exchange/client-developer/web-service-reference/rootfolder-finditemresponsemessage).
 */
export function readRootFolder (message: ResponseMessage, container: 'Folders' | 'Items', offset: number): FindPage {
  const root = child(message.node, NS.m, 'RootFolder')
  if (root === undefined) throw new ResponseShapeError('no RootFolder')
  const nodes = childrenOf(child(root, NS.t, container), NS.t)
  const totalAttr = Number(root.attrs.TotalItemsInView)
  const hasTotal = root.attrs.TotalItemsInView !== undefined && Number.isInteger(totalAttr) && totalAttr >= 0
  const total = hasTotal ? { total: totalAttr } : {}
  const last = root.attrs.IncludesLastItemInRange
  if (last === 'false' || last === '0') {
    const next = Number(root.attrs.IndexedPagingOffset)
    if (!Number.isInteger(next) || next < 0) throw new ResponseShapeError('bad IndexedPagingOffset')
    if (next <= offset) {
      throw new ResponseShapeError(
        `more entries announced, but IndexedPagingOffset ${next} does not advance past ${offset}`)
    }
    return { nodes, last: false, nextOffset: next, ...total }
  }
  return { nodes, last: true, ...total }
}
