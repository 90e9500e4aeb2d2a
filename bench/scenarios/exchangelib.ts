/**
 * Gateway vs exchangelib (an independent Python EWS client, bench/exchangelib_export.py): the same export of the
 * 50 oldest Inbox items of an EWS mailbox, items/s, exchangelib's samples then the gateway's (exchangelib runs in its
 * own process against the same simulator process). Without exchangelib installed (`python3 -c "import
 * exchangelib"` fails) the figures say so and carry no number.
 */
import { execFile, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { figure, measure, skipped, type Bench, type Sample } from '../measure.js'
import { summarize, type Figure, type Goal } from '../results.js'

const COUNT = 50
const GOAL: Goal = { text: '≥ 5× exchangelib', metric: 'ratio', op: '>=', value: 5 }

export async function exchangelib (bench: Bench): Promise<Figure[]> {
  const python = process.env.BENCH_PYTHON ?? 'python3'
  const exportName = `EWS export of ${COUNT} items, gateway vs exchangelib`
  const importName = `EWS import of ${COUNT} items, gateway vs exchangelib`
  if (spawnSync(python, ['-c', 'import exchangelib'], { stdio: 'ignore' }).status !== 0) {
    bench.log('exchangelib not installed: its figures are skipped')
    return [
      skipped('exchangelib-export', exportName, 'items/s', 'skipped: exchangelib not installed', GOAL),
      skipped('exchangelib-import', importName, 'items/s', 'skipped: exchangelib not installed', GOAL)
    ]
  }
  const alice = 'alice@contoso.example'
  const script = fileURLToPath(new URL('../exchangelib_export.py', import.meta.url))
  const { username, password } = bench.sims.credentials.ews
  const py = await promisify(execFile)(python, [script, bench.sims.ews, username, password, alice, String(COUNT),
    String(bench.reps), String(bench.warmup)], { encoding: 'utf8', timeout: 300_000 })
  const lib = JSON.parse(py.stdout.trim().split('\n').pop() ?? '{}') as { ms: number[] }
  // The same items: the oldest of the Inbox, as exchangelib's order_by('datetime_created') picks them.
  const page = await bench.gateway.json<{ items: Array<{ id: string }> }>('GET',
    `/mailboxes/${alice}/folders/inbox/items?pageSize=${COUNT}`)
  const ids = page.items.map((i) => i.id)
  const ours: Sample[] = []
  for (let i = 0; i < bench.warmup + bench.reps; i++) {
    const s = await measure(bench, async () => {
      const r = await bench.gateway.json('POST', `/mailboxes/${alice}/items:export`, { itemIds: ids })
      if (r.succeeded !== ids.length) throw new Error('export failed')
    })
    if (i >= bench.warmup) ours.push(s)
  }
  return [
    figure({
      id: 'exchangelib-export',
      figure: exportName,
      unit: 'items/s',
      gateway: summarize(ours.map((s) => ids.length / s.ms * 1000)),
      other: summarize(lib.ms.map((ms) => ids.length / ms * 1000)),
      versus: 'exchangelib',
      goal: GOAL
    }),
    skipped('exchangelib-import', importName, 'items/s', 'not measured yet: bench/exchangelib_export.py exports only',
      GOAL)
  ]
}
