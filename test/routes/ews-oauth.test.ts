/**
 * EWS with app-only OAuth, as on Exchange Online: MSAL acquires a token for
 * https://outlook.office365.com from the identity simulator over HTTPS, the EWS
 * simulator verifies it (full_access_as_app) together with impersonation.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, registerSecret } from '../helper.js'
import type { GatewayConfig } from '../../src/config.js'
import { DEMO_CREDENTIALS, EXCHANGE_RESOURCE } from '../../src/simulators/index.js'

const alice = encodeURIComponent(MAILBOXES.ews.primary)

function useOAuth (clientId: string, clientSecret: string) {
  return (c: GatewayConfig): void => {
    const e = c.backends['onprem-ews']
    const g = c.backends['exo-graph']
    if (e.type !== 'ews' || g.type !== 'graph') throw new Error('unexpected demo config')
    // The document is already parsed here, so the defaulted keys are spelled out.
    e.auth = {
      kind: 'oauth',
      tenantId: g.tenantId,
      clientId,
      clientSecret,
      authorityHost: g.authorityHost,
      scope: `${EXCHANGE_RESOURCE}/.default`
    }
  }
}

t.test('EWS over OAuth client credentials: tokens from MSAL, cached across calls', async (t) => {
  const { app, sims } = await buildTestGateway(t, {
    configure: useOAuth(DEMO_CREDENTIALS.app.clientId, DEMO_CREDENTIALS.app.clientSecret)
  })
  const before = sims.identity.stats.tokensIssued
  const folders = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders?parentId=inbox` })
  t.equal(folders.statusCode, 200, folders.body)
  const items = json<{ items: Array<{ id: string }> }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?pageSize=3` })
  )
  const exp = json<{ succeeded: number }>(
    await app.inject({
      method: 'POST',
      url: `/mailboxes/${alice}/items:export`,
      payload: { itemIds: items.items.map((i) => i.id) }
    })
  )
  t.equal(exp.succeeded, 3)
  t.equal(sims.identity.stats.tokensIssued - before, 1, 'one token, reused from MSAL\'s cache')
})

t.test('an app without full_access_as_app is rejected by EWS: 502 naming the gateway\'s credentials', async (t) => {
  const app2 = { clientId: '7a1c0d2e-3f4b-4c5d-8e9f-0a1b2c3d4e5f', clientSecret: 'graph-only-secret' }
  registerSecret(app2.clientSecret)
  const { app } = await buildTestGateway(t, {
    extraApps: [{ ...app2, roles: { [EXCHANGE_RESOURCE]: [] } }],
    configure: useOAuth(app2.clientId, app2.clientSecret)
  })
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(res.statusCode, 502, res.body)
  t.equal(json(res).code, 'MBG_ERR_UPSTREAM_AUTH')
})

t.test('token endpoint trouble keeps its kind and AADSTS code through EWS, as through Graph', async (t) => {
  registerSecret('wrong-ews-secret')
  const configure = useOAuth(DEMO_CREDENTIALS.app.clientId, 'wrong-ews-secret')
  const { app, sims } = await buildTestGateway(t, { configure })
  const rejected = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(rejected.statusCode, 502, rejected.body)
  // A secret the identity platform refuses is a setting to fix, named as such, with the platform's own code.
  t.match(json(rejected), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    upstreamCode: /^AADSTS\d+$/,
    detail: /clientSecret/
  })
  await sims.identity.close()
  const down = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(down.statusCode, 503, down.body)
  t.equal(json(down).code, 'MBG_ERR_UPSTREAM_UNAVAILABLE', 'an unreachable token endpoint rejected nothing')
})
