/**
 * Maps an authenticated Graph request onto a handler. Paths are matched segment by segment
 * (case-insensitively for fixed names, as Graph does) after percent-decoding, and OData key
 * segments such as mailboxes('MBX%3A…') or folders('F1=') are read as `mailboxes/MBX:…`.
 */
import type { StoreFolder } from '../store/store.js'
import type { GraphCall, SimContext } from './context.js'
import { createFolder, deleteFolder, folderDelta, getFolder, listFolders, updateFolder } from './folders.js'
import { badRequest, GraphError, notFound, Redirect, type Reply } from './http.js'
import { pathSegment } from './ids.js'
import { checkQueryOptions, QUERY_OPTIONS, type QueryOption } from './odata.js'
import { deleteItem, getItem, itemDelta, listItems } from './items.js'
import { createImportSession, exportItems } from './mailbox-actions.js'
import { resolveFolder, resolveItem, resolveMailbox, type FolderAccess } from './resolve.js'
import { exchangeSettings } from './settings.js'
import { routeOutlook } from './outlook.js'

export const ROLES = {
  // The docs do not say which permission reads settings/exchange; third parties report User.Read.All.
  // Any mailbox role is accepted as well, since an app granted only those can use the rest of the API.
  settings: ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  folderRead: ['MailboxFolder.Read.All', 'MailboxFolder.ReadWrite.All'],
  folderWrite: ['MailboxFolder.ReadWrite.All'],
  itemRead: ['MailboxItem.Read.All', 'MailboxItem.ReadWrite.All'],
  itemWrite: ['MailboxItem.ReadWrite.All'],
  export: ['MailboxItem.Export.All', 'MailboxItem.ImportExport.All'],
  import: ['MailboxItem.ImportExport.All']
}

function requireRole (call: GraphCall, allowed: string[], anyMailboxRole = false): void {
  const ok = call.identity.roles.some((r) => allowed.includes(r) || (anyMailboxRole && r.startsWith('Mailbox')))
  if (!ok) throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')
}

const methodNotAllowed = (): GraphError =>
  new GraphError(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.')
const unknownSegment = (seg: string): GraphError => badRequest(`Resource not found for the segment '${seg}'.`)

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase()
const isDelta = (s: string | undefined): boolean => s !== undefined && /^(microsoft\.graph\.)?delta(\(\))?$/i.test(s)
const isAction = (s: string | undefined, name: string): boolean =>
  s !== undefined && new RegExp(`^(microsoft\\.graph\\.)?${name}$`, 'i').test(s)

/** Splits a raw path into decoded segments, expanding OData key segments `name('key')` into two. */
export function pathSegments (rawPath: string): string[] {
  const out: string[] = []
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue
    let seg: string
    try {
      seg = decodeURIComponent(raw)
    } catch {
      throw badRequest(`Malformed path segment '${raw}'.`)
    }
    const key = /^([A-Za-z][\w.]*)\('(.*)'\)$/.exec(seg) ?? /^([A-Za-z][\w.]*)\(([^')]+)\)$/.exec(seg)
    if (key !== null && !isDelta(seg)) out.push(key[1], key[2].replace(/''/g, "'"))
    else out.push(seg)
  }
  return out
}

/** Permission needed by a path under /admin/exchange/mailboxes/{mbx}/, decided before any lookup. */
function mailboxRoles (method: string, rest: string[]): string[] {
  if (isAction(rest[0], 'exportItems')) return ROLES.export
  if (isAction(rest[0], 'createImportSession')) return ROLES.import
  if (rest.some((s) => eq(s, 'items'))) return method === 'GET' ? ROLES.itemRead : ROLES.itemWrite
  return method === 'GET' ? ROLES.folderRead : ROLES.folderWrite
}

/** `segs` are the decoded segments after the version segment. */
export async function routeGraph (ctx: SimContext, call: GraphCall, segs: string[]): Promise<Reply> {
  const m = call.method
  /** Refuses the query options the target does not implement (writes and actions take none). */
  const options = (allowed: readonly QueryOption[]): void => {
    checkQueryOptions(call.query, m === 'GET' ? allowed : [])
  }
  if (eq(segs[0], 'users') && segs.length === 4 && eq(segs[2], 'settings') && eq(segs[3], 'exchange')) {
    if (m !== 'GET') throw methodNotAllowed()
    requireRole(call, ROLES.settings, true)
    options(QUERY_OPTIONS.none)
    return exchangeSettings(ctx, call, segs[1])
  }
  // The Outlook mail, calendar and contacts endpoints MIME and property sets use (outlook.ts).
  if (eq(segs[0], 'users') && segs.length >= 3) return await routeOutlook(ctx, call, segs)
  if (!(eq(segs[0], 'admin') && eq(segs[1], 'exchange') && eq(segs[2], 'mailboxes') && segs.length >= 4)) {
    throw unknownSegment(
      segs.find((s, i) => i > 0 && !['admin', 'exchange', 'mailboxes', 'users'].includes(s.toLowerCase())) ??
        segs[0] ??
        ''
    )
  }
  const rest = segs.slice(4)
  if (rest.length === 0) throw methodNotAllowed()
  requireRole(call, mailboxRoles(m, rest))
  const mailbox = resolveMailbox(ctx, segs[3], call.version)

  if (rest.length === 1 && isAction(rest[0], 'exportItems')) {
    if (m !== 'POST') throw methodNotAllowed()
    options(QUERY_OPTIONS.none)
    return await exportItems(ctx, call, mailbox)
  }
  if (rest.length === 1 && isAction(rest[0], 'createImportSession')) {
    if (m !== 'POST') throw methodNotAllowed()
    options(QUERY_OPTIONS.none)
    return await createImportSession(ctx, call, mailbox)
  }
  if (!eq(rest[0], 'folders')) throw unknownSegment(rest[0])

  const root = ctx.store.requireFolder(mailbox.msgRootId)
  if (rest.length === 1) {
    options(QUERY_OPTIONS.collection)
    if (m === 'GET') return listFolders(ctx, call, mailbox, root, true)
    if (m === 'POST') return await createFolder(ctx, call, mailbox, root)
    throw methodNotAllowed()
  }
  if (isDelta(rest[1]) && rest.length === 2) {
    if (m !== 'GET') throw methodNotAllowed()
    options(QUERY_OPTIONS.folderDelta)
    return folderDelta(ctx, call, mailbox, undefined)
  }

  let current: FolderAccess = resolveFolder(ctx, mailbox, rest[1])
  let i = 2
  while (i < rest.length && eq(rest[i], 'childFolders')) {
    // Hierarchy operations stay in the mailbox that shows the tree, even for expanded archive folders.
    if (i + 1 === rest.length) {
      options(QUERY_OPTIONS.collection)
      if (m === 'GET') return listFolders(ctx, call, mailbox, current.folder, false)
      if (m === 'POST') return await createFolder(ctx, call, mailbox, current.folder)
      throw methodNotAllowed()
    }
    if (isDelta(rest[i + 1]) && i + 2 === rest.length) {
      if (m !== 'GET') throw methodNotAllowed()
      options(QUERY_OPTIONS.folderDelta)
      return folderDelta(ctx, call, mailbox, current.folder)
    }
    const child = resolveFolder(ctx, mailbox, rest[i + 1])
    if (child.folder.parentId !== current.folder.id) throw notFound()
    current = child
    i += 2
  }
  const folder: StoreFolder = current.folder
  const redirect = (): void => {
    if (current.redirectTo === undefined) return
    // Content in an auxiliary archive: the client must re-issue the request against that mailbox.
    const suffix = rest.slice(i).map((s) => `/${pathSegment(s)}`).join('')
    const target = `${ctx.mailboxId(current.redirectTo)}/folders/${pathSegment(ctx.wireId(folder.id))}${suffix}`
    throw new Redirect(`${ctx.url}/beta/admin/exchange/mailboxes/${target}${call.search}`)
  }

  if (i === rest.length) {
    options(QUERY_OPTIONS.entity)
    if (m === 'GET') { redirect(); return getFolder(ctx, call, mailbox, folder) }
    if (m === 'PATCH') return await updateFolder(ctx, call, mailbox, folder)
    if (m === 'DELETE') return deleteFolder(ctx, folder)
    throw methodNotAllowed()
  }
  if (!eq(rest[i], 'items')) throw unknownSegment(rest[i])
  if (i + 1 === rest.length) {
    if (m !== 'GET') throw methodNotAllowed()
    options(QUERY_OPTIONS.collection)
    redirect()
    return listItems(ctx, call, mailbox, folder)
  }
  if (isDelta(rest[i + 1]) && i + 2 === rest.length) {
    if (m !== 'GET') throw methodNotAllowed()
    options(QUERY_OPTIONS.itemDelta)
    redirect()
    return itemDelta(ctx, call, mailbox, folder)
  }
  if (i + 2 !== rest.length) throw unknownSegment(rest[i + 2])
  if (m !== 'GET' && m !== 'DELETE') throw methodNotAllowed()
  options(QUERY_OPTIONS.entity)
  redirect()
  const item = resolveItem(ctx, folder, rest[i + 1])
  return m === 'GET' ? getItem(ctx, call, mailbox, folder, item) : deleteItem(ctx, call, item)
}
