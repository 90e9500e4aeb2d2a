import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scanLogDir } from '../helpers/logs.js'

t.test('the suite-wide log scan finds every kind of leak, and nothing in clean logs', async (t) => {
  const dir = `${mkdtempSync(join(tmpdir(), 'logscan-'))}/`
  writeFileSync(join(dir, '1.ndjson'), '{"msg":"GET /mailboxes 200"}\n{"url":"https://o/i?authtoken=[REDACTED]"}\n')
  t.same(scanLogDir(dir, ['s3cret']).hits, [])
  writeFileSync(join(dir, 'secrets.txt'), 'registered-secret\n')
  writeFileSync(join(dir, '2.ndjson'), [
    '{"h":"Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefgh"}',
    '{"url":"https://o/i?authtoken=abc"}',
    '{"auth":"Basic c3ZjOnBhc3N3b3Jk"}',
    '{"msg":"password is s3cret"}',
    '{"msg":"registered-secret leaked"}'
  ].join('\n'))
  const r = scanLogDir(dir, ['s3cret'])
  t.equal(r.files, 2)
  t.equal(r.lines, 7)
  t.equal(r.hits.length, 5, r.hits.join('\n'))
})
