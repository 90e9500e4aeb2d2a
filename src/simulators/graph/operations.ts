/**
 * Names a Graph request for fault rules and stats (GRAPH_OPERATIONS in ../faults.ts), from its method and
 * decoded path segments alone, before routing: a request that routing will refuse still gets a name.
 */
import type { GRAPH_OPERATIONS } from '../faults.js'

export type GraphOperation = typeof GRAPH_OPERATIONS[number] | 'other'

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase()
const isName = (s: string | undefined, name: string): boolean =>
  s !== undefined && new RegExp(`^(microsoft\\.graph\\.)?${name}(\\(\\))?$`, 'i').test(s)

/** `segs`: the decoded segments after the version segment (as pathSegments gives them, keys expanded). */
export function graphOperation (method: string, segs: string[]): GraphOperation {
  const last = segs[segs.length - 1]
  const m = method.toUpperCase()
  if (eq(segs[0], 'users') && eq(last, 'exchange')) return 'getExchangeSettings'
  if (!eq(segs[0], 'admin') || segs.length < 5) return 'other'
  if (isName(last, 'delta')) return 'delta'
  if (segs.length === 5 && isName(last, 'exportItems')) return 'exportItems'
  if (segs.length === 5 && isName(last, 'createImportSession')) return 'createImportSession'
  if (eq(last, 'folders') || eq(last, 'childFolders')) return m === 'POST' ? 'createFolder' : 'listFolders'
  if (eq(last, 'items')) return 'listItems'
  const parent = segs[segs.length - 2]
  if (eq(parent, 'items')) return m === 'DELETE' ? 'deleteItem' : 'getItem'
  if (eq(parent, 'folders') || eq(parent, 'childFolders')) {
    return m === 'PATCH' ? 'updateFolder' : m === 'DELETE' ? 'deleteFolder' : 'getFolder'
  }
  return 'other'
}
