/**
 * Streaming export (POST /mailboxes/{mailbox}/folders/{folder}/items:export), both backends, over a real socket:
 *
 * - a 5,000-item folder (16 KiB streams: 107 MB of base64) read by a caller that first stops reading, then reads
 *   in small bites: while it does not read, the backend serves only a bounded read-ahead (counted where the
 *   simulated store hands out item data), and the gateway process's RSS (simulators included, so measured
 *   against a baseline taken just before, after a warm-up) grows by less than 100 MB over the whole run. Full
 *   collections are forced while sampling, so the figure is what is kept alive, not garbage V8 has not yet
 *   collected (with the answer buffered instead of streamed, it grows by about 150 MB);
 * - the connection is cut half way; resumed with the cursor of the last complete line received, every item is
 *   delivered exactly once over both requests, with the store's bytes.
 */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { buildTestGateway, MAILBOXES, TEST_API_KEY } from '../helper.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { itemStream } from '../helpers/items.js'
import { publicIdOf } from '../soak/driver.js'

const ITEMS = 5000
const ITEM_BYTES = 16 * 1024
const MiB = 1024 * 1024
/**
 * A full garbage collection, as jest's leak detector gets one (without starting node with --expose-gc): RSS then
 * follows what is kept alive, not how far V8 lets garbage run ahead of its collector.
 */
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const GUID = { ews: DEMO_MAILBOXES.alice.guid, graph: DEMO_MAILBOXES.carol.guid } as const

interface Line { type: string, itemId?: string, data?: string, cursor?: string, complete?: boolean }

/** POSTs `body` to the gateway on `port`; resolves with the answer (unread) and its request. */
async function post (port: number, path: string, body: object):
Promise<{ res: IncomingMessage, req: ClientRequest }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }
    }, (res) => { resolve({ res, req }) })
    req.once('error', reject)
    req.end(JSON.stringify(body))
  })
}

/**
 * Reads NDJSON lines from `res`, `bite` bytes at a time with a pause between bites, handing each complete line
 * to `onLine`; stops (and cuts the connection) when `onLine` returns false. Resolves with whether the stream
 * ended by itself.
 */
async function readLines (res: IncomingMessage, req: ClientRequest, bite: number, pauseMs: number,
  onLine: (line: Line) => boolean): Promise<boolean> {
  let rest = ''
  for (;;) {
    let chunk = res.read(bite) as Buffer | null
    if (chunk === null) chunk = res.read() as Buffer | null
    if (chunk === null) {
      if (res.readableEnded) return true
      await new Promise<void>((resolve) => {
        const done = (): void => { res.off('readable', done); res.off('end', done); res.off('close', done); resolve() }
        res.once('readable', done)
        res.once('end', done)
        res.once('close', done)
      })
      if (res.readableEnded || (res.destroyed && res.readableLength === 0)) return res.readableEnded
      continue
    }
    rest += chunk.toString('utf8')
    let nl: number
    while ((nl = rest.indexOf('\n')) >= 0) {
      const text = rest.slice(0, nl)
      rest = rest.slice(nl + 1)
      if (!onLine(JSON.parse(text) as Line)) {
        req.destroy()
        res.destroy()
        return false
      }
    }
    if (pauseMs > 0) await sleep(pauseMs)
  }
}

/** The test of the module comment, for one backend (run in a process of its own, so RSS is its alone). */
export async function streamsInFlatMemory (t: Test, type: 'ews' | 'graph'): Promise<void> {
  const gw = await buildTestGateway(t)
  const { store } = gw.sims
  const guid = GUID[type]
  const folder = store.createFolder(store.wellKnownFolder(guid, 'inbox').id, 'Streamed 5000')

  // Every read of item data by a backend is counted where the store hands it out.
  const expected = new Map<string, string>()
  let served = 0
  const base = Date.parse('2026-01-01T00:00:00Z')
  for (let i = 0; i < ITEMS; i++) {
    const subject = `stream-${type}-${i}`
    const stream = itemStream(subject, ITEM_BYTES)
    // Ten a second: the EWS listing is keyed on creation time (src/backends/ews/index.ts listItems).
    const created = new Date(base + i * 100)
    const item = store.createItem(folder.id, {
      size: stream.length,
      itemClass: 'IPM.Note',
      subject,
      hasAttachments: true,
      blob: () => { served++; return stream }
    }, { created })
    expected.set(publicIdOf(type, item.id), createHash('sha256').update(stream).digest('hex'))
  }

  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const address = gw.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const mbx = encodeURIComponent(MAILBOXES[type].primary)
  const children = await gw.app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders?parentId=inbox` })
  const folderId = (JSON.parse(children.body) as { folders: Array<{ id: string, displayName: string }> }).folders
    .find((f) => f.displayName === folder.displayName)?.id as string
  t.type(folderId, 'string', 'the seeded folder is listed')
  const path = `/mailboxes/${mbx}/folders/${encodeURIComponent(folderId)}/items:export`

  // Warm-up (code paths, pools, the mailbox's discovery, the heap's working size): the same folder, read as
  // fast as it comes, cut after 500 items. Then the backend reads are let settle.
  {
    const { res, req } = await post(port, path, {})
    t.equal(res.statusCode, 200, 'warm-up export answers 200')
    let n = 0
    await readLines(res, req, 1 << 20, 0, (line) => line.type !== 'item' || ++n < 500)
  }
  const settle = async (): Promise<void> => {
    let last = -1
    for (let stable = 0; stable < 5;) {
      await sleep(200)
      stable = served === last ? stable + 1 : 0
      last = served
    }
  }
  await settle()
  const servedBefore = served

  gc()
  const baseline = process.memoryUsage().rss
  let peak = baseline
  // Sampled every 20 ms; a full collection every quarter second.
  let tick = 0
  const sampler = setInterval(() => {
    if (tick++ % 12 === 0) gc()
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  t.teardown(() => { clearInterval(sampler) })

  const seen = new Map<string, number>()
  let badData = 0
  const take = (line: Line): void => {
    if (line.type !== 'item' || line.itemId === undefined) return
    seen.set(line.itemId, (seen.get(line.itemId) ?? 0) + 1)
    const hash = createHash('sha256').update(Buffer.from(line.data ?? '', 'base64')).digest('hex')
    if (hash !== expected.get(line.itemId)) badData++
  }

  // First request: not read at all until the backend reads stop, then read in small bites; cut half way.
  const first = await post(port, path, {})
  t.equal(first.res.statusCode, 200, 'the export answers 200')
  t.match(first.res.headers['content-type'], /^application\/x-ndjson/)
  await settle()
  const readAhead = served - servedBefore
  t.ok(readAhead < ITEMS / 5,
    `while the caller reads nothing, the backend serves a bounded read-ahead (${readAhead} of ${ITEMS} items)`)

  let cursor: string | undefined
  let items = 0
  const ended = await readLines(first.res, first.req, 16 * 1024, 1, (line) => {
    take(line)
    if (line.cursor !== undefined) cursor = line.cursor
    if (line.type === 'item') items++
    return items < ITEMS / 2
  })
  t.notOk(ended, 'the first connection is cut before its end')
  t.equal(items, ITEMS / 2, `${items} items read before the cut`)
  t.type(cursor, 'string', 'the last complete line carries a cursor')

  // Resumed: read as fast as it comes.
  const second = await post(port, path, { cursor })
  t.equal(second.res.statusCode, 200, 'the resumed export answers 200')
  let summary: Line | undefined
  const endedAgain = await readLines(second.res, second.req, 1 << 20, 0, (line) => {
    take(line)
    if (line.type === 'summary') summary = line
    return true
  })
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)

  t.ok(endedAgain, 'the resumed export runs to its end')
  t.equal(summary?.complete, true, 'its summary says complete')
  const twice = [...seen.values()].filter((n) => n !== 1).length
  const missing = [...expected.keys()].filter((id) => !seen.has(id)).length
  t.equal(seen.size, ITEMS, `${seen.size} distinct items delivered over both requests`)
  t.equal(twice, 0, 'no item delivered twice')
  t.equal(missing, 0, 'no item missing')
  t.equal(badData, 0, 'every item with the bytes the store holds')

  const growth = (peak - baseline) / MiB
  t.comment(`${type}: RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, ` +
    `growth ${growth.toFixed(1)} MiB; read-ahead while the caller stalled: ${readAhead} items`)
  t.ok(growth < 100, `RSS grew by ${growth.toFixed(1)} MiB (< 100 MiB) streaming ${ITEMS} items ` +
    `(${(ITEMS * ITEM_BYTES * 4 / 3 / MiB).toFixed(0)} MiB of base64)`)

  const records = gw.audit().filter((r) => r.event === 'items.export' && r.route.endsWith('items::export') &&
    r.route.includes(':folder'))
  const cut = records.at(-2)
  const resumed = records.at(-1)
  t.equal(cut?.complete, false, 'the cut export is audited as incomplete')
  t.equal(resumed?.complete, true, 'the resumed export is audited as complete')
  t.equal((cut?.items?.succeeded ?? 0) >= ITEMS / 2, true, 'the cut export counts what it wrote')
  t.equal(resumed?.items?.succeeded, ITEMS / 2, 'the resumed export counts the rest')
}
