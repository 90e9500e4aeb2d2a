import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { persist } from '../helpers/logs.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('bad configuration stops the process at boot with a one-line message naming the problem', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^mailbox-gateway: Invalid configuration: env\/PORT must be integer\n$/],
    [{ MBG_CONFIG: '{"backends":{},"mailboxes":[{"address":"a@contoso.com","backend":"x"}]}' }, /unknown backend "x"/],
    [{ MBG_CONFIG_FILE: '/nonexistent/gateway.json' }, /cannot read config file \/nonexistent\/gateway.json/]
  ]
  for (const [env, message] of cases) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 20_000
    })
    persist([...run.stdout.split('\n'), ...run.stderr.split('\n')])
    t.equal(run.status, 1, JSON.stringify(env))
    t.match(run.stderr, message)
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  }
})
