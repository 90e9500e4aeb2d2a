/**
 * One item at a time, in the formats callers' own tools open (README "Formats: MIME and property sets"):
 *
 * - `GET /mailboxes/{mailbox}/items/{id}` answers the item's MIME (.eml, .ics, .vcf) as a download
 *   (`Content-Disposition: attachment`, RFC 6266, for `curl -OJ`) or its property set (`Accept: application/json`),
 *   as the Accept header asks (RFC 9110 §12.5.1; `*\/*` or none: the item's own MIME type);
 * - `POST /mailboxes/{mailbox}/folders/{folder}/items` creates one item from a file sent as the body
 *   (`Content-Type: message/rfc822` or `text/calendar`, `curl --data-binary @file`) or from a property set
 *   (`application/json`), answering 201 with its id and Location.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, preParsingAsyncHookHandler } from 'fastify'
import Negotiator from 'negotiator'
import { create as contentDisposition } from 'content-disposition'
import { FolderParams, problems, UPSTREAM } from '../../src/schemas/common.js'
import { CreatedItem, PropertySetItem } from '../../src/schemas/formats.js'
import { ItemProperties, type ItemPropertiesT } from '../../src/schemas/item-properties.js'
import { IdempotencyHeaders } from '../../src/schemas/idempotency.js'
import { BadRequest } from '../../src/errors.js'
import { asciiFileName, ITEM_MEDIA_TYPES, type ItemMediaType } from '../../src/service/index.js'
import { idempotent, workSignal } from './idempotency.js'
import { importBodyBound } from './hooks.js'

/** The media types a raw upload is read as bytes for: an .eml, an .ics, and the vCard types (refused: 422). */
const RAW_UPLOAD_TYPES = ['message/rfc822', 'text/calendar', 'text/vcard', 'text/x-vcard', 'text/directory']

/** Bytes of a file (a schema that takes any value: the body is bytes, not JSON). */
function file (description: string): Record<string, unknown> {
  return { description }
}

const ItemParams = Type.Object({
  mailbox: FolderParams.properties.mailbox,
  id: Type.String({ minLength: 1, maxLength: 1024, description: 'Item id, as listed or exported.' })
})

const formats: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/mailboxes/:mailbox/items/:id', {
    config: { scope: 'items:export', audit: 'items.export' },
    schema: {
      tags: ['items'],
      summary: 'Download one item (.eml, .ics, .vcf, or its property set)',
      description: 'The item as its Accept header asks: `message/rfc822` (a message as .eml), `text/calendar` (a ' +
        'calendar item as .ics), `text/vcard` (a contact as .vcf), each with `Content-Disposition: attachment; ' +
        'filename=…` (the subject, made safe, and the extension: `curl -OJ` saves it under that name); ' +
        '`application/json`: its property set. `*/*` or no Accept: the item\'s own MIME type (a task, which has ' +
        'none, as its property set). A type the item does not have (text/vcard for a message) is a 406 ' +
        'MBG_ERR_NOT_ACCEPTABLE naming those it has; one the mailbox\'s backend has for no kind of item a 501 ' +
        'MBG_ERR_NOT_SUPPORTED, before anything is sent.',
      operationId: 'getItem',
      params: ItemParams,
      querystring: Type.Object({
        attachmentContent: Type.Optional(Type.Boolean({
          description: 'application/json only: file attachments carry their bytes (contentBytes). Default false.'
        }))
      }, { additionalProperties: false }),
      response: {
        200: {
          description: 'The item, as Accept asked.',
          content: {
            'message/rfc822': { schema: file('A message as .eml (RFC 5322 with MIME).') },
            'text/calendar': { schema: file('A calendar item as .ics (RFC 5545).') },
            'text/vcard': { schema: file('A contact as .vcf (RFC 6350).') },
            'application/json': { schema: Type.Ref(PropertySetItem) }
          }
        },
        ...problems(400, 404, 406, 501, ...UPSTREAM)
      }
    }
  }, async (request, reply) => {
    const acceptable = new Negotiator({ headers: { accept: request.headers.accept } })
      .mediaTypes([...ITEM_MEDIA_TYPES]) as ItemMediaType[]
    const options = request.query.attachmentContent !== undefined
      ? { attachmentContent: request.query.attachmentContent }
      : {}
    reply.header('vary', 'Accept')
    const read = await fastify.mailboxService.readItem(request.mailbox, request.params.id, acceptable, options,
      request.cancel)
    if ('json' in read) return await reply.type('application/json; charset=utf-8').send(read.json)
    const { data, contentType, fileName } = read.mime
    // A Buffer is sent as it is: the audit record's counts are set here (plugins/app/audit.ts).
    request.auditCounts = { succeeded: 1, failed: 0, bytes: data.length, complete: true }
    return await reply
      .type(contentType)
      .header('content-disposition', contentDisposition(fileName, { fallback: asciiFileName(fileName) }))
      .header('x-content-type-options', 'nosniff')
      .send(data)
  })

  await fastify.register(async (upload) => {
    // Scoped to this route: everywhere else the API takes JSON only.
    for (const type of RAW_UPLOAD_TYPES) {
      upload.addContentTypeParser(type, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
    }
    // As items:import: a body the mailbox's backend could never take is refused (413) before it is read.
    const keyed = idempotent(upload as unknown as FastifyInstance)
    const bound = importBodyBound(upload as unknown as FastifyInstance, 1)
    const hashed = keyed.preParsing as preParsingAsyncHookHandler
    upload.post('/mailboxes/:mailbox/folders/:folder/items', {
      config: { scope: 'items:import', audit: 'items.import' },
      ...keyed,
      preParsing: async function (this: FastifyInstance, ...[request, reply, payload]: Parameters<typeof bound>) {
        const checked = await bound.call(this, request, reply, payload) as typeof payload
        return await hashed.call(this, request, reply, checked)
      },
      schema: {
        tags: ['items'],
        summary: 'Create one item from an .eml, an .ics or a property set',
        description: 'The body is the file: `Content-Type: message/rfc822` (an .eml: a message, not a draft) or ' +
          '`text/calendar` (an .ics with one VEVENT, or a recurring series sharing one UID: an appointment); or ' +
          '`application/json`, a property set (ItemProperties: a message, appointment, contact or task). Answers 201 ' +
          'with the new item\'s id and its Location (GET it back). An appointment gets a new UID, reported as ' +
          '`uidReplaced`. Refused before anything is sent: a meeting (ATTENDEE, or attendees) and a vCard ' +
          '(text/vcard: Exchange has no vCard import; send the contact as application/json) with 422 ' +
          'MBG_ERR_DATA_INCOMPATIBLE, a file that does not parse with 422 MBG_ERR_DATA_INVALID, any other content ' +
          'type with 415, what the mailbox\'s backend cannot create with 501 MBG_ERR_NOT_SUPPORTED. The body is ' +
          'bounded as an import\'s (413). Takes an Idempotency-Key.',
        operationId: 'createItem',
        params: FolderParams,
        headers: IdempotencyHeaders,
        body: {
          content: {
            'message/rfc822': { schema: file('An .eml (RFC 5322 with MIME), as is.') },
            'text/calendar': { schema: file('An .ics (RFC 5545), as is.') },
            'application/json': { schema: Type.Ref(ItemProperties) }
          }
        },
        response: {
          201: { description: 'Created.', content: { 'application/json': { schema: Type.Ref(CreatedItem) } } },
          ...problems(400, 404, 409, 413, 415, 422, 501, ...UPSTREAM)
        }
      }
    }, async (request, reply) => {
      const body = request.body as Buffer | ItemPropertiesT | undefined | null
      if (body === undefined || body === null) throw new BadRequest('the body is empty: send the file or the item')
      const input = Buffer.isBuffer(body)
        ? { mime: { contentType: String(request.headers['content-type']), data: body } }
        : { item: body }
      const { folder } = request.params as { folder: string }
      const created = await fastify.mailboxService.createItem(request.mailbox, folder, input, workSignal(request))
      const location = `/mailboxes/${encodeURIComponent(request.mailbox.mailbox.id)}/items/` +
        encodeURIComponent(created.itemId)
      return await reply.code(201).header('location', location).send(created)
    })
  })
}

export default formats
