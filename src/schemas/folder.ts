import { Type } from '@sinclair/typebox'
import { PAGE_SIZE_DESCRIPTION, PAGE_TOKEN_DESCRIPTION } from './common.js'

/**
 * A folder name: 1–255 characters, not only spaces, no C0 control characters or DEL, no
 * noncharacters U+FFFE/U+FFFF and no unpaired surrogates. Those are refused, never altered:
 * XML 1.0 (section 2.2, Char) cannot carry them to EWS, and the contract is the same for every backend.
 */
const FolderName = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[^\\u0000-\\u001F\\u007F\\uD800-\\uDFFF\\uFFFE\\uFFFF]*' +
    '[^\\s\\u0000-\\u001F\\u007F\\uD800-\\uDFFF\\uFFFE\\uFFFF][^\\u0000-\\u001F\\u007F\\uD800-\\uDFFF\\uFFFE\\uFFFF]*$',
  description: 'Display name: 1–255 characters, not blank; no control characters, U+FFFE, U+FFFF or ' +
    'unpaired surrogates (refused with a 400, never altered).'
})

export const Folder = Type.Object({
  id: Type.String({ description: 'Folder id (URL-safe).' }),
  displayName: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()], { description: 'Parent folder id; null for the root.' }),
  folderClass: Type.String({ description: 'Folder class, e.g. IPF.Note, IPF.Appointment, IPF.Contact, IPF.Task.' }),
  childFolderCount: Type.Integer({ minimum: 0 }),
  totalItemCount: Type.Integer({ minimum: 0 }),
  wellKnownName: Type.Optional(Type.String())
}, { $id: 'Folder', title: 'Folder', additionalProperties: false })

export const FolderList = Type.Object(
  {
    folders: Type.Array(Type.Ref(Folder)),
    nextPageToken: Type.Optional(
      Type.String({ description: 'Pass as pageToken to get the next page; absent on the last page.' })
    )
  },
  { $id: 'FolderList', title: 'FolderList', additionalProperties: false }
)

export const FolderCreate = Type.Object(
  {
    displayName: FolderName,
    parentId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'Parent folder id or well-known name; default root.' })
    ),
    folderClass: Type.Optional(
      Type.String({ pattern: '^IPF(\\.[A-Za-z0-9_-]+)*$', maxLength: 255, description: 'Default IPF.Note.' })
    )
  },
  { $id: 'FolderCreate', title: 'FolderCreate', additionalProperties: false }
)

export const FolderUpdate = Type.Object({
  displayName: FolderName
}, { $id: 'FolderUpdate', title: 'FolderUpdate', additionalProperties: false })

export const FolderListQuery = Type.Object(
  {
    parentId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          'List only the direct children of this folder (id or well-known name). Default: the whole tree below root.'
      })
    ),
    pageSize: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: PAGE_SIZE_DESCRIPTION })
    ),
    pageToken: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: PAGE_TOKEN_DESCRIPTION }))
  },
  { additionalProperties: false }
)
