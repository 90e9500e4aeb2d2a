/**
 * Copy jobs over the simulators, for tests: seeding a folder tree in the simulator store, driving jobs through the
 * API, and comparing a source tree with its copy straight from the store (folder names and every item's stream,
 * byte for byte).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestGateway } from '../helper.js'
import { json } from '../helper.js'
import type { MailboxStore } from '../../src/simulators/store/store.js'
import { itemStream } from './items.js'

type App = TestGateway['app']

export interface JobView {
  id: string
  state: string
  pass: number
  totals: { expected: number, planned: number, done: number, failed: number, skipped: number, bytes: number }
  folders: Array<{ path: string, planned: number, done: number, skipped: number, failed: number, complete: boolean }>
  failures: Array<{ sourceId: string, code: string, message: string }>
  error?: { code: string, message: string }
}

/**
 * Seeds `tree` (path below the mailbox's Inbox → item count; parents listed before children) in mailbox `smtp`;
 * item `i` of a folder is `size(i)` attachment bytes. Returns the store id of each path.
 */
export function seedTree (store: MailboxStore, smtp: string, tree: Array<[string, number]>,
  size: (i: number) => number = (i) => 100 + (i * 37) % 900): Map<string, string> {
  const guid = store.mailboxBySmtp(smtp)?.guid as string
  const ids = new Map<string, string>([['', store.wellKnownFolder(guid, 'inbox').id]])
  for (const [path, count] of tree) {
    const parent = ids.get(path.split('/').slice(0, -1).join('/')) as string
    const folder = store.createFolder(parent, path.split('/').pop() as string)
    ids.set(path, folder.id)
    for (let i = 0; i < count; i++) store.createItem(folder.id, itemStream(`${smtp} ${path} #${i}`, size(i)))
  }
  ids.delete('')
  return ids
}

/** The public id (as the gateway names it) of the folder `name` right below the Inbox of `mailbox`. */
export async function inboxChild (app: App, mailbox: string, name: string): Promise<string> {
  const list = json<{ folders: Array<{ id: string, displayName: string }> }>(await app.inject({
    method: 'GET', url: `/mailboxes/${encodeURIComponent(mailbox)}/folders?parentId=inbox&pageSize=1000`
  }))
  const id = list.folders.find((f) => f.displayName === name)?.id
  if (id === undefined) throw new Error(`no folder ${name} below the Inbox of ${mailbox}`)
  return id
}

export async function post (app: App, url: string, payload?: object): Promise<{ statusCode: number, body: string }> {
  return await app.inject({ method: 'POST', url, ...(payload !== undefined ? { payload } : {}) })
}

export async function getJob (app: App, id: string): Promise<JobView> {
  const res = await app.inject({ method: 'GET', url: `/jobs/${id}` })
  if (res.statusCode !== 200) throw new Error(`GET /jobs/${id}: ${res.statusCode} ${res.body}`)
  return json<JobView>(res)
}

/** Polls the job until it is in one of `states` (no time limit beyond tap's own). */
export async function until (app: App, id: string, states = ['completed', 'failed']): Promise<JobView> {
  for (;;) {
    const job = await getJob(app, id)
    if (states.includes(job.state)) return job
    await sleep(20)
  }
}

/** Below store folder `rootId`: path from the root folder's name → its items' streams (base64), sorted. */
export function treeContent (store: MailboxStore, rootId: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const walk = (id: string, path: string): void => {
    out.set(path, store.itemsIn(id).map((i) => i.blob().toString('base64')).sort())
    for (const c of store.children(id)) walk(c.id, `${path}/${c.displayName}`)
  }
  walk(rootId, store.requireFolder(rootId).displayName)
  return out
}

/** The store id of the one folder named `name` anywhere in mailbox `smtp` (throws when there is not exactly one). */
export function onlyFolderNamed (store: MailboxStore, smtp: string, name: string): string {
  const guid = store.mailboxBySmtp(smtp)?.guid as string
  const found = [...store.folders.values()].filter((f) => f.mailboxGuid === guid && f.displayName === name)
  if (found.length !== 1) throw new Error(`${found.length} folders named ${name} in ${smtp}`)
  return found[0].id
}
