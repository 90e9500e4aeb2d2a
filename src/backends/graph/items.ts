/**
 * Item listing: mailboxItem has no subject (protocol brief §13.3), so the subject
 * comes from the extended property PR_SUBJECT (String 0x0037), when Graph returns it, and the
 * item's stable key from PR_SEARCH_KEY (Binary 0x300B, [MS-OXPROPS] 2.1017), asked for in the same $expand.
 */
import { UpstreamBadResponse } from '../../errors.js'
import { isDateTime, nonNegativeInteger } from '../answers.js'
import type { FolderRef, ItemSummary, Page, PageRequest } from '../mailbox-backend.js'
import {
  cursorFailure,
  cursorFromNextLink,
  matchesCollection,
  openCursor,
  wrongListing,
  type PathPart
} from './cursor.js'
import { knownMailboxIds, type GraphContext, type GraphMailbox } from './context.js'
import { folderSubject, pageSize, type Folders, type GraphPage } from './folders.js'
import { changeKeyFromEtag, pathSegment, publicIdOf } from './ids.js'

export interface GraphItem {
  id?: string
  changeKey?: string
  type?: string
  size?: number | null
  createdDateTime?: string | null
  lastModifiedDateTime?: string | null
  '@odata.etag'?: string
  singleValueExtendedProperties?: Array<{ id?: string, value?: string }>
}

/** The mailboxItem properties ItemSummary needs (list and delta $select them). */
export const ITEM_SELECT = 'id,changeKey,type,size,createdDateTime,lastModifiedDateTime'
const EXPAND = "singleValueExtendedProperties($filter=id eq 'String 0x0037' or id eq 'Binary 0x300B')"
// Outlook normalizes the id it returns (`String 0x37`, `Binary 0x300b`), so match the tag numerically.
const SUBJECT_PROP = /^String\s+0x0*37$/i
const SEARCH_KEY_PROP = /^Binary\s+0x0*300b$/i
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * The port's ItemSummary of a Graph item: the id made public (ids.ts), the change key from
 * `changeKey` or else from `@odata.etag` (`W/"<changeKey>"`, protocol brief §2). Times Graph
 * leaves out or answers null (the CSDL declares them nullable) are left out; an item without a
 * usable id, without a change key in either place, without a non-negative integer size, or with
 * a time that is not an RFC 3339 date-time, is a bad answer (MBG_ERR_UPSTREAM_BAD_RESPONSE
 * naming the item): the listing $selects all of them. `searchKey` is the base64 value of the Binary 0x300B
 * extended property when Graph returns one (a Binary value is base64 on the wire); item delta cannot $expand, so
 * change-feed items have none.
 */
export function toItemSummary (item: GraphItem): ItemSummary {
  const id = publicIdOf(item.id, 'item')
  const what = `item ${id.slice(0, 100)}`
  const changeKey = typeof item.changeKey === 'string' && item.changeKey !== ''
    ? item.changeKey
    : changeKeyFromEtag(item['@odata.etag'])
  if (changeKey === undefined) throw new UpstreamBadResponse(`${what} has no changeKey string`)
  const size = nonNegativeInteger(item.size)
  if (size === undefined) throw new UpstreamBadResponse(`${what} has no size that is a non-negative integer`)
  const created = itemTime(item, 'createdDateTime', what)
  const modified = itemTime(item, 'lastModifiedDateTime', what)
  const subject = extendedValue(item, SUBJECT_PROP)
  const searchKey = extendedValue(item, SEARCH_KEY_PROP)
  return {
    id,
    changeKey,
    itemClass: typeof item.type === 'string' ? item.type : '',
    size,
    ...(created !== undefined ? { created } : {}),
    ...(modified !== undefined ? { modified } : {}),
    ...(typeof subject === 'string' ? { subject } : {}),
    ...(typeof searchKey === 'string' && searchKey !== '' && BASE64.test(searchKey) ? { searchKey } : {})
  }
}

// Helpers of toItemSummary at module level, not closures made for every item listed.

/** A time of an item: undefined when left out or null; not an RFC 3339 date-time → MBG_ERR_UPSTREAM_BAD_RESPONSE. */
function itemTime (item: GraphItem, name: 'createdDateTime' | 'lastModifiedDateTime',
  what: string): string | undefined {
  const value: unknown = item[name]
  if (value === undefined || value === null) return undefined
  if (!isDateTime(value)) throw new UpstreamBadResponse(`${what}: ${name} is not an RFC 3339 date-time`)
  return value
}

/** The value of the item's first single-value extended property whose id `pattern` matches. */
function extendedValue (item: GraphItem, pattern: RegExp): unknown {
  for (const p of item.singleValueExtendedProperties ?? []) {
    if (typeof p.id === 'string' && pattern.test(p.id.trim())) return p.value
  }
  return undefined
}

const itemsOf = (key: PathPart): PathPart[] => [{ name: 'folders' }, key, { name: 'items' }]

/**
 * The URL a caller's cursor continues, which must be this folder's item collection. A nextLink
 * normally repeats the request path (`folders/inbox/items`); should Graph spell a well-known
 * folder by its id instead, the id is resolved (cached) and accepted too, but only then.
 */
async function cursorUrl (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, folder: FolderRef, seg: string,
  scope: string, cursor: string): Promise<string> {
  const opened = openCursor(cursor, {
    graphOrigin: ctx.config.graphUrl,
    version: mailbox.version,
    mailboxIds: knownMailboxIds(ctx, mailbox),
    scope
  })
  // Ids, and archive well-known names (already resolved to ids by `segment`), must match exactly.
  const byName = 'wellKnown' in folder && !mailbox.archive
  if (matchesCollection(opened.collection, itemsOf(byName ? { name: seg } : { id: seg }))) return opened.url
  if (byName && matchesCollection(opened.collection,
    itemsOf({ id: await folders.folderId(mailbox, folder) }))) { return opened.url }
  throw wrongListing()
}

export async function listItems (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, folder: FolderRef,
  page: PageRequest, signal?: AbortSignal): Promise<Page<ItemSummary>> {
  const seg = await folders.segment(mailbox, folder)
  const scope = `items:${seg}`
  const url = page.cursor !== undefined
    ? await cursorUrl(ctx, folders, mailbox, folder, seg, scope, page.cursor)
    : `${mailbox.base}/folders/${pathSegment(seg)}/items?$top=${pageSize(ctx, page.limit)}` +
      `&$select=${encodeURIComponent(ITEM_SELECT)}&$expand=${encodeURIComponent(EXPAND)}`
  const { body } = await folders.get<GraphPage<GraphItem>>(mailbox, 'listItems', url, folderSubject(folder), signal)
    .catch((err: unknown) => { throw page.cursor !== undefined ? cursorFailure(err) : err })
  if (!Array.isArray(body.value)) throw new UpstreamBadResponse('item list without value[]')
  const next = body['@odata.nextLink']
  return {
    values: body.value.map(toItemSummary),
    ...(next !== undefined ? { nextCursor: cursorFromNextLink(next, ctx.config.graphUrl, scope) } : {})
  }
}
