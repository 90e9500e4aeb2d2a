import t from 'tap'
import { readFileSync } from 'node:fs'
import { ALL_ERRORS } from '../../src/errors.js'

t.test('every error code is documented in the README error model, and nothing else is', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const codes = Object.keys(ALL_ERRORS)
  t.ok(codes.length > 20)
  for (const code of codes) {
    t.match(readme, new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`), `${code} documented with its status`)
  }
  const documented = [...readme.matchAll(/\| `(MBG_ERR_[A-Z_]+)` \| (\d{3}) \|/g)]
  for (const [, code, status] of documented) {
    t.ok(ALL_ERRORS[code] !== undefined, `${code} exists`)
    t.equal(new ALL_ERRORS[code]('x', 'y').statusCode, Number(status), `${code} status matches`)
  }
})
