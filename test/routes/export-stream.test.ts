/**
 * Streaming export, what it answers (both backends, through inject): every line validates against the
 * document's ExportLine; a whole mailbox (root with its subtree) is every item of every folder, each once;
 * resuming from any line's cursor (across listing pages, and after an item already delivered was deleted)
 * delivers the rest exactly once; cursors of another export or altered ones are a 400; the audit record counts.
 * The 5,000-item run over a real socket is test/helpers/export-stream.ts.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { buildTestGateway, MAILBOXES, type TestGateway } from '../helper.js'
import { OPENAPI_PATH } from '../../src/cli/openapi.js'
import { isStrictBase64 } from '../../src/base64.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { itemStream } from '../helpers/items.js'
import { storeIdOf } from '../soak/driver.js'

const GUID = { ews: DEMO_MAILBOXES.alice.guid, graph: DEMO_MAILBOXES.carol.guid } as const

const ajv = new Ajv({ strict: false, allErrors: true })
addFormats.default(ajv)
// As test/helpers/openapi-contract.ts: ajv-formats' `byte` regex overflows V8's stack on multi-megabyte streams.
ajv.addFormat('byte', isStrictBase64)
ajv.addSchema({ ...JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')), $id: 'openapi.json' })
const validLine = ajv.compile({ $ref: 'openapi.json#/components/schemas/ExportLine' })

interface Line {
  type: 'item' | 'error' | 'progress' | 'summary'
  itemId?: string
  folderId?: string
  folder?: string
  done?: number
  total?: number
  complete?: boolean
  succeeded?: number
  cursor: string
}

async function exportLines (gw: TestGateway, mbx: string, folder: string, body: object):
Promise<{ status: number, lines: Line[], body: string }> {
  const res = await gw.app.inject({
    method: 'POST',
    url: `/mailboxes/${encodeURIComponent(mbx)}/folders/${encodeURIComponent(folder)}/items:export`,
    payload: body
  })
  if (res.statusCode !== 200) return { status: res.statusCode, lines: [], body: res.body }
  const text = res.body
  return { status: 200, lines: text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line), body: text }
}

const ids = (lines: Line[]): string[] => lines.filter((l) => l.type === 'item').map((l) => l.itemId as string)

for (const type of ['ews', 'graph'] as const) {
  const mbx = MAILBOXES[type].primary

  t.test(`${type}: a whole mailbox is every item of every folder, once; every line validates`, async (t) => {
    const gw = await buildTestGateway(t)
    const { status, lines, body } = await exportLines(gw, mbx, 'root', { subtree: true })
    t.equal(status, 200)
    t.ok(body.endsWith('\n'), 'the answer ends with a complete line')
    const invalid = lines.filter((l) => !validLine(l))
    t.same(invalid.slice(0, 3), [], 'every line validates against ExportLine')
    const last = lines.at(-1)
    t.equal(last?.type, 'summary', 'the last line is the summary')
    t.equal(last?.complete, true, 'complete')
    t.equal(lines.filter((l) => l.type === 'summary').length, 1, 'one summary')

    // What the listings say: every folder below root (all pages), and root itself.
    const folders: string[] = []
    let pageToken: string | undefined
    do {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/mailboxes/${encodeURIComponent(mbx)}/folders?pageSize=1000${pageToken !== undefined ? `&pageToken=${pageToken}` : ''}`
      })
      const page = JSON.parse(res.body) as { folders: Array<{ id: string }>, nextPageToken?: string }
      folders.push(...page.folders.map((f) => f.id))
      pageToken = page.nextPageToken
    } while (pageToken !== undefined)
    const listed: string[] = []
    for (const folder of ['root', ...folders]) {
      let token: string | undefined
      do {
        const res = await gw.app.inject({
          method: 'GET',
          url: `/mailboxes/${encodeURIComponent(mbx)}/folders/${encodeURIComponent(folder)}/items?pageSize=1000` +
            (token !== undefined ? `&pageToken=${token}` : '')
        })
        const page = JSON.parse(res.body) as { items: Array<{ id: string }>, nextPageToken?: string }
        listed.push(...page.items.map((i) => i.id))
        token = page.nextPageToken
      } while (token !== undefined)
    }
    const exported = ids(lines)
    t.ok(exported.length > 50, `${exported.length} items exported`)
    t.equal(new Set(exported).size, exported.length, 'no item twice')
    t.same([...exported].sort(), [...listed].sort(), 'exactly the items the folder listings hold')
    t.equal(last?.succeeded, exported.length, 'the summary counts them')
    const progressFolders = new Set(lines.filter((l) => l.type === 'progress').map((l) => l.folder))
    t.equal(progressFolders.size, folders.length + 1, 'a progress line for every folder and root')

    const record = gw.audit().at(-1)
    t.equal(record?.event, 'items.export')
    t.same(record?.items, { requested: exported.length, succeeded: exported.length, failed: 0 }, 'audited counts')
    t.ok((record?.bytes ?? 0) > 0, 'audited bytes')
    t.equal(record?.complete, true)
  })

  t.test(`${type}: resuming from any line's cursor delivers the rest exactly once`, async (t) => {
    const gw = await buildTestGateway(t)
    const { store } = gw.sims
    const folder = store.createFolder(store.wellKnownFolder(GUID[type], 'inbox').id, 'Resume 250')
    const base = Date.parse('2026-02-01T00:00:00Z')
    for (let i = 0; i < 250; i++) {
      store.createItem(folder.id, itemStream(`resume-${i}`, 200), { created: new Date(base + i * 1000) })
    }
    const children = await gw.app.inject({
      method: 'GET', url: `/mailboxes/${encodeURIComponent(mbx)}/folders?parentId=inbox`
    })
    const folderId = (JSON.parse(children.body) as { folders: Array<{ id: string, displayName: string }> }).folders
      .find((f) => f.displayName === 'Resume 250')?.id as string

    const full = await exportLines(gw, mbx, folderId, {})
    const all = ids(full.lines)
    t.equal(all.length, 250, 'the whole folder')
    t.ok(full.lines.some((l) => l.type === 'progress' && l.done === 100), 'progress after the first page')

    const itemLine = (n: number): number => {
      let seen = 0
      return full.lines.findIndex((l) => l.type === 'item' && ++seen === n)
    }
    // Cut after: the first line, items 1, 99, 100, 101 (around the first page's end), the progress line after
    // page one, the last item, the summary's predecessor.
    const cuts = [0, itemLine(1), itemLine(99), itemLine(100), itemLine(101),
      full.lines.findIndex((l) => l.type === 'progress' && l.done === 100), itemLine(250), full.lines.length - 2]
    for (const k of cuts) {
      const before = ids(full.lines.slice(0, k + 1))
      const rest = await exportLines(gw, mbx, folderId, { cursor: full.lines[k].cursor })
      t.equal(rest.status, 200)
      const after = ids(rest.lines)
      const both = [...before, ...after]
      t.same(both, all, `cut after line ${k} (${before.length} items): the rest once, in order`)
      t.equal(rest.lines.at(-1)?.complete, true)
    }

    // An item already delivered, in front of the cursor in its page, is deleted: nothing after it is skipped.
    const k = itemLine(150)
    const gone = all[119]
    store.deleteItem(storeIdOf(type, gone))
    const rest = await exportLines(gw, mbx, folderId, { cursor: full.lines[k].cursor })
    t.same(ids(rest.lines), all.slice(150), 'after a deletion in front of the cursor: items 151–250, none skipped')

    // Cursors of another export, or altered, are refused before anything streams.
    const other = await exportLines(gw, mbx, folderId, { subtree: true, cursor: full.lines[k].cursor })
    t.equal(other.status, 400, 'the cursor of the folder alone does not resume its subtree')
    const elsewhere = await exportLines(gw, mbx, 'inbox', { cursor: full.lines[k].cursor })
    t.equal(elsewhere.status, 400, 'nor an export of another folder')
    const c = full.lines[k].cursor
    const flipped = `${c.slice(0, 10)}${c[10] === 'A' ? 'B' : 'A'}${c.slice(11)}`
    const altered = await exportLines(gw, mbx, folderId, { cursor: flipped })
    t.equal(altered.status, 400, 'an altered cursor is a 400')
    t.match(JSON.parse(altered.body), { code: 'MBG_ERR_BAD_REQUEST' })
  })
}

t.test('an unknown folder is a problem answer, not a stream', async (t) => {
  const gw = await buildTestGateway(t)
  const res = await exportLines(gw, MAILBOXES.graph.primary, 'AAMkAGI2TG93AAA=', {})
  t.ok(res.status >= 400 && res.status < 500, `answered ${res.status}`)
  t.match(res.body, /"code":"MBG_ERR_/)
})
