/**
 * creationKey (src/backends/ews/mapping.ts) returns a whole-second UTC time as it is and computes every other key
 * through Date: both ways must give the same key for every value (item listings compare keys as strings, cursors
 * are refused unless their key is its own key).
 */
import t from 'tap'
import fc from 'fast-check'
import { creationKey } from '../../../src/backends/ews/mapping.js'

/** The key as Date computes it: parse, round down to the second, ISO 8601 UTC without milliseconds. */
function reference (value: string): string | undefined {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) return undefined
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z')
}

t.test('the key Date gives, for times near and far from the whole-second UTC shape', async (t) => {
  for (const value of ['2026-06-30T09:00:00Z', '2024-02-29T00:00:00Z', '2025-02-29T00:00:00Z', '2025-04-31T10:00:00Z',
    '2025-02-30T00:00:00Z', '2025-01-10T24:00:00Z', '2025-01-10T23:59:60Z', '2025-01-10T10:00:00.999Z',
    '2025-01-10T10:00:00+02:00', '0000-01-01T00:00:00Z', '2025-13-01T00:00:00Z', 'x']) {
    t.equal(creationKey(value), reference(value), value)
  }
  const two = (max: number): fc.Arbitrary<string> => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'))
  const shaped = fc.tuple(fc.integer({ min: 0, max: 9999 }), two(13), two(32), two(24), two(60), two(60),
    fc.constantFrom('Z', '.5Z', '+01:00'))
    .map(([y, mo, d, h, mi, s, tz]) => `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}${tz}`)
  fc.assert(fc.property(shaped, (value) => creationKey(value) === reference(value)), { numRuns: 20_000 })
})
