/**
 * An import body the target mailbox's backend could never take is refused with a 413 before it is read
 * (routes/mailbox/hooks.ts `importBodyBound`, MailboxService.importBodyLimit): its Content-Length is above the
 * larger of MAX_EXPORT_ANSWER_BYTES and one item of the backend's `maxItemBytes` as base64, plus room for the
 * items' other fields. Here EWS takes items of at most 3,000 bytes, answers carry 4,000 characters of data and a
 * request 2 items: the EWS bound is 4,000 + 2 × 8 KiB + 64 KiB = 85,920 bytes. A body within it still gets its
 * per-item 413; a Graph mailbox (no bound of its own below BODY_LIMIT_BYTES) reads the same body.
 */
import { connect } from 'node:net'
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, TEST_API_KEY, type TestGateway } from '../helper.js'

const BOUND = 4000 + 2 * 8192 + 65536

async function gateway (t: Parameters<typeof buildTestGateway>[0]): Promise<TestGateway> {
  return await buildTestGateway(t, {
    maxBatchItems: 2,
    maxExportAnswerBytes: 4000,
    configure: (config) => { (config.backends['onprem-ews'] as { maxItemBytes?: number }).maxItemBytes = 3000 }
  })
}

/** An import request body of about `bytes` bytes: one item whose data is that much base64. */
function body (bytes: number): string {
  const data = 'QUFB'.repeat(Math.floor((bytes - 60) / 4))
  return JSON.stringify({ items: [{ folderId: 'inbox', mode: 'create', data }] })
}

interface Problem { status: number, code: string, detail: string }

t.test('EWS: a body above the bound is a 413 problem, answered before any of it is sent', async (t) => {
  const { app } = await gateway(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString()
      // The whole answer is in once its body (a JSON object) is closed.
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) { socket.destroy(); resolve(text) }
    })
    socket.on('error', reject)
    // Generous: only bounds a gateway that waits for the body it was promised (the behaviour under test).
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer within 60 s: ${text}`)) }, 60_000)
    socket.once('close', () => { clearTimeout(timer) })
    socket.on('close', () => { resolve(text) })
    // Headers only: the gateway must answer without waiting for the 100 MB it was promised.
    socket.write(`POST /mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/items:import HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nx-api-key: ${TEST_API_KEY}` +
      '\r\n\r\n')
  })
  t.match(answer, /^HTTP\/1\.1 413 /)
  const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Problem
  t.match(problem, { status: 413, code: 'MBG_ERR_TOO_LARGE', detail: new RegExp(`100000000 bytes.*at most ${BOUND}`) })
})

t.test('EWS: one byte over the bound is refused, the bound itself is read', async (t) => {
  const { app } = await gateway(t)
  const url = `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/items:import`
  const over = body(BOUND + 1)
  const padding = BOUND + 1 - Buffer.byteLength(over)
  const headers = { 'content-type': 'application/json' }
  const refused = await app.inject({ method: 'POST', url, headers, payload: over + ' '.repeat(padding) })
  t.equal(refused.statusCode, 413)
  t.match(json<Problem>(refused), { code: 'MBG_ERR_TOO_LARGE', detail: /an import into .* takes at most 85920/ })
  const read = await app.inject({ method: 'POST', url, headers, payload: over + ' '.repeat(padding - 1) })
  t.equal(read.statusCode, 200, 'a body of exactly the bound is read')
  t.match(json<{ results: Array<{ error?: { code: string, status: number } }> }>(read).results,
    [{ error: { code: 'MBG_ERR_TOO_LARGE', status: 413 } }], 'its item, above maxItemBytes, is refused alone')
})

t.test('Graph and unknown mailboxes: the same body is read', async (t) => {
  const { app } = await gateway(t)
  const payload = body(BOUND + 10_000)
  const headers = { 'content-type': 'application/json' }
  const graph = await app.inject({
    method: 'POST', url: `/mailboxes/${encodeURIComponent(MAILBOXES.graph.primary)}/items:import`, headers, payload
  })
  t.equal(graph.statusCode, 200, 'Graph takes large items: no bound below BODY_LIMIT_BYTES')
  const unknown = await app.inject({
    method: 'POST', url: '/mailboxes/nobody%40contoso.example/items:import', headers, payload
  })
  t.equal(unknown.statusCode, 404, 'an unknown mailbox is a 404, as before')
})
