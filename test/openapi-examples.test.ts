/**
 * The examples in openapi/openapi.json: every request body and every 2xx JSON
 * answer has one, each validates against its schema in the document, and the
 * committed openapi/examples.json is exactly what a fresh capture against the
 * demo-mode gateway produces (run `npm run openapi:examples` after changing routes).
 */
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import pino from 'pino'
import { buildGateway } from '../src/build.js'
import { BackendRouter } from '../src/backends/router.js'
import { EXAMPLES_PATH, OPENAPI_PATH, readExamples, type OperationExamples } from '../src/cli/openapi.js'
import { DEMO_CREDENTIALS } from '../src/simulators/index.js'
import { captureLogs, findSecrets } from './helpers/logs.js'
import { captureExamples, formatExamples } from './helpers/openapi-examples.js'
import { openAuthenticator } from './helpers/auth.js'

interface MediaType { schema?: unknown, example?: unknown }
interface Operation {
  operationId: string
  requestBody?: { content: Record<string, MediaType> }
  responses: Record<string, { content?: Record<string, MediaType> }>
}
interface Located { where: string, pointer: string, media: MediaType }

const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, Operation>> }

/** JSON pointer (RFC 6901) as a URI fragment. */
function pointer (...tokens: string[]): string {
  return `#/${tokens.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`
}

/** Every place the document should carry an example, by operationId: the JSON request body and the 2xx JSON answers. */
function exampleSlots (): Map<string, { request?: Located, responses: Map<number, Located | undefined> }> {
  const slots = new Map<string, { request?: Located, responses: Map<number, Located | undefined> }>()
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const where = `${method.toUpperCase()} ${path}`
      const body = op.requestBody?.content['application/json']
      const responses = new Map<number, Located | undefined>()
      for (const [status, r] of Object.entries(op.responses)) {
        if (!/^2\d\d$/.test(status)) continue
        const media = r.content?.['application/json']
        responses.set(
          Number(status),
          media === undefined
            ? undefined
            : {
                where: `${where} ${status}`,
                pointer: pointer('paths', path, method, 'responses', status, 'content', 'application/json', 'schema'),
                media
              }
        )
      }
      slots.set(op.operationId, {
        ...(body !== undefined
          ? {
              request: {
                where: `${where} request body`,
                pointer: pointer('paths', path, method, 'requestBody', 'content', 'application/json', 'schema'),
                media: body
              }
            }
          : {}),
        responses
      })
    }
  }
  return slots
}

/**
 * Validates against the document's own schemas: the whole document is added under an $id, so component $refs
 * resolve.
 */
function schemaValidator (): (p: string) => ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema({ ...doc, $id: 'openapi.json' })
  const cache = new Map<string, ValidateFunction>()
  return (p) => {
    let v = cache.get(p)
    if (v === undefined) cache.set(p, v = ajv.compile({ $ref: `openapi.json${p}` }))
    return v
  }
}

const slots = exampleSlots()
const validate = schemaValidator()

function checkValid (t: Test, located: Located, value: unknown, what: string): void {
  const v = validate(located.pointer)
  t.ok(v(value), `${what} (${located.where}) validates against its schema`, { errors: v.errors })
}

t.test('every request body and 2xx JSON answer in the document has an example that validates', async (t) => {
  for (const [operationId, slot] of slots) {
    if (slot.request !== undefined) {
      t.not(slot.request.media.example, undefined, `${operationId}: request body has an example`)
      if (slot.request.media.example !== undefined) {
        checkValid(t, slot.request, slot.request.media.example,
        `${operationId} request example`)
      }
    }
    for (const [status, located] of slot.responses) {
      if (located === undefined) continue
      t.not(located.media.example, undefined, `${operationId}: ${status} answer has an example`)
      if (located.media.example !== undefined) {
        checkValid(t, located, located.media.example,
        `${operationId} ${status} example`)
      }
    }
  }
})

t.test('the validator rejects what the schemas forbid (so the check above means something)', async (t) => {
  const exportOk = slots.get('exportItems')?.responses.get(200)
  const importBody = slots.get('importItems')?.request
  if (exportOk === undefined ||
    importBody === undefined) { throw new Error('exportItems / importItems missing from the document') }
  t.notOk(
    validate(exportOk.pointer)({ results: [{ itemId: 'x' }], succeeded: 1, failed: 0 }),
    'result without data or error'
  )
  t.notOk(
    validate(importBody.pointer)({ items: [{ folderId: 'inbox', mode: 'create', data: 'not base64!' }] }),
    'data not base64'
  )
  t.notOk(
    validate(importBody.pointer)({ items: new Array(101).fill({ folderId: 'inbox', mode: 'create', data: 'AAAA' }) }),
    'more items than MAX_BATCH_ITEMS'
  )
})

t.test('configurable limits are named in the document, with the defaults it was generated with', async (t) => {
  const text = JSON.stringify(doc)
  const exportOp = doc.paths['/mailboxes/{mailbox}/items:export'].post as unknown as {
    description: string
    requestBody: {
      content: {
        'application/json': { schema: { properties: { itemIds: { maxItems: number, description: string } } } }
      }
    }
  }
  const itemIds = exportOp.requestBody.content['application/json'].schema.properties.itemIds
  t.equal(itemIds.maxItems, 100)
  t.match(itemIds.description, 'at most 100 (configurable with MAX_BATCH_ITEMS (1–1000, default 100))')
  t.match(exportOp.description, 'configurable with MAX_BATCH_ITEMS')
  t.match(text, 'configurable with BODY_LIMIT_BYTES (at least 1024 bytes, default 128 MiB)')
  t.match(text, 'configurable with MAX_EVENT_LOOP_DELAY_MS')
  t.match(text, 'PAGE_TOKEN_SECRET')
  t.match(text, 'Most entries per page: 1–1000, default 100 (fixed, not configurable)')

  // A gateway configured otherwise serves its own value, and still names the default.
  const logger = pino({ level: 'silent' })
  const app = await buildGateway({
    authenticator: openAuthenticator(),
    router: new BackendRouter({ backends: new Map(), mailboxes: [], logger }),
    mode: 'configured',
    logger,
    docsUi: false,
    maxBatchItems: 500
  })
  await app.ready()
  const served = app.swagger() as unknown as typeof doc
  await app.close()
  const servedIds = (served.paths['/mailboxes/{mailbox}/items:export'].post as unknown as typeof exportOp).requestBody
    .content['application/json'].schema.properties.itemIds
  t.equal(servedIds.maxItems, 500)
  t.match(servedIds.description, 'at most 500 (configurable with MAX_BATCH_ITEMS (1–1000, default 100))')
})

t.test('openapi/examples.json is what a fresh capture against the demo gateway produces', async (t) => {
  const committed = readExamples()
  const capture = captureLogs('debug')
  const fresh: OperationExamples = await captureExamples(capture.logger)
  t.same(
    findSecrets(capture.lines, [DEMO_CREDENTIALS.ews.password, DEMO_CREDENTIALS.app.clientSecret]),
    [],
    'no secret in the capture logs'
  )

  t.same(Object.keys(fresh).sort(), [...slots.keys()].sort(), 'the capture calls every operation in the document')
  for (const [operationId, example] of Object.entries(fresh)) {
    const slot = slots.get(operationId)
    if (slot === undefined) continue
    t.ok(slot.responses.has(example.status), `${operationId}: answered ${example.status}, a documented 2xx status`)
    const located = slot.responses.get(example.status)
    t.equal(
      example.response !== undefined,
      located !== undefined,
      `${operationId}: JSON answer exactly when the document has one`
    )
    if (located !== undefined) checkValid(t, located, example.response, `${operationId} fresh answer`)
    t.equal(
      example.request !== undefined,
      slot.request !== undefined,
      `${operationId}: request body exactly when the document takes one`
    )
    if (slot.request !== undefined) checkValid(t, slot.request, example.request, `${operationId} fresh request`)
  }
  // Demo mode is deterministic (seeded store, pinned store clock, fixed page-token key): the file must match byte
  // for byte.
  t.equal(formatExamples(fresh), readFileSync(EXAMPLES_PATH, 'utf8'), 'no drift (run `npm run openapi:examples`)')
  t.same(fresh, committed)
})
