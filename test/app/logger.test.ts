import t from 'tap'
import { createType1Message, createType3Message, parseType2Message } from '@node-ntlm/core'
import { redactUrl } from '../../src/redact.js'
import { ntlmStep } from '../../src/simulators/ews/ntlm.js'
import { buildTestGateway, captureLogs, findSecrets, json, MAILBOXES } from '../helper.js'

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
  const challenge = ntlmStep(createType1Message({ domain: '', workstation: 'W' }).slice(5), {}, [])
  if (challenge.step !== 'challenge') throw new Error('no challenge')
  const type3 = createType3Message(parseType2Message(challenge.header),
    { domain: 'CONTOSO', workstation: 'W', username: 'u', password: 'p' })
  t.ok(findSecrets([`{"authorization":"${type3}"}`]).length > 0, 'and an NTLM Type 3 message')
})

t.test('a backend\'s log lines name it once: no repeated "backend" key', async (t) => {
  const gw = await buildTestGateway(t)
  // One EWS answer is ErrorServerBusy: the retry is logged too.
  gw.sims.ews.faults.serverBusy = 1
  for (const backend of ['ews', 'graph'] as const) {
    const mailbox = encodeURIComponent(MAILBOXES[backend].primary)
    const listed = await gw.app.inject({ url: `/mailboxes/${mailbox}/folders/inbox/items?pageSize=2` })
    t.equal(listed.statusCode, 200, `${backend}: listed`)
    const ids = json<{ items: Array<{ id: string }> }>(listed).items.map((i) => i.id)
    const exported = await gw.app.inject({
      method: 'POST', url: `/mailboxes/${mailbox}/items:export`, payload: { itemIds: ids }
    })
    t.equal(exported.statusCode, 200, `${backend}: exported`)
    const results = json<{ results: Array<{ data: string }> }>(exported).results
    const imported = await gw.app.inject({
      method: 'POST',
      url: `/mailboxes/${mailbox}/items:import`,
      payload: { items: results.map((r) => ({ folderId: 'inbox', mode: 'create', data: r.data })) }
    })
    t.equal(imported.statusCode, 200, `${backend}: imported`)
  }
  for (const name of Object.keys(gw.config.backends)) {
    t.ok(gw.logs.some((l) => l.includes(`"backend":"${name}"`)), `${name} is named in the logs`)
  }
  const repeated = gw.logs.filter((l) => (l.match(/"backend":/g) ?? []).length > 1)
  t.same(repeated, [], 'no line has the key "backend" twice')
})
