/** The service layer's public surface: what routes, jobs and the CLI call. */
export {
  MailboxService,
  type BatchOptions,
  mailboxView,
  type MailboxServiceOptions,
  type MailboxView,
  type PageQuery
} from './mailbox-service.js'
export {
  exportFolder, exportItems, importItems, summarize, type BatchSummary, type ExportResult, type ImportRequestItem,
  type ImportRules, type MailboxTarget
} from './items.js'
