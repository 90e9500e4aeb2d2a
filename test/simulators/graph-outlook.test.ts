/**
 * The Graph simulator's Outlook endpoints (src/simulators/graph/outlook.ts) over real sockets: translateExchangeIds,
 * messages ($value, attachments, MIME and JSON creates), events (time zones), contacts; the permission each needs;
 * Graph's errors; one store shared with the mailbox import/export API; every property declared in the v1.0 CSDL
 * (graph-outlook-csdl/, see SOURCE.txt there).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { XMLParser } from 'fast-xml-parser'
import PostalMime from 'postal-mime'
import t from 'tap'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { readItemContent } from '../../src/simulators/store/content.js'
import type { StoreItem } from '../../src/simulators/store/store.js'
import { startHarness, type Harness } from './graph-helpers.js'

const ROLES = [
  'User.Read.All', 'MailboxItem.Read.All', 'MailboxFolder.Read.All', 'Mail.ReadWrite', 'Calendars.ReadWrite',
  'Contacts.ReadWrite'
]
const alice = DEMO_MAILBOXES.alice
const urlSafe = (b64: string): string => {
  const pad = /=*$/.exec(b64)?.[0].length ?? 0
  return `${b64.slice(0, b64.length - pad).replace(/\+/g, '-').replace(/\//g, '_')}${pad}`
}

// ------------------------------------------------------------------------------------------------ CSDL check

interface Prop { type: string, nav: boolean }
interface Ty { base?: string, props: Map<string, Prop> }
const model = new Map<string, Ty>()
{
  const xml = readFileSync(fileURLToPath(new URL('./graph-outlook-csdl/v1.0-Prod.outlook.fragments.xml',
    import.meta.url)), 'utf8')
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (n) => ['EntityType', 'ComplexType', 'Property', 'NavigationProperty'].includes(n)
  })
  const doc = parser.parse(`<root>${xml.replace(/<\?xml[^>]*>/, '')}</root>`) as { root: Record<string, any> }
  for (const kind of ['EntityType', 'ComplexType']) {
    for (const el of doc.root[kind] ?? []) {
      const props = new Map<string, Prop>()
      for (const p of el.Property ?? []) props.set(p.Name, { type: p.Type, nav: false })
      for (const p of el.NavigationProperty ?? []) props.set(p.Name, { type: p.Type, nav: true })
      model.set(el.Name, { ...(el.BaseType !== undefined ? { base: el.BaseType.replace(/^graph\./, '') } : {}), props })
    }
  }
}
const ENUMS = new Set(['importance', 'sensitivity', 'inferenceClassificationType', 'freeBusyStatus', 'eventType',
  'attendeeType', 'responseType', 'locationType', 'locationUniqueIdType', 'followupFlagStatus', 'bodyType',
  'onlineMeetingProviderType', 'exchangeIdFormat'])

function findProp (type: string, name: string): Prop | undefined {
  for (let ty = model.get(type); ty !== undefined; ty = ty.base !== undefined ? model.get(ty.base) : undefined) {
    const p = ty.props.get(name)
    if (p !== undefined) return p
  }
  return undefined
}

/** Problems of `value` against CSDL type `type` (no problem: []). */
function conform (value: unknown, type: string, path: string): string[] {
  if (value === null) return []
  const coll = /^Collection\((.+)\)$/.exec(type)
  if (coll !== null) {
    if (!Array.isArray(value)) return [`${path}: not a collection`]
    return value.flatMap((v, i) => conform(v, coll[1], `${path}[${i}]`))
  }
  const name = type.replace(/^graph\./, '')
  switch (name) {
    case 'Edm.String': case 'Edm.Binary': case 'Edm.DateTimeOffset': case 'Edm.Date':
      return typeof value === 'string' ? [] : [`${path}: not a string`]
    case 'Edm.Boolean': return typeof value === 'boolean' ? [] : [`${path}: not a boolean`]
    case 'Edm.Int32': case 'Edm.Int64': case 'Edm.Double':
      return typeof value === 'number' ? [] : [`${path}: not a number`]
  }
  if (ENUMS.has(name)) return typeof value === 'string' ? [] : [`${path}: not an enum string`]
  if (!model.has(name)) return [`${path}: type ${name} not in the fragments`]
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`]
  const out: string[] = []
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith('@odata.')) continue
    const p = findProp(name, k)
    if (p === undefined) out.push(`${path}.${k}: not declared on ${name}`)
    else out.push(...conform(v, p.type, `${path}.${k}`))
  }
  return out
}

// ------------------------------------------------------------------------------------------------ helpers

interface Ctx { h: Harness, base: string, user: string, mbx: string }

async function restIdOf (c: Ctx, item: StoreItem): Promise<string> {
  const entry = await entryIdOf(c, item)
  const tr = await c.h.call('POST', `${c.user}/translateExchangeIds`, {
    roles: ROLES, body: { inputIds: [urlSafe(entry)], sourceIdType: 'entryId', targetIdType: 'restId' }
  })
  return tr.json.value[0].targetId as string
}

async function entryIdOf (c: Ctx, item: StoreItem): Promise<string> {
  const wire = item.id.replace(/\+/g, '-').replace(/\//g, '_')
  const folder = item.folderId.replace(/\+/g, '-').replace(/\//g, '_')
  const r = await c.h.call('GET', `${c.base}/admin/exchange/mailboxes/${c.mbx}/folders/${folder}/items/${wire}` +
    "?$expand=singleValueExtendedProperties($filter=id eq 'Binary 0x0FFF')", { roles: ROLES })
  return r.json.singleValueExtendedProperties[0].value as string
}

function firstItem (h: Harness, folder: string, pick: (i: StoreItem) => boolean = () => true): StoreItem {
  const mailbox = h.store.requireMailbox(alice.guid)
  const f = h.store.requireFolder(mailbox.wellKnown.get(folder) as string)
  const item = h.store.itemsIn(f.id).find(pick)
  if (item === undefined) throw new Error(`no item in ${folder}`)
  return item
}

t.test('Outlook endpoints of the Graph simulator', async (t) => {
  const h = await startHarness(t)
  const base = `${h.sim.url}/v1.0`
  const c: Ctx = { h, base, user: `${base}/users/${alice.smtp}`, mbx: h.sim.mailboxId(alice.guid) }

  t.test('translateExchangeIds: entryId → restId → ewsId → entryId names one object; errors per id', async (t) => {
    const item = firstItem(h, 'inbox')
    const entry = urlSafe(await entryIdOf(c, item))
    const call = async (inputIds: string[], sourceIdType: string, targetIdType: string,
      roles = ROLES): Promise<any> =>
      await h.call('POST', `${c.user}/translateExchangeIds`, { roles, body: { inputIds, sourceIdType, targetIdType } })
    const rest = (await call([entry], 'entryId', 'restId')).json.value[0].targetId as string
    t.not(rest, item.id.replace(/\+/g, '-').replace(/\//g, '_'), 'a REST id is not the mailbox item id')
    const ews = (await call([rest], 'restId', 'ewsId')).json.value[0].targetId
    t.equal(ews, item.id, 'the EWS id is the store id')
    t.equal((await call([ews], 'ewsId', 'entryId')).json.value[0].targetId, entry, 'back to the entry id')
    const mixed = await call([entry, 'not-an-id0'], 'entryId', 'restId')
    t.equal(mixed.status, 200)
    t.equal(mixed.json.value[1].errorDetails.code, 'ErrorInvalidIdMalformed')
    t.same(conform(mixed.json.value, 'Collection(graph.convertIdResult)', 'value'), [])
    const immutable = await call([entry], 'entryId', 'restImmutableEntryId')
    t.equal(immutable.status, 501, 'immutable ids are not modelled, and said so')
    t.equal((await call([entry], 'entryId', 'nonsense')).status, 400)
    const denied = await call([entry], 'entryId', 'restId', ['Mail.ReadWrite'])
    t.equal(denied.status, 403)
    t.equal(denied.json.error.code, 'ErrorAccessDenied')
  })

  t.test('message: JSON, $select, $expand, $value (MIME), attachments; CSDL shapes', async (t) => {
    const item = firstItem(h, 'inbox', (i) => readItemContent(i).attachments.some((a) => a.isInline !== true))
    const content = readItemContent(item)
    const rest = await restIdOf(c, item)
    const msg = await h.call('GET', `${c.user}/messages/${rest}`, { roles: ROLES })
    t.equal(msg.status, 200)
    t.equal(msg.json.subject, content.subject)
    t.equal(msg.json.hasAttachments, true)
    t.same(conform(msg.json, 'message', 'message'), [], 'every property declared on message')
    const sel = await h.call('GET', `${c.user}/messages/${rest}?$select=subject&$expand=` +
      encodeURIComponent("singleValueExtendedProperties($filter=id eq 'Integer 0x0E07')"), { roles: ROLES })
    t.same(Object.keys(sel.json).filter((k) => !k.startsWith('@')).sort(),
      ['id', 'singleValueExtendedProperties', 'subject'])
    t.equal(sel.json.singleValueExtendedProperties[0].id, 'Integer 0xe07')
    t.equal((await h.call('GET', `${c.user}/messages/${rest}?$select=nope`, { roles: ROLES })).status, 400)
    const value = await h.call('GET', `${c.user}/messages/${rest}/$value`, { roles: ROLES })
    t.equal(value.status, 200)
    const parsed = await PostalMime.parse(value.text)
    t.equal(parsed.subject, content.subject)
    t.equal(parsed.messageId, content.internetMessageId)
    t.same(parsed.attachments.map((a) => a.filename), content.attachments.map((a) => a.name))
    const att = await h.call('GET', `${c.user}/messages/${rest}/attachments`, { roles: ROLES })
    t.same(conform(att.json.value, 'Collection(graph.fileAttachment)', 'attachments'), [])
    t.equal(Buffer.from(att.json.value[0].contentBytes, 'base64').compare(content.attachments[0].data), 0)
    const slim = await h.call('GET', `${c.user}/messages/${rest}/attachments?$select=name,size`, { roles: ROLES })
    t.notOk('contentBytes' in slim.json.value[0], '$select leaves the bytes out')
    t.equal((await h.call('GET', `${c.user}/messages/${rest}`, { roles: ['Calendars.Read'] })).status, 403)
  })

  t.test('errors as Graph answers them', async (t) => {
    const contact = firstItem(h, 'contacts')
    const contactRest = await restIdOf(c, contact)
    const wrongKind = await h.call('GET', `${c.user}/messages/${contactRest}`, { roles: ROLES })
    t.equal(wrongKind.status, 404, 'a contact is not a message')
    t.equal(wrongKind.json.error.code, 'ErrorItemNotFound')
    const malformed = await h.call('GET', `${c.user}/messages/AAAA`, { roles: ROLES })
    t.equal(malformed.json.error.code, 'ErrorInvalidIdMalformed')
    const mailboxItemId = contact.id.replace(/\+/g, '-').replace(/\//g, '_')
    t.equal((await h.call('GET', `${c.user}/contacts/${mailboxItemId}`, { roles: ROLES })).json.error.code,
      'ErrorInvalidIdMalformed', 'a mailbox item id is not an Outlook id')
    const nobody = await h.call('GET', `${base}/users/nobody@contoso.example/messages/${contactRest}`, { roles: ROLES })
    t.equal(nobody.json.error.code, 'ErrorInvalidUser')
    const bobs = await h.call('GET', `${base}/users/${DEMO_MAILBOXES.bob.smtp}/contacts/${contactRest}`,
      { roles: ROLES })
    t.equal(bobs.json.error.code, 'ErrorInvalidMailboxItemId', "another user's item")
    const carol = h.store.requireMailbox(DEMO_MAILBOXES.carol.guid)
    const archived = h.store.itemsIn(h.store.children(h.store.requireMailbox(carol.archiveGuid as string).msgRootId)
      .find((f) => h.store.itemsIn(f.id).length > 0)?.id as string)[0]
    const archivedEntry = urlSafe(Buffer.concat([Buffer.alloc(4), Buffer.from(archived.id, 'base64').subarray(3)])
      .toString('base64'))
    const tr = await h.call('POST', `${base}/users/${carol.smtp}/translateExchangeIds`, {
      roles: ROLES, body: { inputIds: [archivedEntry], sourceIdType: 'entryId', targetIdType: 'restId' }
    })
    t.equal(tr.json.value[0].errorDetails.code, 'ErrorInvalidMailboxItemId', 'the archive is not reached')
  })

  t.test('message create: MIME is a draft in Drafts; JSON with PidTagMessageFlags is not a draft', async (t) => {
    const mime = Buffer.from('From: Ann <ann@example.org>\r\nTo: alice@contoso.example\r\nSubject: From MIME\r\n' +
      'Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <mime-1@example.org>\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n')
    const draft = await h.call('POST', `${c.user}/messages`, {
      roles: ROLES, body: mime.toString('base64'), headers: { 'content-type': 'text/plain' }
    })
    t.equal(draft.status, 201)
    t.equal(draft.json.isDraft, true, 'Graph creates MIME messages as drafts')
    t.equal(draft.json.subject, 'From MIME')
    const drafts = h.store.requireFolder(h.store.requireMailbox(alice.guid).wellKnown.get('drafts') as string)
    t.ok(h.store.itemsIn(drafts.id).some((i) => i.subject === 'From MIME'), 'stored in Drafts')
    const bad = await h.call('POST', `${c.user}/messages`, {
      roles: ROLES, body: '%%%', headers: { 'content-type': 'text/plain' }
    })
    t.equal(bad.json.error.code, 'ErrorMimeContentInvalidBase64String')

    const json = {
      subject: 'Imported',
      body: { contentType: 'text', content: 'Body' },
      toRecipients: [{ emailAddress: { address: 'alice@contoso.example' } }],
      singleValueExtendedProperties: [
        { id: 'Integer 0x0E07', value: '1' },
        { id: 'SystemTime 0x0E06', value: '2026-03-04T05:06:07Z' }
      ]
    }
    const made = await h.call('POST', `${c.user}/mailFolders/inbox/messages`, { roles: ROLES, body: json })
    t.equal(made.status, 201)
    t.equal(made.json.isDraft, false)
    t.equal(made.json.receivedDateTime, '2026-03-04T05:06:07Z')
    const plain = await h.call('POST', `${c.user}/mailFolders/inbox/messages`, {
      roles: ROLES, body: { subject: 'Plain' }
    })
    t.equal(plain.json.isDraft, true, 'without the flag, a draft')
    // The same item through the mailbox import/export API.
    const inbox = await h.call('GET', `${base}/admin/exchange/mailboxes/${c.mbx}/folders/inbox/items?$top=999&` +
      `$expand=${encodeURIComponent("singleValueExtendedProperties($filter=id eq 'String 0x0037')")}`, { roles: ROLES })
    t.ok(inbox.json.value.some((i: any) => i.singleValueExtendedProperties.some((p: any) => p.value === 'Imported')))
    t.equal((await h.call('POST', `${c.user}/mailFolders/inbox/messages`, {
      roles: ['Mail.Read'], body: json
    })).status, 403, 'creating needs Mail.ReadWrite')
  })

  t.test('events: created in a zone, read in UTC or another zone; contacts', async (t) => {
    const ev = await h.call('POST', `${c.user}/calendar/events`, {
      roles: ROLES,
      body: {
        subject: 'Standup',
        start: { dateTime: '2026-07-01T09:00:00', timeZone: 'W. Europe Standard Time' },
        end: { dateTime: '2026-07-01T09:30:00', timeZone: 'W. Europe Standard Time' },
        location: { displayName: 'Room 1' }
      }
    })
    t.equal(ev.status, 201)
    t.same(conform(ev.json, 'event', 'event'), [])
    t.equal(ev.json.originalStartTimeZone, 'W. Europe Standard Time')
    const utc = await h.call('GET', `${c.user}/events/${ev.json.id as string}`, { roles: ROLES })
    t.equal(utc.json.start.dateTime, '2026-07-01T07:00:00.0000000', 'UTC by default (CEST is UTC+2)')
    const ny = await h.call('GET', `${c.user}/events/${ev.json.id as string}`, {
      roles: ROLES, headers: { prefer: 'outlook.timezone="America/New_York"' }
    })
    t.same(ny.json.start, { dateTime: '2026-07-01T03:00:00.0000000', timeZone: 'America/New_York' })
    const badZone = await h.call('POST', `${c.user}/events`, {
      roles: ROLES,
      body: {
        start: { dateTime: '2026-07-01T09:00:00', timeZone: 'Mars/Olympus' },
        end: { dateTime: '2026-07-01T09:00:00', timeZone: 'UTC' }
      }
    })
    t.equal(badZone.json.error.code, 'TimeZoneNotSupportedException')
    t.equal((await h.call('GET', `${c.user}/events/${ev.json.id as string}`, { roles: ['Mail.Read'] })).status, 403)

    const contact = await h.call('POST', `${c.user}/contacts`, {
      roles: ROLES,
      body: {
        givenName: 'Ann',
        surname: 'Lee',
        emailAddresses: [{ name: 'Ann Lee', address: 'ann@example.org' }],
        businessPhones: ['+1 555 0100'],
        birthday: '1990-04-05T00:00:00Z'
      }
    })
    t.equal(contact.status, 201)
    t.equal(contact.json.displayName, 'Ann Lee')
    t.same(conform(contact.json, 'contact', 'contact'), [])
    const read = await h.call('GET', `${c.user}/contacts/${contact.json.id as string}`, { roles: ROLES })
    t.same(read.json.emailAddresses, [{ name: 'Ann Lee', address: 'ann@example.org' }])
    t.equal(read.json.birthday, '1990-04-05T00:00:00Z')
  })
})
