/**
 * What a copy job's target cannot take, decided before anything is written, the same in a dry run (the plan lists
 * it) and in a run (the folder or item gets its error with a code; the job goes on with the rest):
 *
 * - folders: a name the gateway's folder contract refuses for every backend (src/schemas/folder.ts `FolderName`:
 *   1–255 UTF-16 code units, not blank, no C0 control character, DEL, U+FFFE, U+FFFF or unpaired surrogate; XML 1.0
 *   section 2.2 cannot carry them to EWS), a folder without a folder class on a backend that needs one (Graph's
 *   mailboxFolder `type` is required on create, graph.md §4.4: `capabilities.classlessFolders`), and every folder
 *   below one the target cannot hold;
 * - items: a listed size above the target's `limits.import.maxItemBytes` (the run refuses the exported stream
 *   itself when it is larger, src/service/items.ts).
 */
import type { MailboxTarget } from '../items.js'
import type { CopyPlan, FolderProgress } from './types.js'

/** The code a folder the target cannot hold gets (its items are not copied). */
export const CANNOT_HOLD_CODE = 'MBG_ERR_NOT_SUPPORTED'

/** Most UTF-16 code units of a folder name (the public FolderName schema). */
const MAX_NAME_UNITS = 255
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why no backend can be given a folder of this name, or undefined when it is a name the contract admits. */
export function folderNameProblem (name: string): string | undefined {
  if (name.trim() === '') return 'its name is blank'
  if (name.length > MAX_NAME_UNITS) {
    return `its name is ${name.length} UTF-16 code units long; folder names hold at most ${MAX_NAME_UNITS}`
  }
  if (FORBIDDEN.test(name)) {
    return 'its name holds a control character, U+FFFE, U+FFFF or an unpaired surrogate, which the gateway ' +
      'refuses for every backend (XML 1.0 cannot carry them to EWS)'
  }
  return undefined
}

/**
 * Why `target` cannot hold a folder the job would create there (`name`, `folderClass` as the source has them), or
 * undefined when it can. Only for folders that would be created: a folder found by name or mapped to a well-known
 * one is there already.
 */
export function cannotCreate (target: MailboxTarget, name: string, folderClass: string): string | undefined {
  const named = folderNameProblem(name)
  if (named !== undefined) return named
  const classless = target.backend.capabilities.classlessFolders
  if (folderClass.trim() === '' && classless !== undefined && !classless.supported) {
    return `it has no folder class, and a ${target.mailbox.type} mailbox cannot hold such a folder: ${classless.reason}`
  }
  return undefined
}

/** The reason a folder below `parentPath` cannot be held because its parent cannot. */
export function belowUnheld (parentPath: string): string {
  return `its parent folder ${parentPath} is not copied`
}

/** The largest item (bytes of its stream) `target` takes: its port's `limits.import.maxItemBytes`, else Infinity. */
export function targetItemLimit (target: MailboxTarget): number {
  return target.backend.limits.import.maxItemBytes ?? Infinity
}

/** The dry run's list of folders a run would not copy: those the target cannot hold, or that could not be mapped. */
export function unheldFolders (folders: FolderProgress[]): NonNullable<CopyPlan['foldersTargetCannotHold']> {
  return folders.flatMap((f) => f.error !== undefined
    ? [{ path: f.path, code: f.error.code, reason: f.error.message }]
    : [])
}
