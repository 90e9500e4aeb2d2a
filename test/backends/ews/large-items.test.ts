/**
 * Multi-megabyte items end to end against the EWS simulator. A grouped, repeated
 * regex over the item data (`(?:[A-Za-z0-9+/]{4})+…`) overflows V8's regex stack at
 * this size (RangeError: Maximum call stack size exceeded), so these also guard
 * against one coming back anywhere on the path.
 */
import t from 'tap'
import { createEwsBackend } from '../../../src/backends/ews/index.js'
import { ewsConfig, ewsMailbox } from '../../helpers/backends.js'
import { type ImportResult } from '../../../src/backends/mailbox-backend.js'
import { Policy } from '../../../src/backends/policy.js'
import { startEwsSimulator } from '../../../src/simulators/ews/index.js'
import {
  decodeItemStream,
  encodeItemStream,
  PROP,
  PT_BINARY,
  PT_INT32,
  PT_UNICODE_CP1200
} from '../../../src/simulators/store/fts.js'
import { seedDemoTenant } from '../../../src/simulators/store/seed.js'
import { captureLogs } from '../../helpers/logs.js'
import { collect, exportItemsVia, importItemsVia } from '../../helpers/service.js'

const { logger } = captureLogs('debug', { redaction: false })
const alice = ewsMailbox('alice')
const MiB = 1024 * 1024

const store = seedDemoTenant()
const sim = await startEwsSimulator({
  store,
  accounts: [{ username: 'svc-gateway', password: 'pw', impersonation: true }]
})
const backend = createEwsBackend(
  ewsConfig('ews', { url: sim.url, auth: { kind: 'basic', username: 'svc-gateway', password: 'pw' } }),
  { policy: new Policy({ baseDelayMs: 5 }), logger }
)
t.teardown(async () => { await backend.close(); await sim.close() })

/**
 * A valid item stream with one PT_BINARY attachment of `bytes` pseudo-random bytes and a search key, as an
 * exported stream has (a stream without one gets the store's fresh key written into it).
 */
function bigItem (bytes: number): Buffer {
  const attachment = Buffer.alloc(bytes)
  // Not all-equal bytes: the base64 then uses the whole alphabet ('+' and '/' included).
  for (let i = 0; i < bytes; i++) attachment[i] = (i * 2654435761) >>> 24
  const str = (id: number, value: string): { type: number, id: number, value: string } => ({
    type: PT_UNICODE_CP1200,
    id,
    value
  })
  return encodeItemStream({
    props: [
      str(PROP.MessageClass, 'IPM.Note'),
      str(PROP.Subject, 'Six megabytes'),
      { type: PT_BINARY, id: PROP.SearchKey, value: Buffer.alloc(16, bytes % 251) }
    ],
    recipients: [],
    attachments: [[
      { type: PT_INT32, id: PROP.AttachNum, value: 0 },
      { type: PT_INT32, id: PROP.AttachMethod, value: 1 },
      str(PROP.AttachFilename, 'big.bin'),
      { type: PT_INT32, id: PROP.AttachSize, value: bytes },
      { type: PT_BINARY, id: PROP.AttachDataBinary, value: attachment }
    ]]
  })
}

t.test('a 6 MiB item imports (create) and re-exports byte-identical', async (t) => {
  const stream = bigItem(6 * MiB)
  t.ok(stream.length > 6 * MiB)
  const data = stream.toString('base64')
  t.match(data, /[+/]/, 'the data uses the whole base64 alphabet')

  const [created] = await collect(
    importItemsVia(backend, alice, [{ folderId: { wellKnown: 'inbox' }, mode: 'create', data }])
  )
  t.notOk('error' in created, JSON.stringify(created))
  const { itemId, changeKey } = created as Exclude<ImportResult, { error: unknown }>
  t.match(itemId, /^[A-Za-z0-9_-]+$/)

  const [exported] = await collect(exportItemsVia(backend, alice, [itemId]))
  t.notOk('error' in exported, JSON.stringify('error' in exported ? exported.error : ''))
  const back = Buffer.from((exported as { data: string }).data, 'base64')
  t.equal(back.length, stream.length)
  t.ok(back.equals(stream), 're-exported stream is byte-identical')
  t.equal((exported as { changeKey: string }).changeKey, changeKey)
  t.equal(decodeItemStream(back).attachments[0].length, 5, 'still a valid stream')

  // Update mode goes through the same checks.
  const [updated] = await collect(
    importItemsVia(backend, alice, [{ folderId: { wellKnown: 'inbox' }, mode: 'update', itemId, changeKey, data }])
  )
  t.notOk('error' in updated, JSON.stringify(updated))
})

t.test('6 MiB of invalid base64 is a per-item MBG_ERR_DATA_INVALID, not a crash', async (t) => {
  const good = bigItem(6 * MiB).toString('base64')
  const results = await collect(importItemsVia(backend, alice, [
    { folderId: { wellKnown: 'inbox' }, mode: 'create', data: good.slice(0, -4) + 'A=A=' },
    { folderId: { wellKnown: 'inbox' }, mode: 'create', data: good.slice(1) }
  ]))
  t.same(results.map((r) => 'error' in r ? r.error.code : 'ok'), ['MBG_ERR_DATA_INVALID', 'MBG_ERR_DATA_INVALID'])
  t.match((results[0] as { error: { message: string } }).error.message, 'import item 0')
  t.match((results[1] as { error: { message: string } }).error.message, 'import item 1')
})

t.test('a multi-megabyte id in a request is rejected as malformed, not a crash', async (t) => {
  const hugeId = '~' + Buffer.from(Buffer.alloc(3 * MiB, 0xfb).toString('base64')).toString('base64url')
  const [r] = await collect(exportItemsVia(backend, alice, [hugeId]))
  t.equal('error' in r ? r.error.code : 'ok', 'MBG_ERR_ID_MALFORMED')
  t.ok('error' in r && r.error.message.length < 200, 'the message does not echo megabytes')
})
