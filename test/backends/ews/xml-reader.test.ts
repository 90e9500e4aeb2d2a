/**
 * The EWS answer reader (src/backends/ews/soap/xml.ts parseXml) reads a document in one pass of fast-xml-parser
 * and checks the markup the parser does not: every element's start and end tag, and what surrounds the root.
 * Documents that are not well-formed are refused (XmlError), from text and from bytes; well-formed ones that look
 * unusual are read.
 */
import t, { type Test } from 'tap'
import { parseXml, type XmlNode } from '../../../src/backends/ews/soap/xml.js'

const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
const S = 'http://schemas.xmlsoap.org/soap/envelope/'

const ok = `<s:Envelope xmlns:s="${S}"><s:Body><m:R xmlns:m="${M}" xmlns:t="${T}"><t:Items>` +
  '<t:Message><t:ItemId Id="AA==" ChangeKey="CK"/><t:Subject>a &amp; b</t:Subject></t:Message>' +
  '</t:Items></m:R></s:Body></s:Envelope>'

function both (t: Test, doc: string, what: string): void {
  t.throws(() => parseXml(doc), { name: 'XmlError' }, `${what} (text)`)
  t.throws(() => parseXml(Buffer.from(doc, 'utf8')), { name: 'XmlError' }, `${what} (bytes)`)
}

t.test('documents that are not well-formed are refused', async (t) => {
  const cases: Array<[string, string]> = [
    [ok.slice(0, 200), 'truncated inside the document'],
    [ok.slice(0, ok.length - '</s:Envelope>'.length), 'truncated before the root end tag'],
    [ok.slice(0, -1), 'truncated inside the root end tag'],
    [ok + '=== Truncated Data ===', 'text after the root element'],
    [ok + '</s:Envelope>', 'an end tag after the root element'],
    [ok + '<x/>', 'a second root element'],
    ['garbage' + ok, 'text before the root element'],
    ['<!DOCTYPE s:Envelope>' + ok, 'a document type declaration (SOAP 1.1 §3)'],
    ['<html><body>gateway error<br></body></html>', 'an HTML page'],
    [ok.replace('</t:Subject>', '</t:Subjec>'), 'an end tag naming another element'],
    [ok.replace('</t:Subject></t:Message>', '</t:Message></t:Subject>'), 'elements closed in the wrong order'],
    [ok.replace('</t:Items>', ''), 'an element left open'],
    [ok.replace('</t:Items>', '</t:Items></t:Items>'), 'an end tag with no start tag'],
    [ok.replace('Id="AA=="', 'Id=AA'), 'an unquoted attribute value'],
    [ok.replace('Id="AA=="', 'Id'), 'an attribute without a value'],
    [ok.replace('Id="AA==" ChangeKey', 'Id="AA=="ChangeKey'), 'attributes not separated by white space'],
    [ok.replace('Id="AA=="', 'Id="A<A"'), "'<' in an attribute value"],
    [ok.replace('Id="AA=="', 'Id="AA==" Id="BB=="'), 'a repeated attribute'],
    [ok.replace('<t:Subject>', '<t:Subject >').replace('</t:Subject>', '</ t:Subject>'), "white space after '</'"],
    [ok.replace('ChangeKey="CK"/>', 'ChangeKey="CK" / >'), "a space between '/' and '>'"],
    [ok.replace('a &amp; b', 'a & b'), "an '&' that starts no reference"],
    [ok.replace('a &amp; b', 'a < b'), "'<' in text"],
    [ok.replace(/t:Subject/g, 't:1Subject'), 'an element name starting with a digit'],
    [ok.replace(/t:Subject/g, 't:Sub:ject'), 'a name with two colons'],
    ['<a><!-- open comment </a>', 'a comment never closed']
  ]
  for (const [doc, what] of cases) both(t, doc, what)
})

function texts (node: XmlNode): string[] {
  return [node.text, ...node.children.flatMap(texts)]
}

t.test('well-formed documents that look unusual are read', async (t) => {
  const cases: Array<[string, string]> = [
    [`<?xml version="1.0" encoding="utf-8"?>\r\n<!-- answer -->\r\n${ok}\r\n<!-- end --><?pi x?>\n`,
      'declaration, comments, processing instructions and white space around the root'],
    [ok.replace('<t:Subject>', '<t:Subject\r\n>').replace('</t:Subject>', '</t:Subject\r\n  >'),
      'line breaks inside tags'],
    [ok.replace('ChangeKey="CK"/>', "ChangeKey='C\"K>' />"), "single quotes, '>' in a value, space before '/>'"],
    [ok.replace('<t:Subject>a &amp; b</t:Subject>', '<t:Subject><![CDATA[a & b]]></t:Subject>'), 'a CDATA section'],
    [ok.replace(/t:Subject/g, 't:Sübject_1.x-ü'), 'non-ASCII element names']
  ]
  for (const [doc, what] of cases) {
    const tree = parseXml(doc)
    t.equal(tree.local, 'Envelope', what)
    t.ok(texts(tree).includes('a & b'), `${what}: text read`)
    t.same(parseXml(Buffer.from(doc, 'utf8')), tree, `${what}: the same from bytes`)
  }
})

t.test('big text runs are read whole, wherever they fall', async (t) => {
  // Runs are lifted out of the document before parsing when they are 1,024 units (BIG_TEXT) or more long.
  for (const length of [1023, 1024, 1025, 2047, 2048, 16384, 50000]) {
    for (const before of [0, 1, 9000, 16380]) {
      const run = 'QUJD'.repeat(Math.ceil(length / 4)).slice(0, length)
      const doc = `<m:R xmlns:m="${M}"><m:Pad>${'x'.repeat(before)}</m:Pad><m:Data>${run}</m:Data>` +
        `<m:Data>${run}</m:Data><m:Tail>é</m:Tail></m:R>`
      for (const input of [doc, Buffer.from(doc, 'utf8')]) {
        const tree = parseXml(input)
        t.same(tree.children.map((c) => c.text), ['x'.repeat(before), run, run, 'é'], `${length} after ${before}`)
      }
    }
  }
})
