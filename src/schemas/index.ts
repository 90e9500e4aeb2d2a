/** Every shared schema (those with an $id), registered once for validation and for the OpenAPI components. */
import { ItemError, Problem } from './common.js'
import { Folder, FolderCreate, FolderList, FolderUpdate } from './folder.js'
import {
  ExportResponse,
  ExportResult,
  ImportItem,
  ImportResponse,
  ImportResult,
  ItemList,
  ItemSummary
} from './item.js'
import { Mailbox, MailboxCreate, MailboxList } from './mailbox.js'
import { BackendState, Liveness, NotReadyProblem, Readiness } from './health.js'

export const SHARED_SCHEMAS = [
  Problem, ItemError, Mailbox, MailboxList, MailboxCreate, Folder, FolderCreate, FolderUpdate, FolderList,
  ItemSummary, ItemList, ExportResult, ExportResponse, ImportItem, ImportResult, ImportResponse,
  Liveness, BackendState, Readiness, NotReadyProblem
]
