/** ExportItems (ews.md §6.1): one message per id, correlated by position; m:Data may be line-wrapped. */
import { isStrictBase64 } from '../../../base64.js'
import { NS, el, child } from '../soap/xml.js'
import type { ResponseMessage } from './common.js'
import type { ItemData } from '../../mailbox-backend.js'

export function buildExportItems (ids: string[]): string {
  return el('m:ExportItems', {}, el('m:ItemIds', {}, ...ids.map((id) => el('t:ItemId', { Id: id }))))
}

/** One exported item; `data` is the bytes of the answer (a slice) when the answer carried it as one big run. */
export interface ExportedItem { id: string, changeKey: string, data: ItemData }

/**
 * The payload of a successful message, or what makes it unusable. Success carries m:ItemId
 * (Id and ChangeKey) and m:Data [MS-OXWSBTRF R170/R173]; Data must be standard padded base64
 * (RFC 4648 section 4) once the whitespace a server may wrap it with is removed, or importing
 * it back would fail the whole UploadItems call.
 */
export function readExported (message: ResponseMessage): { item: ExportedItem } | { problem: string } {
  const itemId = child(message.node, NS.m, 'ItemId')
  const data = child(message.node, NS.m, 'Data')
  const id = itemId?.attrs.Id
  const changeKey = itemId?.attrs.ChangeKey
  if (id === undefined || id === '') return { problem: 'no ItemId' }
  if (changeKey === undefined || changeKey === '') return { problem: 'no ChangeKey' }
  if (data === undefined) return { problem: 'no Data' }
  // Unwrapped data (the usual case) is taken as it is, a large one as the bytes of the answer (never made text):
  // the check is cheaper than looking for whitespace.
  const raw = data.bytes ?? data.text
  const stream = isStrictBase64(raw) ? raw : data.text.replace(/\s+/g, '')
  if (!isStrictBase64(stream)) return { problem: stream === '' ? 'empty Data' : 'Data that is not base64' }
  return { item: { id, changeKey, data: stream } }
}
