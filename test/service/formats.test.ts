/**
 * The format rules of the service (src/service/formats.ts) on their own: an .ics's UID replaced and nothing else
 * changed, meetings told apart from appointments with e-mail alarms, property sets checked and never altered in
 * place, safe download names, and the export options.
 */
import t from 'tap'
import ICAL from 'ical.js'
import {
  asciiFileName, exportOptions, fileName, MAX_MULTIPART_DEPTH, prepareMime, preparePropertySet, replaceEventUid,
  type PreparedImport
} from '../../src/service/formats.js'

const CRLF = '\r\n'

function calendar (lines: string[], eol = CRLF): Buffer {
  return Buffer.from(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Contoso//Test//EN', ...lines, 'END:VCALENDAR', '']
    .join(eol))
}

function uids (ics: Buffer): string[] {
  const cal = new ICAL.Component(ICAL.parse(ics.toString('utf8')) as never)
  return cal.getAllSubcomponents('vevent').map((e) => String(e.getFirstPropertyValue('uid')))
}

function prepared (value: PreparedImport | Error): PreparedImport {
  if (value instanceof Error) throw value
  return value
}

t.test('an .ics gets a new UID in each VEVENT; every other byte stays', async (t) => {
  const original = calendar([
    'BEGIN:VEVENT', 'UID:040000008200E00074C5B7101A82E008000000001', 'DTSTAMP:20260101T090000Z',
    'DTSTART;TZID=W. Europe Standard Time:20260105T100000', 'DTEND;TZID=W. Europe Standard Time:20260105T110000',
    'RRULE:FREQ=WEEKLY;COUNT=4', 'SUMMARY:Jour fixe – Büro', 'X-MICROSOFT-CDO-BUSYSTATUS:BUSY',
    'BEGIN:VALARM', 'UID:alarm-1', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'DESCRIPTION:Reminder', 'END:VALARM',
    'END:VEVENT',
    'BEGIN:VEVENT', 'UID:040000008200E00074C5B7101A82E008', ' 000000001', 'RECURRENCE-ID;TZID=W. Europe Standard Time:' +
      '20260112T100000', 'DTSTAMP:20260101T090000Z', 'DTSTART;TZID=W. Europe Standard Time:20260112T120000',
    'DTEND;TZID=W. Europe Standard Time:20260112T130000', 'SUMMARY:Jour fixe (moved)', 'END:VEVENT'
  ])
  const ready = prepared(prepareMime('text/calendar; charset=utf-8', original, 'the upload'))
  t.equal(ready.format, 'mime')
  t.equal(ready.kind, 'appointment')
  if (ready.format !== 'mime') return
  t.equal(ready.uidReplaced?.from, '040000008200E00074C5B7101A82E008000000001', 'the folded UID, unfolded')
  const to = ready.uidReplaced?.to ?? ''
  t.match(to, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID (RFC 9562)')
  t.same(uids(ready.content.data), [to, to], 'the series and its exception keep sharing one UID')
  const text = ready.content.data.toString('utf8')
  t.match(text, 'UID:alarm-1\r\n', "the alarm's UID is its own")
  t.equal(text.replace(`UID:${to}\r\n`, 'UID:040000008200E00074C5B7101A82E008000000001\r\n')
    .replace(`UID:${to}\r\n`, 'UID:040000008200E00074C5B7101A82E008\r\n 000000001\r\n'), original.toString('utf8'),
  'the rest is byte for byte the original')
  t.equal(ready.content.contentType, 'text/calendar')

  const lf = calendar(['BEGIN:VEVENT', 'UID;X-SOURCE=x:lf-uid', 'DTSTART:20260105T100000Z', 'END:VEVENT'], '\n')
  const replaced = replaceEventUid(lf, 'new-uid')
  t.equal(replaced.toString('utf8'), lf.toString('utf8').replace('UID;X-SOURCE=x:lf-uid\n', 'UID:new-uid\n'),
    'LF line ends stay LF')
  const head = 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n'
  const tail = '\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'
  const latin1 = Buffer.concat([Buffer.from(`${head}UID:u\r\nSUMMARY:`), Buffer.from([0xe9]), Buffer.from(tail)])
  t.same(replaceEventUid(latin1, 'v'),
    Buffer.concat([Buffer.from(`${head}UID:v\r\nSUMMARY:`), Buffer.from([0xe9]), Buffer.from(tail)]),
    'a byte that is not UTF-8 comes back as it was')
})

t.test('an .ics with an empty UID gets a new one; e-mail alarms are not attendees', async (t) => {
  const empty = calendar(['BEGIN:VEVENT', 'UID:', 'DTSTART:20260105T100000Z', 'SUMMARY:x', 'END:VEVENT'])
  const ready = prepared(prepareMime('text/calendar', empty, 'x'))
  t.equal(ready.uidReplaced?.from, '', 'it had none')
  t.same(ready.format === 'mime' && uids(ready.content.data), [ready.uidReplaced?.to], 'it has the new one')
  const alarm = calendar(['BEGIN:VEVENT', 'UID:a', 'DTSTART:20260105T100000Z', 'BEGIN:VALARM', 'ACTION:EMAIL',
    'TRIGGER:-PT1H', 'SUMMARY:r', 'DESCRIPTION:r', 'ATTENDEE:mailto:alice@contoso.example', 'END:VALARM', 'END:VEVENT'])
  t.equal(prepared(prepareMime('text/calendar', alarm, 'x')).kind, 'appointment', 'an e-mail alarm is no meeting')
  const meeting = prepareMime('text/calendar',
    calendar(['BEGIN:VEVENT', 'UID:a', 'DTSTART:20260105T100000Z', 'ATTENDEE:mailto:b@c.d', 'END:VEVENT']), 'x')
  t.match(meeting, { code: 'MBG_ERR_DATA_INCOMPATIBLE', statusCode: 422 })
  t.match(prepareMime('TEXT/X-VCARD', Buffer.from('BEGIN:VCARD'), 'x'), { code: 'MBG_ERR_DATA_INCOMPATIBLE' })
  t.match(prepareMime('text/plain', Buffer.from('x'), 'x'), { code: 'MBG_ERR_UNSUPPORTED_MEDIA_TYPE', statusCode: 415 })
  const eml = Buffer.from('Subject: x\r\n\r\nbody')
  const message = prepared(prepareMime('Message/RFC822', eml, 'x'))
  t.same([message.kind, message.format === 'mime' && message.content.data === eml], ['message', true],
    'an .eml goes as it came')
  t.match(prepareMime('message/rfc822', Buffer.from('\r\nno headers'), 'x'), { code: 'MBG_ERR_DATA_INVALID' })
})

t.test('a property set is checked, and an appointment gets a new uid in a copy', async (t) => {
  const item = {
    kind: 'appointment' as const,
    subject: 'Review',
    start: '2026-01-05T10:00:00Z',
    end: '2026-01-05T11:00:00Z',
    uid: 'old-uid',
    attendees: []
  }
  const ready = prepared(preparePropertySet(item, 'the item'))
  if (ready.format !== 'json') throw new Error('json')
  t.equal(item.uid, 'old-uid', "the caller's object is not changed")
  t.same(ready.uidReplaced, { from: 'old-uid', to: ready.item.uid })
  t.not(ready.item.uid, 'old-uid')
  t.same({ ...ready.item, uid: 'old-uid' }, item, 'nothing else differs')
  const contact = {
    kind: 'contact' as const, displayName: 'Erin', emailAddresses: [{ address: 'erin@contoso.example' }]
  }
  const asIs = prepared(preparePropertySet(contact, 'x'))
  t.equal(asIs.format === 'json' && asIs.item, contact, 'a contact goes as it came')
  t.equal(asIs.uidReplaced, undefined)
  t.match(preparePropertySet({ kind: 'task', subject: 't', uid: 'x' }, 'x'), { code: 'MBG_ERR_BAD_REQUEST' },
    'uid is an appointment field')
  t.match(preparePropertySet({ ...item, end: '2026-01-05T09:00:00Z' }, 'x'), { message: /end is before start/ })
  t.match(preparePropertySet({
    kind: 'message', attachments: [{ name: 'm.eml', kind: 'item' }]
  }, 'x'), { message: /only file attachments/ })
  t.match(preparePropertySet({
    kind: 'message', attachments: [{ name: 'a.txt', contentBytes: 'not base64!' }]
  }, 'x'), { message: /contentBytes \(standard base64/ })
  t.notOk(preparePropertySet({
    kind: 'message',
    attachments: [{ name: 'a.txt', contentBytes: 'aGk=' }],
    extendedProperties: [{ propertyTag: '0x0E07', propertyType: 'Integer', value: '1' }]
  }, 'x') instanceof Error, 'a file attachment with its bytes and a named extended property with a value pass')
})

t.test('download names are safe, and the ASCII fallback keeps their shape', async (t) => {
  t.equal(fileName('Re: Q3 report / "final" <v2>?', 'message'), 'Re_ Q3 report _ _final_ _v2__.eml')
  t.equal(fileName(undefined, 'appointment'), 'item.ics')
  t.equal(fileName('  ..  ', 'contact'), 'item.vcf')
  t.equal(fileName('../../etc/passwd', 'message'), '_.._etc_passwd.eml', 'no path survives')
  t.equal(fileName('a\u0000b\r\nc\td', 'message'), 'a_b__c_d.eml')
  t.equal(fileName('x'.repeat(300), 'message'), `${'x'.repeat(100)}.eml`)
  t.equal(fileName('😀'.repeat(150), 'message'), `${'😀'.repeat(100)}.eml`, 'cut at characters, not code units')
  t.equal(fileName('Besprechung Büro', 'task'), 'Besprechung Büro.json')
  t.equal(asciiFileName('Besprechung Büro – 😀.eml'), 'Besprechung Buro _ _.eml', 'an emoji is one _')
  t.equal(asciiFileName(`${'😀'.repeat(100)}.eml`), `${'_'.repeat(100)}.eml`, 'no longer than the name')
  t.equal(asciiFileName(`${'ﬀ'.repeat(100)}.ics`), `${'f'.repeat(100)}.ics`, 'NFKD spellings cut to 100 too')
  t.equal(fileName('invoice\u202Egpj.exe', 'message'), 'invoicegpj.exe.eml', 'a bidi override would disguise it')
  t.equal(fileName('a\u200Bb\uFEFF', 'message'), 'ab.eml', 'zero-width characters')
  for (const reserved of ['CON', 'nul', 'Com1', 'LPT9', 'aux.report']) {
    t.equal(fileName(reserved, 'message'), `_${reserved}.eml`, `${reserved}: a name Windows reserves`)
  }
  t.equal(fileName('Console', 'message'), 'Console.eml')
})

t.test('export options go with json only, and name each extended property one way', async (t) => {
  t.same(exportOptions('mime', {}), {})
  t.throws(() => exportOptions('mime', { attachmentContent: false }), { code: 'MBG_ERR_BAD_REQUEST' })
  t.same(exportOptions('json', { attachmentContent: true }), { attachmentContent: true })
  const named = {
    propertySetId: '00062008-0000-0000-c000-000000000046', propertyId: 0x8503, propertyType: 'Boolean' as const
  }
  t.same(exportOptions('json', { extendedProperties: [named] }), { extendedProperties: [named] })
  t.throws(() => exportOptions('json', { extendedProperties: [{ propertyType: 'String' }] }),
    /extendedProperties\[0\]: name an extended property/)
})

t.test('an .ics whose times cannot be read as written is refused (422), not moved', async (t) => {
  const event = (...lines: string[]): Buffer => calendar(['BEGIN:VEVENT', 'UID:u1', ...lines, 'END:VEVENT'])
  const refused: Array<[string, Buffer, RegExp]> = [
    ['not a date', event('DTSTART:notadate', 'DTEND:alsonot'), /DTSTART "notadate" is not a DATE/],
    ['month 13 (ical.js would read 2027-01)', event('DTSTART:20261345T100000Z'), /is not a calendar date/],
    ['February 30', event('DTSTART:20260230'), /is not a calendar date/],
    ['hour 25', event('DTSTART:20260105T250000Z'), /is not a time of day/],
    ['year 1 (ical.js would read 1901)', event('DTSTART:00010101T000000Z'), /before 1601/],
    ['a bad EXDATE in a list', event('DTSTART:20260105T100000Z', 'RRULE:FREQ=DAILY;COUNT=3',
      'EXDATE:20260106T100000Z,2026010X'), /EXDATE "2026010X"/],
    ['an unknown TZID', event('DTSTART;TZID=Mars/Olympus:20260105T100000'), /TZID "Mars\/Olympus"/],
    ['no DTSTART', event('SUMMARY:when?'), /has no DTSTART/]
  ]
  for (const [what, ics, message] of refused) {
    const result = prepareMime('text/calendar', ics, 'the upload')
    t.ok(result instanceof Error, what)
    t.match(result, { code: 'MBG_ERR_DATA_INVALID', statusCode: 422, message }, what)
  }
  const accepted: Array<[string, Buffer]> = [
    ['UTC', event('DTSTART:20260105T100000Z', 'DTEND:20260105T110000Z')],
    ['a date', event('DTSTART;VALUE=DATE:20240229')],
    ['an IANA TZID without VTIMEZONE', event('DTSTART;TZID=Europe/Berlin:20260105T100000')],
    ['a Windows TZID', event('DTSTART;TZID=W. Europe Standard Time:20260105T100000')],
    ['a TZID of the file\'s VTIMEZONE', calendar(['BEGIN:VTIMEZONE', 'TZID:Custom Zone', 'BEGIN:STANDARD',
      'DTSTART:16010101T000000', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE',
      'BEGIN:VEVENT', 'UID:u1', 'DTSTART;TZID=Custom Zone:20260105T100000', 'END:VEVENT'])]
  ]
  for (const [what, ics] of accepted) t.notOk(prepareMime('text/calendar', ics, 'the upload') instanceof Error, what)
})

t.test('an .ics VEVENT without a UID gets the new one too, and the answer says it had none', async (t) => {
  const ics = calendar(['BEGIN:VEVENT', 'DTSTART:20260105T100000Z', 'SUMMARY:no uid', 'END:VEVENT'])
  const ready = prepared(prepareMime('text/calendar', ics, 'the upload'))
  if (ready.format !== 'mime') throw new Error('a MIME import')
  t.equal(ready.uidReplaced?.from, '')
  t.same(uids(ready.content.data), [ready.uidReplaced?.to])
  t.equal(ready.content.data.toString('utf8'), ics.toString('utf8').replace('END:VEVENT',
    `UID:${ready.uidReplaced?.to ?? ''}\r\nEND:VEVENT`), 'only the UID line added')
})

t.test('an .eml whose MIME structure cannot be read is refused (422) before anything is sent', async (t) => {
  const head = 'From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n'
  const noBoundary = Buffer.from(`${head}Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n` +
    '\r\nhi\r\n--x--\r\n')
  t.match(prepareMime('message/rfc822', noBoundary, 'the upload'),
    { code: 'MBG_ERR_DATA_INVALID', message: /no boundary parameter/ })
  const nestedNoBoundary = Buffer.from(`${head}Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n` +
    'Content-Type: multipart/alternative\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n--a--\r\n')
  t.match(prepareMime('message/rfc822', nestedNoBoundary, 'the upload'), { message: /no boundary parameter/ })
  const deep = (n: number): Buffer => {
    let text = head
    for (let i = 0; i < n; i++) text += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`
    text += 'Content-Type: text/plain\r\n\r\nx\r\n'
    for (let i = n - 1; i >= 0; i--) text += `--b${i}--\r\n`
    return Buffer.from(text)
  }
  t.match(prepareMime('message/rfc822', deep(MAX_MULTIPART_DEPTH + 1), 'the upload'),
    { code: 'MBG_ERR_DATA_INVALID', message: /nested deeper than/ })
  t.notOk(prepareMime('message/rfc822', deep(MAX_MULTIPART_DEPTH), 'the upload') instanceof Error, 'at the bound')
  // Siblings are not nesting: a thousand attachments side by side are fine.
  let wide = `${head}Content-Type: multipart/mixed; boundary="w"\r\n\r\n`
  for (let i = 0; i < 1000; i++) {
    wide += `--w\r\nContent-Type: multipart/alternative; boundary="p${i}"\r\n\r\n--p${i}\r\n\r\nx\r\n--p${i}--\r\n`
  }
  wide += '--w--\r\n'
  t.notOk(prepareMime('message/rfc822', Buffer.from(wide), 'the upload') instanceof Error, 'siblings')
  // A body line that merely looks like a header is not one.
  const quoted = Buffer.from(`${head}Content-Type: text/plain\r\n\r\nContent-Type: multipart/mixed\r\n`)
  t.notOk(prepareMime('message/rfc822', quoted, 'the upload') instanceof Error, 'a body line')
})

t.test('extended property values are checked against their type, and none stands in for a field', async (t) => {
  const withValue = (propertyType: string, value: string, propertyTag = '0x3FDE'): PreparedImport | Error =>
    preparePropertySet({
      kind: 'message',
      subject: 's',
      extendedProperties: [{ propertyTag, propertyType: propertyType as 'String', value }]
    }, 'import item 0')
  const refused: Array<[string, string, RegExp]> = [
    ['Integer', '99999999999999', /outside -2147483648…2147483647/],
    ['Integer', '1e3', /whole number/],
    ['Short', '40000', /outside -32768…32767/],
    ['Long', '9223372036854775808', /outside/],
    ['Boolean', 'maybe', /true or false/],
    ['Binary', '!!notb64', /base64/],
    ['SystemTime', 'yesterday', /ISO 8601/],
    ['SystemTime', '2026-01-05T10:00:00', /with a zone/],
    ['Double', 'NaN', /finite/],
    ['CLSID', 'not-a-guid', /GUID/]
  ]
  for (const [type, value, message] of refused) {
    t.match(withValue(type, value), { code: 'MBG_ERR_BAD_REQUEST', statusCode: 400, message }, `${type} ${value}`)
  }
  const accepted: Array<[string, string]> = [['Integer', '-2147483648'], ['Short', '32767'], ['Long', '-42'],
    ['Boolean', 'true'], ['Binary', 'AAEC'], ['SystemTime', '2026-01-05T10:00:00.1234567+01:00'], ['Double', '-1.5e3'],
    ['CLSID', '00062008-0000-0000-C000-000000000046'], ['String', ' any text ']]
  for (const [type, value] of accepted) t.notOk(withValue(type, value) instanceof Error, `${type} ${value}`)
  t.match(withValue('String', 'other subject', '0x0037'), { statusCode: 400, message: /PidTagSubject.*set subject/ })
  t.match(withValue('Integer', '2', '0x0017'), { statusCode: 400, message: /importance/ })
  t.match(withValue('Binary', 'AAEC', '0x0FFF'), { statusCode: 400, message: /PidTagEntryId, which the mailbox sets/ })
})

t.test('second review: the variations of each refused kind are refused too', async (t) => {
  const set = (item: Record<string, unknown>): PreparedImport | Error =>
    preparePropertySet({ kind: 'message', subject: 's', ...item } as never, 'import item 0')
  // Dates a property set carries: before 1601, a day that does not exist (Date.parse would roll it on).
  for (const [item, message] of [
    [{ kind: 'appointment', start: '0001-01-05T10:00:00Z', end: '0001-01-05T11:00:00Z' }, /start .* before 1601/],
    [{ sentDateTime: '0001-01-01T00:00:00Z' }, /sentDateTime .* before 1601/],
    [{ kind: 'contact', displayName: 'd', birthday: '0001-01-01' }, /birthday .* before 1601/],
    [{ receivedDateTime: '2026-02-31T10:00:00Z' }, /not a calendar date/],
    [{ flag: { flagStatus: 'flagged', dueDateTime: '2026-13-01T00:00:00Z' } }, /flag.dueDateTime/],
    [{ extendedProperties: [{ propertyTag: '0x6601', propertyType: 'SystemTime', value: '2026-02-31T10:00:00Z' }] },
      /not a calendar date/],
    [{ extendedProperties: [{ propertyTag: '0x6601', propertyType: 'SystemTime', value: '0001-01-01T00:00:00Z' }] },
      /before 1601/]
  ] as Array<[Record<string, unknown>, RegExp]>) {
    t.match(set(item), { statusCode: 400, message }, JSON.stringify(item))
  }
  t.match(set({ kind: 'contact', displayName: 'Yan', flag: { flagStatus: 'flagged' } }),
    { statusCode: 400, message: /a contact has no follow-up flag/ })
  t.match(set({ kind: 'appointment', start: '2026-01-05T10:00:00Z', end: '2026-01-05T11:30:00Z', isAllDay: true }),
    { statusCode: 400, message: /all-day appointment starts and ends at midnight/ })
  t.notOk(set({
    kind: 'appointment',
    start: '2026-01-04T23:00:00Z',
    end: '2026-01-05T23:00:00Z',
    isAllDay: true,
    timeZone: 'W. Europe Standard Time'
  }) instanceof Error, 'midnight in its zone')
  // One property, one value: the same tag twice, in two types, or spelled as PS_MAPI by id.
  t.match(set({
    extendedProperties: [{ propertyTag: '0x6603', propertyType: 'Integer', value: '1' },
      { propertyTag: '0x6603', propertyType: 'String', value: 'two' }]
  }), { statusCode: 400, message: /given before/ })
  const psMapi = (propertyId: number): Record<string, unknown> => ({
    extendedProperties: [{
      propertySetId: '00020328-0000-0000-C000-000000000046',
      propertyId,
      propertyType: 'String',
      value: 'X'
    }]
  })
  t.match(set(psMapi(0x37)), { statusCode: 400, message: /PidTagSubject/ }, 'PidTagSubject by PS_MAPI id')
  t.match(set(psMapi(0x0fff)), { statusCode: 400, message: /PidTagEntryId/ }, 'PidTagEntryId by PS_MAPI id')

  // An .ics: RDATE and RRULE UNTIL are times too; a leap second or a UTC time with a TZID is not taken as written.
  const event = (...lines: string[]): Buffer => calendar(['BEGIN:VEVENT', 'UID:u', 'DTSTART:20260105T100000Z',
    ...lines, 'END:VEVENT'])
  for (const [lines, message] of [
    [['RDATE:20261340T100000Z'], /RDATE .* not a calendar date/],
    [['RDATE;TZID=Mars/Olympus:20260201T100000'], /RDATE names TZID/],
    [['RRULE:FREQ=DAILY;UNTIL=20261399T000000Z'], /RRULE UNTIL .* not a calendar date/],
    [['DTEND:20260105T100060Z'], /not a time of day/],
    [['DTEND;TZID=Europe/Berlin:20260105T110000Z'], /UTC \(Z\) and names a TZID/]
  ] as Array<[string[], RegExp]>) {
    t.match(prepareMime('text/calendar', event(...lines), 'x'), { code: 'MBG_ERR_DATA_INVALID', message }, lines[0])
  }
  t.notOk(prepareMime('text/calendar', event('RDATE;VALUE=PERIOD:20260110T100000Z/PT1H'), 'x') instanceof Error,
    'an RDATE period')
  const latin = Buffer.concat([event().subarray(0, 60), Buffer.from([0xe9]), event().subarray(60)])
  t.match(prepareMime('text/calendar; charset=iso-8859-1', event(), 'x'), { statusCode: 415, message: /UTF-8/ })
  t.match(prepareMime('text/calendar', latin, 'x'), { code: 'MBG_ERR_DATA_INVALID', message: /not UTF-8/ })
  t.match(prepareMime('text/calendar', Buffer.from('From: a@b.example\r\nSubject: s\r\n\r\nx'), 'x'),
    { code: 'MBG_ERR_DATA_INVALID', message: /^Item data is not valid: x is not iCalendar/ })

  // An .eml: the boundary of the Content-Type field itself, attached messages, CRLF, one Content-Type.
  const head = 'From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n'
  const eml = (text: string): PreparedImport | Error => prepareMime('message/rfc822', Buffer.from(text), 'x')
  t.match(eml(`${head}Content-Type: multipart/mixed\r\nX-Note: a; boundary=zz\r\n\r\n--zz\r\n\r\nhi\r\n--zz--\r\n`),
    { message: /no boundary parameter/ }, 'a boundary in a later field is not the Content-Type\'s')
  t.match(eml(`${head}Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n` +
    'Subject: inner\r\nContent-Type: multipart/mixed\r\n\r\n--i\r\n\r\nhi\r\n--i--\r\n--o--\r\n'),
  { message: /no boundary parameter/ }, 'inside an attached message')
  let nested = `${head}Content-Type: text/plain\r\n\r\nx\r\n`
  for (let i = 0; i < MAX_MULTIPART_DEPTH; i++) {
    nested = `From: a@b.example\r\nContent-Type: multipart/mixed; boundary="w${i}"\r\n\r\n--w${i}\r\n` +
      `Content-Type: message/rfc822\r\n\r\n${nested}--w${i}--\r\n`
  }
  t.match(eml(nested), { message: /nested deeper than 64/ }, 'attached messages count toward the depth')
  t.match(eml('From: a@b.example\rSubject: cr\rContent-Type: multipart/mixed\r\r--x\rhi\r--x--\r'),
    { message: /bare CR/ })
  t.match(eml(`${head}Content-Type: multipart/mixed; boundary=a\r\nContent-Type: multipart/mixed\r\n\r\n--a\r\n\r\n` +
    'x\r\n--a--\r\n'), { message: /more than one Content-Type/ })

  // The ASCII fallback of a name is checked for device names too.
  t.equal(asciiFileName('COM¹.eml'), '_COM1.eml')
  t.equal(asciiFileName('ｃｏｎ.eml'), '_con.eml')
  t.equal(fileName('CONIN$', 'message'), '_CONIN$.eml')
})
