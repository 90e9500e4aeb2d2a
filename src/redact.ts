/**
 * URL redaction for logs and error messages (used by the logger and the adapters).
 *
 * A Graph import URL is pre-authenticated: its `authtoken` query parameter is a
 * bearer credential. pino's path redaction cannot see inside a string, so every
 * URL the Graph adapter logs or puts in an error message goes through here.
 */

/** Query (or fragment) parameters whose values are credentials. Compared case-insensitively. */
const SECRET_PARAMS = new Set([
  'authtoken',
  'token',
  'access_token',
  'sig',
  'code',
  'client_secret',
  'client_assertion',
  'apikey',
  'api_key',
  'x-api-key',
  'key',
  'password'
])

/**
 * A value that is one of this gateway's API keys by its shape (API_KEY_PREFIX `mbg_`, src/access/authenticator.ts),
 * under whatever parameter name a caller misplaced it.
 */
const API_KEY_VALUE = /^mbg_/i

export const REDACTED = '[REDACTED]'

function safeDecode (value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return value
  }
}

/** Rewrites one `a=b&c=d` parameter list, keeping everything but secret values byte for byte. */
function redactParams (params: string): string {
  return params.split('&').map((pair) => {
    const eq = pair.indexOf('=')
    if (eq < 0) return pair
    // Names may be percent-encoded (`auth%74oken`): compare the decoded name.
    const name = safeDecode(pair.slice(0, eq)).trim().toLowerCase()
    const secret = SECRET_PARAMS.has(name) || API_KEY_VALUE.test(safeDecode(pair.slice(eq + 1)).trim())
    return secret ? `${pair.slice(0, eq)}=${REDACTED}` : pair
  }).join('&')
}

/**
 * Replaces the values of credential parameters (SECRET_PARAMS: `authtoken`, `token`, `access_token`, `sig`, API
 * keys, passwords…), and any value shaped like one of this gateway's API keys, with [REDACTED], in the query and
 * in a fragment. Works on absolute and relative
 * URLs and never throws, so it is safe on anything that might be a URL.
 */
export function redactUrl (url: string | URL): string {
  const text = String(url)
  const hash = text.indexOf('#')
  const beforeHash = hash < 0 ? text : text.slice(0, hash)
  const fragment = hash < 0 ? undefined : text.slice(hash + 1)
  const q = beforeHash.indexOf('?')
  const base = q < 0 ? beforeHash : beforeHash.slice(0, q)
  const query = q < 0 ? undefined : beforeHash.slice(q + 1)
  let out = base
  if (query !== undefined) out += `?${redactParams(query)}`
  if (fragment !== undefined) out += `#${redactParams(fragment)}`
  return out
}
