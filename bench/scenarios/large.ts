/**
 * Large items, one at a time through the gateway: peak gateway RSS above its baseline (as a multiple of the item
 * size) and the longest event-loop stall, for export and import on each backend; and a 100 MB import into an EWS
 * mailbox, which the EWS backend cannot take: how long until it is refused, and what reading it cost.
 *
 * Sizes follow the documented per-backend limits (`limits.import.maxItemBytes`): EWS imports at most what fits in
 * 25 MB of base64 (19,660,800 bytes, src/config.ts EWS_MAX_ITEM_BYTES), so its import sample is a 19 MB item;
 * Graph takes up to 112.5 MB (the default derived from Outlook's upload budget), so Graph also runs 100 MB. An
 * export answer carries at most MAX_EXPORT_ANSWER_BYTES (64 MiB) of base64, so 100 MB is exported through the
 * streaming folder export (NDJSON), the route README "API tour" gives for large items.
 *
 * Each sample runs in a gateway process of its own (`startGateway`, warmed up with a small export and import), as
 * test/app/large-items.test.ts does: memory a process freed stays resident for its next allocations, so one
 * sample's garbage would make the next look free (or the one before it costly).
 */
import { connect } from 'node:net'
import { MB, figure, measure, setting, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure } from '../results.js'
import type { GatewayClient, SimSet } from '../clients.js'
import type { IpcChild } from '../processes.js'
import { seed } from './throughput.js'

/** Starts a gateway process of its own against `sims` (bench/run.ts). */
export type StartGateway = (name: string, sims: SimSet) => Promise<{ process: IpcChild, client: GatewayClient }>

const EWS_IMPORT_BYTES = 19_000_000

/** Peak RSS ÷ item size and event-loop stall figures of one operation's samples. */
function memoryFigures (id: string, name: string, itemBytes: number, samples: Sample[], notes = {}): Figure[] {
  return [
    figure({
      id: `${id}-rss`,
      figure: `${name}: peak gateway RSS above baseline ÷ item size`,
      unit: '× item',
      gateway: summarize(samples.map((s) => s.peakAboveBytes / itemBytes)),
      goal: { text: '≤ 1.5×', metric: 'gateway', op: '<=', value: 1.5 },
      gatewayCpuMs: summarize(samples.map((s) => s.cpuMs)),
      gatewayPeakRssMB: summarize(samples.map((s) => s.peakAboveBytes / MB)),
      notes: {
        itemMB: Math.round(itemBytes / MB * 10) / 10,
        seconds: summarize(samples.map((s) => s.ms / 1000)).median,
        ...notes
      }
    }),
    figure({
      id: `${id}-stall`,
      figure: `${name}: longest event-loop stall`,
      unit: 'ms',
      gateway: summarize(samples.map((s) => s.loopMaxMs)),
      goal: { text: '≤ 100 ms', metric: 'gateway', op: '<=', value: 100 }
    })
  ]
}

interface Around { before?: () => Promise<void>, after?: () => Promise<void> }

/**
 * `reps` samples of `fn`, each in a fresh gateway process (`fresh`: the Bench of that process) warmed up first
 * (`warm`); `around` runs before and after each sample, outside the measurement.
 */
async function samples (bench: Bench, reps: number, fn: (b: Bench) => Promise<void>,
  around: Around = {}, fresh?: (run: (b: Bench) => Promise<void>) => Promise<void>): Promise<Sample[]> {
  const out: Sample[] = []
  for (let i = 0; i < reps; i++) {
    await around.before?.()
    const sample = async (b: Bench): Promise<void> => {
      out.push(await measure(b, async () => { await fn(b) }, { settle: true }))
    }
    if (fresh !== undefined) await fresh(sample)
    else await sample(bench)
    await around.after?.()
  }
  return out
}

/** Reads an NDJSON export to its end; returns the item lines' count, failing on an error line or no summary. */
async function streamFolder (bench: Bench, mailbox: string, folderId: string): Promise<number> {
  const { status, text } = await bench.gateway.call('POST',
    `/mailboxes/${mailbox}/folders/${folderId}/items:export`, {})
  if (status !== 200) throw new Error(`folder export: ${status} ${text.slice(0, 300)}`)
  let items = 0
  let summary = false
  for (const line of text.split('\n')) {
    if (line.startsWith('{"type":"item"')) items++
    else if (line.startsWith('{"type":"summary"')) summary = true
    else if (line.startsWith('{"type":"error"')) throw new Error(`folder export: ${line.slice(0, 300)}`)
  }
  if (!summary) throw new Error('folder export: no summary line')
  return items
}

export async function large (bench: Bench, startGateway: StartGateway): Promise<Figure[]> {
  const reps = setting('BENCH_LARGE_REPS', bench.reps)
  const bigBytes = setting('BENCH_LARGE_BYTES', 25_000_000)
  const hugeBytes = setting('BENCH_HUGE_BYTES', 100_000_000)
  const figures: Figure[] = []
  let scratch = 0
  // A fresh gateway process per sample, warmed up on `mailbox` with a small export and import.
  const warmups = new Map<string, { folder: { store: string, gateway: string }, item: string }>()
  const freshOn = (mailbox: string) => async (run: (b: Bench) => Promise<void>): Promise<void> => {
    let warm = warmups.get(mailbox)
    if (warm === undefined) {
      const small = await seed(bench, mailbox, 'Large warm-up', 1, 2000)
      warm = { folder: small.folder, item: small.items[0].gateway }
      warmups.set(mailbox, warm)
    }
    const gw = await startGateway('gateway-large', bench.sims)
    try {
      const b: Bench = { ...bench, gateway: gw.client, gatewayProcess: gw.process }
      const r = await b.gateway.json('POST', `/mailboxes/${mailbox}/items:export`, { itemIds: [warm.item] })
      const data = (r.results as Array<{ data?: string }>)[0]?.data
      if (data === undefined) throw new Error(`warm-up export: ${JSON.stringify(r).slice(0, 300)}`)
      await b.gateway.json('POST', `/mailboxes/${mailbox}/items:import`,
        { items: [{ folderId: warm.folder.gateway, mode: 'create', data }] })
      await run(b)
    } finally {
      await gw.process.stop()
      await gw.client.close()
    }
  }
  const importInto = (mailbox: string, data: string, itemBytes: number):
  Around & { run: (b: Bench) => Promise<void> } => {
    let folder: { store: string, gateway: string } | undefined
    return {
      before: async () => { folder = (await seed(bench, mailbox, `Large import ${++scratch}`, 0, 0)).folder },
      after: async () => { await bench.sim.ask({ cmd: 'drop', folder: folder?.store }) },
      run: async (b) => {
        const r = await b.gateway.json('POST', `/mailboxes/${mailbox}/items:import`,
          { items: [{ folderId: folder?.gateway, mode: 'create', data }] })
        if (r.succeeded !== 1) throw new Error(`import of ${itemBytes} bytes: ${JSON.stringify(r).slice(0, 300)}`)
      }
    }
  }

  // EWS: export a 25 MB item, import a 19 MB one.
  const alice = 'alice@contoso.example'
  const ewsBig = await seed(bench, alice, 'Large export', 1, bigBytes)
  bench.log(`EWS ${(ewsBig.bytes / MB).toFixed(1)} MB export`)
  figures.push(...memoryFigures('ews-export-25mb', `EWS export of one ${Math.round(ewsBig.bytes / MB)} MB item`,
    ewsBig.bytes, await samples(bench, reps, async (b) => {
      const r = await b.gateway.json('POST', `/mailboxes/${alice}/items:export`,
        { itemIds: [ewsBig.items[0].gateway] })
      if (r.succeeded !== 1) throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
    }, {}, freshOn(alice))))
  const ewsSmaller = await seed(bench, alice, 'Large import source', 1, EWS_IMPORT_BYTES)
  const [ewsData] = await bench.ews.exportItems(alice, [ewsSmaller.items[0].direct])
  bench.log(`EWS ${(ewsSmaller.bytes / MB).toFixed(1)} MB import`)
  const ewsImport = importInto(alice, ewsData, ewsSmaller.bytes)
  figures.push(...memoryFigures('ews-import-19mb', `EWS import of one ${Math.round(ewsSmaller.bytes / MB)} MB item ` +
    '(the EWS limit is 19.66 MB)', ewsSmaller.bytes,
  await samples(bench, reps, ewsImport.run, ewsImport, freshOn(alice))))

  // Graph: 25 MB export and import through the batch routes.
  const carol = 'carol@contoso.example'
  const graphBig = await seed(bench, carol, 'Large export', 1, bigBytes)
  bench.log(`Graph ${(graphBig.bytes / MB).toFixed(1)} MB export and import`)
  figures.push(...memoryFigures('graph-export-25mb', `Graph export of one ${Math.round(graphBig.bytes / MB)} MB item`,
    graphBig.bytes, await samples(bench, reps, async (b) => {
      const r = await b.gateway.json('POST', `/mailboxes/${carol}/items:export`,
        { itemIds: [graphBig.items[0].gateway] })
      if (r.succeeded !== 1) throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
    }, {}, freshOn(carol))))
  const [graphData] = await bench.graph.exportItems(graphBig.graphMailbox, [graphBig.items[0].direct])
  const graphImport = importInto(carol, graphData, graphBig.bytes)
  figures.push(...memoryFigures('graph-import-25mb', `Graph import of one ${Math.round(graphBig.bytes / MB)} MB item`,
    graphBig.bytes, await samples(bench, reps, graphImport.run, graphImport, freshOn(carol))))

  // Graph 100 MB: streamed export of a folder holding it, then its import. One sample each by default (each moves
  // 133 MB of base64 twice, tens of seconds on a loaded 2-core machine), after the 25 MB ones warmed the paths.
  const hugeReps = setting('BENCH_HUGE_REPS', 1)
  if (hugeReps > 0) {
    const huge = await seed(bench, carol, 'Huge export', 1, hugeBytes)
    bench.log(`Graph ${(huge.bytes / MB).toFixed(1)} MB streamed export and import (${hugeReps} samples)`)
    figures.push(...memoryFigures('graph-export-100mb',
      `Graph streamed export of one ${Math.round(huge.bytes / MB)} MB item`, huge.bytes,
      await samples(bench, hugeReps, async (b) => {
        if (await streamFolder(b, carol, huge.folder.gateway) !== 1) throw new Error('100 MB item not exported')
      }, {}, freshOn(carol))))
    const [hugeData] = await bench.graph.exportItems(huge.graphMailbox, [huge.items[0].direct])
    const hugeImport = importInto(carol, hugeData, huge.bytes)
    figures.push(...memoryFigures('graph-import-100mb', `Graph import of one ${Math.round(huge.bytes / MB)} MB item`,
      huge.bytes, await samples(bench, hugeReps, hugeImport.run, hugeImport, freshOn(carol))))

    // The same 100 MB stream into an EWS mailbox: refused (413), since EWS takes at most 19.66 MB.
    bench.log('100 MB EWS import (refused)')
    let folder: { store: string, gateway: string } | undefined
    const statuses: string[] = []
    // Timed on a raw socket from the request head (which states the body's Content-Length) to the status line,
    // with none of the body sent: the gateway must refuse on the head alone, before reading any of it. (Timing a
    // whole client request would time the client writing 133 MB into the socket, not the gateway.)
    let bodyBytes = 0
    const refused = await samples(bench, hugeReps, async (b) => {
      const path = `/mailboxes/${alice}/items:import`
      const { status, text } = await refusalOnHead(b.gateway, path, bodyBytes)
      type Answer = { results: Array<{ error?: { status?: number } }> }
      const perItem = status === 200 ? (JSON.parse(text) as Answer).results[0]?.error?.status : undefined
      const seen = perItem !== undefined ? `200, item ${perItem}` : String(status)
      if (status !== 413 && perItem !== 413) throw new Error(`100 MB EWS import not refused with 413: ${seen}`)
      statuses.push(seen)
    }, {
      before: async () => {
        folder = (await seed(bench, alice, `Refused ${++scratch}`, 0, 0)).folder
        const shell = JSON.stringify({ items: [{ folderId: folder.gateway, mode: 'create', data: '' }] })
        bodyBytes = Buffer.byteLength(shell) + hugeData.length
      },
      after: async () => { await bench.sim.ask({ cmd: 'drop', folder: folder?.store }) }
    }, freshOn(alice))
    figures.push(figure({
      id: 'ews-import-100mb-refused',
      figure: `EWS import of one ${Math.round(huge.bytes / MB)} MB item: time until refused (413)`,
      unit: 'ms',
      gateway: summarize(refused.map((s) => s.ms)),
      goal: { text: 'refused before the body is read (≤ 100 ms)', metric: 'gateway', op: '<=', value: 100 },
      gatewayCpuMs: summarize(refused.map((s) => s.cpuMs)),
      gatewayPeakRssMB: summarize(refused.map((s) => s.peakAboveBytes / MB)),
      notes: { answer: statuses[0] ?? '', requestBodyMB: Math.round(bodyBytes / MB), bodySent: 'none' }
    }))
    await bench.sim.ask({ cmd: 'drop', folder: huge.folder.store })
  }
  for (const f of [ewsBig, ewsSmaller, graphBig]) await bench.sim.ask({ cmd: 'drop', folder: f.folder.store })
  for (const w of warmups.values()) await bench.sim.ask({ cmd: 'drop', folder: w.folder.store })
  return figures
}

/**
 * Sends only the head of a POST to `path` (JSON, `contentLength` bytes announced, none sent) and reads the answer
 * the gateway gives before any of the body arrives: its status and text. Rejects when the gateway waits for the body
 * (no answer within 60 s) instead of refusing on the head.
 */
async function refusalOnHead (gateway: GatewayClient, path: string, contentLength: number):
Promise<{ status: number, text: string }> {
  const url = new URL(gateway.base)
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer to the head of a ${contentLength}-byte request within 60 s`))
    }, 60_000)
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      const answer = Buffer.concat(chunks).toString('utf8')
      const [head, ...rest] = answer.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), text: rest.join('\r\n\r\n') })
    }
    socket.on('data', (d: Buffer) => {
      chunks.push(d)
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end === -1) return
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0)
      if (text.length - end - 4 >= length) finish()
    })
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nx-api-key: ${gateway.apiKey}\r\n` +
      `content-type: application/json\r\ncontent-length: ${contentLength}\r\n\r\n`)
  })
}
