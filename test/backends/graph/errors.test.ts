import t from 'tap'
import { exportItemError, graphError, importError, parseUpstreamError } from '../../../src/backends/graph/errors.js'

const graphBody = (code: string, message = 'm', requestId = 'req-1'): string =>
  JSON.stringify({
    error: {
      code,
      message,
      innerError: { date: '2026-08-20T10:00:00', 'request-id': requestId, 'client-request-id': 'c' }
    }
  })

t.test('parses Graph, import-endpoint and empty error bodies', async (t) => {
  t.same(parseUpstreamError(graphBody('ErrorItemNotFound', 'gone'), {}), {
    code: 'ErrorItemNotFound',
    message: 'gone',
    requestId: 'req-1'
  })
  t.same(parseUpstreamError('{"Message":"Invalid import session."}', { 'request-id': 'h-1' }), {
    message: 'Invalid import session.',
    requestId: 'h-1'
  })
  t.same(parseUpstreamError('', {}), {})
  t.same(parseUpstreamError('{"Error":{"Code":"X","Message":"y"}}', {}), { code: 'X', message: 'y' })
})

t.test('graph errors map by status then code, with upstream details and retry hints', async (t) => {
  const throttled = graphError(
    429,
    graphBody('ApplicationThrottled'),
    { 'retry-after': '3' },
    { kind: 'other', ref: 'x' }
  )
  t.match(throttled, {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retry: 'safe',
    retryAfterMs: 3000,
    retryAfter: 3,
    upstreamCode: 'ApplicationThrottled',
    upstreamRequestId: 'req-1'
  })
  t.match(graphError(503, '', {}, { kind: 'other', ref: 'x' }), { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'safe' })
  t.match(graphError(502, '', {}, { kind: 'other', ref: 'x' }), {
    code: 'MBG_ERR_UPSTREAM_UNAVAILABLE',
    retry: 'idempotent'
  })
  t.match(graphError(403, graphBody('ErrorAccessDenied', 'no', 'rid-9'), {}, { kind: 'folder', ref: 'inbox' }),
    { code: 'MBG_ERR_ACCESS_DENIED', statusCode: 403, upstreamCode: 'ErrorAccessDenied', upstreamRequestId: 'rid-9' })
  t.match(graphError(403, graphBody('ErrorDeleteDistinguishedFolder'), {}, { kind: 'folder', ref: 'F=' }), {
    code: 'MBG_ERR_FOLDER_PROTECTED'
  })
  t.match(graphError(404, graphBody('ErrorItemNotFound'), {}, { kind: 'folder', ref: 'F=' }), {
    code: 'MBG_ERR_FOLDER_NOT_FOUND'
  })
  t.match(graphError(404, graphBody('ResourceNotFound'), {}, { kind: 'mailbox', ref: 'a@b' }), {
    code: 'MBG_ERR_MAILBOX_NOT_FOUND'
  })
  t.match(graphError(409, graphBody('ErrorFolderExists'), {}, { kind: 'folder', ref: 'root', name: 'Dup' }), {
    code: 'MBG_ERR_FOLDER_EXISTS',
    message: /Dup/
  })
  t.match(graphError(400, graphBody('ErrorInvalidIdMalformed'), {}, { kind: 'folder', ref: 'x' }), {
    code: 'MBG_ERR_ID_MALFORMED'
  })
  t.match(graphError(400, graphBody('BadRequest'), {}, { kind: 'folder', ref: 'x' }), {
    code: 'MBG_ERR_UPSTREAM_REJECTED'
  })
  t.match(graphError(401, graphBody('InvalidAuthenticationToken'), {}, { kind: 'other', ref: 'x' }), {
    code: 'MBG_ERR_UPSTREAM_AUTH'
  })
  t.equal(
    (graphError(400, '', {}, { kind: 'other', ref: 'x' }) as { retry?: string }).retry,
    undefined,
    '4xx are not retried'
  )
})

t.test('graph errors blame the caller only for the caller\'s values', async (t) => {
  const malformed = graphBody('ErrorInvalidIdMalformed')
  t.match(graphError(400, malformed, {}, { kind: 'folder', ref: 'F=', from: 'caller' }),
    { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 })
  t.match(graphError(400, malformed, {}, { kind: 'folder', ref: 'inbox', from: 'wellKnown' }),
    { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502, upstreamCode: 'ErrorInvalidIdMalformed' })
  const rejected = { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502 }
  t.match(graphError(400, malformed, {}, { kind: 'folder', ref: 'root', from: 'gateway' }), rejected)
  const missing = graphBody('ErrorItemNotFound')
  t.match(graphError(404, missing, {}, { kind: 'folder', ref: 'calendar', from: 'wellKnown' }),
    { code: 'MBG_ERR_FOLDER_NOT_FOUND', message: /calendar/ })
  t.match(graphError(404, missing, {}, { kind: 'folder', ref: 'root', from: 'gateway' }), rejected)
  const mbx = { kind: 'mailbox', ref: 'MBX:x', from: 'gateway' } as const
  t.match(graphError(404, graphBody('ResourceNotFound'), {}, mbx), rejected)
  const noName = { kind: 'folder', ref: 'F=' } as const
  t.match(graphError(409, graphBody('ErrorFolderExists'), {}, noName), rejected, 'no name in the call')
  const root = { kind: 'folder', ref: 'root', from: 'gateway' } as const
  t.match(graphError(403, graphBody('ErrorDeleteDistinguishedFolder'), {}, root), rejected)
})

t.test('import endpoint errors are parsed leniently', async (t) => {
  t.match(importError(409, '{"Message":"The change key does not match the current version of the item."}', {}, 'I='), {
    code: 'MBG_ERR_CHANGE_KEY_CONFLICT'
  })
  t.match(importError(400, '{"Message":"The item data is corrupt: truncated stream."}', {}, 'I='), {
    code: 'MBG_ERR_DATA_INVALID'
  })
  t.match(importError(429, '', { 'retry-after': '1' }, 'I='), {
    code: 'MBG_ERR_UPSTREAM_THROTTLED',
    retryAfterMs: 1000
  })
  t.match(importError(401, '', {}, 'I='), { code: 'MBG_ERR_UPSTREAM_AUTH' })
  t.match(importError(500, 'oops', {}, 'I='), { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'idempotent' })
})

t.test('per-item export codes', async (t) => {
  t.match(exportItemError('ErrorItemNotFound', '', 'I='), {
    code: 'MBG_ERR_ITEM_NOT_FOUND',
    upstreamCode: 'ErrorItemNotFound'
  })
  t.match(exportItemError('ErrorInvalidMailboxItemId', "Item 'I=' doesn't belong to the targeted mailbox", 'I='), {
    code: 'MBG_ERR_ITEM_NOT_FOUND'
  })
  t.match(exportItemError('ErrorInvalidIdMalformed', '', 'I='), { code: 'MBG_ERR_ID_MALFORMED' })
  t.match(exportItemError('ErrorSomethingElse', 'x', 'I='), { code: 'MBG_ERR_UPSTREAM_REJECTED' })
})

t.test('import endpoint messages of the simulator family map to the right codes', async (t) => {
  const m = (status: number, message: string): string | undefined =>
    importError(status, JSON.stringify({ Message: message }), {}, 'I=').code
  t.equal(
    m(400, 'The item data is not a valid item stream. The item data is corrupt: unsupported version 7.'),
    'MBG_ERR_DATA_INVALID'
  )
  t.equal(m(409, 'The ChangeKey does not match the current version of the item.'), 'MBG_ERR_CHANGE_KEY_CONFLICT')
  // The docs' own, ambiguous wording: read as a conflict (the client re-reads rather than re-creates).
  t.equal(m(400, 'The ItemId and ChangeKey do not match an item in the target folder.'), 'MBG_ERR_CHANGE_KEY_CONFLICT')
  // The gateway builds Mode/ItemId/ChangeKey itself (and checks the caller's): such a refusal is not the caller's.
  t.equal(m(400, "ItemId and ChangeKey must not be specified when Mode is 'create'."), 'MBG_ERR_UPSTREAM_REJECTED')
  t.equal(m(404, 'The specified folder could not be found in the store.'), 'MBG_ERR_FOLDER_NOT_FOUND')
  t.equal(m(400, 'Id is malformed.'), 'MBG_ERR_ID_MALFORMED')
})

t.test('update-mode failures are told apart: missing item, malformed id or key, stale key, missing folder',
  async (t) => {
    const update = { itemId: 'I1=', folderId: 'F1=' }
    const m = (
      status: number,
      message: string,
      subject: { itemId?: string, folderId: string } = update
    ): { code?: string, statusCode?: number, message: string } =>
      importError(status, JSON.stringify({ Message: message }), {}, subject)
    // What the simulator answers for each case.
    t.match(m(400, 'The item specified by ItemId was not found in the target folder.'), {
      code: 'MBG_ERR_ITEM_NOT_FOUND',
      statusCode: 404,
      message: /I1=/
    })
    t.match(m(400, 'The ItemId is malformed.'), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400, message: /I1=/ })
    t.match(m(400, 'The ChangeKey is malformed.'), { code: 'MBG_ERR_CHANGE_KEY_INVALID', statusCode: 400 })
    t.match(m(409, 'The ChangeKey does not match the current version of the item.'), {
      code: 'MBG_ERR_CHANGE_KEY_CONFLICT',
      statusCode: 409
    })
    t.match(m(404, 'The specified folder could not be found in the store.'), {
      code: 'MBG_ERR_FOLDER_NOT_FOUND',
      message: /F1=/
    })
    t.match(m(404, 'The specified folder could not be found in the store.', { folderId: 'F1=' }), {
      code: 'MBG_ERR_FOLDER_NOT_FOUND',
      message: /F1=/
    })
    // Other plausible Exchange wordings.
    t.match(m(404, ''), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
    t.match(m(404, '', { folderId: 'F1=' }), { code: 'MBG_ERR_FOLDER_NOT_FOUND' })
    t.match(m(400, 'The specified object was not found in the store.'), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
    t.match(m(400, 'Item does not exist.'), { code: 'MBG_ERR_ITEM_NOT_FOUND' })
    t.match(m(409, 'ChangeKey mismatch.'), { code: 'MBG_ERR_CHANGE_KEY_CONFLICT' })
    t.match(m(400, 'The item has been changed; the change key is stale.'), { code: 'MBG_ERR_CHANGE_KEY_CONFLICT' })
    t.match(
      importError(412, JSON.stringify({ error: { code: 'ErrorIrresolvableConflict', message: 'x' } }), {}, update),
      { code: 'MBG_ERR_CHANGE_KEY_CONFLICT' }
    )
    t.match(m(400, 'Id is malformed.'), { code: 'MBG_ERR_ID_MALFORMED' })
    t.match(m(400, "ItemId and ChangeKey are required when Mode is 'update'."),
      { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502 })
    // The id a well-known folder was resolved to is the gateway's; it is named as the caller named it.
    const wk = { folderId: 'F1=', folderLabel: 'inbox', folderFrom: 'wellKnown' as const }
    t.match(m(400, 'The FolderId is malformed.', wk), { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502 })
    t.match(m(400, 'Id is malformed.', wk), { code: 'MBG_ERR_UPSTREAM_REJECTED', statusCode: 502 })
    t.match(m(400, 'The ItemId is malformed.', { ...wk, itemId: 'I1=' }),
      { code: 'MBG_ERR_ID_MALFORMED', message: /I1=/ })
    t.match(m(404, 'The specified folder could not be found in the store.', wk),
      { code: 'MBG_ERR_FOLDER_NOT_FOUND', message: /inbox/ })
  })

t.test('a 500 to a call about items: ErrorCorruptData is final; several items are split, not retried', async (t) => {
  const items = (count: number) => ({ kind: 'item' as const, ref: `${count} items`, count })
  const corrupt = graphError(500, graphBody('ErrorCorruptData'), {}, items(5))
  t.match(corrupt,
    { code: 'MBG_ERR_UPSTREAM_REJECTED', upstreamCode: 'ErrorCorruptData', retryable: false, isolate: true })
  t.equal(corrupt.retry, undefined, 'never retried')
  const alone = graphError(500, graphBody('ErrorCorruptData'), {}, items(1))
  t.match(alone, { code: 'MBG_ERR_UPSTREAM_REJECTED', retryable: false, isolate: false })
  t.equal(alone.retry, undefined)
  const several = graphError(500, graphBody('ErrorInternalServerError'), {}, items(3))
  t.match(several, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', isolate: true })
  t.equal(several.retry, undefined, 'split instead of retried whole')
  const one = graphError(500, graphBody('ErrorInternalServerError'), {}, items(1))
  t.match(one, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'idempotent' }, 'one item: the usual 5xx retries')
  t.equal(one.isolate, undefined)
  const folder = graphError(500, graphBody('ErrorCorruptData'), {}, { kind: 'folder', ref: 'f' })
  t.match(folder, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'idempotent' }, 'other calls as before')
})
