/**
 * Conformance of every object the Graph simulator returns against the CSDL fragments copied from
 * microsoftgraph/msgraph-metadata (test/fixtures/graph-csdl/, see SOURCE.txt there): each property
 * must be declared for that API version (own or inherited through BaseType) with a matching JSON type.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { XMLParser } from 'fast-xml-parser'
import t from 'tap'
import { DEMO_MAILBOXES } from '../../src/simulators/store/seed.js'
import { makeId } from '../../src/simulators/store/store.js'
import { toWireId } from '../../src/simulators/graph/index.js'
import { startHarness } from './graph-helpers.js'

interface CsdlProp { type: string, nullable: boolean, nav: boolean }
interface CsdlType { base?: string, props: Map<string, CsdlProp> }
type Model = Map<string, CsdlType>

const strip = (name: string): string => name.replace(/^(graph|microsoft\.graph)\./, '')

function loadModel (file: string, fallback?: Model): Model {
  const xml = readFileSync(fileURLToPath(new URL(`../fixtures/graph-csdl/${file}`, import.meta.url)), 'utf8')
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['EntityType', 'ComplexType', 'Property', 'NavigationProperty'].includes(name)
  })
  // The fragment files are element lists without a common root.
  const doc = parser.parse(`<root>${xml.replace(/<\?xml[^>]*>/, '')}</root>`) as { root: Record<string, unknown> }
  const model: Model = new Map(fallback)
  for (const kind of ['EntityType', 'ComplexType']) {
    for (const el of (doc.root[kind] ?? []) as Array<Record<string, any>>) {
      const props = new Map<string, CsdlProp>()
      for (const p of el.Property ?? []) {
        props.set(p.Name, { type: p.Type, nullable: p.Nullable !== 'false', nav: false })
      }
      for (const p of el.NavigationProperty ?? []) props.set(p.Name, { type: p.Type, nullable: true, nav: true })
      // Later fragments (the newer mailboxFolder in the beta file) replace earlier ones.
      model.set(el.Name, { ...(el.BaseType !== undefined ? { base: strip(el.BaseType) } : {}), props })
    }
  }
  return model
}

const v1 = loadModel('v1.0-Prod.mailbox-import-export.fragments.xml')
// The beta extract lacks the entity/directoryObject base types; they are identical in v1.0.
const beta = loadModel(
  'beta-Prod.mailbox-import-export.fragments.xml',
  new Map([...v1].filter(([k]) => k === 'entity' || k === 'directoryObject'))
)
const models = { 'v1.0': v1, beta }

function findProp (model: Model, typeName: string, name: string): CsdlProp | undefined {
  for (let ty = model.get(typeName); ty !== undefined; ty = ty.base === undefined ? undefined : model.get(ty.base)) {
    const p = ty.props.get(name)
    if (p !== undefined) return p
  }
  return undefined
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Returns the violations of `value` against Edm/graph type `type` (empty when it conforms). */
function checkValue (model: Model, type: string, value: unknown, nullable: boolean, at: string): string[] {
  if (value === null) return nullable ? [] : [`${at}: null for a non-nullable ${type}`]
  const coll = /^Collection\((.+)\)$/.exec(type)
  if (coll !== null) {
    if (!Array.isArray(value)) return [`${at}: ${type} must be an array`]
    return value.flatMap((v, i) => checkValue(model, coll[1], v, false, `${at}[${i}]`))
  }
  switch (type) {
    case 'Edm.String':
      return typeof value === 'string' ? [] : [`${at}: Edm.String must be a string`]
    case 'Edm.Int32':
    case 'Edm.Int64':
      return Number.isInteger(value) ? [] : [`${at}: ${type} must be an integer`]
    case 'Edm.Boolean':
      return typeof value === 'boolean' ? [] : [`${at}: Edm.Boolean must be a boolean`]
    case 'Edm.DateTimeOffset':
      return typeof value === 'string' && ISO_8601.test(value) && !Number.isNaN(Date.parse(value))
        ? []
        : [`${at}: Edm.DateTimeOffset must be an ISO 8601 string`]
    case 'Edm.Stream':
      return typeof value === 'string' && BASE64.test(value) && value.length % 4 === 0
        ? []
        : [`${at}: Edm.Stream (inline) must be base64`]
  }
  const name = strip(type)
  if (name === 'singleValueLegacyExtendedProperty') {
    // Not part of the extracted fragments: {id, value}, both strings, per the Graph docs.
    const o = value as Record<string, unknown>
    return typeof o === 'object' &&
      typeof o.id === 'string' &&
      typeof o.value === 'string' &&
      Object.keys(o).length === 2
      ? []
      : [`${at}: malformed extended property`]
  }
  if (!model.has(name)) return [`${at}: type ${type} is not in the CSDL fragments`]
  return conformance(model, name, value, at)
}

function conformance (model: Model, typeName: string, obj: unknown, at = typeName): string[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [`${at}: ${typeName} must be an object`]
  const out: string[] = []
  for (const [key, value] of Object.entries(obj)) {
    if (key.startsWith('@odata.')) continue
    const prop = findProp(model, typeName, key)
    if (prop === undefined) { out.push(`${at}.${key}: not declared on ${typeName}`); continue }
    out.push(...checkValue(model, prop.type, value, prop.nullable, `${at}.${key}`))
  }
  return out
}

t.test('the CSDL model is read correctly', async (t) => {
  t.equal(findProp(v1, 'mailboxItem', 'changeKey')?.type, 'Edm.String', 'inherited from outlookItem')
  t.equal(findProp(v1, 'mailboxItem', 'id')?.nullable, false, 'inherited from entity')
  t.equal(findProp(v1, 'mailboxItem', 'size')?.type, 'Edm.Int64')
  t.equal(findProp(beta, 'mailboxFolder', 'wellKnownName')?.type, 'Edm.String', 'the newer beta mailboxFolder wins')
  t.equal(findProp(v1, 'mailboxFolder', 'parentMailboxUrl'), undefined)
  t.equal(findProp(v1, 'mailboxFolder', 'wellKnownName')?.type, 'Edm.String', 'v1.0 follows the newer SDK shape')
  t.equal(findProp(v1, 'exchangeSettings', 'inPlaceArchiveMailboxId'), undefined)
  t.equal(findProp(beta, 'exportItemResponse', 'data')?.type, 'Edm.Stream')
  // The checker must be able to fail.
  t.same(conformance(v1, 'mailboxFolder', { id: 'x', parentMailboxUrl: 'u' }), [
    'mailboxFolder.parentMailboxUrl: not declared on mailboxFolder'
  ])
  t.same(conformance(v1, 'mailboxItem', { id: 'x', size: '12' }), ['mailboxItem.size: Edm.Int64 must be an integer'])
  t.same(conformance(v1, 'mailboxItem', { id: null }), ['mailboxItem.id: null for a non-nullable Edm.String'])
  t.same(conformance(v1, 'mailboxItem', { createdDateTime: 'yesterday', categories: [1] }), [
    'mailboxItem.createdDateTime: Edm.DateTimeOffset must be an ISO 8601 string',
    'mailboxItem.categories[0]: Edm.String must be a string'
  ])
  t.same(conformance(v1, 'exportItemResponse', { error: { code: 'x', detail: 'y' } }), [
    'exportItemResponse.error.detail: not declared on mailTipsError'
  ])
})

t.test('every returned object conforms to the CSDL of its version', async (t) => {
  const h = await startHarness(t)
  const M = DEMO_MAILBOXES
  const assertConforms = (version: 'v1.0' | 'beta', typeName: string, obj: unknown, label: string): void => {
    t.same(conformance(models[version], typeName, obj), [], `${version} ${label} conforms to ${typeName}`)
  }

  for (const version of ['v1.0', 'beta'] as const) {
    const G = `${h.sim.url}/${version}`
    const mbx = `${G}/admin/exchange/mailboxes/${h.sim.mailboxId(M.carol.guid)}`
    for (const user of [M.carol.smtp, M.bob.smtp]) {
      const s = await h.call('GET', `${G}/users/${user}/settings/exchange`)
      assertConforms(version, 'exchangeSettings', s.json, `settings of ${user}`)
    }
    const folders = await h.call('GET', `${mbx}/folders?$top=50`)
    t.ok(folders.json.value.length >= 12)
    for (const f of folders.json.value) assertConforms(version, 'mailboxFolder', f, `folder ${f.displayName as string}`)
    assertConforms(
      version,
      'mailboxFolder',
      (await h.call('GET', `${mbx}/folders/recoverableitemsdeletions?$expand=singleValueExtendedProperties`)).json,
      'folder with extended properties'
    )
    const created = await h.call('POST', `${mbx}/folders/inbox/childFolders`, {
      body: { displayName: `CSDL ${version}`, type: 'IPF.Note' }
    })
    assertConforms(version, 'mailboxFolder', created.json, 'created folder')
    assertConforms(
      version,
      'mailboxFolder',
      (
        await h.call('PATCH', `${mbx}/folders/${created.json.id as string}`, {
          body: { displayName: `CSDL2 ${version}` }
        })
      ).json,
      'updated folder'
    )
    const delta = await h.call('GET', `${mbx}/folders/delta`, { headers: { prefer: 'odata.maxpagesize=200' } })
    for (const f of delta.json.value) assertConforms(version, 'mailboxFolder', f, 'delta folder')

    const items = await h.call('GET', `${mbx}/folders/inbox/items?$top=15&$expand=singleValueExtendedProperties`)
    for (const i of items.json.value) assertConforms(version, 'mailboxItem', i, 'item')
    const appointment = (await h.call('GET', `${mbx}/folders/calendar/items?$top=1`)).json.value[0]
    const one = await h.call(
      'GET',
      `${mbx}/folders/calendar/items/${appointment.id as string}?$expand=singleValueExtendedProperties($filter=id eq 'String 0x0037')`
    )
    t.equal(one.json.type, 'IPM.Appointment')
    assertConforms(version, 'mailboxItem', one.json, 'single item')
    const idelta = await h.call('GET', `${mbx}/folders/tasks/items/delta`)
    for (const i of idelta.json.value) assertConforms(version, 'mailboxItem', i, 'delta item')

    const ids = items.json.value.slice(0, 3).map((i: any) => i.id as string)
    const exp = await h.call('POST', `${mbx}/exportItems`, {
      body: {
        itemIds: [
          ...ids,
          toWireId(makeId(M.carol.guid, 2, 'missing')),
          toWireId(h.store.itemsIn(h.store.wellKnownFolder(M.bob.guid, 'inbox').id)[0].id)
        ]
      }
    })
    t.equal(exp.json.value.length, 5)
    for (const r of exp.json.value) assertConforms(version, 'exportItemResponse', r, 'export result')
    t.equal(exp.json.value.filter((r: any) => r.error !== undefined).length, 2)
    for (const r of exp.json.value.filter((r: any) => r.error !== undefined)) {
      assertConforms(version, 'mailTipsError', r.error, 'per-item error')
    }

    const session = await h.call('POST', `${mbx}/createImportSession`)
    assertConforms(version, 'mailboxItemImportSession', session.json, 'import session')
  }

  // Beta archive objects.
  const B = `${h.sim.url}/beta/admin/exchange/mailboxes`
  const archive = `${B}/${h.sim.mailboxId(M.dave.archive)}`
  const aux = `${B}/${h.sim.mailboxId(M.dave.aux)}`
  const archiveFolders = (await h.call('GET', `${archive}/folders`)).json.value
  for (const f of archiveFolders) {
    assertConforms('beta', 'mailboxFolder', f, `archive folder ${f.displayName as string}`)
  }
  const expanded = archiveFolders.find((f: any) => f.displayName === '2018')
  const auxFolder = await h.call('GET', `${aux}/folders/${expanded.id as string}`)
  assertConforms('beta', 'mailboxFolder', auxFolder.json, 'aux archive folder')
  const auxItems = (await h.call('GET', `${aux}/folders/${expanded.id as string}/items?$top=2`)).json.value
  for (const i of auxItems) assertConforms('beta', 'mailboxItem', i, 'aux archive item')
  const redirected = (await h.call('POST', `${archive}/exportItems`, { body: { itemIds: [auxItems[0].id] } })).json
    .value[0]
  // The documented sample spells this key `Error`; apart from the key's case it must be a mailTipsError.
  t.ok('Error' in redirected && !('error' in redirected), 'the archive redirect uses the `Error` spelling')
  assertConforms(
    'beta',
    'exportItemResponse',
    { itemId: redirected.itemId, error: redirected.Error },
    'archive redirect result (key case-folded)'
  )
})
