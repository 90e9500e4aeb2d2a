/**
 * isDateTime (src/backends/answers.ts) decides the common spellings itself and leaves the rest to ajv-formats: it
 * must answer exactly as the published schema's `format: date-time` does, for every string.
 */
import t from 'tap'
import fc from 'fast-check'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { isDateTime } from '../../src/backends/answers.js'

const ajv = new Ajv({ strict: false })
addFormats.default(ajv)
const schema = ajv.compile({ type: 'string', format: 'date-time' })

t.test('the same answer as the schema for date-times near and far from the common shape', async (t) => {
  const examples = [
    '2026-06-30T09:00:00Z', '2026-06-30T09:00:00.1234567Z', '2026-06-30T09:00:00+02:00', '2026-06-30T09:00:00-11:30',
    '2024-02-29T00:00:00Z', '2025-02-29T00:00:00Z', '2025-02-30T00:00:00Z', '2025-04-31T00:00:00Z',
    '2025-01-31T23:59:59Z', '2025-00-10T00:00:00Z', '2025-13-10T00:00:00Z', '2025-01-00T00:00:00Z',
    '2025-01-10T24:00:00Z', '2025-01-10T23:60:00Z', '2025-01-10T23:59:60Z', '2025-12-31T23:59:60Z',
    '2025-01-10t10:00:00z', '2025-01-10 10:00:00Z', '2025-01-10T10:00:00', '2025-01-10T10:00:00+24:00',
    '2025-01-10T10:00:00+0200', '2025-01-10T10:00:00+02', '2025-01-10T10:00:00.Z', '2025-1-10T10:00:00Z', ''
  ]
  for (const value of examples) t.equal(isDateTime(value), schema(value), value)
  const two = (max: number): fc.Arbitrary<string> => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'))
  const shaped = fc.tuple(fc.integer({ min: 0, max: 9999 }), two(14), two(33), two(25), two(61), two(61),
    fc.constantFrom('', '.5', '.1234567'), fc.constantFrom('Z', 'z', '+02:00', '-23:59', '+24:00', '+05:61', ''),
    fc.constantFrom('T', 't', ' '))
    .map(([y, mo, d, h, mi, s, frac, tz, sep]) =>
      `${String(y).padStart(4, '0')}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${tz}`)
  fc.assert(fc.property(fc.oneof(shaped, fc.string()), (value) => isDateTime(value) === schema(value)),
    { numRuns: 20_000 })
  t.equal(isDateTime(20250110), false, 'not a string')
})
