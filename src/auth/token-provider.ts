/**
 * Where adapters get bearer tokens. One provider per credential and resource
 * (e.g. the Graph app registration and `https://graph.microsoft.com/.default`).
 */
export interface TokenProvider {
  /**
   * A valid access token; `forceRefresh` skips any cache (used after a 401). Throws MBG_ERR_* errors that say
   * what failed (refused: UPSTREAM_AUTH; throttled, unreachable: 503; misconfigured: CONFIG_INVALID), with the
   * AADSTS code as `upstreamCode`: adapters pass them on as they are.
   */
  getToken (options?: { forceRefresh?: boolean }): Promise<string>
}
