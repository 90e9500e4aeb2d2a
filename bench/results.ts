/**
 * The shape of `bench/results/latest.json` (what `npm run bench` writes and `npm run bench:report` renders), the
 * summary of a set of samples, and a check that a parsed document has that shape.
 */

/** min / median / max of the samples (after warm-up), in `unit`. */
export interface Summary {
  min: number
  median: number
  max: number
  samples: number[]
}

/** The goal of a figure: `metric` (the gateway's median, or the ratio) `op` `value`. */
export interface Goal {
  text: string
  metric: 'gateway' | 'ratio'
  op: '>=' | '<='
  value: number
}

/** One row of the published table. */
export interface Figure {
  /** Stable key, e.g. `ews-export`. */
  id: string
  /** What is measured, as the table says it. */
  figure: string
  unit: string
  gateway?: Summary
  /** The same work without the gateway: direct calls to the same simulator, or exchangelib (`versus`). */
  other?: Summary
  versus?: 'direct' | 'exchangelib'
  /** gateway median ÷ other median (rates: above 1 means the gateway is faster). */
  ratio?: number
  goal?: Goal
  /** Whether the goal is met; null when not measured (`skipped` says why) or without a goal. */
  met: boolean | null
  skipped?: string
  /** Gateway CPU time per sample, ms. */
  gatewayCpuMs?: Summary
  /** Peak gateway RSS above the baseline before each sample, MB (10^6 bytes). */
  gatewayPeakRssMB?: Summary
  /** Anything else worth printing with the row (counts, bytes, simulator CPU). */
  notes?: Record<string, number | string>
}

export interface Machine {
  cpu: string
  cores: number
  memoryGB: number
  node: string
  platform: string
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverageStart: number[]
}

export interface Results {
  version: 1
  /** ISO 8601, when the run started. */
  date: string
  durationSec: number
  machine: Machine
  /** Iterations, sizes and concurrency the run used. */
  settings: Record<string, number | string>
  figures: Figure[]
}

/** Summary of `samples` (at least one), each rounded to 3 significant digits past the unit. */
export function summarize (samples: number[]): Summary {
  if (samples.length === 0) throw new Error('no samples')
  const s = [...samples].sort((a, b) => a - b)
  const mid = s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  return { min: round(s[0]), median: round(mid), max: round(s[s.length - 1]), samples: samples.map(round) }
}

/** Rounds to 2 decimals below 100, to integers above. */
export function round (n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 100) / 100
}

/** Whether `goal` holds for the figure's gateway median or ratio; null when that number is missing. */
export function goalMet (goal: Goal, gateway: Summary | undefined, ratio: number | undefined): boolean | null {
  const value = goal.metric === 'ratio' ? ratio : gateway?.median
  if (value === undefined) return null
  return goal.op === '>=' ? value >= goal.value : value <= goal.value
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function checkSummary (v: unknown, where: string, problems: string[]): void {
  const s = v as Summary
  if (typeof v !== 'object' || v === null || !isNumber(s.min) || !isNumber(s.median) || !isNumber(s.max) ||
    !Array.isArray(s.samples) || !s.samples.every(isNumber) || s.samples.length === 0) {
    problems.push(`${where}: not a summary {min, median, max, samples[]}`)
  } else if (!(s.min <= s.median && s.median <= s.max)) {
    problems.push(`${where}: min ≤ median ≤ max does not hold`)
  }
}

/**
 * The problems that keep `doc` from being a Results document (empty when it is one): missing or mistyped fields,
 * summaries out of order, a figure neither measured nor skipped, a `met` that contradicts its goal.
 */
export function checkResults (doc: unknown): string[] {
  const problems: string[] = []
  const r = doc as Results
  if (typeof doc !== 'object' || doc === null) return ['not an object']
  if (r.version !== 1) problems.push('version is not 1')
  if (typeof r.date !== 'string' || Number.isNaN(Date.parse(r.date))) problems.push('date is not an ISO date')
  if (!isNumber(r.durationSec)) problems.push('durationSec is not a number')
  const m = r.machine
  if (typeof m !== 'object' || m === null || typeof m.cpu !== 'string' || !isNumber(m.cores) ||
    typeof m.node !== 'string' || !Array.isArray(m.loadAverageStart) || !m.loadAverageStart.every(isNumber)) {
    problems.push('machine needs cpu, cores, node and loadAverageStart')
  }
  if (typeof r.settings !== 'object' || r.settings === null) problems.push('settings is not an object')
  if (!Array.isArray(r.figures) || r.figures.length === 0) return [...problems, 'figures is not a non-empty array']
  const seen = new Set<string>()
  r.figures.forEach((f, i) => {
    const where = `figures[${i}] (${String(f?.id)})`
    if (typeof f?.id !== 'string' || typeof f.figure !== 'string' || typeof f.unit !== 'string') {
      problems.push(`${where}: needs id, figure and unit`)
      return
    }
    if (seen.has(f.id)) problems.push(`${where}: duplicate id`)
    seen.add(f.id)
    for (const key of ['gateway', 'other', 'gatewayCpuMs', 'gatewayPeakRssMB'] as const) {
      if (f[key] !== undefined) checkSummary(f[key], `${where}.${key}`, problems)
    }
    if (f.gateway === undefined && f.skipped === undefined) problems.push(`${where}: neither measured nor skipped`)
    if (f.ratio !== undefined && !isNumber(f.ratio)) problems.push(`${where}: ratio is not a number`)
    if (f.met !== null && typeof f.met !== 'boolean') problems.push(`${where}: met is not true, false or null`)
    if (f.goal !== undefined) {
      const g = f.goal
      if (typeof g.text !== 'string' || !['gateway', 'ratio'].includes(g.metric) || !['>=', '<='].includes(g.op) ||
        !isNumber(g.value)) {
        problems.push(`${where}: goal needs text, metric, op and value`)
      } else if (f.met !== goalMet(g, f.gateway, f.ratio)) {
        problems.push(`${where}: met does not follow from the goal`)
      }
    }
  })
  return problems
}
