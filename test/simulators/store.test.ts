import t from 'tap'
import {
  decodeItemStream,
  encodeItemStream,
  FtsFormatError,
  summarizeItemStream,
  PROP,
  PT_UNICODE_CP1200,
  PT_INT32,
  PT_BINARY,
  MARKER
} from '../../src/simulators/store/fts.js'
import { isParseableChangeKey, parseId, StoreError } from '../../src/simulators/store/store.js'
import { seedDemoTenant, DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'

t.test('item streams: encode/decode round trip and strict validation', async (t) => {
  const msg = {
    props: [
      { type: PT_UNICODE_CP1200, id: PROP.MessageClass, value: 'IPM.Note' },
      { type: PT_UNICODE_CP1200, id: PROP.Subject, value: 'Grüße ✓' }
    ],
    recipients: [[{ type: PT_INT32, id: PROP.RecipientType, value: 1 }]],
    attachments: [[{ type: PT_BINARY, id: PROP.AttachDataBinary, value: Buffer.from([1, 2, 3]) }]]
  }
  const buf = encodeItemStream(msg)
  // Same header layout as Exchange's own export data: version 1, header size 8, one named-property section.
  t.equal(buf.subarray(0, 24).toString('base64'), 'AQAAAAgAAAAAAAAAAQAAAAMAAAAYAAAA')
  const back = decodeItemStream(buf)
  t.same(back.props.map((p) => p.value), ['IPM.Note', 'Grüße ✓'])
  t.equal(back.recipients.length, 1)
  t.same([...(back.attachments[0][0].value as Buffer)], [1, 2, 3])
  t.equal(buf.readUInt32LE(buf.length - 4), MARKER.EndMessage)
  t.match(summarizeItemStream(buf), { itemClass: 'IPM.Note', subject: 'Grüße ✓', attachmentCount: 1 })

  t.throws(() => decodeItemStream(buf.subarray(0, buf.length - 1)), FtsFormatError, 'truncated')
  t.throws(() => decodeItemStream(Buffer.concat([buf, Buffer.from([0])])), FtsFormatError, 'trailing bytes')
  t.throws(() => decodeItemStream(Buffer.from('not a stream at all')), FtsFormatError, 'garbage')
  const noClass = encodeItemStream({ props: [], recipients: [], attachments: [] })
  t.throws(() => summarizeItemStream(noClass), FtsFormatError, 'no message class')
})

t.test('demo tenant: deterministic, realistic, well-formed', async (t) => {
  const a = seedDemoTenant()
  const b = seedDemoTenant()
  t.same([...a.items.keys()], [...b.items.keys()], 'same ids every run')
  const ewsGuids = new Set<string>([DEMO_MAILBOXES.alice.guid, DEMO_MAILBOXES.alice.archive, DEMO_MAILBOXES.bob.guid])
  const ewsItems = [...a.items.values()].filter((i) => ewsGuids.has(i.mailboxGuid))
  t.ok(ewsItems.length >= 300, `${ewsItems.length} items in the EWS mailboxes`)
  const classes = new Set(ewsItems.map((i) => i.itemClass))
  for (const c of ['IPM.Note', 'IPM.Appointment', 'IPM.Contact', 'IPM.Task']) t.ok(classes.has(c), c)
  const sizes = ewsItems.map((i) => i.size)
  t.ok(Math.min(...sizes) >= 1024 && Math.min(...sizes) < 2048, 'smallest ~1 KB')
  t.equal(Math.max(...sizes), 5 * 1024 * 1024, 'largest 5 MB')
  t.ok(ewsItems.some((i) => i.hasAttachments))
  let checked = 0
  for (const item of a.items.values()) {
    const blob = item.blob()
    t.equal(blob.length, item.size)
    if (checked++ < 50) t.ok(blob.equals(b.requireItem(item.id).blob()), 'same bytes every run')
    t.equal(summarizeItemStream(blob).itemClass, item.itemClass)
  }
  for (const id of [...a.items.keys()].slice(0, 20)) t.match(id, /^[A-Za-z0-9+/]+=*$/)
  t.ok([...a.items.keys()].some((id) => id.includes('/') || id.includes('+')), 'ids need URL-safe re-encoding')
  const archive = a.requireMailbox(DEMO_MAILBOXES.alice.archive)
  t.equal(archive.primaryGuid, DEMO_MAILBOXES.alice.guid)
  t.equal(
    a.requireMailbox(DEMO_MAILBOXES.dave.archive).auxGuids.length,
    1,
    'auto-expanded archive has an auxiliary mailbox'
  )
})

t.test('store: ids, change keys, folders, items and change tracking', async (t) => {
  const s = seedDemoTenant()
  const alice = s.mailboxBySmtp('ALICE@contoso.example')
  t.ok(alice)
  const inbox = s.wellKnownFolder(alice!.guid, 'inbox')
  t.match(parseId(inbox.id), { mailboxGuid: alice!.guid, kind: 'folder' })
  t.throws(() => parseId('abc'), StoreError)
  t.ok(isParseableChangeKey(inbox.changeKey))
  t.notOk(isParseableChangeKey('%%%'))

  const since = s.sequence
  const f = s.createFolder(inbox.id, 'New')
  t.throws(() => s.createFolder(inbox.id, 'new'), { code: 'FolderExists' })
  t.throws(() => s.deleteFolder(inbox.id), { code: 'DeleteDistinguishedFolder' })
  const item = s.itemsIn(inbox.id)[0]
  const copy = s.createItem(f.id, item.blob())
  t.ok(copy.blob().equals(item.blob()), 'byte-identical copy')
  t.throws(() => s.createItem(f.id, Buffer.from('junk')), { code: 'CorruptData' })
  const ck = copy.changeKey
  s.updateItem(copy.id, item.blob(), ck)
  t.not(copy.changeKey, ck, 'change key changes on update')
  t.throws(() => s.updateItem(copy.id, item.blob(), ck), { code: 'ChangeKeyMismatch' })
  t.same(
    s.changesSince(alice!.guid, since, { kind: 'item', folderId: f.id }).map((c) => c.op),
    ['create'],
    'create+update collapse to create'
  )
  const mid = s.sequence
  s.deleteItem(copy.id)
  t.same(s.changesSince(alice!.guid, mid, { kind: 'item', folderId: f.id }).map((c) => c.op), ['delete'])
  s.renameFolder(f.id, 'Renamed')
  t.ok(s.changesSince(alice!.guid, mid, { kind: 'folder' }).some((c) => c.id === f.id && c.op === 'update'))
  const beforeMove = s.sequence
  const bin = s.wellKnownFolder(alice!.guid, 'deleteditems')
  s.moveFolder(f.id, bin.id)
  t.equal(s.requireFolder(f.id).parentId, bin.id)
  t.notOk(inbox.childIds.includes(f.id))
  t.same(
    new Set(s.changesSince(alice!.guid, beforeMove, { kind: 'folder' }).map((c) => c.id)),
    new Set([f.id, inbox.id, bin.id]),
    'the folder and both parents changed'
  )
  t.throws(() => s.moveFolder(inbox.id, bin.id), { code: 'DeleteDistinguishedFolder' })
  const child = s.createFolder(f.id, 'Child')
  t.throws(() => s.moveFolder(f.id, child.id), { code: 'InvalidName' }, 'not below itself')
})
