/**
 * JSON shapes of mailboxFolder and mailboxItem, with $select and
 * $expand=singleValueExtendedProperties support.
 */
import type { StoreFolder, StoreItem, StoreMailbox } from '../store/store.js'
import type { GraphVersion, SimContext } from './context.js'
import { badRequest } from './http.js'
import { isoDate } from './ids.js'
import { entryIdOf } from './outlook-ids.js'
import { GRAPH_WELL_KNOWN } from './resolve.js'

/**
 * Declared mailboxFolder properties per version. beta: CSDL of 2026-08-04 (msgraph-metadata 69bb1201).
 * v1.0: the CSDL of 2026-08-20 lacks wellKnownName, but Microsoft's v1.0 SDK models it (msgraph-sdk-go
 * models/mailbox_folder.go, commit 51cf12f1); see test/fixtures/graph-csdl/SOURCE.txt.
 */
export const FOLDER_PROPS: Record<GraphVersion, string[]> = {
  'v1.0': ['id', 'displayName', 'parentFolderId', 'childFolderCount', 'totalItemCount', 'type', 'wellKnownName'],
  beta: [
    'id',
    'displayName',
    'parentFolderId',
    'childFolderCount',
    'totalItemCount',
    'type',
    'parentMailboxUrl',
    'wellKnownName'
  ]
}
export const ITEM_PROPS = ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'type', 'size']

/** Parses $select against the entity's declared properties (unknown names → 400, as OData does). */
export function parseSelect (value: string | null, declared: string[], typeName: string): Set<string> | undefined {
  if (value === null || value.trim() === '') return undefined
  const out = new Set<string>()
  for (const raw of value.split(',')) {
    const name = raw.trim()
    if (!declared.includes(name)) {
      throw badRequest(
        `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.${typeName}'.`
      )
    }
    out.add(name)
  }
  return out
}

/** Extended-property ids are normalized the way Outlook echoes them: 'String 0x0037' → 'String 0x37'. */
export function normalizePropId (id: string): string {
  const m = /^(\w+)\s+0x([0-9a-f]+)$/i.exec(id.trim())
  if (m === null) return id.trim()
  const type = m[1][0].toUpperCase() + m[1].slice(1)
  return `${type} 0x${parseInt(m[2], 16).toString(16)}`
}

/** Requested single-value extended property ids; 'all' when no $filter was given. */
export type ExpandSpec = string[] | 'all'

export function parseExpand (value: string | null): ExpandSpec | undefined {
  if (value === null || value.trim() === '') return undefined
  const m = /^singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*(.+)\))?$/i.exec(value.trim())
  if (m === null) throw badRequest(`Parsing OData Select and Expand failed: '${value}' is not supported.`)
  if (m[1] === undefined) return 'all'
  const ids: string[] = []
  for (const clause of m[1].split(/\s+or\s+/i)) {
    const c = /^\(?\s*id\s+eq\s+'([^']+)'\s*\)?$/i.exec(clause.trim())
    if (c === null) throw badRequest(`Invalid filter clause in $expand: '${clause}'.`)
    ids.push(normalizePropId(c[1]))
  }
  return ids
}

function extendedProps (available: Array<[string, string | undefined]>,
  spec: ExpandSpec): Array<{ id: string, value: string }> {
  const out: Array<{ id: string, value: string }> = []
  for (const [id, value] of available) {
    if (value === undefined) continue
    if (spec === 'all' || spec.includes(id)) out.push({ id, value })
  }
  return out
}

export function mailboxUrl (ctx: SimContext, version: GraphVersion, guid: string): string {
  return `${ctx.url}/${version}/admin/exchange/mailboxes/${ctx.mailboxId(guid)}`
}

function wellKnownName (mailbox: StoreMailbox | undefined, folder: StoreFolder): string | null {
  const dn = folder.distinguishedName
  if (dn === undefined || mailbox === undefined) return null
  // The store keeps EWS names; archives prefix them ('archiveinbox'). Graph shows the plain name.
  const name = mailbox.kind === 'primary' ? dn : dn.startsWith('archive') ? dn.slice('archive'.length) : dn
  return GRAPH_WELL_KNOWN.includes(name) ? name : null
}

export interface ShapeOptions { select?: Set<string> | undefined, expand?: ExpandSpec | undefined }

export function folderJson (ctx: SimContext, folder: StoreFolder, version: GraphVersion,
  opts: ShapeOptions = {}): Record<string, unknown> {
  const mailbox = ctx.store.mailboxes.get(folder.mailboxGuid)
  const full: Record<string, unknown> = {
    id: ctx.wireId(folder.id),
    displayName: folder.displayName,
    parentFolderId: folder.parentId === null ? null : ctx.wireId(folder.parentId),
    childFolderCount: folder.childIds.length,
    totalItemCount: folder.itemIds.length,
    type: folder.folderClass
  }
  // The routing link: the mailbox that physically holds the folder's content (beta only).
  if (version === 'beta') full.parentMailboxUrl = mailboxUrl(ctx, 'beta', folder.contentMailboxGuid)
  full.wellKnownName = wellKnownName(mailbox, folder)
  const out: Record<string, unknown> = { '@odata.type': '#microsoft.graph.mailboxFolder' }
  for (const [k, v] of Object.entries(full)) {
    const always = k === 'id' || k === 'parentMailboxUrl'
    if (opts.select === undefined || always || opts.select.has(k)) out[k] = v
  }
  if (opts.expand !== undefined) {
    out.singleValueExtendedProperties = extendedProps([
      ['String 0x3001', folder.displayName],
      ['String 0x3613', folder.folderClass],
      ['Binary 0xfff', entryIdOf(folder.id).toString('base64')]
    ], opts.expand)
  }
  return out
}

export function itemJson (ctx: SimContext, item: StoreItem, opts: ShapeOptions = {}): Record<string, unknown> {
  const full: Record<string, unknown> = {
    id: ctx.wireId(item.id),
    createdDateTime: isoDate(item.created),
    lastModifiedDateTime: isoDate(item.modified),
    changeKey: item.changeKey,
    categories: [],
    type: item.itemClass,
    size: item.size
  }
  const out: Record<string, unknown> = {
    '@odata.type': '#microsoft.graph.mailboxItem',
    '@odata.etag': `W/"${item.changeKey}"`
  }
  for (const [k, v] of Object.entries(full)) {
    if (k === 'changeKey' && ctx.quirks.etagOnlyChangeKey) continue
    if (opts.select === undefined || k === 'id' || opts.select.has(k)) out[k] = v
  }
  if (opts.expand !== undefined) {
    out.singleValueExtendedProperties = extendedProps([
      ['String 0x37', item.subject],
      ['String 0x1a', item.itemClass],
      ['SystemTime 0xe06', isoDate(item.created)],
      ['SystemTime 0x3007', isoDate(item.created)],
      ['SystemTime 0x3008', isoDate(item.modified)],
      ['Integer 0xe08', String(item.size)],
      ['Boolean 0xe1b', String(item.hasAttachments)],
      // PidTagSearchKey; Binary values are base64 (Graph singleValueLegacyExtendedProperty docs).
      ['Binary 0x300b', item.searchKey.toString('base64')],
      // PidTagEntryId: what translateExchangeIds (entryId) reads to name the item to the Outlook APIs.
      ['Binary 0xfff', entryIdOf(item.id).toString('base64')]
    ], opts.expand)
  }
  return out
}
