/**
 * Prometheus metrics of one gateway instance, served at GET /metrics (routes/metrics.ts) in the
 * text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Built on prom-client: it is maintained, the de-facto Prometheus client for Node.js, and it
 * ships the default process metrics (CPU, memory, event-loop lag, GC, handles). Each gateway has
 * its own Registry, never prom-client's global default one: tests build many gateways in one
 * process, and a gateway's counters must start at zero and not collide with another's.
 *
 * Names follow https://prometheus.io/docs/practices/naming/: prefix `mbg_`, base units in the
 * name (`_seconds`, `_bytes`), counters end in `_total`. Label values are bounded: a configured
 * backend name, an operation name, an MBG_ERR_* code, an HTTP method, a route template, a status.
 * Never a mailbox address, an item or folder id, a folder name or a request id (cardinality and
 * privacy); README "Metrics" lists every metric.
 */
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import type { BackendCallEvent, ItemOutcome, Telemetry } from './telemetry.js'

/** Latency buckets, seconds: from a 10 ms answer to a 60 s batch call. */
export const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60]

/** Pacing-wait buckets, seconds: a slot freed at once up to a minute behind a saturated backend. */
export const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** `mbg_backend_circuit_state` values. */
export const CIRCUIT_STATE = { closed: 0, halfOpen: 1, open: 2 } as const

/** Route label of a request no route matched (404s, requests refused before routing). */
export const UNMATCHED_ROUTE = 'unmatched'

let processMetrics: Metric[] | undefined

/**
 * The default process metrics, collected once per process into a private registry (not the global
 * one) and shared by every gateway's registry. prom-client's collector starts an event-loop delay
 * monitor and a GC observer that are never stopped, so collecting once per gateway would leak both
 * (and process metrics are per process anyway).
 */
function defaultProcessMetrics (): Metric[] {
  if (processMetrics !== undefined) return processMetrics
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // The registry's metrics are the metric objects themselves (typed more narrowly as their descriptions).
  processMetrics = registry.getMetricsAsArray() as unknown as Metric[]
  return processMetrics
}

/**
 * The metrics of one gateway: a Registry with the process metrics and the gateway's own, the
 * `Telemetry` sink the policy and the service report to, and the HTTP server instrumentation
 * (`instrument`). One instance per gateway: pass it to `createRouter(…, { telemetry })`, to the
 * MailboxService and to `buildGateway({ metrics })`.
 */
export class GatewayMetrics implements Telemetry {
  readonly registry = new Registry()
  private readonly backendRequests: Counter<'backend' | 'operation' | 'outcome' | 'code'>
  private readonly backendDuration: Histogram<'backend' | 'operation'>
  private readonly retries: Counter<'backend' | 'operation' | 'code'>
  private readonly retryWait: Counter<'backend' | 'operation'>
  private readonly pacingWait: Histogram<'backend' | 'reason'>
  private readonly queuedCalls: Gauge<'backend'>
  private readonly inFlightCalls: Gauge<'backend'>
  private readonly circuitState: Gauge<'backend'>
  private readonly itemCount: Counter<'backend' | 'kind' | 'outcome'>
  private readonly itemBytes: Counter<'backend' | 'kind'>
  private readonly splits: Counter<'backend' | 'kind' | 'code'>
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>
  private readonly httpDuration: Histogram<'method' | 'route'>

  constructor () {
    for (const metric of defaultProcessMetrics()) this.registry.registerMetric(metric)
    const registers = [this.registry]
    this.backendRequests = new Counter({
      name: 'mbg_backend_requests_total',
      help: 'Backend call attempts by outcome (ok or error) and MBG_ERR_* code (empty when ok); a retry is ' +
        'another attempt.',
      labelNames: ['backend', 'operation', 'outcome', 'code'],
      registers
    })
    this.backendDuration = new Histogram({
      name: 'mbg_backend_request_duration_seconds',
      help: 'Wall time of one backend call attempt, seconds.',
      labelNames: ['backend', 'operation'],
      buckets: LATENCY_BUCKETS,
      registers
    })
    this.retries = new Counter({
      name: 'mbg_backend_retries_total',
      help: 'Backend calls sent again, by the MBG_ERR_* code of the failed attempt.',
      labelNames: ['backend', 'operation', 'code'],
      registers
    })
    this.retryWait = new Counter({
      name: 'mbg_backend_retry_wait_seconds_total',
      help: 'Time waited before retries (the backend\'s Retry-After or the policy\'s back-off), seconds.',
      labelNames: ['backend', 'operation'],
      registers
    })
    this.pacingWait = new Histogram({
      name: 'mbg_backend_pacing_wait_seconds',
      help: 'Time a backend call waited before going out: for a concurrency slot or for a request or upload-byte ' +
        'budget to refill, seconds.',
      labelNames: ['backend', 'reason'],
      buckets: WAIT_BUCKETS,
      registers
    })
    this.queuedCalls = new Gauge({
      name: 'mbg_backend_queued_calls',
      help: 'Backend calls waiting in the fair queue.',
      labelNames: ['backend'],
      registers
    })
    this.inFlightCalls = new Gauge({
      name: 'mbg_backend_in_flight_calls',
      help: 'Backend calls in flight.',
      labelNames: ['backend'],
      registers
    })
    this.circuitState = new Gauge({
      name: 'mbg_backend_circuit_state',
      help: 'Circuit breaker state of a backend: 0 closed, 1 half-open, 2 open.',
      labelNames: ['backend'],
      registers
    })
    this.itemCount = new Counter({
      name: 'mbg_items_total',
      help: 'Items exported or imported, by outcome: ok, failed (not done), unknown (a write whose answer was lost).',
      labelNames: ['backend', 'kind', 'outcome'],
      registers
    })
    this.itemBytes = new Counter({
      name: 'mbg_item_bytes_total',
      help: 'Item data exported or imported (decoded full-fidelity stream bytes of items done), bytes.',
      labelNames: ['backend', 'kind'],
      registers
    })
    this.splits = new Counter({
      name: 'mbg_batch_splits_total',
      help: 'Batch calls that failed as a whole for something one item may cause and were split to isolate it.',
      labelNames: ['backend', 'kind', 'code'],
      registers
    })
    this.httpRequests = new Counter({
      name: 'mbg_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers
    })
    this.httpDuration = new Histogram({
      name: 'mbg_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its answer, seconds.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers
    })
  }

  /** Every metric in the text exposition format 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`). */
  async scrape (): Promise<string> {
    return await this.registry.metrics()
  }

  backendCall (e: BackendCallEvent): void {
    this.backendRequests.inc({ backend: e.backend, operation: e.operation, outcome: e.outcome, code: e.code ?? '' })
    this.backendDuration.observe({ backend: e.backend, operation: e.operation }, e.seconds)
  }

  retry (e: { backend: string, operation: string, code: string, waitSeconds: number }): void {
    this.retries.inc({ backend: e.backend, operation: e.operation, code: e.code })
    this.retryWait.inc({ backend: e.backend, operation: e.operation }, e.waitSeconds)
  }

  paced (e: { backend: string, reason: 'concurrency' | 'budget', seconds: number }): void {
    this.pacingWait.observe({ backend: e.backend, reason: e.reason }, e.seconds)
  }

  queued (backend: string, delta: number): void {
    this.queuedCalls.inc({ backend }, delta)
  }

  inFlight (backend: string, delta: number): void {
    this.inFlightCalls.inc({ backend }, delta)
  }

  circuit (backend: string, state: 'closed' | 'open' | 'halfOpen'): void {
    this.circuitState.set({ backend }, CIRCUIT_STATE[state])
  }

  items (e: { backend: string, kind: 'export' | 'import', outcome: ItemOutcome, count: number, bytes: number }): void {
    this.itemCount.inc({ backend: e.backend, kind: e.kind, outcome: e.outcome }, e.count)
    this.itemBytes.inc({ backend: e.backend, kind: e.kind }, e.bytes)
  }

  split (e: { backend: string, kind: 'export' | 'import', code: string }): void {
    this.splits.inc({ backend: e.backend, kind: e.kind, code: e.code })
  }

  /**
   * Counts every answered request of `fastify` (hooks apply to the whole instance when it is the root or a
   * fastify-plugin): by method, route template (`routeOptions.url`, never the raw URL with its addresses and
   * ids; `unmatched` when no route matched) and status code, and observes its duration.
   */
  instrument (fastify: FastifyInstance): void {
    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE
      this.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) })
      this.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    })
  }
}
