/**
 * MIME and property sets on Graph mailboxes (docs/graph-formats.md). The mailbox import/export API, whose ids the
 * gateway hands out, has neither; the Outlook mail, calendar and contacts APIs have both, under ids of their own.
 * The bridge between them, every step documented:
 *
 *   mailboxItem → Outlook: GET …/folders/{fid}/items/{iid}?$expand=singleValueExtendedProperties($filter=id eq
 *   'Binary 0x0FFF') (PidTagEntryId), then POST /users/{id}/translateExchangeIds entryId → restId
 *   (https://learn.microsoft.com/graph/api/user-translateexchangeids). The item GET goes through its folder and the
 *   port names only the item: folders of items listed or created here are remembered; otherwise the mailbox's
 *   folders are tried in turn.
 *   mailboxFolder → Outlook folder: the same with the folder's PidTagEntryId; well-known names need none.
 *   Outlook item → mailboxItem (after a create): the new item's PidTagEntryId ($expand on the Outlook resource), then
 *   the target folder's items created in that second, matched on their PidTagEntryId.
 *
 * Every call goes through the policy (mailbox key, so Outlook's per-mailbox limits are shared with the rest); creates
 * are `idempotent: false`. Graph's 403 names the application permission the refused step needs: these permissions
 * (User.Read.All, Mail.*, Calendars.*, Contacts.*) are needed only when these formats are used.
 */
import {
  AccessDenied, isGatewayError, ItemNotFound, NotSupported, OutcomeUnknown, UpstreamBadResponse, UpstreamRejected
} from '../../errors.js'
import { annotate, type UpstreamAnnotations } from '../../upstream/errors.js'
import { formatCapabilities } from '../mailbox-backend.js'
import type {
  Capability, CreatedItem, FolderRef, FormatCapabilities, ItemKind, ItemProperties, MailboxRef, MimeContent,
  MimeItem, PropertiesItem, ReadPropertiesOptions
} from '../mailbox-backend.js'
import { callFor, type GraphContext, type GraphMailbox } from './context.js'
import type { Subject } from './errors.js'
import { folderSubject, type Folders, type GraphPage } from './folders.js'
import { eventToICalendar, contactToVCard } from './ical.js'
import { fromPublicId, pathSegment, toPublicId, isUsableGraphId } from './ids.js'
import {
  attachmentOf, contactCreateBody, contactProperties, ENTRY_ID_ID, eventCreateBody, eventProperties, extendedExpand,
  extendedPropertiesOf, extendedPropertyId, extendedValue, messageCreateBody, messageProperties, refuseWhatGraphDrops,
  SENSITIVITY_ID
} from './outlook-json.js'

type Json = Record<string, unknown>

const TASKS = 'Microsoft Graph documents no path from a mailbox item to a task: Outlook tasks (outlookTask) are ' +
  'deprecated and return no data since August 2022, and Microsoft To Do tasks have ids of their own that no ' +
  'documented API links to mailbox items (docs/graph-formats.md)'
const MIME_MESSAGE_IMPORT = 'Graph creates a message from MIME only as a draft (POST /users/{id}/messages with ' +
  'base64 MIME: https://learn.microsoft.com/graph/api/user-post-messages), and the draft flag (PidTagMessageFlags) ' +
  'can neither be sent with MIME nor changed after the first save; import the json property set instead'
const MIME_EVENT_IMPORT = 'Graph creates events from JSON only: no iCalendar import is documented ' +
  '(https://learn.microsoft.com/graph/api/user-post-events); import the json property set instead'
const MIME_CONTACT_IMPORT = 'Graph creates contacts from JSON only: no vCard import is documented ' +
  '(https://learn.microsoft.com/graph/api/contactfolder-post-contacts); import the json property set instead'
/** Why no format works on an archive mailbox (mail-api-overview and the calendar and contacts overviews). */
export const GRAPH_ARCHIVE_FORMATS = 'the Outlook mail, calendar and contacts APIs of Microsoft Graph do not reach ' +
  'In-Place Archive mailboxes (https://learn.microsoft.com/graph/api/resources/mail-api-overview), and MIME and ' +
  'property sets exist only there; use the full-fidelity stream'

const yes: Capability = { supported: true }

/** What the Graph adapter can do with the formats, per kind and direction (docs/graph-formats.md §2). */
export const GRAPH_FORMATS: FormatCapabilities = formatCapabilities(TASKS, {
  mime: {
    export: { message: yes, appointment: yes, contact: yes },
    import: {
      message: { supported: false, reason: MIME_MESSAGE_IMPORT },
      appointment: { supported: false, reason: MIME_EVENT_IMPORT },
      contact: { supported: false, reason: MIME_CONTACT_IMPORT }
    }
  },
  json: {
    export: { message: yes, appointment: yes, contact: yes },
    import: { message: yes, appointment: yes, contact: yes }
  }
})

/**
 * The kind of a message class ([MS-OXCMSG] PidTagMessageClass): notes, meeting requests and reports are messages
 * (Graph serves them as message and eventMessage), appointments, contacts and tasks their own; anything else (notes,
 * journal entries, distribution lists) none.
 */
export function kindOfClass (itemClass: string): ItemKind | undefined {
  const c = itemClass.toLowerCase()
  if (/^(ipm\.note|ipm\.schedule\.meeting|report\.ipm\.note|ipm\.post)(\.|$)/.test(c)) return 'message'
  if (/^ipm\.appointment(\.|$)/.test(c)) return 'appointment'
  if (/^ipm\.contact(\.|$)/.test(c)) return 'contact'
  if (/^ipm\.task(\.|$)/.test(c)) return 'task'
  return undefined
}

/** Throws MBG_ERR_NOT_SUPPORTED (501) with the capability's reason when it is not supported. */
export function refuseFormat (capability: Capability, what: string): void {
  if (!capability.supported) throw new NotSupported(`${what}: ${capability.reason}`)
}

/** Throws MBG_ERR_NOT_SUPPORTED (501) for an archive mailbox: no format reaches one on Graph. */
export function refuseArchive (mailbox: MailboxRef, what: string): void {
  if (mailbox.kind === 'archive') throw new NotSupported(`${what}: ${GRAPH_ARCHIVE_FORMATS}`)
}

/** MailboxBackend.createItemFromMime on Graph: always MBG_ERR_NOT_SUPPORTED (GRAPH_FORMATS.mime.import), with why. */
export function mimeImportNotSupported (content: MimeContent): never {
  const kind: ItemKind = content.contentType === 'text/calendar'
    ? 'appointment'
    : content.contentType === 'text/vcard' ? 'contact' : 'message'
  refuseFormat(GRAPH_FORMATS.mime.import[kind], `MIME import of ${content.contentType}`)
  throw new NotSupported(`MIME import of ${content.contentType}: not documented on Graph`)
}

/** Graph's Binary values are standard base64; translateExchangeIds takes them URL-safe with the padding counted. */
export function toTranslatableEntryId (base64: string): string {
  const padding = /=*$/.exec(base64)?.[0].length ?? 0
  return `${base64.slice(0, base64.length - padding).replace(/\+/g, '-').replace(/\//g, '_')}${padding}`
}

/** The application permission each Outlook step needs (least privileged: docs/graph-formats.md §3). */
const ROLE = {
  translate: 'User.Read.All',
  message: { read: 'Mail.Read', write: 'Mail.ReadWrite' },
  appointment: { read: 'Calendars.Read', write: 'Calendars.ReadWrite' },
  contact: { read: 'Contacts.Read', write: 'Contacts.ReadWrite' }
} as const

const RESOURCE = { message: 'messages', appointment: 'events', contact: 'contacts' } as const

/** Outlook's own well-known mail folder names (https://learn.microsoft.com/graph/api/resources/mailfolder). */
const OUTLOOK_MAIL_FOLDERS = new Set(['inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'outbox', 'archive'])

const HINTS_MAX = 10_000

interface Located { seg: string, itemClass: string, entryId: string, changeKey?: string, subject?: string }

export class GraphFormats {
  /** `${mbx}|${graph item id}` → the folder (path segment) it was last seen in. */
  private readonly hints = new Map<string, string>()

  constructor (private readonly ctx: GraphContext, private readonly folders: Folders) {}

  /** Remembers where an item is (listings, creates), so reading it again needs no search. */
  remember (mailbox: GraphMailbox, graphItemId: string, seg: string): void {
    const key = `${mailbox.mbx}|${graphItemId}`
    this.hints.delete(key)
    this.hints.set(key, seg)
    if (this.hints.size > HINTS_MAX) this.hints.delete(this.hints.keys().next().value as string)
  }

  private users (ref: MailboxRef): string {
    return `${this.ctx.config.graphUrl}/v1.0/users/${encodeURIComponent(ref.address)}`
  }

  /** A Graph call through the policy, its 403 turned into the permission the step needs. */
  private async call<T> (mailbox: GraphMailbox, operation: string, idempotent: boolean, role: string,
    fn: () => Promise<T>, signal?: AbortSignal, cost?: { uploadBytes?: number }): Promise<T> {
    try {
      return await this.ctx.policy.run(callFor(this.ctx, mailbox, operation, idempotent, signal, cost), fn)
    } catch (err) {
      if (isGatewayError(err) && err.code === 'MBG_ERR_ACCESS_DENIED') {
        const upstream = err as UpstreamAnnotations
        throw annotate(new AccessDenied(`Graph refused ${operation} (HTTP 403${upstream.upstreamCode !== undefined
          ? ` ${upstream.upstreamCode}`
          : ''}): MIME and JSON on Graph mailboxes need the application permission ${role} (admin consent), ` +
          'and the mailbox must be within the app\'s application access policy'), {
          ...(upstream.upstreamCode !== undefined ? { upstreamCode: upstream.upstreamCode } : {}),
          ...(upstream.upstreamRequestId !== undefined ? { upstreamRequestId: upstream.upstreamRequestId } : {})
        })
      }
      throw err
    }
  }

  private async getJson<T> (mailbox: GraphMailbox, operation: string, role: string, url: string, subject: Subject,
    signal?: AbortSignal, headers?: Record<string, string>): Promise<T> {
    return await this.call(mailbox, operation, true, role, async () => {
      const { body } = await this.ctx.http.graphJson<T>({
        method: 'GET',
        url,
        subject,
        ...(signal !== undefined ? { signal } : {}),
        ...(headers !== undefined ? { headers } : {})
      })
      return body
    }, signal)
  }

  // ------------------------------------------------------------------------------------------------ the id bridge

  /** The mailboxItem in one folder: its class, change key, subject and PidTagEntryId. */
  private async readItem (mailbox: GraphMailbox, seg: string, graphId: string, publicId: string,
    signal?: AbortSignal): Promise<Located> {
    const expand = `singleValueExtendedProperties($filter=id eq '${ENTRY_ID_ID}' or id eq 'String 0x0037')`
    const url = `${mailbox.base}/folders/${pathSegment(seg)}/items/${pathSegment(graphId)}` +
      `?$select=${encodeURIComponent('id,type,changeKey')}&$expand=${encodeURIComponent(expand)}`
    const item = await this.getJson<Json>(mailbox, 'getItem', 'MailboxItem.Read.All', url,
      { kind: 'item', ref: publicId }, signal)
    const entryId = extendedValue(item.singleValueExtendedProperties, ENTRY_ID_ID)
    if (entryId === undefined || entryId === '') {
      throw new UpstreamBadResponse(`mailbox item ${publicId.slice(0, 100)} answered without PidTagEntryId`)
    }
    const subject = extendedValue(item.singleValueExtendedProperties, 'String 0x0037')
    return {
      seg,
      itemClass: typeof item.type === 'string' ? item.type : '',
      entryId,
      ...(typeof item.changeKey === 'string' ? { changeKey: item.changeKey } : {}),
      ...(subject !== undefined ? { subject } : {})
    }
  }

  /** Finds a mailboxItem: in the folder it was last seen in, else in each folder of the mailbox. */
  private async locate (mailbox: GraphMailbox, graphId: string, publicId: string,
    signal?: AbortSignal): Promise<Located> {
    const key = `${mailbox.mbx}|${graphId}`
    const missing = (err: unknown): boolean => isGatewayError(err) &&
      (err.code === 'MBG_ERR_ITEM_NOT_FOUND' || err.code === 'MBG_ERR_FOLDER_NOT_FOUND')
    const hint = this.hints.get(key)
    if (hint !== undefined) {
      try {
        return await this.readItem(mailbox, hint, graphId, publicId, signal)
      } catch (err) {
        if (!missing(err)) throw err
        this.hints.delete(key)
      }
    }
    let cursor: string | undefined
    do {
      const page = await this.folders.listFolders(mailbox, { limit: 200, ...(cursor !== undefined ? { cursor } : {}) },
        signal)
      for (let i = 0; i < page.values.length; i += 4) {
        const tried = await Promise.all(page.values.slice(i, i + 4).map(async (f) =>
          await this.readItem(mailbox, fromPublicId(f.id), graphId, publicId, signal).catch((err: unknown) => {
            if (missing(err)) return undefined
            throw err
          })))
        const found = tried.find((r) => r !== undefined)
        if (found !== undefined) {
          this.remember(mailbox, graphId, found.seg)
          return found
        }
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
    throw new ItemNotFound(publicId)
  }

  /** translateExchangeIds for one id of this mailbox (user-translateexchangeids). */
  private async translate (mailbox: GraphMailbox, ref: MailboxRef, id: string, source: string, target: string,
    what: string, signal?: AbortSignal): Promise<string> {
    const answer = await this.call(mailbox, 'translateExchangeIds', true, ROLE.translate, async () => {
      const { body } = await this.ctx.http.graphJson<{ value?: unknown }>({
        method: 'POST',
        url: `${this.users(ref)}/translateExchangeIds`,
        body: { inputIds: [id], sourceIdType: source, targetIdType: target },
        subject: { kind: 'mailbox', ref: ref.address },
        ...(signal !== undefined ? { signal } : {})
      })
      return body
    }, signal)
    const entry = (Array.isArray(answer.value) ? answer.value as Json[] : []).find((v) => v.sourceId === id)
    if (entry === undefined) throw new UpstreamBadResponse(`translateExchangeIds answered nothing for ${what}`)
    const error = entry.errorDetails as Json | null | undefined
    if (error !== null && error !== undefined) {
      const code = typeof error.code === 'string' ? error.code : 'error'
      throw annotate(new UpstreamRejected(`translateExchangeIds refused ${what}: ${code}`), { upstreamCode: code })
    }
    const out = entry.targetId
    if (typeof out !== 'string' || !isUsableGraphId(out)) {
      throw new UpstreamBadResponse(`translateExchangeIds answered ${what} without a usable id`)
    }
    return out
  }

  /** The Outlook resource path of a folder for creating an item of `kind` in it. */
  private async outlookFolder (mailbox: GraphMailbox, ref: MailboxRef, folder: FolderRef, kind: ItemKind,
    signal?: AbortSignal): Promise<string> {
    const base = this.users(ref)
    if ('wellKnown' in folder) {
      const name = folder.wellKnown
      if (kind === 'message' && OUTLOOK_MAIL_FOLDERS.has(name)) return `${base}/mailFolders/${name}/messages`
      if (kind === 'message' && name === 'root') return `${base}/mailFolders/msgfolderroot/messages`
      if (kind === 'appointment' && name === 'calendar') return `${base}/calendar/events`
      if (kind === 'contact' && name === 'contacts') return `${base}/contacts`
    }
    const graphFolderId = await this.folders.folderId(mailbox, folder)
    const label = 'id' in folder ? folder.id : folder.wellKnown
    const expand = `singleValueExtendedProperties($filter=id eq '${ENTRY_ID_ID}')`
    const url = `${mailbox.base}/folders/${pathSegment(graphFolderId)}` +
      `?$select=id,type&$expand=${encodeURIComponent(expand)}`
    const f = await this.getJson<Json>(mailbox, 'getFolder', 'MailboxFolder.Read.All', url, folderSubject(folder),
      signal)
    const entryId = extendedValue(f.singleValueExtendedProperties, ENTRY_ID_ID)
    if (entryId === undefined) throw new UpstreamBadResponse(`folder ${label} answered without PidTagEntryId`)
    const restId = pathSegment(await this.translate(mailbox, ref, toTranslatableEntryId(entryId), 'entryId', 'restId',
      `folder ${label}`, signal))
    switch (kind) {
      case 'message': return `${base}/mailFolders/${restId}/messages`
      case 'appointment': return `${base}/calendars/${restId}/events`
      default: return `${base}/contactFolders/${restId}/contacts`
    }
  }

  /** The mailboxItem an Outlook create made, found in the target folder by its PidTagEntryId. */
  private async mailboxItemOf (mailbox: GraphMailbox, seg: string, entryId: string, created: string,
    signal?: AbortSignal): Promise<{ id: string, changeKey?: string }> {
    const at = Date.parse(created)
    const from = new Date(Math.floor(at / 1000) * 1000 - 1000).toISOString().replace(/\.000Z$/, 'Z')
    const to = new Date(Math.floor(at / 1000) * 1000 + 2000).toISOString().replace(/\.000Z$/, 'Z')
    const expand = `singleValueExtendedProperties($filter=id eq '${ENTRY_ID_ID}')`
    let url: string | undefined = `${mailbox.base}/folders/${pathSegment(seg)}/items?$top=100` +
      `&$filter=${encodeURIComponent(`createdDateTime ge ${from} and createdDateTime lt ${to}`)}` +
      `&$select=${encodeURIComponent('id,changeKey,createdDateTime')}&$expand=${encodeURIComponent(expand)}`
    for (let pages = 0; url !== undefined && pages < 20; pages++) {
      const page: GraphPage<Json> = await this.getJson<GraphPage<Json>>(mailbox, 'listItems', 'MailboxItem.Read.All',
        url, { kind: 'folder', ref: seg, from: 'gateway' }, signal)
      for (const item of page.value ?? []) {
        if (extendedValue(item.singleValueExtendedProperties, ENTRY_ID_ID) === entryId && typeof item.id === 'string' &&
          isUsableGraphId(item.id)) {
          return { id: item.id, ...(typeof item.changeKey === 'string' ? { changeKey: item.changeKey } : {}) }
        }
      }
      const next = page['@odata.nextLink']
      url = next !== undefined && this.ctx.http.isGraphUrl(new URL(next)) ? next : undefined
    }
    throw new UpstreamBadResponse('Graph lists no mailbox item with the new item\'s entry id in the target folder')
  }

  /** The mailbox item an Outlook create answered with `created`: its entry id, then the folder's item with it. */
  private async nameCreated (mailbox: GraphMailbox, ref: MailboxRef, kind: ItemKind, seg: string, created: Json,
    signal?: AbortSignal): Promise<{ id: string, changeKey?: string }> {
    const outlookId = created.id
    const createdAt = created.createdDateTime
    if (typeof outlookId !== 'string' || !isUsableGraphId(outlookId) || typeof createdAt !== 'string' ||
      Number.isNaN(Date.parse(createdAt))) {
      throw new UpstreamBadResponse('Graph answered the create without the new item\'s id and creation time')
    }
    const resource = RESOURCE[kind as keyof typeof RESOURCE]
    const expand = `singleValueExtendedProperties($filter=id eq '${ENTRY_ID_ID}')`
    const read = await this.getJson<Json>(mailbox, `get${kind}`, ROLE[kind as keyof typeof RESOURCE].read,
      `${this.users(ref)}/${resource}/${pathSegment(outlookId)}?$select=id&$expand=${encodeURIComponent(expand)}`,
      { kind: 'item', ref: outlookId, from: 'gateway' }, signal)
    const entryId = extendedValue(read.singleValueExtendedProperties, ENTRY_ID_ID)
    if (entryId === undefined) throw new UpstreamBadResponse('Graph gave no entry id for the new item')
    return await this.mailboxItemOf(mailbox, seg, entryId, createdAt, signal)
  }

  // ------------------------------------------------------------------------------------------------ operations

  /** MailboxBackend.getItemMime for a Graph mailbox (docs/graph-formats.md §2). */
  async getItemMime (mailbox: GraphMailbox, ref: MailboxRef, itemId: string, signal?: AbortSignal): Promise<MimeItem> {
    const graphId = fromPublicId(itemId)
    const located = await this.locate(mailbox, graphId, itemId, signal)
    const kind = this.kindOf(located, itemId)
    refuseFormat(GRAPH_FORMATS.mime.export[kind], `MIME export of ${kind} ${itemId}`)
    const restId = await this.translate(mailbox, ref, toTranslatableEntryId(located.entryId), 'entryId', 'restId',
      `item ${itemId}`, signal)
    const url = `${this.users(ref)}/${RESOURCE[kind as keyof typeof RESOURCE]}/${pathSegment(restId)}`
    const subject: Subject = { kind: 'item', ref: itemId, from: 'gateway' }
    const base = { itemId, kind, ...(located.subject !== undefined ? { subject: located.subject } : {}) }
    if (kind === 'message') {
      const data = await this.call(mailbox, 'getMessageMime', true, ROLE.message.read, async () => {
        const res = await this.ctx.http.graph({
          method: 'GET',
          url: `${url}/$value`,
          subject,
          itemData: true,
          headers: { accept: 'message/rfc822, text/plain, */*' },
          ...(signal !== undefined ? { signal } : {})
        })
        return res.bytes ?? Buffer.from(res.text, 'utf8')
      }, signal)
      return { ...base, contentType: 'message/rfc822', data }
    }
    const prefer = { prefer: 'outlook.timezone="UTC", outlook.body-content-type="text"' }
    if (kind === 'appointment') {
      const event = await this.getJson<Json>(mailbox, 'getEvent', ROLE.appointment.read, url, subject, signal, prefer)
      return { ...base, contentType: 'text/calendar', data: eventToICalendar(event) }
    }
    const contact = await this.getJson<Json>(mailbox, 'getContact', ROLE.contact.read, url, subject, signal)
    return { ...base, contentType: 'text/vcard', data: contactToVCard(contact) }
  }

  private kindOf (located: Located, itemId: string): ItemKind {
    const kind = kindOfClass(located.itemClass)
    if (kind === undefined) {
      throw new NotSupported(`item ${itemId} is of class ${located.itemClass || '(none)'}: not a message, ` +
        'appointment, contact or task, the kinds MIME and property sets know')
    }
    return kind
  }

  /** MailboxBackend.getItemProperties for a Graph mailbox. */
  async getItemProperties (mailbox: GraphMailbox, ref: MailboxRef, itemId: string, options: ReadPropertiesOptions,
    signal?: AbortSignal): Promise<PropertiesItem> {
    const requested = options.extendedProperties ?? []
    // Refuse a malformed request before anything is sent.
    const ids = requested.map(extendedPropertyId)
    const graphId = fromPublicId(itemId)
    const located = await this.locate(mailbox, graphId, itemId, signal)
    const kind = this.kindOf(located, itemId)
    refuseFormat(GRAPH_FORMATS.json.export[kind], `property-set export of ${kind} ${itemId}`)
    const restId = await this.translate(mailbox, ref, toTranslatableEntryId(located.entryId), 'entryId', 'restId',
      `item ${itemId}`, signal)
    const resource = RESOURCE[kind as keyof typeof RESOURCE]
    const url = `${this.users(ref)}/${resource}/${pathSegment(restId)}`
    const expand = extendedExpand(kind === 'message' ? [SENSITIVITY_ID, ...ids] : ids)
    const query = expand !== undefined ? `?$expand=${encodeURIComponent(expand)}` : ''
    const subject: Subject = { kind: 'item', ref: itemId, from: 'gateway' }
    const role = ROLE[kind as keyof typeof RESOURCE].read
    const headers = kind === 'appointment' ? { prefer: 'outlook.timezone="UTC"' } : undefined
    const json = await this.getJson<Json>(mailbox, `get${kind}`, role, `${url}${query}`, subject, signal, headers)
    const item = kind === 'message'
      ? messageProperties(json, located.itemClass)
      : kind === 'appointment'
        ? eventProperties(json, located.itemClass)
        : contactProperties(json, located.itemClass)
    if (kind !== 'contact' && json.hasAttachments === true) {
      const select = options.attachmentContent === true
        ? ''
        : `?$select=${encodeURIComponent('id,name,contentType,size,isInline')}`
      const page = await this.getJson<GraphPage<Json>>(mailbox, 'listAttachments', role,
        `${url}/attachments${select}`, subject, signal)
      const attachments = (page.value ?? []).map(attachmentOf).filter((a) => a !== undefined)
      item.attachments = options.attachmentContent === true
        ? attachments
        : attachments.map(({ contentBytes: _c, ...rest }) => rest)
    }
    if (requested.length > 0) {
      item.extendedProperties = extendedPropertiesOf(requested, json.singleValueExtendedProperties)
    }
    return { itemId, ...(located.changeKey !== undefined ? { changeKey: located.changeKey } : {}), item }
  }

  /** MailboxBackend.createItemFromProperties for a Graph mailbox: the Outlook create, then the bridge back. */
  async createItemFromProperties (mailbox: GraphMailbox, ref: MailboxRef, folder: FolderRef, item: ItemProperties,
    signal?: AbortSignal): Promise<CreatedItem> {
    const kind = item.kind
    refuseFormat(GRAPH_FORMATS.json.import[kind], `property-set import of a ${kind}`)
    // Everything the caller sent is checked before the first call.
    refuseWhatGraphDrops(item)
    const body = kind === 'message'
      ? messageCreateBody(item)
      : kind === 'appointment' ? eventCreateBody(item) : contactCreateBody(item)
    const roles = ROLE[kind as keyof typeof RESOURCE]
    const target = await this.outlookFolder(mailbox, ref, folder, kind, signal)
    const seg = await this.folders.segment(mailbox, folder)
    const payload = JSON.stringify(body)
    const created = await this.call(mailbox, `create${kind}`, false, roles.write, async () => {
      const { body: answer } = await this.ctx.http.graphJson<Json>({
        method: 'POST',
        url: target,
        body,
        subject: folderSubject(folder),
        ...(signal !== undefined ? { signal } : {})
      })
      return answer
    }, signal, { uploadBytes: Buffer.byteLength(payload) })
    // The item exists from here on: a failure to name it must not read as "not created" (a retry would duplicate it).
    let found: { id: string, changeKey?: string }
    try {
      found = await this.nameCreated(mailbox, ref, kind, seg, created, signal)
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      throw new OutcomeUnknown(`the ${kind} was created, but its mailbox item id could not be found (${why}); ` +
        'look for it in the target folder before importing it again')
    }
    this.remember(mailbox, found.id, seg)
    return { itemId: toPublicId(found.id), ...(found.changeKey !== undefined ? { changeKey: found.changeKey } : {}) }
  }
}
