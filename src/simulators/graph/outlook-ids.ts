/**
 * The id formats of the Outlook APIs, and translateExchangeIds between them
 * (https://learn.microsoft.com/graph/api/user-translateexchangeids).
 *
 * One store object has several ids, as in Exchange:
 *   - its EWS id (`ewsId`): the store id, standard base64, as the EWS simulator shows it;
 *   - its entry id (`entryId`, PidTagEntryId 0x0FFF, [MS-OXCDATA] 2.2.4 Message/Folder EntryID): 4 flag bytes and
 *     the object's key, a binary value; base64 in extended properties, URL-safe with the padding counted in
 *     translateExchangeIds;
 *   - its REST id (`restId`), the id of the Outlook mail, calendar and contacts APIs: a different byte layout,
 *     URL-safe base64 with '=' padding kept (Graph's ids end in '=').
 * The mailbox import/export API shows the EWS id URL-safe. Microsoft does not document that as equal to any of
 * these ("Don't use IDs from the workload-specific mail, calendar, or contact APIs",
 * https://learn.microsoft.com/graph/work-with-archive-mailboxes), so the REST id is deliberately not the same string:
 * a client has to translate, as it would have to on Exchange Online. Immutable ids are not modelled (the store gives
 * an item a new id when it moves): translateExchangeIds refuses them.
 */
import { parseId, StoreError } from '../store/store.js'

const ENTRY_FLAGS = Buffer.alloc(4)
/** First bytes of a REST id: not those of a store id (00 03 24), so the two forms never meet. */
const REST_PREFIX = Buffer.from([0x00, 0x03, 0x2e])
const STORE_PREFIX = Buffer.from([0x00, 0x03, 0x24])

/** The entry id bytes of a store object. */
export function entryIdOf (storeId: string): Buffer {
  return Buffer.concat([ENTRY_FLAGS, Buffer.from(storeId, 'base64').subarray(3)])
}

/** The REST id of a store object (URL-safe base64, padding kept). */
export function restIdOf (storeId: string): string {
  return Buffer.concat([REST_PREFIX, Buffer.from(storeId, 'base64').subarray(3)]).toString('base64')
    .replace(/\+/g, '-').replace(/\//g, '_')
}

function storeIdFromKey (key: Buffer): string | undefined {
  const id = Buffer.concat([STORE_PREFIX, key]).toString('base64')
  try {
    parseId(id)
    return id
  } catch (err) {
    if (err instanceof StoreError) return undefined
    throw err
  }
}

/** The store id of a REST id (either base64 alphabet), or undefined for a string that is not one. */
export function storeIdFromRestId (restId: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(restId)) return undefined
  const bytes = Buffer.from(restId.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  if (bytes.length !== 44 || !bytes.subarray(0, 3).equals(REST_PREFIX)) return undefined
  return storeIdFromKey(bytes.subarray(3))
}

/** The store id of entry id bytes, or undefined. */
export function storeIdFromEntryId (bytes: Buffer): string | undefined {
  if (bytes.length !== 45 || !bytes.subarray(0, 4).equals(ENTRY_FLAGS)) return undefined
  return storeIdFromKey(bytes.subarray(4))
}

/** translateExchangeIds' form of binary ids: URL-safe base64 without padding, then the count of '=' removed. */
export function toUrlSafeBinary (bytes: Buffer): string {
  const b64 = bytes.toString('base64')
  const padding = /=*$/.exec(b64)?.[0].length ?? 0
  return `${b64.slice(0, b64.length - padding).replace(/\+/g, '-').replace(/\//g, '_')}${padding}`
}

export function fromUrlSafeBinary (text: string): Buffer | undefined {
  const m = /^([A-Za-z0-9_-]*)([012])$/.exec(text)
  if (m === null) return undefined
  const b64 = `${m[1].replace(/-/g, '+').replace(/_/g, '/')}${'='.repeat(Number(m[2]))}`
  if (b64.length % 4 !== 0) return undefined
  return Buffer.from(b64, 'base64')
}

export type ExchangeIdFormat = 'entryId' | 'ewsId' | 'immutableEntryId' | 'restId' | 'restImmutableEntryId'
export const EXCHANGE_ID_FORMATS: readonly ExchangeIdFormat[] =
  ['entryId', 'ewsId', 'immutableEntryId', 'restId', 'restImmutableEntryId']

/** The store id an id of `format` names, or undefined when the string is not such an id. */
export function storeIdFrom (id: string, format: ExchangeIdFormat): string | undefined {
  switch (format) {
    case 'entryId': {
      const bytes = fromUrlSafeBinary(id)
      return bytes === undefined ? undefined : storeIdFromEntryId(bytes)
    }
    case 'ewsId':
      try {
        parseId(id)
        return id
      } catch {
        return undefined
      }
    case 'restId': return storeIdFromRestId(id)
    default: return undefined
  }
}

/** A store id in `format`. */
export function idIn (storeId: string, format: ExchangeIdFormat): string | undefined {
  switch (format) {
    case 'entryId': return toUrlSafeBinary(entryIdOf(storeId))
    case 'ewsId': return storeId
    case 'restId': return restIdOf(storeId)
    default: return undefined
  }
}
