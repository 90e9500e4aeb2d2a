/**
 * EWS error vocabulary: request-level SOAP faults (HTTP 500) and per-item
 * response codes. Message texts follow what Exchange returns; clients must not
 * branch on them, but logs and humans read them.
 */
import { StoreError, type StoreErrorCode } from '../store/store.js'

/** Name/value pairs for `MessageXml/t:Value[@Name]`. */
export type MessageValues = Array<[string, string]>

export const MESSAGES: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorInvalidIdMalformed: 'Id is malformed.',
  ErrorInvalidChangeKey: 'The change key is invalid.',
  ErrorIrresolvableConflict: 'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  ErrorNonExistentMailbox: 'No mailbox with such guid.',
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorCorruptData: 'The item data is corrupt.',
  ErrorFolderExists: 'A folder with the specified name already exists.',
  ErrorDeleteDistinguishedFolder: 'Distinguished folders cannot be deleted.',
  ErrorInvalidPagingMaxRows: 'The paging view is invalid: MaxEntriesReturned must be greater than zero.',
  ErrorInvalidSyncStateData: 'Synchronization state data is corrupt or otherwise invalid.',
  ErrorCannotUseItemIdForFolderId: 'Item Id cannot be used as a Folder Id.',
  ErrorCannotUseFolderIdForItemId: 'Folder Id cannot be used as an Item Id.',
  ErrorInvalidPropertySet: 'Only the DisplayName of a folder can be updated.',
  ErrorInvalidValueForProperty: 'The folder name is empty or too long.',
  ErrorInternalServerError: 'An internal server error occurred. The operation failed.',
  ErrorMessageSizeExceeded: 'The message exceeds the maximum supported size.',
  ErrorServerBusy: 'The server cannot service this request right now. Try again later.',
  ErrorSchemaValidation: 'The request failed schema validation.',
  ErrorInvalidServerVersion: 'The specified server version is invalid.',
  ErrorImpersonateUserDenied: 'The account does not have permission to impersonate the requested user.',
  ErrorInvalidExchangeImpersonationHeaderData: 'The impersonation header data is invalid.',
  ErrorMissingEmailAddress: 'When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.',
  ErrorInvalidRequest: 'The request is invalid.',
  ErrorCrossMailboxMoveCopy: 'An attempt was made to move or copy an item between mailboxes.',
  ErrorUnsupportedTypeForConversion: 'The id format is not supported for conversion.'
}

/** A per-item failure: becomes one ResponseMessage with ResponseClass="Error". */
export class EwsError extends Error {
  constructor (readonly code: string, message?: string, readonly values: MessageValues = []) {
    super(message ?? MESSAGES[code] ?? code)
    this.name = 'EwsError'
  }
}

/** A request-level failure: becomes a SOAP Fault with HTTP 500. */
export class EwsFault extends Error {
  constructor (readonly code: string, message?: string, readonly values: MessageValues = [],
    readonly position?: { line: number, col: number }) {
    super(message ?? MESSAGES[code] ?? code)
    this.name = 'EwsFault'
  }

  static schema (violation: string, position?: { line: number, col: number }): EwsFault {
    return new EwsFault('ErrorSchemaValidation', violation, [], position)
  }
}

const STORE_CODES: Record<StoreErrorCode, string> = {
  MailboxNotFound: 'ErrorNonExistentMailbox',
  FolderNotFound: 'ErrorFolderNotFound',
  ItemNotFound: 'ErrorItemNotFound',
  FolderExists: 'ErrorFolderExists',
  DeleteDistinguishedFolder: 'ErrorDeleteDistinguishedFolder',
  ChangeKeyMismatch: 'ErrorIrresolvableConflict',
  CorruptData: 'ErrorCorruptData',
  InvalidId: 'ErrorInvalidIdMalformed',
  InvalidName: 'ErrorInvalidValueForProperty'
}

/** Converts store and EWS errors to a per-item EwsError; anything else is a bug and rethrown. */
export function toEwsError (err: unknown): EwsError {
  if (err instanceof EwsError) return err
  if (err instanceof StoreError) {
    const code = STORE_CODES[err.code]
    // Store texts for these carry useful detail; the others use Exchange's wording.
    const keepText = err.code === 'CorruptData'
    return new EwsError(code, keepText ? err.message : undefined)
  }
  throw err
}
