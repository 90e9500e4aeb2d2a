import t from 'tap'
import { fromPublicId, toPublicId, tryFromPublicId } from '../../../src/backends/ews/ids.js'
import { makeId } from '../../../src/simulators/store/store.js'

t.test('canonical base64 ids become unpadded base64url and come back exactly', async (t) => {
  const real = makeId('e0643f21-7a1b-4c5d-8e9f-0a1b2c3d4e01', 2, 'x')
  t.match(real, /^AAMk/)
  const pub = toPublicId(real)
  t.match(pub, /^[A-Za-z0-9_-]+$/)
  t.equal(fromPublicId(pub), real)

  t.equal(toPublicId('ab+/cd=='), 'ab-_cd')
  t.equal(fromPublicId('ab-_cd'), 'ab+/cd==')
  t.equal(toPublicId('abc+/d+='), 'abc-_d-')
  t.equal(fromPublicId('abc-_d-'), 'abc+/d+=')
  t.equal(toPublicId('AAAA'), 'AAAA')
  t.equal(fromPublicId('AAAA'), 'AAAA')
  // Ids that differ only in case stay different (EWS ids are case-sensitive).
  t.not(toPublicId('AAMkAA=='), toPublicId('aamkAA=='))
})

t.test('non-canonical ids use the ~ form and round-trip', async (t) => {
  for (const id of ['abc', 'AB=A', 'a b', 'é/ü+=', 'AAAA===', '=', 'x'.repeat(601), 'AQMk-ABC_']) {
    const pub = toPublicId(id)
    t.ok(pub.startsWith('~'), `${id} → ${pub}`)
    t.match(pub.slice(1), /^[A-Za-z0-9_-]*$/)
    t.equal(fromPublicId(pub), id)
  }
  t.equal(toPublicId('abc'), '~' + Buffer.from('abc').toString('base64url'))
})

t.test('round trips over many random canonical ids', async (t) => {
  let ok = 0
  for (let n = 0; n < 500; n++) {
    const id = Buffer.from(Array.from({ length: 1 + (n % 60) }, () => Math.floor(Math.random() * 256))).toString(
      'base64'
    )
    if (fromPublicId(toPublicId(id)) === id && !toPublicId(id).includes('=')) ok++
  }
  t.equal(ok, 500)
})

t.test('malformed public ids are rejected with MBG_ERR_ID_MALFORMED', async (t) => {
  for (const bad of [
    '',
    'abcde',
    'ab+c',
    'ab/c',
    'ab==',
    'a b',
    '~',
    '~abcde',
    '~!!',
    '~' + Buffer.from([0xff, 0xfe]).toString('base64url'),
    // The ~ form of a canonical id is never produced, so it is not accepted either.
    '~' + Buffer.from('AAAA').toString('base64url')
  ]) {
    t.equal(tryFromPublicId(bad), undefined, JSON.stringify(bad))
    t.throws(() => fromPublicId(bad), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 }, JSON.stringify(bad))
  }
})

t.test('multi-megabyte ids map without overflowing the regex stack', async (t) => {
  const huge = Buffer.alloc(6 * 1024 * 1024, 0xfb).toString('base64')
  const pub = toPublicId(huge)
  t.equal(pub.length, huge.length)
  t.equal(pub.slice(0, 4), '-_v7')
  t.equal(fromPublicId(pub), huge)
  // Not canonical: the '~' form, and back.
  t.equal(toPublicId('=AAA').slice(0, 1), '~')
  t.equal(toPublicId('AA=A').slice(0, 1), '~')
  t.equal(tryFromPublicId(toPublicId(huge + '=')), huge + '=')
})
