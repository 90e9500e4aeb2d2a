/**
 * Deterministic demo tenant: the same mailboxes, folders, ids and item bytes on every run.
 *
 *   alice@  primary + archive                 (served as EWS mailboxes in demo mode)
 *   bob@    primary
 *   carol@  primary + archive                 (served as Graph mailboxes in demo mode)
 *   dave@   primary + auto-expanded archive   (one archive folder lives in an auxiliary archive)
 *
 * Item streams are generated lazily (and then kept), so seeding is cheap even
 * though a few items are several megabytes.
 *
 * Every item carries the content of its kind as MAPI properties (content.ts): messages with text and HTML
 * bodies, From/Sender, recipients, sent/received times, Message-ID, importance, some categories and flags, about a
 * quarter with a file attachment, and in each primary inbox one message that also shows an inline PNG (by content
 * id); Drafts hold unsent messages; calendars hold meetings (every third item: attendees with responses, organized by
 * the owner), appointments without attendees and all-day events; contacts have names, company, job title, e-mail
 * addresses, phones and addresses; tasks have status, percent complete and dates. Content fits the item sizes the
 * seed always had (small items get shorter content), so ids, counts, sizes and read states are as before.
 */
import { createHash } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'
import { contentKind, writeItemStream, type ItemContent, type MailAddress } from './content.js'
import { toFileTime } from './fts.js'
import { MailboxStore, SEARCH_KEY_BYTES, type StoreFolder, type StoreMailbox } from './store.js'

export const DEMO_TENANT_ID = 'a7809c93-5e0b-4f5c-9d1e-6c2f8d0e4b11'
export const DEMO_DOMAIN = 'contoso.example'

export const DEMO_MAILBOXES = {
  alice: {
    guid: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e01',
    archive: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e02',
    smtp: `alice@${DEMO_DOMAIN}`,
    name: 'Alice Archer'
  },
  bob: { guid: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e11', smtp: `bob@${DEMO_DOMAIN}`, name: 'Bob Baker' },
  carol: {
    guid: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e21',
    archive: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e22',
    smtp: `carol@${DEMO_DOMAIN}`,
    name: 'Carol Chen'
  },
  dave: {
    guid: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e31',
    archive: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e32',
    aux: 'e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e33',
    smtp: `dave@${DEMO_DOMAIN}`,
    name: 'Dave Diaz'
  }
} as const

/** mulberry32: small, fast, deterministic. */
export function prng (seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomBytes (seed: string, length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  const rnd = prng(seed)
  let i = 0
  for (; i + 4 <= length; i += 4) out.writeUInt32LE((rnd() * 4294967296) >>> 0, i)
  for (; i < length; i++) out[i] = (rnd() * 256) | 0
  return out
}

const WORDS = ('quarterly report budget review meeting notes project alpha beta launch plan invoice receipt travel ' +
  'contract renewal roadmap status update draft design proposal customer feedback release schedule offsite agenda ' +
  'hiring onboarding security audit migration backup archive follow-up action items summary').split(' ')

function words (rnd: () => number, n: number): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rnd() * WORDS.length)])
  return out.join(' ')
}

const FIRST = ['Ann', 'Ben', 'Cleo', 'Dan', 'Eve', 'Finn', 'Gus', 'Hana', 'Ivan', 'Jo', 'Kai', 'Lena']
const LAST = ['Ames', 'Brook', 'Cole', 'Dunn', 'Ellis', 'Frost', 'Gray', 'Hale', 'Ives', 'Jones']

/** Who a seeded item belongs to: the mailbox owner's name and address, and the folder it is seeded in. */
export interface SeedOwner {
  name: string
  smtp: string
  /** Distinguished folder name (inbox, drafts, sentitems, …) or the folder's display name. */
  folder: string
  /** Put an inline image (and an HTML body showing it) into this message, with its file attachment. */
  inlineImage?: boolean
}

export interface SeedItemSpec {
  key: string
  itemClass: string
  subject: string
  created: Date
  modified: Date
  /** Target stream size in bytes (met exactly when there is an attachment, approximately otherwise). */
  size: number
  attachment: boolean
  /** Read state written into PidTagMessageFlags (default: read). */
  isRead?: boolean
  /**
   * With an owner the item gets the content of its kind (seedContent); without one, a plain message-like
   * stream (class, subject, dates, a sender name, one recipient for IPM.Note, a text body).
   */
  owner?: SeedOwner
}

/** The deterministic PidTagSearchKey of a seeded item: 16 bytes drawn from its spec key. */
export function seedSearchKey (spec: SeedItemSpec): Buffer {
  return createHash('sha256').update(`${spec.key}/searchkey`).digest().subarray(0, SEARCH_KEY_BYTES)
}

const COMPANIES = ['Fabrikam', 'Northwind Traders', 'Litware', 'Tailspin Toys', 'Adventure Works', 'Wingtip Toys']
const TITLES = ['Account Manager', 'Engineer', 'Designer', 'Buyer', 'Project Lead', 'Controller']
const DEPARTMENTS = ['Sales', 'Engineering', 'Purchasing', 'Finance', 'Operations']
const CITIES: Array<[string, string, string, string]> = [
  ['Redmond', 'WA', '98052', 'United States'], ['Berlin', 'BE', '10115', 'Germany'],
  ['Lyon', 'ARA', '69002', 'France'], ['Toronto', 'ON', 'M5H 2N2', 'Canada']
]
const ROOMS = ['Room 1.12', 'Room 2.04 (Harbour)', 'Teams meeting', 'Cafeteria', 'Building 4, Lobby']
const TIME_ZONES = ['W. Europe Standard Time', 'Pacific Standard Time', 'UTC']
const TASK_STATES = ['notStarted', 'inProgress', 'completed', 'waitingOnOthers', 'deferred'] as const
const TASK_PERCENT = [0, 50, 100, 25, 0]

function pick<T> (rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]
}

function person (rnd: () => number, domain: string): MailAddress {
  const first = pick(rnd, FIRST)
  const last = pick(rnd, LAST)
  return { name: `${first} ${last}`, address: `${first}.${last}@${domain}`.toLowerCase() }
}

/** A colleague: one of the demo mailboxes other than the owner. */
function colleague (rnd: () => number, ownerSmtp: string): MailAddress {
  const others = Object.values(DEMO_MAILBOXES).filter((m) => m.smtp !== ownerSmtp)
  const m = pick(rnd, others)
  return { name: m.name, address: m.smtp }
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Exactly `n` characters of words (for padding a body to a size). */
function filler (rnd: () => number, n: number): string {
  let out = ''
  while (out.length < n) out += `${pick(rnd, WORDS)} `
  return out.slice(0, n)
}

/** A small real PNG (16×16, a colour gradient), built with node:zlib: the seed's inline image. */
export const SEED_PNG: Buffer = (() => {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.write(type, 4, 'latin1')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0)
    return Buffer.concat([head, data, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(16, 0)
  ihdr.writeUInt32BE(16, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // colour type: truecolour
  const raw = Buffer.alloc(16 * (1 + 16 * 3))
  for (let y = 0; y < 16; y++) {
    const row = y * (1 + 16 * 3)
    for (let x = 0; x < 16; x++) raw.set([x * 16, y * 16, 160], row + 1 + x * 3)
  }
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))
  ])
})()

/** The content id of the seed's inline image (as in the HTML body's `cid:` reference). */
function inlineCid (spec: SeedItemSpec): string {
  return `image001.png@${createHash('sha256').update(spec.key).digest('hex').slice(0, 8)}.${DEMO_DOMAIN}`
}

/**
 * How much a small item may carry: 0 everything, 1 a short text body and no HTML, 2 also no cc, Message-ID or
 * categories, 3 only the essentials: no sender apart from the From address (seeded items keep their sizes: richer
 * content must fit in them).
 */
type Richness = 0 | 1 | 2 | 3

/** The deterministic content of a seeded item (without its padding and the file attachment's bytes). */
function seedContent (spec: SeedItemSpec, richness: Richness, attachmentBytes: Buffer | null): ItemContent {
  const rnd = prng(`${spec.key}/text`)
  const kind = contentKind(spec.itemClass)
  const owner = spec.owner
  const text = words(rnd, richness === 0 ? 24 : richness === 1 ? 10 : 4)
  const content: ItemContent = {
    itemClass: spec.itemClass,
    subject: spec.subject,
    importance: 'normal',
    created: spec.created,
    modified: spec.modified,
    isRead: spec.isRead ?? true,
    searchKey: seedSearchKey(spec),
    recipients: [],
    attachments: [],
    extended: [],
    body: { text: `${text}\r\n` }
  }
  if (owner === undefined) {
    // Plain: as the seed always made them (tests build such streams for imports).
    content.sender = { name: `${pick(rnd, FIRST)} ${pick(rnd, LAST)}`, address: '' }
    content.received = spec.created
    if (spec.itemClass === 'IPM.Note') {
      content.recipients = [{ type: 'to', name: 'Team', address: `team@${DEMO_DOMAIN}` }]
    }
  } else if (kind === 'message') {
    const me = { name: owner.name, address: owner.smtp }
    const external = rnd() < 0.5
    const other = external
      ? person(rnd, pick(rnd, ['fabrikam.example', 'northwind.example']))
      : colleague(rnd, owner.smtp)
    const outgoing = owner.folder === 'sentitems' || owner.folder === 'drafts' || owner.folder === 'outbox'
    content.from = outgoing ? me : other
    if (richness < 3) content.sender = content.from
    content.recipients = [{ type: 'to', ...(outgoing ? other : me) }]
    const r = rnd()
    if (richness < 2 && r < 0.35) content.recipients.push({ type: 'cc', ...colleague(rnd, owner.smtp) })
    if (owner.folder === 'drafts') {
      content.isDraft = true
    } else {
      content.isDraft = false
      content.sent = new Date(spec.created.getTime() - 120_000)
      content.received = spec.created
      if (richness < 2) {
        const host = (content.from.address.split('@')[1] ?? DEMO_DOMAIN)
        content.internetMessageId = `<${createHash('sha256').update(spec.key).digest('hex').slice(0, 20)}@${host}>`
      }
    }
    content.importance = r > 0.9 ? 'high' : r > 0.8 ? 'low' : 'normal'
    if (r > 0.95) content.sensitivity = 'confidential'
    if (richness < 2 && r < 0.15) content.categories = [pick(rnd, ['Blue category', 'Projects', 'Follow up'])]
    if (r > 0.6 && r < 0.7) {
      content.flag = { status: 'flagged', start: spec.created, due: new Date(spec.created.getTime() + 3 * 86_400_000) }
    }
    if (richness === 0) {
      const img = owner.inlineImage === true
        ? `<p><img src="cid:${inlineCid(spec)}" alt="chart" width="16" height="16"></p>`
        : ''
      content.body = {
        text: `${text}\r\n`,
        html: `<html><body><p>${escapeHtml(text)}</p>${img}</body></html>`
      }
    }
  } else if (kind === 'appointment') {
    const i = Number(/#(\d+)$/.exec(spec.key)?.[1] ?? 0)
    const me = { name: owner.name, address: owner.smtp }
    const allDay = i % 4 === 3
    const day = Date.UTC(spec.created.getUTCFullYear(), spec.created.getUTCMonth(), spec.created.getUTCDate())
    const start = allDay ? new Date(day + 86_400_000) : new Date(day + 86_400_000 + (8 + (i % 8)) * 3_600_000)
    const end = new Date(start.getTime() + (allDay ? 86_400_000 : (1 + (i % 3)) * 1_800_000))
    const goid = Buffer.concat([
      Buffer.from('040000008200E00074C5B7101A82E008', 'hex'), Buffer.alloc(4),
      Buffer.alloc(8), Buffer.alloc(8), Buffer.from([16, 0, 0, 0]),
      createHash('sha256').update(`${spec.key}/uid`).digest().subarray(0, 16)
    ])
    goid.writeBigUInt64LE(toFileTime(spec.created), 20)
    content.from = me
    if (richness < 3) content.sender = me
    content.isDraft = false
    content.appointment = {
      start,
      end,
      isAllDay: allDay,
      ...(richness < 3 ? { location: pick(rnd, ROOMS) } : {}),
      busyStatus: allDay ? 'free' : 'busy',
      organizer: me,
      attendees: [],
      uid: goid.toString('hex').toUpperCase(),
      ...(richness < 2 ? { timeZone: pick(rnd, TIME_ZONES) } : {})
    }
    if (i % 3 === 0) {
      // A meeting: the owner organizes, colleagues and an external guest attend, a room is booked.
      const guest = person(rnd, 'fabrikam.example')
      content.appointment.attendees = [
        { ...colleague(rnd, owner.smtp), type: 'required', response: 'accepted' },
        ...(richness < 3 ? [{ ...guest, type: 'optional' as const, response: 'tentativelyAccepted' as const }] : [])
      ]
      content.appointment.isMeeting = true
    }
    if (i % 5 === 2) content.sensitivity = 'private'
  } else if (kind === 'contact') {
    const first = pick(rnd, FIRST)
    const last = pick(rnd, LAST)
    const company = pick(rnd, COMPANIES)
    const domain = `${company.split(' ')[0].toLowerCase()}.example`
    const [city, state, postalCode, countryOrRegion] = pick(rnd, CITIES)
    const home = 1 + Math.floor(rnd() * 90)
    const phone = (): string => `+1 425 555 0${String(Math.floor(rnd() * 200)).padStart(3, '0')}`
    content.contact = {
      displayName: `${first} ${last}`,
      givenName: first,
      surname: last,
      fileAs: `${last}, ${first}`,
      companyName: company,
      jobTitle: pick(rnd, TITLES),
      ...(richness < 2 ? { department: pick(rnd, DEPARTMENTS) } : {}),
      emailAddresses: [
        { name: `${first} ${last}`, address: `${first}.${last}@${domain}`.toLowerCase() },
        ...(richness < 2
          ? [{ name: `${first} ${last} (home)`, address: `${first}${last[0]}@outlook.example`.toLowerCase() }]
          : [])
      ],
      businessPhones: [phone()],
      homePhones: richness < 2 ? [phone()] : [],
      mobilePhone: phone(),
      businessAddress: {
        street: `${1 + Math.floor(rnd() * 200)} Main Street`, city, state, postalCode, countryOrRegion
      },
      ...(richness < 1 ? { homeAddress: { street: `${home} Elm Road`, city, postalCode, countryOrRegion } } : {}),
      ...(richness < 2
        ? { birthday: `19${60 + Math.floor(rnd() * 40)}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}` }
        : {})
    }
  } else {
    const i = Number(/#(\d+)$/.exec(spec.key)?.[1] ?? 0)
    const status = TASK_STATES[i % TASK_STATES.length]
    content.task = {
      status,
      percentComplete: TASK_PERCENT[i % TASK_PERCENT.length],
      start: spec.created,
      due: new Date(spec.created.getTime() + 7 * 86_400_000),
      ...(status === 'completed' ? { completed: spec.modified } : {})
    }
  }
  if (spec.attachment) {
    if (owner?.inlineImage === true && richness === 0) {
      content.attachments.push({
        name: 'image001.png', contentType: 'image/png', data: SEED_PNG, contentId: inlineCid(spec), isInline: true
      })
    }
    content.attachments.push({
      name: `${spec.subject.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.bin`,
      contentType: 'application/octet-stream',
      data: attachmentBytes ?? Buffer.alloc(0),
      ...(richness < 3 ? { lastModified: spec.created } : {})
    })
  }
  return content
}

/** The item's content padded to `target` bytes of stream, or undefined when it does not fit at this richness. */
function fitted (spec: SeedItemSpec, richness: Richness, target: number): ItemContent | undefined {
  const content = seedContent(spec, richness, null)
  const base = writeItemStream(content).length
  if (spec.attachment) {
    if (base > target - 64) return undefined
    content.attachments[content.attachments.length - 1].data = randomBytes(`${spec.key}/attach`, target - base)
    return content
  }
  let gap = target - base
  if (gap < 0) return undefined
  const body = content.body ?? {}
  if (gap % 2 === 1) {
    // Text is UTF-16 (2 bytes a character); an odd gap takes one byte of HTML (UTF-8), or is left over.
    if (body.html !== undefined) body.html += '\n'
    gap -= 1
  }
  body.text = `${body.text ?? ''}${filler(prng(`${spec.key}/pad`), gap / 2)}`
  content.body = body
  return content
}

/** The content of a seeded item at the richest level that fits its size (the plain content when none does). */
function seededContent (spec: SeedItemSpec, target: number): ItemContent {
  for (const richness of [0, 1, 2, 3] as const) {
    const content = fitted(spec, richness, target)
    if (content !== undefined) return content
  }
  return seedContent(spec, 3, spec.attachment ? randomBytes(`${spec.key}/attach`, 64) : null)
}

/**
 * Returns the exact size, the search key and a lazy generator for a seeded item's stream. With an attachment the
 * stream has exactly `spec.size` bytes; without, `spec.size` rounded down to even (as the seed has always made
 * them) — in both cases when the content fits, otherwise its natural size.
 */
export function seedItemStream (spec: SeedItemSpec): { size: number, searchKey: Buffer, blob: () => Buffer } {
  const searchKey = seedSearchKey(spec)
  if (spec.attachment) {
    const base = writeItemStream(seedContent(spec, 0, null)).length
    if (base <= spec.size - 64) {
      // The large attachment's bytes are made only when the stream is asked for.
      let cached: Buffer | undefined
      return { size: spec.size, searchKey, blob: () => (cached ??= writeItemStream(seededContent(spec, spec.size))) }
    }
    const blob = writeItemStream(seededContent(spec, spec.size))
    return { size: blob.length, searchKey, blob: () => blob }
  }
  const blob = writeItemStream(seededContent(spec, spec.size - (spec.size % 2)))
  return { size: blob.length, searchKey, blob: () => blob }
}

interface FolderPlan {
  name: string
  folderClass?: string
  distinguished?: string
  items?: number
  /** Item class of the folder's items (defaults from the folder class). */
  itemClass?: string
  children?: FolderPlan[]
  /** Folder's content lives in the mailbox's first auxiliary archive. */
  aux?: boolean
}

const ITEM_CLASS_FOR: Record<string, string> = {
  'IPF.Note': 'IPM.Note',
  'IPF.Appointment': 'IPM.Appointment',
  'IPF.Contact': 'IPM.Contact',
  'IPF.Task': 'IPM.Task',
  'IPF.StickyNote': 'IPM.StickyNote',
  'IPF.Journal': 'IPM.Activity'
}

function primaryPlan (counts: { inbox: number, sent: number, calendar: number, contacts: number, tasks: number },
  extra: FolderPlan[]): FolderPlan[] {
  return [
    { name: 'Inbox', distinguished: 'inbox', items: counts.inbox, children: extra },
    { name: 'Drafts', distinguished: 'drafts', items: 2 },
    { name: 'Sent Items', distinguished: 'sentitems', items: counts.sent },
    { name: 'Deleted Items', distinguished: 'deleteditems', items: 3 },
    { name: 'Outbox', distinguished: 'outbox' },
    { name: 'Junk Email', distinguished: 'junkemail', items: 1 },
    { name: 'Archive', distinguished: 'archive' },
    { name: 'Calendar', folderClass: 'IPF.Appointment', distinguished: 'calendar', items: counts.calendar },
    { name: 'Contacts', folderClass: 'IPF.Contact', distinguished: 'contacts', items: counts.contacts },
    { name: 'Tasks', folderClass: 'IPF.Task', distinguished: 'tasks', items: counts.tasks },
    { name: 'Notes', folderClass: 'IPF.StickyNote', distinguished: 'notes', items: 2 },
    { name: 'Journal', folderClass: 'IPF.Journal', distinguished: 'journal' }
  ]
}

function archivePlan (extra: FolderPlan[]): FolderPlan[] {
  return [
    { name: 'Inbox', distinguished: 'archiveinbox', items: 6 },
    { name: 'Deleted Items', distinguished: 'archivedeleteditems', items: 2 },
    ...extra
  ]
}

/** Sizes: mostly 1–60 KB, log-uniform; `big` pins chosen items to large sizes. */
function sizeFor (rnd: () => number, index: number, big: Record<number, number>): number {
  if (big[index] !== undefined) return big[index]
  return Math.round(1024 * Math.exp(rnd() * Math.log(60)))
}

interface SeedContext {
  store: MailboxStore
  base: Date
  counter: number
}

function populate (ctx: SeedContext, mailbox: StoreMailbox, parent: StoreFolder, plans: FolderPlan[],
  bigItems: Record<string, Record<number, number>>): void {
  for (const plan of plans) {
    const folderClass = plan.folderClass ?? 'IPF.Note'
    const auxGuid = plan.aux === true ? mailbox.auxGuids[0] : undefined
    const folder = ctx.store.createFolder(parent.id, plan.name, folderClass, {
      ...(plan.distinguished !== undefined ? { distinguishedName: plan.distinguished } : {}),
      ...(auxGuid !== undefined ? { contentMailboxGuid: auxGuid } : {})
    })
    const path = `${mailbox.smtp}/${mailbox.kind}/${plan.name}/${parent.displayName}`
    const rnd = prng(path)
    const itemClass = plan.itemClass ?? ITEM_CLASS_FOR[folderClass] ?? 'IPM.Note'
    const primary = mailbox.kind === 'primary' ? mailbox : ctx.store.requireMailbox(mailbox.primaryGuid ?? mailbox.guid)
    // The first file-attachment message of 8 KB or more in a primary inbox also shows an inline image.
    let inlinePending = plan.distinguished === 'inbox' && mailbox.kind === 'primary'
    for (let i = 0; i < (plan.items ?? 0); i++) {
      const n = ctx.counter++
      const created = new Date(ctx.base.getTime() - n * 3_600_000 * 7)
      // Drawn in this order since the seed began (subject, modified, size, attachment, read state): ids, sizes and
      // read states stay as they were.
      const subject = `${itemClass === 'IPM.Note' ? '' : `${itemClass.slice(4)}: `}${words(rnd, 3)} #${n}`
      const modified = new Date(created.getTime() + 60_000 * Math.floor(rnd() * 90))
      const size = sizeFor(rnd, i, bigItems[plan.name] ?? {})
      const big = bigItems[plan.name]?.[i] !== undefined
      const attachment = big || (itemClass === 'IPM.Note' && rnd() < 0.25)
      const isRead = rnd() < 0.7
      const inlineImage = inlinePending && attachment && !big && size >= 8192
      if (inlineImage) inlinePending = false
      const spec: SeedItemSpec = {
        key: `${path}#${i}`,
        itemClass,
        subject,
        created,
        modified,
        size,
        attachment,
        isRead,
        owner: {
          name: primary.displayName,
          smtp: primary.smtp,
          folder: plan.distinguished ?? plan.name,
          ...(inlineImage ? { inlineImage } : {})
        }
      }
      const { size: bytes, searchKey, blob } = seedItemStream(spec)
      const data = { size: bytes, itemClass, subject: spec.subject, hasAttachments: spec.attachment, searchKey, blob }
      ctx.store.createItem(folder.id, data, { created: spec.created, modified: spec.modified, isRead })
    }
    if (plan.distinguished === 'inbox') {
      // Folder-associated items (view settings, rules) exist in real inboxes too.
      for (const cls of ['IPM.Configuration.MRM', 'IPM.Rule.Version2.Message']) {
        const spec: SeedItemSpec = {
          key: `${path}#fai#${cls}`,
          itemClass: cls,
          subject: '',
          created: ctx.base,
          modified: ctx.base,
          size: 1024,
          attachment: false
        }
        const { size, searchKey, blob } = seedItemStream(spec)
        ctx.store.createItem(
          folder.id,
          { size, itemClass: cls, hasAttachments: false, searchKey, blob },
          { associated: true, created: ctx.base, modified: ctx.base }
        )
      }
    }
    if (plan.children !== undefined) populate(ctx, mailbox, folder, plan.children, bigItems)
  }
}

/**
 * More folder-associated items (FAI), made after everything else so the ids of the other seeded objects stay as they
 * were: a named view in each primary inbox (Outlook keeps views as `IPM.Microsoft.FolderDesign.NamedView` FAI
 * messages; Microsoft's page "Manage persistent application settings by using EWS in Exchange" shows one in a
 * FindItem Traversal="Associated" answer) and calendar settings in each primary calendar (`IPM.Configuration.*`
 * configuration messages, [MS-OXOCFG]; Outlook's StorageItem docs: the working hours are a hidden message of class
 * `IPM.Configuration.WorkHours` in the Calendar folder). With the retention (MRM) configuration and the rule
 * (`IPM.Rule.Version2.Message`, [MS-OXORULE]) that `populate` puts in every inbox, each primary has FAI in two
 * folders. Normal item counts do not change.
 */
function addAssociatedItems (ctx: SeedContext, mailbox: StoreMailbox): void {
  const plan: Array<[string, string[]]> = [
    ['inbox', ['IPM.Microsoft.FolderDesign.NamedView']],
    ['calendar', ['IPM.Configuration.Calendar', 'IPM.Configuration.WorkHours']]
  ]
  let n = 0
  for (const [name, classes] of plan) {
    const folder = ctx.store.wellKnownFolder(mailbox.guid, name)
    for (const cls of classes) {
      // A minute apart, before the inbox's other FAI: distinct creation times, as a real mailbox has.
      const created = new Date(ctx.base.getTime() - 60_000 * ++n)
      const spec: SeedItemSpec = {
        key: `${mailbox.smtp}/${mailbox.kind}/${name}#fai#${cls}`,
        itemClass: cls,
        subject: '',
        created,
        modified: created,
        size: 1024,
        attachment: false
      }
      const { size, searchKey, blob } = seedItemStream(spec)
      ctx.store.createItem(folder.id, { size, itemClass: cls, hasAttachments: false, searchKey, blob },
        { associated: true, created, modified: created })
    }
  }
}

function addNonIpmFolders (store: MailboxStore, mailbox: StoreMailbox): void {
  const prefix = mailbox.kind === 'primary' ? '' : 'archive'
  const recoverable = store.createFolder(mailbox.rootId, 'Recoverable Items', '', {
    distinguishedName: `${prefix}recoverableitemsroot`
  })
  store.createFolder(recoverable.id, 'Deletions', '', { distinguishedName: `${prefix}recoverableitemsdeletions` })
}

/** Builds the demo tenant. Deterministic: ids, change keys and bytes are identical on every run. */
export function seedDemoTenant (options: { now?: Date } = {}): MailboxStore {
  const store = new MailboxStore(DEMO_TENANT_ID)
  const ctx: SeedContext = { store, base: options.now ?? new Date('2026-06-30T09:00:00.000Z'), counter: 0 }
  const M = DEMO_MAILBOXES
  const MiB = 1024 * 1024

  const alice = store.addMailbox({ guid: M.alice.guid, smtp: M.alice.smtp, displayName: M.alice.name, kind: 'primary' })
  addNonIpmFolders(store, alice)
  populate(
    ctx,
    alice,
    store.requireFolder(alice.msgRootId),
    primaryPlan({ inbox: 60, sent: 15, calendar: 20, contacts: 15, tasks: 8 }, [
      {
        name: 'Projects',
        items: 10,
        children: [
          {
            name: 'Alpha',
            items: 8,
            children: [{ name: 'Specs', items: 6, children: [{ name: 'Drafts 2026', items: 3 }] }]
          },
          { name: 'Beta', items: 5 }
        ]
      },
      { name: 'Receipts', items: 12 }
    ]),
    { Inbox: { 6: 5 * MiB }, Receipts: { 1: Math.round(1.5 * MiB) } }
  )
  const aliceArchive = store.addMailbox({
    guid: M.alice.archive,
    smtp: M.alice.smtp,
    displayName: `${M.alice.name} (archive)`,
    kind: 'archive',
    primaryGuid: alice.guid
  })
  addNonIpmFolders(store, aliceArchive)
  populate(ctx, aliceArchive, store.requireFolder(aliceArchive.msgRootId), archivePlan([
    { name: '2019', items: 4, children: [{ name: 'Q1', items: 10 }, { name: 'Q2', items: 10 }] },
    { name: '2020', children: [{ name: 'Projects', items: 8, children: [{ name: 'Old', items: 6 }] }] }
  ]), {})

  const bob = store.addMailbox({ guid: M.bob.guid, smtp: M.bob.smtp, displayName: M.bob.name, kind: 'primary' })
  addNonIpmFolders(store, bob)
  populate(
    ctx,
    bob,
    store.requireFolder(bob.msgRootId),
    primaryPlan({ inbox: 40, sent: 10, calendar: 12, contacts: 10, tasks: 6 }, [{ name: 'Receipts', items: 10 }]),
    { Inbox: { 2: 2 * MiB } }
  )
  populate(ctx, bob, store.requireFolder(bob.msgRootId), [
    { name: 'Team', items: 2, children: [{ name: 'Minutes', items: 8, children: [{ name: '2026', items: 4 }] }] }
  ], {})

  const carol = store.addMailbox({ guid: M.carol.guid, smtp: M.carol.smtp, displayName: M.carol.name, kind: 'primary' })
  addNonIpmFolders(store, carol)
  populate(
    ctx,
    carol,
    store.requireFolder(carol.msgRootId),
    primaryPlan({ inbox: 35, sent: 8, calendar: 10, contacts: 8, tasks: 4 }, [
      { name: 'Projects', items: 8, children: [{ name: 'Gamma', items: 5, children: [{ name: 'Reviews', items: 3 }] }] }
    ]),
    { Inbox: { 3: 3 * MiB } }
  )
  const carolArchive = store.addMailbox({
    guid: M.carol.archive,
    smtp: M.carol.smtp,
    displayName: `${M.carol.name} (archive)`,
    kind: 'archive',
    primaryGuid: carol.guid
  })
  addNonIpmFolders(store, carolArchive)
  populate(ctx, carolArchive, store.requireFolder(carolArchive.msgRootId), archivePlan([
    { name: '2019', items: 12, children: [{ name: 'Travel', items: 4 }] }
  ]), {})

  const dave = store.addMailbox({ guid: M.dave.guid, smtp: M.dave.smtp, displayName: M.dave.name, kind: 'primary' })
  addNonIpmFolders(store, dave)
  populate(
    ctx,
    dave,
    store.requireFolder(dave.msgRootId),
    primaryPlan({ inbox: 25, sent: 5, calendar: 6, contacts: 5, tasks: 3 }, []),
    {}
  )
  const daveArchive = store.addMailbox({
    guid: M.dave.archive,
    smtp: M.dave.smtp,
    displayName: `${M.dave.name} (archive)`,
    kind: 'archive',
    primaryGuid: dave.guid
  })
  store.addAuxArchive(daveArchive.guid, M.dave.aux)
  addNonIpmFolders(store, daveArchive)
  populate(ctx, daveArchive, store.requireFolder(daveArchive.msgRootId), archivePlan([
    { name: '2017', items: 8 },
    { name: '2018', items: 12, aux: true, children: [{ name: 'Expanded', items: 4, aux: true }] }
  ]), { 2018: { 1: MiB } })

  for (const primary of [alice, bob, carol, dave]) addAssociatedItems(ctx, primary)
  return store
}
