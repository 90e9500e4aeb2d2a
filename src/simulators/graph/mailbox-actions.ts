/**
 * The bound actions of a mailbox: exportItems and createImportSession.
 */
import { createHash } from 'node:crypto'
import { parseId, StoreError, type StoreMailbox } from '../store/store.js'
import type { GraphCall, SimContext } from './context.js'
import { isPoisoned } from '../faults.js'
import { badRequest, GraphError, type Reply } from './http.js'
import { fromWireId, isoDate } from './ids.js'
import { mailboxUrl } from './serialize.js'

export const EXPORT_MAX_IDS = 20

type ExportResult =
  // changeKey is a number only when the exportDamage fault knob asks for it.
  | { itemId: string, changeKey: string | number, data: string }
  | { itemId: string, error: { code: string, message: string } }
  // The archive-redirect sample in Microsoft's docs spells the key with a capital E; clients must cope.
  | { itemId: string, Error: { code: string, message: string } }

/**
 * One entry of the answer; `faults.exportDamage` damages the entries of chosen items, and a poisoned item
 * (`faults.poison`) throws a 500 ErrorCorruptData GraphError that fails the whole call (see GraphFaults).
 */
function exportOne (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox, requested: unknown): ExportResult {
  if (typeof requested !== 'string') {
    return { itemId: String(requested), error: { code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' } }
  }
  const storeId = fromWireId(requested)
  let owner: string
  let kind: 'folder' | 'item'
  try {
    ({ mailboxGuid: owner, kind } = parseId(storeId))
  } catch (err) {
    if (err instanceof StoreError) {
      return { itemId: requested, error: { code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' } }
    }
    throw err
  }
  if (owner !== mailbox.guid) {
    if (mailbox.auxGuids.includes(owner)) {
      return {
        itemId: requested,
        Error: { code: 'ErrorArchiveFolderMovedPermanently', message: `${mailboxUrl(ctx, 'beta', owner)}/exportItems` }
      }
    }
    return {
      itemId: requested,
      error: {
        code: 'ErrorInvalidMailboxItemId',
        message: `Item '${requested}' doesn't belong to the targeted mailbox '${ctx.mailboxId(mailbox.guid)}'.`
      }
    }
  }
  const item = ctx.store.items.get(storeId)
  if (kind !== 'item' || item === undefined) {
    return {
      itemId: requested,
      error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' }
    }
  }
  if (isPoisoned(ctx.faults.poison, item) || ctx.faults.poison?.ids?.includes(requested) === true) {
    ctx.stats.faults.poison = (ctx.stats.faults.poison ?? 0) + 1
    throw new GraphError(500, ctx.faults.poison?.code ?? 'ErrorCorruptData', 'The item data is corrupt.')
  }
  const blob = item.blob()
  if (!ctx.acceptForeignData) ctx.exported.add(createHash('sha256').update(blob).digest('hex'))
  const damage = ctx.faults.exportDamage?.[requested]
  const data = blob.toString('base64')
  if (damage === 'data') return { itemId: requested, changeKey: item.changeKey, data: data.slice(0, 16) + '...' }
  if (damage === 'changeKey') return { itemId: requested, changeKey: 42, data }
  return { itemId: requested, changeKey: item.changeKey, data }
}

/**
 * POST .../exportItems {itemIds: [...]} (the CSDL spells the parameter ItemIds; both are accepted).
 * A poisoned item (`faults.poison`) fails the whole request that names it (see GraphFaults).
 */
export async function exportItems (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox): Promise<Reply> {
  const body = await call.json()
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('Empty Payload. JSON content expected.')
  }
  const params = body as Record<string, unknown>
  const ids = params.itemIds ?? params.ItemIds
  if (!Array.isArray(ids) || ids.length === 0) {
    throw badRequest("The parameter 'ItemIds' is required and must be a non-empty collection.", 'ErrorInvalidParameter')
  }
  if (ids.length > EXPORT_MAX_IDS) {
    throw badRequest(
      `The number of item ids (${ids.length}) exceeds the maximum of ${EXPORT_MAX_IDS}.`,
      'ErrorInvalidParameter'
    )
  }
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.url}/${call.version}/$metadata#Collection(microsoft.graph.exportItemResponse)`,
      value: ids.map((id) => exportOne(ctx, call, mailbox, id))
    }
  }
}

/** POST .../createImportSession (no body, or {}) → 201 {importUrl, expirationDateTime} */
export async function createImportSession (ctx: SimContext, call: GraphCall, mailbox: StoreMailbox): Promise<Reply> {
  const body = await call.json()
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body) ||
    Object.keys(body).length > 0)) {
    throw badRequest('The action createImportSession does not take parameters.')
  }
  const expires = new Date(Date.now() + ctx.sessionLifetimeSec * 1000)
  const token = ctx.tokens.issue(mailbox.guid, call.identity.appId, expires)
  const gv = call.version === 'beta' ? 'gbeta' : 'gv1.0'
  ctx.stats.sessionsCreated++
  return {
    status: 201,
    body: {
      '@odata.context': `${ctx.url}/${call.version}/$metadata#microsoft.graph.mailboxItemImportSession`,
      importUrl: `${ctx.importOrigin}/api/${gv}/Mailboxes('${ctx.mailboxId(mailbox.guid)}')/importItem?authtoken=${token}`,
      expirationDateTime: isoDate(expires)
    }
  }
}
