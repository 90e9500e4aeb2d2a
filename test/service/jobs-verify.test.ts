/**
 * The verification's comparison of one folder and its grade (src/service/jobs/verify.ts), on listings made up here:
 * items are matched by search key; target items the job never wrote (not in its ledger) whose key no source item
 * has are `unrelated` and do not lower the grade, while the job's own items without a source, and duplicates, are
 * `extra`. The same over the simulators, with a job: test/service/jobs-reconcile.test.ts.
 */
import t from 'tap'
import type { ItemSummary } from '../../src/backends/mailbox-backend.js'
import { compareFolder, gradeOf, totalsOf } from '../../src/service/jobs/verify.js'
import type { VerificationFolder } from '../../src/service/jobs/types.js'

let n = 0
/** A listed item with search key `key` (none when undefined) and `size` bytes. */
function item (key: string | undefined, size = 100, id = `i${n++}`): ItemSummary {
  return { id, changeKey: 'ck', itemClass: 'IPM.Note', size, ...(key !== undefined ? { searchKey: key } : {}) }
}

/** A folder of the comparison, for gradeOf. */
function folder (source: ItemSummary[], target: ItemSummary[], owned: string[] = []): VerificationFolder {
  return { path: 'F', sourceId: 'sf', targetId: 'tf', ...compareFolder(source, target, new Set(owned)) }
}

/** Source items k0…k{count-1}, and the job's copies of them on the target (their ids owned). */
function copied (count: number): { source: ItemSummary[], target: ItemSummary[], owned: string[] } {
  const source = Array.from({ length: count }, (_, i) => item(`k${i}`))
  const target = source.map((s) => item(s.searchKey, s.size))
  return { source, target, owned: target.map((i) => i.id) }
}

t.test('target items the job never wrote, whose key no source item has, are unrelated: still Perfect', async (t) => {
  const { source, target, owned } = copied(40)
  const before = [item('old-1'), item('old-2'), item('old-3', 5000), item(undefined)]
  const f = folder(source, [...before, ...target], owned)
  t.match(f, { missing: 0, extra: 0, sizeMismatch: 0, unverifiable: 0, unrelated: 4 })
  t.same(f.target, { items: 44, bytes: 44 * 100 - 100 + 5000 }, 'every target item is counted in its side')
  t.equal(gradeOf([f]), 'Perfect')
  t.match(totalsOf([f, f]), { missing: 0, extra: 0, unrelated: 8, source: { items: 80 }, target: { items: 88 } })
})

t.test('a copied item deleted on the target is missing, whatever else the target holds', async (t) => {
  const { source, target, owned } = copied(40)
  const before = [item('old-1'), item('old-2'), item('old-3')]
  const f = folder(source, [...before, ...target.slice(1)], owned)
  t.match(f, { missing: 1, extra: 0, unrelated: 3 })
  t.equal(gradeOf([f]), 'Investigate', 'one of 40: within the tolerance')
  const worse = folder(source, [...before, ...target.slice(5)], owned)
  t.match(worse, { missing: 5, extra: 0, unrelated: 3 })
  t.equal(gradeOf([worse]), 'Poor')
})

t.test('the job\'s own items whose source is gone are extra; duplicates are extra, whoever wrote them', async (t) => {
  const { source, target, owned } = copied(40)
  const before = [item('old-1'), item('old-2'), item('old-3')]
  // Two source items deleted since they were copied: their copies are the job's, with no source.
  const gone = folder(source.slice(2), [...before, ...target], owned)
  t.match(gone, { missing: 0, extra: 2, unrelated: 3 })
  t.equal(gradeOf([gone]), 'Investigate', '2 extra of 38: above the tolerance')
  // The job wrote one item twice (both ids in its ledger), and another copy of one is there besides.
  const twice = item('k7', 100)
  const stranger = item('k8', 100)
  const dup = folder(source, [...before, ...target, twice, stranger], [...owned, twice.id])
  t.match(dup, { missing: 0, extra: 2, sizeMismatch: 0, unrelated: 3 })
  t.equal(gradeOf([dup]), 'Investigate')
  const one = folder(source, [...before, ...target, twice], [...owned, twice.id])
  t.match(one, { extra: 1, unrelated: 3 })
  t.equal(gradeOf([one]), 'Good', 'one duplicate of 40: within the tolerance, not Perfect')
})

t.test('items without a search key: the job\'s are unverifiable, others unrelated', async (t) => {
  // A target whose listing carries no keys: the job's copies cannot be matched, but they are the job's.
  const source = Array.from({ length: 10 }, (_, i) => item(`k${i}`))
  const copies = source.map((s) => item(undefined, s.size))
  const before = [item(undefined), item(undefined)]
  const f = folder(source, [...before, ...copies], copies.map((i) => i.id))
  t.match(f, { missing: 0, extra: 0, unverifiable: 10, unrelated: 2 })
  const short = folder(source, [...before, ...copies.slice(1)], copies.map((i) => i.id))
  t.match(short, { missing: 1, extra: 0, unverifiable: 9, unrelated: 2 },
    'items the job never wrote give no benefit of the doubt to a missing one')
  t.equal(gradeOf([short]), 'Investigate')
  // Source items without a key: as many of the job's unmatched target items are not counted extra.
  const keyless = [item(undefined), item('k1')]
  const mine = [item('x-1'), item('k1')]
  t.match(folder(keyless, mine, mine.map((i) => i.id)), { missing: 0, extra: 0, unverifiable: 1, unrelated: 0 })
})

t.test('without ownership every unmatched target item is unrelated; sizes still compared', async (t) => {
  const source = [item('a', 10), item('b', 20)]
  const target = [item('a', 10), item('b', 25), item('c', 30)]
  t.match(compareFolder(source, target), { missing: 0, extra: 0, sizeMismatch: 1, unrelated: 1 })
})

t.test('totals add up the folders (a folder of an older gateway without unrelated counts 0)', async (t) => {
  const a = folder([item('a')], [item('a'), item('z')])
  const { unrelated: _, ...old } = folder([item('b', 7)], [])
  t.same(totalsOf([a, old]), {
    source: { items: 2, bytes: 107 },
    target: { items: 2, bytes: 200 },
    missing: 1,
    extra: 0,
    sizeMismatch: 0,
    unverifiable: 0,
    unrelated: 1
  })
})
