/**
 * The policy's fair queue, budgets and circuit, without a backend: order, refusals and states,
 * never durations.
 */
import t from 'tap'
import { inBackground, Policy, type CallOptions, type PolicySettings } from '../../src/backends/policy.js'
import { memoryBudget, SlidingBudget } from '../../src/backends/budgets.js'
import { BackendHealth } from '../../src/backends/health.js'
import { FolderNotFound, UpstreamThrottled, UpstreamUnavailable } from '../../src/errors.js'
import { annotate } from '../../src/upstream/errors.js'
import { captureLogs } from '../helpers/logs.js'

const call = (key: string, extra: Partial<CallOptions> = {}): CallOptions =>
  ({ backend: 'b', operation: 'op', key, idempotent: true, ...extra })

interface Gate { open: () => void, opened: Promise<void> }
function gate (): Gate {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { open, opened }
}

/** A policy whose backend `b` has one slot, taken by a call that waits for the returned gate. */
function blocked (settings: PolicySettings = {}): { policy: Policy, held: Gate, blocker: Promise<unknown> } {
  const policy = new Policy({ concurrency: 1, ...settings })
  policy.register('b', { concurrency: 1 })
  const held = gate()
  const blocker = policy.run(call('x'), async () => { await held.opened })
  return { policy, held, blocker }
}

t.test('waiting calls are served round-robin across mailboxes, then across callers', async (t) => {
  const { policy, held, blocker } = blocked()
  const order: string[] = []
  const job = (label: string) => async () => { order.push(label) }
  const runs = [
    policy.run(call('A', { caller: 'bulk' }), job('A/bulk#1')),
    policy.run(call('A', { caller: 'bulk' }), job('A/bulk#2')),
    policy.run(call('A', { caller: 'bulk' }), job('A/bulk#3')),
    policy.run(call('A', { caller: 'single' }), job('A/single')),
    policy.run(call('B', { caller: 'get' }), job('B/get'))
  ]
  t.same(policy.load('b'), { queued: 5, inFlight: 1 })
  held.open()
  await Promise.all([blocker, ...runs])
  t.same(order, ['A/bulk#1', 'B/get', 'A/single', 'A/bulk#2', 'A/bulk#3'],
    'a bulk caller does not starve another mailbox nor another caller of its mailbox')
  t.same(policy.load('b'), { queued: 0, inFlight: 0 })
})

t.test('the per-backend cap holds across mailboxes, the per-mailbox cap within one', async (t) => {
  const policy = new Policy({ concurrency: 2 })
  policy.register('b', { concurrency: 3 })
  let active = 0
  let peak = 0
  const perMailbox = new Map<string, number>()
  let peakMailbox = 0
  const job = (key: string) => async (): Promise<void> => {
    active++; peak = Math.max(peak, active)
    perMailbox.set(key, (perMailbox.get(key) ?? 0) + 1)
    peakMailbox = Math.max(peakMailbox, perMailbox.get(key) ?? 0)
    await new Promise((resolve) => setImmediate(resolve))
    perMailbox.set(key, (perMailbox.get(key) ?? 1) - 1)
    active--
  }
  await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const key = `m${i % 2}`
    await policy.run(call(key), job(key))
  }))
  t.equal(peak, 3, 'at most the backend cap in flight')
  t.equal(peakMailbox, 2, 'at most the mailbox cap per mailbox')
})

t.test('an aborted caller\'s waiting calls leave the queue at once, unsent', async (t) => {
  const { policy, held, blocker } = blocked()
  const caller = new AbortController()
  let sent = 0
  const waiting = [1, 2].map(async () => await policy.run(call('A', { signal: caller.signal }), async () => { sent++ }))
  t.equal(policy.load('b').queued, 2)
  caller.abort()
  for (const w of waiting) await t.rejects(w, { name: 'AbortError' })
  t.equal(policy.load('b').queued, 0, 'removed from the queue')
  held.open()
  await blocker
  t.equal(sent, 0, 'no backend call was made for them')
})

t.test('a full queue refuses at once: 503 MBG_ERR_OVERLOADED with Retry-After', async (t) => {
  const { policy, held, blocker } = blocked({ maxQueued: 2 })
  let sent = 0
  const job = async (): Promise<void> => { sent++ }
  const queued = [policy.run(call('A'), job), policy.run(call('B'), job)]
  await t.rejects(policy.run(call('C'), job), { code: 'MBG_ERR_OVERLOADED', statusCode: 503, retryAfter: Number })
  held.open()
  await Promise.all([blocker, ...queued])
  t.equal(sent, 2, 'the refused call was never sent')
})

t.test('a call waiting past the queue deadline is refused: 503 MBG_ERR_OVERLOADED with Retry-After', async (t) => {
  const { policy, held, blocker } = blocked({ queueTimeoutMs: 100 })
  let sent = 0
  await t.rejects(policy.run(call('A'), async () => { sent++ }),
    { code: 'MBG_ERR_OVERLOADED', statusCode: 503, retryAfter: Number })
  t.equal(sent, 0)
  t.equal(policy.load('b').queued, 0)
  held.open()
  await blocker
})

t.test('a sliding budget: room is taken, a full window says how long until it has room', async (t) => {
  const budget = memoryBudget('test', { limit: 10, windowMs: 2000 })
  for (let i = 0; i < 10; i++) t.equal(await budget.take('mbx', 1), 0)
  const wait = await budget.take('mbx', 1)
  t.ok(wait > 0, 'the 11th waits')
  t.equal(await budget.take('other', 1), 0, 'budgets are per key')
  await budget.refund('mbx', 1)
  t.equal(await budget.take('mbx', 1), 0, 'a refund makes room')
  t.ok(await budget.take('big', 50) === 0, 'a cost above the limit takes the whole window')
  t.ok(await budget.take('big', 1) > 0)
})

t.test('a refund made in a later slice than its take still gives the room back', async (t) => {
  let clock = 1_000_000
  const budget = new SlidingBudget('test', { limit: 10, windowMs: 2000 }, () => clock)
  for (let i = 0; i < 10; i++) t.equal(await budget.take('mbx', 1), 0)
  t.ok(await budget.take('mbx', 1) > 0, 'full')
  clock += 500
  await budget.refund('mbx', 2)
  t.equal(await budget.take('mbx', 2), 0, 'two units back, though the current slice holds none')
  t.ok(await budget.take('mbx', 1) > 0, 'and no more than that')
})

t.test('budgets through the policy: a wait beyond maxInlineDelayMs is 503 THROTTLED with Retry-After, unsent',
  async (t) => {
    const policy = new Policy({ maxInlineDelayMs: 100 })
    policy.register('b', { concurrency: 4, budgets: { uploadBytes: { limit: 1000, windowMs: 60_000 } } })
    let sent = 0
    const job = async (): Promise<void> => { sent++ }
    await policy.run(call('A', { cost: { uploadBytes: 600 } }), job)
    await t.rejects(policy.run(call('A', { cost: { uploadBytes: 600 } }), job),
      { code: 'MBG_ERR_UPSTREAM_THROTTLED', statusCode: 503, retryAfter: Number, message: /the upload \(bytes\) budget/ },
      'the problem names the budget that is spent')
    t.equal(sent, 1, 'the call over budget was not sent')
    await policy.run(call('B', { cost: { uploadBytes: 600 } }), job)
    await policy.run(call('A', { cost: { uploadBytes: 300 } }), job)
    t.equal(sent, 3, 'other mailboxes, and what fits, go on')
  })

const unavailable = (): Error => new UpstreamUnavailable('connection refused')

/** Waits (by state, not by clock) until backend b's circuit lets a trial through; gives up after a minute. */
async function untilNotOpen (policy: Policy): Promise<void> {
  for (let i = 0; i < 600 && policy.circuit('b').state === 'open'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('the circuit opens on backend failures, fails fast, half-opens and closes; readiness shows it', async (t) => {
  const policy = new Policy({ maxAttempts: 1, circuit: { volumeThreshold: 4, resetMs: 300 } })
  policy.register('b', { concurrency: 4 })
  t.teardown(() => { policy.close() })
  const states: string[] = []
  const { logger } = captureLogs('silent')
  const health = new BackendHealth(new Map([['b', 'graph']]), async () => {}, logger, (n) => policy.circuit(n))
  health.start()
  await health.firstChecks()
  t.match(health.report(), { ready: true, backends: { b: { state: 'ok', circuit: 'closed' } } })

  for (let i = 0; i < 4; i++) await t.rejects(policy.run(call('A'), async () => { throw unavailable() }))
  t.equal(policy.circuit('b').state, 'open')
  let sent = 0
  const err = await policy.run(call('A'), async () => { sent++ }).then(() => undefined, (e) => e)
  t.match(err, { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', statusCode: 503, message: /circuit open/, retryAfter: Number })
  t.equal(sent, 0, 'an open circuit does not touch the backend')
  t.match(health.report(), {
    ready: false,
    backends: { b: { state: 'failing', source: 'circuit', code: 'MBG_ERR_UPSTREAM_UNAVAILABLE', circuit: 'open' } }
  })

  await untilNotOpen(policy)
  states.push(policy.circuit('b').state)
  t.match(health.report(), { ready: true, backends: { b: { state: 'ok', circuit: 'halfOpen' } } })
  await policy.run(call('A'), async () => { sent++ })
  t.equal(sent, 1, 'the trial went through')
  states.push(policy.circuit('b').state)
  t.same(states, ['halfOpen', 'closed'])
  t.match(health.report(), { ready: true, backends: { b: { circuit: 'closed' } } })
  health.close()
})

t.test('a failed trial opens the circuit again', async (t) => {
  const policy = new Policy({ maxAttempts: 1, circuit: { volumeThreshold: 2, resetMs: 200 } })
  t.teardown(() => { policy.close() })
  for (let i = 0; i < 2; i++) await t.rejects(policy.run(call('A'), async () => { throw unavailable() }))
  await untilNotOpen(policy)
  t.equal(policy.circuit('b').state, 'halfOpen')
  await t.rejects(policy.run(call('A'), async () => { throw unavailable() }), { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE' })
  t.equal(policy.circuit('b').state, 'open')
})

t.test('caller errors, throttling and a 10 % fault rate leave the circuit closed (defaults)', async (t) => {
  const policy = new Policy({ maxAttempts: 1 })
  t.teardown(() => { policy.close() })
  for (let i = 0; i < 40; i++) await t.rejects(policy.run(call('A'), async () => { throw new FolderNotFound('x') }))
  for (let i = 0; i < 40; i++) {
    await t.rejects(policy.run(call('A'), async () => { throw annotate(new UpstreamThrottled('busy'), {}) }))
  }
  t.equal(policy.circuit('b').state, 'closed', 'not the backend failing')
  let failed = 0
  for (let i = 0; i < 200; i++) {
    await policy.run(call('A'), async () => { if (i % 10 === 0) throw unavailable() }).catch(() => { failed++ })
  }
  t.equal(failed, 20)
  t.equal(policy.circuit('b').state, 'closed', '10 % faults do not open it')
})

t.test('telemetry: attempts, retries, waits, queue and circuit changes are reported', async (t) => {
  const events: string[] = []
  const policy = new Policy({ concurrency: 1, maxAttempts: 2, baseDelayMs: 1, circuit: { volumeThreshold: 2 } }, {
    backendCall: (e) => { events.push(`call ${e.operation} ${e.outcome}${e.code !== undefined ? ` ${e.code}` : ''}`) },
    retry: (e) => { events.push(`retry ${e.code}`) },
    paced: (e) => { events.push(`paced ${e.reason}`) },
    queued: (_b, d) => { events.push(`queued ${d}`) },
    inFlight: (_b, d) => { events.push(`inFlight ${d}`) },
    circuit: (_b, s) => { events.push(`circuit ${s}`) },
    items () {},
    split () {}
  })
  t.teardown(() => { policy.close() })
  let n = 0
  await policy.run(call('A', { operation: 'getFolder' }), async () => {
    if (n++ === 0) throw annotate(new UpstreamThrottled('busy'), { retry: 'safe', retryAfterMs: 1 })
  })
  t.same(events.splice(0), [
    'inFlight 1', 'call getFolder error MBG_ERR_UPSTREAM_THROTTLED', 'retry MBG_ERR_UPSTREAM_THROTTLED', 'inFlight -1',
    'inFlight 1', 'call getFolder ok', 'inFlight -1'
  ])
  const held = gate()
  const first = policy.run(call('A'), async () => { await held.opened })
  const second = policy.run(call('A'), async () => {})
  held.open()
  await Promise.all([first, second])
  t.ok(events.includes('queued 1') && events.includes('queued -1'), 'queue changes')
  t.ok(events.includes('paced concurrency') || events.filter((e) => e === 'queued 1').length === 1, 'a wait')
  events.length = 0
  for (let i = 0; i < 6; i++) await t.rejects(policy.run(call('A'), async () => { throw unavailable() }))
  t.ok(events.includes('circuit open'), 'the circuit opening')
})

const throttled = (): Error => annotate(new UpstreamThrottled('429'), { retry: 'safe', retryAfterMs: 5 })

t.test('background work: throttling answers do not use up attempts; other failures do', async (t) => {
  const policy = new Policy({ maxAttempts: 2, baseDelayMs: 1 })
  policy.register('b', { concurrency: 4 })
  const stop = new AbortController().signal
  let sent = 0
  const flaky = (throttles: number) => async (): Promise<string> => {
    if (++sent <= throttles) throw throttled()
    return 'ok'
  }
  await t.rejects(policy.run(call('A', { idempotent: false }), flaky(3)), { code: 'MBG_ERR_UPSTREAM_THROTTLED' },
    'a caller\'s call gives up after maxAttempts')
  sent = 0
  t.equal(await inBackground({ stop }, async () => await policy.run(call('A', { idempotent: false }), flaky(5))), 'ok',
    'a job\'s call waits out every 429')
  t.equal(sent, 6)
  sent = 0
  await t.rejects(inBackground({ stop }, async () => await policy.run(call('A'), async () => {
    sent++
    throw annotate(new UpstreamUnavailable('down'), { retry: 'safe' })
  })), { code: 'MBG_ERR_UPSTREAM_UNAVAILABLE' }, 'other failures still count')
  t.equal(sent, 2)
})

t.test('background work: budget waits past maxInlineDelayMs are waited, up to maxBackgroundDelayMs', async (t) => {
  const policy = new Policy({ maxInlineDelayMs: 1, maxBackgroundDelayMs: 60_000 })
  policy.register('b', { concurrency: 4, budgets: { requests: { limit: 1, windowMs: 200 } } })
  const stop = new AbortController().signal
  let sent = 0
  const job = async (): Promise<void> => { sent++ }
  await policy.run(call('A'), job)
  await t.rejects(policy.run(call('A'), job), { code: 'MBG_ERR_UPSTREAM_THROTTLED' }, 'a caller is not kept waiting')
  await inBackground({ stop }, async () => { await policy.run(call('A'), job) })
  t.equal(sent, 2, 'a job waits for the budget and sends')

  const short = new Policy({ maxInlineDelayMs: 1, maxBackgroundDelayMs: 1 })
  short.register('b', { concurrency: 4, budgets: { requests: { limit: 1, windowMs: 60_000 } } })
  await short.run(call('A'), job)
  await t.rejects(inBackground({ stop }, async () => { await short.run(call('A'), job) }),
    { code: 'MBG_ERR_UPSTREAM_THROTTLED', retryAfter: Number }, 'not past maxBackgroundDelayMs')
})

t.test('background work: a stop ends a wait before sending with MBG_ERR_SHUTTING_DOWN, nothing sent', async (t) => {
  const policy = new Policy({ maxBackgroundDelayMs: 600_000 })
  policy.register('b', { concurrency: 4, budgets: { requests: { limit: 1, windowMs: 300_000 } } })
  let sent = 0
  const job = async (): Promise<void> => { sent++ }
  await policy.run(call('A'), job)
  const stop = new AbortController()
  const waiting = inBackground({ stop: stop.signal }, async () => { await policy.run(call('A'), job) })
  await new Promise((resolve) => setImmediate(resolve))
  stop.abort()
  await t.rejects(waiting, { code: 'MBG_ERR_SHUTTING_DOWN' })
  t.equal(sent, 1, 'the waiting call was not sent')
  await t.rejects(inBackground({ stop: stop.signal }, async () => { await policy.run(call('B'), job) }),
    { code: 'MBG_ERR_SHUTTING_DOWN' }, 'nor is one made after the stop')
  t.equal(sent, 1)
})
