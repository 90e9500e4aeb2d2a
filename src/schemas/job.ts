/** Copy jobs (routes/jobs.ts; src/service/jobs/). */
import { Type } from '@sinclair/typebox'
import { PAGE_TOKEN_DESCRIPTION } from './common.js'

const MailboxName = Type.String({
  minLength: 1, maxLength: 320, description: 'Gateway mailbox id or primary SMTP address.'
})

export const JobCreate = Type.Object({
  source: Type.Object({
    mailbox: MailboxName,
    folder: Type.Optional(Type.String({
      minLength: 1, maxLength: 1024, description: 'Folder id or well-known name; default: the whole mailbox.'
    })),
    subtree: Type.Optional(Type.Boolean({
      default: true,
      description: 'With `folder`: its subfolders too. `false` needs a `folder` (a whole mailbox is copied with its ' +
        'whole tree): 400 otherwise.'
    }))
  }, { additionalProperties: false }),
  target: Type.Object({
    mailbox: MailboxName,
    folder: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Folder id or well-known name. Default: the tree is recreated below the target\'s root, ' +
        'well-known folders mapped to their counterparts (inbox → inbox). Given (with a source `folder`): the ' +
        'source folder\'s items go into it, its subfolders below it. Without a source `folder`: 400 (copying a ' +
        'whole mailbox below a folder is not supported).'
    }))
  }, { additionalProperties: false }),
  dryRun: Type.Optional(Type.Boolean({
    default: false,
    description: 'Plan only: folders to create, items and bytes per folder, items too large for the target, ' +
      'folders the target cannot hold, folder-associated items; nothing is written.'
  })),
  delta: Type.Optional(Type.Object({
    everySeconds: Type.Integer({
      minimum: 60,
      maximum: 31_536_000,
      description: 'Seconds from the end of one pass to the start of the next (60 s to a year).'
    })
  }, {
    additionalProperties: false,
    description: 'A schedule: after each completed pass the job waits `everySeconds`, then runs another (delta) ' +
      'pass by itself. Pause or cancel the job to stop it.'
  })),
  verify: Type.Optional(Type.Boolean({
    default: false,
    description: 'Verify (as `POST /jobs/{id}:verify` does) after every pass that completes.'
  }))
}, { $id: 'JobCreate', title: 'JobCreate', additionalProperties: false })

const Counts = {
  planned: Type.Integer({ minimum: 0, description: 'Items the source listed so far in this pass.' }),
  done: Type.Integer({ minimum: 0, description: 'Items copied anew in this pass.' }),
  updated: Type.Integer({
    minimum: 0, description: 'Items changed on the source whose change this pass carried to their target copy.'
  }),
  deleted: Type.Integer({
    minimum: 0, description: 'Target items deleted (soft) in this pass because their source items were deleted.'
  }),
  moved: Type.Integer({
    minimum: 0,
    description: 'Items moved on the source into this folder whose target copy followed (moved; on a Graph ' +
      'target, which has no move: deleted and imported again), not copied twice.'
  }),
  failed: Type.Integer({ minimum: 0, description: 'Items that failed (see `failures`), unknown outcomes included.' }),
  skipped: Type.Integer({
    minimum: 0,
    description: 'Items already copied at the same change key by an earlier pass.'
  }),
  matched: Type.Integer({
    minimum: 0,
    description: 'Items already in the target folder when the job first synced the folder (an earlier job\'s or ' +
      'tool\'s copies, found by search key, PR_SEARCH_KEY): recorded as copied, not imported again. In a dry run: ' +
      'items a run would not copy for that reason.'
  }),
  reconciled: Type.Integer({
    minimum: 0,
    description: 'Imports whose outcome was not known (answer lost, or cut by a crash) that were found in the ' +
      'target by search key: copied, not sent again.'
  }),
  resent: Type.Integer({
    minimum: 0,
    description: 'Imports whose outcome was not known that were certainly absent from the target: sent again.'
  }),
  unresolved: Type.Integer({
    minimum: 0,
    description: 'Imports whose outcome could not be settled (the target folder could not be listed, or a side ' +
      'has no search keys): counted in `failed` (MBG_ERR_OUTCOME_UNKNOWN), never sent blindly again.'
  }),
  bytes: Type.Integer({ minimum: 0, description: 'Bytes copied (source sizes); in a dry run, bytes to copy.' })
}

const ErrorInfo = Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })

export const JobFolder = Type.Object({
  sourceId: Type.String(),
  path: Type.String({
    description: 'Display names from the top of the copied tree, joined with "/"; in each name "%" is written ' +
      '"%25" and "/" is written "%2F" (a folder named "a/b" below "Inbox" is "Inbox/a%2Fb").'
  }),
  folderClass: Type.String(),
  targetId: Type.Optional(Type.String()),
  action: Type.Optional(Type.Union([
    Type.Literal('wellKnown'), Type.Literal('target'), Type.Literal('existing'), Type.Literal('created'),
    Type.Literal('create')
  ], {
    description: '`wellKnown`: mapped to the target\'s folder of the same well-known name; `target`: the folder ' +
      'named in the request; `existing`: a folder of that name was there; `created`: made by this job; `create`: ' +
      '(dry run) would be made.'
  })),
  expected: Type.Integer({ minimum: 0, description: 'The source folder\'s item count when the tree was listed.' }),
  ...Counts,
  complete: Type.Boolean({ description: 'This pass went through every item of the folder.' }),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, {
    additionalProperties: false,
    description: 'Why the folder is not copied: it could not be mapped, or the target cannot hold it ' +
      '(MBG_ERR_NOT_SUPPORTED: a name no backend takes, no folder class on a Graph target, or a parent not copied).'
  })),
  associated: Type.Optional(Type.Object({
    count: Type.Optional(Type.Integer({
      minimum: 0, description: 'Listed by the source; absent when it cannot list them.'
    })),
    copied: Type.Integer({ minimum: 0 }),
    failed: Type.Integer({ minimum: 0, description: 'See `failures`.' }),
    skipped: Type.Integer({ minimum: 0, description: 'Copied by an earlier pass at the same change key.' }),
    bytes: Type.Integer({ minimum: 0, description: 'Bytes copied (source sizes); in a dry run, bytes to copy.' }),
    notCopied: Type.Optional(Type.String({
      description: 'Why none is copied: the source cannot list them, or the target cannot hold them (Graph).'
    }))
  }, {
    additionalProperties: false,
    description: 'The folder\'s folder-associated items (rules, views, forms), once the pass came to them: copied ' +
      'when both backends support them (EWS to EWS), else counted and reported with `notCopied`.'
  }))
}, { $id: 'JobFolder', title: 'JobFolder', additionalProperties: false })

const Side = Type.Object({
  items: Type.Integer({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0, description: 'Sum of the item sizes as the backend reports them.' })
}, { additionalProperties: false })

/** What a verification counts, per folder and summed (src/service/jobs/types.ts VerificationCounts). */
const VerificationCounts = {
  source: Side,
  target: Side,
  missing: Type.Integer({ minimum: 0, description: 'Source items with no target item of the same search key.' }),
  extra: Type.Integer({
    minimum: 0,
    description: 'Target items the job wrote (its ledger\'s target ids) whose search key no source item has (the ' +
      'source item gone or changed), and target items beyond as many as the source items of their key (a ' +
      'duplicate, whoever wrote it, counts here).'
  }),
  sizeMismatch: Type.Integer({ minimum: 0, description: 'Items matched by search key whose sizes differ.' }),
  unverifiable: Type.Integer({
    minimum: 0,
    description: 'Source items, and target items the job wrote, without a search key: not matched; as many ' +
      'unmatched items of the other side are counted neither missing nor extra.'
  })
}

const Unrelated = Type.Integer({
  minimum: 0,
  description: 'Target items the job never wrote whose search key no source item has (or that have none): mail ' +
    'the target folder held before the job, or that others put there. Reported only: they do not lower the grade.'
})

export const JobVerification = Type.Object({
  at: Type.String({ format: 'date-time', description: 'When the verification finished.' }),
  grade: Type.Union([
    Type.Literal('Perfect'), Type.Literal('Good'), Type.Literal('Investigate'), Type.Literal('Poor')
  ], {
    description: 'Like Exchange Online migration\'s DataConsistencyScore, over every folder summed; tolerance: ' +
      'the larger of 1 item and 1 % of the source items. `Perfect`: nothing missing, extra, of another size or ' +
      'unverifiable, every folder compared. `Good`: nothing missing, every folder compared, extra + sizeMismatch ' +
      '+ unverifiable within the tolerance. `Investigate`: missing within the tolerance (or a folder could not be ' +
      'compared, or more extra, mismatched or unverifiable items). `Poor`: more missing than the tolerance. ' +
      '`unrelated` items never lower it.'
  }),
  totals: Type.Optional(Type.Object({ ...VerificationCounts, unrelated: Unrelated }, {
    additionalProperties: false,
    description: 'The folders\' counts summed (absent in a verification made by an earlier gateway version).'
  })),
  folders: Type.Array(Type.Object({
    path: Type.String(),
    sourceId: Type.String(),
    targetId: Type.Optional(Type.String()),
    ...VerificationCounts,
    unrelated: Type.Optional(Unrelated),
    error: Type.Optional(ErrorInfo)
  }, { additionalProperties: false }))
}, {
  $id: 'JobVerification',
  title: 'JobVerification',
  additionalProperties: false,
  description: 'The last verification (`POST /jobs/{id}:verify`, or `verify: true`): per mapped folder, source ' +
    'and target listed and their items matched by search key (PR_SEARCH_KEY).'
})

export const Job = Type.Object({
  id: Type.String(),
  state: Type.Union(['queued', 'running', 'paused', 'completed', 'failed', 'canceled'].map((s) => Type.Literal(s)), {
    description: '`queued` (waiting for a runner), `running`, `paused`, or final: `completed`, `failed`, `canceled`.'
  }),
  dryRun: Type.Boolean(),
  delta: Type.Optional(Type.Object({ everySeconds: Type.Integer({ minimum: 60 }) }, {
    additionalProperties: false, description: 'The schedule, when the job has one.'
  })),
  source: Type.Object({
    mailbox: Type.String({ description: 'Gateway mailbox id.' }),
    folder: Type.Optional(Type.String()),
    subtree: Type.Boolean()
  }, { additionalProperties: false }),
  target: Type.Object({
    mailbox: Type.String({ description: 'Gateway mailbox id.' }),
    folder: Type.Optional(Type.String())
  }, { additionalProperties: false }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  nextPassAt: Type.Optional(Type.String({
    format: 'date-time', description: 'A scheduled job between passes: when its next pass is queued.'
  })),
  pass: Type.Integer({ minimum: 1, description: 'Passes run: 1, then one more per `:run`.' }),
  phase: Type.Union([
    Type.Literal('pending'), Type.Literal('folders'), Type.Literal('items'), Type.Literal('settle'),
    Type.Literal('done'), Type.Literal('verify')
  ], {
    description: '`folders`: mapping the tree; `items`: each folder\'s change feed; `settle`: moves and deletions ' +
      'seen in the feeds carried to the target; `done`; `verify`: a verification is queued or running (the job is ' +
      '`queued` or `running` meanwhile).'
  }),
  totals: Type.Object({
    expected: Type.Integer({ minimum: 0, description: 'Items the source folders held when listed.' }),
    ...Counts
  }, { additionalProperties: false }),
  itemsPerSecond: Type.Optional(Type.Number({ minimum: 0, description: 'Items copied per second of running.' })),
  etaSeconds: Type.Optional(Type.Integer({ minimum: 0, description: 'While running: seconds left at that rate.' })),
  folders: Type.Array(Type.Ref(JobFolder)),
  failures: Type.Array(Type.Object({
    sourceId: Type.String(),
    folder: Type.String(),
    code: Type.String({ description: 'MBG_ERR_* code.' }),
    message: Type.String()
  }, { additionalProperties: false }), { description: 'The first 50 per-item failures of this pass.' }),
  error: Type.Optional(ErrorInfo),
  plan: Type.Optional(Type.Object({
    foldersToCreate: Type.Array(Type.String(), { description: 'Paths of the folders a run would create.' }),
    items: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    tooLarge: Type.Array(Type.Object({
      sourceId: Type.String(), folder: Type.String(), size: Type.Integer({ minimum: 0 })
    }, { additionalProperties: false }), {
      description: 'Items whose listed size is above the largest item the target takes (its backend\'s ' +
        '`maxItemBytes`); a run refuses them with a per-item 413 MBG_ERR_TOO_LARGE. The exported stream can be ' +
        'larger than the listed size, so a run may refuse a few more.'
    }),
    foldersTargetCannotHold: Type.Optional(Type.Array(Type.Object({
      path: Type.String(),
      code: Type.String({ description: 'The MBG_ERR_* code a run reports for the folder.' }),
      reason: Type.String()
    }, { additionalProperties: false }), {
      description: 'Folders a run would not copy (nor anything below them), with the code and reason the run ' +
        'reports in the folder\'s `error`.'
    })),
    associated: Type.Optional(Type.Object({
      items: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      notCopied: Type.Integer({ minimum: 0, description: 'Of `items`, those the target cannot hold.' })
    }, { additionalProperties: false, description: 'Folder-associated items the source listed.' }))
  }, { additionalProperties: false, description: 'Dry run: what a run would do.' })),
  verification: Type.Optional(Type.Ref(JobVerification))
}, { $id: 'Job', title: 'Job', additionalProperties: false })

export const JobList = Type.Object({
  jobs: Type.Array(Type.Ref(Job), { description: 'Newest first; only the calling client\'s jobs.' }),
  nextPageToken: Type.Optional(Type.String({ description: 'Pass as pageToken to get the next page.' }))
}, { $id: 'JobList', title: 'JobList', additionalProperties: false })

export const JobParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9-]+$', description: 'Job id.' })
})

export const JobListQuery = Type.Object({
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  pageToken: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: PAGE_TOKEN_DESCRIPTION }))
}, { additionalProperties: false })
