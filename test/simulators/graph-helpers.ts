/**
 * Test harness for the Graph simulator: a seeded store, a self-signed certificate, an RSA key that
 * signs Graph-audience JWTs, and a small undici client that trusts the certificate.
 */
import { generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose'
import { generate } from 'selfsigned'
import { Agent, request } from 'undici'
import { seedDemoTenant, DEMO_TENANT_ID } from '../../src/simulators/store/seed.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'
import {
  startGraphSimulator,
  type GraphSimulator,
  type GraphSimulatorOptions
} from '../../src/simulators/graph/index.js'

export const ALL_ROLES = [
  'User.Read.All',
  'MailboxFolder.ReadWrite.All',
  'MailboxItem.ReadWrite.All',
  'MailboxItem.ImportExport.All',
  'MailboxItem.Export.All'
]
export const APP_ID = '11111111-2222-3333-4444-555555555555'

export interface Res { status: number, headers: Record<string, string>, text: string, json: any }

export interface Harness {
  sim: GraphSimulator
  store: MailboxStore
  token: (roles?: string[], claims?: Record<string, unknown>) => Promise<string>
  call: (
    method: string,
    url: string,
    init?: { token?: string | null, body?: unknown, headers?: Record<string, string>, roles?: string[] }
  ) => Promise<Res>
  close: () => Promise<void>
}

interface Tap { teardown: (fn: () => unknown) => void }

export async function startHarness (t: Tap, opts: Partial<GraphSimulatorOptions> = {}): Promise<Harness> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
  })
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const store = opts.store ?? seedDemoTenant()
  const verifyBearer = async (token: string): Promise<{ appId: string, roles: string[] } | undefined> => {
    try {
      const { payload } = await jwtVerify(token, publicKey as CryptoKey, { audience: 'https://graph.microsoft.com' })
      return { appId: String(payload.appid), roles: Array.isArray(payload.roles) ? payload.roles.map(String) : [] }
    } catch {
      return undefined
    }
  }
  const sim = await startGraphSimulator({ store, tls: { key: pems.private, cert: pems.cert }, verifyBearer, ...opts })
  const agent = new Agent({ connect: { ca: pems.cert }, connections: 16 })
  const token = async (roles: string[] = ALL_ROLES, claims: Record<string, unknown> = {}): Promise<string> =>
    await new SignJWT({ roles, appid: APP_ID, tid: DEMO_TENANT_ID, ...claims })
      .setProtectedHeader({ alg: 'RS256' })
      .setAudience('https://graph.microsoft.com')
      .setIssuedAt()
      .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : '1h')
      .sign(privateKey)
  const defaultToken = await token()
  const call: Harness['call'] = async (method, url, init = {}) => {
    const headers: Record<string, string> = { ...init.headers }
    const bearer =
      init.roles !== undefined ? await token(init.roles) : init.token === undefined ? defaultToken : init.token
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`
    let body: string | undefined
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
      headers['content-type'] ??= 'application/json'
    }
    const r = await request(url, { method: method as 'GET', headers, body, dispatcher: agent })
    const text = await r.body.text()
    let json: unknown
    try { json = text === '' ? undefined : JSON.parse(text) } catch { json = undefined }
    const h: Record<string, string> = {}
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v
    return { status: r.statusCode, headers: h, text, json }
  }
  const close = async (): Promise<void> => { await sim.close(); await agent.close() }
  t.teardown(close)
  return { sim, store, token, call, close }
}
