/**
 * The gateway configured as a new user would: `npm run sim` as a child process, the
 * MBG_CONFIG it prints, the gateway (`npm start`) as another child process with it.
 * As printed, list/export/import work on both backends and /health/ready says ready.
 * With a setting left out, the gateway says which: readiness fails with
 * MBG_ERR_BACKEND_MISCONFIGURED per backend, calls answer with it, GET /mailboxes marks
 * the mailboxes it could not discover, and the start log names the setting once.
 */
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { persist } from '../helpers/logs.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** Generous: spawned processes on a busy 2-core machine (no timing is asserted). */
const STARTUP_MS = 90_000

/** The environment without anything that would configure the gateway or the simulators. */
function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (/^(MBG_|SIM_|PORT$|HOST$|LOG_LEVEL$|STATE_STORE$)/.test(key)) delete env[key]
  return { ...env, ...extra }
}

/** Starts a child, collects its output lines (into the suite-wide secret scan too), kills it at teardown. */
interface Started { child: ChildProcess, lines: string[], exited: Promise<number | null> }

function start (t: Test, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited } })
  const lines: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    stream?.on('data', (c: Buffer) => {
      const parts = (rest + c.toString()).split('\n')
      rest = parts.pop() ?? ''
      lines.push(...parts)
    })
  }
  return { child, lines, exited }
}

async function waitFor<T> (what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + STARTUP_MS
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(50)
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => { resolve(port) })
    })
  })
}

interface SimInfo {
  ews: { url: string }
  identity: { authority: string }
  graph: { url: string, importOrigin: string }
  caFile: string
  configFile: string
  /** The demo client's API key in `gatewayConfig`. */
  apiKey: string
  gatewayConfig: {
    backends: Record<string, { type: string, tls?: { caFile: string }, allowedImportHosts?: string[] }>
    mailboxes: Array<{ address: string, backend: string }>
  }
}

/** An answer, its JSON body typed loosely for assertions. */
interface Answer { status: number, body: any }

interface Gateway {
  url: string
  lines: string[]
  call: (method: string, path: string, body?: unknown) => Promise<Answer>
}

/** `npm start` with MBG_CONFIG set to `config`; resolves once it listens. */
async function startGateway (t: Test, config: unknown, apiKey: string): Promise<Gateway> {
  // State in memory: the default SQLite file would land under data/ in the working copy.
  const env = cleanEnv({ MBG_CONFIG: JSON.stringify(config), PORT: '0', LOG_LEVEL: 'info', STATE_STORE: 'memory' })
  const { lines } = start(t, ['src/server.ts'], env)
  t.teardown(() => { persist(lines) })
  const url = await waitFor('the gateway to listen', () => {
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { msg?: string, gateway?: string }
        if (entry.msg === 'mailbox-gateway listening' && entry.gateway !== undefined) return entry.gateway
      } catch {}
    }
    return undefined
  })
  const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await request(`${url}${path}`, {
      method: method as 'GET',
      headers: { 'x-api-key': apiKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.body.text()
    return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text) }
  }
  return { url, lines, call }
}

/** /health/ready once no backend's check is still running. */
async function settledReadiness (gw: Gateway): Promise<Answer> {
  return await waitFor('the start-up checks', async () => {
    const res = await gw.call('GET', '/health/ready')
    const backends = Object.values<{ state: string }>(res.body.backends ?? {})
    return backends.length > 0 && backends.every((b) => b.state !== 'unknown') ? res : undefined
  })
}

type SimPorts = Record<'ews' | 'identity' | 'graph' | 'graphImport', number>

/**
 * `npm run sim` on four ports found free. Another test may take one between the probe and the bind: then the
 * simulators exit (EADDRINUSE) and are started again on new ports, at most three times.
 */
async function startSimulators (): Promise<{ ports: SimPorts, sim: Started, info: SimInfo }> {
  for (let attempt = 1; ; attempt++) {
    const ports = {
      ews: await freePort(), identity: await freePort(), graph: await freePort(), graphImport: await freePort()
    }
    const sim = start(t, ['src/cli/simulators.ts', '--ews-port', String(ports.ews), `--graph-port=${ports.graph}`],
      cleanEnv({ SIM_IDENTITY_PORT: String(ports.identity), SIM_GRAPH_IMPORT_PORT: String(ports.graphImport) }))
    // The first line that is the printed configuration: a warning Node or a library writes may come first.
    const info = await waitFor('the simulators', () => {
      if (sim.child.exitCode !== null) return null
      for (const line of sim.lines) {
        try {
          const parsed = JSON.parse(line) as Partial<SimInfo>
          if (parsed.ews !== undefined && parsed.gatewayConfig !== undefined) return parsed as SimInfo
        } catch {}
      }
      return undefined
    })
    if (info !== null) return { ports, sim, info }
    if (attempt === 3 || !sim.lines.some((l) => l.includes('EADDRINUSE'))) {
      throw new Error(`the simulators exited ${sim.child.exitCode}:\n${sim.lines.join('\n')}`)
    }
  }
}

const { ports, sim, info } = await startSimulators()
const mailbox = (backend: string): string =>
  info.gatewayConfig.mailboxes.find((m) => m.backend === backend)?.address ?? ''
const graphBackend = Object.entries(info.gatewayConfig.backends).find(([, b]) => b.type === 'graph')?.[0] ?? ''
const ewsBackend = Object.entries(info.gatewayConfig.backends).find(([, b]) => b.type === 'ews')?.[0] ?? ''

t.test('`npm run sim` takes fixed ports and prints a configuration with the CA file', async (t) => {
  t.match(info.ews.url, `:${ports.ews}/`)
  t.match(info.identity.authority, `:${ports.identity}/`)
  t.match(info.graph.url, new RegExp(`:${ports.graph}$`))
  t.match(info.graph.importOrigin, new RegExp(`:${ports.graphImport}$`))
  t.match(readFileSync(info.caFile, 'utf8'), /-----BEGIN CERTIFICATE-----/)
  t.same(JSON.parse(readFileSync(info.configFile, 'utf8')), info.gatewayConfig, 'the config file holds the document')
  for (const [name, b] of Object.entries(info.gatewayConfig.backends)) {
    t.equal(b.tls?.caFile, info.caFile, `${name} trusts the CA file`)
  }
  t.same(info.gatewayConfig.backends[graphBackend].allowedImportHosts, [new URL(info.graph.importOrigin).host])
})

t.test('the printed configuration works as MBG_CONFIG: ready, list, export and import on both backends', async (t) => {
  const gw = await startGateway(t, info.gatewayConfig, info.apiKey)
  const ready = await settledReadiness(gw)
  t.equal(ready.status, 200, JSON.stringify(ready.body))
  t.match(ready.body, {
    status: 'ready', mode: 'configured', backends: { [ewsBackend]: { state: 'ok' }, [graphBackend]: { state: 'ok' } }
  })

  const list = await gw.call('GET', '/mailboxes')
  t.equal(list.status, 200)
  const listed = list.body.mailboxes as Array<{ address: string, kind: string, discovery?: unknown }>
  t.equal(listed.filter((m) => m.discovery !== undefined).length, 0, 'every mailbox discovered')
  t.ok(listed.some((m) => m.kind === 'archive' && m.address === mailbox(graphBackend)), 'the Graph archive is listed')
  t.ok(listed.some((m) => m.kind === 'archive' && m.address === mailbox(ewsBackend)), 'the EWS archive is listed')

  for (const backend of [ewsBackend, graphBackend]) {
    const mbx = `/mailboxes/${encodeURIComponent(mailbox(backend))}`
    const items = await gw.call('GET', `${mbx}/folders/inbox/items?pageSize=2`)
    t.equal(items.status, 200, `${backend}: list items`)
    const ids = (items.body.items as Array<{ id: string }>).map((i) => i.id)
    const exported = await gw.call('POST', `${mbx}/items:export`, { itemIds: ids })
    t.match(exported, { status: 200, body: { succeeded: ids.length, failed: 0 } }, `${backend}: export`)
    const results = exported.body.results as Array<{ data: string, source: string }>
    const data = results.map(({ data, source }) => ({ folderId: 'inbox', mode: 'create', data, source }))
    const imported = await gw.call('POST', `${mbx}/items:import`, { items: data })
    t.match(imported, { status: 200, body: { succeeded: ids.length, failed: 0 } },
      `${backend}: import ${JSON.stringify(imported.body).slice(0, 300)}`)
  }
  t.equal((await settledReadiness(gw)).status, 200, 'still ready')
})

t.test('the CA left out: readiness, calls and the listing name tls.caFile', async (t) => {
  const config = structuredClone(info.gatewayConfig)
  for (const b of Object.values(config.backends)) delete b.tls
  const gw = await startGateway(t, config, info.apiKey)
  const ready = await settledReadiness(gw)
  t.equal(ready.status, 503)
  t.match(ready.body, { code: 'MBG_ERR_NOT_READY', status: 503 })
  const setting = `backends.${graphBackend}.tls.caFile`
  t.match(ready.body.backends[graphBackend], {
    state: 'failing', code: 'MBG_ERR_BACKEND_MISCONFIGURED', source: 'check'
  })
  t.ok(ready.body.backends[graphBackend].detail.includes(setting), `the detail names ${setting}`)
  t.match(ready.body.backends[ewsBackend], { state: 'ok' }, 'the plain-HTTP EWS simulator needs no CA')
  t.ok(ready.body.detail.includes(setting))

  const live = await gw.call('GET', '/health/live')
  t.equal(live.status, 200, 'still alive')
  const res = await gw.call('GET', `/mailboxes/${encodeURIComponent(mailbox(graphBackend))}/folders/inbox`)
  t.equal(res.status, 502)
  t.match(res.body, { code: 'MBG_ERR_BACKEND_MISCONFIGURED', upstreamCode: /CERT/ })
  t.ok(res.body.detail.includes(setting))

  const list = await gw.call('GET', '/mailboxes')
  t.equal(list.status, 200)
  interface Listed { address: string, backend: string, kind: string, discovery?: { state: string, code: string } }
  const listed = list.body.mailboxes as Listed[]
  for (const m of listed.filter((m) => m.backend === graphBackend)) {
    const marked = { kind: 'primary', discovery: { state: 'failed', code: 'MBG_ERR_BACKEND_MISCONFIGURED' } }
    t.match(m, marked, `${m.address} is marked`)
  }
  t.notOk(listed.some((m) => m.backend === ewsBackend && m.discovery !== undefined), 'EWS mailboxes discovered')

  const logged = gw.lines.filter((l) => l.includes('failed its check'))
  t.equal(logged.length, 1, 'the failed check is logged once')
  t.ok(logged[0]?.includes(setting) && logged[0].includes('"level":50'), 'at error level, naming the setting')
})

t.test('the import host left out: imports and then readiness name allowedImportHosts', async (t) => {
  const config = structuredClone(info.gatewayConfig)
  delete config.backends[graphBackend].allowedImportHosts
  const gw = await startGateway(t, config, info.apiKey)
  t.equal((await settledReadiness(gw)).status, 200, 'no check can see the import host: ready at first')
  const mbx = `/mailboxes/${encodeURIComponent(mailbox(graphBackend))}`
  const items = await gw.call('GET', `${mbx}/folders/inbox/items?pageSize=1`)
  const exported = await gw.call('POST', `${mbx}/items:export`, { itemIds: [items.body.items[0].id] })
  const { data, source } = exported.body.results[0]
  const items2 = [{ folderId: 'inbox', mode: 'create', data, source }]
  const imported = await gw.call('POST', `${mbx}/items:import`, { items: items2 })
  t.equal(imported.status, 200)
  t.match(imported.body, { failed: 1, results: [{ error: { code: 'MBG_ERR_BACKEND_MISCONFIGURED', status: 502 } }] })
  const setting = `backends.${graphBackend}.allowedImportHosts`
  t.ok(imported.body.results[0].error.message.includes(setting), `the item error names ${setting}`)
  t.notMatch(imported.body.results[0].error.message, /authtoken/i, 'the import URL is not in the message')
  const ready = await gw.call('GET', '/health/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.backends[graphBackend], {
    state: 'failing', source: 'call', code: 'MBG_ERR_BACKEND_MISCONFIGURED'
  })
})

t.test('the simulators stop cleanly and remove their files', async (t) => {
  sim.child.kill('SIGTERM')
  t.equal(await sim.exited, 0)
  t.notOk(existsSync(info.configFile))
  t.notOk(existsSync(info.caFile))
})
