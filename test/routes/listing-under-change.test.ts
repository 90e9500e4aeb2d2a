/**
 * Listings while the mailbox changes, through the public API in demo mode: an item or
 * folder present during the whole listing is listed exactly once, pages never hold more
 * than pageSize entries, and a backend answer that cannot advance is a 502, never a
 * silent end. Both backends where the scenario applies.
 */
import t, { type Test } from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { seedItemStream } from '../../src/simulators/store/seed.js'

type App = Awaited<ReturnType<typeof buildTestGateway>>['app']
interface ItemsPage { items: Array<{ id: string, subject?: string }>, nextPageToken?: string }
interface FoldersPage { folders: Array<{ id: string, displayName: string }>, nextPageToken?: string }

const BASE = Date.parse('2024-03-01T09:00:00Z')

/** A full-fidelity item stream whose creation time is `minutes` after BASE. */
function itemData (subject: string, minutes: number): string {
  const created = new Date(BASE + minutes * 60_000)
  return seedItemStream({
    key: subject,
    itemClass: 'IPM.Note',
    subject,
    created,
    modified: created,
    size: 600,
    attachment: false
  })
    .blob()
    .toString('base64')
}

async function importInto (t: Test, app: App, mailbox: string, folderId: string,
  items: Array<[string, number]>): Promise<void> {
  const res = await app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(mailbox)}/items:import`,
    payload: {
      items: items.map(([subject, minutes]) => ({ folderId, mode: 'create', data: itemData(subject, minutes) }))
    }
  })
  t.equal(json<{ succeeded: number }>(res).succeeded, items.length, res.body)
}

async function itemsPage (t: Test, app: App, mailbox: string, folderId: string, token?: string): Promise<ItemsPage> {
  const q = token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''
  const res = await app.inject({
    method: 'GET',
    url: `/mailboxes/${encodeURIComponent(mailbox)}/folders/${encodeURIComponent(folderId)}/items?pageSize=3${q}`
  })
  t.equal(res.statusCode, 200, res.body)
  return json<ItemsPage>(res)
}

async function foldersPage (t: Test, app: App, mailbox: string, token?: string): Promise<FoldersPage> {
  const q = token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''
  const res = await app.inject({
    method: 'GET',
    url: `/mailboxes/${encodeURIComponent(mailbox)}/folders?pageSize=3${q}`
  })
  t.equal(res.statusCode, 200, res.body)
  return json<FoldersPage>(res)
}

for (const [kind, mailbox] of [['EWS', MAILBOXES.ews.primary], ['Graph', MAILBOXES.graph.primary]] as const) {
  t.test(`${kind}: items imported during an item listing, sorting before what was read, cause no repeat or skip`,
    async (t) => {
      const { app } = await buildTestGateway(t)
      const folder = json<{ id: string }>(
        await app.inject({
          method: 'POST',
          url: `/mailboxes/${encodeURIComponent(mailbox)}/folders`,
          payload: { displayName: 'Listing under change' }
        })
      )
      const originals = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']
      await importInto(t, app, mailbox, folder.id, originals.map((s, i): [string, number] => [s, 100 + i]))

      const first = await itemsPage(t, app, mailbox, folder.id)
      t.equal(first.items.length, 3)
      t.ok(first.nextPageToken, 'more to come')
      await importInto(t, app, mailbox, folder.id, [['n1', 1], ['n2', 2], ['n3', 3]])

      const seen = [...first.items]
      let token = first.nextPageToken
      let pages = 1
      while (token !== undefined && pages < 20) {
        const page = await itemsPage(t, app, mailbox, folder.id, token)
        t.ok(page.items.length <= 3, `page ${pages + 1} holds at most pageSize items`)
        seen.push(...page.items)
        token = page.nextPageToken
        pages++
      }
      t.equal(token, undefined, 'the listing ends')
      const ids = seen.map((i) => i.id)
      t.equal(new Set(ids).size, ids.length, `no item listed twice: ${seen.map((i) => i.subject).join(',')}`)
      const subjects = seen.map((i) => i.subject)
      for (const s of originals) t.equal(subjects.filter((x) => x === s).length, 1, `${s} listed exactly once`)
    })

  t.test(`${kind}: folders created and deleted during a folder listing cause no repeat or skip of the others`,
    async (t) => {
      const { app } = await buildTestGateway(t)
      const base = `/mailboxes/${encodeURIComponent(mailbox)}/folders`
      const doomed = new Set<string>()
      for (const name of ['Doomed 1', 'Doomed 2', 'Doomed 3']) {
        doomed.add(
          json<{ id: string }>(
            await app.inject({ method: 'POST', url: base, payload: { displayName: name, parentId: 'inbox' } })
          ).id
        )
      }
      // Read pages until one holds a folder made for this test, then change the tree everywhere: new folders
      // under inbox and the root, and that folder (already listed) and the other test folders gone.
      const seen: FoldersPage['folders'] = []
      let token: string | undefined
      let pages = 0
      do {
        const page = await foldersPage(t, app, mailbox, token)
        t.ok(page.folders.length <= 3, `page ${pages + 1} holds at most pageSize folders`)
        seen.push(...page.folders)
        token = page.nextPageToken
        pages++
      } while (token !== undefined && !seen.some((f) => doomed.has(f.id)))
      t.ok(token, 'a page with a test folder was read before the end')
      for (const [name, parentId] of [['New A', 'inbox'], ['New B', 'root'], ['New C', 'root']]) {
        t.equal(
          (await app.inject({ method: 'POST', url: base, payload: { displayName: name, parentId } })).statusCode,
          201
        )
      }
      for (const id of doomed) {
        t.equal((await app.inject({
          method: 'DELETE',
          url: `${base}/${encodeURIComponent(id)}`
        })).statusCode, 204)
      }

      while (token !== undefined && pages < 200) {
        const page = await foldersPage(t, app, mailbox, token)
        t.ok(page.folders.length <= 3, `page ${pages + 1} holds at most pageSize folders`)
        seen.push(...page.folders)
        token = page.nextPageToken
        pages++
      }
      t.equal(token, undefined, 'the listing ends')
      const ids = seen.map((f) => f.id)
      t.equal(new Set(ids).size, ids.length, 'no folder listed twice')
      // Every folder present during the whole listing: today's full listing minus those created after page 1.
      let all: FoldersPage['folders'] = []
      let tok: string | undefined
      do {
        const res = json<FoldersPage>(
          await app.inject({
            method: 'GET',
            url: `${base}?pageSize=500${tok !== undefined ? `&pageToken=${encodeURIComponent(tok)}` : ''}`
          })
        )
        all = all.concat(res.folders)
        tok = res.nextPageToken
      } while (tok !== undefined)
      const stable = all.filter((f) => !f.displayName.startsWith('New '))
      const missing = stable.filter((f) => !ids.includes(f.id)).map((f) => f.displayName)
      t.same(missing, [], 'no folder present throughout is skipped')
    })
}

t.test('EWS: a FindItem/FindFolder answer that says more exists but does not advance is a 502, not a silent end',
  async (t) => {
    const { app, sims } = await buildTestGateway(t)
    const mailbox = encodeURIComponent(MAILBOXES.ews.primary)
    sims.ews.faults.stallPaging = 1
    const items = await app.inject({ method: 'GET', url: `/mailboxes/${mailbox}/folders/inbox/items?pageSize=3` })
    t.equal(items.statusCode, 502, items.body)
    t.equal(json<{ code: string }>(items).code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
    t.equal(sims.ews.faults.stallPaging, 0, 'the knob was used')

    sims.ews.faults.stallPaging = 1
    const folders = await app.inject({ method: 'GET', url: `/mailboxes/${mailbox}/folders?pageSize=3` })
    t.equal(folders.statusCode, 502, folders.body)
    t.equal(json<{ code: string }>(folders).code, 'MBG_ERR_UPSTREAM_BAD_RESPONSE')
  })
