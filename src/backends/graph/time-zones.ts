/**
 * Time zones of Graph events: Graph names a zone by its Windows name ("Pacific Standard Time") or an IANA name
 * ("America/Los_Angeles"), and writes `dateTimeTimeZone` values as wall-clock times in that zone
 * (https://learn.microsoft.com/graph/api/resources/datetimetimezone). The adapter reads events in UTC
 * (`Prefer: outlook.timezone="UTC"`) and needs the wall clock of an instant in the event's own zone only for an
 * all-day event's dates and for an event it creates. Windows names are mapped to IANA with windows-iana (CLDR's
 * windowsZones table); the wall clock comes from Intl (ICU's zone rules).
 */
import { findIana } from 'windows-iana'

/** An IANA zone name for a Graph zone name (IANA or Windows), or undefined when neither knows it. */
export function ianaZone (zone: string): string | undefined {
  const name = zone.trim()
  if (name === '') return undefined
  if (/^(utc|etc\/utc|gmt|z)$/i.test(name)) return 'UTC'
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    // Not an IANA name: try it as a Windows name.
  }
  const candidates = findIana(name)
  for (const candidate of candidates ?? []) {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: candidate }).resolvedOptions().timeZone
    } catch {
      // A name this ICU does not carry: the next one.
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
 * The instant of a wall-clock time (`YYYY-MM-DDTHH:mm:ss[.fffffff]`) in the IANA zone. A time skipped by a
 * daylight-saving change is read with the offset before the change, a repeated one as its first occurrence.
 * Undefined when the text is not a wall-clock time.
 */
export function instantOf (local: string, iana: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(local.trim())
  if (m === null) return undefined
  const ms = m[7] !== undefined ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms)
  if (Number.isNaN(asUtc)) return undefined
  const offset = (at: number): number => {
    const shown = wallClock(new Date(at), iana)
    const back = Date.parse(`${shown}Z`)
    return back - Math.floor(at / 1000) * 1000
  }
  // The offset at the wall clock read as UTC is the one before any change near it; a second pass finds the one after.
  const first = asUtc - offset(asUtc)
  const second = asUtc - offset(first)
  const wanted = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`
  const exact = [first, second].filter((at) => wallClock(new Date(at), iana) === wanted)
  // A repeated time: its first occurrence; a skipped one (no exact instant): the offset before the change.
  return new Date(exact.length > 0 ? Math.min(...exact) : first)
}
