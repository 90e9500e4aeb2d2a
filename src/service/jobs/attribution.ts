/**
 * Makes a copy job's writes attributable: the target backend a job runs on is wrapped so each write call
 * (createFolder, renameFolder, deleteFolder, importBatch, deleteItems, moveItems) logs a `job write` line (debug)
 * naming the job, the operation, the mailbox, the backend, how many items it carried and its outcome, and is
 * tallied per operation for the runner's `job pass ended` line (info). Every backend call of a job already names
 * the job as its fair-queue caller (`job:<id>`, src/service/caller.ts).
 */
import type { MailboxBackend } from '../../backends/mailbox-backend.js'
import type { MailboxTarget } from '../items.js'

/** The port's calls that change a mailbox. */
const WRITES = new Set<string>(['createFolder', 'renameFolder', 'deleteFolder', 'importBatch', 'deleteItems',
  'moveItems'])

export interface WriteLog {
  debug?: (obj: object, msg: string) => void
}

/** Per operation: calls made, items they carried, calls that failed as a whole. */
export type WriteTally = Record<string, { calls: number, items: number, failed: number }>

/** `target` whose backend logs and tallies each write call of job `jobId` (into `tally`). */
export function attributed (target: MailboxTarget, jobId: string, log: WriteLog, tally: WriteTally): MailboxTarget {
  const inner = target.backend
  const mailbox = target.mailbox.id
  const backend = new Proxy(inner, {
    get (obj, prop) {
      const value: unknown = Reflect.get(obj, prop, obj)
      if (typeof prop !== 'string' || !WRITES.has(prop) || typeof value !== 'function') return value
      return async (...args: unknown[]): Promise<unknown> => {
        const items = Array.isArray(args[1]) ? args[1].length : 1
        const t = tally[prop] ??= { calls: 0, items: 0, failed: 0 }
        t.calls++
        t.items += items
        const line = { job: jobId, op: prop, mailbox, backend: inner.name, items }
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args)
          log.debug?.({ ...line, outcome: 'ok' }, 'job write')
          return result
        } catch (err) {
          t.failed++
          const code = (err as { code?: unknown }).code
          log.debug?.({ ...line, outcome: 'failed', ...(typeof code === 'string' ? { code } : {}) }, 'job write')
          throw err
        }
      }
    }
  }) as MailboxBackend
  return { ...target, backend }
}
