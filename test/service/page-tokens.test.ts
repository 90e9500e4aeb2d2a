/**
 * Page tokens (src/service/page-tokens.ts): sealed cursors, stable for the same page and secret, opened only for the
 * listing (scope) they were sealed for. The known answer pins the format: tokens a gateway issued before a restart
 * or an upgrade stay valid with the same secret.
 */
import t from 'tap'
import { PageTokens } from '../../src/service/page-tokens.js'

const SECRET = 'a page-token secret of some length'
const SCOPE = 'items|alice@contoso.example|F1|50'
const CURSOR = '{"k":"2026-01-01T00:00:00Z"}'

t.test('a token is stable, opens with the same secret and scope only', async (t) => {
  const tokens = new PageTokens(SECRET)
  const token = tokens.seal(SCOPE, CURSOR)
  t.equal(token, '6lG70TlhzrdI6l8uQ9pNn1oeQW4nNmAXJi_jiX7KpgTuEipoTm0EY99x_AhFjcGzzIIoQyWtvk4', 'known answer')
  t.equal(tokens.seal(SCOPE, CURSOR), token, 'the same page gives the same token')
  t.equal(new PageTokens(SECRET).open(SCOPE, token), CURSOR, 'another instance with the secret opens it')
  t.throws(() => tokens.open(`${SCOPE}x`, token), { code: 'MBG_ERR_BAD_REQUEST' }, 'another listing does not')
  t.throws(() => new PageTokens(`${SECRET}x`).open(SCOPE, token), { code: 'MBG_ERR_BAD_REQUEST' }, 'another secret not')
  t.throws(() => tokens.open(SCOPE, token.slice(0, -2)), { code: 'MBG_ERR_BAD_REQUEST' }, 'a cut token not')
  const random = new PageTokens()
  t.equal(random.open(SCOPE, random.seal(SCOPE, CURSOR)), CURSOR, 'a random key works within its instance')
})
