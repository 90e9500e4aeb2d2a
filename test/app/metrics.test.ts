/**
 * GET /metrics: the Prometheus text format over HTTP, HTTP and item counters that move by what a
 * real export and import did (simulators behind the gateway), every Telemetry method of
 * src/metrics.ts, no mailbox address, item id, folder name or request id in any label, one registry
 * per gateway, and the route served while the gateway sheds load.
 */
import t from 'tap'
import pino from 'pino'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildTestGateway, json, MAILBOXES } from '../helper.js'
import { buildGateway } from '../../src/build.js'
import { BackendRouter } from '../../src/backends/router.js'
import { GatewayMetrics } from '../../src/metrics.js'
import { MailboxService } from '../../src/service/index.js'
import type { MailboxBackend, MailboxRef } from '../../src/backends/mailbox-backend.js'
import { OPENAPI_PATH } from '../../src/cli/openapi.js'
import { openAuthenticator } from '../helpers/auth.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parses the Prometheus text format 0.0.4: one sample per non-comment line, `name{a="b",…} value`. */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]
    samples.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return samples
}

/** Sum of the samples named `name` whose labels include `labels` (0 when there is none). */
function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** The samples named `name`. */
function series (samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name)
}

async function scrape (app: FastifyInstance): Promise<{ samples: Sample[], text: string }> {
  const res = await app.inject({ url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${res.body}`)
  return { samples: parse(res.body), text: res.body }
}

async function direct (metrics: GatewayMetrics): Promise<Sample[]> {
  return parse(await metrics.scrape())
}

/** An address, folder name and request id nothing else in a scrape can contain by chance. */
const PRIVATE_ADDRESS = 'zebra-quokka-7f3a@contoso.example'
const PRIVATE_FOLDER = 'Quokka Ledger 7f3a'
const PRIVATE_REQUEST_ID = 'req-wombat-7f3a'

t.test('an export and an import move the HTTP and item counters by what they did; no address or id leaks',
  async (t) => {
    const { app, sims, config } = await buildTestGateway(t, {
      configure: (c) => { c.mailboxes.push({ address: PRIVATE_ADDRESS, backend: 'onprem-ews' }) }
    })
    const backend = config.mailboxes.find((m) => m.address === MAILBOXES.ews.primary)?.backend as string
    t.equal(backend, 'onprem-ews')
    sims.store.addMailbox({ smtp: PRIVATE_ADDRESS, displayName: 'Zebra Quokka', kind: 'primary' })
    const mbx = encodeURIComponent(PRIVATE_ADDRESS)
    const source = encodeURIComponent(MAILBOXES.ews.primary)
    const headers = { 'x-request-id': PRIVATE_REQUEST_ID }

    const before = (await scrape(app)).samples
    const list = json<{ items: Array<{ id: string }> }>(await app.inject({
      url: `/mailboxes/${source}/folders/inbox/items?pageSize=3`, headers
    }))
    t.equal(list.items.length, 3)
    const exported = json<{ results: Array<{ data: string, source: 'ews' }>, succeeded: number }>(
      await app.inject({
        method: 'POST',
        url: `/mailboxes/${source}/items:export`,
        headers,
        payload: { itemIds: list.items.map((i) => i.id) }
      }))
    t.equal(exported.succeeded, 3)
    const folder = json<{ id: string }>(await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/folders`, headers, payload: { displayName: PRIVATE_FOLDER }
    }))
    t.type(folder.id, 'string')
    const importRes = await app.inject({
      method: 'POST',
      url: `/mailboxes/${mbx}/items:import`,
      headers,
      payload: {
        items: [
          ...exported.results.map((r) => ({ folderId: folder.id, mode: 'create', data: r.data, source: r.source })),
          // Refused per item (no such folder): a failed item.
          { folderId: 'AAMkAGNoLongerThere7f3a', mode: 'create', data: exported.results[0].data, source: 'ews' }
        ]
      }
    })
    t.equal(importRes.statusCode, 200)
    const imported = json<{ results: Array<{ itemId?: string, error?: { code: string } }>, succeeded: number }>(
      importRes)
    t.equal(imported.succeeded, 3)
    t.equal(imported.results[3].error?.code !== undefined, true, 'the fourth item failed')
    const newIds = imported.results.flatMap((r) => r.itemId !== undefined ? [r.itemId] : [])
    // Export what was imported, plus an id that does not exist (a failed item).
    const missing = `${newIds[0].slice(0, -8)}AAAAAAAA`
    const again = json<{ results: Array<{ data?: string }>, succeeded: number, failed: number }>(await app.inject({
      method: 'POST', url: `/mailboxes/${mbx}/items:export`, headers, payload: { itemIds: [...newIds, missing] }
    }))
    t.equal(again.succeeded, 3)
    t.equal(again.failed, 1)
    const { samples: after, text } = await scrape(app)

    const delta = (name: string, labels: Record<string, string>): number =>
      value(after, name, labels) - value(before, name, labels)
    const bytes = (results: Array<{ data?: string }>): number =>
      results.reduce((n, r) => n + (r.data !== undefined ? Buffer.from(r.data, 'base64').length : 0), 0)

    t.equal(delta('mbg_items_total', { backend, kind: 'export', outcome: 'ok' }), 6, 'six items exported')
    t.equal(delta('mbg_items_total', { backend, kind: 'export', outcome: 'failed' }), 1, 'one export failed')
    t.equal(delta('mbg_items_total', { backend, kind: 'import', outcome: 'ok' }), 3, 'three items imported')
    t.equal(delta('mbg_items_total', { backend, kind: 'import', outcome: 'failed' }), 1, 'one import failed')
    t.equal(delta('mbg_items_total', { outcome: 'unknown' }), 0)
    t.equal(delta('mbg_item_bytes_total', { backend, kind: 'export' }),
      bytes(exported.results) + bytes(again.results), 'export bytes: decoded stream bytes of the items exported')
    t.equal(delta('mbg_item_bytes_total', { backend, kind: 'import' }), bytes(exported.results),
      'import bytes: decoded stream bytes of the items imported')
    t.ok(bytes(exported.results) > 0)

    const http = (method: string, route: string, status: string): number =>
      delta('mbg_http_requests_total', { method, route, status })
    t.equal(http('GET', '/mailboxes/:mailbox/folders/:folder/items', '200'), 1)
    t.equal(http('POST', '/mailboxes/:mailbox/items::export', '200'), 2, 'route template, not the URL')
    t.equal(http('POST', '/mailboxes/:mailbox/items::import', '200'), 1)
    t.equal(http('POST', '/mailboxes/:mailbox/folders', '201'), 1)
    t.equal(http('GET', '/metrics', '200'), 1, 'the first scrape is counted by the second')
    t.equal(delta('mbg_http_request_duration_seconds_count', {
      method: 'POST', route: '/mailboxes/:mailbox/items::export'
    }), 2)

    for (const secret of [
      PRIVATE_ADDRESS, mbx, 'zebra-quokka', PRIVATE_FOLDER, PRIVATE_REQUEST_ID, folder.id, missing,
      MAILBOXES.ews.primary, source, ...list.items.map((i) => i.id), ...newIds
    ]) {
      t.notOk(text.includes(secret), `the scrape does not contain ${secret.slice(0, 40)}`)
    }
    // Every label value is from a bounded set.
    const routes = new Set(series(after, 'mbg_http_requests_total').map((s) => s.labels.route))
    for (const route of routes) t.match(route, /^(unmatched|\/[a-z/:]*)$/, `route label ${route} is a template`)
  })

t.test('the scrape is Prometheus text with the process metrics; requests no route matched are "unmatched"',
  async (t) => {
    const { app } = await buildTestGateway(t)
    const miss = await app.inject({ url: `/nothing/${encodeURIComponent(MAILBOXES.graph.primary)}` })
    t.equal(miss.statusCode, 404)
    const res = await app.inject({ url: '/metrics' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
    const samples = parse(res.body)
    t.ok(value(samples, 'process_resident_memory_bytes') > 0, 'default process metrics are collected')
    t.ok(series(samples, 'nodejs_eventloop_lag_seconds').length > 0)
    t.equal(value(samples, 'mbg_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1)
    t.notOk(res.body.includes(MAILBOXES.graph.primary.split('@')[0]), 'the unmatched URL is not a label')
    t.match(res.body, /^# TYPE mbg_items_total counter$/m)
    t.match(res.body, /^# TYPE mbg_backend_request_duration_seconds histogram$/m)
    t.match(res.body, /^# HELP mbg_http_requests_total \S/m)
  })

t.test('each gateway has its own registry: counters start at zero and do not mix', async (t) => {
  const first = await buildTestGateway(t)
  const second = await buildTestGateway(t)
  await first.app.inject({ url: '/mailboxes' })
  await first.app.inject({ url: '/mailboxes' })
  await second.app.inject({ url: '/mailboxes' })
  const route = { method: 'GET', route: '/mailboxes', status: '200' }
  t.equal(value((await scrape(first.app)).samples, 'mbg_http_requests_total', route), 2)
  t.equal(value((await scrape(second.app)).samples, 'mbg_http_requests_total', route), 1)
  t.not(first.metrics.registry, second.metrics.registry)
})

t.test('Telemetry: every method moves its metric', async (t) => {
  const m = new GatewayMetrics()
  const empty = await direct(m)
  t.equal(series(empty, 'mbg_backend_requests_total').length, 0, 'a fresh instance has no series yet')

  m.backendCall({ backend: 'b1', operation: 'ExportItems', outcome: 'ok', seconds: 0.3 })
  m.backendCall({ backend: 'b1', operation: 'ExportItems', outcome: 'error', code: 'MBG_ERR_THROTTLED', seconds: 2 })
  m.backendCall({ backend: 'b1', operation: 'ExportItems', outcome: 'error', code: 'MBG_ERR_THROTTLED', seconds: 70 })
  let s = await direct(m)
  t.equal(value(s, 'mbg_backend_requests_total', { backend: 'b1', operation: 'ExportItems', outcome: 'ok', code: '' }),
    1)
  t.equal(value(s, 'mbg_backend_requests_total', { outcome: 'error', code: 'MBG_ERR_THROTTLED' }), 2)
  const latency = { backend: 'b1', operation: 'ExportItems' }
  t.equal(value(s, 'mbg_backend_request_duration_seconds_count', latency), 3)
  t.equal(value(s, 'mbg_backend_request_duration_seconds_sum', latency), 72.3)
  t.equal(value(s, 'mbg_backend_request_duration_seconds_bucket', { ...latency, le: '0.5' }), 1)
  t.equal(value(s, 'mbg_backend_request_duration_seconds_bucket', { ...latency, le: '60' }), 2)
  t.equal(value(s, 'mbg_backend_request_duration_seconds_bucket', { ...latency, le: '+Inf' }), 3)
  t.equal(value(s, 'mbg_backend_request_duration_seconds_bucket', { ...latency, le: '0.01' }), 0)

  m.retry({ backend: 'b1', operation: 'importItem', code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', waitSeconds: 1.5 })
  m.retry({ backend: 'b1', operation: 'importItem', code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', waitSeconds: 0.5 })
  s = await direct(m)
  t.equal(value(s, 'mbg_backend_retries_total',
    { backend: 'b1', operation: 'importItem', code: 'MBG_ERR_UPSTREAM_UNAVAILABLE' }), 2)
  t.equal(value(s, 'mbg_backend_retry_wait_seconds_total', { backend: 'b1', operation: 'importItem' }), 2)

  m.paced({ backend: 'b1', reason: 'budget', seconds: 0.25 })
  m.paced({ backend: 'b1', reason: 'concurrency', seconds: 0.002 })
  s = await direct(m)
  t.equal(value(s, 'mbg_backend_pacing_wait_seconds_count', { backend: 'b1', reason: 'budget' }), 1)
  t.equal(value(s, 'mbg_backend_pacing_wait_seconds_sum', { backend: 'b1', reason: 'budget' }), 0.25)
  t.equal(value(s, 'mbg_backend_pacing_wait_seconds_count', { backend: 'b1', reason: 'concurrency' }), 1)

  m.queued('b1', 3)
  m.queued('b1', -1)
  m.inFlight('b1', 2)
  m.inFlight('b2', 1)
  m.inFlight('b1', -2)
  s = await direct(m)
  t.equal(value(s, 'mbg_backend_queued_calls', { backend: 'b1' }), 2)
  t.equal(value(s, 'mbg_backend_in_flight_calls', { backend: 'b1' }), 0)
  t.equal(value(s, 'mbg_backend_in_flight_calls', { backend: 'b2' }), 1)

  const circuit = async (): Promise<number> => value(await direct(m), 'mbg_backend_circuit_state', { backend: 'b1' })
  m.circuit('b1', 'open')
  t.equal(await circuit(), 2)
  m.circuit('b1', 'halfOpen')
  t.equal(await circuit(), 1)
  m.circuit('b1', 'closed')
  t.equal(await circuit(), 0)
  t.equal(series(await direct(m), 'mbg_backend_circuit_state').length, 1, 'one series per backend')

  m.items({ backend: 'b1', kind: 'import', outcome: 'ok', count: 5, bytes: 1000 })
  m.items({ backend: 'b1', kind: 'import', outcome: 'unknown', count: 2, bytes: 0 })
  m.items({ backend: 'b1', kind: 'export', outcome: 'failed', count: 1, bytes: 0 })
  s = await direct(m)
  t.equal(value(s, 'mbg_items_total', { backend: 'b1', kind: 'import', outcome: 'ok' }), 5)
  t.equal(value(s, 'mbg_items_total', { backend: 'b1', kind: 'import', outcome: 'unknown' }), 2)
  t.equal(value(s, 'mbg_items_total', { backend: 'b1', kind: 'export', outcome: 'failed' }), 1)
  t.equal(value(s, 'mbg_item_bytes_total', { backend: 'b1', kind: 'import' }), 1000)
  t.equal(value(s, 'mbg_item_bytes_total', { backend: 'b1', kind: 'export' }), 0)

  m.split({ backend: 'b1', kind: 'import', code: 'MBG_ERR_DATA_INVALID' })
  s = await direct(m)
  t.equal(value(s, 'mbg_batch_splits_total', { backend: 'b1', kind: 'import', code: 'MBG_ERR_DATA_INVALID' }), 1)
  t.equal(value(s, 'mbg_batch_splits_total', { kind: 'export' }), 0)
})

t.test('the service reports a write whose answer was lost as outcome unknown, and counts only done bytes',
  async (t) => {
    const mailbox = { id: 'm1', address: 'x@contoso.example', type: 'ews', kind: 'primary' } as unknown as MailboxRef
    const lost = { code: 'MBG_ERR_OUTCOME_UNKNOWN', status: 502, message: 'answer lost', retryable: false }
    const refused = { code: 'MBG_ERR_DATA_INVALID', status: 422, message: 'bad', retryable: false }
    const limits = { maxItems: 10, maxBytes: 1 << 20, concurrency: 1 }
    const backend = {
      name: 'fake-ews',
      type: 'ews',
      limits: { import: limits, export: limits },
      importBatch: async (_m: MailboxRef, items: unknown[]) => items.map((_item, index) =>
        index === 0 ? { index, itemId: 'new-1', changeKey: 'ck' } : { index, error: index === 1 ? lost : refused })
    } as unknown as MailboxBackend
    const metrics = new GatewayMetrics()
    const service = new MailboxService({ router: {} as never, crossBackendImport: 'allow', telemetry: metrics })
    const data = Buffer.from('twelve bytes').toString('base64')
    const summary = await service.importItems({ mailbox, backend }, [0, 1, 2].map(() => ({
      folderId: 'inbox', mode: 'create' as const, data, source: 'ews' as const
    })))
    t.equal(summary.succeeded, 1)
    const s = await direct(metrics)
    const items = { backend: 'fake-ews', kind: 'import' }
    t.equal(value(s, 'mbg_items_total', { ...items, outcome: 'ok' }), 1)
    t.equal(value(s, 'mbg_items_total', { ...items, outcome: 'unknown' }), 1)
    t.equal(value(s, 'mbg_items_total', { ...items, outcome: 'failed' }), 1)
    t.equal(value(s, 'mbg_item_bytes_total', items), 12)
  })

t.test('/metrics is served while the gateway sheds load', async (t) => {
  const logger = pino({ level: 'silent' })
  let healthy = true
  const app = await buildGateway({
    authenticator: openAuthenticator(),
    router: new BackendRouter({ backends: new Map(), mailboxes: [], logger }),
    mode: 'configured',
    logger,
    docsUi: false,
    underPressure: { healthCheck: async () => healthy, healthCheckInterval: 5, retryAfter: 7 }
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  healthy = false
  // Wait (without a clock) until shedding is on.
  while ((await app.inject({ url: '/mailboxes' })).statusCode !== 503) await sleep(10)
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200, '/metrics answers under pressure')
  t.ok(value(parse(res.body), 'mbg_http_requests_total', { route: '/mailboxes', status: '503' }) >= 1,
    'and counts the shed requests')
})

t.test('the OpenAPI document describes GET /metrics as Prometheus text', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'))
  const op = doc.paths['/metrics']?.get
  t.equal(op?.operationId, 'metrics')
  t.same(op?.responses['200']?.content, { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } })
})
