/**
 * The audit log (src/audit.ts, plugins/app/audit.ts): one record per export, import and folder change, one
 * `access.denied` record per refused caller; who, which mailbox, how many items and bytes, the outcome — and never
 * item data.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, renameSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestGateway, json, MAILBOXES, TEST_API_KEY } from '../helper.js'
import { itemStream } from '../helpers/items.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { AuditLog, auditDestination } from '../../src/audit.js'

const READER_KEY = generateApiKey()
const ALICE_ONLY_KEY = generateApiKey()

t.test('exports, imports and folder changes each write one record with counts and bytes, no item data',
  async (t) => {
    const { app, audit } = await buildTestGateway(t)
    const mbx = MAILBOXES.ews.primary
    const listed = json(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` }))
    const ids: string[] = listed.items.map((i: { id: string }) => i.id)
    t.equal(audit().length, 0, 'reads are not audited')

    const exported = await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: [...ids, 'AAMkAGI2TG93AAA='] }
    })
    t.equal(exported.statusCode, 200)
    const results: Array<{ data?: string }> = json(exported).results
    const bytes = results.reduce((n, r) => n + (r.data !== undefined ? Buffer.from(r.data, 'base64').length : 0), 0)
    t.ok(bytes > 0)
    const [exp] = audit()
    t.match(exp, {
      log: 'audit',
      event: 'items.export',
      outcome: 'partial',
      status: 200,
      client: 'demo',
      credential: { kind: 'apiKey', id: 'demo' },
      method: 'POST',
      route: '/mailboxes/:mailbox/items::export',
      mailbox: mbx,
      backend: 'onprem-ews',
      items: { requested: 3, succeeded: 2, failed: 1 },
      bytes
    })
    t.type(exp.time, 'string')
    t.type(exp.durationMs, 'number')
    const text = JSON.stringify(audit())
    for (const r of results) if (r.data !== undefined) t.notOk(text.includes(r.data.slice(0, 40)), 'no item data')
    t.notOk(text.includes(listed.items[0].subject), 'no subject')

    const folder = json(await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName: 'Audited' }
    }))
    const data = itemStream('audited import', 5000).toString('base64')
    const imported = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [{ folderId: folder.id, mode: 'create', data }, { folderId: folder.id, mode: 'create', data: 'bad!' }]
      }
    })
    t.equal(imported.statusCode, 200)
    await app.inject({
      method: 'PATCH', url: `/mailboxes/${mbx}/folders/${folder.id}`, payload: { displayName: 'Audited 2' }
    })
    await app.inject({ method: 'DELETE', url: `/mailboxes/${mbx}/folders/${folder.id}` })
    const [, create, imp, rename, del] = audit()
    t.match(create, { event: 'folder.create', outcome: 'success', status: 201, folderId: folder.id, mailbox: mbx })
    t.match(imp, {
      event: 'items.import', outcome: 'partial', items: { requested: 2, succeeded: 1, failed: 1 }
    })
    t.equal(imp.bytes, Buffer.from(data, 'base64').length, 'the decoded size of the item imported')
    t.match(rename, { event: 'folder.rename', outcome: 'success', status: 200, folderId: folder.id })
    t.match(del, { event: 'folder.delete', outcome: 'success', status: 204, folderId: folder.id })
    t.notOk(JSON.stringify(audit()).includes(data.slice(0, 40)), 'no imported data either')

    const missing = await app.inject({ method: 'DELETE', url: `/mailboxes/${mbx}/folders/${folder.id}` })
    t.equal(missing.statusCode, 404)
    t.match(audit().at(-1),
      { event: 'folder.delete', outcome: 'failure', status: 404, code: 'MBG_ERR_FOLDER_NOT_FOUND' })
  })

t.test('every refused caller is audited: no credential, a missing scope, a mailbox not allowed', async (t) => {
  const { app, audit } = await buildTestGateway(t, {
    auth: (auth) => {
      auth.clients.push(
        {
          name: 'reader',
          apiKeys: [{ id: 'r1', sha256: hashApiKey(READER_KEY) }],
          appIds: [],
          scopes: ['mailboxes:read'],
          mailboxes: ['*']
        },
        {
          name: 'alice-only',
          apiKeys: [{ id: 'a1', sha256: hashApiKey(ALICE_ONLY_KEY) }],
          appIds: [],
          scopes: ['mailboxes:read', 'items:export'],
          mailboxes: [MAILBOXES.ews.primary]
        })
    }
  })
  const none = await app.inject({
    method: 'GET', url: '/mailboxes', headers: { 'x-api-key': 'mbg_wrong' }
  })
  t.equal(none.statusCode, 401)
  t.match(audit().at(-1), {
    event: 'access.denied', outcome: 'denied', status: 401, code: 'MBG_ERR_UNAUTHENTICATED', credential: { kind: 'apiKey' }
  })
  t.notOk('client' in (audit().at(-1) ?? {}), 'no client: nobody was authenticated')
  t.notOk(JSON.stringify(audit()).includes('mbg_wrong'), 'the key sent is not recorded')

  const scope = await app.inject({
    method: 'POST',
    url: `/mailboxes/${MAILBOXES.graph.primary}/items:export`,
    headers: { 'x-api-key': READER_KEY },
    payload: { itemIds: ['x'] }
  })
  t.equal(scope.statusCode, 403)
  t.match(audit().at(-1), {
    event: 'access.denied',
    outcome: 'denied',
    status: 403,
    code: 'MBG_ERR_INSUFFICIENT_SCOPE',
    client: 'reader',
    credential: { kind: 'apiKey', id: 'r1' },
    action: 'items.export',
    mailbox: MAILBOXES.graph.primary
  })

  const mailbox = await app.inject({
    method: 'GET', url: `/mailboxes/${MAILBOXES.graph.other}/folders`, headers: { 'x-api-key': ALICE_ONLY_KEY }
  })
  t.equal(mailbox.statusCode, 403)
  t.match(audit().at(-1), {
    event: 'access.denied', code: 'MBG_ERR_MAILBOX_FORBIDDEN', client: 'alice-only', mailbox: MAILBOXES.graph.other
  })
  t.equal(audit().length, 3, 'one record per refusal, none for anything else')
})

t.test('AUDIT_LOG: a file path gets JSON lines appended; off writes nothing', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'mbg-audit-')), 'logs', 'audit.log')
  const log = new AuditLog(auditDestination(file))
  const entry = {
    event: 'folder.delete' as const,
    outcome: 'success' as const,
    status: 204,
    requestId: 'r',
    ip: '127.0.0.1',
    method: 'DELETE',
    route: '/x',
    durationMs: 1
  }
  log.record(entry)
  log.record({ ...entry, requestId: 's' })
  log.flush()
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  t.match(lines, [{ log: 'audit', msg: 'folder.delete', requestId: 'r' }, { requestId: 's' }])
  t.equal(auditDestination('off'), false)
})

t.test('a caller who hangs up during a keyed import still gets its work audited (callerGone)', async (t) => {
  const { app, sims, audit } = await buildTestGateway(t)
  const mbx = MAILBOXES.ews.primary
  const folder = json(await app.inject({
    method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName: 'Gone' }
  }))
  const data = itemStream('gone import', 3000).toString('base64')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  sims.ews.faults.delayMs = 1000
  const before = sims.ews.stats.byOperation.UploadItems ?? 0
  const req = httpRequest({
    port,
    host: '127.0.0.1',
    method: 'POST',
    path: `/mailboxes/${mbx}/items:import`,
    headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', 'idempotency-key': 'gone-audit-1' }
  })
  req.on('error', () => {})
  req.end(JSON.stringify({ items: [{ folderId: folder.id, mode: 'create', data }] }))
  const uploads = (): number => sims.ews.stats.byOperation.UploadItems ?? 0
  while (uploads() === before) await new Promise((resolve) => setTimeout(resolve, 20))
  req.destroy()
  sims.ews.faults.delayMs = 0
  // The keyed import runs to its end; its record comes then.
  for (let waited = 0; !audit().some((r) => r.event === 'items.import') && waited < 120_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.match(audit().find((r) => r.event === 'items.import'), {
    outcome: 'success', callerGone: true, items: { requested: 1, succeeded: 1, failed: 0 }, client: 'demo'
  })
})

t.test('reopen: a file destination starts a new file after rotation; stdout is left alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mbg-audit-'))
  const file = join(dir, 'audit.log')
  const log = new AuditLog(auditDestination(file))
  const entry = {
    event: 'folder.delete' as const,
    outcome: 'success' as const,
    status: 204,
    requestId: 'before',
    ip: '127.0.0.1',
    method: 'DELETE',
    route: '/x',
    durationMs: 1
  }
  log.record(entry)
  renameSync(file, `${file}.1`)
  log.reopen()
  log.record({ ...entry, requestId: 'after' })
  t.match(readFileSync(`${file}.1`, 'utf8'), /"requestId":"before"/)
  t.match(readFileSync(file, 'utf8'), /"requestId":"after"/)
  t.doesNotThrow(() => { new AuditLog(auditDestination('stdout')).reopen() }, 'stdout cannot be reopened: left alone')
})
