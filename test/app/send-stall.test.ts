/**
 * A client that stops reading an answer has its connection closed (src/send-stall.ts), so the answer is freed; a
 * client that reads slowly, with pauses shorter than the limit, gets its whole answer. Over a real socket: a
 * batch export of one item of 24 MB (a 32 MB answer, more than the loopback socket buffers hold).
 */
import t from 'tap'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildTestGateway, MAILBOXES, TEST_API_KEY } from '../helper.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { itemStream } from '../helpers/items.js'
import { publicIdOf } from '../soak/driver.js'

const STALL_MS = 2000
const ITEM_BYTES = 24 * 1024 * 1024

t.test('a reader that stops is cut off after the stall limit; one that pauses briefly is served whole', async (t) => {
  const gw = await buildTestGateway(t, { sendStallMs: STALL_MS })
  const { store } = gw.sims
  const folder = store.createFolder(store.wellKnownFolder(DEMO_MAILBOXES.alice.guid, 'inbox').id, 'Stall')
  const stream = itemStream('stall', ITEM_BYTES)
  const item = store.createItem(folder.id, {
    size: stream.length, itemClass: 'IPM.Note', subject: 'stall', hasAttachments: false, blob: () => stream
  })
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const sockets: Socket[] = []
  gw.app.server.on('connection', (socket: Socket) => { sockets.push(socket) })
  const address = gw.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const body = JSON.stringify({ itemIds: [publicIdOf('ews', item.id)] })
  const post = async (): Promise<IncomingMessage> => await new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/items:export`,
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }
    }, resolve)
    req.once('error', reject)
    req.end(body)
  })
  const whole = Math.ceil(ITEM_BYTES / 3) * 4

  // Reads 1 MB, then stops reading (the connection stays open on the client's side).
  const stopped = await post()
  t.equal(stopped.statusCode, 200)
  let got = 0
  await new Promise<void>((resolve) => {
    stopped.on('data', (chunk: Buffer) => {
      got += chunk.length
      if (got >= 1024 * 1024 && !stopped.isPaused()) { stopped.pause(); resolve() }
    })
  })
  const logged = (): boolean => gw.logs.some((l) => l.includes('the client stopped reading the answer'))
  for (let waited = 0; !logged() && waited < 90_000; waited += 250) await sleep(250)
  t.ok(logged(), 'the gateway gave up on the reader that stopped, and logged why')
  t.ok(sockets.some((s) => s.destroyed), 'its connection is closed on the gateway\'s side (the answer freed)')
  t.ok(got < whole, `the client had received only part of the answer (${got} of ${whole} bytes of data)`)
  stopped.destroy()

  // Reads in bites with pauses of half the limit: served whole.
  const slow = await post()
  t.equal(slow.statusCode, 200)
  let read = 0
  for await (const chunk of slow) {
    read += (chunk as Buffer).length
    if (read % (8 * 1024 * 1024) < (chunk as Buffer).length) {
      slow.pause()
      await sleep(STALL_MS / 2)
      slow.resume()
    }
  }
  t.ok(read > whole, `the slow reader got the whole answer (${read} bytes)`)
})
