/**
 * The README's curl tour, run verbatim: the gateway is started the way
 * `npm start` starts it (demo mode, a real listening process), and the shell
 * blocks of "API tour (curl)" are executed with bash, curl and jq, for an EWS
 * and a Graph mailbox, then the walk-through of "Copy jobs" (a dry run, a copy
 * job, changes on the source, a delta pass, a verification). Skipped with a
 * notice where curl or jq is missing (.ci/run installs them).
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { persist, registerSecret } from './helpers/logs.js'
import { PROCESS_BUDGET_MS, ROOT as root, startTs, waitForOutput, type Finished } from './helpers/process.js'

const missing = ['curl', 'jq'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)

/** The `sh` blocks of the README between the headings `from` and `to`, in order. */
function shellBlocks (from: string, to: string): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(from), readme.indexOf(to))
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])
}

/** The JSON values a script printed one after another (jq's pretty and compact output); other lines are skipped. */
function jsonValues (out: string): unknown[] {
  const values: unknown[] = []
  let pending = ''
  for (const line of out.split('\n')) {
    if (pending === '' && !/^[[{]/.test(line)) continue
    pending += line + '\n'
    try {
      values.push(JSON.parse(pending))
      pending = ''
    } catch {}
  }
  return values
}

interface JobOutput {
  state?: string
  pass?: number
  plan?: { items: number, foldersToCreate: string[] }
  totals?: Record<string, number>
  folders?: string[]
  failures?: unknown[]
  verification?: { grade: string, folders: string[] }
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
    const tourBlocks = shellBlocks('## API tour (curl)', '## Configuration')
    const [tour, copy, more, folder] = tourBlocks
    t.ok(tour.includes('items:export') && copy.includes('carol@') && more.includes('PATCH') &&
      folder.includes('inbox.ndjson'), 'found the tour blocks')
    // "Formats: MIME and property sets" runs after the tour, for each mailbox too.
    const formats = tourBlocks.find((b) => b.includes('Accept: message/rfc822')) ?? ''
    t.ok(formats.includes('--data-binary'), 'found the formats block')
    const [walk, ...others] = shellBlocks('## Copy jobs', '## Simulators and demo mode')
    t.ok(walk?.includes(':verify') && others.length === 0, 'found the one Copy jobs block')
    /**
     * Runs `script` with bash (`set -euo pipefail`) in a fresh folder, GW set to this gateway; killed after
     * PROCESS_BUDGET_MS. Not spawnSync: this process must go on reading the gateway's output meanwhile, or the
     * gateway blocks on its full log pipe.
     */
    const bash = async (script: string): Promise<{ dir: string, run: Finished }> => {
      const dir = mkdtempSync(join(tmpdir(), 'tour-'))
      writeFileSync(join(dir, 'tour.sh'), `set -euo pipefail\n${script.replace(/^GW=.*$/m, `GW=${gateway}`)}`)
      const child = spawn('bash', ['tour.sh'], {
        cwd: dir, env: { ...process.env, MBG_API_KEY: apiKey }, stdio: ['ignore', 'pipe', 'pipe']
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
      const timer = setTimeout(() => { child.kill('SIGKILL') }, PROCESS_BUDGET_MS)
      const run = await new Promise<Finished>((resolve) => {
        child.once('close', (status, signal) => { clearTimeout(timer); resolve({ status, signal, stdout, stderr }) })
      })
      persist(run.stderr.split('\n'))
      return { dir, run }
    }

    for (const mailbox of ['alice@contoso.example', 'carol@contoso.example']) {
      const { dir, run } = await bash([tour, copy, more, folder, formats].join('\n')
        .replace(/^MBX=.*$/m, `MBX=${mailbox}`))
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
      // Formats: a message saved as .eml under its subject, its property set, a calendar item as .ics, the .eml
      // imported into an EWS mailbox, and a batch in MIME.
      const eml = readFileSync(join(dir, 'eml.txt'), 'utf8').trim()
      t.match(eml, /^[^/\\]+\.eml$/, `${mailbox}: the .eml is saved under its subject`)
      t.match(readFileSync(join(dir, eml), 'latin1'), /^[\x21-\x39\x3b-\x7e]+:/, `${mailbox}: it is a message`)
      t.match(run.stdout, /^\{"kind":"message","subject":/m, `${mailbox}: its property set`)
      t.match(run.stdout, /^[^/\\\n]+\.ics$/m, `${mailbox}: a calendar item saved as .ics`)
      t.match(run.stdout, /^\{"itemId":true,"kind":"message"\}$/m, `${mailbox}: the .eml imported`)
      t.match(run.stdout, /^saved batch-.+\.eml$/m, `${mailbox}: the batch saved the message`)
      t.match(run.stdout, /^saved batch-.+\.ics$/m, `${mailbox}: and the calendar item`)
      const exported = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
        results: Array<{ data: string }>
      }
      const again = JSON.parse(readFileSync(join(dir, 'reexport.json'), 'utf8')) as { results: Array<{ data: string }> }
      t.same(again.results.map((r) => r.data), exported.results.map((r) => r.data), `${mailbox}: same bytes`)
    }

    // Copy jobs: alice's Inbox subtree (EWS) into a new folder of carol's (Graph), a delta pass, a verification.
    const { run } = await bash(walk)
    t.equal(run.status, 0, `copy jobs walk-through exits 0\n${run.stderr}`)
    t.notMatch(run.stdout, /MBG_ERR_/, 'no call of the walk-through failed')
    const out = jsonValues(run.stdout) as JobOutput[]
    const plan = out.find((v) => v.plan !== undefined)
    t.equal(plan?.state, 'completed', 'the dry run completed')
    t.ok((plan?.plan?.items ?? 0) > 0, 'the plan counts items to copy')
    t.ok(plan?.plan?.foldersToCreate.includes('Inbox/Receipts'), 'the plan creates the subfolders')
    const first = out.find((v) => v.pass === 1 && v.folders !== undefined)
    t.equal(first?.state, 'completed', 'the copy job completed')
    t.equal(first?.totals?.done, plan?.plan?.items, 'it copied every planned item')
    t.same([first?.totals?.failed, first?.failures], [0, []], 'nothing failed')
    t.same(out.filter((v) => 'succeeded' in v), [
      { succeeded: 2, failed: 0 }, { succeeded: 1, failed: 0 }, { succeeded: 1, failed: 0 }
    ], 'the source changed: an item imported and one updated, one deleted, one moved')
    const delta = out.find((v) => v.pass === 2 && v.totals !== undefined)
    t.equal(delta?.state, 'completed', 'the delta pass completed')
    t.match(delta?.totals, { done: 1, updated: 1, deleted: 1, moved: 1, failed: 0 },
      'the delta pass carried the import, the update, the deletion and the move')
    const verified = out.find((v) => v.verification !== undefined)
    t.equal(verified?.state, 'completed', 'the job is completed again after its verification')
    t.equal(verified?.verification?.grade, 'Perfect', 'source and target agree')
    t.match(verified?.verification?.folders.find((f) => f.startsWith('Inbox: ')),
      /^Inbox: (\d+) → \1, missing 0, extra 0, sizeMismatch 0$/, 'the Inbox has as many items on both sides')

    server.kill('SIGTERM')
    t.equal(await exited, 0, 'SIGTERM shuts the gateway and its simulators down cleanly')
  })
}
