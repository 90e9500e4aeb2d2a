/**
 * GET /users/{id|upn}/settings/exchange: the one place a client learns a user's MBX ids.
 */
import type { StoreMailbox } from '../store/store.js'
import type { GraphCall, SimContext } from './context.js'
import { GraphError, type Reply } from './http.js'

/**
 * Users are addressed by UPN (the primary SMTP address) or by object id. The simulator has no
 * directory, so a user's object id is the GUID of their primary mailbox.
 */
export function findUser (ctx: SimContext, key: string): StoreMailbox | undefined {
  const byGuid = ctx.store.mailboxes.get(key.toLowerCase())
  if (byGuid !== undefined) return byGuid.kind === 'primary' ? byGuid : undefined
  return ctx.store.mailboxBySmtp(key)
}

export function exchangeSettings (ctx: SimContext, call: GraphCall, key: string): Reply {
  const user = findUser(ctx, key)
  if (user === undefined) {
    throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${key}' is invalid.`)
  }
  const settings: Record<string, unknown> = { id: user.guid, primaryMailboxId: ctx.mailboxId(user.guid) }
  if (call.version === 'beta') {
    settings.inPlaceArchiveMailboxId = user.archiveGuid === undefined ? null : ctx.mailboxId(user.archiveGuid)
  }
  const context = `${ctx.url}/${call.version}/$metadata#users('${encodeURIComponent(key)}')/settings/exchange`
  const shape = ctx.quirks.settingsShape
  if (shape === 'object') return { status: 200, body: { '@odata.context': `${context}/$entity`, ...settings } }
  // The collection one revision of the docs shows (quirk), or an empty one.
  return { status: 200, body: { '@odata.context': context, value: shape === 'collection' ? [settings] : [] } }
}
