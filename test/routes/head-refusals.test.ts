/**
 * Answers given on a request's head, over a raw socket: an import body larger than the gateway takes is refused
 * with the limit the gateway applies (its backend's bound, never above BODY_LIMIT_BYTES); a request whose body
 * never arrives in full within REQUEST_TIMEOUT_MS gets a 408 problem, not a 400.
 */
import t from 'tap'
import { connect } from 'node:net'
import { buildTestGateway, MAILBOXES, TEST_API_KEY } from '../helper.js'
import { SMALL_BODY_LIMIT } from '../../src/build.js'

/** Writes `head` (and `body`) on a new connection; resolves with everything the gateway answers until it closes. */
async function raw (port: number, head: string, body = ''): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      const text = Buffer.concat(chunks).toString('utf8')
      const end = text.indexOf('\r\n\r\n')
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? -1)
      if (end !== -1 && length >= 0 && Buffer.byteLength(text) - end - 4 >= length) { socket.destroy(); resolve(text) }
    })
    socket.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')) })
    socket.on('error', reject)
    socket.write(head + body)
  })
}

t.test('import heads past the body limit: 413 naming the limit applied', async (t) => {
  const gw = await buildTestGateway(t)
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (gw.app.server.address() as { port: number }).port
  const bodyLimit = gw.app.initialConfig.bodyLimit as number
  for (const mailbox of [MAILBOXES.graph.primary, MAILBOXES.ews.primary]) {
    const answer = await raw(port, `POST /mailboxes/${mailbox}/items:import HTTP/1.1\r\nHost: x\r\n` +
      `x-api-key: ${TEST_API_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${bodyLimit * 2}\r\n\r\n`)
    t.match(answer, /^HTTP\/1\.1 413 /, `${mailbox}: 413 on the head`)
    const stated = Number(/takes at most (\d+)/.exec(answer)?.[1])
    t.ok(stated > 0 && stated <= bodyLimit, `${mailbox}: the limit stated (${stated}) is one applied (≤ ${bodyLimit})`)
  }
  // A route without item data takes small bodies only, whatever BODY_LIMIT_BYTES allows imports.
  const answer = await raw(port, `POST /mailboxes/${MAILBOXES.ews.primary}/items:export HTTP/1.1\r\nHost: x\r\n` +
    `x-api-key: ${TEST_API_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${SMALL_BODY_LIMIT + 1}\r\n\r\n`)
  t.match(answer, /^HTTP\/1\.1 413 /, 'an export request past 4 MiB: 413 on the head')
})

t.test('a body that never arrives in full: 408 problem', async (t) => {
  const gw = await buildTestGateway(t, { requestTimeoutMs: 1000 })
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (gw.app.server.address() as { port: number }).port
  // Node checks for late requests every 30 s (http.Server connectionsCheckingInterval): the answer comes then.
  const answer = await raw(port, `POST /mailboxes/${MAILBOXES.ews.primary}/items:export HTTP/1.1\r\nHost: x\r\n` +
    `x-api-key: ${TEST_API_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`, '{"itemIds":')
  t.match(answer, /^HTTP\/1\.1 408 /, '408 Request Timeout')
  t.match(answer, /"status":408/)
  t.match(answer, /REQUEST_TIMEOUT_MS/)
})
