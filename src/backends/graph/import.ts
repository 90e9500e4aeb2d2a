/**
 * Import: one item per POST to the session's pre-authenticated importUrl, with
 * PascalCase bodies and NO Authorization header (protocol brief §4.16).
 *
 * Sessions are reused per mailbox (see import-sessions.ts). A 401/403 from the
 * import endpoint means the session's authtoken is dead: renew and retry the item,
 * at most MAX_SESSION_RENEWALS times (the URLs of a mailbox may all expire again
 * while one item waits for its new session). A 409 "...expected in mailbox MBX:x"
 * means the folder lives in an auxiliary archive: open a session there and retry.
 */
import { OutcomeUnknown, toItemError } from '../../errors.js'
import type { ImportItem, ImportResult } from '../mailbox-backend.js'
import { MAILBOX_ID, callFor, rememberAux, type GraphContext, type GraphMailbox } from './context.js'
import { getCi, importError, parseUpstreamError } from './errors.js'
import { changeKeyFromEtag, fromPublicId, isUsableGraphId, toPublicId } from './ids.js'
import { refLabel, type Folders } from './folders.js'
import type { PiecedBody } from './http.js'

const WRONG_MAILBOX = /expected in mailbox\s+'?(MBX:[^\s'"]+)/i

/**
 * Fresh sessions one item may ask for after 401/403 answers (the endpoint refused before storing). More than
 * one: every URL of a mailbox can expire again while the item's new session is being made; a bound, so an
 * endpoint that refuses every session ends in MBG_ERR_UPSTREAM_AUTH.
 */
const MAX_SESSION_RENEWALS = 3

/**
 * Upload one item (`folderId` and `itemId` are Graph ids); returns the Graph itemId and the
 * changeKey of the new version, or throws a mapped error. Every POST goes through the policy on
 * its own (its upload cost is the body's bytes), and so does a session it needs first: never one
 * inside the other, which could wait for a slot its own caller holds.
 */
async function upload (
  ctx: GraphContext, mailbox: GraphMailbox, folderId: string, item: ImportItem, itemId: string | undefined,
  signal?: AbortSignal
): Promise<{ itemId: string, changeKey: string }> {
  const payload = importBody(folderId, item, itemId)
  // Only an update may be blindly retried: re-running a create whose outcome is unknown can duplicate the item.
  const run = callFor(ctx, mailbox, 'importItem', item.mode === 'update', signal,
    { uploadBytes: payload.bytes })
  let target = mailbox.mbx
  let renewals = 0
  let rerouted = 0
  for (;;) {
    const session = await ctx.sessions.get(target)
    const res = await ctx.policy.run(run, async () => {
      const res = await ctx.http.send(
        'POST',
        session.importUrl,
        { 'content-type': 'application/json', accept: 'application/json' },
        payload,
        signal
      )
      if (res.status >= 200 && res.status < 300) return res
      if ((res.status === 401 || res.status === 403) && renewals < MAX_SESSION_RENEWALS) return res
      if (res.status === 409 && rerouted < 2 && otherMailbox(res, target) !== undefined) return res
      throw importError(res.status, res.text, res.headers, {
        ...(item.mode === 'update' ? { itemId: item.itemId } : {}),
        folderId: toPublicId(folderId),
        folderLabel: refLabel(item.folderId),
        folderFrom: 'id' in item.folderId ? 'caller' : 'wellKnown'
      })
    })
    if (res.status >= 200 && res.status < 300) {
      let parsed: unknown
      try {
        parsed = JSON.parse(res.text)
      } catch {
        // A 2xx means the endpoint stored the item; only its new id is lost with the answer. Not "not done".
        throw new OutcomeUnknown('the import endpoint answered success with a body that is not JSON (cut short?)')
      }
      const newId = getCi(parsed, 'itemId')
      const changeKey = getCi(parsed, 'changeKey')
      if (typeof newId !== 'string' || !isUsableGraphId(newId)) {
        throw new OutcomeUnknown('the import endpoint answered success without a usable itemId')
      }
      // The version may come only as an entity tag (`@odata.etag`: W/"<changeKey>"). The item was written
      // either way: an answer with neither is still a success (reporting a failure would invite a duplicate
      // on retry), with an empty changeKey and a warning naming the stored item.
      const version = typeof changeKey === 'string' && changeKey !== ''
        ? changeKey
        : changeKeyFromEtag(getCi(parsed, '@odata.etag')) ?? ''
      if (version === '') {
        ctx.logger.warn({ itemId: toPublicId(newId), folderId: toPublicId(folderId), mode: item.mode },
          'the import endpoint answered without a change key: item stored, changeKey left empty')
      }
      return { itemId: newId, changeKey: version }
    }
    if ((res.status === 401 || res.status === 403) && renewals < MAX_SESSION_RENEWALS) {
      ctx.sessions.invalidate(session)
      renewals++
      ctx.logger.debug({ mailbox: target, status: res.status }, 'import session refused: renewing')
      continue
    }
    // A 409 naming another mailbox: the folder lives in an auxiliary archive.
    const other = otherMailbox(res, target) as string
    ctx.logger.debug({ from: target, to: other }, 'import rerouted to the mailbox the endpoint named')
    if (mailbox.archive) rememberAux(ctx, mailbox.mbx, other)
    target = other
    rerouted++
  }
}

/** Characters of item data per piece of a large import body. */
const PIECE_CHARS = 1024 * 1024

/**
 * The JSON body of one import POST: exactly the UTF-8 bytes of `JSON.stringify({ FolderId, Mode, ItemId?,
 * ChangeKey?, Data })` (protocol brief §4.16; ItemId and ChangeKey only for an update of a known item). `data` is
 * strict base64 (the port's contract, mailbox-backend.ts ImportItem; the service checks it): ASCII that JSON never
 * escapes (RFC 8259 section 7), so it is copied in as it is, never serialized, scanned or measured again. Up to
 * PIECE_CHARS of data the body is one Buffer; past it, the body is written in pieces as the socket takes them:
 * data given as bytes (`ItemData`) in slices of them (never copied), data given as text in pieces of a megabyte
 * made one at a time, so a large item is never held twice.
 */
export function importBody (folderId: string, item: ImportItem, itemId: string | undefined): PiecedBody {
  const fields: Record<string, string | undefined> = { FolderId: folderId, Mode: item.mode }
  // Create mode must not carry ItemId/ChangeKey (the endpoint rejects them).
  if (item.mode === 'update' && itemId !== undefined) {
    fields.ItemId = itemId
    fields.ChangeKey = item.changeKey
  }
  const head = Buffer.from(`${JSON.stringify(fields).slice(0, -1)},"Data":"`, 'utf8')
  const data = item.data
  const bytes = head.length + data.length + TAIL.length
  if (data.length <= PIECE_CHARS) {
    const whole = Buffer.allocUnsafe(bytes)
    head.copy(whole, 0)
    if (typeof data === 'string') whole.write(data, head.length, 'latin1')
    else data.copy(whole, head.length)
    TAIL.copy(whole, head.length + data.length)
    return { bytes, whole, pieces: function * () { yield whole } }
  }
  return {
    bytes,
    pieces: function * () {
      yield head
      for (let i = 0; i < data.length; i += PIECE_CHARS) {
        yield typeof data === 'string'
          ? Buffer.from(data.slice(i, i + PIECE_CHARS), 'latin1')
          : data.subarray(i, i + PIECE_CHARS)
      }
      yield TAIL
    }
  }
}

const TAIL = Buffer.from('"}')

/** The mailbox a 409 of the import endpoint says the folder is in, when it names another usable one. */
function otherMailbox (res: { text: string, headers: Parameters<typeof parseUpstreamError>[1] },
  target: string): string | undefined {
  const m = WRONG_MAILBOX.exec(parseUpstreamError(res.text, res.headers).message ?? '')
  const other = m?.[1].replace(/[.,;:)]+$/, '')
  return other !== undefined && other !== target && MAILBOX_ID.test(other) ? other : undefined
}

/** Imports one item; ids in and out are public ids (see ids.ts). */
async function importOne (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, item: ImportItem,
  signal?: AbortSignal): Promise<{ itemId: string, changeKey: string }> {
  const itemId = item.mode === 'update' ? fromPublicId(item.itemId) : undefined
  const folderId = await folders.folderId(mailbox, item.folderId)
  const r = await upload(ctx, mailbox, folderId, item, itemId, signal)
  return { itemId: toPublicId(r.itemId), changeKey: r.changeKey }
}

/**
 * MailboxBackend.importBatch: one POST per item (the endpoint takes one), all of the
 * batch at once (the service sends batches of one). An item's failure is its own:
 * this never throws for the batch.
 */
export async function importBatch (ctx: GraphContext, folders: Folders, mailbox: GraphMailbox, items: ImportItem[],
  signal?: AbortSignal): Promise<ImportResult[]> {
  return await Promise.all(items.map(async (item, index): Promise<ImportResult> => {
    try {
      const r = await importOne(ctx, folders, mailbox, item, signal)
      return { index, itemId: r.itemId, changeKey: r.changeKey }
    } catch (err) {
      // The caller went away: the whole batch is cancelled, not failed item by item.
      if (signal?.aborted === true) throw err
      if (!(err instanceof Error && 'code' in err) || !String((err as { code: unknown }).code).startsWith('MBG_ERR_')) {
        ctx.logger.warn(
          { err: err instanceof Error ? { name: err.name, message: err.message } : String(err), index },
          'import item failed unexpectedly'
        )
      }
      return { index, error: toItemError(err) }
    }
  }))
}
