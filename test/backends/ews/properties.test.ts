/**
 * The EWS property-set mapping (src/backends/ews/properties.ts) on its own: what writeItem writes, readItemProperties
 * reads back as the same fields (one table, both directions); time zones; and the base64 helpers that carry MIME
 * and attachment content (src/backends/ews/base64-bytes.ts).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { decodeBase64, encodeBase64 } from '../../../src/backends/ews/base64-bytes.js'
import { readItemProperties, windowsZone, writeItem } from '../../../src/backends/ews/properties.js'
import { parseXml } from '../../../src/backends/ews/soap/xml.js'
import type { ItemProperties } from '../../../src/backends/mailbox-backend.js'
import { T } from './recorder.js'

const SUPPORT = { flag: true, timeZoneDefinition: true }

/** The item element writeItem makes, with an ItemId as a GetItem answer has it, read back. */
function roundTrip (item: ItemProperties): ItemProperties {
  const { xml } = writeItem(item, SUPPORT)
  const at = xml.indexOf('>') + 1
  const answer = `<t:Items xmlns:t="${T}">${xml.slice(0, at)}<t:ItemId Id="AAMk" ChangeKey="CQ"/>${xml.slice(at)}` +
    '</t:Items>'
  return readItemProperties(parseXml(answer).children[0], []).item
}

t.test('what is written is read back as the same fields', async (t) => {
  const common: Omit<ItemProperties, 'kind'> = {
    subject: 'Subject <&> "quoted"',
    sensitivity: 'confidential',
    importance: 'high',
    categories: ['A', 'B'],
    flag: { flagStatus: 'flagged', startDateTime: '2026-01-01T00:00:00Z', dueDateTime: '2026-01-02T00:00:00Z' }
  }
  const items: ItemProperties[] = [
    {
      kind: 'message',
      itemClass: 'IPM.Note.Custom',
      ...common,
      body: { text: 'plain ünïcödé' },
      from: { name: 'Alice', address: 'alice@contoso.example' },
      sender: { address: 'alice@contoso.example' },
      toRecipients: [{ name: 'Bob', address: 'bob@contoso.example' }, { address: 'x@contoso.example' }],
      ccRecipients: [{ address: 'carol@contoso.example' }],
      bccRecipients: [{ address: 'dave@contoso.example' }],
      replyTo: [{ address: 'desk@contoso.example' }]
    },
    {
      kind: 'appointment',
      itemClass: 'IPM.Appointment',
      ...common,
      body: { html: '<b>Agenda</b>' },
      start: '2026-03-10T09:00:00Z',
      end: '2026-03-10T10:00:00Z',
      timeZone: 'Pacific Standard Time',
      isAllDay: false,
      location: 'Room 4',
      uid: 'uid-1'
    },
    {
      kind: 'contact',
      ...common,
      displayName: 'Jane Doe',
      givenName: 'Jane',
      middleName: 'Q',
      surname: 'Doe',
      nickName: 'JD',
      companyName: 'Fabrikam',
      department: 'Sales',
      jobTitle: 'Manager',
      emailAddresses: [{ name: 'Jane', address: 'jane@fabrikam.example' }, { address: 'j2@x.example' },
        { address: 'j3@x.example' }],
      businessPhones: ['1', '2'],
      homePhones: ['3', '4'],
      mobilePhone: '5',
      businessAddress: {
        street: '1 Main St', city: 'Springfield', state: 'IL', postalCode: '62701', countryOrRegion: 'US'
      },
      homeAddress: { city: 'Shelbyville' },
      birthday: '1980-02-29'
    },
    {
      kind: 'task',
      ...common,
      status: 'completed',
      percentComplete: 100,
      startDateTime: '2026-03-01T00:00:00Z',
      dueDateTime: '2026-03-05T00:00:00Z',
      completedDateTime: '2026-03-04T12:00:00Z'
    }
  ]
  for (const item of items) t.same(roundTrip(item), item, item.kind)
})

t.test('line ends and tabs reach the server as sent (XML 1.0 §2.11, §3.3.3)', async (t) => {
  const item: ItemProperties = {
    kind: 'contact', body: { text: 'line 1\r\nline 2\n\tend\r' }, emailAddresses: [{ name: 'Jane\r\n\tDoe', address: 'j@x.example' }]
  }
  const { xml } = writeItem(item, SUPPORT)
  t.match(xml, '<t:Body BodyType="Text">line 1&#13;\nline 2\n\tend&#13;</t:Body>', 'a CR in text as a reference')
  t.match(xml, 'Name="Jane&#13;&#10;&#9;Doe"', 'white space in an attribute as references')
  t.same(roundTrip(item), item)
})

t.test('a message: the fields EWS has no writable element for go as their MAPI properties', async (t) => {
  const { xml } = writeItem({
    kind: 'message',
    isRead: true,
    sentDateTime: '2026-01-01T10:00:00Z',
    receivedDateTime: '2026-01-01T10:00:05Z',
    internetMessageId: '<m1@x>',
    isDraft: true,
    createdDateTime: '2020-01-01T00:00:00Z'
  }, SUPPORT)
  const props = [...xml.matchAll(/PropertyTag="(0x[0-9A-F]{4})" PropertyType="(\w+)"\/><t:Value>([^<]*)</g)]
    .map((m) => [m[1], m[2], m[3]])
  t.same(props, [
    ['0x0E07', 'Integer', '1'],
    ['0x0039', 'SystemTime', '2026-01-01T10:00:00Z'],
    ['0x0E06', 'SystemTime', '2026-01-01T10:00:05Z'],
    ['0x1035', 'String', '&lt;m1@x&gt;']
  ])
  t.notMatch(xml, /IsDraft|DateTimeCreated|IsRead/, 'export-only fields are not written')
})

t.test('the server version decides what can be written', async (t) => {
  const flagged: ItemProperties = { kind: 'task', flag: { flagStatus: 'flagged' } }
  t.throws(() => writeItem(flagged, { flag: false, timeZoneDefinition: true }),
    { code: 'MBG_ERR_NOT_SUPPORTED', message: /2013/ })
  t.throws(() => writeItem({
    kind: 'appointment', start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z', timeZone: 'UTC'
  }, { flag: true, timeZoneDefinition: false }), { code: 'MBG_ERR_NOT_SUPPORTED', message: /2010/ })
})

t.test('time zones: Windows ids as they are, IANA names as their Windows id', async (t) => {
  t.equal(windowsZone('W. Europe Standard Time'), 'W. Europe Standard Time')
  t.equal(windowsZone('UTC'), 'UTC')
  t.equal(windowsZone('America/Los_Angeles'), 'Pacific Standard Time')
  t.equal(windowsZone('Europe/Berlin'), 'W. Europe Standard Time')
  t.throws(() => windowsZone('Nowhere/Else'), { code: 'MBG_ERR_BAD_REQUEST' })
})

t.test('answers the schema cannot carry are refused, elements no kind maps are not supported', async (t) => {
  const read = (inner: string, element = 'Message'): unknown =>
    readItemProperties(parseXml(`<t:Items xmlns:t="${T}"><t:${element}><t:ItemId Id="AAMk"/>${inner}` +
      `</t:${element}></t:Items>`).children[0], [])
  t.throws(() => read('<t:DateTimeCreated>yesterday</t:DateTimeCreated>'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  t.throws(() => read('<t:Importance>Urgent</t:Importance>'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  t.throws(() => read('<t:IsRead>maybe</t:IsRead>'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  t.throws(() => read('<t:PercentComplete>150</t:PercentComplete>', 'Task'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  t.throws(() => read('<t:Body>no type</t:Body>'), { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
  t.throws(() => read('', 'constructor'), { code: 'MBG_ERR_NOT_SUPPORTED' }, 'never a name of Object.prototype')
  t.throws(() => read('', 'DistributionList'), { code: 'MBG_ERR_NOT_SUPPORTED' })
  t.same((read('<t:DateTimeSent>2026-01-01T11:00:00+01:00</t:DateTimeSent>') as { item: unknown }).item,
    { kind: 'message', sentDateTime: '2026-01-01T10:00:00Z' }, 'a time with an offset is given in UTC')
})

t.test('base64: decoded and encoded a piece at a time, never leniently', async (t) => {
  for (const n of [1, 2, 3, 4, 1000, 196_607, 196_608, 196_609, 1_048_577]) {
    const data = randomBytes(n)
    const text = data.toString('base64')
    t.equal(encodeBase64(data).toString('latin1'), text, `encode ${n}`)
    t.ok(decodeBase64(text)?.equals(data), `decode text ${n}`)
    t.ok(decodeBase64(Buffer.from(text, 'latin1'))?.equals(data), `decode bytes ${n}`)
  }
  const data = randomBytes(3000)
  const wrapped = data.toString('base64').replace(/.{76}/g, '$&\r\n')
  t.ok(decodeBase64(wrapped)?.equals(data), 'line-wrapped text')
  t.ok(decodeBase64(Buffer.from(wrapped, 'latin1'))?.equals(data), 'line-wrapped bytes')
  t.equal(encodeBase64(Buffer.alloc(0)).length, 0)
  for (const bad of ['', ' ', 'abc', 'ab*=', 'YW-_', 'YQ==YQ==', Buffer.from('ab!d')]) {
    t.equal(decodeBase64(bad), undefined, `refused: ${JSON.stringify(bad.toString())}`)
  }
})
