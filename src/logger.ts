/**
 * pino options for the gateway: request ids, and secrets removed before anything
 * is written. Path redaction covers structured fields; `redactUrl` rewrites
 * secrets that travel inside URLs (the `authtoken` of Graph import URLs, SAS-like
 * query tokens), which path redaction cannot see.
 */
import type { LoggerOptions } from 'pino'
import type { FastifyRequest } from 'fastify'

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  '*.password',
  '*.clientSecret',
  '*.client_secret',
  '*.accessToken',
  '*.access_token',
  '*.token',
  '*.authtoken',
  '*.importUrl'
]

const SECRET_QUERY = /([?&](?:authtoken|access_token|token|sig|code|client_secret)=)[^&#]*/gi

/** Replaces secret query parameter values in a URL (or any string containing URLs). */
export function redactUrl (value: string): string {
  return value.replace(SECRET_QUERY, '$1[REDACTED]')
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req (req: FastifyRequest) {
        return {
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          requestId: req.id
        }
      }
    }
  }
}
