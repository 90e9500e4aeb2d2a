/**
 * Per-request state (the selected mailbox) and id resolution with Exchange's
 * access rules: an id is usable when it belongs to the selected primary
 * mailbox, its archive or one of the archive's auxiliary mailboxes.
 */
import {
  isParseableChangeKey,
  parseId,
  StoreError,
  type MailboxStore,
  type StoreFolder,
  type StoreItem,
  type StoreMailbox
} from '../store/store.js'
import { EwsError, EwsFault } from './errors.js'
import { NS, child, type XmlEl } from './xml.js'

export interface RequestContext {
  store: MailboxStore
  /** The primary mailbox the request acts on. */
  mailbox: StoreMailbox
  /** Physical mailboxes reachable through it (primary, archive, auxiliary archives). */
  accessible: Set<string>
  /** Caller may act on other mailboxes (impersonation right or full_access_as_app). */
  canImpersonate: boolean
}

export function accessibleGuids (store: MailboxStore, primary: StoreMailbox): Set<string> {
  const out = new Set([primary.guid])
  if (primary.archiveGuid !== undefined) {
    out.add(primary.archiveGuid)
    const archive = store.mailboxes.get(primary.archiveGuid)
    for (const aux of archive?.auxGuids ?? []) out.add(aux)
  }
  return out
}

/** Decodes an id and applies the mailbox rules; returns its kind. */
function checkId (ctx: RequestContext, id: string | undefined): 'folder' | 'item' {
  if (id === undefined || id === '') throw new EwsError('ErrorInvalidIdEmpty', 'Id is empty.')
  let parsed: ReturnType<typeof parseId>
  try {
    parsed = parseId(id)
  } catch (err) {
    if (err instanceof StoreError) throw new EwsError('ErrorInvalidIdMalformed')
    throw err
  }
  if (!ctx.store.mailboxes.has(parsed.mailboxGuid)) {
    throw new EwsError('ErrorNonExistentMailbox', undefined, [['MailboxGuid', parsed.mailboxGuid]])
  }
  if (!ctx.accessible.has(parsed.mailboxGuid)) throw new EwsError('ErrorAccessDenied')
  return parsed.kind
}

export function checkChangeKey (changeKey: string | undefined): void {
  if (changeKey !== undefined && !isParseableChangeKey(changeKey)) throw new EwsError('ErrorInvalidChangeKey')
}

export function folderById (ctx: RequestContext, id: string | undefined): StoreFolder {
  if (checkId(ctx, id) !== 'folder') throw new EwsError('ErrorCannotUseItemIdForFolderId')
  const folder = ctx.store.folders.get(id as string)
  if (folder === undefined) throw new EwsError('ErrorFolderNotFound')
  return folder
}

export function itemById (ctx: RequestContext, id: string | undefined): StoreItem {
  if (checkId(ctx, id) !== 'item') throw new EwsError('ErrorCannotUseFolderIdForItemId')
  const item = ctx.store.items.get(id as string)
  if (item === undefined) throw new EwsError('ErrorItemNotFound')
  return item
}

/** Resolves `t:DistinguishedFolderId` (optionally naming another mailbox through `t:Mailbox`). */
function distinguishedFolder (ctx: RequestContext, el: XmlEl): StoreFolder {
  const name = (el.attrs.Id ?? '').toLowerCase()
  let primary = ctx.mailbox
  const address = child(el, NS.t, 'Mailbox')?.children.find((c) => c.ns === NS.t && c.local === 'EmailAddress')?.text
  if (address !== undefined && address !== '' && address.toLowerCase() !== ctx.mailbox.smtp) {
    const other = ctx.store.mailboxBySmtp(address)
    if (other === undefined) {
      throw new EwsError('ErrorNonExistentMailbox', 'The SMTP address has no mailbox associated with it.')
    }
    if (!ctx.canImpersonate) throw new EwsError('ErrorAccessDenied')
    primary = other
  }
  // archive* names live in the primary's in-place archive; everything else in the primary.
  const own = primary.wellKnown.get(name)
  if (own !== undefined) return ctx.store.requireFolder(own)
  if (primary.archiveGuid !== undefined) {
    const archived = ctx.store.mailboxes.get(primary.archiveGuid)?.wellKnown.get(name)
    if (archived !== undefined) return ctx.store.requireFolder(archived)
  }
  throw new EwsError('ErrorFolderNotFound')
}

/** Resolves a `t:FolderId`/`t:ParentFolderId` (Id attribute) or a `t:DistinguishedFolderId`. */
export function resolveFolder (ctx: RequestContext, el: XmlEl): StoreFolder {
  if (el.local === 'DistinguishedFolderId') return distinguishedFolder(ctx, el)
  return folderById(ctx, el.attrs.Id)
}

/** First FolderId/DistinguishedFolderId child of a TargetFolderIdType container. */
export function targetFolderEl (container: XmlEl): XmlEl {
  const el = container.children.find(
    (c) => c.ns === NS.t && (c.local === 'FolderId' || c.local === 'DistinguishedFolderId')
  )
  if (el === undefined) {
    throw EwsFault.schema(
      `The request failed schema validation: The element '${container.local}' has incomplete content. List of possible elements expected: 'FolderId, DistinguishedFolderId'.`
    )
  }
  return el
}

/** All folder id children of a NonEmptyArrayOfBaseFolderIdsType container, in order. */
export function folderIdEls (container: XmlEl): XmlEl[] {
  const els = container.children.filter(
    (c) => c.ns === NS.t && (c.local === 'FolderId' || c.local === 'DistinguishedFolderId')
  )
  if (els.length === 0) {
    throw EwsFault.schema(
      `The request failed schema validation: The element '${container.local}' has incomplete content. List of possible elements expected: 'FolderId, DistinguishedFolderId'.`
    )
  }
  return els
}

/** True when `folder` is `ancestorId` or below it. */
export function isWithin (ctx: RequestContext, folder: StoreFolder, ancestorId: string): boolean {
  let cur: StoreFolder | undefined = folder
  while (cur !== undefined) {
    if (cur.id === ancestorId) return true
    cur = cur.parentId === null ? undefined : ctx.store.folders.get(cur.parentId)
  }
  return false
}
