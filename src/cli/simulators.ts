/**
 * `npm run sim`: the simulated EWS, identity and Graph backends alone, on
 * loopback, seeded with the demo tenant. Prints one JSON line with their URLs
 * and the demo credentials on stdout (logs go to stderr), then runs until
 * interrupted. Point curl, exchangelib or a gateway config at them.
 */
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { startSimulators, DEMO_CREDENTIALS } from '../simulators/index.js'
import { DEMO_MAILBOXES } from '../simulators/store/seed.js'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2))
const sims = await startSimulators({ logger })

process.stdout.write(`${JSON.stringify({
  ews: { url: sims.ews.url, auth: 'basic', ...DEMO_CREDENTIALS.ews, impersonation: true },
  identity: { authority: sims.identity.authority, tenantId: sims.tenantId, ...DEMO_CREDENTIALS.app, scopes: ['https://graph.microsoft.com/.default', 'https://outlook.office365.com/.default'] },
  graph: { url: sims.graph.url, importOrigin: sims.graph.importOrigin, versions: ['v1.0', 'beta'] },
  caPem: sims.ca,
  mailboxes: Object.values(DEMO_MAILBOXES).map((m) => m.smtp)
})}\n`)

closeWithGrace({ delay: 5000 }, async () => { await sims.close() })
