/**
 * `npm run sim`: the simulated EWS, identity and Graph backends alone, on
 * loopback, seeded with the demo tenant. Prints one JSON line on stdout (logs go
 * to stderr), then runs until interrupted:
 *
 *  - `ews`, `identity`, `graph`, `caPem`, `mailboxes`: URLs, demo credentials and the
 *    throwaway CA, for curl, exchangelib or any client;
 *  - `gatewayConfig`: a backends/mailboxes document the gateway accepts as is (README
 *    "Configuration"), with `tls.caFile` set on every backend and the import host allowed;
 *    `configFile` holds the same document and `caFile` the CA (a temporary folder removed
 *    on exit), so `MBG_CONFIG_FILE=<configFile> npm start` serves the simulators.
 *
 * Ports are free ones unless fixed with flags or variables (a flag wins):
 * `--ews-port` / SIM_EWS_PORT, `--identity-port` / SIM_IDENTITY_PORT, `--graph-port` /
 * SIM_GRAPH_PORT, `--graph-import-port` / SIM_GRAPH_IMPORT_PORT.
 *
 * SIMULATOR_FAULTS (JSON, or `@/path/file.json`) switches on injected faults, poisoned items and limits
 * (README "Simulators and demo mode"; SimulatorFaultsConfig in src/simulators/faults.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { simulatorFaultsFromEnv, type SimulatorFaultsConfig } from '../simulators/faults.js'
import { startSimulators, DEMO_CREDENTIALS, type SimulatorPorts } from '../simulators/index.js'
import { DEMO_MAILBOXES } from '../simulators/store/seed.js'
import { simulatorDocument } from '../demo.js'
import { generateApiKey } from '../access/authenticator.js'

/** Each listener's flag and environment variable. */
const PORT_SETTINGS: Array<[keyof SimulatorPorts, string, string]> = [
  ['ews', 'ews-port', 'SIM_EWS_PORT'],
  ['identity', 'identity-port', 'SIM_IDENTITY_PORT'],
  ['graph', 'graph-port', 'SIM_GRAPH_PORT'],
  ['graphImport', 'graph-import-port', 'SIM_GRAPH_IMPORT_PORT']
]

/**
 * The ports asked for on the command line (`--ews-port 8081` or `--ews-port=8081`) or in the
 * environment; each an integer 0–65535 (0: any free port). Throws naming the bad one.
 */
function simulatorPorts (args: string[], env: NodeJS.ProcessEnv): SimulatorPorts {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(PORT_SETTINGS.map(([, flag]) => [flag, { type: 'string' as const }])),
    strict: true
  })
  const ports: SimulatorPorts = {}
  for (const [key, flag, variable] of PORT_SETTINGS) {
    const flagged = values[flag]
    const raw = typeof flagged === 'string' ? flagged : env[variable]
    if (raw === undefined || raw === '') continue
    const port = Number(raw)
    if (!/^\d+$/.test(raw) || port > 65535) {
      const name = typeof flagged === 'string' ? `--${flag}` : variable
      throw new Error(`${name} must be a port number (0-65535), not "${raw}"`)
    }
    ports[key] = port
  }
  return ports
}

let ports: SimulatorPorts
let faults: SimulatorFaultsConfig | undefined
try {
  ports = simulatorPorts(process.argv.slice(2), process.env)
  faults = simulatorFaultsFromEnv(process.env)
} catch (err) {
  process.stderr.write(`simulators: ${(err as Error).message}\n`)
  process.exit(1)
}

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2))
let sims: Awaited<ReturnType<typeof startSimulators>>
try {
  sims = await startSimulators({ logger, ports, ...(faults !== undefined ? { faults } : {}) })
} catch (err) {
  // A port in use (EADDRINUSE) or not allowed (EACCES): one line naming it, not a stack trace.
  process.stderr.write(`simulators: cannot start: ${(err as Error).message}\n`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'mbg-sim-'))
const caFile = join(dir, 'simulators-ca.pem')
writeFileSync(caFile, sims.ca)
// The demo client's key: the printed document lets it in (auth.clients[0]).
const apiKey = generateApiKey()
const gatewayConfig = simulatorDocument(sims, { caFile, apiKey })
const configFile = join(dir, 'gateway.json')
writeFileSync(configFile, `${JSON.stringify(gatewayConfig, null, 2)}\n`)

process.stdout.write(`${JSON.stringify({
  ews: { url: sims.ews.url, auth: 'basic', ...DEMO_CREDENTIALS.ews, impersonation: true },
  identity: { authority: sims.identity.authority, tenantId: sims.tenantId, ...DEMO_CREDENTIALS.app, scopes: ['https://graph.microsoft.com/.default', 'https://outlook.office365.com/.default'] },
  graph: { url: sims.graph.url, importOrigin: sims.graph.importOrigin, versions: ['v1.0', 'beta'] },
  caPem: sims.ca,
  mailboxes: Object.values(DEMO_MAILBOXES).map((m) => m.smtp),
  caFile,
  configFile,
  apiKey,
  gatewayConfig
})}\n`)

closeWithGrace({ delay: 5000 }, async () => {
  await sims.close()
  rmSync(dir, { recursive: true, force: true })
})
