/**
 * MIME and property sets on a Graph mailbox (src/backends/graph/formats.ts), over the real chain on loopback:
 * identity simulator → MSAL → adapter → Graph simulator (mailbox import/export API and Outlook APIs, one store).
 * What comes out parses with independent libraries (postal-mime for .eml, ical.js for .ics and .vcf) and carries the
 * item's fields; a property set exported and imported again keeps the documented fields; what Graph documents no
 * path for is a 501 with the reason, and nothing is sent.
 */
import ICAL from 'ical.js'
import PostalMime from 'postal-mime'
import t from 'tap'
import { loopbackCertificate } from '../../../src/simulators/tls.js'
import { startIdentitySimulator } from '../../../src/simulators/identity/index.js'
import { startGraphSimulator } from '../../../src/simulators/graph/index.js'
import { seedDemoTenant, DEMO_MAILBOXES, DEMO_TENANT_ID } from '../../../src/simulators/store/seed.js'
import { readItemContent, type ItemContent } from '../../../src/simulators/store/content.js'
import type { StoreItem } from '../../../src/simulators/store/store.js'
import { Policy } from '../../../src/backends/policy.js'
import type { ItemProperties, MailboxBackend, MailboxRef } from '../../../src/backends/mailbox-backend.js'
import { graphBackendOn } from '../../helpers/backends.js'
import { captureLogs } from '../../helpers/logs.js'

const GRAPH = 'https://graph.microsoft.com'
const MAILBOX_ROLES = ['User.Read.All', 'MailboxFolder.ReadWrite.All', 'MailboxItem.ReadWrite.All',
  'MailboxItem.ImportExport.All']
const FORMAT_ROLES = ['Mail.ReadWrite', 'Calendars.ReadWrite', 'Contacts.ReadWrite']
const APP = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0d01', clientSecret: 'formats-test-secret-1' }
const NO_MAIL = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0d02', clientSecret: 'formats-test-secret-2' }
const NO_TRANSLATE = { clientId: '0b6e3f9a-6c1b-4e8a-9f0d-2b4c6e8a0d03', clientSecret: 'formats-test-secret-3' }

const wire = (storeId: string): string => storeId.replace(/\+/g, '-').replace(/\//g, '_')

t.test('MIME and property sets on Graph mailboxes', async (t) => {
  const tls = await loopbackCertificate()
  const tenant = seedDemoTenant()
  const { logger } = captureLogs('warn', { redaction: false }, [])
  const identity = await startIdentitySimulator({
    tenantId: DEMO_TENANT_ID,
    tls,
    apps: [
      { ...APP, roles: { [GRAPH]: [...MAILBOX_ROLES, ...FORMAT_ROLES] } },
      { ...NO_MAIL, roles: { [GRAPH]: [...MAILBOX_ROLES, 'Calendars.Read'] } },
      { ...NO_TRANSLATE, roles: { [GRAPH]: ['MailboxFolder.Read.All', 'MailboxItem.Read.All', ...FORMAT_ROLES] } }
    ]
  })
  t.teardown(async () => await identity.close())
  const graph = await startGraphSimulator({
    store: tenant, tls, verifyBearer: async (token) => await identity.verify(token, GRAPH)
  })
  t.teardown(async () => await graph.close())
  const policy = new Policy({ baseDelayMs: 20, maxInlineDelayMs: 3000 })
  const chain = { identityHost: identity.host, graph, ca: tls.ca, policy, logger }
  const make = (app: typeof APP, name: string): MailboxBackend => graphBackendOn(t, chain, app, name).backend
  const backend = make(APP, 'graph')
  const carolGuid = DEMO_MAILBOXES.carol.guid
  const carol: MailboxRef = {
    id: 'carol',
    address: DEMO_MAILBOXES.carol.smtp,
    type: 'graph',
    kind: 'primary',
    backend: 'graph',
    backendRef: graph.mailboxId(carolGuid)
  }
  const carolArchive: MailboxRef = { ...carol, id: 'carol-archive', kind: 'archive', backendRef: undefined }

  const itemsOf = (folder: string): StoreItem[] => {
    const box = tenant.requireMailbox(carolGuid)
    return tenant.itemsIn(box.wellKnown.get(folder) as string)
  }
  const find = (folder: string, pick: (c: ItemContent) => boolean): { item: StoreItem, content: ItemContent } => {
    for (const item of itemsOf(folder)) {
      const content = readItemContent(item)
      if (pick(content)) return { item, content }
    }
    throw new Error(`no matching item in ${folder}`)
  }
  /** Requests the simulator saw to anything but the mailbox import/export API (the Outlook APIs: 'other'). */
  const outlookCalls = (): number => graph.stats.byOperation.other ?? 0

  t.test('capabilities say per kind and direction what Graph documents', async (t) => {
    const f = backend.capabilities.formats
    for (const kind of ['message', 'appointment', 'contact'] as const) {
      t.ok(f.mime.export[kind].supported, `mime export ${kind}`)
      t.ok(f.json.export[kind].supported, `json export ${kind}`)
      t.ok(f.json.import[kind].supported, `json import ${kind}`)
      t.notOk(f.mime.import[kind].supported, `no mime import of ${kind}`)
    }
    const task = f.json.export.task
    t.ok(!task.supported && /To Do/.test(task.reason) && /outlookTask|Outlook tasks/.test(task.reason))
    const eml = f.mime.import.message
    t.ok(!eml.supported && /draft/.test(eml.reason), 'MIME import: the draft is the reason')
  })

  t.test('a message as .eml: subject, sender, recipients, date, body, attachments', async (t) => {
    const { item, content } = find('inbox', (c) => c.attachments.some((a) => a.isInline !== true) &&
      c.recipients.length > 0 && c.body?.text !== undefined)
    const mime = await backend.getItemMime(carol, wire(item.id))
    t.equal(mime.contentType, 'message/rfc822')
    t.equal(mime.kind, 'message')
    t.equal(mime.subject, content.subject)
    const parsed = await PostalMime.parse(mime.data)
    t.equal(parsed.subject, content.subject)
    t.equal(parsed.from?.address, (content.from ?? content.sender)?.address)
    t.same(parsed.to?.map((a) => a.address), content.recipients.filter((r) => r.type === 'to').map((r) => r.address))
    t.equal(new Date(parsed.date as string).getTime(), content.sent?.getTime())
    t.equal(parsed.text?.replace(/\r\n/g, '\n').trim(), content.body?.text?.replace(/\r\n/g, '\n').trim())
    const files = content.attachments
    t.same(parsed.attachments.map((a) => a.filename), files.map((a) => a.name))
    t.equal(Buffer.from(parsed.attachments[0].content as ArrayBuffer).compare(files[0].data), 0, 'attachment bytes')
  })

  t.test('an appointment as .ics and a contact as .vcf parse with ical.js', async (t) => {
    const { item, content } = find('calendar', (c) => c.appointment !== undefined && c.subject !== undefined)
    const ics = await backend.getItemMime(carol, wire(item.id))
    t.equal(ics.contentType, 'text/calendar')
    const cal = new ICAL.Component(ICAL.parse(ics.data.toString('utf8')))
    const ev = cal.getFirstSubcomponent('vevent')
    t.ok(ev !== null)
    t.equal(ev?.getFirstPropertyValue('summary'), content.subject)
    t.equal(ev?.getFirstPropertyValue('uid'), content.appointment?.uid)
    const start = ev?.getFirstPropertyValue('dtstart') as ICAL.Time
    if (content.appointment?.isAllDay === true) {
      t.equal(start.isDate, true)
    } else {
      t.equal(start.toJSDate().getTime(), content.appointment?.start.getTime())
      t.equal((ev?.getFirstPropertyValue('dtend') as ICAL.Time).toJSDate().getTime(),
        content.appointment?.end.getTime())
    }
    const attendees = ev?.getAllProperties('attendee') ?? []
    t.equal(attendees.length, content.appointment?.attendees.filter((a) => a.isOrganizer !== true).length)

    const contact = find('contacts', (c) => (c.contact?.emailAddresses.length ?? 0) > 0)
    const vcf = await backend.getItemMime(carol, wire(contact.item.id))
    t.equal(vcf.contentType, 'text/vcard')
    const card = new ICAL.Component(ICAL.parse(vcf.data.toString('utf8')))
    t.equal(card.getFirstPropertyValue('version'), '4.0')
    t.equal(card.getFirstPropertyValue('fn'), contact.content.contact?.displayName)
    t.same(card.getAllProperties('email').map((p) => p.getFirstValue()),
      contact.content.contact?.emailAddresses.map((e) => e.address))
  })

  const SHARED = ['subject', 'body', 'importance', 'sensitivity', 'categories'] as const
  const keep = (p: ItemProperties, fields: readonly string[]): Record<string, unknown> =>
    Object.fromEntries(fields.filter((f) => (p as Record<string, unknown>)[f] !== undefined)
      .map((f) => [f, (p as Record<string, unknown>)[f]]))

  t.test('a contact exported and imported as a property set keeps its fields', async (t) => {
    const { item } = find('contacts', (c) => c.contact?.birthday !== undefined)
    const exported = await backend.getItemProperties(carol, wire(item.id), {})
    t.equal(exported.item.kind, 'contact')
    t.equal(exported.changeKey, item.changeKey)
    const fields = ['displayName', 'givenName', 'surname', 'companyName', 'department', 'jobTitle', 'emailAddresses',
      'businessPhones', 'homePhones', 'mobilePhone', 'businessAddress', 'homeAddress', 'birthday', 'body',
      'categories']
    t.ok(exported.item.displayName !== undefined && exported.item.birthday !== undefined)
    const made = await backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, exported.item)
    t.not(made.itemId, wire(item.id))
    const again = await backend.getItemProperties(carol, made.itemId, {})
    t.same(keep(again.item, fields), keep(exported.item, fields))
    // The copy is a mailbox item like any other: listed and exported through the mailbox API.
    const listed = await backend.listItems(carol, { wellKnown: 'contacts' }, { limit: 999 })
    t.ok(listed.values.some((i) => i.id === made.itemId))
    const [fts] = await backend.exportBatch(carol, [made.itemId])
    t.ok('data' in fts, 'exported as the full-fidelity stream too')
  })

  t.test('an appointment exported and imported keeps its times and fields, not its UID', async (t) => {
    const { item, content } = find('calendar', (c) => c.appointment !== undefined &&
      c.appointment.attendees.length === 0 && c.appointment.location !== undefined)
    const exported = await backend.getItemProperties(carol, wire(item.id), {})
    t.equal(exported.item.kind, 'appointment')
    t.equal(exported.item.start, content.appointment?.start.toISOString())
    const { uid, ...importable } = exported.item
    t.ok(uid !== undefined)
    const made = await backend.createItemFromProperties(carol, { wellKnown: 'calendar' }, importable)
    const again = await backend.getItemProperties(carol, made.itemId, {})
    const fields = [...SHARED, 'start', 'end', 'isAllDay', 'location', 'timeZone']
    t.same(keep(again.item, fields), keep(exported.item, fields))
    t.not(again.item.uid, uid, 'a new UID')
  })

  t.test('a message imported from its property set is not a draft, keeps dates, recipients and attachments',
    async (t) => {
      const { item } = find('inbox', (c) => c.attachments.some((a) => a.isInline !== true) && c.sent !== undefined)
      const exported = await backend.getItemProperties(carol, wire(item.id), { attachmentContent: true })
      t.ok(exported.item.attachments?.every((a) => a.contentBytes !== undefined), 'attachment content read')
      const folder = await backend.createFolder(carol, { displayName: 'Imported JSON', folderClass: 'IPF.Note' })
      const made = await backend.createItemFromProperties(carol, { id: folder.id }, exported.item)
      const again = await backend.getItemProperties(carol, made.itemId, { attachmentContent: true })
      t.equal(again.item.isDraft, false)
      const fields = [...SHARED, 'from', 'toRecipients', 'ccRecipients', 'sentDateTime', 'receivedDateTime',
        'internetMessageId', 'isRead', 'attachments']
      t.same(keep(again.item, fields), keep(exported.item, fields))
      const listed = await backend.listItems(carol, { id: folder.id }, { limit: 10 })
      t.same(listed.values.map((i) => i.id), [made.itemId], 'in the folder named by its mailbox API id')
      const metadataOnly = await backend.getItemProperties(carol, made.itemId, {})
      t.ok(metadataOnly.item.attachments?.every((a) => a.contentBytes === undefined), 'no bytes unless asked')
    })

  t.test('extended properties are read and set by tag', async (t) => {
    const { item } = find('inbox', () => true)
    const ask = [{ propertyTag: '0x0037', propertyType: 'String' as const },
      { propertyTag: '0x7FFF', propertyType: 'Integer' as const }]
    const read = await backend.getItemProperties(carol, wire(item.id), { extendedProperties: ask })
    t.equal(read.item.extendedProperties?.[0].value, read.item.subject)
    t.equal(read.item.extendedProperties?.[1].value, undefined, 'absent: the item does not have it')
  })

  t.test('501 where Graph documents no path, before anything is sent', async (t) => {
    const task = itemsOf('tasks')[0]
    const before = outlookCalls()
    await t.rejects(backend.getItemProperties(carol, wire(task.id), {}),
      { code: 'MBG_ERR_NOT_SUPPORTED', message: /To Do/ })
    await t.rejects(backend.getItemMime(carol, wire(task.id)), { code: 'MBG_ERR_NOT_SUPPORTED' })
    t.equal(outlookCalls(), before, 'a task is refused once its class is known: no Outlook call')
    const requests = graph.stats.requests
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'tasks' }, { kind: 'task', subject: 'x' }),
      { code: 'MBG_ERR_NOT_SUPPORTED', message: /To Do/ })
    for (const contentType of ['message/rfc822', 'text/calendar', 'text/vcard'] as const) {
      const content = { contentType, data: Buffer.from('x') }
      await t.rejects(backend.createItemFromMime(carol, { wellKnown: 'inbox' }, content),
        { code: 'MBG_ERR_NOT_SUPPORTED' })
    }
    await t.rejects(backend.createItemFromMime(carol, { wellKnown: 'inbox' },
      { contentType: 'message/rfc822', data: Buffer.from('x') }), { message: /draft/ })
    await t.rejects(backend.getItemMime(carolArchive, wire(task.id)),
      { code: 'MBG_ERR_NOT_SUPPORTED', message: /In-Place Archive/ })
    await t.rejects(backend.getItemProperties(carolArchive, wire(task.id), {}), { code: 'MBG_ERR_NOT_SUPPORTED' })
    await t.rejects(backend.createItemFromProperties(carolArchive, { wellKnown: 'inbox' },
      { kind: 'message', subject: 'x' }), { code: 'MBG_ERR_NOT_SUPPORTED' })
    t.equal(graph.stats.requests, requests, 'nothing was sent')
  })

  t.test('bad input is the caller\'s 4xx, checked before anything is sent', async (t) => {
    const requests = graph.stats.requests
    await t.rejects(backend.getItemMime(carol, 'not/an id'), { code: 'MBG_ERR_ID_MALFORMED' })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'calendar' }, {
      kind: 'appointment',
      subject: 'x',
      start: '2026-01-01T10:00:00Z',
      end: '2026-01-01T11:00:00Z',
      timeZone: 'Mars/Olympus'
    }), { code: 'MBG_ERR_DATA_INVALID' })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'inbox' }, {
      kind: 'message', subject: 'x', attachments: [{ name: 'a.bin' }]
    }), { code: 'MBG_ERR_DATA_INVALID', message: /contentBytes/ })
    // What a Graph create cannot keep is refused, not dropped.
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'inbox' }, {
      kind: 'message', subject: 'x', itemClass: 'IPM.Note.Custom'
    }), { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /IPM\.Note\.Custom.*no way to set another class/ })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, {
      kind: 'contact', displayName: 'Ann', subject: 'Not Ann', importance: 'high', sensitivity: 'normal'
    }), { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /has no subject \(other than displayName\), importance high:/ })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, {
      kind: 'contact',
      displayName: 'P',
      businessPhones: ['1', '2', '3'],
      homePhones: ['4', '5', '6'],
      emailAddresses: ['a', 'b', 'c', 'd'].map((x) => ({ address: `${x}@contoso.example` }))
    }), {
      code: 'MBG_ERR_DATA_INCOMPATIBLE',
      message: /more than 3 emailAddresses, more than 2 businessPhones, more than 2 homePhones/
    })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'calendar' }, {
      kind: 'appointment', subject: 'x', start: '2026-01-01T10:00:00Z', end: '2026-01-01T11:00:00Z', itemClass: 'IPM.X'
    }), { code: 'MBG_ERR_DATA_INCOMPATIBLE', message: /creates an appointment as IPM\.Appointment/ })
    t.equal(graph.stats.requests, requests)
    const kept = await backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, {
      kind: 'contact', itemClass: 'IPM.Contact', displayName: 'Ann', subject: 'Ann', importance: 'normal'
    })
    t.ok(kept.itemId, 'what every contact has is no loss')
    const gone = wire(itemsOf('inbox')[0].id).replace(/^(.{30})./, '$1A')
    await t.rejects(backend.getItemMime(carol, gone), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
  })

  t.test('a missing permission is named in the problem', async (t) => {
    const { item } = find('inbox', () => true)
    await t.rejects(make(NO_MAIL, 'graph-no-mail').getItemMime(carol, wire(item.id)),
      { code: 'MBG_ERR_ACCESS_DENIED', message: /Mail\.Read/ })
    await t.rejects(make(NO_TRANSLATE, 'graph-no-translate').getItemProperties(carol, wire(item.id), {}),
      { code: 'MBG_ERR_ACCESS_DENIED', message: /User\.Read\.All/ })
  })

  t.test('a create whose answer is lost is not sent again', async (t) => {
    const before = itemsOf('contacts').length
    graph.faults.plan.configure({ seed: 1, rules: [{ operations: ['*'], rate: 1, count: 1, kinds: ['resetAfter'] }] })
    t.teardown(() => graph.faults.plan.clear())
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, {
      kind: 'contact', givenName: 'Lost', surname: 'Answer'
    }), { code: 'MBG_ERR_OUTCOME_UNKNOWN' })
    t.equal(itemsOf('contacts').length, before + 1, 'created once, not twice')
  })

  t.test('a create that cannot be named afterwards is an unknown outcome, not a failure', async (t) => {
    const before = itemsOf('contacts').length
    graph.faults.only = ['/items']
    graph.faults.reject = { status: 400, code: 'BadRequest', message: 'refused', count: 1 }
    t.teardown(() => { delete graph.faults.only; delete graph.faults.reject })
    await t.rejects(backend.createItemFromProperties(carol, { wellKnown: 'contacts' }, {
      kind: 'contact', givenName: 'Unnamed'
    }), { code: 'MBG_ERR_OUTCOME_UNKNOWN', message: /was created/ })
    t.equal(itemsOf('contacts').length, before + 1, 'it exists')
  })
})
