/** IndexedPage{Item,Folder}View windows and the RootFolder paging attributes. */
import { EwsError, EwsFault } from './errors.js'
import type { XmlEl } from './xml.js'

/** Exchange's default EWSFindCountLimit: larger pages are silently capped. */
export const MAX_PAGE = 1000

export interface Page<T> { entries: T[], attrs: string }

function intAttr (el: XmlEl, name: string, fallback?: number): number {
  const raw = el.attrs[name]
  if (raw === undefined) {
    if (fallback !== undefined) return fallback
    throw EwsFault.schema(`The request failed schema validation: The required attribute '${name}' is missing.`)
  }
  if (!/^-?\d+$/.test(raw.trim())) {
    throw EwsFault.schema(
      `The request failed schema validation: The '${name}' attribute is invalid - The value '${raw}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:int'.`
    )
  }
  return Number(raw)
}

/**
 * Applies an optional IndexedPageView to a full result list. Without a view the
 * first MAX_PAGE entries are returned, like Exchange's find count limit.
 */
export function page<T> (all: T[], view: XmlEl | undefined): Page<T> {
  const total = all.length
  let max = MAX_PAGE
  let offset = 0
  let fromEnd = false
  if (view !== undefined) {
    max = intAttr(view, 'MaxEntriesReturned', MAX_PAGE)
    offset = intAttr(view, 'Offset')
    const base = view.attrs.BasePoint
    if (base !== 'Beginning' && base !== 'End') {
      throw EwsFault.schema(
        `The request failed schema validation: The 'BasePoint' attribute is invalid - The value '${base ?? ''}' is invalid according to its datatype 'IndexBasePointType'.`
      )
    }
    fromEnd = base === 'End'
    if (max <= 0) throw new EwsError('ErrorInvalidPagingMaxRows')
    if (offset < 0) throw new EwsError('ErrorInvalidIndexedPagingParameters', 'The offset is invalid.')
  }
  max = Math.min(max, MAX_PAGE)
  let start: number
  let end: number
  let next: number
  let last: boolean
  if (fromEnd) {
    end = Math.max(0, total - offset)
    start = Math.max(0, end - max)
    next = offset + (end - start)
    last = start === 0
  } else {
    start = Math.min(offset, total)
    end = Math.min(total, start + max)
    next = end
    last = end >= total
  }
  return {
    entries: all.slice(start, end),
    attrs: `IndexedPagingOffset="${next}" TotalItemsInView="${total}" IncludesLastItemInRange="${last}"`
  }
}
