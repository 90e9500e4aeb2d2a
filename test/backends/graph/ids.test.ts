import t from 'tap'
import {
  changeKeyFromEtag, fromPublicId, isUsableGraphId, pathSegment, toPublicId, tryFromPublicId
} from '../../../src/backends/graph/ids.js'
import { exchangeSettingsOf } from '../../../src/backends/graph/backend.js'

const URL_SAFE = /^[A-Za-z0-9._~=-]+$/

t.test('public ids are URL-safe and reverse exactly', async (t) => {
  const samples = [
    'AAMkAGI2TG93AAA=', // URL-safe already: unchanged
    'EDSVrdi3lRAAE9J-20AAA=',
    'AAMk4GQ/IXobTF2OnwobLD1OIQH73LDz/fXIJzumajUa2yRI7JrHto4gGzU=', // standard base64
    'a+b/c==',
    '+/+/',
    'mixed-_+/=', // both alphabets at once
    'ÄÖÜ id with spaces',
    'x'.repeat(1024)
  ]
  for (const id of samples) {
    const pub = toPublicId(id)
    t.match(pub, URL_SAFE, `${id.slice(0, 40)} → ${pub.slice(0, 40)}`)
    t.equal(fromPublicId(pub), id)
  }
  t.equal(toPublicId('AAMkAGI2TG93AAA='), 'AAMkAGI2TG93AAA=', 'ids already URL-safe keep their form')
  t.equal(toPublicId('a+b/c=='), '~a-b_c==')
  t.equal(toPublicId('mixed-_+/='), '~~' + Buffer.from('mixed-_+/=').toString('base64url'))
})

t.test('only what toPublicId produces is accepted back', async (t) => {
  const nonCanonical = '~~' + Buffer.from('a-b').toString('base64url')
  const bads = ['', '~', '~~', '~abc', '~~@@', '~~YQ', 'a/b', 'a+b', '~a+b', nonCanonical, '.', '..', 'x'.repeat(1025)]
  for (const bad of bads) {
    t.equal(tryFromPublicId(bad), undefined, JSON.stringify(bad.slice(0, 40)))
  }
  t.throws(() => fromPublicId('a/b'), { code: 'MBG_ERR_ID_MALFORMED', statusCode: 400 })
})

t.test('ids that could change the path they are put in are unusable', async (t) => {
  for (const id of ['.', '..', 'a/../b', '../x', 'a/./b', 'a\\b', 'a\u0000b', '\ud800', '']) {
    t.notOk(isUsableGraphId(id), JSON.stringify(id))
  }
  for (const id of ['a/b', '+/+/', 'a..b', '...']) t.ok(isUsableGraphId(id), JSON.stringify(id))
  t.equal(toPublicId('a/../b').length > 0, true)
  t.equal(tryFromPublicId(toPublicId('a/../b')), undefined, 'never reaches a URL')
})

t.test('path segments encode only what a segment cannot carry', async (t) => {
  t.equal(pathSegment('AAMk-_='), 'AAMk-_=')
  t.equal(pathSegment('a+b/c='), 'a+b%2Fc=')
  t.equal(pathSegment('a b?#'), 'a%20b%3F%23')
})

t.test('change keys from entity tags', async (t) => {
  t.equal(changeKeyFromEtag('W/"CQAAABYAAAB="'), 'CQAAABYAAAB=')
  t.equal(changeKeyFromEtag('"CQAA"'), 'CQAA')
  for (const bad of [undefined, 1, '', 'W/', 'CQAA', 'W/""']) t.equal(changeKeyFromEtag(bad), undefined, String(bad))
})

t.test('settings/exchange: one object, or a collection of exactly one', async (t) => {
  const one = { primaryMailboxId: 'MBX:a@t', inPlaceArchiveMailboxId: 'MBX:b@t' }
  t.same(exchangeSettingsOf(one, 'u@x'), one)
  t.same(exchangeSettingsOf({ '@odata.context': 'c', value: [one] }, 'u@x'), one)
  for (const bad of [null, [], 'x', { value: [] }, { value: [one, one] }, { value: {} }, { value: ['x'] }]) {
    const expected = { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE', message: /settings\/exchange of u@x/ }
    t.throws(() => exchangeSettingsOf(bad, 'u@x'), expected, JSON.stringify(bad))
  }
})
