/**
 * What every MailboxRegistryStore must do (src/state/store.ts), as one suite each implementation runs
 * (memory now; SQLite and PostgreSQL next): `make` builds a fresh, empty store on the given clock
 * (epoch ms; the store stamps `addedAt` from it).
 */
import { createHash } from 'node:crypto'
import type { Test } from 'tap'
import type { MailboxRegistryStore, RegisteredMailbox } from '../../src/state/store.js'

type Entry = Omit<RegisteredMailbox, 'addedAt'>

/** A registration of `address` (ids derived from it, as the router's are from backend and address). */
export function registration (address: string, extra: Partial<Entry> = {}): Entry {
  const backend = extra.backend ?? 'exo-graph'
  const local = createHash('sha256').update(`${backend}|${address.toLowerCase()}`).digest('hex').slice(0, 16)
  return { address, backend, id: `mbx-p-${local}`, archiveId: `mbx-a-${local}`, ...extra }
}

/** Pages of `store.list` from the start, `limit` at a time; fails past 1000 pages (a store that never ends). */
async function walk (t: Test, store: MailboxRegistryStore, limit: number,
  between?: (n: number) => Promise<void>): Promise<string[][]> {
  const pages: string[][] = []
  let after: string | undefined
  for (let n = 0; ; n++) {
    if (n === 1000) throw new Error('the listing does not end')
    const page = await store.list(after, limit)
    if (page.length === 0) return pages
    t.ok(page.length <= limit, 'at most limit')
    pages.push(page.map((e) => e.address))
    after = page[page.length - 1].address
    await between?.(n)
  }
}

export function mailboxRegistryContract (t: Test,
  make: (clock: { now: number }) => MailboxRegistryStore | Promise<MailboxRegistryStore>): void {
  const fresh = async (t: Test): Promise<{ store: MailboxRegistryStore, clock: { now: number } }> => {
    const clock = { now: Date.parse('2026-07-01T00:00:00Z') }
    const store = await make(clock)
    t.teardown(async () => { await store.close() })
    return { store, clock }
  }

  t.test('add stores a registration once, lower-cased, stamped with the store clock', async (t) => {
    const { store, clock } = await fresh(t)
    const entry = registration('Erin.Example@Contoso.Example', { displayName: 'Erin Example', addedBy: 'ops' })
    const added = await store.add(entry)
    const kept = { ...entry, address: 'erin.example@contoso.example', addedAt: clock.now }
    t.same(added, { status: 'added', entry: kept })
    clock.now += 1000
    t.same(await store.add(registration('erin.example@contoso.example', { backend: 'onprem-ews' })),
      { status: 'exists', entry: kept }, 'the same address in any case exists; the first registration is kept')
    t.same(await store.find('ERIN.EXAMPLE@contoso.example'), kept)
    t.same(await store.list(undefined, 10), [kept])
  })

  t.test('find by address, primary id or archive id; undefined otherwise', async (t) => {
    const { store } = await fresh(t)
    const entry = registration('frank@contoso.example')
    await store.add(entry)
    t.equal((await store.find(entry.id))?.address, 'frank@contoso.example')
    t.equal((await store.find(entry.archiveId.toUpperCase()))?.address, 'frank@contoso.example')
    t.equal(await store.find('nobody@contoso.example'), undefined)
    t.equal(await store.find('mbx-p-nobody'), undefined)
  })

  t.test('registered again on another backend, the old ids find nothing', async (t) => {
    const { store } = await fresh(t)
    const old = registration('fay@contoso.example')
    await store.add(old)
    t.equal(await store.remove('fay@contoso.example'), 'removed')
    const next = registration('fay@contoso.example', { backend: 'onprem-ews' })
    await store.add(next)
    t.equal(await store.find(old.id), undefined)
    t.equal(await store.find(old.archiveId), undefined)
    t.equal((await store.find(next.id))?.backend, 'onprem-ews')
  })

  t.test('values cross the store as copies', async (t) => {
    const { store } = await fresh(t)
    const entry = registration('gina@contoso.example', { displayName: 'Gina' })
    const added = await store.add(entry)
    entry.displayName = 'changed by the caller after add'
    added.entry.displayName = 'changed in the answer'
    const found = await store.find('gina@contoso.example')
    t.equal(found?.displayName, 'Gina')
    if (found !== undefined) found.displayName = 'changed after find'
    t.equal((await store.list(undefined, 1))[0].displayName, 'Gina')
  })

  t.test('remove: removed once, then absent; its ids no longer find it', async (t) => {
    const { store } = await fresh(t)
    const entry = registration('hank@contoso.example')
    await store.add(entry)
    t.equal(await store.remove('HANK@contoso.example'), 'removed')
    t.equal(await store.remove('hank@contoso.example'), 'absent')
    t.equal(await store.find('hank@contoso.example'), undefined)
    t.equal(await store.find(entry.id), undefined)
    t.equal(await store.find(entry.archiveId), undefined)
    t.same(await store.list(undefined, 10), [])
    t.equal((await store.add(entry)).status, 'added', 'and it can be registered again')
  })

  t.test('list pages in code-point order of the addresses, after an address that need not be registered',
    async (t) => {
      const { store } = await fresh(t)
      const addresses = ['zoe@b.example', 'ann@b.example', 'äda@b.example', 'bob@a.example', 'Ann2@b.example',
        'anna@b.example', '1st@b.example']
      for (const a of addresses) await store.add(registration(a))
      const order = ['1st@b.example', 'ann2@b.example', 'ann@b.example', 'anna@b.example', 'bob@a.example',
        'zoe@b.example', 'äda@b.example']
      t.same((await store.list(undefined, 100)).map((e) => e.address), order)
      const pages = await walk(t, store, 3)
      t.same(pages, [order.slice(0, 3), order.slice(3, 6), order.slice(6)])
      t.same((await store.list('ann@b.example', 2)).map((e) => e.address), ['anna@b.example', 'bob@a.example'])
      t.same((await store.list('ANN@B.EXAMPLE', 1)).map((e) => e.address), ['anna@b.example'], 'any letter case')
      t.same((await store.list('anm@zzz', 1)).map((e) => e.address), ['ann2@b.example'], 'not registered')
      t.same((await store.list('zzz', 5)).map((e) => e.address), ['äda@b.example'], 'ä (U+00E4) after z')
      t.same(await store.list('äda@b.example', 5), [], 'past the end')
      // Code points, not UTF-16 code units: U+FF5A (fullwidth z) sorts before U+1F600 (a surrogate pair, 0xD83D…).
      await store.add(registration('\u{1F600}@b.example'))
      await store.add(registration('\uFF5A@b.example'))
      t.same((await store.list('äda@b.example', 5)).map((e) => e.address),
        ['\uFF5A@b.example', '\u{1F600}@b.example'])
    })

  t.test('a page listing sees every registration that stays, while others come and go', async (t) => {
    const { store } = await fresh(t)
    const stay = Array.from({ length: 30 }, (_, i) => `user${String(i).padStart(3, '0')}@contoso.example`)
    for (const a of stay) await store.add(registration(a))
    const seen = (await walk(t, store, 4, async (n) => {
      // Between pages: one added before the cursor, one after it, one removed.
      if (n > 0) await store.remove(`a-new${n - 1}@contoso.example`)
      await store.add(registration(`a-new${n}@contoso.example`))
      await store.add(registration(`user${String(n).padStart(3, '0')}x@contoso.example`))
    })).flat()
    const stayed = seen.filter((a) => stay.includes(a))
    t.same(stayed, stay, 'each once, in order')
    t.equal(new Set(seen).size, seen.length, 'nothing twice')
  })

  t.test('of concurrent adds of one address, exactly one is added', async (t) => {
    const { store } = await fresh(t)
    const results = await Promise.all(Array.from({ length: 8 }, async (_, i) =>
      await store.add(registration('ivy@contoso.example', { displayName: `try ${i}` }))))
    t.equal(results.filter((r) => r.status === 'added').length, 1)
    const kept = results.find((r) => r.status === 'added')?.entry
    t.ok(results.every((r) => r.entry.displayName === kept?.displayName), 'the others see the one kept')
  })

  t.test('many registrations list in order, page by page', async (t) => {
    const { store } = await fresh(t)
    const addresses = Array.from({ length: 500 }, (_, i) => `m${(i * 7919) % 500}@contoso.example`)
    for (const a of addresses) await store.add(registration(a))
    const listed = (await walk(t, store, 128)).flat()
    t.same(listed, [...addresses].sort())
  })
}
