/**
 * Hostile and careless input, for both backend types: every answer is a clear
 * 4xx problem (never a 5xx), the same for EWS and Graph mailboxes, and big
 * items round-trip like small ones.
 */
import t from 'tap'
import { connect } from 'node:net'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { encodeItemStream, PROP, PT_BINARY, PT_UNICODE_CP1200 } from '../../src/simulators/store/fts.js'

interface Item { id: string, size: number }

for (const type of ['ews', 'graph'] as const) {
  const mbx = encodeURIComponent(MAILBOXES[type].primary)
  const other = encodeURIComponent(MAILBOXES[type].other)

  t.test(`${type}: the largest seeded item and a 6 MiB stream round-trip; a 6 MiB garbage stream is a per-item 422`,
    async (t) => {
      const { app } = await buildTestGateway(t)
      const items = json<{ items: Item[] }>(
        await app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=100` })
      ).items
      const largest = items.reduce((a, b) => (b.size > a.size ? b : a))
      t.ok(largest.size >= 3 * 1024 * 1024, `largest inbox item is ${largest.size} bytes`)
      const exported = json<{ results: Array<{ data: string }> }>(
        await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [largest.id] } })
      )
      const big = encodeItemStream({
        props: [
          { type: PT_UNICODE_CP1200, id: PROP.MessageClass, value: 'IPM.Note' },
          { type: PT_UNICODE_CP1200, id: PROP.Subject, value: 'big' },
          // A stored item always has a search key, and its export carries it (a stream without one gets one on
          // import, as Exchange gives every item PR_SEARCH_KEY): with one, the round trip is byte for byte.
          { type: PT_BINARY, id: PROP.SearchKey, value: Buffer.alloc(16, 0x42) }
        ],
        recipients: [],
        attachments: [[{ type: PT_BINARY, id: PROP.AttachDataBinary, value: Buffer.alloc(6 * 1024 * 1024, 0x5a) }]]
      }).toString('base64')
      const garbage = Buffer.alloc(6 * 1024 * 1024, 0x41).toString('base64')
      const res = await app.inject({
        method: 'POST',
        url: `/mailboxes/${mbx}/items:import`,
        payload: {
          items: [
            { folderId: 'drafts', mode: 'create', data: exported.results[0].data },
            { folderId: 'drafts', mode: 'create', data: garbage },
            { folderId: 'drafts', mode: 'create', data: big }
          ]
        }
      })
      t.equal(res.statusCode, 200, res.body.slice(0, 300))
      const body = json<{ results: Array<{ itemId?: string, error?: { code: string, status: number } }> }>(res)
      t.ok(body.results[0].itemId, 'the largest seeded item imports')
      t.match(body.results[1].error, { code: 'MBG_ERR_DATA_INVALID', status: 422 })
      t.ok(body.results[2].itemId, 'a 6 MiB stream imports')
      const again = json<{ results: Array<{ data: string }> }>(
        await app.inject({
          method: 'POST',
          url: `/mailboxes/${mbx}/items:export`,
          payload: { itemIds: [body.results[0].itemId, body.results[2].itemId] }
        })
      )
      t.ok(again.results[0].data === exported.results[0].data, 'largest item byte-identical')
      t.ok(again.results[1].data === big, '6 MiB item byte-identical')
    })

  t.test(`${type}: names, types and tokens are validated before any backend call`, async (t) => {
    const { app } = await buildTestGateway(t)
    const bad = async (method: 'POST' | 'PATCH' | 'GET', url: string, payload?: string,
      code = 'MBG_ERR_BAD_REQUEST'): Promise<void> => {
      const res = await app.inject({
        method,
        url,
        ...(payload !== undefined ? { payload, headers: { 'content-type': 'application/json' } } : {})
      })
      t.equal(res.statusCode, 400, `${method} ${url} ${payload ?? ''}: ${res.body.slice(0, 200)}`)
      t.match(res.headers['content-type'], /application\/problem\+json/)
      t.equal(json(res).code, code)
    }
    for (const name of ['"   "', '"a\\u0001b"', '"\\ud800x"', '123', 'null']) {
      await bad('POST', `/mailboxes/${mbx}/folders`, `{"displayName": ${name}}`)
      await bad('PATCH', `/mailboxes/${mbx}/folders/inbox`, `{"displayName": ${name}}`)
    }
    await bad('POST', `/mailboxes/${mbx}/items:export`, '{"itemIds": "abc"}')
    await bad('POST', `/mailboxes/${mbx}/items:export`, '{"itemIds": [1, 2]}')
    await bad(
      'POST',
      `/mailboxes/${mbx}/items:import`,
      '{"items": [{"folderId": "inbox", "mode": "create", "data": "AAA"}]}'
    )
    // Data of the right shape that is not base64 is that item's 422, not the request's 400
    // (test/routes/isolation.test.ts).
    const notBase64 = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      headers: { 'content-type': 'application/json' },
      payload: '{"items": [{"folderId": "inbox", "mode": "create", "data": "AA=A"}]}'
    })
    t.equal(notBase64.statusCode, 200, notBase64.body.slice(0, 200))
    t.match(json(notBase64),
      { failed: 1, results: [{ index: 0, error: { code: 'MBG_ERR_DATA_INVALID', status: 422 } }] })

    const first = json<{ nextPageToken: string }>(
      await app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` })
    )
    const token = first.nextPageToken
    // Cursors can carry backend routing data (Graph MBX ids, upstream paths): callers see only ciphertext.
    t.notMatch(Buffer.from(token, 'base64url').toString('latin1'), /[\x20-\x7e]{16}/, 'no cursor text in the token')
    t.equal(
      (await app.inject({ url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2&pageToken=${token}` })).statusCode,
      200,
      'the token works where it came from'
    )
    t.equal(
      (await app.inject({ url: `/mailboxes/${mbx}/folders/INBOX/items?pageSize=2&pageToken=${token}` })).statusCode,
      200,
      'well-known names in any letter case are the same listing'
    )
    const tampered = `${token.slice(0, 3)}${token[3] === 'A' ? 'B' : 'A'}${token.slice(4)}`
    await bad('GET', `/mailboxes/${mbx}/folders/inbox/items?pageToken=${tampered}`)
    // One character more: the base64url decoder would drop it and read the token; it is not the token sent.
    const padded = token + 'A'.repeat((5 - token.length % 4) % 4 || 4)
    t.equal(padded.length % 4, 1)
    await bad('GET', `/mailboxes/${mbx}/folders/inbox/items?pageToken=${padded}`)
    await bad('GET', `/mailboxes/${mbx}/folders/calendar/items?pageToken=${token}`)
    await bad('GET', `/mailboxes/${other}/folders/inbox/items?pageToken=${token}`)
    await bad('GET', `/mailboxes/${mbx}/folders?pageToken=${token}`)
  })

  t.test(`${type}: ids of another mailbox are not found in this one`, async (t) => {
    const { app } = await buildTestGateway(t)
    const theirInbox = json<{ id: string }>(await app.inject({ url: `/mailboxes/${other}/folders/inbox` }))
    const theirItem = json<{ items: Item[] }>(
      await app.inject({ url: `/mailboxes/${other}/folders/inbox/items?pageSize=1` })
    ).items[0]
    const folder = await app.inject({ url: `/mailboxes/${mbx}/folders/${theirInbox.id}` })
    t.equal(folder.statusCode, 404, folder.body)
    t.equal(json(folder).code, 'MBG_ERR_FOLDER_NOT_FOUND')
    const exp = json<{ results: Array<{ error?: { code: string } }> }>(
      await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [theirItem.id] } })
    )
    t.equal(exp.results[0].error?.code, 'MBG_ERR_ITEM_NOT_FOUND')
  })
}

t.test('requests broken below the routes still get problem+json', async (t) => {
  const { app } = await buildTestGateway(t)
  const badUrl = await app.inject({ url: '/mailboxes/%ZZ' })
  t.equal(badUrl.statusCode, 400)
  t.match(badUrl.headers['content-type'], /application\/problem\+json/)
  const list = json<{ mailboxes: Array<{ id: string }> }>(await app.inject({ url: '/mailboxes' })).mailboxes
  t.equal(
    (await app.inject({ url: `/mailboxes/${list[0].id.toUpperCase()}` })).statusCode,
    200,
    'gateway ids are case-insensitive'
  )
  const created = json<{ id: string }>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/folders`,
      payload: { displayName: 'Tmp' }
    })
  )
  const del = await app.inject({
    method: 'DELETE',
    url: `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/folders/${created.id}`,
    headers: { 'content-type': 'application/json' }
  })
  t.equal(del.statusCode, 204, 'DELETE with a JSON content type and no body')

  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const port = Number(new URL(address).port)
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write('FOO\x01 / HTTP/1.1\r\nHost: x\r\n\r\n') })
    let out = ''
    socket.on('data', (c) => { out += c.toString() })
    socket.on('end', () => { resolve(out) })
    socket.on('error', reject)
  })
  t.match(raw, /^HTTP\/1\.1 400 /)
  t.match(raw, /content-type: application\/problem\+json/i)
  t.match(raw, /"code":"MBG_ERR_BAD_REQUEST"/)
})

t.test('an HTTP/1.1 request without a Host header, or with two, is a 400 problem (RFC 9112 section 3.2)', async (t) => {
  const { app } = await buildTestGateway(t)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const port = Number(new URL(address).port)
  const send = async (request: string): Promise<string> => await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(request) })
    let out = ''
    socket.on('data', (c) => {
      out += c.toString()
      if (/\r\n\r\n[\s\S]*\}/.test(out)) socket.destroy()
    })
    socket.on('close', () => { resolve(out) })
    socket.on('error', reject)
  })
  for (const request of [
    'GET /health/live HTTP/1.1\r\n\r\n',
    'GET /health/live HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
  ]) {
    const raw = await send(request)
    t.match(raw, /^HTTP\/1\.1 400 /, JSON.stringify(request))
    t.match(raw, /content-type: application\/problem\+json/i)
    t.match(raw, /"code":"MBG_ERR_BAD_REQUEST"/)
  }
  t.match(await send('GET /health/live HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /, 'HTTP/1.0 needs no Host')
})

t.test('JSON bodies: prototype keys are refused however they are spelled; plain bodies parse as before', async (t) => {
  const { app } = await buildTestGateway(t)
  const url = `/mailboxes/${encodeURIComponent(MAILBOXES.ews.primary)}/items:export`
  const post = async (payload: string | Buffer): Promise<{ status: number, code?: string, detail?: string }> => {
    const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } })
    const { code, detail } = JSON.parse(res.body) as { code?: string, detail?: string }
    return { status: res.statusCode, code, detail }
  }
  const notJson = { status: 400, code: 'MBG_ERR_BAD_REQUEST', detail: /not valid JSON/ }
  for (const key of ['__proto__', '\\u005f_proto__', '__pr\\u006fto__', 'constructor', 'c\\u006fnstructor']) {
    const body = `{"itemIds":["AAMkAA=="],"x":{"${key}":{"prototype":{"polluted":true}}}}`
    t.match(await post(body), notJson, `refused by the parser: ${key}`)
  }
  // Beside a long string (item data is lifted out of the text before the checks), the keys are still found...
  const long = 'QUJD'.repeat(1000)
  for (const key of ['__proto__', '__pr\\u006fto__', 'constructor']) {
    const body = `{"itemIds":["${long}"],"x":{"${key}":{"prototype":{"polluted":true}}}}`
    t.match(await post(body), notJson, `refused by the parser beside a long string: ${key}`)
  }
  // ...and a long value that merely spells them is a value like any other (the schema refuses the unknown key).
  t.match(await post(`{"itemIds":["AAMkAA=="],"x":"constructor__proto__${long}"}`),
    { status: 400, detail: /is not allowed/ }, 'a long value spelling the names is not a key')
  t.equal(({} as { polluted?: boolean }).polluted, undefined)
  t.match(await post('{"itemIds":["AAMkAA==",'), notJson, 'not JSON')
  t.match(await post('{"itemIds":["AAMkAA=="],"y":{"protocol":1}}'), { status: 400, detail: /is not allowed/ },
    'a harmless unknown key is the schema\'s to refuse')
  t.match(await post(''), { status: 400, code: 'MBG_ERR_BAD_REQUEST' }, 'empty')
  const ok = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"itemIds":["not an id"]}')]))
  t.equal(ok.status, 200, 'a BOM before the JSON is allowed, as before')
  t.equal((await post('{"itemIds":["not an id \\u00e9"]}')).status, 200, 'escapes in a plain body')
  t.equal((await post('{"itemIds":["not an id"]}')).status, 200)
})

t.test('JSON bodies are UTF-8: another charset is a 415, other bytes a 400; nothing is created', async (t) => {
  const { app } = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const folders = async (): Promise<number> =>
    json<{ folders: unknown[] }>(await app.inject({ url: `/mailboxes/${mbx}/folders?pageSize=500` })).folders.length
  const before = await folders()
  const latin1 = Buffer.concat([Buffer.from('{"displayName":"caf'), Buffer.from([0xe9]), Buffer.from('"}')])
  const cases: Array<[string, Buffer, number, RegExp]> = [
    ['application/json; charset=iso-8859-1', latin1, 415, /charset=iso-8859-1: JSON bodies are UTF-8/],
    ['application/json;charset="UTF-16"', Buffer.from('{"displayName":"x"}', 'utf16le'), 415, /UTF-16/],
    ['application/json', latin1, 400, /not UTF-8/],
    ['application/json; charset=utf-8', latin1, 400, /not UTF-8/]
  ]
  for (const [type, payload, status, detail] of cases) {
    const res = await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/folders`, headers: { 'content-type': type }, payload
    })
    t.equal(res.statusCode, status, type)
    t.match(json(res), { status, detail }, type)
  }
  const ok = await app.inject({
    method: 'POST',
    url: `/mailboxes/${mbx}/folders`,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    payload: Buffer.from('{"displayName":"café"}')
  })
  t.equal(ok.statusCode, 201, 'UTF-8, declared or not, as before')
  t.equal(json<{ displayName: string }>(ok).displayName, 'café')
  t.equal(await folders(), before + 1, 'only the UTF-8 one was created')
})

t.test('a body with a content coding is a 415 naming it, on JSON routes and uploads; nothing is created', async (t) => {
  const { app } = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const { gzipSync } = await import('node:zlib')
  for (const [url, type, body] of [
    [`/mailboxes/${mbx}/folders`, 'application/json', '{"displayName":"zipped"}'],
    [`/mailboxes/${mbx}/folders/inbox/items`, 'message/rfc822', 'From: a@b.example\r\nSubject: z\r\n\r\nx']
  ]) {
    const res = await app.inject({
      method: 'POST', url, headers: { 'content-type': type, 'content-encoding': 'gzip' }, payload: gzipSync(body)
    })
    t.equal(res.statusCode, 415, `${type}: ${res.body}`)
    t.match(json(res), { code: 'MBG_ERR_UNSUPPORTED_MEDIA_TYPE', detail: /Content-Encoding gzip/ })
  }
  const plain = await app.inject({
    method: 'POST',
    url: `/mailboxes/${mbx}/folders`,
    headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
    payload: '{"displayName":"plain"}'
  })
  t.equal(plain.statusCode, 201, 'identity is no coding')
})

t.test('a 415 names the media types the route takes', async (t) => {
  const { app } = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const upload = await app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/folders/inbox/items`, headers: { 'content-type': 'image/png' }, payload: 'x'
  })
  t.equal(upload.statusCode, 415)
  t.match(json(upload), {
    detail: 'Content-Type image/png is not taken here; send message/rfc822, text/calendar, ' +
    'application/json'
  })
  const folder = await app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/folders`, headers: { 'content-type': 'text/plain' }, payload: 'x'
  })
  t.equal(folder.statusCode, 415)
  t.match(json(folder), { detail: 'Content-Type text/plain is not taken here; send application/json' })
})

t.test('a value outside a fixed set is said once, with the values taken', async (t) => {
  const { app } = await buildTestGateway(t)
  const mbx = encodeURIComponent(MAILBOXES.ews.primary)
  const res = await app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/folders/inbox/items`, payload: { kind: 'memo', subject: 's' }
  })
  t.equal(res.statusCode, 400)
  const problem = json<{ detail: string, errors: Array<{ path: string, message: string }> }>(res)
  t.same(problem.errors, [
    { path: '/body/kind', message: 'must be one of "message", "appointment", "contact", "task"' }
  ])
  t.notMatch(problem.detail, /equal to constant|anyOf/)
})
