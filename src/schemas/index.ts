/** Every shared schema (those with an $id), registered once for validation and for the OpenAPI components. */
import { ItemError, Problem } from './common.js'
import { Folder, FolderCreate, FolderList, FolderUpdate } from './folder.js'
import {
  ExportResponse,
  ExportLine,
  ExportResult,
  FolderExportRequest,
  ImportItem,
  ImportResponse,
  ImportResult,
  ItemList,
  ItemSummary,
  ItemWriteResponse,
  ItemWriteResult
} from './item.js'
import { Mailbox, MailboxCreate, MailboxList } from './mailbox.js'
import { FolderChange, FolderChanges, ItemChange, ItemChanges } from './changes.js'
import { Job, JobCreate, JobFolder, JobList, JobVerification } from './job.js'
import { BackendState, Liveness, NotReadyProblem, Readiness } from './health.js'
import {
  AttachmentInfo, Attendee, ExtendedProperty, ItemKind, ItemProperties, PhysicalAddress, Recipient
} from './item-properties.js'
import {
  Capability, CreatedItem, ExtendedPropertyName, MailboxCapabilities, MimeImportItem, PropertySetImportItem,
  PropertySetItem
} from './formats.js'

export const SHARED_SCHEMAS = [
  Problem, ItemError, Mailbox, MailboxList, MailboxCreate, Folder, FolderCreate, FolderUpdate, FolderList,
  ItemSummary, ItemList, ExportResult, ExportResponse, FolderExportRequest, ExportLine, ImportItem, ImportResult,
  ImportResponse,
  ItemWriteResult, ItemWriteResponse,
  ItemChange, ItemChanges, FolderChange, FolderChanges,
  Liveness, BackendState, Readiness, NotReadyProblem,
  JobCreate, JobFolder, JobVerification, Job, JobList,
  ItemKind, Recipient, Attendee, PhysicalAddress, AttachmentInfo, ExtendedProperty, ItemProperties,
  ExtendedPropertyName, PropertySetItem, MimeImportItem, PropertySetImportItem, CreatedItem, Capability,
  MailboxCapabilities
]
