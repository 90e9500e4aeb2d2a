/**
 * What every upstream caller (the EWS and Graph adapters, the token provider) needs
 * to say about a failed call, written once:
 *
 *  - `parseRetryAfter`: the Retry-After field as milliseconds;
 *  - `RetryHint`: whether the retry policy (src/backends/policy.ts) may send the call again;
 *  - `UpstreamAnnotations` / `annotate`: the properties a thrown MBG_ERR_* error carries for
 *    the policy (`retry`, `retryAfterMs`) and for the caller (`retryAfter`, `upstreamCode`,
 *    `upstreamRequestId`, rendered by plugins/app/problem-details.ts).
 *
 * Errors carry their upstream facts as plain properties, as undici's errors carry
 * `statusCode` and `headers` (undici lib/core/errors.js), and the wait is parsed in
 * one place, as in undici's RetryHandler (lib/handler/retry-handler.js).
 */

/**
 * Whether a failed call may be sent again.
 *
 * - `'safe'`: the backend certainly did not act on the request (throttled, busy, connection
 *   refused before anything was sent): any call may be retried.
 * - `'idempotent'`: the outcome is unknown (socket reset, timeout, 5xx after the request was
 *   sent): only idempotent calls may be retried, or a create could happen twice.
 *
 * No hint means: do not retry.
 */
export type RetryHint = 'safe' | 'idempotent'

/** The upstream facts an error may carry. All optional; absent means unknown or not applicable. */
export interface UpstreamAnnotations {
  /** May the retry policy send the call again (see RetryHint). */
  retry?: RetryHint
  /**
   * Milliseconds the backend asked us to wait (Retry-After, EWS BackOffMilliseconds), ≥ 0.
   * Read by the retry policy; not shown to callers.
   */
  retryAfterMs?: number
  /** Whole seconds, sent to callers as Retry-After and in the problem body; `annotate` sets it from `retryAfterMs`. */
  retryAfter?: number
  /** Backend's own error code (EWS ResponseCode, Graph error.code, AADSTS number). */
  upstreamCode?: string
  /** Backend request id (Graph request-id, EWS request-id header). */
  upstreamRequestId?: string
  /**
   * The backend refused the call as a whole, for something one of its items may cause (a damaged
   * item it cannot read, an item over its size limit), and did nothing: the service splits such a
   * batch and sends the halves (src/service/batches.ts) until the culprit travels alone.
   */
  isolate?: boolean
  /**
   * Whether the same request later can succeed, when the code alone does not say it
   * (src/errors.ts `isRetryable`): e.g. false for a backend 500 that names a corrupt item.
   */
  retryable?: boolean
}

/** What `annotate` takes: everything but the caller-facing `retryAfter`, which it derives from `retryAfterMs`. */
export type UpstreamDetails = Omit<UpstreamAnnotations, 'retryAfter'>

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31 seconds. */
const MAX_DELTA_SECONDS = 2 ** 31

const DELTA_SECONDS = /^\d+(?:\.\d+)?$/
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const DAY_L = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = `(?<month>${MONTHS.join('|')})`
const TIME = '(?<h>\\d{2}):(?<min>\\d{2}):(?<s>\\d{2})'
// RFC 9110 §5.6.7: the three HTTP-date forms a recipient must accept.
const IMF_FIXDATE = new RegExp(`^${DAY}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`)
const RFC850_DATE = new RegExp(`^${DAY_L}, (?<day>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME} GMT$`)
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (?<day> \\d|\\d{2}) ${TIME} (?<year>\\d{4})$`)

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), and the
 * obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
 * forms, all in UTC. A two-digit RFC 850 year more than 50 years ahead of `now` is read as the
 * most recent past year with those digits. The day name is not checked against the date.
 *
 * Returns epoch milliseconds, or undefined when the text is not an HTTP-date or names no real
 * date (30 Feb). Unlike `Date.parse`, it accepts nothing else (no ISO dates, no bare numbers,
 * no local time).
 */
export function parseHttpDate (value: string, now = Date.now()): number | undefined {
  const g = (IMF_FIXDATE.exec(value) ?? RFC850_DATE.exec(value) ?? ASCTIME_DATE.exec(value))?.groups
  if (g === undefined) return undefined
  let year: number
  if (g.yy !== undefined) {
    const thisYear = new Date(now).getUTCFullYear()
    year = Math.floor(thisYear / 100) * 100 + Number(g.yy)
    if (year > thisYear + 50) year -= 100
  } else {
    year = Number(g.year)
  }
  const month = MONTHS.indexOf(g.month)
  const day = Number(g.day.trim())
  const [h, min, s] = [Number(g.h), Number(g.min), Number(g.s)]
  if (h > 23 || min > 59 || s > 60) return undefined
  // A leap second (:60) counts as :59.
  const at = new Date(Date.UTC(year, month, day, h, min, Math.min(s, 59)))
  // Date.UTC rolls 31 Apr over to 1 May, and maps years 0-99 to 19xx: reject both.
  if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month || at.getUTCDate() !== day) return undefined
  return at.getTime()
}

/**
 * The Retry-After field (RFC 9110 §10.2.3: `HTTP-date / delay-seconds`) as milliseconds to wait.
 *
 * - delay-seconds: `"120"` → 120000. The RFC allows only digits, but decimal seconds are accepted
 *   too (`"1.5"` → 1500, rounded to the millisecond) because Microsoft Graph sometimes sends them;
 *   Graph asks clients to wait the Retry-After seconds when throttled
 *   (https://learn.microsoft.com/graph/throttling).
 *   Values beyond 2^31 s count as 2^31 s (RFC 9111 §1.2.2).
 * - HTTP-date (see `parseHttpDate`): the time from `now` until then; a date in the past → 0.
 * - Anything else (absent, empty, negative, `"+5"`, `"1e3"`, words, ISO dates) → undefined,
 *   so the caller falls back to its own back-off rather than retrying at once.
 *
 * Surrounding whitespace is ignored. `now` is epoch milliseconds (for tests).
 */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (DELTA_SECONDS.test(text)) return Math.round(Math.min(Number(text), MAX_DELTA_SECONDS) * 1000)
  const at = parseHttpDate(text, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}

/**
 * Milliseconds to wait → the whole seconds a caller is told (Retry-After, `retryAfter`):
 * rounded up, and at least 1, so a caller that has been given a 503 is never told to come
 * back at once (the policy has already absorbed the short waits). Undefined for a negative
 * or non-finite input.
 */
export function retryAfterSeconds (ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0) return undefined
  return Math.max(1, Math.ceil(ms / 1000))
}

/**
 * Attaches upstream facts to an error and returns the same error, typed with them.
 *
 * Undefined fields are skipped (an existing value stays). `retryAfterMs` (≥ 0 and finite, else
 * ignored) sets both `retryAfterMs` for the policy and `retryAfter` for the caller
 * (`retryAfterSeconds`). Sources of the wait: the HTTP Retry-After field (`parseRetryAfter`;
 * Graph: https://learn.microsoft.com/graph/throttling) or EWS's BackOffMilliseconds in an
 * ErrorServerBusy MessageXml
 * (https://learn.microsoft.com/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange).
 */
export function annotate<E extends Error> (error: E, details: UpstreamDetails): E & UpstreamAnnotations {
  const out = error as E & UpstreamAnnotations
  if (details.retry !== undefined) out.retry = details.retry
  if (details.upstreamCode !== undefined) out.upstreamCode = details.upstreamCode
  if (details.upstreamRequestId !== undefined) out.upstreamRequestId = details.upstreamRequestId
  if (details.isolate !== undefined) out.isolate = details.isolate
  if (details.retryable !== undefined) out.retryable = details.retryable
  const ms = details.retryAfterMs
  const seconds = ms !== undefined ? retryAfterSeconds(ms) : undefined
  if (ms !== undefined && seconds !== undefined) {
    out.retryAfterMs = ms
    out.retryAfter = seconds
  }
  return out
}
