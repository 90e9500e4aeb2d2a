/**
 * Log capture for tests. Every captured line is also appended to
 * .tap/test-logs/, which test/suite-after.ts scans once the whole suite has run:
 * no bearer token, client secret, Basic credential, NTLM Type 3 message or import-URL authtoken may
 * appear anywhere in what the suite logged (gateway, adapters, simulators).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { loggerOptions } from '../../src/logger.js'

export const LOG_DIR = fileURLToPath(new URL('../../.tap/test-logs/', import.meta.url))
const SECRETS_FILE = `${LOG_DIR}secrets.txt`
let file: string | undefined

/** Adds lines (e.g. a child process's output) to the suite-wide log scan. */
export function persist (lines: string[]): void {
  if (lines.length === 0) return
  if (file === undefined) {
    mkdirSync(LOG_DIR, { recursive: true })
    file = `${LOG_DIR}${process.pid}.ndjson`
  }
  appendFileSync(file, `${lines.join('\n')}\n`)
}

/** Declares a credential a test uses, so the suite-wide check looks for it too. */
export function registerSecret (...secrets: string[]): void {
  mkdirSync(LOG_DIR, { recursive: true })
  appendFileSync(SECRETS_FILE, secrets.map((s) => `${s}\n`).join(''))
}

export interface LogCapture {
  lines: string[]
  logger: pino.Logger
}

/**
 * A pino logger writing into `lines` (and the suite log). `redaction: false` gives a plain
 * pino logger, for checking that a component never logs a secret in the first place.
 */
export function captureLogs (level = 'debug', options: { redaction?: boolean } = {}, lines: string[] = []): LogCapture {
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      const fresh = chunk.toString('utf8').split('\n').filter((l) => l.length > 0)
      lines.push(...fresh)
      persist(fresh)
      cb()
    }
  })
  return { lines, logger: pino(options.redaction === false ? { level } : loggerOptions(level), stream) }
}

/**
 * What must never be logged: JWTs, un-redacted authtoken values, Basic credentials, NTLM Type 3
 * messages, known secrets.
 */
export function findSecrets (lines: string[], secrets: string[] = []): string[] {
  const hits: string[] = []
  for (const line of lines) {
    if (/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/.test(line)) { hits.push(`JWT in: ${line.slice(0, 200)}`) }
    if (/authtoken=(?!\[REDACTED\])[^&"\s]+/i.test(line)) hits.push(`authtoken in: ${line.slice(0, 200)}`)
    if (/Basic [A-Za-z0-9+/=]{8,}/.test(line)) hits.push(`Basic credentials in: ${line.slice(0, 200)}`)
    // An NTLM Type 3 message ("NTLMSSP\0" + type 3, base64): a proof of the password that can be cracked offline.
    if (line.includes('TlRMTVNTUAADAAAA')) hits.push(`NTLM Type 3 message in: ${line.slice(0, 200)}`)
    for (const s of secrets) if (s.length > 0 && line.includes(s)) hits.push(`secret in: ${line.slice(0, 200)}`)
  }
  return hits
}

/** Scans every persisted log file in `dir` for secrets; returns the number of lines read and the hits. */
export function scanLogDir (dir: string,
  knownSecrets: string[]): { files: number, lines: number, secrets: number, hits: string[] } {
  if (!existsSync(dir)) return { files: 0, lines: 0, secrets: knownSecrets.length, hits: [] }
  const secretsFile = `${dir}secrets.txt`
  const secrets = [
    ...knownSecrets,
    ...(existsSync(secretsFile)
      ? readFileSync(secretsFile, 'utf8')
        .split('\n')
        .filter((s) => s.length > 0)
      : [])
  ]
  const files = readdirSync(dir).filter((f) => f.endsWith('.ndjson'))
  let lines = 0
  const hits: string[] = []
  for (const f of files) {
    const content = readFileSync(`${dir}${f}`, 'utf8').split('\n').filter((l) => l.length > 0)
    lines += content.length
    hits.push(...findSecrets(content, secrets).map((h) => `${f}: ${h}`))
  }
  return { files: files.length, lines, secrets: secrets.length, hits }
}
