import t from 'tap'
import { createServer } from 'node:net'
import { Agent, request } from 'undici'
import { persist } from '../helpers/logs.js'
import { startTs, waitForOutput } from '../helpers/process.js'

t.test('`npm run sim` prints one JSON line whose URLs and credentials work', async (t) => {
  const child = startTs('src/cli/simulators.ts', [])
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  // Logs (stderr) join the suite-wide secret scan; stdout is the credentials line, printed on purpose.
  child.stderr.on('data', (c: Buffer) => { persist(c.toString().split('\n')) })
  const line = (await waitForOutput(child, 'stdout', /^(.*)\n/))[1]
  const info = JSON.parse(line) as {
    ews: { url: string, username: string, password: string }
    identity: { authority: string, clientId: string, clientSecret: string }
    graph: { url: string }
    caPem: string
    mailboxes: string[]
  }
  t.equal(info.mailboxes.length, 4)

  const soap =
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Header><t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>alice@contoso.example</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder></s:Body></s:Envelope>'
  const ews = await request(info.ews.url, {
    method: 'POST',
    body: soap,
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      authorization: `Basic ${Buffer.from(`${info.ews.username}:${info.ews.password}`).toString('base64')}`
    }
  })
  t.equal(ews.statusCode, 200)
  t.match(await ews.body.text(), /<t:DisplayName>Inbox<\/t:DisplayName>/)

  const agent = new Agent({ connect: { ca: info.caPem } })
  t.teardown(async () => { await agent.close() })
  const token = await request(`${info.identity.authority}/oauth2/v2.0/token`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: info.identity.clientId,
      client_secret: info.identity.clientSecret,
      scope: 'https://graph.microsoft.com/.default'
    }).toString()
  })
  t.equal(token.statusCode, 200)
  const { access_token: accessToken } = await token.body.json() as { access_token: string }
  const settings = await request(`${info.graph.url}/beta/users/carol@contoso.example/settings/exchange`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${accessToken}` }
  })
  t.equal(settings.statusCode, 200)
  t.match(await settings.body.json(), { primaryMailboxId: /^MBX:/, inPlaceArchiveMailboxId: /^MBX:/ })

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly on SIGTERM')
})

t.test('`npm run sim` on a port in use: one line naming it, exit 1, no stack trace', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { taken.close() })
  const { port } = taken.address() as { port: number }
  const child = startTs('src/cli/simulators.ts', ['--ews-port', String(port)])
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  let err = ''
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  t.equal(await exited, 1)
  t.match(err, new RegExp(`^simulators: cannot start: listen EADDRINUSE: .*:${port}\\n$`))
  t.notMatch(err, /\n\s+at /, 'no stack trace')
})
