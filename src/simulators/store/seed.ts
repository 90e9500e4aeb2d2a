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
 */
import { createHash } from 'node:crypto'
import {
  encodeItemStream, toFileTime, PROP, PT_BINARY, PT_BOOLEAN, PT_INT32, PT_SYSTIME, PT_UNICODE_CP1200,
  type FtsMessage, type Prop
} from './fts.js'
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

const str = (id: number, value: string): Prop => ({ type: PT_UNICODE_CP1200, id, value })
const int = (id: number, value: number): Prop => ({ type: PT_INT32, id, value })
const bool = (id: number, value: boolean): Prop => ({ type: PT_BOOLEAN, id, value: value ? 1 : 0 })
const time = (id: number, value: Date): Prop => ({ type: PT_SYSTIME, id, value: toFileTime(value) })

export interface SeedItemSpec {
  key: string
  itemClass: string
  subject: string
  created: Date
  modified: Date
  /** Target stream size in bytes (met exactly when there is an attachment, approximately otherwise). */
  size: number
  attachment: boolean
}

/** The deterministic PidTagSearchKey of a seeded item: 16 bytes drawn from its spec key. */
export function seedSearchKey (spec: SeedItemSpec): Buffer {
  return createHash('sha256').update(`${spec.key}/searchkey`).digest().subarray(0, SEARCH_KEY_BYTES)
}

/** Builds an item stream for a spec; `attachmentBytes` null means a zero-length placeholder (for sizing). */
function buildMessage (spec: SeedItemSpec, attachmentBytes: Buffer | null, bodyPad: number): FtsMessage {
  const rnd = prng(`${spec.key}/text`)
  const sender = `${FIRST[Math.floor(rnd() * FIRST.length)]} ${LAST[Math.floor(rnd() * LAST.length)]}`
  const body = `${words(rnd, 40)}\r\n`.repeat(1) + 'x'.repeat(bodyPad)
  const props: Prop[] = [
    str(PROP.MessageClass, spec.itemClass),
    int(PROP.Importance, 1),
    str(PROP.Subject, spec.subject),
    time(PROP.CreationTime, spec.created),
    time(PROP.LastModificationTime, spec.modified),
    time(PROP.MessageDeliveryTime, spec.created),
    str(PROP.SenderName, sender),
    int(PROP.MessageFlags, 1),
    { type: PT_BINARY, id: PROP.SearchKey, value: seedSearchKey(spec) },
    bool(0x0e1b, spec.attachment), // PR_HASATTACH
    str(PROP.Body, body)
  ]
  const recipients: Prop[][] = spec.itemClass === 'IPM.Note'
    ? [[int(PROP.RecipientType, 1), str(PROP.DisplayName, 'Team'), str(PROP.EmailAddress, `team@${DEMO_DOMAIN}`)]]
    : []
  const attachments: Prop[][] = spec.attachment
    ? [[
        int(PROP.AttachNum, 0),
        int(PROP.AttachMethod, 1),
        str(PROP.AttachFilename, `${spec.subject.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.bin`),
        int(PROP.AttachSize, attachmentBytes?.length ?? 0),
        { type: PT_BINARY, id: PROP.AttachDataBinary, value: attachmentBytes ?? Buffer.alloc(0) }
      ]]
    : []
  return { props, recipients, attachments }
}

/** Returns the exact size, the search key and a lazy generator for a seeded item's stream. */
export function seedItemStream (spec: SeedItemSpec): { size: number, searchKey: Buffer, blob: () => Buffer } {
  const searchKey = seedSearchKey(spec)
  if (spec.attachment) {
    const base = encodeItemStream(buildMessage(spec, null, 0)).length
    const attachmentLength = Math.max(64, spec.size - base)
    // AttachSize is an Integer32 and does not change the encoded length, so the size is exact.
    const size = base + attachmentLength
    let cached: Buffer | undefined
    return {
      size,
      searchKey,
      blob: () =>
        (cached ??= encodeItemStream(buildMessage(spec, randomBytes(`${spec.key}/attach`, attachmentLength), 0)))
    }
  }
  const base = encodeItemStream(buildMessage(spec, null, 0)).length
  const pad = Math.max(0, Math.floor((spec.size - base) / 2))
  const blob = encodeItemStream(buildMessage(spec, null, pad))
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
    for (let i = 0; i < (plan.items ?? 0); i++) {
      const n = ctx.counter++
      const created = new Date(ctx.base.getTime() - n * 3_600_000 * 7)
      const spec: SeedItemSpec = {
        key: `${path}#${i}`,
        itemClass,
        subject: `${itemClass === 'IPM.Note' ? '' : `${itemClass.slice(4)}: `}${words(rnd, 3)} #${n}`,
        created,
        modified: new Date(created.getTime() + 60_000 * Math.floor(rnd() * 90)),
        size: sizeFor(rnd, i, bigItems[plan.name] ?? {}),
        attachment: (bigItems[plan.name]?.[i] !== undefined) || (itemClass === 'IPM.Note' && rnd() < 0.25)
      }
      const { size, searchKey, blob } = seedItemStream(spec)
      const data = { size, itemClass, subject: spec.subject, hasAttachments: spec.attachment, searchKey, blob }
      ctx.store.createItem(folder.id, data,
        {
          created: spec.created, modified: spec.modified, isRead: rnd() < 0.7
        })
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
