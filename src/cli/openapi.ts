/**
 * `npm run openapi`: writes openapi/openapi.json from the route schemas.
 * The document does not depend on configuration or backends, so it is built
 * with an empty router; test/openapi.test.ts fails when the file drifts.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { buildGateway } from '../build.js'
import { BackendRouter } from '../backends/router.js'

export async function generateOpenApi (): Promise<string> {
  const logger = pino({ level: 'silent' })
  const router = new BackendRouter({ backends: new Map(), mailboxes: [], logger })
  const app = await buildGateway({ router, mode: 'configured', logger, docsUi: false })
  await app.ready()
  const doc = app.swagger()
  await app.close()
  return `${JSON.stringify(doc, null, 2)}\n`
}

export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url))

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, await generateOpenApi())
  console.log(`wrote ${OPENAPI_PATH}`)
}
