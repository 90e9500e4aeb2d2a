/** ExportItems (ews.md §6.1): one message per id, correlated by position; m:Data may be line-wrapped. */
import { NS, el, child } from '../soap/xml.js'
import type { ResponseMessage } from './common.js'

export function buildExportItems (ids: string[]): string {
  return el('m:ExportItems', {}, el('m:ItemIds', {}, ...ids.map((id) => el('t:ItemId', { Id: id }))))
}

export interface ExportedItem { id: string, changeKey: string, data: string }

/** Payload of a successful message, or undefined when the server left out ItemId/Data. */
export function readExported (message: ResponseMessage): ExportedItem | undefined {
  const itemId = child(message.node, NS.m, 'ItemId')
  const data = child(message.node, NS.m, 'Data')
  if (itemId?.attrs.Id === undefined || data === undefined) return undefined
  return { id: itemId.attrs.Id, changeKey: itemId.attrs.ChangeKey ?? '', data: data.text.replace(/\s+/g, '') }
}
