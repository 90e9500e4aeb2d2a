/**
 * How the API documents limits an operator can change: the wording names the
 * environment variable and takes its range and default from the env schema
 * (src/config.ts), so the OpenAPI document cannot disagree with the
 * configuration it describes.
 */
import { EnvSchema } from '../config.js'

type Configurable = 'MAX_BATCH_ITEMS' | 'MAX_EXPORT_ANSWER_BYTES' | 'BODY_LIMIT_BYTES' | 'MAX_EVENT_LOOP_DELAY_MS'

const MiB = 1024 * 1024

function amount (n: number, unit: string): string {
  if (unit === 'bytes' && n % MiB === 0) return `${n / MiB} MiB`
  return unit === '' ? String(n) : `${n} ${unit}`
}

/**
 * "configurable with NAME (1–1000, default 100)": the variable's range and default.
 * `unit` is appended to the numbers ("bytes" prints whole MiB as MiB).
 */
export function configurable (name: Configurable, unit = ''): string {
  const s = EnvSchema.properties[name] as { default: number, minimum?: number, maximum?: number }
  const range = s.minimum !== undefined && s.maximum !== undefined
    ? `${s.minimum}–${amount(s.maximum, unit)}`
    : s.minimum !== undefined ? `at least ${amount(s.minimum, unit)}` : ''
  return `configurable with ${name} (${range === '' ? '' : `${range}, `}default ${amount(s.default, unit)})`
}
