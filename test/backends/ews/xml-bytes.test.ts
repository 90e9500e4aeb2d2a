/**
 * Answers are parsed from their bytes (src/backends/ews/soap/xml.ts parseXml): big text runs are sliced out of the
 * bytes and decoded alone. The tree must be the one parsing the decoded text gives, whatever surrounds those runs.
 */
import t from 'tap'
import type { PiecedBody } from '../../../src/upstream/pieced-body.js'
import { parseXml, type XmlNode } from '../../../src/backends/ews/soap/xml.js'

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'

/** The tree as text gives it: a big ASCII run read from bytes is also kept as `bytes`, its `text` made from them. */
function plain (node: XmlNode): unknown {
  const { ns, local, attrs, children, text } = node
  return { ns, local, attrs, children: children.map(plain), text }
}

function texts (node: XmlNode): string[] {
  return [node.text, ...node.children.flatMap(texts)]
}

t.test('bytes and text parse to the same tree', async (t) => {
  const base64 = Buffer.alloc(30_000, 7).toString('base64')
  const wrapped = base64.replace(/(.{76})/g, '$1\r\n')
  const nonAscii = 'Grüße ✓ 𝄞 '.repeat(3000) // a big run that is not ASCII: decoded as UTF-8
  const docs = [
    `<m:R xmlns:m="${M}"><m:Data>${base64}</m:Data><m:S>é</m:S></m:R>`,
    `<m:R xmlns:m="${M}"><m:S>ü</m:S><m:Data>${wrapped}</m:Data><m:Data>${base64}</m:Data></m:R>`,
    `<m:R xmlns:m="${M}" a="ö"><m:Big>${nonAscii}</m:Big><m:Data>${base64}&#x41;&amp;</m:Data></m:R>`,
    `<m:R xmlns:m="${M}"><m:Small>ß</m:Small></m:R>`
  ]
  for (const doc of docs) {
    const fromText = parseXml(doc)
    const fromBytes = parseXml(Buffer.from(doc, 'utf8'))
    t.same(plain(fromBytes), plain(fromText))
  }
  const doc = Buffer.from(docs[0], 'utf8')
  const data = parseXml(doc).children[0]
  t.ok(data.bytes !== undefined && data.bytes.buffer === doc.buffer, 'an ASCII run is kept as a slice of the bytes')
  t.equal(data.bytes?.toString('latin1'), base64)
  t.equal(parseXml(Buffer.from(docs[2], 'utf8')).children[1].bytes, undefined, 'a run with references is text')
  const tree = parseXml(Buffer.from(docs[2], 'utf8'))
  t.ok(texts(tree).includes(nonAscii), 'a non-ASCII run keeps its characters')
  t.ok(texts(tree).includes(`${base64}A&`), 'entities after a lifted run are decoded')
})

t.test('bytes that are not UTF-8 decode as the text would', async (t) => {
  const base64 = Buffer.alloc(20_000, 1).toString('base64')
  const doc = Buffer.concat([
    Buffer.from(`<m:R xmlns:m="${M}"><m:S>`), Buffer.from([0xc3]), Buffer.from(`</m:S><m:Data>${base64}</m:Data></m:R>`)
  ])
  t.same(plain(parseXml(doc)), plain(parseXml(doc.toString('utf8'))))
})

t.test('a document that is not well-formed is refused from bytes too', async (t) => {
  const base64 = Buffer.alloc(20_000, 1).toString('base64')
  t.throws(() => parseXml(Buffer.from(`<m:R xmlns:m="${M}"><m:Data>${base64}</m:Data>`)), { name: 'XmlError' })
  t.throws(() => parseXml(Buffer.from(`<m:R xmlns:m="${M}"><m:Data>${base64}</m:Data></m:R>=== Truncated`)),
    { name: 'XmlError' })
})

t.test('a request body in pieces is sent as the bytes of the same request written whole', async (t) => {
  const { buildEnvelope } = await import('../../../src/backends/ews/soap/envelope.js')
  const { buildUploadItems } = await import('../../../src/backends/ews/operations/upload-items.js')
  const { XmlParts, xmlByteLength } = await import('../../../src/backends/ews/soap/xml.js')
  const data = Buffer.alloc(40_000, 9).toString('base64')
  const body = buildUploadItems([
    { parentFolderId: 'F1==', action: 'CreateNew', data },
    { parentFolderId: 'F2==', action: 'Update', itemId: 'I&1', changeKey: 'C"K', associated: true, data: 'AAAA' }
  ])
  t.ok(body instanceof XmlParts)
  const whole = body.parts.join('')
  t.equal(whole, '<m:UploadItems><m:Items>' +
    `<t:Item CreateAction="CreateNew"><t:ParentFolderId Id="F1=="/><t:Data>${data}</t:Data></t:Item>` +
    '<t:Item CreateAction="Update" IsAssociated="true"><t:ParentFolderId Id="F2=="/>' +
    '<t:ItemId Id="I&amp;1" ChangeKey="C&quot;K"/><t:Data>AAAA</t:Data></t:Item></m:Items></m:UploadItems>')
  t.equal(xmlByteLength(body), Buffer.byteLength(whole))
  const options = { serverVersion: 'Exchange2013_SP1', impersonate: 'jürgen@contoso.example' }
  const bytes = buildEnvelope(body, options)
  t.ok(typeof bytes !== 'string' && Buffer.isBuffer(bytes.whole), 'a small request is one buffer')
  t.ok(Buffer.from(buildEnvelope(whole, options), 'utf8').equals(Buffer.concat([...(bytes as PiecedBody).pieces()])))
})

t.test('a large request body is sent in pieces, item data given as bytes without a copy', async (t) => {
  const { buildEnvelope } = await import('../../../src/backends/ews/soap/envelope.js')
  const { buildUploadItems } = await import('../../../src/backends/ews/operations/upload-items.js')
  const text = Buffer.alloc(1_500_000, 3).toString('base64')
  const bytes = Buffer.from(Buffer.alloc(1_200_000, 4).toString('base64'), 'latin1')
  const entries = [
    { parentFolderId: 'F1==', action: 'CreateNew' as const, data: text },
    { parentFolderId: 'F2==', action: 'CreateNew' as const, data: bytes }
  ]
  const options = { serverVersion: 'Exchange2013_SP1', impersonate: 'jürgen@contoso.example' }
  const envelope = buildEnvelope(buildUploadItems(entries), options) as PiecedBody
  t.equal(envelope.whole, undefined, 'not joined into one buffer')
  const pieces = [...envelope.pieces()]
  t.ok(pieces.includes(bytes), 'the data bytes are one of the pieces, as given')
  t.ok(Math.max(...pieces.map((p) => p.length)) <= bytes.length, 'text is encoded in pieces')
  const whole = buildUploadItems(entries.map((e) => ({ ...e, data: e.data.toString() }))).parts.join('')
  const expected = Buffer.from(buildEnvelope(whole, options), 'utf8')
  t.equal(envelope.bytes, expected.length)
  t.ok(Buffer.concat(pieces).equals(expected), 'the same bytes as the request written whole')
  t.ok(Buffer.concat([...envelope.pieces()]).equals(expected), 'given afresh for a second send')
})

t.test('long runs after a > that ends no tag are not taken for text', async (t) => {
  const long = 'x'.repeat(5000)
  for (const doc of [
    // An attribute value holding '>' (well-formed XML allows it), a long attribute after it.
    `<m:R xmlns:m="${M}"><m:S a="1>2" b="${long}">t</m:S></m:R>`,
    // A comment and a CDATA section holding '>' and then '<'.
    `<m:R xmlns:m="${M}"><!-- 1 > ${long} < 2 --><m:S>t</m:S></m:R>`,
    `<m:R xmlns:m="${M}"><m:S><![CDATA[1 > ${long} < 2]]></m:S></m:R>`
  ]) {
    const fromText = parseXml(doc)
    t.same(parseXml(Buffer.from(doc, 'utf8')), fromText)
    const s = fromText.children[0]
    t.equal(s.local, 'S')
    if (doc.includes('CDATA')) t.equal(s.text, `1 > ${long} < 2`)
    else t.equal(s.text, 't')
    if (doc.includes(' b="')) t.same(s.attrs, { a: '1>2', b: long })
  }
})

t.test('item data of a few kilobytes is lifted out too, and comes back whole', async (t) => {
  const data = Buffer.alloc(8000, 3).toString('base64') // about what an 8 KB item's stream is
  const doc = `<m:R xmlns:m="${M}">${`<m:Data>${data}</m:Data>`.repeat(3)}<m:S>&amp;</m:S></m:R>`
  const tree = parseXml(Buffer.from(doc, 'utf8'))
  t.same(tree.children.map((c) => c.text), [data, data, data, '&'])
  t.same(plain(parseXml(doc)), plain(tree))
})

t.test('a big run after a text ">" is put back in its place; U+0001 is refused', async (t) => {
  const data = Buffer.alloc(6000, 9).toString('base64')
  for (const doc of [
    `<m:R xmlns:m="${M}"><m:Body>a &gt; b > c ${data}</m:Body></m:R>`,
    `<m:R xmlns:m="${M}"><m:Body>x>${data}<m:I/>${data}>y</m:Body></m:R>`,
    `<m:R xmlns:m="${M}"><m:Body><![CDATA[p<q>${data}<r]]></m:Body></m:R>`
  ]) {
    const want = doc.replace(/<m:I\/>/, '').replace(/^.*<m:Body>(?:<!\[CDATA\[)?|(?:\]\]>)?<\/m:Body>.*$/g, '')
      .replace(/&gt;/g, '>')
    t.equal(parseXml(doc).children[0].text, want, 'from text')
    t.equal(parseXml(Buffer.from(doc, 'utf8')).children[0].text, want, 'from bytes')
  }
  for (const doc of [`<m:R xmlns:m="${M}"><m:S>\u00010\u0001</m:S><m:D>${data}</m:D></m:R>`]) {
    t.throws(() => parseXml(doc), /U\+0001/)
    t.throws(() => parseXml(Buffer.from(doc, 'utf8')), /U\+0001/)
  }
})

t.test('text with a > every few hundred bytes and no < for megabytes: read whole; later runs lifted', async (t) => {
  // Each '<' is searched for once: the search for the next run goes on after it, whatever the text before it.
  const gts = `${'a'.repeat(511)}&gt;`.repeat(4096) // 2 MB of text whose '>' are written as references
  const raw = `${'a'.repeat(511)}>`.repeat(4096) // the same with raw '>' (allowed in XML text)
  for (const length of [1023, 1024, 1025, 5000]) {
    const run = 'QUJD'.repeat(Math.ceil(length / 4)).slice(0, length)
    for (const [name, text] of [['references', gts], ['raw', raw]]) {
      const doc = Buffer.from(`<m:R xmlns:m="${M}"><m:T>${text}</m:T><m:Data>${run}</m:Data></m:R>`, 'utf8')
      const tree = parseXml(doc)
      t.equal(tree.children[0].text, text.replace(/&gt;/g, '>'), `${name}, ${length}: the long text whole`)
      t.equal(tree.children[1].text, run, `${name}, ${length}: the run after it whole`)
      t.equal(tree.children[1].bytes !== undefined, length >= 1024, `${name}, ${length}: lifted from 1,024 bytes`)
    }
  }
})
