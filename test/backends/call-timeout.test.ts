/**
 * src/backends/call-timeout.ts: the time allowed for one backend exchange, joined with the caller's signal, as
 * AbortSignal.any([caller, AbortSignal.timeout(ms)]) behaves, and leaving nothing behind once done.
 */
import t from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { CallTimeout } from '../../src/backends/call-timeout.js'

t.test('the time passing aborts with a TimeoutError', async (t) => {
  // The timer is unref'd (as AbortSignal.timeout's): this one keeps the test process alive meanwhile.
  const alive = setTimeout(() => {}, 60_000)
  t.teardown(() => { clearTimeout(alive) })
  const caller = new AbortController()
  const deadline = new CallTimeout(5, caller.signal)
  await once(deadline.signal, 'abort')
  t.equal(deadline.timedOut, true)
  t.equal((deadline.signal.reason as Error).name, 'TimeoutError')
  deadline.done()
  t.equal(caller.signal.aborted, false, 'the caller is not aborted by it')
  const alone = new CallTimeout(5)
  await once(alone.signal, 'abort')
  t.equal(alone.timedOut, true, 'without a caller signal too')
})

t.test("the caller giving up aborts with the caller's reason, and is no timeout", async (t) => {
  const caller = new AbortController()
  const deadline = new CallTimeout(60_000, caller.signal)
  const reason = new Error('caller gone')
  caller.abort(reason)
  t.equal(deadline.signal.aborted, true)
  t.equal(deadline.signal.reason, reason)
  t.equal(deadline.timedOut, false)
  deadline.done()
  const gone = new AbortController()
  gone.abort(reason)
  const late = new CallTimeout(60_000, gone.signal)
  t.equal(late.signal.reason, reason, 'a caller that gave up already: aborted at once')
  late.done()
})

t.test('done leaves no timer and no listener behind', async (t) => {
  const caller = new AbortController()
  const deadline = new CallTimeout(5, caller.signal)
  deadline.done()
  caller.abort(new Error('later'))
  await sleep(50)
  t.equal(deadline.signal.aborted, false, 'neither the caller nor the timer aborts it after done')
  t.equal(deadline.timedOut, false)
})
