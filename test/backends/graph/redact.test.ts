import t from 'tap'
import { redactUrl, REDACTED } from '../../../src/redact.js'

t.test('redacts the authtoken of an import URL and keeps the rest byte for byte', async (t) => {
  const url = "https://outlook.office365.com/api/gbeta/Mailboxes('MBX:e0643f21@a7809c93')/importItem?authtoken=eyJhbGciOiJSUzI1NiIsImtpZCI6IjFTeXQ1b"
  const out = redactUrl(url)
  t.equal(out, `https://outlook.office365.com/api/gbeta/Mailboxes('MBX:e0643f21@a7809c93')/importItem?authtoken=${REDACTED}`)
  t.notMatch(out, /eyJhbGci/)
})

t.test('redacts token, access_token and sig, case-insensitively, among other params', async (t) => {
  const out = redactUrl('https://h/p?a=1&Token=abc&ACCESS_TOKEN=def&sig=ghi&b=2&authToken=jkl')
  t.equal(out, `https://h/p?a=1&Token=${REDACTED}&ACCESS_TOKEN=${REDACTED}&sig=${REDACTED}&b=2&authToken=${REDACTED}`)
})

t.test('percent-encoded parameter names are still recognised', async (t) => {
  t.equal(redactUrl('https://h/p?auth%74oken=secret'), `https://h/p?auth%74oken=${REDACTED}`)
})

t.test('fragments are redacted too', async (t) => {
  t.equal(redactUrl('https://h/cb#access_token=xyz&state=1'), `https://h/cb#access_token=${REDACTED}&state=1`)
})

t.test('leaves URLs without secrets, relative URLs and non-URLs unchanged', async (t) => {
  t.equal(redactUrl('https://graph.microsoft.com/v1.0/admin/exchange/mailboxes/MBX:a@b/folders?$top=5'),
    'https://graph.microsoft.com/v1.0/admin/exchange/mailboxes/MBX:a@b/folders?$top=5')
  t.equal(redactUrl('/beta/x?%24skip=10&tokenish=1'), '/beta/x?%24skip=10&tokenish=1')
  t.equal(redactUrl('not a url'), 'not a url')
  t.equal(redactUrl('?sig='), `?sig=${REDACTED}`)
})

t.test('accepts URL objects', async (t) => {
  t.equal(redactUrl(new URL('https://h/x?authtoken=abc')), `https://h/x?authtoken=${REDACTED}`)
})

t.test('API keys misplaced in a query are redacted, by parameter name or by their mbg_ shape', async (t) => {
  t.equal(redactUrl('/jobs?apiKey=mbg_abc&pageSize=5'), `/jobs?apiKey=${REDACTED}&pageSize=5`)
  t.equal(redactUrl('/jobs?x-api-key=secret1&authtoken=abc'), `/jobs?x-api-key=${REDACTED}&authtoken=${REDACTED}`)
  t.equal(redactUrl('/jobs?q=MBG_Zz9&folder=inbox'), `/jobs?q=${REDACTED}&folder=inbox`)
  t.equal(redactUrl('/jobs?q=mbgx'), '/jobs?q=mbgx', 'only the key shape')
})
