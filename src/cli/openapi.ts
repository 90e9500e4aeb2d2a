/**
 * `npm run openapi`: writes openapi/openapi.json from the route schemas, with
 * the examples captured from a demo run (openapi/examples.json, written by
 * `npm run openapi:examples`) merged in. The document does not depend on
 * configuration or backends, so it is built with an empty router and the
 * default limits; test/openapi.test.ts fails when the file drifts.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { CallerAuthenticator } from '../access/authenticator.js'
import { buildGateway } from '../build.js'
import { BackendRouter } from '../backends/router.js'

/** One captured call: the request line, the status it answered with, its JSON request body and answer (if any). */
export interface OperationExample {
  /** e.g. "GET /mailboxes/alice%40contoso.example/folders?pageSize=3" */
  call: string
  status: number
  request?: unknown
  response?: unknown
}

/** The contents of openapi/examples.json: operationId → example. */
export type OperationExamples = Record<string, OperationExample>

interface MediaType { schema?: unknown, example?: unknown }
interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, MediaType> }
  responses: Record<string, { content?: Record<string, MediaType> }>
}
interface Document { paths: Record<string, Record<string, Operation>> }

export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))
export const EXAMPLES_PATH = fileURLToPath(new URL('../../openapi/examples.json', import.meta.url))

/**
 * Sets each operation's request body and answer `example` (application/json) from the
 * captured examples. Throws when an example names an operation, body or status the
 * document lacks (re-capture after changing routes).
 */
export function mergeExamples<T extends object> (doc: T, examples: OperationExamples): T {
  const left = new Set(Object.keys(examples))
  for (const [path, ops] of Object.entries((doc as unknown as Document).paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const example = op.operationId !== undefined ? examples[op.operationId] : undefined
      if (example === undefined) continue
      left.delete(op.operationId as string)
      const where = `${method.toUpperCase()} ${path} (${op.operationId as string})`
      if (example.request !== undefined) {
        const media = op.requestBody?.content?.['application/json']
        if (media === undefined) throw new Error(`${where}: example has a request body, the operation takes none`)
        media.example = example.request
      }
      const response = op.responses[String(example.status)]
      if (response === undefined) {
        throw new Error(`${where}: example answered ${example.status}, which the operation does not document`)
      }
      if (example.response !== undefined) {
        const media = response.content?.['application/json']
        if (media === undefined) {
          throw new Error(`${where}: example has a JSON answer, the ${example.status} response has none`)
        }
        media.example = example.response
      }
    }
  }
  if (left.size > 0) throw new Error(`examples for unknown operations: ${[...left].join(', ')}`)
  return doc
}

export function readExamples (path = EXAMPLES_PATH): OperationExamples {
  return JSON.parse(readFileSync(path, 'utf8')) as OperationExamples
}

export async function generateOpenApi (examples: OperationExamples = readExamples()): Promise<string> {
  const logger = pino({ level: 'silent' })
  const router = new BackendRouter({ backends: new Map(), mailboxes: [], logger })
  // Nobody calls this instance: an authenticator that lets no one in.
  const authenticator = new CallerAuthenticator({ mode: 'required', clients: [], rateLimit: { max: 1, windowSec: 1 } })
  const app = await buildGateway({ router, authenticator, mode: 'configured', logger, docsUi: false })
  await app.ready()
  const doc = mergeExamples(structuredClone(app.swagger()), examples)
  await app.close()
  return `${JSON.stringify(doc, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, await generateOpenApi())
  console.log(`wrote ${OPENAPI_PATH}`)
}
