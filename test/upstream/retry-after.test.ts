/**
 * Retry-After (RFC 9110 §10.2.3) parsed once for every upstream caller: delta-seconds,
 * Graph's decimal seconds, the three HTTP-date forms (§5.6.7); anything else is unknown.
 */
import t from 'tap'
import { parseHttpDate, parseRetryAfter } from '../../src/upstream/errors.js'

const NOW = Date.UTC(2026, 7, 20, 10, 0, 0)

t.test('delay-seconds, and the decimal seconds Graph sometimes sends', async (t) => {
  t.equal(parseRetryAfter('120'), 120_000)
  t.equal(parseRetryAfter(' 120 '), 120_000, 'surrounding whitespace is ignored')
  t.equal(parseRetryAfter('2'), 2000)
  t.equal(parseRetryAfter('0'), 0)
  // The EWS client and the token provider used to read these with Date.parse:
  // '1.5' as a date in 2001 (so 0), '0.25' not at all.
  t.equal(parseRetryAfter('1.5'), 1500)
  t.equal(parseRetryAfter('0.25'), 250)
  t.equal(parseRetryAfter('9'.repeat(30)), 2 ** 31 * 1000, 'huge values count as 2^31 s (RFC 9111 §1.2.2)')
})

t.test('negative, signed, exponent and other garbage is unknown, not "retry now"', async (t) => {
  // All three former parsers fell back to Date.parse, which reads '-3', '+5', '1.', '.5' and 'abc 12' as dates
  // in 2001 (so 0: retry at once) and ISO dates as a wait.
  const garbage = ['-3', '+5', '1e3', '1.', '.5', '0x10', '1,5', 'abc', 'soon', 'abc 12', '12 abc', '2099-01-01',
    '2099-01-01T00:00:00Z', '', '   ']
  for (const bad of garbage) {
    t.equal(parseRetryAfter(bad, NOW), undefined, JSON.stringify(bad))
  }
  t.equal(parseRetryAfter(undefined), undefined)
})

t.test('HTTP-date: time until then, or 0 when it has passed', async (t) => {
  t.equal(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90_000)
  t.equal(parseRetryAfter('Thu, 20 Aug 2026 10:02:00 GMT', NOW), 120_000)
  t.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000)
  t.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0, 'past')
  t.equal(parseRetryAfter(new Date(NOW).toUTCString(), NOW), 0, 'now')
})

t.test('HTTP-date: the three forms, all UTC, and nothing else', async (t) => {
  const at = Date.UTC(1994, 10, 6, 8, 49, 37)
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), at, 'IMF-fixdate')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), at, 'RFC 850')
  // Date.parse, which the former parsers used, reads asctime in the process's local time zone.
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), at, 'asctime, read as UTC')
  t.equal(parseHttpDate('Thursday, 20-Aug-70 10:00:00 GMT', NOW), Date.UTC(2070, 7, 20, 10), 'yy ≤ 50 years ahead')
  t.equal(parseHttpDate('Tuesday, 20-Aug-80 10:00:00 GMT', NOW), Date.UTC(1980, 7, 20, 10), 'yy > 50 years ahead')
  t.equal(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT'), Date.UTC(2025, 11, 31, 23, 59, 59), 'leap second')
  for (const bad of [
    'Mon, 31 Feb 2099 08:49:37 GMT', 'Mon, 32 Nov 2099 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 0094 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 06 Nov 1994 08:49:37',
    'Sun, 6 Nov 1994 08:49:37 GMT', 'Sun Nov 6 08:49:37 1994', '2099-01-01', '1994-11-06T08:49:37Z', '784111777',
    'Nov 6 1994'
  ]) {
    t.equal(parseHttpDate(bad), undefined, bad)
  }
})
