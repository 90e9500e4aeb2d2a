/**
 * Where adapters get bearer tokens. One provider per credential and resource
 * (e.g. the Graph app registration and `https://graph.microsoft.com/.default`).
 */
export interface TokenProvider {
  /** A valid access token; `forceRefresh` skips any cache (used after a 401). */
  getToken (options?: { forceRefresh?: boolean }): Promise<string>
}
