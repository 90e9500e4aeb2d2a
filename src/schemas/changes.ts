/**
 * Change feeds: what changed in a folder's items, or in a mailbox's folder tree, since a cursor
 * (EWS SyncFolderItems / SyncFolderHierarchy, Graph items/delta / folders/delta).
 */
import { Type } from '@sinclair/typebox'
import { Folder } from './folder.js'
import { ItemSummary } from './item.js'

const CHANGE_DESCRIPTION =
  '`created`, `updated` and `deleted` as the backend names them (EWS Create, Update, Delete; a Graph entry with ' +
  '`@removed` is `deleted`). `createdOrUpdated`: Graph delta does not say which (after the first sync every entry ' +
  'that is not removed is one); a caller that does not know the id treats it as new. `readFlagChanged` (items, EWS ' +
  'ReadFlagChange): only the read state changed; `isRead` gives it. `item` / `folder` is the object now, absent for ' +
  '`deleted` and `readFlagChanged`.'

export const ItemChange = Type.Object({
  change: Type.Union([
    Type.Literal('created'), Type.Literal('updated'), Type.Literal('createdOrUpdated'), Type.Literal('deleted'),
    Type.Literal('readFlagChanged')
  ], { description: CHANGE_DESCRIPTION }),
  id: Type.String({ description: 'Item id, as listings and exports name it.' }),
  changeKey: Type.Optional(Type.String({
    description: 'The item\'s change key after the change, when the backend ' +
    'reports it.'
  })),
  isRead: Type.Optional(Type.Boolean({ description: 'For readFlagChanged: the read state now.' })),
  /** The item now; absent for deleted and readFlagChanged. */
  item: Type.Optional(Type.Ref(ItemSummary))
}, { $id: 'ItemChange', title: 'ItemChange', additionalProperties: false })

export const FolderChange = Type.Object({
  change: Type.Union([
    Type.Literal('created'), Type.Literal('updated'), Type.Literal('createdOrUpdated'), Type.Literal('deleted')
  ], { description: CHANGE_DESCRIPTION }),
  id: Type.String({ description: 'Folder id.' }),
  changeKey: Type.Optional(Type.String({
    description: 'The folder\'s change key, when the backend reports it (EWS).'
  })),
  /** The folder now; absent for deleted. */
  folder: Type.Optional(Type.Ref(Folder))
}, { $id: 'FolderChange', title: 'FolderChange', additionalProperties: false })

const CURSOR_DESCRIPTION =
  'Pass to the next call as `cursor`, unchanged, with the same mailbox (and folder). While `more` is true, call ' +
  'again at once; once it is false, keep the cursor: a later call returns only what changed since. Cursors are ' +
  'sealed with PAGE_TOKEN_SECRET (as page tokens are).'
const MORE_DESCRIPTION = 'True while changes remain to be read with `cursor`; false once the feed is up to date.'

export const ItemChanges = Type.Object({
  changes: Type.Array(Type.Ref(ItemChange), { description: 'In the order the backend reported them.' }),
  cursor: Type.String({ description: CURSOR_DESCRIPTION }),
  more: Type.Boolean({ description: MORE_DESCRIPTION })
}, { $id: 'ItemChanges', title: 'ItemChanges', additionalProperties: false })

export const FolderChanges = Type.Object({
  changes: Type.Array(Type.Ref(FolderChange), { description: 'In the order the backend reported them.' }),
  cursor: Type.String({ description: CURSOR_DESCRIPTION }),
  more: Type.Boolean({ description: MORE_DESCRIPTION })
}, { $id: 'FolderChanges', title: 'FolderChanges', additionalProperties: false })

/** Longest cursor accepted: a sealed EWS SyncState or Graph deltaLink, with room to spare, inside a request line. */
export const MAX_CURSOR_LENGTH = 12_288

export const ChangesQuery = Type.Object({
  cursor: Type.Optional(Type.String({
    minLength: 1,
    maxLength: MAX_CURSOR_LENGTH,
    description: 'The `cursor` of the previous answer; absent for the first (full) sync, and to start again after ' +
      'a 410 MBG_ERR_CURSOR_EXPIRED.'
  })),
  pageSize: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Most changes per answer: 1–1000, default 100. EWS item changes come at most 512 a call ' +
      '(MaxChangesReturned); EWS folder changes come in the server\'s own pages (SyncFolderHierarchy takes no ' +
      'size); a Graph server may answer a larger page than asked. `more` says whether to call again.'
  }))
}, { additionalProperties: false })
