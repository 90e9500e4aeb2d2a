/**
 * EWS with NTLM, as on-premises Exchange with Windows authentication: the gateway holds its own
 * keep-alive connections to the EWS simulator, runs the NTLM handshake once per connection and
 * sends later calls on it without a header; the simulator verifies the NTLMv2 response. A wrong
 * password is a 502 naming the setting; neither the password nor a Type 3 message is logged.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, registerSecret } from '../helper.js'
import type { GatewayConfig } from '../../src/config.js'
import { DEMO_CREDENTIALS } from '../../src/simulators/index.js'

const alice = encodeURIComponent(MAILBOXES.ews.primary)

function useNtlm (username: string, password: string) {
  return (c: GatewayConfig): void => {
    const e = c.backends['onprem-ews']
    if (e.type !== 'ews') throw new Error('unexpected demo config')
    e.auth = { kind: 'ntlm', username, password }
  }
}

const [local] = DEMO_CREDENTIALS.ews.username.split('@')

t.test('list folders, export and import over NTLM: one handshake per connection', async (t) => {
  const { app, sims, logs } = await buildTestGateway(t, {
    configure: useNtlm(`CONTOSO\\${local}`, DEMO_CREDENTIALS.ews.password)
  })
  const folders = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders?parentId=inbox` })
  t.equal(folders.statusCode, 200, folders.statusCode === 200 ? 'folders listed' : folders.body)
  const items = json<{ items: Array<{ id: string }> }>(
    await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox/items?pageSize=3` })
  )
  t.equal(items.items.length, 3)
  const exp = await app.inject({
    method: 'POST',
    url: `/mailboxes/${alice}/items:export`,
    payload: { itemIds: items.items.map((i) => i.id) }
  })
  t.equal(exp.statusCode, 200, exp.statusCode === 200 ? 'exported' : exp.body)
  const exported = json<{ succeeded: number, results: Array<{ data: string }> }>(exp)
  t.equal(exported.succeeded, 3)
  const imp = await app.inject({
    method: 'POST',
    url: `/mailboxes/${alice}/items:import`,
    payload: {
      items: exported.results.map((r) => ({ folderId: 'drafts', mode: 'create', data: r.data, source: 'ews' }))
    }
  })
  t.equal(imp.statusCode, 200, imp.statusCode === 200 ? 'imported' : imp.body)
  t.equal(json<{ succeeded: number }>(imp).succeeded, 3)

  const { ntlm, requests } = sims.ews.stats
  t.ok(ntlm.authenticated >= 1, `${ntlm.authenticated} handshake(s)`)
  t.equal(ntlm.refused, 0)
  t.ok(ntlm.onBoundConnection >= 1, 'later calls ride on an authenticated connection without a header')
  t.equal(ntlm.challenges + ntlm.authenticated + ntlm.onBoundConnection, requests,
    'every request was a challenge leg or NTLM-authenticated (none by Basic)')

  // A dropped connection: the read is retried on a new one, which is authenticated again.
  const before = sims.ews.stats.ntlm.authenticated
  sims.ews.faults.reset = 1
  const again = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(again.statusCode, 200, again.statusCode === 200 ? 'read again' : again.body)
  t.equal(sims.ews.stats.ntlm.authenticated, before + 1, 'a new connection, a new handshake')

  t.notOk(logs.some((l) => l.includes('TlRMTVNTUAAD')), 'no Type 3 message in the logs')
})

t.test('a user principal name works as the user name', async (t) => {
  const { app, sims } = await buildTestGateway(t, {
    configure: useNtlm(DEMO_CREDENTIALS.ews.username, DEMO_CREDENTIALS.ews.password)
  })
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'read' : res.body)
  t.ok(sims.ews.stats.ntlm.authenticated >= 1)
  t.equal(sims.ews.stats.ntlm.refused, 0)
})

t.test('a wrong NTLM password is a 502 naming the setting, and never logged', async (t) => {
  const wrong = 'wrong-ntlm-password'
  registerSecret(wrong)
  const { app, sims, logs } = await buildTestGateway(t, { configure: useNtlm(`CONTOSO\\${local}`, wrong) })
  const res = await app.inject({ method: 'GET', url: `/mailboxes/${alice}/folders/inbox` })
  t.equal(res.statusCode, 502, res.body)
  t.match(json(res), {
    code: 'MBG_ERR_BACKEND_MISCONFIGURED',
    detail: /backends\.onprem-ews\.auth\.username .*backends\.onprem-ews\.auth\.password/
  })
  t.notMatch(res.body, wrong)
  t.equal(sims.ews.stats.ntlm.refused, 1, 'refused once: a configuration problem is not retried')
  t.notOk(logs.some((l) => l.includes(wrong) || l.includes('TlRMTVNTUAAD')), 'neither password nor Type 3 logged')
})
