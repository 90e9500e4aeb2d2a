/**
 * MSAL's `system.networkClient` over an undici Agent.
 *
 * MSAL's default client uses Node's global fetch, which trusts only the bundled
 * CAs; the simulators serve HTTPS with a throwaway certificate, so we need a
 * client that trusts an extra CA. It also
 *  - sends MSAL's instance-discovery call (hard-wired to login.microsoftonline.com)
 *    to the configured authority host instead, so nothing leaves loopback when
 *    the authority is a simulator, and
 *  - remembers the last failure (transport error or AAD error body) so the token
 *    provider can tell "unreachable" from "rejected" when MSAL only reports a
 *    generic discovery error.
 */
import { rootCertificates } from 'node:tls'
import { Agent, request } from 'undici'
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node'
import { parseRetryAfter } from '../upstream/errors.js'
import { transportCode } from '../upstream/misconfiguration.js'

const MSAL_INSTANCE_DISCOVERY = 'https://login.microsoftonline.com/common/discovery/instance'
const DEFAULT_TIMEOUT_MS = 30_000

export interface MsalNetworkClientOptions {
  /** Extra PEM certificate(s) to trust on top of Node's root store. */
  ca?: string
  /** Origin (https://host:port) that answers MSAL's instance discovery instead of login.microsoftonline.com. */
  instanceDiscoveryOrigin?: string
  /** Per-request timeout when MSAL gives none. */
  timeoutMs?: number
}

export type NetworkFailure =
  | {
    kind: 'transport'
    seq: number
    message: string
    /** Node.js/undici error code (e.g. a TLS verification failure). */
    code?: string
  }
  | { kind: 'bad-response', seq: number, status: number, message: string }
  | {
    kind: 'aad'
    seq: number
    status: number
    error: string
    errorCode?: number
    description?: string
    retryAfterMs?: number
  }

export class MsalNetworkClient implements INetworkModule {
  private readonly agent: Agent
  private readonly timeoutMs: number
  private seq = 0
  /** The most recent failure; `seq` increases with every failure. */
  lastFailure: NetworkFailure | undefined

  constructor (private readonly options: MsalNetworkClientOptions = {}) {
    // `ca` replaces the default trust store, so keep the public roots too.
    const ca = options.ca !== undefined ? [...rootCertificates, options.ca] : undefined
    this.agent = new Agent({ connect: ca !== undefined ? { ca } : {}, keepAliveTimeout: 10_000 })
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  /** Sequence number of the latest failure (0 when none); compare before/after a call. */
  get failureSeq (): number { return this.seq }

  async sendGetRequestAsync<T> (url: string, options?: NetworkRequestOptions,
    timeout?: number): Promise<NetworkResponse<T>> {
    return await this.send<T>('GET', this.route(url), options, timeout)
  }

  async sendPostRequestAsync<T> (url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return await this.send<T>('POST', url, options)
  }

  async close (): Promise<void> {
    await this.agent.close()
  }

  private route (url: string): string {
    const origin = this.options.instanceDiscoveryOrigin
    if (origin !== undefined && url.startsWith(MSAL_INSTANCE_DISCOVERY)) {
      return origin.replace(/\/+$/, '') + url.slice('https://login.microsoftonline.com'.length)
    }
    return url
  }

  private async send<T> (method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions,
    timeout?: number): Promise<NetworkResponse<T>> {
    let res: Awaited<ReturnType<typeof request>>
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: options?.headers ?? {},
        ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
        signal: AbortSignal.timeout(timeout !== undefined && timeout > 0 ? timeout : this.timeoutMs)
      })
    } catch (err) {
      // Only the host and the cause: the URL has no secrets, but keep messages short.
      const message = `${method} ${safeOrigin(url)} failed: ${describe(err)}`
      const code = transportCode(err)
      this.lastFailure = { kind: 'transport', seq: ++this.seq, message, ...(code !== undefined ? { code } : {}) }
      throw new Error(message)
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
    }
    const text = await res.body.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      const message = `${method} ${safeOrigin(url)} answered ${res.statusCode} with a non-JSON body`
      this.lastFailure = { kind: 'bad-response', seq: ++this.seq, status: res.statusCode, message }
      throw new Error(message)
    }
    if (res.statusCode >= 400) this.recordAadError(res.statusCode, body, headers['retry-after'])
    return { headers, body: body as T, status: res.statusCode }
  }

  private recordAadError (status: number, body: unknown, retryAfter: string | undefined): void {
    const b = (typeof body === 'object' && body !== null ? body : {}) as {
      error?: unknown
      error_codes?: unknown
      error_description?: unknown
    }
    const codes = Array.isArray(b.error_codes) ? b.error_codes : []
    // Entra's description never contains credentials; keep its first line (the AADSTS sentence).
    const description = typeof b.error_description === 'string' ? b.error_description.split(/\r?\n/)[0] : undefined
    const retryAfterMs = parseRetryAfter(retryAfter)
    this.lastFailure = {
      kind: 'aad',
      seq: ++this.seq,
      status,
      error: typeof b.error === 'string' ? b.error : `http_${status}`,
      ...(typeof codes[0] === 'number' ? { errorCode: codes[0] } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {})
    }
  }
}

function safeOrigin (url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return '(invalid url)'
  }
}

function describe (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = transportCode(err)
  return code !== undefined ? `${err.message} (${code})` : err.message
}
