/**
 * DeleteItem (https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteitem-operation):
 * `m:DeleteItem/@DeleteType` (required: HardDelete, SoftDelete, MoveToDeletedItems) and `m:ItemIds`. Answers one
 * `m:DeleteItemResponseMessage` per id, in order, with no payload; an unknown id is ErrorItemNotFound.
 * `SendMeetingCancellations` is required when a calendar item is deleted and `AffectedTaskOccurrences` when a
 * task is (https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteitem): the gateway
 * moves data, it does not notify attendees, so SendToNone, and a task goes as a whole, AllOccurrences.
 */
import type { DeleteMode } from '../../mailbox-backend.js'
import { el } from '../soap/xml.js'

/** The port's delete mode as EWS `t:DisposalType`. */
export const DISPOSAL_TYPE: Record<DeleteMode, string> = {
  hard: 'HardDelete',
  soft: 'SoftDelete',
  moveToDeletedItems: 'MoveToDeletedItems'
}

export function buildDeleteItem (ids: string[], mode: DeleteMode): string {
  return el('m:DeleteItem', {
    DeleteType: DISPOSAL_TYPE[mode],
    SendMeetingCancellations: 'SendToNone',
    AffectedTaskOccurrences: 'AllOccurrences'
  }, el('m:ItemIds', {}, ...ids.map((id) => el('t:ItemId', { Id: id }))))
}
