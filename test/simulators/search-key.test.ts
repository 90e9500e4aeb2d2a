/**
 * PidTagSearchKey (0x300B) in the simulators: every item has one, it lives in the item's stream (so export and
 * import carry it), a move keeps it, a stream without one gets a fresh one; EWS answers it as a tagged
 * ExtendedProperty (schema-valid) and Graph through $expand=singleValueExtendedProperties.
 */
import t, { type Test } from 'tap'
import {
  decodeItemStream, PROP, PT_BINARY, summarizeItemStream, withSearchKey
} from '../../src/simulators/store/fts.js'
import { DEMO_MAILBOXES, seedDemoTenant } from '../../src/simulators/store/seed.js'
import { SEARCH_KEY_BYTES } from '../../src/simulators/store/store.js'
import { itemStream } from '../helpers/items.js'
import { validateEws } from '../helpers/ews-schema.js'
import { startHarness } from './graph-helpers.js'
import { fid, harness, iid, itemsOf, m, messages, shape } from './ews-test-client.js'

const keyOfStream = (blob: Buffer): Buffer | undefined => {
  const prop = decodeItemStream(blob).props.find((p) => p.id === PROP.SearchKey && p.type === PT_BINARY)
  return prop?.value as Buffer | undefined
}

t.test('store: seeded keys are deterministic and in the stream; imports, moves and updates keep them', async (t) => {
  const a = seedDemoTenant()
  const b = seedDemoTenant()
  const inbox = a.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
  const items = a.itemsIn(inbox.id)
  const keys = new Set<string>()
  for (const item of [...a.items.values()]) {
    t.equal(item.searchKey.length, SEARCH_KEY_BYTES)
    keys.add(item.searchKey.toString('hex'))
  }
  t.equal(keys.size, a.items.size, 'every seeded item has its own key')
  for (const item of items) {
    t.ok(b.requireItem(item.id).searchKey.equals(item.searchKey), 'same key on every run')
    t.ok(keyOfStream(item.blob())?.equals(item.searchKey), 'the key is in the stream')
  }

  const source = items[0]
  const folder = a.createFolder(inbox.id, 'Keys')
  const copy = a.createItem(folder.id, source.blob())
  t.not(copy.id, source.id)
  t.ok(copy.searchKey.equals(source.searchKey), 'an import takes the key from the stream')
  const moved = a.moveItem(copy.id, inbox.id)
  t.not(moved.id, copy.id, 'a move gives a new id')
  t.ok(moved.searchKey.equals(source.searchKey), 'a move keeps the key')

  const bare = itemStream('no key', 100)
  t.equal(keyOfStream(bare), undefined)
  const one = a.createItem(folder.id, bare)
  const two = a.createItem(folder.id, bare)
  t.equal(one.searchKey.length, SEARCH_KEY_BYTES)
  t.notOk(one.searchKey.equals(two.searchKey), 'a stream without a key gets a fresh one per item')
  t.ok(keyOfStream(one.blob())?.equals(one.searchKey), 'the fresh key is written into the stored stream')
  t.equal(one.size, one.blob().length)
  t.equal(summarizeItemStream(one.blob()).subject, 'no key', 'the rest of the stream is intact')
  const back = a.createItem(folder.id, one.blob())
  t.ok(back.searchKey.equals(one.searchKey), 'and an export of it carries the key on')

  const before = one.searchKey
  a.updateItem(one.id, itemStream('no key, updated', 10))
  t.ok(one.searchKey.equals(before), 'an update with a keyless stream keeps the item key')
  t.ok(keyOfStream(one.blob())?.equals(before))
  a.updateItem(one.id, source.blob())
  t.ok(one.searchKey.equals(source.searchKey), 'an update with a keyed stream takes its key')

  const replaced = withSearchKey(source.blob(), Buffer.alloc(16, 1))
  t.equal(replaced.length, source.blob().length, 'replacing a key keeps the length')
  t.ok(keyOfStream(replaced)?.equals(Buffer.alloc(16, 1)))
  t.equal(withSearchKey(source.blob(), source.searchKey), source.blob(), 'the same key: the very same stream')
})

const SEARCH_KEY_URI = '<t:ExtendedFieldURI PropertyTag="0x300B" PropertyType="Binary"/>'
const keyShape = (extra = SEARCH_KEY_URI): string => m('ItemShape',
  '<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>' +
  `${extra}</t:AdditionalProperties>`)

/** The base64 value of the 0x300B ExtendedProperty of a parsed item, checking the echoed path. */
function keyOf (t: Test, item: any): string | undefined {
  const props = item.ExtendedProperty === undefined ? [] : [item.ExtendedProperty].flat()
  t.ok(props.length <= 1)
  if (props.length === 0) return undefined
  t.same(props[0].ExtendedFieldURI, { '@PropertyTag': '0x300b', '@PropertyType': 'Binary' })
  t.equal(props[0].Value.length, 1, 'one Value')
  return props[0].Value[0]
}

t.test('EWS: FindItem, GetItem and SyncFolderItems answer PidTagSearchKey when asked; schema-valid', async (t) => {
  const h = await harness(t)
  const inbox = h.store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
  const stored = h.store.itemsIn(inbox.id)
  const docs: Array<{ name: string, xml: string }> = []

  const find = await h.call(m('FindItem', keyShape() +
    '<m:IndexedPageItemView MaxEntriesReturned="5" Offset="0" BasePoint="Beginning"/>' +
    m('ParentFolderIds', fid(inbox.id)), 'Traversal="Shallow"'))
  docs.push({ name: 'find.xml', xml: find.text })
  const found = itemsOf(messages(find.text, 'FindItem')[0].RootFolder.Items)
  t.equal(found.length, 5)
  for (const item of found) {
    t.equal(keyOf(t, item), h.store.requireItem(item.ItemId['@Id']).searchKey.toString('base64'))
  }

  // Decimal PropertyTag (12299 = 0x300B) is the same property; one the store does not have is left out.
  const get = await h.call(m('GetItem', keyShape('<t:ExtendedFieldURI PropertyTag="12299" PropertyType="Binary"/>' +
    '<t:ExtendedFieldURI PropertyTag="0x6666" PropertyType="String"/>') + m('ItemIds', iid(stored[1].id))))
  docs.push({ name: 'get.xml', xml: get.text })
  const got = itemsOf(messages(get.text, 'GetItem')[0].Items)
  t.equal(keyOf(t, got[0]), stored[1].searchKey.toString('base64'))

  const plain = await h.call(m('GetItem', shape('ItemShape', 'AllProperties') + m('ItemIds', iid(stored[1].id))))
  t.equal(itemsOf(messages(plain.text, 'GetItem')[0].Items)[0].ExtendedProperty, undefined, 'only when asked')

  const sync = await h.call(m('SyncFolderItems', keyShape() + m('SyncFolderId', fid(inbox.id)) +
    '<m:MaxChangesReturned>4</m:MaxChangesReturned>'))
  docs.push({ name: 'sync.xml', xml: sync.text })
  const creates = [messages(sync.text, 'SyncFolderItems')[0].Changes.Create].flat()
  t.equal(creates.length, 4)
  for (const c of creates) {
    const item = itemsOf(c)[0]
    t.equal(keyOf(t, item), h.store.requireItem(item.ItemId['@Id']).searchKey.toString('base64'))
  }

  const result = await validateEws(docs)
  t.ok(result.valid, result.errors.slice(0, 20).join('\n'))
})

t.test('Graph: items listing and get item expand Binary 0x300B, alone or with the subject', async (t) => {
  const h = await startHarness(t)
  const alice = h.sim.mailboxId(DEMO_MAILBOXES.alice.guid)
  const base = `${h.sim.url}/v1.0/admin/exchange/mailboxes/${alice}/folders/inbox/items`
  const both = encodeURIComponent("singleValueExtendedProperties($filter=id eq 'String 0x0037' or id eq " +
    "'Binary 0x300B')")
  const list = await h.call('GET', `${base}?$top=3&$select=id,size&$expand=${both}`)
  t.equal(list.status, 200)
  t.equal(list.json.value.length, 3)
  for (const entry of list.json.value) {
    const item = h.store.requireItem(entry.id.replace(/-/g, '+').replace(/_/g, '/'))
    t.same(entry.singleValueExtendedProperties, [
      { id: 'String 0x37', value: item.subject },
      { id: 'Binary 0x300b', value: item.searchKey.toString('base64') }
    ])
  }
  const first = list.json.value[0]
  const one = await h.call('GET',
    `${base}/${first.id}?$expand=singleValueExtendedProperties($filter=id eq 'Binary 0x300b')`)
  t.equal(one.status, 200)
  t.same(one.json.singleValueExtendedProperties, [first.singleValueExtendedProperties[1]])
})
