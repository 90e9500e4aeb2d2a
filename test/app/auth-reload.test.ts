/**
 * Key rotation without a restart (src/server.ts): a gateway started with MBG_CONFIG_FILE reads the file's `auth`
 * section again on SIGHUP and when the file changes; a document that does not validate is logged and the keys in
 * force stay. A real process, with the simulators in this one.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { captureLogs } from '../helpers/logs.js'
import { startGatewayProcess, waitForOutput } from '../helpers/process.js'
import { generateApiKey, hashApiKey } from '../../src/access/authenticator.js'
import { simulatorDocument } from '../../src/demo.js'
import { startSimulators } from '../../src/simulators/index.js'

t.test('SIGHUP and a changed file rotate API keys in a running gateway', async (t) => {
  const sims = await startSimulators({ logger: captureLogs('info').logger })
  t.teardown(async () => { await sims.close() })
  const dir = mkdtempSync(join(tmpdir(), 'mbg-reload-'))
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, sims.ca)
  const configFile = join(dir, 'gateway.json')
  const [first, second, third] = [generateApiKey(), generateApiKey(), generateApiKey()]
  const doc = simulatorDocument(sims, { caFile, apiKey: first })
  const write = (keys: Array<[string, string]>, mutate?: (d: any) => void): void => {
    const d = structuredClone(doc) as any
    d.auth.clients[0].apiKeys = keys.map(([id, key]) => ({ id, sha256: hashApiKey(key) }))
    mutate?.(d)
    writeFileSync(configFile, JSON.stringify(d))
  }
  write([['first', first]])

  const { child, output, closed } = startGatewayProcess(t, { MBG_CONFIG_FILE: configFile, LOG_LEVEL: 'info' })
  const url = (await waitForOutput(child, 'stdout', /"gateway":"(http:\/\/[^"]+)"/))[1]
  const status = async (key: string): Promise<number> => {
    const res = await request(`${url}/mailboxes`, { headers: { 'x-api-key': key } })
    await res.body.text()
    return res.statusCode
  }
  /** Waits (without a deadline of its own: the test runner's budget bounds it) until the log has `n` reloads. */
  const reloads = async (pattern: RegExp, n: number): Promise<void> => {
    while ((output().match(new RegExp(pattern, 'g')) ?? []).length < n) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  t.equal(await status(first), 200, 'the first key works')
  t.equal(await status(second), 401, 'the second one not yet')

  write([['second', second], ['first', first]])
  child.kill('SIGHUP')
  await reloads(/auth settings reloaded/, 1)
  t.equal(await status(second), 200, 'after SIGHUP the new key works')
  t.equal(await status(first), 200, 'and the old one, while both are listed')

  // A broken document changes nothing.
  write([['third', third]], (d) => { d.auth.clients[0].scopes = ['everything'] })
  child.kill('SIGHUP')
  await reloads(/auth settings not reloaded/, 1)
  t.equal(await status(third), 401, 'the key of an invalid document is not taken')
  t.equal(await status(first), 200, 'the keys in force stay')

  // Changing the file is enough (it is polled).
  write([['second', second]])
  await reloads(/auth settings reloaded/, 2)
  t.equal(await status(first), 401, 'the old key is gone')
  t.equal(await status(second), 200)
  t.notOk(output().includes(first) || output().includes(second), 'no key reached the log')

  child.kill('SIGTERM')
  await closed
})
