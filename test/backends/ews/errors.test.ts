/**
 * The EWS code table (src/backends/ews/errors.ts): the same code blames the caller or not by
 * where the refused value came from, and README.md lists every row.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  EWS_CODES, errorForCode, faultIsolates, uploadErrorForCode, type CodeContext
} from '../../../src/backends/ews/errors.js'

const address = 'alice@contoso.example'
const code = (c: string, ctx: Omit<CodeContext, 'address'>): string | undefined =>
  errorForCode(c, { ...ctx, address }).code

t.test('an id code blames the caller only for the caller\'s id', async (t) => {
  t.equal(code('ErrorInvalidIdMalformed', { about: 'item', subject: 'I' }), 'MBG_ERR_ID_MALFORMED')
  const malformed = (ctx: Omit<CodeContext, 'address'>): string | undefined => code('ErrorInvalidIdMalformed', ctx)
  t.equal(malformed({ about: 'folder', subject: 'F', idFrom: 'caller' }), 'MBG_ERR_ID_MALFORMED')
  t.equal(malformed({ about: 'folder', subject: 'F', byId: true }), 'MBG_ERR_ID_MALFORMED')
  t.equal(malformed({ about: 'folder', subject: 'inbox' }), 'MBG_ERR_UPSTREAM_REJECTED', 'a well-known name')
  t.equal(malformed({ about: 'folder', subject: 'root', idFrom: 'gateway' }), 'MBG_ERR_UPSTREAM_REJECTED')
  t.equal(malformed({ about: 'request', subject: 'GetFolder' }), 'MBG_ERR_UPSTREAM_REJECTED', 'a fault names no id')
  const e = errorForCode('ErrorInvalidIdMalformed', { about: 'folder', subject: 'inbox', address })
  t.match(e, { statusCode: 502, upstreamCode: 'ErrorInvalidIdMalformed' })
})

t.test('not found: the caller\'s id or well-known name is a 404, the gateway\'s own lookup a 502', async (t) => {
  t.equal(code('ErrorItemNotFound', { about: 'item', subject: 'I' }), 'MBG_ERR_ITEM_NOT_FOUND')
  t.equal(code('ErrorItemNotFound', { about: 'folder', subject: 'F', byId: true }), 'MBG_ERR_FOLDER_NOT_FOUND')
  t.equal(code('ErrorFolderNotFound', { about: 'folder', subject: 'calendar' }), 'MBG_ERR_FOLDER_NOT_FOUND')
  t.equal(code('ErrorFolderNotFound', { about: 'request', subject: 'msgfolderroot' }), 'MBG_ERR_UPSTREAM_REJECTED')
  t.equal(code('ErrorItemNotFound', { about: 'request', subject: 'GetFolder' }), 'MBG_ERR_UPSTREAM_REJECTED')
})

t.test('foreign ids and the mailbox', async (t) => {
  t.equal(code('ErrorAccessDenied', { about: 'item', subject: 'I' }), 'MBG_ERR_ITEM_NOT_FOUND')
  t.equal(code('ErrorAccessDenied', { about: 'folder', subject: 'F', byId: true }), 'MBG_ERR_FOLDER_NOT_FOUND')
  t.equal(code('ErrorAccessDenied', { about: 'folder', subject: 'inbox' }), 'MBG_ERR_ACCESS_DENIED')
  t.equal(code('ErrorAccessDenied', { about: 'request', subject: 'GetFolder' }), 'MBG_ERR_ACCESS_DENIED')
  t.equal(code('ErrorNonExistentMailbox', { about: 'request', subject: 'GetFolder' }), 'MBG_ERR_MAILBOX_NOT_FOUND')
  t.equal(code('ErrorNonExistentMailbox', { about: 'item', subject: 'I' }), 'MBG_ERR_ITEM_NOT_FOUND')
  t.equal(code('ErrorImpersonateUserDenied', { about: 'request', subject: 'GetFolder' }), 'MBG_ERR_ACCESS_DENIED')
})

t.test('change keys, names and data by whose they are', async (t) => {
  t.equal(code('ErrorInvalidChangeKey', { about: 'item', subject: 'I' }), 'MBG_ERR_CHANGE_KEY_INVALID')
  t.equal(errorForCode('ErrorInvalidChangeKey', { about: 'item', subject: 'I', address: 'a@b.c' }).message,
    'Invalid change key: the one sent for item I', 'the message names the item the key was sent for')
  const ours = { about: 'folder', subject: 'F', byId: true, changeKeyFrom: 'gateway' } as const
  t.equal(code('ErrorInvalidChangeKey', ours), 'MBG_ERR_CHANGE_KEY_CONFLICT', 'a key the gateway read')
  t.equal(code('ErrorIrresolvableConflict', { about: 'item', subject: 'I' }), 'MBG_ERR_CHANGE_KEY_CONFLICT')
  t.equal(code('ErrorFolderExists', { about: 'folder', subject: 'F', name: 'Dup' }), 'MBG_ERR_FOLDER_EXISTS')
  t.equal(code('ErrorInvalidValueForProperty', { about: 'folder', subject: 'F', name: 'x' }), 'MBG_ERR_BAD_REQUEST')
  t.equal(code('ErrorInvalidValueForProperty', { about: 'item', subject: 'I' }), 'MBG_ERR_UPSTREAM_REJECTED')
  t.equal(code('ErrorCorruptData', { about: 'item', subject: 'I', dataFrom: 'caller' }), 'MBG_ERR_DATA_INVALID')
  const imported = { about: 'item', subject: 'I', dataFrom: 'caller' } as const
  t.equal(code('ErrorInvalidDataMarshalling', imported), 'MBG_ERR_DATA_INVALID')
  t.equal(code('ErrorCorruptData', { about: 'item', subject: 'I' }), 'MBG_ERR_UPSTREAM_REJECTED', 'exported data')
  t.equal(code('ErrorMessageSizeExceeded', { about: 'item', subject: 'I', dataFrom: 'caller' }), 'MBG_ERR_TOO_LARGE')
  t.equal(code('ErrorMessageSizeExceeded', { about: 'item', subject: 'I' }), 'MBG_ERR_UPSTREAM_REJECTED')
})

t.test('load and outages keep their retry hints', async (t) => {
  const values = { BackOffMilliseconds: '2000' }
  t.match(errorForCode('ErrorServerBusy', { about: 'request', subject: 'x', address, values }),
    { code: 'MBG_ERR_UPSTREAM_THROTTLED', retry: 'safe', retryAfterMs: 2000 })
  t.match(errorForCode('ErrorTimeoutExpired', { about: 'item', subject: 'I', address }),
    { code: 'MBG_ERR_UPSTREAM_TIMEOUT', retry: 'safe' })
  t.match(errorForCode('ErrorMailboxStoreUnavailable', { about: 'folder', subject: 'F', address }),
    { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', retry: 'safe' })
  t.equal(code('ErrorQuotaExceeded', { about: 'item', subject: 'I' }), 'MBG_ERR_QUOTA_EXCEEDED')
  t.equal(code('ErrorSomethingNew', { about: 'item', subject: 'I' }), 'MBG_ERR_UPSTREAM_REJECTED')
})

t.test('UploadItems: a create\'s folder is the caller\'s id or a resolved well-known name', async (t) => {
  type Extra = { mode: 'create' | 'update', folderWellKnown?: boolean, itemId?: string }
  const up = (c: string, extra: Extra): string | undefined =>
    uploadErrorForCode(c, { index: 0, folder: extra.folderWellKnown === true ? 'inbox' : 'F', address, ...extra }).code
  t.equal(up('ErrorInvalidIdMalformed', { mode: 'create' }), 'MBG_ERR_ID_MALFORMED')
  t.equal(up('ErrorInvalidIdMalformed', { mode: 'create', folderWellKnown: true }), 'MBG_ERR_UPSTREAM_REJECTED')
  t.equal(up('ErrorFolderNotFound', { mode: 'create', folderWellKnown: true }), 'MBG_ERR_FOLDER_NOT_FOUND')
  t.equal(up('ErrorAccessDenied', { mode: 'create' }), 'MBG_ERR_FOLDER_NOT_FOUND')
  const update = { mode: 'update', itemId: 'I', folderWellKnown: true } as const
  t.equal(up('ErrorInvalidIdMalformed', update), 'MBG_ERR_ID_MALFORMED', 'the caller\'s item id')
  t.equal(up('ErrorCorruptData', { mode: 'create' }), 'MBG_ERR_DATA_INVALID', 'import data is the caller\'s')
  t.equal(up('ErrorInvalidChangeKey', { mode: 'update', itemId: 'I' }), 'MBG_ERR_CHANGE_KEY_INVALID')
})

t.test('README lists every code of the table', async (t) => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  for (const c of Object.keys(EWS_CODES)) t.match(readme, `\`${c}\``, `${c} in README`)
})

t.test('which whole-request faults split a batch to find the item', async (t) => {
  t.ok(faultIsolates('ExportItems', 'ErrorInternalServerError'), 'an export changes nothing: any item fault')
  t.ok(faultIsolates('ExportItems', 'ErrorCorruptData'))
  t.ok(faultIsolates('UploadItems', 'ErrorMessageSizeExceeded'), 'refused before writing')
  t.ok(faultIsolates('UploadItems', 'ErrorInvalidDataMarker'))
  t.notOk(faultIsolates('UploadItems', 'ErrorInternalServerError'), 'items may have been stored before it')
  for (const code of ['ErrorServerBusy', 'ErrorMailboxStoreUnavailable', 'ErrorNonExistentMailbox',
    'ErrorImpersonateUserDenied', 'ErrorQuotaExceeded', 'ErrorInvalidServerVersion']) {
    t.notOk(faultIsolates('ExportItems', code), `${code} concerns every item`)
  }
  t.notOk(faultIsolates('CreateFolder', 'ErrorInternalServerError'), 'not a batch')
})
