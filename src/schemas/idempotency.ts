import { Type } from '@sinclair/typebox'

/**
 * The Idempotency-Key request header of write operations (draft-ietf-httpapi-idempotency-key-header-06).
 * Checked by the service (src/service/idempotency.ts parseIdempotencyKey), not by the schema, so a bad key
 * gets a message saying what is wrong with it.
 */
export const IdempotencyHeaders = Type.Object({
  'Idempotency-Key': Type.Optional(Type.String({
    description: 'Makes a retry of this request safe (draft-ietf-httpapi-idempotency-key-header): a unique key per ' +
      'request, e.g. a UUID, as an RFC 8941 string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`) or bare; 1–255 ' +
      'printable ASCII characters (else 400). Sent again with the same body to this mailbox, the request is not ' +
      'run again: it gets the first answer again, status and body byte for byte, with `Idempotent-Replayed: ' +
      'true`. The same key with another body or operation is a 422 (MBG_ERR_IDEMPOTENCY_KEY_REUSED); while the ' +
      'first request still runs, a 409 (MBG_ERR_IDEMPOTENCY_KEY_IN_USE) with Retry-After. Answers that may have ' +
      'written something (2xx, MBG_ERR_OUTCOME_UNKNOWN, MBG_ERR_INTERNAL) are kept 24 hours; after any other ' +
      'problem nothing was done and the key may be used again. A request with a key runs to its end even when ' +
      'the caller goes away, so its retry gets the answer.',
    examples: ['"8e03978e-40d5-43e8-bc93-6894a57f9324"']
  }))
})
