import { Type } from '@sinclair/typebox'

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
  mailboxes: Type.Array(Type.Ref(Mailbox))
}, { $id: 'MailboxList', title: 'MailboxList', additionalProperties: false })
