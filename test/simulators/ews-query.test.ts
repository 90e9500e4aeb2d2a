/**
 * FindItem / FindFolder Restriction and SortOrder in the EWS simulator: what clients commonly
 * send is applied (checked against the store, not the simulator's own code), what is not
 * modelled is refused with Exchange's codes, and every answer validates against the schema.
 */
import t from 'tap'
import { readItemContent } from '../../src/simulators/store/content.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import type { StoreItem } from '../../src/simulators/store/store.js'
import { validateEws } from '../helpers/ews-schema.js'
import {
  codes,
  dfid,
  foldersOf,
  harness,
  itemsOf,
  m,
  messages,
  shape,
  type HttpResult,
  type Xml
} from './ews-test-client.js'

const FIELDS = ['item:Subject', 'item:Size', 'item:DateTimeCreated', 'message:IsRead']
const view = (max = 1000, offset = 0): string =>
  `<m:IndexedPageItemView MaxEntriesReturned="${max}" Offset="${offset}" BasePoint="Beginning"/>`
const uri = (u: string): string => `<t:FieldURI FieldURI="${u}"/>`
const cmp = (op: string, path: string, value: string): string =>
  `<t:${op}>${uri(path)}<t:FieldURIOrConstant><t:Constant Value="${value}"/></t:FieldURIOrConstant></t:${op}>`
const restriction = (expr: string): string => m('Restriction', expr)
const sort = (...orders: Array<[string, 'Ascending' | 'Descending']>): string =>
  m('SortOrder', orders.map(([p, o]) => `<t:FieldOrder Order="${o}">${uri(p)}</t:FieldOrder>`).join(''))

function findItem (parts: {
  restriction?: string
  sort?: string
  extra?: string
  folder?: string
  view?: string
}): string {
  return m(
    'FindItem',
    shape('ItemShape', 'IdOnly', FIELDS) +
      (parts.view ?? view()) +
      (parts.restriction ?? '') +
      (parts.sort ?? '') +
      m('ParentFolderIds', dfid(parts.folder ?? 'inbox')) +
      (parts.extra ?? ''),
    'Traversal="Shallow"'
  )
}

function ids (res: HttpResult): string[] {
  return itemsOf(messages(res.text, 'FindItem')[0].RootFolder.Items).map((i: Xml) => i.ItemId['@Id'] as string)
}

t.test('FindItem and FindFolder apply Restriction and SortOrder, refuse what is not modelled, and stay schema-valid',
  async (t) => {
    const h = await harness(t)
    const { store } = h
    const inbox = store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox')
    const items = store.itemsIn(inbox.id)
    const docs: Array<{ name: string, xml: string }> = []
    const call = async (name: string, body: string): Promise<HttpResult> => {
      const res = await h.call(body)
      docs.push({ name: `${docs.length}-${name}.xml`, xml: res.text })
      t.equal(res.status, 200, name)
      return res
    }
    const expectIds = (list: StoreItem[]): string[] => list.map((i) => i.id)
    const lower = (s: string | undefined): string => (s ?? '').toLowerCase()

    // Unread mail only: a plain IsEqualTo on a boolean.
    const unread = items.filter((i) => !i.isRead)
    t.ok(unread.length > 0 && unread.length < items.length, 'the inbox mixes read and unread items')
    let res = await call('unread', findItem({ restriction: restriction(cmp('IsEqualTo', 'message:IsRead', 'false')) }))
    t.same(ids(res), expectIds(unread), 'IsRead = false: only the unread items')
    t.equal(messages(res.text, 'FindItem')[0].RootFolder['@TotalItemsInView'], String(unread.length))
    res = await call(
      'not-unread',
      findItem({ restriction: restriction(cmp('IsNotEqualTo', 'message:IsRead', 'false')) })
    )
    t.same(ids(res), expectIds(items.filter((i) => i.isRead)))

    // Date ranges, Not, Contains, Or, Exists, comparisons on numbers.
    const sorted = [...items].sort((a, b) => a.created.getTime() - b.created.getTime())
    const middle = sorted[Math.floor(sorted.length / 2)].created.toISOString()
    const word = lower(items[0].subject).split(' ')[0]
    res = await call(
      'and-not-contains',
      findItem({
        restriction: restriction(
          `<t:And>${cmp('IsGreaterThanOrEqualTo', 'item:DateTimeCreated', middle)}` +
            `<t:Not><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase">${uri('item:Subject')}<t:Constant Value="${word.toUpperCase()}"/></t:Contains></t:Not></t:And>`
        )
      })
    )
    t.same(
      ids(res),
      expectIds(items.filter((i) => i.created.toISOString() >= middle && !lower(i.subject).includes(word))),
      'And / Not / Contains'
    )
    t.ok(ids(res).length > 0)
    res = await call(
      'contains-exact-case',
      findItem({
        restriction: restriction(
          `<t:Contains ContainmentMode="Substring" ContainmentComparison="Exact">${uri('item:Subject')}<t:Constant Value="${word.toUpperCase()}"/></t:Contains>`
        )
      })
    )
    t.same(ids(res), [], 'Exact comparison is case-sensitive')
    res = await call(
      'contains-prefixed',
      findItem({
        restriction: restriction(
          `<t:Contains ContainmentMode="Prefixed" ContainmentComparison="IgnoreCase">${uri('item:Subject')}<t:Constant Value="${word}"/></t:Contains>`
        )
      })
    )
    t.same(ids(res), expectIds(items.filter((i) => lower(i.subject).startsWith(word))), 'Prefixed')
    const sizes = items.map((i) => i.size).sort((a, b) => a - b)
    const small = sizes[5]
    const large = sizes[sizes.length - 5]
    res = await call(
      'or-sizes',
      findItem({
        restriction: restriction(
          `<t:Or>${cmp('IsLessThan', 'item:Size', String(small))}${cmp('IsGreaterThan', 'item:Size', String(large))}` +
            `<t:And><t:Exists>${uri('item:Subject')}</t:Exists>${cmp('IsLessThanOrEqualTo', 'item:Size', String(small))}</t:And></t:Or>`
        )
      })
    )
    t.same(
      ids(res),
      expectIds(items.filter((i) => i.size < small || i.size > large || (i.subject !== undefined && i.size <= small))),
      'Or / Exists / number comparisons'
    )
    res = await call(
      'class-importance',
      findItem({
        restriction: restriction(
          `<t:And>${cmp('IsEqualTo', 'item:ItemClass', 'ipm.note')}${cmp('IsEqualTo', 'item:Importance', 'Normal')}` +
            `${cmp('IsEqualTo', 'item:HasAttachments', 'true')}${cmp('IsGreaterThan', 'item:LastModifiedTime', '2000-01-01T00:00:00Z')}</t:And>`
        )
      })
    )
    t.same(
      ids(res),
      expectIds(items.filter((i) => i.itemClass.toLowerCase() === 'ipm.note' && i.hasAttachments &&
        readItemContent(i).importance === 'normal')),
      'ItemClass ignores case; Importance from PidTagImportance'
    )
    res = await call(
      'importance-high',
      findItem({ restriction: restriction(cmp('IsEqualTo', 'item:Importance', 'High')) })
    )
    const high = items.filter((i) => readItemContent(i).importance === 'high')
    t.ok(high.length > 0, 'the seed has items of High importance')
    t.same(ids(res), expectIds(high))

    // Sorting: by Subject (case-insensitive), by Size descending, paging over a restricted, sorted view.
    res = await call('sort-subject', findItem({ sort: sort(['item:Subject', 'Ascending']) }))
    const bySubject = itemsOf(messages(res.text, 'FindItem')[0].RootFolder.Items).map((i: Xml) => lower(i.Subject))
    t.same(bySubject, [...bySubject].sort(), 'sorted by Subject')
    t.not(ids(res).join(), expectIds(items).join(), 'not store order')
    res = await call(
      'sort-size',
      findItem({ sort: sort(['item:Size', 'Descending'], ['item:DateTimeCreated', 'Ascending']) })
    )
    t.same(
      ids(res),
      expectIds([...items].sort((a, b) => b.size - a.size || a.created.getTime() - b.created.getTime())),
      'two-level sort'
    )
    res = await call(
      'restricted-page',
      findItem({
        view: view(3, 2),
        sort: sort(['item:DateTimeCreated', 'Descending']),
        restriction: restriction(cmp('IsEqualTo', 'message:IsRead', 'false'))
      })
    )
    t.same(
      ids(res),
      expectIds([...unread].sort((a, b) => b.created.getTime() - a.created.getTime()).slice(2, 5)),
      'paging applies to the restricted, sorted view'
    )
    t.match(messages(res.text, 'FindItem')[0].RootFolder, {
      '@IndexedPagingOffset': '5',
      '@TotalItemsInView': String(unread.length)
    })

    // Folders: DisplayName, FolderClass, counts.
    const folderCall = async (name: string, expr: string): Promise<string[]> => {
      const r = await call(name, m('FindFolder', shape('FolderShape', 'IdOnly', ['folder:DisplayName']) +
      '<m:IndexedPageFolderView MaxEntriesReturned="100" Offset="0" BasePoint="Beginning"/>' + restriction(expr) +
      m('ParentFolderIds', dfid('msgfolderroot')), 'Traversal="Deep"'))
      return foldersOf(messages(r.text, 'FindFolder')[0].RootFolder.Folders)
        .map((f: Xml) => f.DisplayName as string)
        .sort()
    }
    const tree = store.descendants(store.requireMailbox(DEMO_MAILBOXES.alice.guid).msgRootId)
    t.same(
      await folderCall('folder-name', cmp('IsEqualTo', 'folder:DisplayName', 'projects')),
      ['Projects'],
      'DisplayName, case ignored'
    )
    t.same(
      await folderCall(
        'folder-contains',
        `<t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase">${uri('folder:DisplayName')}<t:Constant Value="draft"/></t:Contains>`
      ),
      tree
        .filter((f) => f.displayName.toLowerCase().includes('draft'))
        .map((f) => f.displayName)
        .sort()
    )
    t.same(
      await folderCall(
        'folder-counts',
        `<t:And>${cmp('IsGreaterThan', 'folder:TotalCount', '5')}${cmp('IsEqualTo', 'folder:FolderClass', 'IPF.Note')}` +
          `${cmp('IsGreaterThanOrEqualTo', 'folder:ChildFolderCount', '0')}</t:And>`
      ),
      tree
        .filter((f) => f.itemIds.length > 5 && f.folderClass === 'IPF.Note')
        .map((f) => f.displayName)
        .sort()
    )

    // Refused the way Exchange refuses what it cannot do: one error message per parent folder, nothing answered
    // as if done.
    const refusals: Array<[string, string, string]> = [
      ['unsupported-path', findItem({ restriction: restriction(cmp('IsEqualTo', 'item:Body', 'x')) }),
        'ErrorUnsupportedPathForQuery'],
      ['extended-path', findItem({
        restriction: restriction('<t:IsEqualTo><t:ExtendedFieldURI PropertyTag="0x0E23" PropertyType="Integer"/>' +
          '<t:FieldURIOrConstant><t:Constant Value="1"/></t:FieldURIOrConstant></t:IsEqualTo>')
      }), 'ErrorUnsupportedPathForQuery'],
      ['unsupported-sort', findItem({ sort: sort(['item:Body', 'Ascending']) }), 'ErrorUnsupportedPathForSortGroup'],
      ['contains-number',
        findItem({ restriction: restriction(`<t:Contains>${uri('item:Size')}<t:Constant Value="1"/></t:Contains>`) }),
        'ErrorContainsFilterWrongType'],
      ['excludes',
        findItem({ restriction: restriction(`<t:Excludes>${uri('item:Size')}<t:Bitmask Value="1"/></t:Excludes>`) }),
        'ErrorUnsupportedQueryFilter'],
      ['bad-date', findItem({ restriction: restriction(cmp('IsGreaterThan', 'item:DateTimeCreated', 'yesterday')) }),
        'ErrorInvalidValueForProperty'],
      ['bad-bool', findItem({ restriction: restriction(cmp('IsEqualTo', 'message:IsRead', 'maybe')) }),
        'ErrorInvalidValueForProperty'],
      ['query-string', findItem({ extra: '<m:QueryString>subject:report</m:QueryString>' }),
        'ErrorUnsupportedQueryFilter'],
      ['fractional-view', m('FindItem', shape('ItemShape', 'IdOnly') +
        '<m:FractionalPageItemView MaxEntriesReturned="10" Numerator="0" Denominator="1"/>' +
      m('ParentFolderIds', dfid('inbox')), 'Traversal="Shallow"'), 'ErrorInvalidOperation'],
      ['folder-path', m('FindFolder', shape('FolderShape', 'IdOnly') +
        restriction(cmp('IsEqualTo', 'folder:UnreadCount', '1')) +
      m('ParentFolderIds', dfid('msgfolderroot')), 'Traversal="Deep"'), 'ErrorUnsupportedPathForQuery']
    ]
    for (const [name, body, code] of refusals) {
      const op = body.startsWith('<m:FindFolder') ? 'FindFolder' : 'FindItem'
      const r = await call(name, body)
      t.same(codes(r.text, op), [code], name)
      t.equal(messages(r.text, op)[0]['@ResponseClass'], 'Error')
    }
    const two = await call(
      'two-parents',
      m(
        'FindItem',
        shape('ItemShape', 'IdOnly') +
          restriction(cmp('IsEqualTo', 'item:Body', 'x')) +
          m('ParentFolderIds', dfid('inbox') + dfid('calendar')),
        'Traversal="Shallow"'
      )
    )
    t.same(
      codes(two.text, 'FindItem'),
      ['ErrorUnsupportedPathForQuery', 'ErrorUnsupportedPathForQuery'],
      'one error per parent'
    )

    // The stallPaging fault: more announced, next offset = the offset asked for.
    h.sim.faults.stallPaging = 1
    res = await call('stall', findItem({ view: view(3, 6) }))
    t.match(messages(res.text, 'FindItem')[0].RootFolder, {
      '@IndexedPagingOffset': '6',
      '@IncludesLastItemInRange': 'false'
    })
    t.equal(h.sim.faults.stallPaging, 0)

    const result = await validateEws(docs)
    t.ok(result.valid, result.errors.slice(0, 20).join('\n'))
    t.equal(result.errors.length, 0)
  })
