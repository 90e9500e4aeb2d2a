import t from 'tap'
import { persist } from '../helpers/logs.js'
import { runTs } from '../helpers/process.js'

t.test('bad configuration stops the process at boot with a one-line message naming the problem', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^mailbox-gateway: Invalid configuration: env\/PORT must be integer\n$/],
    [{ MBG_CONFIG: '{"backends":{},"mailboxes":[{"address":"a@contoso.com","backend":"x"}]}' }, /unknown backend "x"/],
    [{ MBG_CONFIG_FILE: '/nonexistent/gateway.json' }, /cannot read config file \/nonexistent\/gateway.json/],
    // Demo mode (no backend configured) reads the simulators' faults.
    [{ SIMULATOR_FAULTS: '{"ews":[{"rate":2,"kinds":["slow"]}]}' },
      /^mailbox-gateway: SIMULATOR_FAULTS\.ews\[0\]\.rate must be a number 0\.\.1\n$/]
  ]
  // The processes start side by side: each waits for its own exit, not for a deadline.
  const runs = await Promise.all(cases.map(async ([env]) =>
    await runTs('src/server.ts', [], { ...process.env, ...env })))
  cases.forEach(([env, message], i) => {
    const run = runs[i]
    persist([...run.stdout.split('\n'), ...run.stderr.split('\n')])
    t.equal(run.status, 1, JSON.stringify(env))
    t.match(run.stderr, message)
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
  })
})
