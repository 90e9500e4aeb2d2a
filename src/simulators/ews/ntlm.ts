/**
 * The server side of NTLM for the EWS simulator, as IIS does it with Windows authentication
 * (connection-based): a Type 1 NEGOTIATE_MESSAGE gets a 401 with a Type 2 CHALLENGE_MESSAGE
 * carrying a random server challenge; the Type 3 AUTHENTICATE_MESSAGE that follows on the same
 * connection is checked (NTLMv2 only) and, when it verifies, binds the account to that
 * connection. Message layouts and the NTLMv2 computation: [MS-NLMP] 2.2.1.1–2.2.1.3 and 3.3.2,
 * https://learn.microsoft.com/openspecs/windows_protocols/ms-nlmp/.
 *
 * Crypto: the NT hash (MD4 of the UTF-16LE password) comes from @node-ntlm/core, the library the
 * gateway builds its messages with (Node.js 17+ on OpenSSL 3 has no md4 digest by default); the
 * NTLMv2 proof is HMAC-MD5 from node:crypto, as [MS-NLMP] 3.3.2 defines it. Not modelled: NTLMv1
 * (refused, as a server with LmCompatibilityLevel 5 does), session keys, signing, sealing, MIC.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createNTHashedPasswordV1 } from '@node-ntlm/core'
import type { EwsAccount } from './types.js'

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1')

/** NegotiateFlags bits used here ([MS-NLMP] 2.2.2.5). */
const FLAG = {
  UNICODE: 0x00000001,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000
}
const CHALLENGE_FLAGS = (FLAG.UNICODE | FLAG.REQUEST_TARGET | FLAG.NTLM | FLAG.ALWAYS_SIGN | FLAG.TARGET_TYPE_DOMAIN |
  FLAG.EXTENDED_SESSIONSECURITY | FLAG.TARGET_INFO | FLAG.VERSION | FLAG.N128 | FLAG.N56) >>> 0

/** AV_PAIR ids ([MS-NLMP] 2.2.2.1). */
const AV = { EOL: 0, NB_COMPUTER: 1, NB_DOMAIN: 2, DNS_COMPUTER: 3, DNS_DOMAIN: 4, TIMESTAMP: 7 }

/** The simulated Windows domain: NetBIOS name and DNS name. */
export const NTLM_DOMAIN = { netbios: 'CONTOSO', dns: 'contoso.example', computer: 'EWSSIM01' }

/** What one connection has gone through: the challenge it was sent, the account it proved. */
export interface NtlmConnectionState {
  /** The 8-byte server challenge of the last Type 2 sent on this connection. */
  challenge?: Buffer
  /** The account bound to this connection by a verified Type 3. */
  account?: EwsAccount
}

/** One step of the handshake: answer 401 with `challenge` (a `WWW-Authenticate` value), or the outcome. */
export type NtlmStep =
  | { step: 'challenge', header: string }
  | { step: 'authenticated', account: EwsAccount }
  | { step: 'failed', reason: string }

function utf16 (text: string): Buffer {
  return Buffer.from(text, 'utf16le')
}

function avPair (id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt16LE(id, 0)
  head.writeUInt16LE(value.length, 2)
  return Buffer.concat([head, value])
}

/** Now as a FILETIME: 100 ns intervals since 1601-01-01, little-endian. */
function fileTime (): Buffer {
  const buf = Buffer.alloc(8)
  buf.writeBigUInt64LE((BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n)
  return buf
}

/** A CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2) with TargetName and TargetInfo (which makes clients answer NTLMv2). */
function challengeMessage (serverChallenge: Buffer): Buffer {
  const targetName = utf16(NTLM_DOMAIN.netbios)
  const targetInfo = Buffer.concat([
    avPair(AV.NB_DOMAIN, utf16(NTLM_DOMAIN.netbios)),
    avPair(AV.NB_COMPUTER, utf16(NTLM_DOMAIN.computer)),
    avPair(AV.DNS_DOMAIN, utf16(NTLM_DOMAIN.dns)),
    avPair(AV.DNS_COMPUTER, utf16(`${NTLM_DOMAIN.computer.toLowerCase()}.${NTLM_DOMAIN.dns}`)),
    avPair(AV.TIMESTAMP, fileTime()),
    avPair(AV.EOL, Buffer.alloc(0))
  ])
  const header = Buffer.alloc(56)
  SIGNATURE.copy(header, 0)
  header.writeUInt32LE(2, 8)
  header.writeUInt16LE(targetName.length, 12)
  header.writeUInt16LE(targetName.length, 14)
  header.writeUInt32LE(56, 16)
  header.writeUInt32LE(CHALLENGE_FLAGS, 20)
  serverChallenge.copy(header, 24)
  header.writeUInt16LE(targetInfo.length, 40)
  header.writeUInt16LE(targetInfo.length, 42)
  header.writeUInt32LE(56 + targetName.length, 44)
  // Version: Windows Server 2019 (10.0.17763), NTLMSSP_REVISION_W2K3.
  header.writeUInt8(10, 48)
  header.writeUInt8(0, 49)
  header.writeUInt16LE(17763, 50)
  header.writeUInt8(15, 55)
  return Buffer.concat([header, targetName, targetInfo])
}

/** A security buffer's payload (len, maxLen, offset at `at`), or undefined when it points outside `msg`. */
function field (msg: Buffer, at: number): Buffer | undefined {
  if (msg.length < at + 8) return undefined
  const length = msg.readUInt16LE(at)
  const offset = msg.readUInt32LE(at + 4)
  if (length === 0) return Buffer.alloc(0)
  if (offset + length > msg.length) return undefined
  return msg.subarray(offset, offset + length)
}

/**
 * The NTLMv2 check of [MS-NLMP] 3.3.2: NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp), where
 * ResponseKeyNT = HMAC_MD5(MD4(UTF-16LE(password)), UTF-16LE(Uppercase(user) ‖ domain)) and the NT response
 * is NTProofStr ‖ temp. User and domain are taken as the client sent them in the Type 3 message.
 */
function ntlmV2Matches (password: string, user: string, domain: string, serverChallenge: Buffer,
  ntResponse: Buffer): boolean {
  const proof = ntResponse.subarray(0, 16)
  const temp = ntResponse.subarray(16)
  const responseKey = createHmac('md5', createNTHashedPasswordV1(password))
    .update(utf16(user.toUpperCase() + domain)).digest()
  const expected = createHmac('md5', responseKey).update(serverChallenge).update(temp).digest()
  return timingSafeEqual(proof, expected)
}

/**
 * The accounts a Type 3 user name may stand for: `user@domain` (UPN) names an account by its whole
 * user name; `DOMAIN\user` or a bare name, an account whose user name (or UPN's part before the @)
 * is `user`, when the domain is empty or this simulator's (CONTOSO, or its DNS name).
 */
function candidates (accounts: EwsAccount[], user: string, domain: string): EwsAccount[] {
  const u = user.toLowerCase()
  const d = domain.toLowerCase()
  const ourDomain = d === '' || d === NTLM_DOMAIN.netbios.toLowerCase() || d === NTLM_DOMAIN.dns
  return accounts.filter((a) => {
    const name = a.username.toLowerCase()
    if (u.includes('@')) return d === '' && name === u
    return ourDomain && (name === u || name.split('@')[0] === u)
  })
}

function decodeMessage (value: string): { type: number, msg: Buffer } | undefined {
  const msg = Buffer.from(value, 'base64')
  if (msg.length < 12 || !msg.subarray(0, 8).equals(SIGNATURE)) return undefined
  return { type: msg.readUInt32LE(8), msg }
}

/**
 * Takes the base64 value of an `Authorization: NTLM …` header on a connection whose state is `state`
 * (changed in place): a Type 1 gets a challenge (any earlier binding is dropped, as a new handshake
 * starts); a Type 3 after a challenge on this connection is verified against `accounts`. Anything
 * else fails. A failure never says which part was wrong.
 */
export function ntlmStep (value: string, state: NtlmConnectionState, accounts: EwsAccount[]): NtlmStep {
  const decoded = decodeMessage(value)
  if (decoded === undefined) return { step: 'failed', reason: 'not an NTLM message' }
  const { type, msg } = decoded
  if (type === 1) {
    state.account = undefined
    state.challenge = randomBytes(8)
    return { step: 'challenge', header: `NTLM ${challengeMessage(state.challenge).toString('base64')}` }
  }
  if (type !== 3) return { step: 'failed', reason: `unexpected message type ${type}` }
  const serverChallenge = state.challenge
  // A challenge answers once: a replayed or second Type 3 needs a new handshake.
  state.challenge = undefined
  if (serverChallenge === undefined) return { step: 'failed', reason: 'no challenge on this connection' }
  if (msg.length < 64) return { step: 'failed', reason: 'short message' }
  const nt = field(msg, 20)
  const domainField = field(msg, 28)
  const userField = field(msg, 36)
  if (nt === undefined || domainField === undefined || userField === undefined) {
    return { step: 'failed', reason: 'a field points outside the message' }
  }
  // NTLMv2: NTProofStr (16) + a blob starting with RespType 1, HiRespType 1; NTLMv1's 24-byte answer is refused.
  if (nt.length < 16 + 28 || nt[16] !== 1 || nt[17] !== 1) return { step: 'failed', reason: 'not NTLMv2' }
  const unicode = (msg.readUInt32LE(60) & FLAG.UNICODE) !== 0
  const text = (b: Buffer): string => b.toString(unicode ? 'utf16le' : 'latin1')
  const user = text(userField)
  const domain = text(domainField)
  const account = candidates(accounts, user, domain)
    .find((a) => ntlmV2Matches(a.password, user, domain, serverChallenge, nt))
  if (account === undefined) return { step: 'failed', reason: 'no account with that user name and password' }
  state.account = account
  return { step: 'authenticated', account }
}
