/**
 * Error bodies shaped like Microsoft Entra ID (AAD) v2.0 endpoint errors.
 *
 * Clients (MSAL included) read `error`, `error_description`, `error_codes[0]`,
 * `correlation_id` and `trace_id`; the description carries the AADSTS code and
 * the trace/correlation/timestamp trailer exactly as Entra formats it.
 */
import { randomUUID } from 'node:crypto'

export interface AadErrorBody {
  error: string
  error_description: string
  error_codes: number[]
  timestamp: string
  trace_id: string
  correlation_id: string
  error_uri: string
}

export class AadError extends Error {
  constructor (
    readonly status: 400 | 401,
    readonly error: string,
    readonly aadsts: number,
    readonly description: string
  ) {
    super(`AADSTS${aadsts}: ${description}`)
  }
}

/** Entra's timestamp format: `2024-05-01 10:11:12Z`. */
function entraTimestamp (date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Builds the JSON body; `correlationId` echoes the client's `client-request-id` when it is a GUID. */
export function aadErrorBody (err: AadError, origin: string, correlationId?: string): AadErrorBody {
  const traceId = randomUUID()
  const corr = correlationId !== undefined && GUID.test(correlationId) ? correlationId : randomUUID()
  const timestamp = entraTimestamp(new Date())
  return {
    error: err.error,
    error_description: `AADSTS${err.aadsts}: ${err.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${corr}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: corr,
    error_uri: `${origin}/error?code=${err.aadsts}`
  }
}
