/**
 * A copy job must not write into what it copies: with the target inside its own source, each pass (and each delta
 * pass) would list the copies it made and copy them again, so the job grows without end. Checked when the job is
 * created (README "Copy jobs"), by folder ids resolved on the backend (well-known names included), never by name.
 */
import type { Folder, MailboxRef } from '../../backends/mailbox-backend.js'
import { JobTargetInSource } from '../../errors.js'
import type { MailboxTarget } from '../items.js'
import { wellKnownIds } from './copy.js'

/**
 * Most ancestors followed up from the target folder (Exchange Online allows 300 levels of folders: "Mailbox folder
 * hierarchy depth", https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/
 * exchange-online-limits#mailbox-folder-limits); a longer chain (a loop in a faulty answer) ends the walk.
 */
const MAX_DEPTH = 300

/**
 * Whether two mailbox references name one mailbox: the same gateway id, or the same address and kind (primary or
 * archive) served by the same configured backend. The same address on two backends (on-premises EWS and Exchange
 * Online during a migration) is two mailboxes.
 */
export function sameMailbox (a: MailboxRef, b: MailboxRef): boolean {
  return a.id === b.id ||
    (a.backend === b.backend && a.kind === b.kind && a.address.toLowerCase() === b.address.toLowerCase())
}

/** The primary mailbox and the archive of one address on one configured backend. */
function sameAddress (a: MailboxRef, b: MailboxRef): boolean {
  return a.backend === b.backend && a.address.toLowerCase() === b.address.toLowerCase()
}

/** Ids of `folder`'s ancestors, nearest first, up to the top (parentId null); at most MAX_DEPTH of them. */
async function ancestors (at: MailboxTarget, folder: Folder): Promise<string[]> {
  const out: string[] = []
  let parentId = folder.parentId
  while (parentId !== null && out.length < MAX_DEPTH) {
    out.push(parentId)
    parentId = (await at.backend.getFolder(at.mailbox, { id: parentId })).parentId
  }
  return out
}

/**
 * The primary mailbox and the archive of one address: two folder trees, but EWS answers an archive folder's id
 * through the primary mailbox too (and the reverse), so a job naming such ids could still copy a folder into
 * itself. Throws 422 MBG_ERR_JOB_TARGET_IN_SOURCE when the target folder is the source folder or (with `subtree`)
 * below it, or when a folder named on one side lies in the other side's tree (below its root).
 */
async function refuseAcrossKinds (source: MailboxTarget, target: MailboxTarget,
  job: { sourceTop?: Folder, subtree: boolean, targetTop?: Folder }): Promise<void> {
  const { sourceTop, subtree, targetTop } = job
  if (sourceTop !== undefined && targetTop !== undefined) {
    if (targetTop.id === sourceTop.id) {
      throw new JobTargetInSource(`the target folder is the source folder ${sourceTop.displayName.slice(0, 100)}`)
    }
    if (subtree && (await ancestors(target, targetTop)).includes(sourceTop.id)) {
      throw new JobTargetInSource(`the target folder ${targetTop.displayName.slice(0, 100)} is inside the subtree ` +
        `of the source folder ${sourceTop.displayName.slice(0, 100)}`)
    }
  }
  if (sourceTop !== undefined) {
    const targetRoot = await target.backend.getFolder(target.mailbox, { wellKnown: 'root' })
    if (sourceTop.id === targetRoot.id || (await ancestors(source, sourceTop)).includes(targetRoot.id)) {
      throw new JobTargetInSource(`the source folder ${sourceTop.displayName.slice(0, 100)} lies in the target ` +
        'mailbox (the primary mailbox and the archive of one address share folder ids on this backend)')
    }
  }
  if (targetTop !== undefined) {
    const sourceRoot = await source.backend.getFolder(source.mailbox, { wellKnown: 'root' })
    if (targetTop.id === sourceRoot.id || (await ancestors(target, targetTop)).includes(sourceRoot.id)) {
      throw new JobTargetInSource(`the target folder ${targetTop.displayName.slice(0, 100)} lies in the source ` +
        'mailbox (the primary mailbox and the archive of one address share folder ids on this backend)')
    }
  }
}

/**
 * Throws 422 MBG_ERR_JOB_TARGET_IN_SOURCE when a job copying `sourceTop` (absent: the whole mailbox; with
 * `subtree`, its subfolders too) of `source` into `targetTop` of `target` (absent: the tree recreated below the
 * target's root, see ./copy.ts mapFolders) would write into its own source:
 * - both are one mailbox and the source is the whole mailbox (or its root folder);
 * - the target folder is the source folder, or (with `subtree`) below it: its ancestors, followed by `parentId` with
 *   getFolder, include the source folder;
 * - no target folder, and the source folder is a well-known folder (mapped to its counterpart: itself) or right
 *   below the root (looked up there by name: itself).
 * Different mailboxes, and disjoint folders of one mailbox, pass. Throws what the backend throws for a lookup.
 */
export async function refuseTargetInSource (source: MailboxTarget, target: MailboxTarget,
  job: { sourceTop?: Folder, subtree: boolean, targetTop?: Folder }): Promise<void> {
  if (!sameMailbox(source.mailbox, target.mailbox)) {
    if (sameAddress(source.mailbox, target.mailbox)) await refuseAcrossKinds(source, target, job)
    return
  }
  const { sourceTop, subtree, targetTop } = job
  if (sourceTop === undefined) {
    throw new JobTargetInSource('the source is the whole mailbox, and the target is the same mailbox')
  }
  const root = await source.backend.getFolder(source.mailbox, { wellKnown: 'root' })
  if (sourceTop.id === root.id) {
    throw new JobTargetInSource('the source is the root of the mailbox (all of it), and the target is the same mailbox')
  }
  const name = sourceTop.displayName.slice(0, 100)
  if (targetTop === undefined) {
    if (sourceTop.parentId === root.id) {
      throw new JobTargetInSource(`without a target folder, the source folder ${name} (right below the root) ` +
        'would be copied into itself')
    }
    if ((await wellKnownIds(source, new AbortController().signal)).has(sourceTop.id)) {
      throw new JobTargetInSource(`without a target folder, the well-known folder ${name} would be copied into itself`)
    }
    return
  }
  if (targetTop.id === sourceTop.id) {
    throw new JobTargetInSource(`the target folder is the source folder ${name}`)
  }
  if (!subtree) return
  let parentId = targetTop.parentId
  for (let depth = 0; parentId !== null && parentId !== root.id && depth < MAX_DEPTH; depth++) {
    if (parentId === sourceTop.id) {
      throw new JobTargetInSource(`the target folder ${targetTop.displayName.slice(0, 100)} is inside the ` +
        `subtree of the source folder ${name}; copy without the subtree (subtree: false), or into another folder`)
    }
    parentId = (await target.backend.getFolder(target.mailbox, { id: parentId })).parentId
  }
}
