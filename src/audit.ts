/**
 * The audit log (README "Audit log"): one JSON line per export, import, folder change, mailbox registered or
 * removed, and denied request —
 * who (client, credential kind and id, address), what (event, mailbox, backend), how much (items requested,
 * succeeded, failed, item bytes) and the outcome — on its own pino destination (AUDIT_LOG), apart from the
 * service log, so it can be shipped to a SIEM as is. It never carries item data, subjects, tokens or keys:
 * only the names of credentials.
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import pino, { type DestinationStream, type Logger } from 'pino'
import { ConfigInvalid } from './errors.js'

/** What a record is about. */
export type AuditEvent =
  | 'job.create'
  | 'job.pause'
  | 'job.resume'
  | 'job.cancel'
  | 'job.run'
  | 'job.verify'
  | 'mailbox.add'
  | 'mailbox.remove'
  | 'items.export'
  | 'items.import'
  | 'items.delete'
  | 'items.move'
  | 'folder.create'
  | 'folder.rename'
  | 'folder.delete'
  | 'access.denied'

/**
 * - `success`: everything asked was done;
 * - `partial`: a batch where some items failed (see `items`), or a streamed export that stopped before its end;
 * - `failure`: nothing was done (the status and `code` say why), or every item failed;
 * - `denied`: the caller was refused (401/403: no or a bad credential, a missing scope, a mailbox not allowed).
 */
export type AuditOutcome = 'success' | 'partial' | 'failure' | 'denied'

/** One audit record (the JSON line has these fields plus pino's `time`, `level`, `msg` = event, `log` = "audit"). */
export interface AuditRecord {
  event: AuditEvent
  outcome: AuditOutcome
  /** HTTP status of the answer. */
  status: number
  /** MBG_ERR_* code when the answer is a problem. */
  code?: string
  requestId: string
  /** The caller's client (`auth.clients[].name`), when authenticated. */
  client?: string
  /** How the caller proved itself (`apiKey`, `bearer`, `none`) and which credential (key id, app id); no secret. */
  credential?: { kind: string, id?: string }
  /** The address the request came from (Fastify `request.ip`: the socket's, or per `trustProxy`). */
  ip: string
  method: string
  /** The route template, e.g. `/mailboxes/:mailbox/items::export`. */
  route: string
  /** The mailbox's SMTP address as resolved (or as named, when it was never resolved). */
  mailbox?: string
  /** Gateway mailbox id (primary or archive). */
  mailboxId?: string
  /** Configured backend name. */
  backend?: string
  /** Item counts of a batch: requested, succeeded, failed (with unknown outcome among them: `unknown`). */
  items?: { requested: number, succeeded: number, failed: number, unknown?: number }
  /** Bytes of item data moved (decoded size of the base64 streams exported or sent for import). */
  bytes?: number
  /** A streamed export: whether it reached its end (false: cut off; the caller resumes it with a cursor). */
  complete?: boolean
  /** Folder id created, renamed or deleted. */
  folderId?: string
  /** The copy job a `job.*` record is about: the id the request named, or the one `job.create` made. */
  jobId?: string
  durationMs: number
}

/** Writes audit records as JSON lines to one destination. */
export class AuditLog {
  private readonly logger: Logger

  /** `destination`: a pino destination (see `auditDestination`); `false` writes nothing. */
  constructor (private readonly destination: DestinationStream | false) {
    this.logger = pino({
      level: destination === false ? 'silent' : 'info',
      base: { log: 'audit' },
      timestamp: pino.stdTimeFunctions.isoTime
    }, destination === false ? undefined : destination)
  }

  record (entry: AuditRecord): void {
    this.logger.info(entry, entry.event)
  }

  /** Writes what is buffered (called at shutdown). */
  flush (): void {
    this.logger.flush()
  }

  /**
   * Reopens a file destination (after log rotation moved the file; the server does it on SIGHUP); stdout, stderr
   * and streams are left as they are. Throws when the file cannot be opened again.
   */
  reopen (): void {
    const d = this.destination as { reopen?: () => void, file?: unknown } | false
    if (d !== false && typeof d.file === 'string' && typeof d.reopen === 'function') d.reopen()
  }
}

/**
 * The destination AUDIT_LOG names: `stdout` (default: JSON lines among the service log, told apart by
 * `"log":"audit"`), `stderr`, `off`, or a file path (appended to; the file is created, and its folder when the folder's
 * parent exists; the file
 * readable by its owner only; reopened on SIGHUP after log rotation). Writes are synchronous: a record is on its
 * way before the answer is. Throws MBG_ERR_CONFIG_INVALID naming the path when the file cannot be opened.
 */
export function auditDestination (setting: string): DestinationStream | false {
  if (setting === 'off') return false
  if (setting === 'stdout') return pino.destination({ dest: 1, sync: true })
  if (setting === 'stderr') return pino.destination({ dest: 2, sync: true })
  try {
    // One level only: Node's recursive mkdir spins for ever under /proc.
    if (!existsSync(dirname(setting))) mkdirSync(dirname(setting))
    closeSync(openSync(setting, 'a', 0o600))
  } catch (err) {
    throw new ConfigInvalid(`AUDIT_LOG: cannot open ${setting} for appending: ${(err as Error).message}`)
  }
  return pino.destination({ dest: setting, append: true, sync: true, mode: 0o600 })
}
