/**
 * pino options for the gateway: request ids, and secrets removed before anything
 * is written. Path redaction covers structured fields; `redactUrl` rewrites
 * secrets that travel inside URLs (the `authtoken` of Graph import URLs, SAS-like
 * query tokens), which path redaction cannot see.
 */
import type { LoggerOptions } from 'pino'
import type { FastifyRequest } from 'fastify'
import { redactUrl } from './redact.js'

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

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      // Serializers must never throw: anything logged under `req` may not be a Fastify request.
      req (req: Partial<FastifyRequest>) {
        return {
          method: req.method,
          url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
          host: req.hostname,
          remoteAddress: req.ip,
          requestId: req.id
        }
      }
    }
  }
}
