// The import boundaries of eslint.config.js fail on deliberate violations: each snippet is linted as if it lived at
// a path in the repository (nothing is written), and the only errors expected are the boundary rules'.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

const BOUNDARY_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports'])

// ESLint runs in a plain Node process: its ESM-only dependencies do not load through the tsx hooks of the tests.
const LINT_SCRIPT = `
import { ESLint } from 'eslint'
const cases = JSON.parse(await new Response(process.stdin).text())
const eslint = new ESLint({ cwd: process.cwd() })
const out = []
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath })
  out.push(result.messages.map((m) => (m.ruleId ?? 'fatal') + ': ' + m.message))
}
process.stdout.write(JSON.stringify(out))
`

/** Lints each `code` as the file `filePath` (relative to the repository root); `ruleId: message` per problem. */
function lintAll (cases: Array<{ filePath: string, code: string }>): string[][] {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', LINT_SCRIPT], {
    cwd: root,
    env,
    input: JSON.stringify(cases.map((c) => ({ ...c, filePath: `${root}${c.filePath}` }))),
    encoding: 'utf8',
    timeout: 120_000
  })
  if (run.status !== 0) throw new Error(`eslint failed (${run.status ?? run.signal}): ${run.stderr}`)
  return JSON.parse(run.stdout) as string[][]
}

interface Case { filePath: string, code: string, why: string, expect: 'violation' | 'clean' }
const cases: Case[] = []

/** One value import and one use of it, so nothing but the import itself can be wrong. */
const importing = (specifier: string, name = 'x'): string =>
  `import { ${name} } from '${specifier}'\n\nexport const used = ${name}\n`

function violates (filePath: string, code: string, why: string): void {
  cases.push({ filePath, code, why, expect: 'violation' })
}

function complies (filePath: string, code: string, why: string): void {
  cases.push({ filePath, code, why, expect: 'clean' })
}

function check (t: Test, group: Case[], results: string[][]): void {
  group.forEach((c, i) => {
    const problems = results[i]
    if (c.expect === 'clean') {
      t.same(problems, [], c.why)
    } else {
      t.equal(problems.length, 1, `${c.why}: one problem (${problems.join(' | ')})`)
      t.ok(BOUNDARY_RULES.has(problems[0]?.split(':')[0] ?? ''), `${c.why}: reported by a boundary rule`)
    }
  })
}

const groups: Array<{ name: string, cases: Case[] }> = []
function group (name: string, register: () => void): void {
  const before = cases.length
  register()
  groups.push({ name, cases: cases.slice(before) })
}

group('(a) routes reach neither protocol libraries nor adapters, only the port', () => {
  const at = 'routes/probe.ts'
  violates(at, importing('undici', 'request'), 'undici')
  violates(at, importing('fast-xml-parser', 'XMLParser'), 'fast-xml-parser')
  violates(at, importing('@azure/msal-node', 'ConfidentialClientApplication'), '@azure/msal-node')
  violates(at, importing('../src/backends/router.js', 'BackendRouter'), 'the router')
  violates(at, importing('../src/backends/ews/index.js', 'createEwsBackend'), 'the EWS adapter')
  violates(at, importing('../src/backends/graph/index.js', 'createGraphBackend'), 'the Graph adapter')
  violates(at, importing('../src/backends/policy.js', 'DEFAULT_POLICY'), 'the policy')
  violates(at, 'import type { BackendRouter } from \'../src/backends/router.js\'\n\nexport type R = BackendRouter\n',
    'a type-only import of the router')
  violates(at, importing('../src/simulators/index.js', 'startSimulators'), 'a simulator')
  complies(at, [
    'import { Type } from \'@fastify/type-provider-typebox\'',
    'import { parseFolderRef, type MailboxBackend } from \'../src/backends/mailbox-backend.js\'',
    'import { BadRequest } from \'../src/errors.js\'',
    'import { problems } from \'../src/schemas/common.js\'',
    'import { mailboxContext } from \'./context.js\'',
    '',
    'export type Port = MailboxBackend',
    'export const used = [Type, parseFolderRef, BadRequest, problems, mailboxContext]',
    ''
  ].join('\n'), 'the port (types and values), errors, schemas, sibling routes and Fastify')
})

group('(b) an adapter imports neither the other adapter nor a simulator', () => {
  violates('src/backends/ews/probe.ts', importing('../graph/index.js', 'createGraphBackend'), 'EWS -> Graph')
  violates('src/backends/graph/probe.ts', importing('../ews/index.js', 'createEwsBackend'), 'Graph -> EWS')
  violates('src/backends/ews/probe.ts', importing('../../simulators/index.js', 'startSimulators'),
    'EWS -> simulators')
  violates('src/backends/graph/probe.ts', importing('../../simulators/store/store.js', 'parseId'),
    'Graph -> simulator store')
  complies('src/backends/ews/probe.ts', [
    'import { request } from \'undici\'',
    'import { UpstreamTimeout } from \'../../errors.js\'',
    'import type { MailboxBackend } from \'../mailbox-backend.js\'',
    'import type { Policy } from \'../policy.js\'',
    'import { EwsClient } from \'./client.js\'',
    '',
    'export type Types = MailboxBackend | Policy',
    'export const used = [request, UpstreamTimeout, EwsClient]',
    ''
  ].join('\n'), 'an adapter uses its protocol library, the shared errors, the port and the policy')
})

group('(c) a simulator imports no gateway code', () => {
  const at = 'src/simulators/ews/probe.ts'
  violates(at, importing('../../backends/ews/index.js', 'createEwsBackend'), 'an adapter')
  violates(at, importing('../../backends/mailbox-backend.js', 'parseFolderRef'), 'the port')
  violates(at, 'import type { TokenProvider } from \'../../auth/token-provider.js\'\n\nexport type T = TokenProvider\n',
    'auth')
  violates(at, importing('../../app.js', 'app'), 'the app')
  violates(at, importing('../../../routes/health.js', 'health'), 'a route')
  violates(at, importing('../../../plugins/app/problem-details.js', 'buildProblem'), 'a plugin')
  // The service layer is checked once it exists (an import that resolves to nothing cannot be placed).
  if (existsSync(`${root}src/service/index.ts`)) {
    violates(at, importing('../../service/index.js'), 'the service layer')
  }
  complies(at, [
    'import { XMLParser } from \'fast-xml-parser\'',
    'import { MailboxStore } from \'../store/store.js\'',
    'import { NS } from \'./xml.js\'',
    '',
    'export const used = [XMLParser, MailboxStore, NS]',
    ''
  ].join('\n'), 'a simulator uses its own modules and protocol libraries')
})

const results = lintAll(cases)
let offset = 0
for (const g of groups) {
  const slice = results.slice(offset, offset + g.cases.length)
  offset += g.cases.length
  t.test(g.name, async (t) => { check(t, g.cases, slice) })
}
