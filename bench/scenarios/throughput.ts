/**
 * Batch export and import of BENCH_ITEMS items (default 1,000 of about 14 KB) at concurrency 4, through the gateway
 * and straight to the same simulator, interleaved sample by sample (the order alternates), on each backend.
 *
 * Both sides send the same batches, so each gateway request maps to one backend call of the same size: EWS export
 * 50 ids (the gateway's `exportBatchSize`), EWS import 20 items (`uploadBatchSize`), Graph export 20 ids (the most
 * exportItems takes); Graph import sends 20 items a gateway request, one POST an item straight to the import URL.
 * Figures: items/s (ratio gateway ÷ direct), and gateway CPU time per MB of item data exported.
 */
import { chunks, pool } from '../clients.js'
import { MB, figure, measure, perSample, setting, timeDirect, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure } from '../results.js'

const CONCURRENCY = 4

interface Ids { store: string, direct: string, gateway: string }
interface Seeded { folder: Ids, items: Ids[], bytes: number, graphMailbox: string }

/** A folder below the Inbox of `mailbox` with `count` items of about `size` bytes, in the main simulators. */
export async function seed (bench: Bench, mailbox: string, name: string, count: number, size: number,
  set = 'main'): Promise<Seeded> {
  return await bench.sim.ask<Seeded>({ cmd: 'folder', set, mailbox, name, count, size })
}

interface Side { run: () => Promise<void>, before?: () => Promise<void>, after?: () => Promise<void> }

/** Warm-up plus `reps` samples of each side, alternating which goes first. */
async function sideBySide (bench: Bench, gateway: Side, direct: Side):
Promise<{ gateway: Sample[], direct: Array<{ ms: number, simCpuMs: number }> }> {
  const g: Sample[] = []
  const d: Array<{ ms: number, simCpuMs: number }> = []
  for (let i = 0; i < bench.warmup + bench.reps; i++) {
    const sides = i % 2 === 0 ? ['gateway', 'direct'] as const : ['direct', 'gateway'] as const
    for (const side of sides) {
      const s = side === 'gateway' ? gateway : direct
      await s.before?.()
      if (side === 'gateway') {
        const sample = await measure(bench, s.run)
        if (i >= bench.warmup) g.push(sample)
      } else {
        const sample = await timeDirect(bench, s.run)
        if (i >= bench.warmup) d.push(sample)
      }
      await s.after?.()
    }
  }
  return { gateway: g, direct: d }
}

function rateFigure (id: string, name: string, count: number, bytes: number,
  r: Awaited<ReturnType<typeof sideBySide>>): Figure {
  return figure({
    id,
    figure: name,
    unit: 'items/s',
    gateway: summarize(r.gateway.map((s) => count / s.ms * 1000)),
    other: summarize(r.direct.map((s) => count / s.ms * 1000)),
    versus: 'direct',
    goal: { text: '≥ 0.95× direct', metric: 'ratio', op: '>=', value: 0.95 },
    ...perSample(r.gateway),
    notes: {
      items: count,
      itemDataMB: Math.round(bytes / MB * 10) / 10,
      simulatorCpuMsGatewayRun: summarize(r.gateway.map((s) => s.simCpuMs)).median,
      simulatorCpuMsDirectRun: summarize(r.direct.map((s) => s.simCpuMs)).median
    }
  })
}

function cpuPerMbFigure (id: string, name: string, bytes: number, samples: Sample[]): Figure {
  return figure({
    id,
    figure: name,
    unit: 'ms/MB',
    gateway: summarize(samples.map((s) => s.cpuMs / (bytes / MB))),
    goal: { text: '≤ 10 ms/MB', metric: 'gateway', op: '<=', value: 10 },
    notes: { simulatorCpuMsPerMB: summarize(samples.map((s) => s.simCpuMs / (bytes / MB))).median }
  })
}

export async function throughput (bench: Bench): Promise<Figure[]> {
  const count = setting('BENCH_ITEMS', 1000)
  const size = setting('BENCH_ITEM_BYTES', 14_000)
  const figures: Figure[] = []
  let scratch = 0
  /** A new empty target folder in `mailbox` before each sample, removed after it. */
  const target = (mailbox: string): { folder: () => Ids, before: () => Promise<void>, after: () => Promise<void> } => {
    let current: Ids | undefined
    return {
      folder: () => current as Ids,
      before: async () => { current = (await seed(bench, mailbox, `Import ${++scratch}`, 0, 0)).folder },
      after: async () => { await bench.sim.ask({ cmd: 'drop', folder: (current as Ids).store }) }
    }
  }

  // EWS
  const alice = 'alice@contoso.example'
  const ews = await seed(bench, alice, 'Bench items', count, size)
  bench.log(`EWS export: ${count} items, ${(ews.bytes / MB).toFixed(1)} MB`)
  const ewsExport = await sideBySide(bench, {
    run: async () => {
      await pool(chunks(ews.items.map((i) => i.gateway), 50).map((ids) => async () => {
        const r = await bench.gateway.json('POST', `/mailboxes/${alice}/items:export`, { itemIds: ids })
        if (r.succeeded !== ids.length) throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
      }), CONCURRENCY)
    }
  }, {
    run: async () => {
      await pool(chunks(ews.items.map((i) => i.direct), 50).map((ids) => async () => {
        await bench.ews.exportItems(alice, ids)
      }), CONCURRENCY)
    }
  })
  figures.push(rateFigure('ews-export', `EWS export, ${count} items, concurrency 4`, count, ews.bytes, ewsExport))

  const ewsData: string[] = []
  for (const ids of chunks(ews.items.map((i) => i.direct), 50)) ewsData.push(...await bench.ews.exportItems(alice, ids))
  bench.log('EWS import')
  const ewsTarget = target(alice)
  const ewsImport = await sideBySide(bench, {
    before: ewsTarget.before,
    after: ewsTarget.after,
    run: async () => {
      const folderId = ewsTarget.folder().gateway
      await pool(chunks(ewsData, 20).map((batch) => async () => {
        const r = await bench.gateway.json('POST', `/mailboxes/${alice}/items:import`,
          { items: batch.map((data) => ({ folderId, mode: 'create', data })) })
        if (r.succeeded !== batch.length) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`)
      }), CONCURRENCY)
    }
  }, {
    before: ewsTarget.before,
    after: ewsTarget.after,
    run: async () => {
      const folderId = ewsTarget.folder().direct
      await pool(chunks(ewsData, 20).map((batch) => async () => {
        await bench.ews.uploadItems(alice, folderId, batch)
      }), CONCURRENCY)
    }
  })
  figures.push(rateFigure('ews-import', `EWS import, ${count} items, concurrency 4`, count, ews.bytes, ewsImport))

  // Graph
  const carol = 'carol@contoso.example'
  const graph = await seed(bench, carol, 'Bench items', count, size)
  bench.log(`Graph export: ${count} items, ${(graph.bytes / MB).toFixed(1)} MB`)
  const graphExport = await sideBySide(bench, {
    run: async () => {
      await pool(chunks(graph.items.map((i) => i.gateway), 20).map((ids) => async () => {
        const r = await bench.gateway.json('POST', `/mailboxes/${carol}/items:export`, { itemIds: ids })
        if (r.succeeded !== ids.length) throw new Error(`export: ${JSON.stringify(r).slice(0, 300)}`)
      }), CONCURRENCY)
    }
  }, {
    run: async () => {
      await pool(chunks(graph.items.map((i) => i.direct), 20).map((ids) => async () => {
        await bench.graph.exportItems(graph.graphMailbox, ids)
      }), CONCURRENCY)
    }
  })
  figures.push(rateFigure('graph-export', `Graph export, ${count} items, concurrency 4`, count, graph.bytes,
    graphExport))

  const graphData: string[] = []
  for (const ids of chunks(graph.items.map((i) => i.direct), 20)) {
    graphData.push(...await bench.graph.exportItems(graph.graphMailbox, ids))
  }
  bench.log('Graph import')
  const graphTarget = target(carol)
  const graphImport = await sideBySide(bench, {
    before: graphTarget.before,
    after: graphTarget.after,
    run: async () => {
      const folderId = graphTarget.folder().gateway
      await pool(chunks(graphData, 20).map((batch) => async () => {
        const r = await bench.gateway.json('POST', `/mailboxes/${carol}/items:import`,
          { items: batch.map((data) => ({ folderId, mode: 'create', data })) })
        if (r.succeeded !== batch.length) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`)
      }), CONCURRENCY)
    }
  }, {
    before: graphTarget.before,
    after: graphTarget.after,
    run: async () => {
      const folderId = graphTarget.folder().direct
      const url = await bench.graph.importUrl(graph.graphMailbox)
      await pool(graphData.map((data) => async () => { await bench.graph.importItem(url, folderId, data) }),
        CONCURRENCY)
    }
  })
  figures.push(rateFigure('graph-import', `Graph import, ${count} items, concurrency 4`, count, graph.bytes,
    graphImport))

  figures.push(cpuPerMbFigure('ews-export-cpu', 'Gateway CPU per MB of item data, EWS export', ews.bytes,
    ewsExport.gateway))
  figures.push(cpuPerMbFigure('graph-export-cpu', 'Gateway CPU per MB of item data, Graph export', graph.bytes,
    graphExport.gateway))
  return figures
}
