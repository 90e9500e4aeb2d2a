/** The service layer's public surface: what routes, jobs and the CLI call. */
export {
  MailboxService,
  mailboxView,
  type MailboxServiceOptions,
  type MailboxView,
  type PageQuery
} from './mailbox-service.js'
export {
  deleteItems, exportFolder, exportItems, importItems, moveItems, summarize, type BatchOptions,
  type BatchSummary, type ExportResult, type ImportRequestItem,
  type ImportRules, type MailboxTarget
} from './items.js'
export {
  exportAnswerBytes, exportAnswerPieces, WHOLE_ANSWER_BYTES, type AnswerPieces, type ExportAnswer
} from './export-answer.js'
export { EXPORT_PAGE_SIZE, type ExportStream, type StreamCounts } from './export-stream.js'
export {
  IdempotencyKeys, parseIdempotencyKey, requestFingerprint, scopedKey, type IdempotencyClaim,
  type IdempotencyKeysOptions, type IdempotencyScope, type IdempotencyStart
} from './idempotency.js'
/** One deadline per caller request for its backend calls (armed on the request's cancellation signal). */
export { armDeadline, raceDeadline } from '../upstream/deadline.js'
export { itemData } from '../json-bytes.js'
export {
  asciiFileName, capabilitiesView, fileName, ITEM_MEDIA_TYPES, mediaTypeOf, type CreatedItemAnswer,
  type FormatImportRequestItem, type ItemMediaType, type ItemRead
} from './formats.js'
