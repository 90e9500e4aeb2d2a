import t from 'tap'
import { redactUrl } from '../../src/redact.js'
import { captureLogs, findSecrets } from '../helper.js'

t.test('URL secrets are rewritten', async (t) => {
  t.equal(
    redactUrl("https://o/api/gbeta/Mailboxes('MBX:a@b')/importItem?authtoken=eyJabc.def&x=1"),
    "https://o/api/gbeta/Mailboxes('MBX:a@b')/importItem?authtoken=[REDACTED]&x=1"
  )
  t.equal(redactUrl('/x?access_token=abc'), '/x?access_token=[REDACTED]')
  t.equal(redactUrl('/plain?pageSize=5'), '/plain?pageSize=5')
})

t.test('structured secrets are censored before they are written', async (t) => {
  const { lines, logger } = captureLogs('info')
  logger.info({ req: { headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig' } } }, 'incoming')
  logger.info(
    { backend: { password: 'hunter2', clientSecret: 's3cret', importUrl: 'https://o/x?authtoken=eyJ' } },
    'config'
  )
  const text = lines.join('\n')
  t.notMatch(text, /hunter2|s3cret|eyJhbGci/)
  t.match(text, /\[REDACTED\]/)
  t.same(findSecrets(lines), [])
  t.ok(
    findSecrets(['{"msg":"Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}']).length > 0,
    'the detector itself detects a JWT'
  )
  t.ok(findSecrets(['{"url":"https://o/i?authtoken=abc"}']).length > 0, 'and a raw authtoken')
})
