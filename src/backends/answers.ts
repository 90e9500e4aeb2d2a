/**
 * Checks on values the adapters take from a backend's answer before they reach a caller,
 * so no answer breaks the published schema (src/schemas/): a value the schema cannot
 * carry is either left out (optional fields) or a clear MBG_ERR_UPSTREAM_BAD_RESPONSE.
 */
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { UpstreamBadResponse } from '../errors.js'

const ajv = new Ajv({ strict: false })
addFormats.default(ajv)
const dateTime = ajv.compile<string>({ type: 'string', format: 'date-time' })

// The date-times both backends send (EWS `2026-06-30T09:00:00Z`, Graph `2026-06-30T09:00:00.1234567Z` or with an
// offset): every string of this shape with a day up to 28 is one the schema's check accepts too, decided by one
// regular expression. Anything else (other days, other spellings, not a date-time) is left to that check.
const COMMON_DATE_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/

/**
 * Whether `value` is an RFC 3339 date-time (section 5.6: full-date "T" full-time with an
 * offset), checked exactly as the published schema's `format: date-time` is (ajv-formats).
 */
export function isDateTime (value: unknown): value is string {
  if (typeof value === 'string') {
    const day = COMMON_DATE_TIME.exec(value)?.[1]
    if (day !== undefined && day >= '01' && day <= '28') return true
  }
  return dateTime(value)
}

/**
 * A size or count as the schema's non-negative integers: a JSON number or a decimal
 * string (XML text), from 0 to Number.MAX_SAFE_INTEGER. Undefined for anything else
 * (negative, fractional, NaN, empty, other types).
 */
export function nonNegativeInteger (value: unknown): number | undefined {
  const decimal = typeof value === 'string' && /^\s*\d+\s*$/.test(value)
  const n = typeof value === 'number' ? value : decimal ? Number(value) : NaN
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/**
 * Most UTF-16 code units of a folder name or class a backend may answer with: what both backends
 * store (EWS `DisplayName`, Graph `displayName`: 255 units, as the gateway checks caller names,
 * src/service/mailbox-service.ts MAX_FOLDER_NAME_UNITS).
 */
export const MAX_FOLDER_TEXT_UNITS = 255

/**
 * `value` when it holds at most `max` UTF-16 code units; else 502 MBG_ERR_UPSTREAM_BAD_RESPONSE naming
 * `what` and the field, never the value (a backend's oversized text is not relayed, not even in part).
 */
export function boundedText (value: string, max: number, what: string, field: string): string {
  if (value.length > max) {
    throw new UpstreamBadResponse(`${what}: ${field} is ${value.length} UTF-16 code units long, more than ` +
      `the ${max} the backend allows`)
  }
  return value
}
