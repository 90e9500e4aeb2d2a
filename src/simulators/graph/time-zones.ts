/**
 * Time zones as Graph names them in `dateTimeTimeZone` values and `Prefer: outlook.timezone` (Windows names such as
 * "Pacific Standard Time" or IANA names, https://learn.microsoft.com/graph/api/resources/datetimetimezone): wall
 * clocks ↔ instants for the simulator's events. Windows names map to IANA with windows-iana (CLDR windowsZones);
 * the rules come from Intl (ICU). The simulator keeps its own copy of this small logic: it imports nothing of the
 * adapters.
 */
import { findIana } from 'windows-iana'

/** An IANA zone for a Graph zone name, or undefined when neither IANA nor Windows knows it. */
export function ianaZone (zone: string): string | undefined {
  const name = zone.trim()
  if (name === '') return undefined
  if (/^(utc|etc\/utc|gmt|z)$/i.test(name)) return 'UTC'
  for (const candidate of [name, ...(findIana(name) ?? [])]) {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: candidate }).resolvedOptions().timeZone
    } catch {
      // The next candidate.
    }
  }
  return undefined
}

/** The wall clock of an instant in an IANA zone: `YYYY-MM-DDTHH:mm:ss`. */
export function wallClock (instant: Date, iana: string): string {
  const parts: Record<string, string> = {}
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: iana,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  })
  for (const p of f.formatToParts(instant)) parts[p.type] = p.value
  return `${parts.year.padStart(4, '0')}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`
}

/** The instant of a wall clock (`YYYY-MM-DDTHH:mm:ss[.fffffff]`) in an IANA zone; undefined when unreadable. */
export function instantOf (local: string, iana: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/.exec(local.trim())
  if (m === null) return undefined
  const ms = m[7] !== undefined ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]),
    Number(m[6] ?? '0'), ms)
  if (Number.isNaN(asUtc)) return undefined
  const offset = (at: number): number => Date.parse(`${wallClock(new Date(at), iana)}Z`) - Math.floor(at / 1000) * 1000
  const first = asUtc - offset(asUtc)
  const second = asUtc - offset(first)
  const wanted = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`
  const exact = [first, second].filter((at) => wallClock(new Date(at), iana) === wanted)
  // A repeated time: its first occurrence; a skipped one: the offset before the change (RFC 5545 §3.3.5).
  return new Date(exact.length > 0 ? Math.min(...exact) : first)
}

/** Graph's dateTime spelling: seven fractional digits. */
export function graphDateTime (instant: Date, iana: string): string {
  return `${wallClock(instant, iana)}.0000000`
}
