import t from 'tap'
import {
  IdempotencyKeys, parseIdempotencyKey, requestFingerprint, scopedKey, type IdempotencyClaim
} from '../../src/service/idempotency.js'
import { MemoryIdempotencyStore } from '../../src/state/memory.js'

t.test('parseIdempotencyKey: RFC 8941 strings and bare keys; anything else is a 400', async (t) => {
  t.equal(parseIdempotencyKey(undefined), undefined)
  t.equal(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324')
  t.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324')
  t.equal(parseIdempotencyKey('"a \\"quoted\\" \\\\ key"'), 'a "quoted" \\ key')
  t.equal(parseIdempotencyKey(' padded '), 'padded')
  t.equal(parseIdempotencyKey('k'.repeat(255)), 'k'.repeat(255))
  for (const bad of ['', '  ', '""', 'k'.repeat(256), `"${'k'.repeat(256)}"`, 'clé', 'tab\there', '"open', '"a"b"',
    '"a\\b"', '"é"']) {
    t.throws(() => parseIdempotencyKey(bad), { code: 'MBG_ERR_BAD_REQUEST', statusCode: 400 }, JSON.stringify(bad))
  }
  t.throws(() => parseIdempotencyKey(['a', 'b']), { code: 'MBG_ERR_BAD_REQUEST' }, 'given twice')
})

t.test('scopes and fingerprints keep requests apart', async (t) => {
  t.not(scopedKey({ mailboxId: 'a' }, 'k'), scopedKey({ mailboxId: 'b' }, 'k'))
  t.not(scopedKey({ mailboxId: 'a', principal: 'p1' }, 'k'), scopedKey({ mailboxId: 'a', principal: 'p2' }, 'k'))
  t.not(scopedKey({ mailboxId: 'a|b' }, 'k'), scopedKey({ mailboxId: 'a' }, 'b|k'), 'parts cannot run together')
  const fp = requestFingerprint('POST', '/mailboxes/:mailbox/items::import', 'ab')
  t.match(fp, /^[0-9a-f]{64}$/)
  t.equal(fp, requestFingerprint('post', '/mailboxes/:mailbox/items::import', 'ab'))
  t.not(fp, requestFingerprint('POST', '/mailboxes/:mailbox/folders', 'ab'))
  t.not(fp, requestFingerprint('POST', '/mailboxes/:mailbox/items::import', 'ac'))
})

t.test('begin: a running request is a 409 with a short Retry-After, another request a 422', async (t) => {
  let now = 0
  const store = new MemoryIdempotencyStore({ leaseMs: 60_000, now: () => now })
  const keys = new IdempotencyKeys({ store, now: () => now })
  const scope = { mailboxId: 'm' }
  const first = await keys.begin(scope, 'k', 'fp')
  t.ok('claim' in first)
  const inUse = { code: 'MBG_ERR_IDEMPOTENCY_KEY_IN_USE', statusCode: 409 }
  await t.rejects(keys.begin(scope, 'k', 'fp'), { ...inUse, retryAfter: 5 })
  now = 58_500
  await t.rejects(keys.begin(scope, 'k', 'fp'), { ...inUse, retryAfter: 2 }, 'never past the lease')
  now = 59_999
  await t.rejects(keys.begin(scope, 'k', 'fp'), { ...inUse, retryAfter: 1 })
  await t.rejects(keys.begin(scope, 'k', 'other'), { code: 'MBG_ERR_IDEMPOTENCY_KEY_REUSED', statusCode: 422 })
})

t.test('finish records what may have written something and frees the key after "not done"', async (t) => {
  const keys = new IdempotencyKeys({ store: new MemoryIdempotencyStore() })
  const problem = (code: string, status: number) => ({
    status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: JSON.stringify({ status, code })
  })
  type Answer = { status: number, headers: Record<string, string>, body: string }
  const cases: Array<[string, Answer, 'recorded' | 'freed']> = [
    ['200 with results', { status: 200, headers: {}, body: '{"results":[],"succeeded":0,"failed":0}' }, 'recorded'],
    ['201 created', { status: 201, headers: { location: '/x' }, body: '{}' }, 'recorded'],
    ['502 outcome unknown', problem('MBG_ERR_OUTCOME_UNKNOWN', 502), 'recorded'],
    ['500 internal', problem('MBG_ERR_INTERNAL', 500), 'recorded'],
    ['500 that is not a problem document', { status: 500, headers: {}, body: 'oops' }, 'recorded'],
    ['503 throttled', problem('MBG_ERR_UPSTREAM_THROTTLED', 503), 'freed'],
    ['409 folder exists', problem('MBG_ERR_FOLDER_EXISTS', 409), 'freed'],
    ['404 folder not found', problem('MBG_ERR_FOLDER_NOT_FOUND', 404), 'freed'],
    ['499 caller gone, no answer', { status: 499, headers: {}, body: '' }, 'freed']
  ]
  for (const [why, answer, expected] of cases) {
    const begun = await keys.begin({ mailboxId: 'm' }, why, 'fp')
    if (!('claim' in begun)) throw new Error('not started')
    t.equal(await keys.finish(begun.claim, answer), expected, why)
    const next = await keys.begin({ mailboxId: 'm' }, why, 'fp')
    if (expected === 'recorded') t.same(next, { replay: answer }, `${why}: replayed`)
    else t.ok('claim' in next, `${why}: free again`)
  }
})

t.test('finish after the lease ran out records nothing', async (t) => {
  let now = 0
  const keys = new IdempotencyKeys({ store: new MemoryIdempotencyStore({ leaseMs: 1000, now: () => now }) })
  const begun = await keys.begin({ mailboxId: 'm' }, 'k', 'fp')
  now = 1000
  const { claim } = begun as { claim: IdempotencyClaim }
  t.equal(await keys.finish(claim, { status: 200, headers: {}, body: '{}' }), 'lost')
  t.ok('claim' in await keys.begin({ mailboxId: 'm' }, 'k', 'fp'))
})
