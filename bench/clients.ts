/**
 * The benchmark's HTTP clients: the gateway's REST API (API key), and the same work sent straight to the
 * simulators as any EWS or Graph client would (hand-written SOAP with Basic auth; Graph JSON with a
 * client-credentials token). One undici Agent per side, keep-alive, enough connections for the concurrency used.
 */
import { Agent, request } from 'undici'

/** A simulator set as bench/sim-process.ts describes it. */
export interface SimSet {
  ews: string
  identity: string
  graph: string
  ca: string
  configFile: string
  credentials: {
    ews: { username: string, password: string }
    app: { clientId: string, clientSecret: string }
  }
}

/** The gateway's REST API at `base`, as the caller holding `apiKey`. */
export class GatewayClient {
  readonly agent = new Agent({ connections: 32, keepAliveTimeout: 60_000 })
  constructor (readonly base: string, readonly apiKey: string) {}

  /** Sends `body` as JSON; returns status and the raw answer text (callers parse what they need). */
  async call (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown):
  Promise<{ status: number, text: string }> {
    const res = await request(`${this.base}${path}`, {
      method,
      dispatcher: this.agent,
      headers: {
        'x-api-key': this.apiKey,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {})
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {})
    })
    return { status: res.statusCode, text: await res.body.text() }
  }

  /** As `call`, failing unless the status is 2xx; the answer parsed. */
  async json<T = any> (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const { status, text } = await this.call(method, path, body)
    if (status < 200 || status >= 300) throw new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`)
    return (text.length > 0 ? JSON.parse(text) : undefined) as T
  }

  async close (): Promise<void> { await this.agent.close() }
}

const SOAP_HEAD = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope ' +
  'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" ' +
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">'

/** Straight to the EWS simulator: one SOAP call per method, impersonating the mailbox (ews.md §3). */
export class EwsDirect {
  readonly agent = new Agent({ connections: 32, keepAliveTimeout: 60_000 })
  private readonly basic: string
  constructor (readonly url: string, credentials: { username: string, password: string }) {
    this.basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  }

  /** Posts `body` (the inside of soap:Body) for mailbox `smtp`; returns the answer text; fails unless 200. */
  async call (smtp: string, body: string): Promise<string> {
    const res = await request(this.url, {
      method: 'POST',
      dispatcher: this.agent,
      body: this.envelope(smtp, body),
      headers: { 'content-type': 'text/xml; charset=utf-8', authorization: this.basic, 'x-anchormailbox': smtp }
    })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`EWS ${res.statusCode}: ${text.slice(0, 300)}`)
    return text
  }

  envelope (smtp: string, body: string): string {
    return SOAP_HEAD + '<soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation>' +
      `<t:ConnectingSID><t:SmtpAddress>${smtp}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>` +
      `</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  }

  headers (smtp: string): Record<string, string> {
    return { 'content-type': 'text/xml; charset=utf-8', authorization: this.basic, 'x-anchormailbox': smtp }
  }

  /** ExportItems of `ids` (EWS ids); returns the base64 streams in order; fails on any error message. */
  async exportItems (smtp: string, ids: string[]): Promise<string[]> {
    const xml = await this.call(smtp,
      `<m:ExportItems><m:ItemIds>${ids.map((i) => `<t:ItemId Id="${i}"/>`).join('')}</m:ItemIds></m:ExportItems>`)
    const data = [...xml.matchAll(/<m:Data>([^<]*)<\/m:Data>/g)].map((m) => m[1])
    if (data.length !== ids.length) throw new Error(`ExportItems: ${data.length} of ${ids.length} items`)
    return data
  }

  /** UploadItems (CreateNew) of `data` into `folderId` (an EWS id); fails unless every item succeeded. */
  async uploadItems (smtp: string, folderId: string, data: string[]): Promise<void> {
    const items = data.map((d) =>
      `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="${folderId}"/><t:Data>${d}</t:Data></t:Item>`)
    const xml = await this.call(smtp, `<m:UploadItems><m:Items>${items.join('')}</m:Items></m:UploadItems>`)
    const ok = xml.match(/ResponseClass="Success"/g)?.length ?? 0
    if (ok !== data.length) throw new Error(`UploadItems: ${ok} of ${data.length} items stored`)
  }

  /** FindItem's first page of `max` items of `folderId`, the fields the gateway's listing asks for. */
  findItemBody (folderId: string, max: number): string {
    const fields = ['item:ItemClass', 'item:Subject', 'item:Size', 'item:DateTimeCreated', 'item:LastModifiedTime']
    return '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
      fields.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('') +
      '<t:ExtendedFieldURI PropertyTag="0x300B" PropertyType="Binary"/></t:AdditionalProperties></m:ItemShape>' +
      `<m:IndexedPageItemView MaxEntriesReturned="${max}" Offset="0" BasePoint="Beginning"/>` +
      '<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:DateTimeCreated"/></t:FieldOrder>' +
      `</m:SortOrder><m:ParentFolderIds><t:FolderId Id="${folderId}"/></m:ParentFolderIds></m:FindItem>`
  }

  async close (): Promise<void> { await this.agent.close() }
}

/** Straight to the Graph simulator (mailbox export/import API, graph.md), with a client-credentials token. */
export class GraphDirect {
  readonly agent: Agent
  token = ''
  constructor (readonly sims: SimSet) {
    this.agent = new Agent({ connections: 32, keepAliveTimeout: 60_000, connect: { ca: sims.ca } })
  }

  async authenticate (): Promise<void> {
    const res = await request(`${this.sims.identity}/oauth2/v2.0/token`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.sims.credentials.app.clientId,
        client_secret: this.sims.credentials.app.clientSecret,
        scope: 'https://graph.microsoft.com/.default'
      }).toString()
    })
    this.token = ((await res.body.json()) as { access_token: string }).access_token
  }

  /** The base URL of a mailbox (`graphMailbox`: its id as the Graph simulator names it). */
  base (graphMailbox: string): string {
    return `${this.sims.graph}/v1.0/admin/exchange/mailboxes/${graphMailbox}`
  }

  async call<T = any> (method: 'GET' | 'POST', url: string, body?: unknown, auth = true): Promise<T> {
    const res = await request(url, {
      method,
      dispatcher: this.agent,
      headers: { ...(auth ? { authorization: `Bearer ${this.token}` } : {}), 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.body.text()
    if (res.statusCode >= 300) throw new Error(`Graph ${res.statusCode}: ${text.slice(0, 300)}`)
    return (text.length > 0 ? JSON.parse(text) : undefined) as T
  }

  /** exportItems of up to 20 ids; returns the base64 streams in order. */
  async exportItems (graphMailbox: string, ids: string[]): Promise<string[]> {
    const answer = await this.call<{ value: Array<{ id: string, data?: string, error?: unknown }> }>(
      'POST', `${this.base(graphMailbox)}/exportItems`, { itemIds: ids })
    const data = answer.value.map((v) => v.data).filter((d): d is string => d !== undefined)
    if (data.length !== ids.length) throw new Error(`exportItems: ${data.length} of ${ids.length} items`)
    return data
  }

  /** An import session's URL (createImportSession; valid for its lifetime, used without a token). */
  async importUrl (graphMailbox: string): Promise<string> {
    return (await this.call<{ importUrl: string }>('POST', `${this.base(graphMailbox)}/createImportSession`, {}))
      .importUrl
  }

  /** One item into `folderId` (Graph id) through an import session's URL. */
  async importItem (importUrl: string, folderId: string, data: string): Promise<void> {
    await this.call('POST', importUrl, { FolderId: folderId, Mode: 'create', Data: data }, false)
  }

  async close (): Promise<void> { await this.agent.close() }
}

/** Runs `tasks` with at most `concurrency` in flight; rejects with the first failure. */
export async function pool (tasks: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]()
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker))
}

/** `xs` in chunks of `size`. */
export function chunks<T> (xs: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}
