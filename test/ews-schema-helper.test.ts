import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { validateEws } from './helpers/ews-schema.js'

const dir = new URL('./fixtures/ews-skeletons/', import.meta.url)

t.test('the schema helper accepts Microsoft-shaped skeletons and rejects a broken one', async (t) => {
  const files = readdirSync(dir).filter((f) => !f.startsWith('Envelope') && !f.startsWith('Fault'))
  const docs = files.map((f) => ({ name: f, xml: readFileSync(new URL(f, dir), 'utf8') }))
  const ok = await validateEws(docs, 'body')
  t.ok(ok.valid, ok.errors.join('\n'))
  const env = await validateEws([
    { name: 'env.xml', xml: readFileSync(new URL('Envelope.request.xml', dir), 'utf8') },
    { name: 'fault.xml', xml: readFileSync(new URL('Fault.ErrorServerBusy.shape.xml', dir), 'utf8') }
  ], 'envelope')
  t.ok(env.valid, env.errors.join('\n'))
  const bad = await validateEws([{ name: 'bad.xml', xml: docs[0].xml.replace('</m:', '<t:Bogus/></m:') }], 'body')
  t.notOk(bad.valid)
  t.ok(bad.errors.length > 0)
})
