import t from 'tap'
import { readFileSync } from 'node:fs'
import { generateOpenApi, OPENAPI_PATH } from '../src/cli/openapi.js'

t.test('openapi/openapi.json is what the route schemas generate (run `npm run openapi` after changing routes)',
  async (t) => {
    const generated = await generateOpenApi()
    const committed = readFileSync(OPENAPI_PATH, 'utf8')
    t.equal(committed, generated, 'no drift')
    const doc = JSON.parse(generated)
    t.equal(doc.openapi, '3.1.0')
    t.ok(doc.paths['/mailboxes/{mailbox}/items:export'].post, 'custom verb path rendered as items:export')
    t.ok(doc.paths['/mailboxes/{mailbox}/items:import'].post)
    for (const [path, ops] of Object.entries<
      Record<string, { operationId?: string, responses: Record<string, unknown> }>
    >(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        t.ok(op.operationId, `${method} ${path} has an operationId`)
        const problems = Object.entries(op.responses).filter(([s]) => Number(s) >= 400)
        t.ok(problems.length > 0, `${method} ${path} documents its errors`)
        for (const [, r] of problems) {
          t.ok(
            (r as { content: Record<string, unknown> }).content['application/problem+json'],
            `${method} ${path} errors are problem+json`
          )
        }
      }
    }
  })
