import { Type } from '@sinclair/typebox'
import { ItemError, PageQuery } from './common.js'
import { configurable } from './limits.js'
import {
  ExtendedPropertyName, FormatImportResult, ItemFormat, MAX_EXTENDED_PROPERTIES, MimeExportedItem, MimeImportItem,
  PropertySetExportedItem, PropertySetImportItem
} from './formats.js'

export const ItemSummary = Type.Object({
  id: Type.String(),
  changeKey: Type.String(),
  itemClass: Type.String({ description: 'Message class, e.g. IPM.Note, IPM.Appointment.' }),
  size: Type.Integer({ minimum: 0, description: 'Size in bytes as the backend reports it.' }),
  created: Type.Optional(Type.String({
    format: 'date-time',
    description: 'Creation time; absent when the backend does not report it (Graph declares it nullable).'
  })),
  modified: Type.Optional(Type.String({
    format: 'date-time',
    description: 'Last modification time; absent when the backend does not report it (Graph declares it nullable).'
  })),
  subject: Type.Optional(Type.String()),
  associated: Type.Optional(Type.Literal(true, {
    description: 'Present (true) on folder-associated items (rules, views, forms), listed with `associated=true`.'
  })),
  searchKey: Type.Optional(Type.String({
    contentEncoding: 'base64',
    description: "The item's stable key: base64 of PidTagSearchKey (PR_SEARCH_KEY, property tag 0x300B, " +
      'PT_BINARY; [MS-OXPROPS] 2.1017). It stays the same when the item is copied, moved, or exported and ' +
      'imported with its full-fidelity stream, so it matches an item with its copies. Absent when the backend ' +
      'does not report it (Graph item change feeds cannot ask for extended properties).'
  }))
}, { $id: 'ItemSummary', title: 'ItemSummary', additionalProperties: false })

/** Query of an item listing: paging, and which items of the folder. */
export const ItemListQuery = Type.Object(
  {
    ...PageQuery.properties,
    associated: Type.Optional(Type.Boolean({
      description: "Default false. true: list the folder's folder-associated items (FAI: rules, views, forms; " +
        'EWS FindItem Traversal="Associated") instead of its normal ones. EWS mailboxes only: a Graph mailbox answers 422 ' +
        'MBG_ERR_NOT_SUPPORTED (the Graph mailbox import/export API does not expose them). A pageToken holds only ' +
        'for the listing (normal or associated) that issued it.'
    }))
  },
  { additionalProperties: false }
)

export const ItemList = Type.Object({
  items: Type.Array(Type.Ref(ItemSummary)),
  nextPageToken: Type.Optional(Type.String())
}, { $id: 'ItemList', title: 'ItemList', additionalProperties: false })

const MailboxType = Type.Union([Type.Literal('ews'), Type.Literal('graph')])

export function exportRequest (maxItems: number) {
  return Type.Object(
    {
      itemIds: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
        minItems: 1,
        maxItems,
        description: `Item ids, at most ${maxItems} (${configurable('MAX_BATCH_ITEMS')}); more is a 400. The gateway splits them into batches the backend accepts.`
      }),
      format: Type.Optional(Type.Union([Type.Literal('fullFidelity'), Type.Literal('mime'), Type.Literal('json')], {
        default: 'fullFidelity',
        description: ItemFormat.description + ' A format the mailbox\'s backend has for no kind of item is a 501 ' +
          'MBG_ERR_NOT_SUPPORTED before anything is sent; an item of a kind it has none for (a task as MIME) fails ' +
          'alone with it.'
      })),
      attachmentContent: Type.Optional(Type.Boolean({
        description: '`json` only. true: file attachments carry their bytes (`contentBytes`, base64); default: ' +
          'attachment metadata only.'
      })),
      extendedProperties: Type.Optional(Type.Array(Type.Ref(ExtendedPropertyName), {
        minItems: 1,
        maxItems: MAX_EXTENDED_PROPERTIES,
        description: `\`json\` only. Extended (MAPI) properties to read besides the fixed fields, at most ${MAX_EXTENDED_PROPERTIES}: each item's \`extendedProperties\` lists them, with a \`value\` where the item has one.`
      }))
    },
    { $id: 'ExportRequest', title: 'ExportRequest', additionalProperties: false }
  )
}

/** The fields of one exported item (without `source`, which the service adds). */
const exportedItemFields = {
  itemId: Type.String(),
  changeKey: Type.String(),
  data: Type.String({
    contentEncoding: 'base64',
    description: 'Opaque full-fidelity item stream (base64). Import it unchanged.'
  })
}

/** One exported item as an adapter returns it (not registered: the public shape is ExportResult). */
export const ExportedItem = Type.Object(exportedItemFields, { additionalProperties: false })

/** An id that could not be exported, and why. */
export const ExportFailure = Type.Object(
  { itemId: Type.String(), error: Type.Ref(ItemError) },
  { additionalProperties: false }
)

export const ExportResult = Type.Union([
  Type.Object({ ...exportedItemFields, source: MailboxType }, { additionalProperties: false }),
  ExportFailure
], {
  $id: 'ExportResult',
  title: 'ExportResult',
  description: 'A full-fidelity exported item `{itemId, changeKey, data, source}`, or `{itemId, error}`.'
})

export const ExportResponse = Type.Object({
  results: Type.Array(Type.Union([Type.Ref(ExportResult), MimeExportedItem, PropertySetExportedItem]), {
    description: 'One result per requested id, in request order: the item in the format asked for (full ' +
      'fidelity: ExportResult; `mime`: `{itemId, format, kind, contentType, fileName, data}`; `json`: `{itemId, ' +
      'format, changeKey?, item}`), or `{itemId, error}`.'
  }),
  succeeded: Type.Integer(),
  failed: Type.Integer()
}, { $id: 'ExportResponse', title: 'ExportResponse', additionalProperties: false })

export const ImportItem = Type.Object(
  {
    folderId: Type.String({ minLength: 1, maxLength: 1024, description: 'Target folder id or well-known name.' }),
    mode: Type.Union([Type.Literal('create'), Type.Literal('update')]),
    data: Type.String({
      minLength: 4,
      contentEncoding: 'base64',
      description: `Item stream exactly as an export returned it (standard, padded base64). Data that is not fails that item alone (per-item 422 MBG_ERR_DATA_INVALID); its neighbours are imported. It counts, as base64 (a third larger than the stream), toward the request body limit, ${configurable('BODY_LIMIT_BYTES', 'bytes')}.`
    }),
    itemId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Required in update mode; not allowed in create mode.'
      })
    ),
    changeKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 512, description: 'Required in update mode; must be current.' })
    ),
    associated: Type.Optional(Type.Boolean({
      description: 'Default false. true: store the item as a folder-associated item (FAI: a rule, view or form; ' +
        'EWS UploadItems IsAssociated), e.g. one exported from an `associated=true` listing. EWS mailboxes only: into ' +
        'a Graph mailbox the item fails alone with 422 MBG_ERR_NOT_SUPPORTED.'
    })),
    format: Type.Optional(Type.Literal('fullFidelity', {
      description: 'Default. The other formats are MimeImportItem (`mime`) and PropertySetImportItem (`json`).'
    })),
    source: Type.Optional(
      Type.Union([Type.Literal('ews'), Type.Literal('graph')], {
        description:
          "Backend type the data was exported from (the export result's `source`). Data from the other backend type fails per item with MBG_ERR_DATA_INCOMPATIBLE unless the configuration document sets crossBackendImport to allow (default deny)."
      })
    )
  },
  { $id: 'ImportItem', title: 'ImportItem', additionalProperties: false }
)

export function importRequest (maxItems: number) {
  return Type.Object(
    {
      items: Type.Array(Type.Union([Type.Ref(ImportItem), Type.Ref(MimeImportItem), Type.Ref(PropertySetImportItem)]), {
        minItems: 1,
        maxItems,
        description: `At most ${maxItems} items (${configurable('MAX_BATCH_ITEMS')}); more is a 400. Each is a full-fidelity stream (ImportItem, the default), an .eml or .ics (MimeImportItem, \`format: "mime"\`) or a property set (PropertySetImportItem, \`format: "json"\`); formats may be mixed.`
      })
    },
    { $id: 'ImportRequest', title: 'ImportRequest', additionalProperties: false }
  )
}

export const ImportResult = Type.Union(
  [
    Type.Object(
      { index: Type.Integer(), itemId: Type.String(), changeKey: Type.String() },
      { additionalProperties: false }
    ),
    Type.Object({ index: Type.Integer(), error: Type.Ref(ItemError) }, { additionalProperties: false })
  ],
  { $id: 'ImportResult', title: 'ImportResult' }
)

export const ImportResponse = Type.Object({
  results: Type.Array(Type.Union([Type.Ref(ImportResult), FormatImportResult]), {
    description: 'One result per input item, in input order: ImportResult for a full-fidelity item, ' +
      '`{index, itemId, changeKey?, format, kind, uidReplaced?}` for a `mime` or `json` one, or `{index, error}`.'
  }),
  succeeded: Type.Integer(),
  failed: Type.Integer()
}, { $id: 'ImportResponse', title: 'ImportResponse', additionalProperties: false })

export const FolderExportRequest = Type.Object({
  subtree: Type.Optional(Type.Boolean({
    default: false,
    description: 'Also export every folder below this one (depth first, each folder before its subfolders). ' +
      'The folder `root` with `subtree: true` exports the whole mailbox.'
  })),
  cursor: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 16384,
    description: 'Resume after a cut connection: the `cursor` of the last line received, unchanged, with the ' +
      'same mailbox, folder and subtree. Every item is then delivered exactly once over all the requests. ' +
      'Cursors are sealed with PAGE_TOKEN_SECRET; when it is not set, only the process that issued one accepts it.'
  }))
}, { $id: 'FolderExportRequest', title: 'FolderExportRequest', additionalProperties: false })

const LINE_CURSOR = Type.String({
  description: 'Opaque resume point just after this line: send it back as `cursor` to go on from here.'
})

/** The lines of a streamed export (application/x-ndjson), one JSON object a line. */
export const ExportLine = Type.Union([
  Type.Object({
    type: Type.Literal('item'),
    itemId: Type.String(),
    changeKey: Type.String({ description: 'The change key the item was exported at.' }),
    folderId: Type.String(),
    itemClass: Type.String(),
    size: Type.Integer({ minimum: 0, description: 'Size in bytes as the backend lists it.' }),
    source: MailboxType,
    cursor: LINE_CURSOR,
    data: Type.String({
      contentEncoding: 'base64',
      description: 'Opaque full-fidelity item stream (base64), as the backend gave it. Import it unchanged ' +
        '(with `source`).'
    })
  }, { title: 'ExportItemLine', additionalProperties: false }),
  Type.Object({
    type: Type.Literal('error'),
    itemId: Type.String(),
    folderId: Type.String(),
    error: Type.Ref(ItemError),
    cursor: LINE_CURSOR
  }, { title: 'ExportErrorLine', additionalProperties: false }),
  Type.Object({
    type: Type.Literal('progress'),
    folder: Type.String({ description: 'Id of the folder being exported.' }),
    displayName: Type.String(),
    done: Type.Integer({ minimum: 0, description: 'Items of this folder delivered (over every request resumed).' }),
    total: Type.Optional(Type.Integer({
      minimum: 0,
      description: 'Items in the folder when the export reached it, as the backend counts them.'
    })),
    cursor: LINE_CURSOR
  }, { title: 'ExportProgressLine', additionalProperties: false }),
  Type.Object({
    type: Type.Literal('summary'),
    succeeded: Type.Integer({ minimum: 0, description: 'Item lines of this answer.' }),
    failed: Type.Integer({ minimum: 0, description: 'Error lines of this answer.' }),
    complete: Type.Boolean({
      description: 'True when the export reached its end; false when it stopped early (`error` says why): ' +
        'resume with `cursor`.'
    }),
    error: Type.Optional(Type.Ref(ItemError)),
    cursor: LINE_CURSOR
  }, { title: 'ExportSummaryLine', additionalProperties: false })
], {
  $id: 'ExportLine',
  title: 'ExportLine',
  description: 'One line of a streamed export: an item, an item that could not be exported, progress, and ' +
    'last a summary.'
})
/** Item ids of a delete or move request (the same bounds as an export's). */
function writeIds (maxItems: number) {
  return Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
    minItems: 1,
    maxItems,
    description: `Item ids, at most ${maxItems} (${configurable('MAX_BATCH_ITEMS')}); more is a 400. The gateway splits them into batches the backend accepts.`
  })
}

/**
 * How items are deleted. EWS DeleteItem `DeleteType` (HardDelete, SoftDelete, MoveToDeletedItems:
 * https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteitem); Graph `disposalType`
 * (hardDelete, softDelete: https://learn.microsoft.com/graph/api/mailboxfolder-delete-items).
 */
export const DeleteMode = Type.Union(
  [Type.Literal('soft'), Type.Literal('hard'), Type.Literal('moveToDeletedItems')],
  {
    default: 'soft',
    description: '`soft` (default): into the mailbox\'s recoverable items (EWS SoftDelete, Graph softDelete); ' +
      '`hard`: permanently (EWS HardDelete, Graph hardDelete; Graph refuses it with a per-item 403 for items under ' +
      'hold or retention); `moveToDeletedItems`: into Deleted Items (EWS only; a Graph mailbox answers 501 ' +
      'MBG_ERR_NOT_SUPPORTED).'
  }
)

export function deleteRequest (maxItems: number) {
  return Type.Object(
    {
      ids: writeIds(maxItems),
      mode: Type.Optional(DeleteMode),
      folderId: Type.Optional(Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Folder id or well-known name the items are in. Required for a Graph mailbox (Graph deletes an ' +
          'item through its folder); an EWS mailbox deletes by item id alone and ignores it.'
      }))
    },
    { $id: 'DeleteItemsRequest', title: 'DeleteItemsRequest', additionalProperties: false }
  )
}

export function moveRequest (maxItems: number) {
  return Type.Object(
    {
      ids: writeIds(maxItems),
      folderId: Type.String({
        minLength: 1, maxLength: 1024, description: 'Target folder id or well-known name, in the same mailbox.'
      })
    },
    { $id: 'MoveItemsRequest', title: 'MoveItemsRequest', additionalProperties: false }
  )
}

/** One result of a delete or move: done (a moved item's new id: Exchange gives a moved item a new id), or why not. */
export const ItemWriteResult = Type.Union(
  [
    Type.Object(
      {
        id: Type.String({ description: 'The id as sent.' }),
        status: Type.Union([Type.Literal('deleted'), Type.Literal('moved')]),
        newId: Type.Optional(Type.String({
          description: 'The moved item\'s id in its new folder (EWS MoveItem answers a new ItemId; the old id no ' +
            'longer works).'
        }))
      },
      { additionalProperties: false }
    ),
    Type.Object({ id: Type.String(), error: Type.Ref(ItemError) }, { additionalProperties: false })
  ],
  { $id: 'ItemWriteResult', title: 'ItemWriteResult' }
)

export const ItemWriteResponse = Type.Object({
  results: Type.Array(Type.Ref(ItemWriteResult), { description: 'One result per id, in request order.' }),
  succeeded: Type.Integer(),
  failed: Type.Integer()
}, { $id: 'ItemWriteResponse', title: 'ItemWriteResponse', additionalProperties: false })
