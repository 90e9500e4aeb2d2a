/**
 * ConvertId: one response message per source id, in request order, each with the id in
 * `DestinationFormat` (schema: messages.xsd ConvertIdType; docs: convertid-operation.md).
 * Exchange answers it before anything else in a version probe (exchangelib sends it with a
 * dummy id and reads only ServerVersionInfo), so per-id failures are ordinary error messages.
 *
 * Formats the simulator issues: `EwsId` (its ids as EWS hands them out), `EntryId` (the same
 * id's bytes after the 3-byte EWS id header, standard base64) and `HexEntryId` (those bytes
 * as upper-case hex). `EwsLegacyId`, `StoreId`, `OwaId` and public folder ids are not modelled:
 * ErrorUnsupportedTypeForConversion. The named `Mailbox` must exist (ErrorNonExistentMailbox)
 * and, like the id's own mailbox, be open to the acting identity (ErrorAccessDenied).
 */
import { parseId, StoreError } from '../../store/store.js'
import type { RequestContext } from '../context.js'
import { EwsError, EwsFault, toEwsError } from '../errors.js'
import { NS, required, requiredAttr, type XmlEl } from '../xml.js'
import { errorMessage, esc, operationResponse, successMessage } from '../writer.js'

const FORMATS = new Set(['EwsLegacyId', 'EwsId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId'])
const EWS_HEADER = Buffer.from([0x00, 0x03, 0x24])

function unsupported (format: string): EwsError {
  return new EwsError('ErrorUnsupportedTypeForConversion', `The simulator does not convert ${format} ids.`)
}

/** Source id in `format` → the simulator's EWS id; ErrorInvalidIdMalformed when it does not decode. */
function toEwsId (id: string, format: string): string {
  let bytes: Buffer
  if (format === 'EwsId') return id
  if (format === 'EntryId') bytes = Buffer.from(id, 'base64')
  else if (format === 'HexEntryId' && /^(?:[0-9A-Fa-f]{2})+$/.test(id)) bytes = Buffer.from(id, 'hex')
  else if (format === 'HexEntryId') throw new EwsError('ErrorInvalidIdMalformed')
  else throw unsupported(format)
  return Buffer.concat([EWS_HEADER, bytes]).toString('base64')
}

function fromEwsId (ewsId: string, format: string): string {
  if (format === 'EwsId') return ewsId
  const entry = Buffer.from(ewsId, 'base64').subarray(EWS_HEADER.length)
  if (format === 'EntryId') return entry.toString('base64')
  if (format === 'HexEntryId') return entry.toString('hex').toUpperCase()
  throw unsupported(format)
}

function convertOne (ctx: RequestContext, el: XmlEl, destination: string): string {
  if (el.local !== 'AlternateId') {
    throw new EwsError('ErrorUnsupportedTypeForConversion', 'The simulator has no public folders.')
  }
  const format = requiredAttr(el, 'Format')
  const address = requiredAttr(el, 'Mailbox')
  const mailbox = ctx.store.mailboxBySmtp(address)
  if (mailbox === undefined) {
    throw new EwsError('ErrorNonExistentMailbox', 'The SMTP address has no mailbox associated with it.')
  }
  if (!ctx.accessible.has(mailbox.guid)) throw new EwsError('ErrorAccessDenied')
  const ewsId = toEwsId(requiredAttr(el, 'Id'), format)
  let holder: string
  try {
    holder = parseId(ewsId).mailboxGuid
  } catch (err) {
    if (err instanceof StoreError) throw new EwsError('ErrorInvalidIdMalformed')
    throw err
  }
  if (!ctx.accessible.has(holder)) throw new EwsError('ErrorAccessDenied')
  const archived = ctx.store.mailboxes.get(holder)?.kind !== 'primary'
  const converted = fromEwsId(ewsId, destination)
  return `<m:AlternateId xsi:type="t:AlternateIdType" Format="${destination}" Id="${esc(converted)}" ` +
    `Mailbox="${esc(mailbox.smtp)}"${archived ? ' IsArchive="true"' : ''}/>`
}

export function convertId (ctx: RequestContext, req: XmlEl): string {
  const destination = requiredAttr(req, 'DestinationFormat')
  if (!FORMATS.has(destination)) {
    throw EwsFault.schema('The request failed schema validation: The \'DestinationFormat\' attribute is invalid - ' +
      `The value '${destination}' is invalid according to its datatype 'IdFormatType'.`)
  }
  const ids = required(req, NS.m, 'SourceIds').children.filter((c) => c.ns === NS.t)
  if (ids.length === 0) {
    throw EwsFault.schema('The request failed schema validation: The element \'SourceIds\' has incomplete content. ' +
      'List of possible elements expected: \'AlternateId, AlternatePublicFolderId, AlternatePublicFolderItemId\'.')
  }
  const messages = ids.map((el) => {
    try {
      return successMessage('ConvertId', convertOne(ctx, el, destination))
    } catch (err) {
      return errorMessage('ConvertId', toEwsError(err))
    }
  })
  return operationResponse('ConvertId', messages)
}
