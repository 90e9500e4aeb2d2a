import { Type, type Static } from '@sinclair/typebox'
import { configurable } from './limits.js'

/** RFC 9457 problem details, with the gateway's stable `code`. */
export const Problem = Type.Object({
  type: Type.String({
    description: 'URI identifying the problem type.',
    examples: ['urn:mailbox-gateway:problem:mailbox-not-found']
  }),
  title: Type.String({ description: 'Short, human-readable summary of the problem type.' }),
  status: Type.Integer({ description: 'HTTP status code.' }),
  detail: Type.Optional(Type.String({ description: 'Human-readable explanation of this occurrence.' })),
  instance: Type.Optional(Type.String({ description: 'The request path.' })),
  code: Type.String({
    description: 'Stable machine-readable code (MBG_ERR_*).',
    examples: ['MBG_ERR_MAILBOX_NOT_FOUND']
  }),
  requestId: Type.Optional(Type.String({ description: 'Gateway request id (also in the x-request-id header).' })),
  upstreamCode: Type.Optional(Type.String({
    description: 'The backend\'s own error code, when the problem came from the backend.'
  })),
  upstreamRequestId: Type.Optional(Type.String({ description: 'The backend\'s request id, when it gave one.' })),
  retryAfter: Type.Optional(Type.Integer({ description: 'Seconds to wait before retrying (also in Retry-After).' })),
  errors: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: 'JSON pointer into the request.' }),
    message: Type.String()
  }, { additionalProperties: false }), { description: 'Validation failures.' }))
}, { $id: 'Problem', title: 'Problem', additionalProperties: false })
export type ProblemT = Static<typeof Problem>

export const ItemError = Type.Object({
  code: Type.String({ description: 'Stable MBG_ERR_* code.' }),
  status: Type.Integer({ description: 'The HTTP status this error would have on its own.' }),
  message: Type.String(),
  retryable: Type.Boolean({
    description: 'Whether sending the same item again later can succeed (throttling, an unavailable backend, a ' +
      'gateway shutting down). False when the item or request must change first, and for ' +
      'MBG_ERR_OUTCOME_UNKNOWN: that item may already be done, so check (or replay with the same Idempotency-Key) ' +
      'before sending it again.'
  }),
  upstreamCode: Type.Optional(Type.String()),
  retryAfter: Type.Optional(Type.Integer({ description: 'Seconds to wait before retrying, when the backend said.' }))
}, { $id: 'ItemError', title: 'ItemError', additionalProperties: false })

/** Shared wording of the paging parameters (PageQuery here, FolderListQuery in folder.ts). */
export const PAGE_SIZE_DESCRIPTION =
  'Most entries per page: 1–1000, default 100 (fixed, not configurable). A page may hold fewer while ' +
  'more follow (an EWS backend caps pages at the pageSize of its entry in the configuration document, default 1000, the most EWS answers per call); ' +
  'the listing ends only when nextPageToken is absent.'
export const PAGE_TOKEN_DESCRIPTION =
  'The nextPageToken of the previous page, unchanged, with the same mailbox, folder and parentId. ' +
  'Tokens are sealed with PAGE_TOKEN_SECRET; when it is not set, only the process that issued a token accepts it.'

export const PageQuery = Type.Object(
  {
    pageSize: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: PAGE_SIZE_DESCRIPTION })
    ),
    pageToken: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: PAGE_TOKEN_DESCRIPTION }))
  },
  { additionalProperties: false }
)

export const MailboxParams = Type.Object({
  mailbox: Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'Gateway mailbox id, or the primary SMTP address.'
  })
})

export const FolderParams = Type.Object({
  mailbox: Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'Gateway mailbox id, or the primary SMTP address.'
  }),
  folder: Type.String({
    minLength: 1,
    maxLength: 1024,
    description:
      'Folder id, or a well-known name (root, inbox, drafts, sentitems, deleteditems, outbox, junkemail, calendar, contacts, tasks, notes, journal, archive).'
  })
})

/** Problem responses for a route, documented as application/problem+json. */
export function problems (...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const status of statuses) {
    out[status] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/problem+json': { schema: Type.Ref(Problem) } }
    }
  }
  return out
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid.',
  401: 'No credential, or one that does not hold (MBG_ERR_UNAUTHENTICATED); see WWW-Authenticate.',
  403: 'The caller lacks the scope (MBG_ERR_INSUFFICIENT_SCOPE) or may not use this mailbox ' +
    '(MBG_ERR_MAILBOX_FORBIDDEN), or the backend denies the gateway access (MBG_ERR_ACCESS_DENIED).',
  404: 'The mailbox, folder or item does not exist.',
  406: 'The item has no representation the Accept header admits (MBG_ERR_NOT_ACCEPTABLE); the detail lists those ' +
    'it has.',
  409: 'Conflict with the current state.',
  413:
    `Too large: the request body is over the gateway's limit (${configurable('BODY_LIMIT_BYTES', 'bytes')}), ` +
    'or the backend refused the data as too large.',
  410: 'The change cursor is no longer valid (MBG_ERR_CURSOR_EXPIRED): start again without a cursor.',
  415: 'Unsupported media type.',
  422: 'The data cannot be processed.',
  429: 'The caller\'s rate limit is used up (MBG_ERR_RATE_LIMITED); see RateLimit-* and Retry-After.',
  501: 'The mailbox\'s backend has no documented way to do this (MBG_ERR_NOT_SUPPORTED; the detail says why). ' +
    'Nothing was sent.',
  502: 'The backend answered badly or rejected the gateway.',
  503:
    'The backend is busy or unavailable, or the gateway sheds load (MBG_ERR_OVERLOADED: event loop lagging more than ' +
    `MAX_EVENT_LOOP_DELAY_MS; ${configurable('MAX_EVENT_LOOP_DELAY_MS', 'ms')}, 0 disables); see Retry-After.`,
  504: 'The backend did not answer in time.'
}

export const UPSTREAM = [502, 503, 504] as const
