/**
 * Validates EWS XML against Microsoft's official schema (test/fixtures/ews-schema,
 * copied unchanged from the EWS schema snapshot; see SOURCE.txt there) with
 * xmllint-wasm, in-process. Compiling the schema costs ~0.3 s, so validate many
 * documents per call.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { validateXML, memoryPages } from 'xmllint-wasm'

const dir = fileURLToPath(new URL('../fixtures/ews-schema/', import.meta.url))
const read = (name: string): string => readFileSync(dir + name, 'utf8')

let preload: Array<{ fileName: string, contents: string }> | undefined

function schemaFiles (): Array<{ fileName: string, contents: string }> {
  preload ??= [
    { fileName: 'xml.xsd', contents: read('xml.xsd') },
    { fileName: 'soap11-envelope.xsd', contents: read('soap11-envelope.xsd') },
    { fileName: 'messages.xsd', contents: read('messages.xsd') },
    { fileName: 'types.xsd', contents: read('types.xsd') }
  ]
  return preload
}

export interface SchemaResult {
  valid: boolean
  /** Validation errors, without the harmless "Skipping import of schema" warning. */
  errors: string[]
}

/**
 * Validates documents. `kind` 'envelope' expects whole SOAP 1.1 envelopes
 * (header children lax, body children strict); 'body' expects one EWS body element.
 */
export async function validateEws (docs: Array<{ name: string, xml: string }>,
  kind: 'envelope' | 'body' = 'envelope'): Promise<SchemaResult> {
  if (docs.length === 0) throw new Error('validateEws: no documents')
  const driver = kind === 'envelope' ? 'ews-envelope.xsd' : 'ews-body.xsd'
  const result = await validateXML({
    xml: docs.map((d) => ({ fileName: d.name.replace(/[^A-Za-z0-9._-]/g, '_'), contents: d.xml })),
    schema: [{ fileName: driver, contents: read(driver) }],
    preload: schemaFiles(),
    maxMemoryPages: memoryPages.GiB
  })
  const errors = result.errors
    .map((e) => e.rawMessage ?? e.message)
    .filter((m) => !/Skipping import of schema/.test(m))
  return { valid: result.valid, errors }
}
