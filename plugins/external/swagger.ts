/**
 * OpenAPI 3.1 document generated from the route schemas (@fastify/swagger),
 * served with Swagger UI at /docs and as JSON at /docs/json.
 */
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { SECURITY_SCHEMES } from '../app/access.js'

export const API_INFO = {
  title: 'mailbox-gateway',
  version: '0.1.0',
  description: 'One REST API to list, export and import Exchange mailbox content, whether the mailbox lives behind EWS (SOAP) or Microsoft Graph. Backend limits (batch sizes, paging, throttling, import sessions) are handled by the gateway. ' +
    'Limits marked "configurable with NAME" are environment variables of the gateway (README, Configuration). ' +
    'The published document (openapi/openapi.json) shows the defaults and carries examples captured from a demo-mode run; ' +
    'a running gateway serves its own at /docs/json, with its configured MAX_BATCH_ITEMS and without the examples.',
  license: { name: 'MIT', identifier: 'MIT' }
}

async function swaggerPlugin (fastify: FastifyInstance, opts: { ui?: boolean }): Promise<void> {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: API_INFO,
      servers: [{ url: '/', description: 'This gateway' }],
      // Every operation needs a caller credential unless it says otherwise; plugins/app/access.ts writes each
      // operation's own requirement (with its scope) and `[]` on the public ones.
      security: [{ apiKey: [] }, { bearer: [] }],
      components: { securitySchemes: SECURITY_SCHEMES as unknown as Record<string, never> },
      tags: [
        { name: 'mailboxes', description: 'Mailboxes the gateway knows' },
        { name: 'folders', description: 'Folder tree of a mailbox' },
        { name: 'items', description: 'Items: listing, full-fidelity export and import' },
        { name: 'operations', description: 'Service health' }
      ]
    },
    refResolver: {
      buildLocalReference (json, _baseUri, _fragment, i) {
        return typeof json.$id === 'string' ? json.$id : `def-${i}`
      }
    }
  })
  if (opts.ui !== false) {
    await fastify.register(swaggerUi, { routePrefix: '/docs', logLevel: 'warn' })
  }
}

export default fp(swaggerPlugin, { name: 'swagger', fastify: '5.x' })
