// tap `after` hook: scan everything the suite logged for secrets. Exits 1 (failing the run) on a leak,
// or when nothing was captured at all, which would make the check meaningless.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { DEMO_CREDENTIALS } from '../src/simulators/index.js'
import { findSecrets, LOG_DIR } from './helpers/logs.js'

const files = existsSync(LOG_DIR) ? readdirSync(LOG_DIR).filter((f) => f.endsWith('.ndjson')) : []
const secretsFile = `${LOG_DIR}secrets.txt`
const secrets = [DEMO_CREDENTIALS.ews.password, DEMO_CREDENTIALS.app.clientSecret,
  ...(existsSync(secretsFile) ? readFileSync(secretsFile, 'utf8').split('\n').filter((s) => s.length > 0) : [])]
let lines = 0
const hits: string[] = []
for (const f of files) {
  const content = readFileSync(`${LOG_DIR}${f}`, 'utf8').split('\n').filter((l) => l.length > 0)
  lines += content.length
  hits.push(...findSecrets(content, secrets).map((h) => `${f}: ${h}`))
}
if (lines < 100) {
  console.error(`suite log check: only ${lines} log lines captured from ${files.length} test processes; expected the whole suite's logs`)
  process.exit(1)
}
if (hits.length > 0) {
  console.error(`suite log check: ${hits.length} secrets found in the suite's logs:\n${hits.slice(0, 20).join('\n')}`)
  process.exit(1)
}
console.log(`# suite log check: ${lines} log lines from ${files.length} test processes, ${secrets.length} known secrets and all token patterns absent`)
