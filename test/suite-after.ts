// tap `after` hook: scan everything the suite logged for secrets; exit 1 (failing the run) on a leak.
import { DEMO_CREDENTIALS } from '../src/simulators/index.js'
import { LOG_DIR, scanLogDir } from './helpers/logs.js'

const r = scanLogDir(LOG_DIR, [DEMO_CREDENTIALS.ews.password, DEMO_CREDENTIALS.app.clientSecret])
if (r.hits.length > 0) {
  console.error(
    `suite log check: ${r.hits.length} secrets found in the suite's logs:\n${r.hits.slice(0, 20).join('\n')}`
  )
  process.exit(1)
}
console.log(
  `# suite log check: ${r.lines} log lines from ${r.files} test processes; no token, authtoken, Basic credential or any of ${r.secrets} known secrets`
)
