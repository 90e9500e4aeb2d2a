/**
 * The README's curl tour, run verbatim: the gateway is started the way
 * `npm start` starts it (demo mode, a real listening process), and the shell
 * blocks of "API tour (curl)" are executed with bash, curl and jq, for an EWS
 * and a Graph mailbox. Skipped with a notice where curl or jq is missing
 * (.ci/run installs them).
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { persist } from './helpers/logs.js'

const root = fileURLToPath(new URL('..', import.meta.url))
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
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', MBG_CONFIG: '', MBG_CONFIG_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => { resolve(code) }))
    // The server's own log output joins the suite-wide secret scan.
    for (const stream of [server.stdout, server.stderr]) {
      stream.on('data', (c: Buffer) => {
        persist(c.toString().split('\n'))
      })
    }
    t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
    const gateway = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { reject(new Error(`gateway did not start:\n${out}`)) }, 30_000)
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const m = /"gateway":"(http:\/\/[^"]+)".*demo mode/.exec(out)
        if (m !== null) { clearTimeout(timer); resolve(m[1]) }
      })
      server.on('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`gateway exited with ${String(code)}:\n${out}`))
      })
    })
    const [tour, copy, more] = tourBlocks()
    t.ok(tour.includes('items:export') && copy.includes('carol@') && more.includes('PATCH'), 'found the tour blocks')

    for (const mailbox of ['alice@contoso.example', 'carol@contoso.example']) {
      const dir = mkdtempSync(join(tmpdir(), 'tour-'))
      const script = [tour, copy, more].join('\n')
        .replace(/^GW=.*$/m, `GW=${gateway}`)
        .replace(/^MBX=.*$/m, `MBX=${mailbox}`)
      writeFileSync(join(dir, 'tour.sh'), `set -euo pipefail\n${script}`)
      const run = spawnSync('bash', ['tour.sh'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
      persist(run.stderr.split('\n'))
      t.equal(run.status, 0, `${mailbox}: tour exits 0\n${run.stderr}`)
      t.match(run.stdout, /byte-identical/, `${mailbox}: re-exported data equals the original`)
      t.match(run.stdout, /"succeeded": 5,\s*"failed": 0/, `${mailbox}: 5 items exported and imported`)
      t.match(run.stdout, /^204$/m, `${mailbox}: folder deleted`)
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
