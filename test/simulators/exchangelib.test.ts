/**
 * Independent-client check: Debian's python3-exchangelib talks to the EWS
 * simulator (folder walk, paged FindItem, ExportItems, UploadItems round trip),
 * by impersonation and by delegate access (own mailbox, and a service account
 * without a mailbox holding FullAccess), with a pinned server version and without
 * one (exchangelib then probes with ConvertId and reads ServerVersionInfo), and with NTLM
 * (exchangelib's requests_ntlm, Debian's python3-requests-ntlm) instead of Basic.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { readItemContent } from '../../src/simulators/store/content.js'
import { ALICE, ALICE_LOGIN, harness, SVC, SVC_DELEGATE } from './ews-test-client.js'
import { PROCESS_BUDGET_MS } from '../helpers/process.js'

const run = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const DRIVER = fileURLToPath(new URL('./exchangelib/interop.py', import.meta.url))

async function hasExchangelib (): Promise<boolean> {
  try {
    await run(PYTHON, ['-c', 'import exchangelib'], { timeout: PROCESS_BUDGET_MS })
    return true
  } catch {
    return false
  }
}

interface InteropResult {
  ok: boolean
  error?: string
  steps: string[]
  build: string
  apiVersion: string
  msgRootFolders: string[]
  rootFolders: string[]
  inboxChildren: string[]
  inboxCount: number
  inboxTotal: number
  inboxDistinct: number
  exported: number
  exportedBytes: number
  uploaded: number
  uploadedIds: string[]
  moved: unknown[]
  deleted: boolean[]
  deletedAgain: string[]
  roundTripEqual: boolean
  updateSameId: boolean
  updateChangeKeyBumped: boolean
  targetCount: number
  targetListed: number
}

async function drive (args: Record<string, unknown>): Promise<InteropResult> {
  // Loopback must not go through a proxy configured for the machine.
  const env = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }
  const { stdout, stderr } = await run(PYTHON, [DRIVER, JSON.stringify(args)], {
    env,
    timeout: PROCESS_BUDGET_MS,
    maxBuffer: 16 * 1024 * 1024
  })
  const line = stdout.trim().split('\n').pop() ?? ''
  const result = JSON.parse(line) as InteropResult
  if (!result.ok) console.error(stderr)
  return result
}

const available = await hasExchangelib()
if (!available) {
  console.error(
    '\n' +
      '!'.repeat(78) +
      `\n!! exchangelib is NOT importable by ${PYTHON}: the EWS interop check is SKIPPED.\n` +
      "!! Install Debian's python3-exchangelib to run it.\n" +
      '!'.repeat(78) +
      '\n'
  )
}

const interop = available ? t.test.bind(t) : t.skip.bind(t)
interop('exchangelib interop' + (available ? '' : ' (python3-exchangelib not installed)'), async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(h.store.mailboxBySmtp(ALICE)?.guid ?? '', 'inbox')
  const inboxBefore = h.store.itemsIn(inbox.id).length
  // How many on-premises deployments grant a service account access: FullAccess, no impersonation right.
  h.store.grantFullAccess(h.store.mailboxBySmtp(ALICE)?.guid ?? '', SVC_DELEGATE.user)

  for (const mode of [
    { name: 'impersonation (service account)', login: SVC, accessType: 'impersonation', target: 'Interop restore' },
    { name: 'delegate (own mailbox)', login: ALICE_LOGIN, accessType: 'delegate', target: 'Delegate restore' },
    {
      name: 'delegate (FullAccess service account), version not pinned',
      login: SVC_DELEGATE,
      accessType: 'delegate',
      target: 'FullAccess restore',
      pinVersion: false
    },
    {
      name: 'impersonation, version not pinned',
      login: SVC,
      accessType: 'impersonation',
      target: 'Probed restore',
      pinVersion: false
    },
    {
      name: 'NTLM (DOMAIN\\user), impersonation',
      login: { user: `CONTOSO\\${SVC.user}`, pass: SVC.pass },
      accessType: 'impersonation',
      target: 'NTLM restore',
      authType: 'NTLM'
    }
  ]) {
    await t.test(mode.name, async (t) => {
      const convertIdBefore = h.sim.stats.byOperation.ConvertId ?? 0
      const ntlmBefore = { ...h.sim.stats.ntlm }
      const pinVersion = mode.pinVersion ?? true
      const r = await drive({
        url: h.sim.url,
        username: mode.login.user,
        password: mode.login.pass,
        smtp: ALICE,
        accessType: mode.accessType,
        pinVersion,
        ...(mode.authType !== undefined ? { authType: mode.authType } : {}),
        pageSize: 7,
        exportCount: 5,
        targetFolder: mode.target
      })
      t.equal(r.error, undefined, 'driver finished without an exception')
      t.ok(r.ok)
      if (mode.authType === 'NTLM') {
        const ntlm = h.sim.stats.ntlm
        t.ok(ntlm.authenticated > ntlmBefore.authenticated, 'requests_ntlm completed NTLMv2 handshakes')
        t.equal(ntlm.refused, ntlmBefore.refused, 'none refused')
        t.ok(ntlm.onBoundConnection > ntlmBefore.onBoundConnection,
          'later requests rode on an authenticated connection without a header')
      }
      if (!pinVersion) {
        t.ok((h.sim.stats.byOperation.ConvertId ?? 0) > convertIdBefore, 'exchangelib probed the version (ConvertId)')
        t.equal(r.build, '15.20.8857.22', 'and took the build from ServerVersionInfo')
      }
      t.ok(
        r.msgRootFolders.includes('Inbox') &&
          r.msgRootFolders.includes('Drafts 2026') &&
          r.msgRootFolders.includes('Calendar'),
        'folder walk reaches nested folders'
      )
      t.ok(
        r.rootFolders.includes('Top of Information Store') && r.rootFolders.includes('Recoverable Items'),
        'root walk includes non-IPM folders'
      )
      t.equal(r.inboxCount, inboxBefore, 'paged through every inbox item (page size 7)')
      t.equal(r.inboxDistinct, inboxBefore, 'no item seen twice while paging')
      t.equal(r.inboxTotal, inboxBefore)
      t.equal(r.exported, 5)
      t.ok(r.exportedBytes > 5 * 100)
      t.equal(r.uploaded, 5)
      t.equal(r.roundTripEqual, true, 'export → upload → export gives identical bytes')
      t.equal(r.updateSameId, true, 'Update keeps the item id')
      t.equal(r.updateChangeKeyBumped, true, 'Update issues a new ChangeKey')
      t.equal(r.targetCount, 5)
      t.equal(r.targetListed, 5)
      // MoveItem and DeleteItem as exchangelib drives them (bulk_move, bulk_delete).
      t.equal(r.moved.length, 1)
      const [newId] = r.moved[0] as [string, string]
      t.ok(typeof newId === 'string' && newId !== r.uploadedIds[1],
        'the moved item has a new id: ' + String(r.moved[0]))
      t.equal(h.store.items.get(newId)?.folderId, h.store.wellKnownFolder(h.store.mailboxBySmtp(ALICE)?.guid ?? '',
        'drafts').id, 'and is in Drafts')
      t.same(r.deleted, [true], 'bulk_delete deleted the item')
      t.same(r.deletedAgain, ['ErrorItemNotFound'], 'deleting it again is ErrorItemNotFound')
      const target = h.store.children(inbox.id).find((f) => f.displayName === mode.target)
      t.ok(target, 'the folder exchangelib created exists in the store')
      t.same(
        target === undefined
          ? []
          : h.store
            .itemsIn(target.id)
            .map((i) => i.id)
            .sort(),
        r.uploadedIds.filter((_id: string, i: number) => i !== 1 && i !== 2).sort(),
        'uploaded items landed in that folder (but the one moved and the one deleted)'
      )
    })
  }
  t.ok((h.sim.stats.byOperation.FindItem ?? 0) >= 9, 'paging issued several FindItem calls')
  t.ok((h.sim.stats.byOperation.UploadItems ?? 0) >= 4)
})

interop('exchangelib: MIME content and property sets' + (available ? '' : ' (python3-exchangelib not installed)'),
  async (t) => {
    const h = await harness(t)
    const alice = h.store.mailboxBySmtp(ALICE)?.guid ?? ''
    const inbox = h.store.wellKnownFolder(alice, 'inbox')
    const source = h.store.itemsIn(inbox.id).find((i) => readItemContent(i).attachments.some((a) => a.isInline))
    if (source === undefined) throw new Error('the seed has an inline-image message')
    const expected = readItemContent(source)
    const eml = [
      'From: Zed Zulu <zed@fabrikam.example>', 'To: Alice Archer <alice@contoso.example>',
      'Subject: Imported by exchangelib', 'Date: Mon, 01 Jun 2026 10:00:00 +0000',
      'Message-ID: <xl-1@fabrikam.example>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
      'Hello from the archive.', ''
    ].join('\r\n')
    const r = await drive({
      url: h.sim.url,
      username: SVC.user,
      password: SVC.pass,
      smtp: ALICE,
      accessType: 'impersonation',
      case: 'formats',
      messageId: source.id,
      eml: Buffer.from(eml).toString('base64')
    }) as unknown as FormatsResult
    t.equal(r.error, undefined, 'driver finished without an exception')
    t.ok(r.ok)
    const msg = r.message
    t.equal(msg.subject, expected.subject)
    t.equal(msg.author, expected.from?.address, 'From')
    t.equal(msg.sender, expected.sender?.address, 'Sender')
    t.same(msg.to, expected.recipients.filter((x) => x.type === 'to').map((x) => x.address))
    t.same(msg.cc, expected.recipients.filter((x) => x.type === 'cc').map((x) => x.address))
    t.equal(msg.isDraft, false)
    t.equal(msg.isRead, source.isRead)
    t.equal(msg.bodyType, 'HTMLBody', 'the HTML body (BodyType Best)')
    t.equal(msg.messageId, expected.internetMessageId)
    t.same(msg.attachmentSizes, expected.attachments.map((a) => a.data.length), 'attachment content (GetAttachment)')
    t.equal(msg.mimeSubject, expected.subject, 'mime_content parses (Python email)')
    t.match(msg.mimeFrom, expected.from?.address ?? 'none')
    t.equal(msg.mimeText?.trim(), expected.body?.text?.trim())
    t.same(msg.mimeParts, expected.attachments.filter((a) => a.isInline !== true).map((a) => a.name),
      'the file attachment in the MIME (the inline image sits in multipart/related)')

    t.same(r.fromMime, {
      subject: 'Imported by exchangelib',
      isDraft: false,
      author: 'zed@fabrikam.example',
      mimeSubject: 'Imported by exchangelib',
      mimeText: 'Hello from the archive.'
    }, 'created from MIME with PR_MESSAGE_FLAGS=1: not a draft, and its MIME reads back')
    t.equal(r.fromMimeNoFlags.isDraft, true, 'without the flag: a draft')
    t.same(r.contact, {
      givenName: 'Tanja',
      surname: 'Plate',
      company: 'Blue Yonder Airlines',
      jobTitle: 'Manager',
      emails: ['tplate@example.com'],
      phones: [['BusinessPhone', '4255550199']]
    })
    t.same(r.task, {
      subject: 'File the report',
      status: 'InProgress',
      percentComplete: 40,
      dueDate: '2026-07-10',
      startDate: '2026-07-01'
    })
    t.match(r.appointment, {
      subject: 'Dentist',
      start: '2026-07-02T08:00:00+00:00',
      end: '2026-07-02T09:00:00+00:00',
      location: 'Main St 1',
      body: 'Bring the card.',
      mimeHasVevent: true
    })
    t.match(r.appointment.uid, /^040000008200E00074C5B7101A82E008/)
    t.ok((h.sim.stats.byOperation.CreateItem ?? 0) >= 5, 'CreateItem calls')
    t.ok((h.sim.stats.byOperation.GetAttachment ?? 0) >= 1, 'attachment content fetched with GetAttachment')
  })

interface FormatsResult {
  ok: boolean
  error?: string
  message: {
    subject: string
    sender: string | null
    author: string | null
    to: string[]
    cc: string[]
    importance: string
    sensitivity: string
    isDraft: boolean
    isRead: boolean
    body: string
    bodyType: string
    messageId: string
    attachments: string[]
    attachmentSizes: number[]
    mimeSubject: string
    mimeFrom: string
    mimeText: string | null
    mimeParts: string[]
  }
  fromMime: Record<string, unknown>
  fromMimeNoFlags: { isDraft: boolean }
  contact: Record<string, unknown>
  task: Record<string, unknown>
  appointment: Record<string, unknown> & { uid: string }
}
