/**
 * Per-request state (the acting identity and what it may open) and id resolution
 * with Exchange's access rules: an object is usable when its mailbox is the acting
 * user's own primary, archive or auxiliary archive, or belongs to a mailbox that
 * user holds FullAccess on (then with its archives too). Under ExchangeImpersonation
 * the impersonated user's rights apply, not the caller's [D impersonation-and-ews-in-exchange.md].
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
import type { EwsFaults, EwsMessageFault } from './types.js'
import { NS, child, type XmlEl } from './xml.js'

const NO_MAILBOX = 'The SMTP address has no mailbox associated with it.'

export interface RequestContext {
  store: MailboxStore
  /**
   * The mailbox the request acts as: the impersonated user's or the caller's own. Undefined for an
   * account without a mailbox using delegate access, which must name the mailbox of every
   * distinguished folder (`t:DistinguishedFolderId/t:Mailbox`).
   */
  mailbox: StoreMailbox | undefined
  /** Physical mailboxes (GUIDs) the acting identity may open: its own and those it has FullAccess on, with archives. */
  accessible: Set<string>
  /** The operation being served. */
  op?: string
  /** Injected per-message refusals (EwsFaults.messages), consumed as they fire. */
  messageFaults?: EwsMessageFault[]
  /** The simulator's fault knobs, for operations that damage their own answers (see EwsFaults). */
  faults?: EwsFaults
  /** Whether an item is poisoned (EwsFaults.poison); counts the hit. ExportItems then fails as a whole. */
  poisoned?: (item: StoreItem) => boolean
}

/**
 * Throws the EwsError an injected rule (EwsFaults.messages) puts here, if one matches: called at the start of
 * each ResponseMessage (no `distinguished`), and where a DistinguishedFolderId is resolved (its lower-case name).
 */
export function injectedMessageFault (ctx: RequestContext, distinguished?: string): void {
  const rule = ctx.messageFaults?.find((r) => r.count > 0 && r.distinguished?.toLowerCase() === distinguished &&
    (r.op === undefined ? distinguished !== undefined : r.op === ctx.op))
  if (rule === undefined) return
  rule.count--
  throw new EwsError(rule.code)
}

/** A primary mailbox with its in-place archive and the archive's auxiliary mailboxes. */
export function accessibleGuids (store: MailboxStore, primary: StoreMailbox): Set<string> {
  const out = new Set([primary.guid])
  if (primary.archiveGuid !== undefined) {
    out.add(primary.archiveGuid)
    const archive = store.mailboxes.get(primary.archiveGuid)
    for (const aux of archive?.auxGuids ?? []) out.add(aux)
  }
  return out
}

/**
 * The context for an identity: `own` is its mailbox (if any), `trustees` the names FullAccess
 * grants may use for it (primary SMTP address, logon name).
 */
export function contextFor (store: MailboxStore, own: StoreMailbox | undefined, trustees: string[]): RequestContext {
  const accessible = new Set<string>()
  for (const primary of [...(own !== undefined ? [own] : []), ...store.fullAccessMailboxes(trustees)]) {
    for (const guid of accessibleGuids(store, primary)) accessible.add(guid)
  }
  return { store, mailbox: own, accessible }
}

/**
 * The acting mailbox; an account without one gets the ErrorMissingEmailAddress fault (it must
 * name the mailbox of distinguished folders) [D responsecode.md, ErrorMissingEmailAddress].
 */
export function ownMailbox (ctx: RequestContext): StoreMailbox {
  if (ctx.mailbox === undefined) throw new EwsFault('ErrorMissingEmailAddress')
  return ctx.mailbox
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
  injectedMessageFault(ctx, name)
  const mailboxEl = child(el, NS.t, 'Mailbox')
  const address = mailboxEl === undefined ? undefined : child(mailboxEl, NS.t, 'EmailAddress')?.text.trim()
  let primary: StoreMailbox
  if (address !== undefined && address !== '') {
    const named = ctx.store.mailboxBySmtp(address)
    if (named === undefined) throw new EwsError('ErrorNonExistentMailbox', NO_MAILBOX)
    // The acting identity's rights decide, also when it is an impersonated user.
    if (!ctx.accessible.has(named.guid)) throw new EwsError('ErrorAccessDenied')
    primary = named
  } else {
    primary = ownMailbox(ctx)
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
    throw EwsFault.schema(`The request failed schema validation: The element '${container.local}' has incomplete ` +
      'content. List of possible elements expected: \'FolderId, DistinguishedFolderId\'.')
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
