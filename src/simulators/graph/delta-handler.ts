/**
 * The shared page/round logic of folders/delta, childFolders/delta and items/delta.
 */
import type { GraphCall, SimContext } from './context.js'
import { syncStateGone, type DeltaEntry, type DeltaScope } from './delta.js'
import type { Reply } from './http.js'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, intParam, preferredPageSize } from './odata.js'

export interface DeltaSpec {
  scope: DeltaScope
  /** Entries changed after `since` (0: everything currently in scope). */
  compute: (since: number) => DeltaEntry[]
  /** Renders a live object, or undefined when it is gone. */
  render: (id: string, select: string | null) => Record<string, unknown> | undefined
  /** Validates $select when a round starts (throws 400). */
  checkSelect: (select: string | null) => void
  contextUrl: string
}

export function deltaReply (ctx: SimContext, call: GraphCall, spec: DeltaSpec): Reply {
  const skip = call.query.get('$skiptoken')
  const dtok = call.query.get('$deltatoken')
  const prefer = preferredPageSize(call.headers.prefer)
  let roundId: string
  let offset: number
  if (skip !== null) {
    const body = ctx.delta.decode(skip, spec.scope)
    if (body.e !== ctx.store.syncEpoch || typeof body.r !== 'string' || typeof body.o !== 'number' ||
      ctx.delta.get(body.r) === undefined) {
      throw syncStateGone()
    }
    roundId = body.r
    offset = body.o
  } else {
    let since = 0
    let select = call.query.get('$select')
    // items/delta also takes $top; the round keeps the size for its $skiptoken pages.
    const top = intParam(call.query, '$top')
    let pageSize = prefer ?? (top !== undefined ? Math.max(1, Math.min(MAX_PAGE_SIZE, top)) : DEFAULT_PAGE_SIZE)
    if (dtok !== null) {
      const body = ctx.delta.decode(dtok, spec.scope)
      // A token from the future belongs to another store instance (for example after a restart).
      // So does a token of an expired sync epoch (MailboxStore.expireSyncStates).
      if (typeof body.s !== 'number' || body.s > ctx.store.sequence || body.e !== ctx.store.syncEpoch) {
        throw syncStateGone()
      }
      since = body.s
      select = body.sel
      pageSize = prefer ?? body.ps
    }
    spec.checkSelect(select)
    roundId = ctx.delta.start(spec.scope, spec.compute(since), ctx.store.sequence, select, pageSize,
      ctx.store.syncEpoch)
    offset = 0
  }
  const round = ctx.delta.get(roundId)
  if (round === undefined) throw syncStateGone()
  const size = prefer ?? round.pageSize
  const value = round.entries.slice(offset, offset + size).map((e) => {
    const live = e.removed ? undefined : spec.render(e.id, round.select)
    return live ?? { id: ctx.wireId(e.id), '@removed': { reason: 'deleted' } }
  })
  const body: Record<string, unknown> = { '@odata.context': spec.contextUrl, value }
  if (offset + size < round.entries.length) {
    body['@odata.nextLink'] =
      `${ctx.url}${call.path}?%24skiptoken=${ctx.delta.skipToken(roundId, offset + size, round)}`
  } else {
    body['@odata.deltaLink'] = `${ctx.url}${call.path}?%24deltatoken=${ctx.delta.deltaToken(round)}`
  }
  const headers: Record<string, string> = {}
  if (prefer !== undefined) headers['preference-applied'] = `odata.maxpagesize=${prefer}`
  return { status: 200, headers, body }
}
