/**
 * The route contract, run as one matrix over both backend types: the same
 * requests and assertions against an EWS mailbox (Alice/Bob, EWS simulator)
 * and a Graph mailbox (Carol/Dave, identity + Graph simulators), all over real
 * loopback sockets.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'

type Type = 'ews' | 'graph'

interface Folder {
  id: string
  displayName: string
  parentId: string | null
  folderClass: string
  childFolderCount: number
  totalItemCount: number
}
interface Item {
  id: string
  changeKey: string
  itemClass: string
  size: number
  created: string
  modified: string
  subject?: string
}

const INBOX_COUNT: Record<Type, number> = { ews: 60, graph: 35 }

t.test('mailboxes', async (t) => {
  const { app } = await buildTestGateway(t)
  const res = await app.inject({ method: 'GET', url: '/mailboxes' })
  t.equal(res.statusCode, 200)
  const { mailboxes } = json<{
    mailboxes: Array<{
      id: string
      address: string
      type: string
      kind: string
      archiveId?: string
      primaryId?: string
    }>
  }>(res)
  const summary = mailboxes.map((m) => `${m.address}:${m.type}:${m.kind}`).sort()
  t.same(summary, [
    'alice@contoso.example:ews:archive', 'alice@contoso.example:ews:primary', 'bob@contoso.example:ews:primary',
    'carol@contoso.example:graph:archive', 'carol@contoso.example:graph:primary',
    'dave@contoso.example:graph:archive', 'dave@contoso.example:graph:primary'
  ])
  for (const m of mailboxes) {
    t.match(m.id, /^mbx-[0-9a-f]{16}$/)
    if (m.kind === 'archive') {
      t.ok(
        mailboxes.some((p) => p.id === m.primaryId && p.archiveId === m.id),
        'archive links to its primary'
      )
    }
  }
  t.notOk(JSON.stringify(mailboxes).includes('MBX:'), 'backend routing data is not shown')

  const alice = mailboxes.find((m) => m.address === 'alice@contoso.example' && m.kind === 'primary')
  const byAddress = await app.inject({ method: 'GET', url: '/mailboxes/Alice@Contoso.example' })
  t.equal(byAddress.statusCode, 200)
  t.equal(json(byAddress).id, alice?.id, 'SMTP address lookup is case-insensitive')
  const byId = await app.inject({ method: 'GET', url: `/mailboxes/${alice?.archiveId ?? ''}` })
  t.equal(json(byId).kind, 'archive')

  const missing = await app.inject({ method: 'GET', url: '/mailboxes/nobody@contoso.example' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^application\/problem\+json/)
  t.match(json(missing), {
    status: 404,
    code: 'MBG_ERR_MAILBOX_NOT_FOUND',
    type: 'urn:mailbox-gateway:problem:mailbox-not-found',
    title: 'Not Found'
  })
})

for (const type of ['ews', 'graph'] as const) {
  const mbx = encodeURIComponent(MAILBOXES[type].primary)

  t.test(`${type}: folder tree, paging and well-known names`, async (t) => {
    const { app } = await buildTestGateway(t)
    const root = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/root` }))
    t.equal(root.parentId, null, 'root has no parent')

    const all: Folder[] = []
    let token: string | undefined
    let pages = 0
    do {
      const res = await app.inject({
        method: 'GET',
        url: `/mailboxes/${mbx}/folders?pageSize=7${token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''}`
      })
      t.equal(res.statusCode, 200, res.body)
      const body = json<{ folders: Folder[], nextPageToken?: string }>(res)
      t.ok(body.folders.length <= 7)
      all.push(...body.folders)
      token = body.nextPageToken
      pages++
    } while (token !== undefined && pages < 50)
    t.ok(pages > 2, `paged (${pages} pages)`)
    const ids = new Set(all.map((f) => f.id))
    t.equal(ids.size, all.length, 'no folder listed twice')
    t.notOk(ids.has(root.id), 'root itself is not in the list')
    for (const f of all) {
      t.ok(f.parentId === root.id || ids.has(f.parentId ?? ''), `${f.displayName} has a known parent`)
    }
    for (const f of all) t.match(f.id, /^[A-Za-z0-9_=~-]+$/, 'ids are URL-safe')
    const names = all.map((f) => f.displayName)
    for (const n of ['Inbox', 'Calendar', 'Contacts', 'Projects']) t.ok(names.includes(n), `tree has ${n}`)
    const depth = (f: Folder): number =>
      f.parentId === root.id ? 1 : 1 + depth(all.find((p) => p.id === f.parentId) as Folder)
    t.ok(Math.max(...all.map(depth)) >= 3, 'tree is at least 3 levels deep')

    const inbox = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox` }))
    t.equal(inbox.displayName, 'Inbox')
    t.equal(inbox.parentId, root.id)
    t.equal(inbox.totalItemCount, INBOX_COUNT[type])
    const byId = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/${inbox.id}` }))
    t.equal(byId.id, inbox.id)
    const calendar = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/calendar` }))
    t.equal(calendar.folderClass, 'IPF.Appointment')

    const children = json<{ folders: Folder[] }>(
      await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders?parentId=inbox` })
    )
    t.ok(children.folders.length > 0)
    t.ok(children.folders.every((f) => f.parentId === inbox.id), 'one level only')
    t.ok(children.folders.some((f) => f.displayName === 'Projects'))
  })

  t.test(`${type}: folder create, rename, delete`, async (t) => {
    const { app } = await buildTestGateway(t)
    const created = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders`,
      payload: { displayName: 'Restored', parentId: 'inbox' }
    })
    t.equal(created.statusCode, 201, created.body)
    const folder = json<Folder>(created)
    t.equal(folder.displayName, 'Restored')
    t.equal(folder.folderClass, 'IPF.Note')
    t.equal(created.headers.location, `/mailboxes/${mbx}/folders/${folder.id}`)

    const dup = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders`,
      payload: { displayName: 'Restored', parentId: 'inbox' }
    })
    t.equal(dup.statusCode, 409)
    t.equal(json(dup).code, 'MBG_ERR_FOLDER_EXISTS')

    const top = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/folders`,
      payload: { displayName: 'Trips', folderClass: 'IPF.Appointment' }
    })
    t.equal(top.statusCode, 201)
    t.equal(json<Folder>(top).folderClass, 'IPF.Appointment')

    const renamed = await app.inject({
      method: 'PATCH',
      url: `/mailboxes/${mbx}/folders/${folder.id}`,
      payload: { displayName: 'Restored 2026' }
    })
    t.equal(renamed.statusCode, 200, renamed.body)
    t.equal(json<Folder>(renamed).displayName, 'Restored 2026')
    const reread = json<Folder>(await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/${folder.id}` }))
    t.equal(reread.displayName, 'Restored 2026')

    const protectedRename = await app.inject({
      method: 'PATCH',
      url: `/mailboxes/${mbx}/folders/inbox`,
      payload: { displayName: 'Nope' }
    })
    t.equal(protectedRename.statusCode, 409)
    t.equal(json(protectedRename).code, 'MBG_ERR_FOLDER_PROTECTED')
    const protectedDelete = await app.inject({ method: 'DELETE', url: `/mailboxes/${mbx}/folders/inbox` })
    t.equal(protectedDelete.statusCode, 409)
    t.equal(json(protectedDelete).code, 'MBG_ERR_FOLDER_PROTECTED')

    const deleted = await app.inject({ method: 'DELETE', url: `/mailboxes/${mbx}/folders/${folder.id}` })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    const gone = await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/${folder.id}` })
    t.equal(gone.statusCode, 404)
    t.equal(json(gone).code, 'MBG_ERR_FOLDER_NOT_FOUND')
  })

  t.test(`${type}: items paging, export, import, re-export byte for byte`, async (t) => {
    const { app } = await buildTestGateway(t)
    const items: Item[] = []
    let token: string | undefined
    let pages = 0
    do {
      const res = await app.inject({
        method: 'GET',
        url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=25${token !== undefined ? `&pageToken=${encodeURIComponent(token)}` : ''}`
      })
      t.equal(res.statusCode, 200, res.body)
      const body = json<{ items: Item[], nextPageToken?: string }>(res)
      items.push(...body.items)
      token = body.nextPageToken
      pages++
    } while (token !== undefined && pages < 20)
    t.equal(items.length, INBOX_COUNT[type], 'every inbox item, once')
    t.equal(new Set(items.map((i) => i.id)).size, items.length)
    t.equal(pages, Math.ceil(INBOX_COUNT[type] / 25))
    for (const i of items.slice(0, 3)) {
      t.equal(i.itemClass, 'IPM.Note')
      t.ok(i.size >= 1024)
      t.ok(!Number.isNaN(Date.parse(i.created)) && !Number.isNaN(Date.parse(i.modified)))
      t.match(i.id, /^[A-Za-z0-9_=~-]+$/)
    }

    const ids = items.slice(0, 5).map((i) => i.id)
    const exported = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:export`,
      payload: { itemIds: ids }
    })
    t.equal(exported.statusCode, 200, exported.body)
    const exp = json<{
      results: Array<{ itemId: string, changeKey: string, data: string, source: string }>
      succeeded: number
      failed: number
    }>(exported)
    t.equal(exp.succeeded, 5)
    t.same(exp.results.map((r) => r.itemId), ids, 'results in request order')
    t.ok(exp.results.every((r) => r.source === type))

    const target = json<Folder>(
      await app.inject({ method: 'POST', url: `/mailboxes/${mbx}/folders`, payload: { displayName: 'Copies' } })
    )
    const imported = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: { items: exp.results.map((r) => ({ folderId: target.id, mode: 'create', data: r.data })) }
    })
    t.equal(imported.statusCode, 200, imported.body)
    const imp = json<{ results: Array<{ index: number, itemId: string, changeKey: string }>, succeeded: number }>(
      imported
    )
    t.equal(imp.succeeded, 5)
    t.same(imp.results.map((r) => r.index), [0, 1, 2, 3, 4])
    t.equal(new Set(imp.results.map((r) => r.itemId)).size, 5, 'five new items')
    t.ok(imp.results.every((r) => !ids.includes(r.itemId)), 'new ids differ from the originals')

    const again = json<{ results: Array<{ data: string }> }>(await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, payload: { itemIds: imp.results.map((r) => r.itemId) }
    }))
    for (let i = 0; i < 5; i++) {
      t.ok(
        Buffer.from(again.results[i].data, 'base64').equals(Buffer.from(exp.results[i].data, 'base64')),
        `item ${i} byte-identical`
      )
    }

    const listed = json<{ items: Item[] }>(
      await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/${target.id}/items` })
    )
    t.equal(listed.items.length, 5)

    // update mode: current change key works and bumps it; a stale one is a per-item conflict
    const first = imp.results[0]
    const update = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [
          {
            folderId: target.id,
            mode: 'update',
            data: exp.results[1].data,
            itemId: first.itemId,
            changeKey: first.changeKey
          },
          {
            folderId: target.id,
            mode: 'update',
            data: exp.results[1].data,
            itemId: imp.results[1].itemId,
            changeKey: first.changeKey
          }
        ]
      }
    })
    t.equal(update.statusCode, 200, update.body)
    const upd = json<{
      results: Array<{ index: number, itemId?: string, changeKey?: string, error?: { code: string, status: number } }>
      succeeded: number
      failed: number
    }>(update)
    t.equal(upd.results[0].itemId, first.itemId, 'update keeps the id')
    t.not(upd.results[0].changeKey, first.changeKey, 'update changes the change key')
    t.equal(upd.results[1].error?.code, 'MBG_ERR_CHANGE_KEY_CONFLICT')
    t.equal(upd.results[1].error?.status, 409)
    t.match(upd, { succeeded: 1, failed: 1 })
  })

  t.test(`${type}: per-item errors never fail neighbours`, async (t) => {
    const { app } = await buildTestGateway(t)
    const list = json<{ items: Item[] }>(
      await app.inject({ method: 'GET', url: `/mailboxes/${mbx}/folders/inbox/items?pageSize=2` })
    )
    const other = json<{ items: Item[] }>(
      await app.inject({
        method: 'GET',
        url: `/mailboxes/${encodeURIComponent(MAILBOXES[type].other)}/folders/inbox/items?pageSize=1`
      })
    )
    const res = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:export`,
      payload: { itemIds: [list.items[0].id, 'not*an*id', other.items[0].id, list.items[1].id] }
    })
    t.equal(res.statusCode, 200, res.body)
    const body = json<{
      results: Array<{ itemId: string, data?: string, error?: { code: string, status: number } }>
      succeeded: number
      failed: number
    }>(res)
    t.match(body, { succeeded: 2, failed: 2 })
    t.ok(body.results[0].data)
    t.equal(body.results[1].error?.code, 'MBG_ERR_ID_MALFORMED')
    t.equal(body.results[2].error?.code, 'MBG_ERR_ITEM_NOT_FOUND', 'another mailbox\'s item is not found in this one')
    t.ok(body.results[3].data)

    const bad = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      payload: {
        items: [
          { folderId: 'inbox', mode: 'create', data: Buffer.from('not a stream').toString('base64') },
          { folderId: 'inbox', mode: 'create', data: 'AAAA', itemId: list.items[0].id },
          { folderId: 'inbox', mode: 'update', data: 'AAAA' }
        ]
      }
    })
    t.equal(bad.statusCode, 200, bad.body)
    const b = json<{ results: Array<{ error?: { code: string } }> }>(bad)
    t.equal(b.results[0].error?.code, 'MBG_ERR_DATA_INVALID')
    t.equal(b.results[1].error?.code, 'MBG_ERR_BAD_REQUEST')
    t.equal(b.results[2].error?.code, 'MBG_ERR_BAD_REQUEST')
  })

  t.test(`${type}: bad input is a clear 4xx problem`, async (t) => {
    const { app } = await buildTestGateway(t, { maxBatchItems: 10 })
    const cases: Array<{
      name: string
      method: 'GET' | 'POST' | 'PATCH'
      url: string
      payload?: unknown
      headers?: Record<string, string>
      status: number
      code: string
    }> = [
      {
        name: 'malformed JSON',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: '{"itemIds": [',
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'unknown field',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: { itemIds: ['a'], extra: 1 },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'empty id list',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: { itemIds: [] },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'too many ids',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: { itemIds: Array.from({ length: 11 }, (_, i) => `id${i}`) },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        // Data of the right shape that is not base64 is a per-item 422 (test/routes/isolation.test.ts).
        name: 'data shorter than one base64 quantum',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:import`,
        payload: { items: [{ folderId: 'inbox', mode: 'create', data: 'AAA' }] },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'bad mode',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:import`,
        payload: { items: [{ folderId: 'inbox', mode: 'upsert', data: 'AAAA' }] },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'text body',
        method: 'POST',
        url: `/mailboxes/${mbx}/items:export`,
        payload: 'hello',
        headers: { 'content-type': 'text/plain' },
        status: 415,
        code: 'MBG_ERR_UNSUPPORTED_MEDIA_TYPE'
      },
      {
        name: 'page size 0',
        method: 'GET',
        url: `/mailboxes/${mbx}/folders?pageSize=0`,
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'garbage page token',
        method: 'GET',
        url: `/mailboxes/${mbx}/folders/inbox/items?pageToken=%25%25garbage`,
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      {
        name: 'malformed folder id',
        method: 'GET',
        url: `/mailboxes/${mbx}/folders/***`,
        status: 400,
        code: 'MBG_ERR_ID_MALFORMED'
      },
      {
        name: 'empty folder name',
        method: 'PATCH',
        url: `/mailboxes/${mbx}/folders/inbox`,
        payload: { displayName: '' },
        status: 400,
        code: 'MBG_ERR_BAD_REQUEST'
      },
      { name: 'unknown route', method: 'GET', url: '/nope', status: 404, code: 'MBG_ERR_ROUTE_NOT_FOUND' }
    ]
    for (const c of cases) {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        ...(c.payload !== undefined ? { payload: c.payload as string } : {}),
        ...(c.headers !== undefined ? { headers: c.headers } : {})
      })
      t.equal(res.statusCode, c.status, `${c.name}: ${res.body}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/, `${c.name}: problem+json`)
      const p = json(res)
      t.equal(p.code, c.code, `${c.name}: code`)
      t.equal(p.status, c.status)
      t.type(p.detail, 'string')
      t.equal(p.requestId, res.headers['x-request-id'])
    }
  })
}

for (const type of ['ews', 'graph'] as const) {
  t.test(`${type}: an archive is a mailbox of its own, with the same routes`, async (t) => {
    const { app } = await buildTestGateway(t)
    const primary = json<{ archiveId: string }>(
      await app.inject({ url: `/mailboxes/${encodeURIComponent(MAILBOXES[type].primary)}` })
    )
    const archive = primary.archiveId
    t.ok(archive, 'the primary links its archive')
    const root = json<Folder>(await app.inject({ url: `/mailboxes/${archive}/folders/root` }))
    t.equal(root.parentId, null)
    const inbox = json<Folder>(await app.inject({ url: `/mailboxes/${archive}/folders/inbox` }))
    t.equal(inbox.displayName, 'Inbox')
    t.equal(inbox.parentId, root.id, 'inbox names the archive\'s own inbox')
    const folders = json<{ folders: Folder[] }>(
      await app.inject({ url: `/mailboxes/${archive}/folders?pageSize=1000` })
    ).folders
    t.ok(folders.some((f) => f.displayName === '2019'), 'archive folders are listed')
    const items = json<{ items: Item[] }>(
      await app.inject({ url: `/mailboxes/${archive}/folders/${inbox.id}/items` })
    ).items
    t.equal(items.length, inbox.totalItemCount)
    const exp = json<{ results: Array<{ data: string }>, succeeded: number }>(
      await app.inject({
        method: 'POST',
        url: `/mailboxes/${archive}/items:export`,
        payload: { itemIds: items.slice(0, 2).map((i) => i.id) }
      })
    )
    t.equal(exp.succeeded, 2)
    const imp = json<{ results: Array<{ itemId: string }>, succeeded: number }>(
      await app.inject({
        method: 'POST',
        url: `/mailboxes/${archive}/items:import`,
        payload: { items: exp.results.map((r) => ({ folderId: 'inbox', mode: 'create', data: r.data })) }
      })
    )
    t.equal(imp.succeeded, 2)
    const again = json<{ results: Array<{ data: string }> }>(
      await app.inject({
        method: 'POST',
        url: `/mailboxes/${archive}/items:export`,
        payload: { itemIds: imp.results.map((r) => r.itemId) }
      })
    )
    t.same(again.results.map((r) => r.data), exp.results.map((r) => r.data), 'byte-identical inside the archive')
  })
}
