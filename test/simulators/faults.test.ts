/**
 * Seeded fault plans, poisoned items, body-size limits and load counters of the EWS and Graph simulators,
 * observed over real HTTP; SOAP fault answers validated against Microsoft's EWS schema.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import {
  EWS_FAULT_KINDS, EWS_OPERATIONS, FaultPlan, GRAPH_OPERATIONS, mulberry32, retryAfterValue, simulatorFaultsFromEnv,
  type FaultRule
} from '../../src/simulators/faults.js'
import { OPERATIONS as EWS_SOAP_OPERATIONS } from '../../src/simulators/ews/operations/index.js'
import { startSimulators } from '../../src/simulators/index.js'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { toWireId, type GraphAppStats } from '../../src/simulators/graph/index.js'
import { validateEws } from '../helpers/ews-schema.js'
import { persist } from '../helpers/logs.js'
import { startTs, waitForOutput } from '../helpers/process.js'
import { dfid, harness, iid, m, messages, parse, shape, type Harness } from './ews-test-client.js'
import { startHarness, type Harness as GraphHarness } from './graph-helpers.js'

const M = DEMO_MAILBOXES
const getInbox = m('GetFolder', shape('FolderShape', 'IdOnly') + m('FolderIds', dfid('inbox')))

type Items = ReturnType<Harness['store']['itemsIn']>

function inboxItems (h: { store: Harness['store'] }, guid: string = M.alice.guid): Items {
  return h.store.itemsIn(h.store.wellKnownFolder(guid, 'inbox').id)
}

const exportOf = (ids: string[]): string => m('ExportItems', m('ItemIds', ids.map((id) => iid(id)).join('')))

function uploadOf (h: Harness): string {
  const inbox = h.store.wellKnownFolder(M.alice.guid, 'inbox')
  const data = inboxItems(h)[0].blob().toString('base64')
  return m('UploadItems', m('Items',
    `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${inbox.id}"/><t:Data>${data}</t:Data></t:Item>`))
}

/** One rule that fires on the next call of `op` only. */
const once = (op: string, kind: FaultRule['kinds'][number], extra: Partial<FaultRule> = {}): FaultRule =>
  ({ operations: [op], rate: 1, kinds: [kind], count: 1, ...extra })

t.test('the PRNG and Retry-After forms', async (t) => {
  const a = mulberry32(7)
  const b = mulberry32(7)
  const seq = Array.from({ length: 5 }, () => a())
  t.same(Array.from({ length: 5 }, () => b()), seq, 'same seed, same sequence')
  t.ok(seq.every((x) => x >= 0 && x < 1))
  t.notSame(Array.from({ length: 5 }, mulberry32(8)), seq)
  const now = Date.parse('2026-08-20T10:00:00.200Z')
  t.equal(retryAfterValue('seconds', 1.5, now), '2')
  t.equal(retryAfterValue('decimal', 1.5, now), '1.5')
  t.equal(retryAfterValue('decimal', 2, now), '2.0')
  t.equal(retryAfterValue('httpDate', 2, now), 'Thu, 20 Aug 2026 10:00:03 GMT')
  t.equal(retryAfterValue('absent', 2, now), undefined)
  t.throws(() => new FaultPlan(EWS_FAULT_KINDS, 'ews', { rules: [{ rate: 2, kinds: ['slow'] }] }), /rate must be/)
  t.throws(() => new FaultPlan(EWS_FAULT_KINDS, 'ews', { rules: [{ rate: 1, kinds: ['expiredSession'] }] }),
    /"expiredSession" is not one of/)
})

t.test('EWS: every kind over HTTP', async (t) => {
  const h = await harness(t)
  const plan = h.sim.faults.plan
  const soapFaults: Array<{ name: string, xml: string }> = []
  const itemCount = (): number => inboxItems(h).length

  // throttle: 429 (or 503) with Retry-After cycling through its forms, no body.
  plan.configure({ rules: [{ operations: ['GetFolder'], rate: 1, kinds: ['throttle'], count: 4, retryAfterSec: 2 }] })
  const throttled = []
  for (let i = 0; i < 4; i++) throttled.push(await h.call(getInbox))
  t.same(throttled.map((r) => r.status), [429, 429, 429, 429])
  t.equal(throttled[0].headers.get('retry-after'), '2')
  t.equal(throttled[1].headers.get('retry-after'), '2.0')
  t.ok(Number.isFinite(Date.parse(throttled[2].headers.get('retry-after') ?? '')), 'an HTTP-date')
  t.equal(throttled[3].headers.get('retry-after'), null)
  t.equal(throttled[0].text, '')
  t.equal((await h.call(getInbox)).status, 200, 'count runs out')
  plan.configure({ rules: [once('GetFolder', 'throttle', { status: 503, retryAfter: 'seconds' })] })
  const t503 = await h.call(getInbox)
  t.equal(t503.status, 503)
  t.equal(t503.headers.get('retry-after'), '1')

  // serverBusy: the ErrorServerBusy SOAP fault with BackOffMilliseconds; not acted on.
  plan.configure({ rules: [once('UploadItems', 'serverBusy', { backOffMs: 1234 })] })
  let before = itemCount()
  const busy = await h.call(uploadOf(h))
  t.equal(busy.status, 500)
  const detail = parse(busy.text).Envelope.Body.Fault.detail
  t.equal(detail.ResponseCode, 'ErrorServerBusy')
  t.same(detail.MessageXml.Value, [{ '#text': '1234', '@Name': 'BackOffMilliseconds' }])
  t.equal(itemCount(), before, 'nothing stored')
  soapFaults.push({ name: 'serverBusy', xml: busy.text })

  // unavailable: IIS's plain 503.
  plan.configure({ rules: [once('UploadItems', 'unavailable')] })
  const unavailable = await h.call(uploadOf(h))
  t.equal(unavailable.status, 503)
  t.match(unavailable.headers.get('content-type'), /text\/html/)
  t.equal(itemCount(), before, 'nothing stored')

  // serverError: ErrorInternalServerError SOAP fault; not acted on.
  plan.configure({ rules: [once('UploadItems', 'serverError')] })
  const internal = await h.call(uploadOf(h))
  t.equal(internal.status, 500)
  t.equal(parse(internal.text).Envelope.Body.Fault.detail.ResponseCode, 'ErrorInternalServerError')
  t.equal(itemCount(), before, 'nothing stored')
  soapFaults.push({ name: 'serverError', xml: internal.text })

  // resetBefore: no answer, nothing stored.
  plan.configure({ rules: [once('UploadItems', 'resetBefore')] })
  await t.rejects(h.call(uploadOf(h)), 'socket destroyed')
  t.equal(itemCount(), before, 'nothing stored')

  // resetAfter: no answer, but the item is stored.
  plan.configure({ rules: [once('UploadItems', 'resetAfter')] })
  await t.rejects(h.call(uploadOf(h)), 'socket destroyed')
  t.equal(itemCount(), before + 1, 'the upload happened')
  before = itemCount()

  // truncatedAfter: acted, the answer cut and ending with the marker.
  plan.configure({ rules: [once('UploadItems', 'truncatedAfter')] })
  const cut = await h.call(uploadOf(h))
  t.equal(cut.status, 200)
  t.ok(cut.text.endsWith('=== Truncated Data ==='))
  t.notOk(cut.text.includes('</s:Envelope>'))
  t.equal(itemCount(), before + 1, 'the upload happened')

  // slow: the answer comes after delayMs (order, not a stopwatch: a timer set first fires first).
  plan.configure({ rules: [once('GetFolder', 'slow', { delayMs: 200 })] })
  let elapsed = false
  const mark = setTimeout(() => { elapsed = true }, 200)
  t.equal((await h.call(getInbox)).status, 200)
  clearTimeout(mark)
  t.ok(elapsed, 'answer delayed')

  plan.clear()
  t.equal((await h.call(getInbox)).status, 200)
  t.same(h.sim.stats.faults, {
    throttle: 5,
    serverBusy: 1,
    unavailable: 1,
    serverError: 1,
    resetBefore: 1,
    resetAfter: 1,
    truncatedAfter: 1,
    slow: 1
  })
  const result = await validateEws(soapFaults)
  t.same(result.errors, [])
  t.ok(result.valid, 'SOAP fault answers are schema-valid')
})

t.test('EWS: the count-down knobs keep working and count as their kinds', async (t) => {
  const h = await harness(t)
  h.sim.faults.serverBusy = 1
  h.sim.faults.http503 = 1
  h.sim.faults.reset = 1
  await t.rejects(h.call(getInbox))
  t.equal((await h.call(getInbox)).status, 503)
  t.equal((await h.call(getInbox)).status, 500)
  h.sim.faults.truncate = 1
  t.ok((await h.call(getInbox)).text.endsWith('=== Truncated Data ==='))
  t.same(h.sim.stats.faults, { resetBefore: 1, unavailable: 1, serverBusy: 1, truncatedAfter: 1 })
})

async function statuses (h: Harness, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await h.call(getInbox)).status)
  return out
}

t.test('EWS: same seed, same faults; the rate is roughly honoured', async (t) => {
  const h = await harness(t)
  const rules: FaultRule[] = [{ operations: ['GetFolder'], rate: 0.3, kinds: ['serverError'] }]
  h.sim.faults.plan.configure({ seed: 7, rules })
  const first = await statuses(h, 40)
  h.sim.faults.plan.configure({ seed: 7, rules })
  t.same(await statuses(h, 40), first, 'replayed')
  h.sim.faults.plan.configure({ seed: 8, rules })
  t.notSame(await statuses(h, 40), first, 'another seed, other faults')

  h.sim.faults.plan.configure({ seed: 3, rules: [{ operations: ['*'], rate: 0.25, kinds: ['serverError'] }] })
  const many = await statuses(h, 200)
  const failed = many.filter((s) => s === 500).length
  t.ok(failed >= 25 && failed <= 80, `${failed} of 200 at rate 0.25`)
  t.ok(many.every((s) => s === 200 || s === 500))
  h.sim.faults.plan.configure({ rules: [{ operations: ['ExportItems'], rate: 1, kinds: ['serverError'] }] })
  t.equal((await h.call(getInbox)).status, 200, 'other operations are not touched')
})

t.test('EWS: a poisoned item fails every ExportItems batch holding it, and only those', async (t) => {
  const h = await harness(t)
  const [a, b, c] = inboxItems(h)
  h.sim.faults.poison = { ids: [b.id] }
  const bad = await h.call(exportOf([a.id, b.id, c.id]))
  t.equal(bad.status, 500)
  const fault = parse(bad.text).Envelope.Body.Fault
  t.equal(fault.detail.ResponseCode, 'ErrorInternalServerError')
  t.notOk(bad.text.includes('ExportItemsResponseMessage'), 'no per-item messages')
  const good = await h.call(exportOf([a.id, c.id]))
  t.equal(good.status, 200)
  t.same(messages(good.text, 'ExportItems').map((x) => x.ResponseCode), ['NoError', 'NoError'])

  h.sim.faults.poison = { subjects: [c.subject ?? 'no subject'] }
  t.equal((await h.call(exportOf([c.id]))).status, 500, 'by subject')
  t.equal((await h.call(exportOf([a.id]))).status, 200)
  t.equal(h.sim.stats.faults.poison, 2)
  const result = await validateEws([{ name: 'poison', xml: bad.text }])
  t.ok(result.valid, result.errors.join('\n'))
})

t.test('EWS: a body over maxRequestBytes gets 413 or ErrorMessageSizeExceeded; nothing stored', async (t) => {
  const probe = await harness(t)
  const body = uploadOf(probe)
  // The upload's envelope is bigger than its body; a GetFolder envelope is smaller.
  const limit = Buffer.byteLength(body)
  t.ok(Buffer.byteLength(getInbox) + 1000 < limit, 'GetFolder fits')
  const h = await harness(t, { maxRequestBytes: limit })
  const before = inboxItems(h).length
  const refused = await h.call(body)
  t.equal(refused.status, 413)
  t.equal(refused.text, '')
  h.sim.faults.oversizeAnswer = 'soapFault'
  const fault = await h.call(body)
  t.equal(fault.status, 500)
  t.equal(parse(fault.text).Envelope.Body.Fault.detail.ResponseCode, 'ErrorMessageSizeExceeded')
  t.equal(inboxItems(h).length, before, 'nothing stored')
  t.equal((await h.call(getInbox)).status, 200, 'small requests pass')
  t.equal(h.sim.stats.faults.tooLarge, 2)
  const result = await validateEws([{ name: 'size', xml: fault.text }])
  t.ok(result.valid, result.errors.join('\n'))
})

t.test('EWS stats: requests per operation, most in flight, reset', async (t) => {
  const h = await harness(t)
  h.sim.faults.plan.configure({ rules: [{ operations: ['GetFolder'], rate: 1, kinds: ['slow'], delayMs: 1000 }] })
  await Promise.all([h.call(getInbox), h.call(getInbox), h.call(getInbox)])
  t.equal(h.sim.stats.byOperation.GetFolder, 3)
  t.ok(h.sim.stats.maxInFlight >= 2, `${h.sim.stats.maxInFlight} in flight at once`)
  t.equal(h.sim.stats.inFlight, 0)
  t.equal(h.sim.stats.faults.slow, 3)
  h.sim.resetStats()
  t.same(h.sim.stats, {
    requests: 0,
    byOperation: {},
    inFlight: 0,
    maxInFlight: 0,
    faults: {},
    ntlm: { challenges: 0, authenticated: 0, refused: 0, onBoundConnection: 0 }
  })
})

// ---- Graph ----

function mbx (h: GraphHarness, guid: string, version = 'v1.0'): string {
  return `${h.sim.url}/${version}/admin/exchange/mailboxes/${h.sim.mailboxId(guid)}`
}

async function importUrl (h: GraphHarness, guid: string): Promise<string> {
  const s = await h.call('POST', `${mbx(h, guid)}/createImportSession`)
  if (s.status !== 201) throw new Error(`createImportSession: ${s.status}`)
  return s.json.importUrl as string
}

function importBody (h: GraphHarness): { FolderId: string, Mode: string, Data: string } {
  return { FolderId: 'inbox', Mode: 'create', Data: inboxItems(h, M.carol.guid)[0].blob().toString('base64') }
}

t.test('Graph: every kind over HTTP', async (t) => {
  const h = await startHarness(t)
  const plan = h.sim.faults.plan
  const folders = `${mbx(h, M.carol.guid)}/folders`
  const bobCount = (): number => inboxItems(h, M.bob.guid).length
  const named = (name: string): boolean => [...h.store.folders.values()].some((f) => f.displayName === name)

  plan.configure({ rules: [{ operations: ['listFolders'], rate: 1, kinds: ['throttle'], count: 4 }] })
  const throttled = []
  for (let i = 0; i < 4; i++) throttled.push(await h.call('GET', folders))
  t.same(throttled.map((r) => r.status), [429, 429, 429, 429])
  t.equal(throttled[0].json.error.code, 'TooManyRequests')
  t.equal(throttled[0].headers['retry-after'], '1')
  t.equal(throttled[1].headers['retry-after'], '1.0')
  t.ok(Number.isFinite(Date.parse(throttled[2].headers['retry-after'])))
  t.equal(throttled[3].headers['retry-after'], undefined)
  t.equal((await h.call('GET', folders)).status, 200)

  plan.configure({ rules: [once('listFolders', 'unavailable', { retryAfter: 'seconds', retryAfterSec: 5 })] })
  const unavailable = await h.call('GET', folders)
  t.equal(unavailable.status, 503)
  t.equal(unavailable.json.error.code, 'ServiceUnavailable')
  t.equal(unavailable.headers['retry-after'], '5')

  plan.configure({ rules: [once('createFolder', 'serverError')] })
  const internal = await h.call('POST', folders, { body: { displayName: 'Faults-500', type: 'IPF.Note' } })
  t.equal(internal.status, 500)
  t.equal(internal.json.error.code, 'InternalServerError')
  t.notOk(named('Faults-500'), 'not acted on')

  plan.configure({ rules: [once('createFolder', 'resetBefore')] })
  await t.rejects(h.call('POST', folders, { body: { displayName: 'Faults-before', type: 'IPF.Note' } }))
  t.notOk(named('Faults-before'), 'not acted on')
  plan.configure({ rules: [once('createFolder', 'resetAfter')] })
  await t.rejects(h.call('POST', folders, { body: { displayName: 'Faults-after', type: 'IPF.Note' } }))
  t.ok(named('Faults-after'), 'the folder was created')

  plan.configure({ rules: [once('listFolders', 'truncatedAfter')] })
  const cut = await h.call('GET', folders)
  t.equal(cut.status, 200)
  t.ok(cut.text.length > 0)
  t.throws(() => JSON.parse(cut.text), 'not parseable')

  // The import endpoint: resetAfter stores the item, expiredSession expires the URL.
  const url = await importUrl(h, M.bob.guid)
  let before = bobCount()
  plan.configure({ rules: [once('importItem', 'resetBefore')] })
  await t.rejects(h.call('POST', url, { token: null, body: importBody(h) }))
  t.equal(bobCount(), before, 'not acted on')
  plan.configure({ rules: [once('importItem', 'resetAfter')] })
  await t.rejects(h.call('POST', url, { token: null, body: importBody(h) }))
  t.equal(bobCount(), before + 1, 'the item was stored')
  before = bobCount()
  plan.configure({ rules: [once('importItem', 'truncatedAfter')] })
  const cutImport = await h.call('POST', url, { token: null, body: importBody(h) })
  t.equal(cutImport.status, 200)
  t.throws(() => JSON.parse(cutImport.text))
  t.equal(bobCount(), before + 1)
  before = bobCount()
  plan.configure({ rules: [once('importItem', 'throttle', { retryAfter: 'absent' })] })
  const throttledImport = await h.call('POST', url, { token: null, body: importBody(h) })
  t.equal(throttledImport.status, 429)
  t.type(throttledImport.json.Message, 'string', 'the import endpoint speaks {"Message"}')
  plan.configure({ rules: [once('importItem', 'expiredSession')] })
  const expired = await h.call('POST', url, { token: null, body: importBody(h) })
  t.equal(expired.status, 401)
  t.match(expired.json.Message, /expired/)
  t.equal((await h.call('POST', url, { token: null, body: importBody(h) })).status, 401, 'the URL stays expired')
  t.equal(bobCount(), before, 'nothing stored')
  const fresh = await importUrl(h, M.bob.guid)
  t.equal((await h.call('POST', fresh, { token: null, body: importBody(h) })).status, 200, 'a new session works')

  plan.configure({ rules: [once('getExchangeSettings', 'slow', { delayMs: 200 })] })
  let elapsed = false
  const mark = setTimeout(() => { elapsed = true }, 200)
  t.equal((await h.call('GET', `${h.sim.url}/v1.0/users/${M.carol.smtp}/settings/exchange`)).status, 200)
  clearTimeout(mark)
  t.ok(elapsed, 'answer delayed')

  t.same(h.sim.stats.faults, {
    throttle: 5,
    unavailable: 1,
    serverError: 1,
    resetBefore: 2,
    resetAfter: 2,
    truncatedAfter: 2,
    expiredSession: 1,
    slow: 1
  })
})

t.test('Graph: the count-down knobs count as their kinds on the import endpoint; expiredSession is import-only',
  async (t) => {
    const h = await startHarness(t)
    const url = await importUrl(h, M.bob.guid)
    h.sim.faults.only = ['importItem']
    h.sim.faults.throttle = 1
    h.sim.faults.http503 = 1
    t.equal((await h.call('POST', url, { token: null, body: importBody(h) })).status, 429)
    t.equal((await h.call('POST', url, { token: null, body: importBody(h) })).status, 503)
    t.equal((await h.call('POST', url, { token: null, body: importBody(h) })).status, 200)
    h.sim.faults.plan.configure({ rules: [{ operations: ['*'], rate: 1, kinds: ['expiredSession'] }] })
    t.equal((await h.call('GET', `${mbx(h, M.carol.guid)}/folders`)).status, 200, 'no effect on Graph calls')
    t.same(h.sim.stats.faults, { throttle: 1, unavailable: 1 })
  })

t.test('Graph: same seed, same faults', async (t) => {
  const h = await startHarness(t)
  const folders = `${mbx(h, M.carol.guid)}/folders`
  const rules: FaultRule[] = [{ rate: 0.3, kinds: ['serverError', 'unavailable'], weights: [1, 3] }]
  const run = async (seed: number): Promise<number[]> => {
    h.sim.faults.plan.configure({ seed, rules })
    const out: number[] = []
    for (let i = 0; i < 30; i++) out.push((await h.call('GET', folders)).status)
    return out
  }
  const first = await run(11)
  t.same(await run(11), first)
  t.ok(first.some((s) => s !== 200))
})

t.test('Graph: a poisoned item fails every exportItems batch holding it, and only those', async (t) => {
  const h = await startHarness(t)
  const [a, b, c] = inboxItems(h, M.carol.guid)
  const exportItems = `${mbx(h, M.carol.guid)}/exportItems`
  h.sim.faults.poison = { ids: [b.id] }
  const bad = await h.call('POST', exportItems, { body: { itemIds: [a, b, c].map((i) => toWireId(i.id)) } })
  t.equal(bad.status, 500)
  t.equal(bad.json.error.code, 'ErrorCorruptData')
  t.equal(bad.json.value, undefined)
  const good = await h.call('POST', exportItems, { body: { itemIds: [a, c].map((i) => toWireId(i.id)) } })
  t.equal(good.status, 200)
  t.equal(good.json.value.length, 2)
  h.sim.faults.poison = { subjects: [a.subject ?? 'no subject'] }
  t.equal((await h.call('POST', exportItems, { body: { itemIds: [toWireId(a.id)] } })).status, 500, 'by subject')
  t.equal(h.sim.stats.faults.poison, 2)
})

t.test('Graph: an import POST over importMaxBytes gets 413 and stores nothing', async (t) => {
  const h = await startHarness(t, { importMaxBytes: 2048 })
  const url = await importUrl(h, M.bob.guid)
  const body = importBody(h)
  t.ok(JSON.stringify(body).length > 2048)
  const before = inboxItems(h, M.bob.guid).length
  const r = await h.call('POST', url, { token: null, body })
  t.equal(r.status, 413)
  t.type(r.json.Message, 'string')
  t.equal(inboxItems(h, M.bob.guid).length, before)
  t.equal(h.sim.stats.faults.tooLarge, 1)
})

t.test('Graph stats: concurrency violations, import POSTs on the same slots, mean in flight', async (t) => {
  const h = await startHarness(t, { throttling: { concurrencyPerApp: 2 } })
  const folders = `${mbx(h, M.carol.guid)}/folders`
  const app = (): GraphAppStats => Object.values(h.sim.stats.apps)[0]

  // One after the other: never more than one in flight.
  for (let i = 0; i < 3; i++) t.equal((await h.call('GET', folders)).status, 200)
  t.equal(app().concurrencyViolations, 0)
  t.ok(app().meanInFlight > 0 && app().meanInFlight <= 1 + 1e-9, `sequential mean ${app().meanInFlight}`)
  t.equal(app().maxInFlight, 1)

  // Two import POSTs hold both slots (slow); a Graph call meanwhile is a violation, answered 429.
  h.sim.resetStats()
  const url = await importUrl(h, M.bob.guid)
  h.sim.faults.plan.configure({ rules: [{ operations: ['importItem'], rate: 1, kinds: ['slow'], delayMs: 1500 }] })
  const imports = { settled: false }
  const slowImports = Promise.all([
    h.call('POST', url, { token: null, body: importBody(h) }),
    h.call('POST', url, { token: null, body: importBody(h) })
  ]).finally(() => { imports.settled = true })
  // Until both hold their slot (or, should they not count, until they are done).
  while (app().inFlight < 2 && !imports.settled) await new Promise((resolve) => setTimeout(resolve, 10))
  const over = await h.call('GET', folders)
  t.equal(over.status, 429)
  t.equal(over.json.error.code, 'ApplicationThrottled')
  const overImport = await h.call('POST', url, { token: null, body: importBody(h) })
  t.equal(overImport.status, 429, 'an import POST meanwhile is one too')
  t.equal(overImport.json.Message, 'Application is over its MailboxConcurrency limit.')
  t.same((await slowImports).map((r) => r.status), [200, 200])
  t.equal(app().concurrencyViolations, 2)
  t.equal(h.sim.stats.concurrencyViolations, 2)
  t.equal(app().maxInFlight, 2)
  t.ok(app().meanInFlight > 1, `overlapping mean ${app().meanInFlight}`)
  t.equal(h.sim.stats.byOperation.importItem, 3)
  t.equal(h.sim.stats.byOperation.createImportSession, 1)
  t.equal(h.sim.stats.byOperation.listFolders, 1)
})

t.test('SIMULATOR_FAULTS: JSON or @file, validated with one-line errors', async (t) => {
  const doc = { seed: 7, ews: [{ operations: ['ExportItems'], rate: 0.1, kinds: ['serverBusy', 'resetAfter'] }] }
  t.same(simulatorFaultsFromEnv({ SIMULATOR_FAULTS: JSON.stringify(doc) }), doc)
  const every = {
    ews: [{ operations: [...EWS_OPERATIONS, '*'], rate: 1, kinds: ['slow'] }],
    graph: [{ operations: [...GRAPH_OPERATIONS, '*'], rate: 1, kinds: ['slow'] }]
  }
  t.same(simulatorFaultsFromEnv({ SIMULATOR_FAULTS: JSON.stringify(every) }), every, 'every operation name is accepted')
  t.same([...EWS_OPERATIONS].sort(), Object.keys(EWS_SOAP_OPERATIONS).sort(),
    'the EWS names are the operations the simulator serves')
  t.equal(simulatorFaultsFromEnv({}), undefined)
  const dir = mkdtempSync(join(tmpdir(), 'mbg-faults-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'f.json'), JSON.stringify({ poison: { subjects: ['x'] }, ewsMaxRequestBytes: 1000 }))
  t.same(simulatorFaultsFromEnv({ SIMULATOR_FAULTS: `@${join(dir, 'f.json')}` }),
    { poison: { subjects: ['x'] }, ewsMaxRequestBytes: 1000 })
  const bad: Array<[string, RegExp]> = [
    ['{"seed":', /^SIMULATOR_FAULTS is not valid JSON: /],
    ['[]', /^SIMULATOR_FAULTS must be a JSON object$/],
    ['{"ews":[{"rate":0.5,"kinds":["expiredSession"]}]}', /^SIMULATOR_FAULTS\.ews\[0\]\.kinds: "expiredSession"/],
    ['{"graph":[{"rate":0.5,"kinds":["slow"],"delay":3}]}', /^SIMULATOR_FAULTS\.graph\[0\] has an unknown field "delay"$/],
    ['{"ewsOversizeAnswer":"413"}', /ewsOversizeAnswer must be/],
    ['{"seed":1.5}', /^SIMULATOR_FAULTS\.seed must be an integer$/],
    ['{"frobnicate":1}', /unknown field "frobnicate"/],
    ['{"ews":{}}', /^SIMULATOR_FAULTS\.ews must be an array of fault rules$/],
    ['{"ews":[1]}', /ews\[0\] must be an object$/],
    ['{"ews":[{"operations":"ExportItems","rate":1,"kinds":["slow"]}]}', /operations must be an array/],
    ['{"ews":[{"operations":["FooBar"],"rate":1,"kinds":["slow"]}]}',
      /^SIMULATOR_FAULTS\.ews\[0\]\.operations: "FooBar" is not one of GetFolder, .*, GetAttachment \(or '\*'\)$/],
    ['{"ews":[{"operations":["ExportItems","exportitems"],"rate":1,"kinds":["slow"]}]}',
      /^SIMULATOR_FAULTS\.ews\[0\]\.operations: "exportitems" is not one of /],
    ['{"graph":[{"operations":["UploadItems"],"rate":1,"kinds":["slow"]}]}',
      /^SIMULATOR_FAULTS\.graph\[0\]\.operations: "UploadItems" is not one of getExchangeSettings, .*importItem/],
    ['{"ews":[{"rate":1,"kinds":["slow"]},{"operations":["exportItems"],"rate":1,"kinds":["slow"]}]}',
      /^SIMULATOR_FAULTS\.ews\[1\]\.operations: "exportItems" is not one of /],
    ['{"ews":[{"rate":1,"kinds":[]}]}', /kinds must be a non-empty array/],
    ['{"ews":[{"rate":1,"kinds":["slow","throttle"],"weights":[1]}]}', /weights must be/],
    ['{"ews":[{"rate":1,"kinds":["slow"],"weights":[0]}]}', /weights must be/],
    ['{"ews":[{"rate":1,"kinds":["slow"],"count":-1}]}', /count must be a non-negative integer/],
    ['{"ews":[{"rate":1,"kinds":["slow"],"delayMs":"5"}]}', /delayMs must be a number/],
    ['{"ews":[{"rate":1,"kinds":["throttle"],"retryAfter":"never"}]}', /retryAfter must be one of/],
    ['{"ews":[{"rate":1,"kinds":["throttle"],"status":500}]}', /status must be 429 or 503/],
    ['{"poison":[]}', /poison must be an object/],
    ['{"poison":{"items":[]}}', /poison has an unknown field "items"/],
    ['{"poison":{"ids":"x"}}', /poison\.ids must be an array of strings/],
    ['{"ewsMaxRequestBytes":0}', /ewsMaxRequestBytes must be a positive integer/],
    ['{"graphConcurrencyPerApp":2.5}', /graphConcurrencyPerApp must be a positive integer/],
    [`@${join(dir, 'missing.json')}`, /^SIMULATOR_FAULTS: cannot read /]
  ]
  for (const [value, message] of bad) {
    t.throws(() => simulatorFaultsFromEnv({ SIMULATOR_FAULTS: value }), message, value)
    try { simulatorFaultsFromEnv({ SIMULATOR_FAULTS: value }) } catch (err) {
      t.notMatch((err as Error).message, /\n/, 'one line')
    }
  }
})

t.test('startSimulators applies the document to both simulators', async (t) => {
  const sims = await startSimulators({
    faults: {
      seed: 5,
      ews: [{ operations: ['GetFolder'], rate: 1, kinds: ['serverError'] }],
      graph: [{ operations: ['listFolders'], rate: 1, kinds: ['unavailable'] }],
      poison: { subjects: ['x'] },
      ewsMaxRequestBytes: 1000,
      ewsOversizeAnswer: 'soapFault',
      graphImportMaxBytes: 5000,
      graphConcurrencyPerApp: 2
    }
  })
  t.teardown(sims.close)
  t.equal(sims.ews.faults.plan.seed, 5)
  t.equal(sims.ews.faults.plan.rules.length, 1)
  t.equal(sims.graph.faults.plan.rules[0].kinds[0], 'unavailable')
  t.same(sims.ews.faults.poison, { subjects: ['x'] })
  t.same(sims.graph.faults.poison, { subjects: ['x'] })
  t.equal(sims.ews.faults.maxRequestBytes, 1000)
  t.equal(sims.ews.faults.oversizeAnswer, 'soapFault')
  t.equal(sims.graph.faults.importMaxBytes, 5000)
})

t.test('`npm run sim` with SIMULATOR_FAULTS serves the faults; a bad one stops it with one line', async (t) => {
  const faults = { ews: [{ operations: ['GetFolder'], rate: 1, kinds: ['serverError'] }] }
  const child = startTs('src/cli/simulators.ts', [], { ...process.env, SIMULATOR_FAULTS: JSON.stringify(faults) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  child.stderr.on('data', (c: Buffer) => { persist(c.toString().split('\n')) })
  const info = JSON.parse((await waitForOutput(child, 'stdout', /^(.*)\n/))[1]) as {
    ews: { url: string, username: string, password: string }
  }
  const soap = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>alice@contoso.example</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body>${getInbox}</s:Body></s:Envelope>`
  const res = await request(info.ews.url, {
    method: 'POST',
    body: soap,
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      authorization: `Basic ${Buffer.from(`${info.ews.username}:${info.ews.password}`).toString('base64')}`
    }
  })
  t.equal(res.statusCode, 500)
  t.match(await res.body.text(), /ErrorInternalServerError/)
  child.kill('SIGTERM')
  t.equal(await exited, 0)

  const bad = startTs('src/cli/simulators.ts', [], { ...process.env, SIMULATOR_FAULTS: '{"ews":' })
  let stderr = ''
  bad.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve))
  t.equal(code, 1)
  t.match(stderr, /^simulators: SIMULATOR_FAULTS is not valid JSON: [^\n]*\n$/)
})
