/**
 * NTLM for the EWS adapter (on-premises Exchange with Windows authentication, where Basic is
 * usually off). NTLM authenticates a connection, not a request: the negotiate (Type 1) request,
 * the 401 carrying the server's challenge (Type 2) and the authenticate (Type 3) request must all
 * use one keep-alive TCP connection, and the server then takes later requests on that connection
 * as the same user without any header ([MS-NTHT] 2.2 and 3.1,
 * https://learn.microsoft.com/openspecs/windows_protocols/ms-ntht/; protocol brief ews.md, authentication table).
 * An undici Pool may put each request on another socket, so each connection here is an undici
 * Client of its own (one socket, one request at a time) leased to one call at a time; a Client
 * whose socket closed (or that a server answers 401 without a header) goes through the handshake
 * again. Kerberos/Negotiate is not supported.
 *
 * The messages and the NTLMv2 response are built by @node-ntlm/core, chosen because it: is a
 * message-level API (we keep our own undici connections, timeouts and TLS settings); ships
 * TypeScript types; has no native code (des.js, js-md4 in pure JS, needed as OpenSSL 3 has no MD4);
 * answers with NTLMv2 whenever the server's challenge carries target information; and exports the
 * NT hash the EWS simulator verifies with. httpntlm (the library it was ported from) comes with its
 * own HTTP client and no types; @ewsjs/ntlm-client writes its Type 3 into a fixed 1 KiB buffer.
 * Its one weakness, a client challenge drawn from Math.random, does not expose the password (the
 * client challenge is public, and the proof is keyed by the NT hash). To make sure no NTLMv1
 * response is ever sent, a challenge without extended session security and target information
 * is refused (BackendMisconfigured) before the library sees it.
 *
 * Never logged: the password and the Type 3 message (it is a password-equivalent proof an
 * attacker could try to crack offline).
 */
import { hostname } from 'node:os'
import { createType1Message, createType3Message, parseType2Message, type Type2Message } from '@node-ntlm/core'
import { Client, type Dispatcher } from 'undici'
import { UpstreamBadResponse } from '../../errors.js'
import { annotate } from '../../upstream/errors.js'
import { ntlmNotOfferedError, ntlmV1OnlyError } from '../../upstream/misconfiguration.js'
import { sendable, type PiecedBody } from '../../upstream/pieced-body.js'

/** NegotiateFlags bits the check needs ([MS-NLMP] 2.2.2.5). */
const EXTENDED_SESSIONSECURITY = 0x00080000
const TARGET_INFO = 0x00800000
/** Most of a 401 answer's body read (and dropped) before the next leg goes on the same connection. */
const CHALLENGE_BODY_LIMIT = 64 * 1024

/** A Windows account as NTLM sends it: `DOMAIN\user` → ('DOMAIN', 'user'); `user@domain` → ('', 'user@domain'). */
export interface NtlmIdentity { domain: string, user: string }

/**
 * Splits a configured user name ([MS-NLMP] 3.1.5.1.2 sends UserName and DomainName apart; a UPN goes
 * whole as UserName with an empty domain, as requests_ntlm and Windows do).
 */
export function ntlmIdentity (username: string): NtlmIdentity {
  const slash = username.indexOf('\\')
  if (slash < 0) return { domain: '', user: username }
  return { domain: username.slice(0, slash), user: username.slice(slash + 1) }
}

/** The workstation name sent: this host's first DNS label, upper-cased, at most 15 characters (NetBIOS). */
function workstationName (): string {
  return (hostname().split('.')[0] ?? '').toUpperCase().replace(/[^A-Z0-9-]/g, '').slice(0, 15)
}

export interface NtlmSettings {
  /** Backend name, for error messages naming its settings. */
  backend: string
  /** DOMAIN\user or user@domain. */
  username: string
  password: string
  /** `https://host:port` of the EWS endpoint. */
  origin: string
  /** Options of every undici Client (timeouts, TLS `connect`). */
  client: Client.Options
}

/** One request to send: the adapter's SOAP POST without an Authorization header. */
export interface NtlmRequest {
  path: string
  headers: Record<string, string>
  /** The envelope: text, or in pieces (item data; src/upstream/pieced-body.ts), sent afresh for each leg. */
  body: string | PiecedBody
  signal: AbortSignal
}

interface Connection {
  client: Client
  /** Leased to a call (from the first leg of a handshake until its answer's body is read). */
  busy: boolean
  /** A handshake succeeded on the current socket. */
  authenticated: boolean
  /** Sockets opened so far: a change between two legs means the handshake lost its connection. */
  sockets: number
}

/**
 * The NTLM-authenticated connections to one EWS endpoint. `request` leases an idle connection
 * (opening a new one when all are busy: as many as calls in flight, like the Pool it replaces),
 * authenticates it when it is not, and returns the answer to the request; the connection is
 * released when that answer's body has been read or dropped. A 401 to the Type 3 request is
 * returned as is (the adapter names the credentials); a server that offers no NTLM, or only
 * NTLMv1, is a BackendMisconfigured error.
 */
export class NtlmConnections {
  private readonly connections: Connection[] = []
  private readonly identity: NtlmIdentity
  private readonly workstation = workstationName()
  private closed = false

  constructor (private readonly settings: NtlmSettings) {
    this.identity = ntlmIdentity(settings.username)
  }

  /** Sends `req` on an authenticated connection; the caller must read or dump the body. */
  async request (req: NtlmRequest): Promise<Dispatcher.ResponseData> {
    const conn = this.lease()
    try {
      let res: Dispatcher.ResponseData | undefined
      if (conn.authenticated) {
        res = await this.send(conn, req, undefined)
        // The server no longer knows this connection (a new socket): a 401 means nothing was done.
        if (res.statusCode === 401) {
          await drain(res)
          conn.authenticated = false
          res = undefined
        }
      }
      res ??= await this.handshake(conn, req)
      return release(res, conn)
    } catch (err) {
      conn.busy = false
      throw err
    }
  }

  async close (): Promise<void> {
    this.closed = true
    const clients = this.connections.splice(0).map((c) => c.client)
    await Promise.all(clients.map(async (c) => await c.close()))
  }

  private lease (): Connection {
    if (this.closed) throw new Error('NTLM connections closed')
    let conn = this.connections.find((c) => !c.busy)
    if (conn === undefined) {
      const fresh: Connection = {
        client: new Client(this.settings.origin, { ...this.settings.client, pipelining: 1 }),
        busy: false,
        authenticated: false,
        sockets: 0
      }
      fresh.client.on('connect', () => { fresh.sockets++ })
      fresh.client.on('disconnect', () => { fresh.authenticated = false })
      this.connections.push(fresh)
      conn = fresh
    }
    conn.busy = true
    return conn
  }

  private async send (conn: Connection, req: NtlmRequest, authorization: string | undefined,
    body = req.body): Promise<Dispatcher.ResponseData> {
    const send = sendable(body, authorization !== undefined ? { ...req.headers, authorization } : req.headers)
    return await conn.client.request({
      path: req.path,
      method: 'POST',
      headers: send.headers,
      body: send.body,
      signal: req.signal
    })
  }

  /**
   * Type 1 (an empty POST, as curl sends it: the envelope goes once, with Type 3) → 401 + Type 2 →
   * Type 3 with the request. A socket change between the legs (the server closed the connection
   * after its challenge) restarts the handshake once.
   */
  private async handshake (conn: Connection, req: NtlmRequest): Promise<Dispatcher.ResponseData> {
    const { backend } = this.settings
    const { domain, user } = this.identity
    const names = { domain, workstation: this.workstation }
    for (let attempt = 1; ; attempt++) {
      const negotiate = await this.send(conn, req, createType1Message(names), '')
      if (negotiate.statusCode !== 401) {
        // Throttled or unavailable: nothing was done (the body was empty); the adapter reads the status.
        if (negotiate.statusCode === 429 || negotiate.statusCode > 500) return negotiate
        await drain(negotiate)
        throw new UpstreamBadResponse(`${backend}: answered the NTLM negotiation with HTTP ${negotiate.statusCode}`)
      }
      await drain(negotiate)
      const offered = headerValues(negotiate.headers['www-authenticate'])
      const challenge = offered.find((v) => /^NTLM\s+\S/i.test(v))
      if (challenge === undefined) {
        throw ntlmNotOfferedError(backend, schemes(offered))
      }
      let type2: Type2Message
      try {
        type2 = parseType2Message(challenge)
      } catch {
        throw annotate(new UpstreamBadResponse(`${backend}: unreadable NTLM challenge`), { retry: 'safe' })
      }
      if ((type2.negotiateFlags & EXTENDED_SESSIONSECURITY) === 0 || (type2.negotiateFlags & TARGET_INFO) === 0 ||
        type2.targetInfo === undefined || type2.targetInfo.length === 0) {
        throw ntlmV1OnlyError(backend)
      }
      const socket = conn.sockets
      const authenticate = createType3Message(type2, { ...names, username: user, password: this.settings.password })
      const res = await this.send(conn, req, authenticate)
      if (res.statusCode !== 401) {
        conn.authenticated = true
        return res
      }
      if (conn.sockets === socket || attempt >= 2) return res
      await drain(res)
    }
  }
}

/**
 * Releases `conn` once the body of `res` has been read ('end': before the reader sees it, so a call made
 * right after finds the connection free), dropped or failed ('close').
 */
function release (res: Dispatcher.ResponseData, conn: Connection): Dispatcher.ResponseData {
  const free = (): void => { conn.busy = false }
  if (res.body.readableEnded || res.body.destroyed) free()
  else {
    res.body.once('end', free)
    res.body.once('close', free)
  }
  return res
}

/** Reads and drops a body so the connection can carry the next leg (a larger body closes it). */
async function drain (res: Dispatcher.ResponseData): Promise<void> {
  await res.body.dump({ limit: CHALLENGE_BODY_LIMIT }).catch(() => {})
}

/** The scheme names among challenge pieces ("Basic realm=…" → Basic; a bare "param=value" piece names none). */
function schemes (pieces: string[]): string[] {
  const names = pieces.map((p) => p.split(/\s+/)[0]).filter((n) => /^[A-Za-z][\w.-]*$/.test(n))
  return [...new Set(names)]
}

/**
 * The challenges of `WWW-Authenticate` headers, one string per challenge. A header may list several
 * ("Negotiate, NTLM"); base64 holds no comma, and a comma inside a quoted Basic realm only splits off a
 * piece that names no scheme we look for.
 */
function headerValues (value: string | string[] | undefined): string[] {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value]
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0)
}
