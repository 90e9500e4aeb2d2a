/**
 * Gateway vs exchangelib (an independent Python EWS client): the same EWS export and import of BENCH_EXCHANGELIB_ITEMS
 * (100) items of BENCH_ITEM_BYTES (14,000) bytes, against the same simulator process, items/s.
 *
 * exchangelib runs in its own long-lived process (bench/exchangelib_driver.py, by Debian's /usr/bin/python3 with
 * python3-exchangelib, as .ci/run installs it and test/simulators/exchangelib.test.ts uses it; BENCH_PYTHON
 * overrides), started and set up (Account with a pinned server version, no autodiscover) before anything is timed;
 * only its library call is timed. Each side makes its best bulk call for the whole set:
 *  - export: exchangelib `account.export(ids)` (ExportItems, its default chunk of 100 ids: one request); the gateway
 *    one `POST /mailboxes/{m}/items:export` of the 100 ids (MAX_BATCH_ITEMS), which it sends as ExportItems calls cut
 *    by its batch limits (`exportBatchSize`), in parallel;
 *  - import: exchangelib `account.upload()` of the exported data into a new folder (UploadItems CreateNew, one
 *    request of 100 items); the gateway one `POST /mailboxes/{m}/items:import` of the same data into another new
 *    folder, which it sends as UploadItems calls cut by its batch limits (`uploadBatchSize`), in parallel.
 * Both sides move the same bytes: exchangelib's exported data is checked (SHA-256) against the data the gateway
 * imports. Samples alternate which side goes first, after the warm-up. Without exchangelib importable by the
 * interpreter, the figures say so and carry no number.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cpuMs } from '../processes.js'
import { figure, measure, perSample, setting, skipped, timeDirect, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure, type Goal } from '../results.js'
import { seed } from './throughput.js'

const GOAL: Goal = { text: '≥ 5× exchangelib', metric: 'ratio', op: '>=', value: 5 }
/** The interpreter that has python3-exchangelib (Debian's), not whatever `python3` is first on PATH. */
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3'

/** The driver process: one JSON command a line in, one JSON answer a line out. */
class Driver {
  private readonly lines: AsyncIterator<string>
  private constructor (private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  }

  static async start (args: string[]): Promise<{ driver: Driver, version: string }> {
    const script = fileURLToPath(new URL('../exchangelib_driver.py', import.meta.url))
    // Loopback must not go through a proxy configured for the machine.
    const env = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }
    const child = spawn(PYTHON, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000) })
    const driver = new Driver(child)
    const first = await driver.lines.next()
    if (first.done === true) throw new Error(`exchangelib driver ended: ${stderr}`)
    const ready = JSON.parse(first.value) as { version: string }
    return { driver, version: ready.version }
  }

  async ask<T> (req: Record<string, unknown>): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`)
    const next = await this.lines.next()
    if (next.done === true) throw new Error('exchangelib driver ended')
    const answer = JSON.parse(next.value) as T & { error?: string }
    if (answer.error !== undefined) throw new Error(`exchangelib: ${answer.error}`)
    return answer
  }

  async stop (): Promise<void> {
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`)
    if (this.child.exitCode !== null) return
    await new Promise((resolve) => { this.child.once('exit', resolve) })
  }
}

export async function exchangelib (bench: Bench): Promise<Figure[]> {
  const count = setting('BENCH_EXCHANGELIB_ITEMS', 100)
  const size = setting('BENCH_ITEM_BYTES', 14_000)
  const exportName = `EWS export of ${count} items, gateway vs exchangelib`
  const importName = `EWS import of ${count} items, gateway vs exchangelib`
  if (spawnSync(PYTHON, ['-c', 'import exchangelib'], { stdio: 'ignore' }).status !== 0) {
    const why = `skipped: exchangelib not importable by ${PYTHON} (Debian: python3-exchangelib)`
    bench.log(`${why}: its figures are skipped`)
    return [
      skipped('exchangelib-export', exportName, 'items/s', why, GOAL),
      skipped('exchangelib-import', importName, 'items/s', why, GOAL)
    ]
  }
  const alice = 'alice@contoso.example'
  const source = await seed(bench, alice, 'Exchangelib items', count, size)
  const { username, password } = bench.sims.credentials.ews
  const { driver, version } = await Driver.start([bench.sims.ews, username, password, alice])
  bench.log(`exchangelib ${version} vs gateway: ${count} items of ${size} bytes`)
  const gatewayIds = source.items.map((i) => i.gateway)
  const directIds = source.items.map((i) => i.direct)
  // The data both sides import: the simulator's export of the same items, as exchangelib reads it.
  const data = await bench.ews.exportItems(alice, directIds)
  const sha = createHash('sha256').update(data.join('\n')).digest('hex')
  let scratch = 0
  const newFolder = async (): Promise<{ store: string, direct: string, gateway: string }> =>
    (await seed(bench, alice, `Exchangelib import ${++scratch}`, 0, 0)).folder
  const drop = async (folder: { store: string }): Promise<void> => {
    await bench.sim.ask({ cmd: 'drop', folder: folder.store })
  }

  const ours = { export: [] as Sample[], import: [] as Sample[] }
  const theirs = { export: [] as number[], import: [] as number[] }
  // Simulator CPU during exchangelib's calls, and the same requests sent straight (one SOAP call, no client library):
  // what the server side costs, the floor of any client.
  const theirSim = { export: [] as number[], import: [] as number[] }
  const direct = { export: [] as number[], import: [] as number[] }
  try {
    for (let i = 0; i < bench.warmup + bench.reps; i++) {
      const keep = i >= bench.warmup
      const sides = i % 2 === 0 ? ['gateway', 'exchangelib'] as const : ['exchangelib', 'gateway'] as const
      for (const side of sides) {
        if (side === 'exchangelib') {
          const sim0 = cpuMs(bench.sim.pid)
          const ex = await driver.ask<{ ms: number, count: number, sha256: string }>({ cmd: 'export', ids: directIds })
          const simExport = cpuMs(bench.sim.pid) - sim0
          if (ex.count !== count || ex.sha256 !== sha) {
            throw new Error(`exchangelib exported ${ex.count} items, not the data the gateway imports`)
          }
          const folder = await newFolder()
          const sim1 = cpuMs(bench.sim.pid)
          const up = await driver.ask<{ ms: number, count: number }>({ cmd: 'upload', folder: folder.direct })
          const simImport = cpuMs(bench.sim.pid) - sim1
          await drop(folder)
          if (up.count !== count) throw new Error(`exchangelib uploaded ${up.count} of ${count} items`)
          const floor = await newFolder()
          const dx = await timeDirect(bench, async () => { await bench.ews.exportItems(alice, directIds) })
          const du = await timeDirect(bench, async () => { await bench.ews.uploadItems(alice, floor.direct, data) })
          await drop(floor)
          if (keep) {
            theirs.export.push(ex.ms)
            theirs.import.push(up.ms)
            theirSim.export.push(simExport)
            theirSim.import.push(simImport)
            direct.export.push(dx.ms)
            direct.import.push(du.ms)
          }
        } else {
          const ex = await measure(bench, async () => {
            const r = await bench.gateway.json('POST', `/mailboxes/${alice}/items:export`, { itemIds: gatewayIds })
            if (r.succeeded !== count) throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
          })
          const folder = await newFolder()
          const items = data.map((d) => ({ folderId: folder.gateway, mode: 'create', data: d }))
          const body = JSON.stringify({ items })
          const im = await measure(bench, async () => {
            const r = await bench.gateway.json('POST', `/mailboxes/${alice}/items:import`, body)
            if (r.succeeded !== count) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`)
          })
          await drop(folder)
          if (keep) { ours.export.push(ex); ours.import.push(im) }
        }
      }
    }
  } finally {
    await driver.stop()
    await drop(source.folder)
  }
  const rate = (ms: number): number => count / ms * 1000
  const notes = (what: 'export' | 'import'): Record<string, string | number> => ({
    exchangelib: what === 'export'
      ? `${version}, account.export() of the ${count} ids: ExportItems, one request (its chunk is 100)`
      : `${version}, account.upload() of the ${count} items: UploadItems CreateNew, one request (its chunk is 100)`,
    gateway: what === 'export'
      ? `one POST items:export of the ${count} ids: ExportItems calls cut by its batch limits, in parallel`
      : `one POST items:import of the same ${count} items: UploadItems calls cut by its batch limits, in parallel`,
    timed: 'the call only: exchangelib in a process started and set up before; same simulator process',
    simulatorCpuMsGateway: summarize(ours[what].map((s) => s.simCpuMs)).median,
    simulatorCpuMsExchangelib: summarize(theirSim[what]).median,
    directOneCallItemsPerSec: summarize(direct[what].map(rate)).median
  })
  return [
    figure({
      id: 'exchangelib-export',
      figure: exportName,
      unit: 'items/s',
      gateway: summarize(ours.export.map((s) => rate(s.ms))),
      other: summarize(theirs.export.map(rate)),
      versus: 'exchangelib',
      goal: GOAL,
      ...perSample(ours.export),
      notes: notes('export')
    }),
    figure({
      id: 'exchangelib-import',
      figure: importName,
      unit: 'items/s',
      gateway: summarize(ours.import.map((s) => rate(s.ms))),
      other: summarize(theirs.import.map(rate)),
      versus: 'exchangelib',
      goal: GOAL,
      ...perSample(ours.import),
      notes: notes('import')
    })
  ]
}
