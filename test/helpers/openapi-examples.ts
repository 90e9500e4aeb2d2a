/**
 * Captures the OpenAPI examples from a real run: the gateway in demo mode
 * (simulators on loopback, freshly seeded), each operation called once over
 * inject, and the request body and answer kept verbatim as
 * `openapi/examples.json` (operationId → { call, status, request?, response? }).
 * `npm run openapi` merges that file into openapi/openapi.json;
 * test/openapi-examples.test.ts re-runs the capture and fails when the file drifts.
 *
 * Nothing is shortened or rewritten: the item the export/import examples use is
 * a real 202-byte item stream imported first (that bootstrap call is not
 * recorded), so its `data` is a short, genuine base64 stream. Everything that
 * could vary between runs is pinned instead of stripped: the seed is
 * deterministic, the store clock is fixed, and page tokens are sealed with a
 * fixed PAGE_TOKEN_SECRET, so two captures are byte-identical.
 *
 *   npm run openapi:examples   # re-capture, then regenerate openapi/openapi.json
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pino, { type Logger } from 'pino'
import { buildGateway } from '../../src/build.js'
import { createRouter } from '../../src/backends/factory.js'
import { demoConfig } from '../../src/demo.js'
import { startSimulators } from '../../src/simulators/index.js'
import { seedDemoTenant, DEMO_DOMAIN, DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import {
  encodeItemStream, PROP, PT_BINARY, PT_SYSTIME, PT_UNICODE_CP1200, toFileTime
} from '../../src/simulators/store/fts.js'
import { EXAMPLES_PATH, type OperationExample, type OperationExamples } from '../../src/cli/openapi.js'
import { openAuthenticator } from './auth.js'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import { JobRunner } from '../../src/service/jobs/index.js'
import { MemoryMailboxRegistry } from '../../src/state/memory.js'

/** Seals the captured page tokens reproducibly (the value is only ever used by this capture). */
const PAGE_TOKEN_SECRET = 'openapi-examples-page-token-key'
/** Clock of the simulated store: timestamps it assigns (e.g. `modified` of an imported item). */
const STORE_NOW = new Date('2026-06-30T09:30:00.000Z')

/**
 * A small real item stream (FastTransfer-style, as the simulators speak it): 202 bytes, 272 base64 characters. It
 * carries a fixed search key (PidTagSearchKey), as an exported stream does; without one the store would give the
 * item a random key and the captured examples would change on every run.
 */
function tinyItemStream (): string {
  return encodeItemStream({
    props: [
      { type: PT_UNICODE_CP1200, id: PROP.MessageClass, value: 'IPM.Note' },
      { type: PT_UNICODE_CP1200, id: PROP.Subject, value: 'Invoice 1042 paid' },
      { type: PT_SYSTIME, id: PROP.CreationTime, value: toFileTime(new Date('2026-06-30T08:00:00.000Z')) },
      { type: PT_UNICODE_CP1200, id: PROP.Body, value: 'Thanks, received.' },
      { type: PT_BINARY, id: PROP.SearchKey, value: Buffer.from('4f1c2a9e6b3d47c8a5e0d2b7c9f1e3a6', 'hex') }
    ],
    recipients: [],
    attachments: []
  }).toString('base64')
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  body?: unknown
  /** Request headers (an Accept), not recorded: the example shows the answer they asked for. */
  headers?: Record<string, string>
}

/**
 * Runs the capture and returns the examples, keyed by operationId in call order.
 * Throws when any call answers with another status than expected.
 */
export async function captureExamples (logger: Logger = pino({ level: 'silent' })): Promise<OperationExamples> {
  const store = seedDemoTenant()
  store.now = () => new Date(STORE_NOW)
  const sims = await startSimulators({ store, logger: logger.child({ component: 'simulators' }) })
  const { config, extras } = demoConfig(sims)
  // Registrations are stamped with the store clock too (registeredAt of the registerMailbox example).
  const router = createRouter(config, extras, logger, {
    registry: new MemoryMailboxRegistry({ now: () => STORE_NOW.getTime() })
  })
  // Jobs on the store's clock with numbered ids; run below by a runner of the capture's own, on the same clock.
  const clock = (): number => STORE_NOW.getTime()
  const jobStore = new MemoryJobStore({ now: clock })
  const ledger = new MemoryLedgerStore({ now: clock })
  let jobs = 0
  const app = await buildGateway({
    jobs: {
      store: jobStore,
      ledger,
      run: false,
      now: clock,
      newId: () => `00000000-0000-4000-8000-${String(++jobs).padStart(12, '0')}`
    },
    router,
    authenticator: openAuthenticator(),
    mode: 'demo',
    logger,
    crossBackendImport: config.crossBackendImport ?? 'deny',
    docsUi: false,
    pageTokenSecret: PAGE_TOKEN_SECRET,
    // The simulators share this event loop; their work must not trip load shedding.
    underPressure: { maxEventLoopDelay: 0 }
  })
  const examples: OperationExamples = {}
  try {
    await app.ready()
    // The readiness example shows every backend's start-up check passed.
    await router.health.firstChecks()
    const call = async (expected: number, c: Call): Promise<any> => {
      const res = await app.inject({
        method: c.method,
        url: c.url,
        ...(c.headers !== undefined ? { headers: c.headers } : {}),
        ...(c.body !== undefined ? { payload: c.body as object } : {})
      })
      if (res.statusCode !== expected) {
        throw new Error(`${c.method} ${c.url}: expected ${expected}, got ${res.statusCode}: ${res.body.slice(0, 500)}`)
      }
      // Only JSON answers are examples (the /metrics text varies from run to run; NDJSON is no JSON document).
      const json = /^application\/([\w.-]+\+)?json\b/.test(String(res.headers['content-type']))
      return res.body === '' || !json ? undefined : JSON.parse(res.body)
    }
    const record = async (operationId: string, expected: number, c: Call): Promise<any> => {
      const response = await call(expected, c)
      const example: OperationExample = {
        call: `${c.method} ${c.url}`,
        status: expected,
        ...(c.body !== undefined ? { request: c.body } : {}),
        ...(response !== undefined ? { response } : {})
      }
      examples[operationId] = example
      return response
    }

    const mbx = `/mailboxes/${encodeURIComponent(DEMO_MAILBOXES.alice.smtp)}`
    await record('health', 200, { method: 'GET', url: '/health' })
    await record('liveness', 200, { method: 'GET', url: '/health/live' })
    await record('readiness', 200, { method: 'GET', url: '/health/ready' })
    await record('metrics', 200, { method: 'GET', url: '/metrics' })
    await record('listMailboxes', 200, { method: 'GET', url: '/mailboxes' })
    await record('getMailbox', 200, { method: 'GET', url: mbx })
    const registered = await record('registerMailbox', 201, {
      method: 'POST',
      url: '/mailboxes',
      body: { address: `erin@${DEMO_DOMAIN}`, backend: 'exo-graph', displayName: 'Erin Evans (wave 3)' }
    })
    await record('unregisterMailbox', 204, { method: 'DELETE', url: `/mailboxes/${registered.id as string}` })
    await record('listFolders', 200, { method: 'GET', url: `${mbx}/folders?pageSize=3` })
    await record('getFolder', 200, { method: 'GET', url: `${mbx}/folders/inbox` })
    // Not recorded: a full sync of the folder tree, so the recorded call below shows only what changed since.
    const synced = await call(200, { method: 'GET', url: `${mbx}/folders/changes?pageSize=1000` })
    const folder = await record('createFolder', 201, {
      method: 'POST',
      url: `${mbx}/folders`,
      body: { displayName: 'Invoices 2026', parentId: 'inbox' }
    })
    const folderUrl = `${mbx}/folders/${folder.id as string}`
    await record('renameFolder', 200, {
      method: 'PATCH',
      url: folderUrl,
      body: { displayName: 'Invoices 2026 (paid)' }
    })
    await record('listFolderChanges', 200, {
      method: 'GET',
      url: `${mbx}/folders/changes?cursor=${encodeURIComponent(synced.cursor as string)}`
    })

    // Not recorded: puts one small real item into the new folder for the item examples below.
    const seeded = await call(200, {
      method: 'POST',
      url: `${mbx}/items:import`,
      body: { items: [{ folderId: folder.id, mode: 'create', data: tinyItemStream() }] }
    })
    if (seeded.failed !== 0) throw new Error(`bootstrap import failed: ${JSON.stringify(seeded)}`)

    const list = await record('listItems', 200, { method: 'GET', url: `${folderUrl}/items?pageSize=10` })
    const item = list.items[0] as { id: string, changeKey: string }
    await record('listItemChanges', 200, { method: 'GET', url: `${folderUrl}/items/changes?pageSize=100` })
    const exported = await record('exportItems', 200, {
      method: 'POST',
      url: `${mbx}/items:export`,
      body: { itemIds: [item.id] }
    })
    // Answers application/x-ndjson: only the request body is an example.
    await record('exportFolder', 200, { method: 'POST', url: `${folderUrl}/items:export`, body: { subtree: false } })
    const { data, source } = exported.results[0] as { data: string, source: string }
    const imported = await record('importItems', 200, {
      method: 'POST',
      url: `${mbx}/items:import`,
      body: {
        items: [
          { folderId: 'drafts', mode: 'create', data, source },
          { folderId: folder.id, mode: 'update', itemId: item.id, changeKey: item.changeKey, data, source }
        ]
      }
    })
    if (imported.failed !== 0) throw new Error(`import example failed: ${JSON.stringify(imported)}`)
    const moved = await record('moveItems', 200, {
      method: 'POST',
      url: `${mbx}/items:move`,
      body: { ids: [imported.results[0].itemId], folderId: folder.id }
    })
    if (moved.failed !== 0) throw new Error(`move example failed: ${JSON.stringify(moved)}`)
    const deleted = await record('deleteItems', 200, {
      method: 'POST',
      url: `${mbx}/items:delete`,
      body: { ids: [moved.results[0].newId, item.id], mode: 'soft' }
    })
    if (deleted.failed !== 0) throw new Error(`delete example failed: ${JSON.stringify(deleted)}`)
    // One item from a property set, created in the folder and read back as one (its MIME forms are bytes, not
    // JSON examples). A message: an appointment would get a random new UID, and the example would change every run.
    const created = await record('createItem', 201, {
      method: 'POST',
      url: `${folderUrl}/items`,
      body: {
        kind: 'message',
        subject: 'Invoice 1043',
        body: { text: 'Invoice 1043 is attached; due 2026-07-31.' },
        importance: 'normal',
        from: { name: 'Contoso Billing', address: `billing@${DEMO_DOMAIN}` },
        toRecipients: [{ name: 'Alice', address: DEMO_MAILBOXES.alice.smtp }],
        isRead: false
      }
    })
    await record('getItem', 200, {
      method: 'GET', url: `${mbx}/items/${created.itemId as string}`, headers: { accept: 'application/json' }
    })
    await record('deleteFolder', 204, { method: 'DELETE', url: folderUrl })

    // Copy jobs: alice's Inbox/Projects subtree (EWS) into carol's mailbox (Graph).
    const below = await call(200, { method: 'GET', url: `${mbx}/folders?parentId=inbox` })
    const projects = (below.folders as Array<{ id: string, displayName: string }>)
      .find((f) => f.displayName === 'Projects')?.id as string
    const job = await record('createJob', 202, {
      method: 'POST',
      url: '/jobs',
      body: {
        source: { mailbox: DEMO_MAILBOXES.alice.smtp, folder: projects, subtree: true },
        target: { mailbox: DEMO_MAILBOXES.carol.smtp }
      }
    })
    const jobUrl = `/jobs/${job.id as string}`
    await record('listJobs', 200, { method: 'GET', url: '/jobs?pageSize=10' })
    await record('pauseJob', 200, { method: 'POST', url: `${jobUrl}:pause` })
    await record('resumeJob', 200, { method: 'POST', url: `${jobUrl}:resume` })
    const runner = new JobRunner({
      jobs: jobStore,
      ledger,
      service: app.mailboxService,
      rules: { crossBackendImport: 'allow' },
      stop: new AbortController().signal,
      now: clock,
      owner: 'examples',
      pollMs: 10
    })
    runner.start()
    for (let state = ''; state !== 'completed';) {
      state = (await call(200, { method: 'GET', url: jobUrl })).state as string
      if (state === 'failed') throw new Error('the example copy job failed')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await record('verifyJob', 202, { method: 'POST', url: `${jobUrl}:verify` })
    for (let view: Record<string, unknown> = {}; view.state !== 'completed' || view.verification === undefined;) {
      view = await call(200, { method: 'GET', url: jobUrl })
      if (view.state === 'failed') throw new Error('the example verification failed')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await runner.close()
    await record('getJob', 200, { method: 'GET', url: jobUrl })
    await record('runJob', 200, { method: 'POST', url: `${jobUrl}:run` })
    await record('cancelJob', 200, { method: 'POST', url: `${jobUrl}:cancel` })
  } finally {
    await app.close()
    await sims.close()
  }
  return examples
}

/** The examples file as committed: two-space JSON with a final newline. */
export function formatExamples (examples: OperationExamples): string {
  return `${JSON.stringify(examples, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(EXAMPLES_PATH, formatExamples(await captureExamples()))
  console.log(`wrote ${EXAMPLES_PATH}`)
}
