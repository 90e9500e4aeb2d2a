/**
 * The README's curl tour, run verbatim: the gateway is started the way
 * `npm start` starts it (demo mode, a real listening process), and the shell
 * blocks of "API tour (curl)" are executed with bash, curl and jq, for an EWS
 * and a Graph mailbox. Skipped with a notice where curl or jq is missing
 * (.ci/run installs them).
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { persist, registerSecret } from './helpers/logs.js'
import { PROCESS_BUDGET_MS, ROOT as root, startTs, waitForOutput } from './helpers/process.js'

const missing = ['curl', 'jq'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)

function tourBlocks (): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## API tour (curl)'), readme.indexOf('## Configuration'))
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])
}

if (missing.length > 0) {
  console.error(`\n*** README tour test SKIPPED: ${missing.join(', ')} not installed (apt-get install curl jq) ***\n`)
  t.test('the README curl tour', { skip: `needs ${missing.join(' and ')}` }, async () => {})
} else {
  t.test('the README curl tour works against `npm start` in demo mode', async (t) => {
    // Load shedding off: the simulators share the gateway's event loop, and on a busy machine the
    // process can lag past the 1 s default without anything being wrong (test/app/shedding.test.ts
    // covers shedding).
    const env = {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      MBG_CONFIG: '',
      MBG_CONFIG_FILE: '',
      MAX_EVENT_LOOP_DELAY_MS: '0'
    }
    const server = startTs('src/server.ts', [], env)
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => { resolve(code) }))
    // The server's own log output joins the suite-wide secret scan.
    for (const stream of [server.stdout, server.stderr]) {
      let rest = ''
      stream.on('data', (c: Buffer) => {
        // Whole lines, and every line but the start banner that shows the demo key (terminal output, not a log).
        const lines = (rest + c.toString()).split('\n')
        rest = lines.pop() ?? ''
        persist(lines.filter((line) => !/^(Demo API key|\s+export MBG_API_KEY=|\s+curl -H)/.test(line)))
      })
    }
    t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
    // Ready when it logs its address (a cold start on a busy machine can take well over 30 s).
    // The demo key is printed first, as a newcomer copies it from the terminal; it must not be in any log record.
    // The demo key comes on stderr (outside the JSON log records on stdout), as a newcomer copies it.
    const [key, address] = await Promise.all([
      waitForOutput(server, 'stderr', /^ {2}export MBG_API_KEY=(mbg_[A-Za-z0-9_-]+)$/m),
      waitForOutput(server, 'stdout', /"gateway":"(http:\/\/[^"]+)".*demo mode/)
    ])
    const apiKey = key[1]
    const gateway = address[1]
    registerSecret(apiKey)
    // As a load balancer would: send traffic once /health/ready says the backends were checked
    // (until then, and while a busy machine makes the gateway shed load, it answers 503).
    const deadline = Date.now() + 180_000
    for (;;) {
      const status = await fetch(`${gateway}/health/ready`).then((r) => r.status, () => 0)
      if (status === 200) break
      if (Date.now() > deadline) throw new Error(`${gateway}/health/ready still answers ${status}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const [tour, copy, more, folder] = tourBlocks()
    t.ok(tour.includes('items:export') && copy.includes('carol@') && more.includes('PATCH') &&
      folder.includes('inbox.ndjson'), 'found the tour blocks')

    for (const mailbox of ['alice@contoso.example', 'carol@contoso.example']) {
      const dir = mkdtempSync(join(tmpdir(), 'tour-'))
      const script = [tour, copy, more, folder].join('\n')
        .replace(/^GW=.*$/m, `GW=${gateway}`)
        .replace(/^MBX=.*$/m, `MBX=${mailbox}`)
      writeFileSync(join(dir, 'tour.sh'), `set -euo pipefail\n${script}`)
      const run = spawnSync('bash', ['tour.sh'], {
        cwd: dir, encoding: 'utf8', timeout: PROCESS_BUDGET_MS, env: { ...process.env, MBG_API_KEY: apiKey }
      })
      persist(run.stderr.split('\n'))
      t.equal(run.status, 0, `${mailbox}: tour exits 0\n${run.stderr}`)
      t.match(run.stdout, /byte-identical/, `${mailbox}: re-exported data equals the original`)
      t.match(run.stdout, /"succeeded": 5,\s*"failed": 0/, `${mailbox}: 5 items exported and imported`)
      t.match(run.stdout, /^204$/m, `${mailbox}: folder deleted`)
      if (mailbox.startsWith('alice@')) {
        // EWS: the copies moved to Drafts, then deleted (a Graph mailbox answers the move with 501).
        t.notMatch(run.stderr, /jq: error/, `${mailbox}: every answer was what jq expected`)
      }
      t.notMatch(run.stdout, /MBG_ERR_UNAUTHENTICATED/, `${mailbox}: every call carried the key`)
      t.match(run.stdout, /"complete":true/, `${mailbox}: the folder export ran to its end`)
      t.match(run.stdout, /^all imported$/m, `${mailbox}: every exported item of the folder imported back`)
      const exported = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
        results: Array<{ data: string }>
      }
      const again = JSON.parse(readFileSync(join(dir, 'reexport.json'), 'utf8')) as { results: Array<{ data: string }> }
      t.same(again.results.map((r) => r.data), exported.results.map((r) => r.data), `${mailbox}: same bytes`)
    }

    server.kill('SIGTERM')
    t.equal(await exited, 0, 'SIGTERM shuts the gateway and its simulators down cleanly')
  })
}
