import { Type } from '@sinclair/typebox'
import { MailboxCapabilities } from './formats.js'

export const Mailbox = Type.Object({
  id: Type.String({ description: 'Gateway mailbox id (stable, URL-safe).' }),
  address: Type.String({ description: 'Primary SMTP address of the owner (shared by a primary and its archive).' }),
  type: Type.Union([Type.Literal('ews'), Type.Literal('graph')],
    { description: 'Backend protocol serving the mailbox.' }),
  kind: Type.Union([Type.Literal('primary'), Type.Literal('archive')]),
  backend: Type.String({ description: 'Name of the configured backend.' }),
  displayName: Type.Optional(Type.String()),
  primaryId: Type.Optional(Type.String({ description: 'For an archive: id of its primary mailbox.' })),
  archiveId: Type.Optional(Type.String({ description: 'For a primary: id of its archive, when there is one.' })),
  registeredAt: Type.Optional(Type.String({
    format: 'date-time',
    description: 'When the mailbox was registered through POST /mailboxes (RFC 3339). Absent for mailboxes of the ' +
      'configuration document; only registered ones can be removed with DELETE /mailboxes/{mailbox}.'
  })),
  capabilities: Type.Optional(Type.Ref(MailboxCapabilities, {
    description: 'Only in GET /mailboxes/{mailbox}: what the mailbox\'s backend can do beyond the core (formats per ' +
      'kind of item and direction, folder-associated items, folders without a class), each with why not.'
  })),
  discovery: Type.Optional(Type.Object({
    state: Type.Literal('failed'),
    code: Type.String({
      description: 'MBG_ERR_* code of the failure (MBG_ERR_BACKEND_MISCONFIGURED: fix the setting named in detail).'
    }),
    detail: Type.String({ description: 'What failed.' })
  }, {
    additionalProperties: false,
    description: 'Present only in GET /mailboxes, when the backend could not be asked about this mailbox: it is ' +
      'listed as a primary, and whether it has an archive is unknown. Absent when discovery succeeded.'
  }))
}, { $id: 'Mailbox', title: 'Mailbox', additionalProperties: false })

export const MailboxList = Type.Object({
  mailboxes: Type.Array(Type.Ref(Mailbox), {
    description: 'Ordered by primary address; each primary is followed by its archive, on the same page.'
  }),
  nextPageToken: Type.Optional(Type.String({ description: 'Pass as pageToken for the next page; absent on the last.' }))
}, { $id: 'MailboxList', title: 'MailboxList', additionalProperties: false })

export const MailboxListQuery = Type.Object({
  pageSize: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Most primary addresses per page: 1–1000, default 100. Each comes with its archive, so a page holds ' +
      'up to twice as many mailboxes; it may hold fewer (the caller\'s allow-list) while more follow. The listing ' +
      'ends only when nextPageToken is absent.'
  })),
  pageToken: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 8192,
    description: 'The nextPageToken of the previous page, unchanged. Mailboxes registered or removed meanwhile ' +
      'show or not; every other one is listed once.'
  }))
}, { additionalProperties: false })

/** POST /mailboxes: a mailbox to register at runtime. */
export const MailboxCreate = Type.Object({
  address: Type.String({
    format: 'email', maxLength: 320, description: 'Primary SMTP address of the mailbox (kept lower-case).'
  }),
  backend: Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'Name of a configured backend (`backends` of the configuration document) that serves the mailbox.'
  }),
  displayName: Type.Optional(Type.String({
    minLength: 1, maxLength: 256, description: 'Shown in listings; default: the backend\'s, once discovered.'
  }))
}, { $id: 'MailboxCreate', title: 'MailboxCreate', additionalProperties: false })
