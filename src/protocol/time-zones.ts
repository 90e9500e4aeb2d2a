/**
 * Time zones as Graph names them in `dateTimeTimeZone` values and `Prefer: outlook.timezone`: a Windows name
 * ("Pacific Standard Time") or an IANA name ("America/Los_Angeles"), with `dateTime` a wall-clock time in that zone
 * (https://learn.microsoft.com/graph/api/resources/datetimetimezone). Shared by the Graph adapter (an all-day
 * event's dates, the events it creates, .ics written with the event's zone) and the Graph simulator (its events):
 * protocol facts, not one side's logic (src/protocol/). Windows names map to IANA with windows-iana (CLDR's
 * windowsZones table); the zone rules come from Intl (ICU).
 */
import { findIana } from 'windows-iana'

/** An IANA zone name for a Graph zone name (IANA or Windows), or undefined when neither knows it. */
export function ianaZone (zone: string): string | undefined {
  const name = zone.trim()
  if (name === '') return undefined
  if (/^(utc|etc\/utc|gmt|z)$/i.test(name)) return 'UTC'
  for (const candidate of [name, ...(findIana(name) ?? [])]) {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: candidate }).resolvedOptions().timeZone
    } catch {
      // Not a zone this ICU carries: the next candidate (an IANA name first, then the Windows name's).
    }
  }
  return undefined
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter (iana: string): Intl.DateTimeFormat {
  let f = formatters.get(iana)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: iana,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit'
    })
    formatters.set(iana, f)
  }
  return f
}

/** The wall clock of `instant` in the IANA zone, as `YYYY-MM-DDTHH:mm:ss` (Graph's dateTime without fraction). */
export function wallClock (instant: Date, iana: string): string {
  const parts: Record<string, string> = {}
  for (const p of formatter(iana).formatToParts(instant)) parts[p.type] = p.value
  // Years before 1000 are not Graph dates; pad anyway so the shape stays fixed.
  const year = parts.year.padStart(4, '0')
  return `${year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`
}

/**
 * The instant of a wall-clock time (`YYYY-MM-DDTHH:mm[:ss[.fffffff]]`) in the IANA zone. A time skipped by a
 * daylight-saving change is read with the offset before the change, a repeated one as its first occurrence
 * (as RFC 5545 section 3.3.5 reads local times). Undefined when the text is not a wall-clock time.
 */
export function instantOf (local: string, iana: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/.exec(local.trim())
  if (m === null) return undefined
  const ms = m[7] !== undefined ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]),
    Number(m[6] ?? '0'), ms)
  if (Number.isNaN(asUtc)) return undefined
  const offset = (at: number): number => Date.parse(`${wallClock(new Date(at), iana)}Z`) - Math.floor(at / 1000) * 1000
  // The offset at the wall clock read as UTC is the one before any change near it; a second pass finds the one after.
  const first = asUtc - offset(asUtc)
  const second = asUtc - offset(first)
  const wanted = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`
  const exact = [first, second].filter((at) => wallClock(new Date(at), iana) === wanted)
  // A repeated time: its first occurrence; a skipped one (no exact instant): the offset before the change.
  return new Date(exact.length > 0 ? Math.min(...exact) : first)
}

/** Graph's `dateTime` spelling of an instant in the IANA zone: the wall clock with seven fractional digits. */
export function graphDateTime (instant: Date, iana: string): string {
  return `${wallClock(instant, iana)}.0000000`
}
