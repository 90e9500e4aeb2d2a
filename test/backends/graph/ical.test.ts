/**
 * The Graph adapter's writers and mappings on inputs the simulator does not produce (recurrences, all-day events in
 * a Windows zone, values needing escapes, daylight-saving gaps): iCalendar and vCard read back with ical.js, Graph
 * JSON built from property sets.
 */
import ICAL from 'ical.js'
import t from 'tap'
import { contactToVCard, eventToICalendar } from '../../../src/backends/graph/ical.js'
import {
  contactCreateBody, eventCreateBody, eventProperties, messageCreateBody
} from '../../../src/backends/graph/outlook-json.js'
import { ianaZone, instantOf, wallClock } from '../../../src/protocol/time-zones.js'

const vevent = (ics: Buffer): ICAL.Component =>
  new ICAL.Component(ICAL.parse(ics.toString('utf8'))).getFirstSubcomponent('vevent') as ICAL.Component

const event = (extra: Record<string, unknown>): Record<string, unknown> => ({
  id: 'AAMuEV=',
  iCalUId: 'uid-1',
  subject: 'Planning; Q3, draft',
  start: { dateTime: '2026-03-10T15:00:00.0000000', timeZone: 'UTC' },
  end: { dateTime: '2026-03-10T16:00:00.0000000', timeZone: 'UTC' },
  lastModifiedDateTime: '2026-03-01T00:00:00Z',
  ...extra
})

t.test('time zones: Windows and IANA names, wall clocks both ways', async (t) => {
  t.equal(ianaZone('W. Europe Standard Time'), 'Europe/Berlin')
  t.equal(ianaZone('America/New_York'), 'America/New_York')
  t.equal(ianaZone('UTC'), 'UTC')
  t.equal(ianaZone('Mars/Olympus'), undefined)
  const at = new Date('2026-07-01T07:00:00Z')
  t.equal(wallClock(at, 'Europe/Berlin'), '2026-07-01T09:00:00')
  t.equal(instantOf('2026-07-01T09:00:00.0000000', 'Europe/Berlin')?.toISOString(), at.toISOString())
  t.equal(instantOf('2026-01-15T09:00:00', 'Europe/Berlin')?.toISOString(), '2026-01-15T08:00:00.000Z', 'winter')
  // 02:30 does not exist on 8 March 2026 in New York; read with the offset before the change (EST, UTC-5).
  t.equal(instantOf('2026-03-08T02:30:00', 'America/New_York')?.toISOString(), '2026-03-08T07:30:00.000Z')
  t.equal(instantOf('not a time', 'UTC'), undefined)
})

t.test('iCalendar: escapes, all-day dates in the event\'s zone, recurrence as RRULE', async (t) => {
  const plain = vevent(eventToICalendar(event({ location: { displayName: 'Room 1, East' }, sensitivity: 'private' })))
  t.equal(plain.getFirstPropertyValue('summary'), 'Planning; Q3, draft')
  t.equal(plain.getFirstPropertyValue('location'), 'Room 1, East')
  t.equal(plain.getFirstPropertyValue('class'), 'PRIVATE')
  t.equal((plain.getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().toISOString(), '2026-03-10T15:00:00.000Z')

  // Midnight to midnight in Pacific time is 08:00 to 08:00 UTC (PDT from 8 March).
  const allDay = vevent(eventToICalendar(event({
    isAllDay: true,
    originalStartTimeZone: 'Pacific Standard Time',
    start: { dateTime: '2026-03-10T07:00:00.0000000', timeZone: 'UTC' },
    end: { dateTime: '2026-03-11T07:00:00.0000000', timeZone: 'UTC' }
  })))
  const start = allDay.getFirstPropertyValue('dtstart') as ICAL.Time
  t.equal(start.isDate, true)
  t.equal(start.toString(), '2026-03-10')
  t.equal((allDay.getFirstPropertyValue('dtend') as ICAL.Time).toString(), '2026-03-11')

  const weekly = vevent(eventToICalendar(event({
    recurrence: {
      pattern: { type: 'weekly', interval: 2, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' },
      range: { type: 'numbered', startDate: '2026-03-10', numberOfOccurrences: 10 }
    }
  })))
  const rule = weekly.getFirstPropertyValue('rrule') as ICAL.Recur
  t.equal(rule.freq, 'WEEKLY')
  t.equal(rule.interval, 2)
  t.equal(rule.count, 10)
  t.same(rule.parts.BYDAY, ['MO', 'WE'])
  const monthly = vevent(eventToICalendar(event({
    recurrence: {
      pattern: { type: 'relativeMonthly', interval: 1, daysOfWeek: ['friday'], index: 'last' },
      range: { type: 'endDate', startDate: '2026-03-10', endDate: '2026-12-31', recurrenceTimeZone: 'UTC' }
    }
  })))
  const m = monthly.getFirstPropertyValue('rrule') as ICAL.Recur
  t.equal(m.freq, 'MONTHLY')
  t.same(m.parts.BYSETPOS, [-1])
  t.equal(m.until?.toJSDate().toISOString(), '2026-12-31T23:59:59.000Z')
  t.throws(() => eventToICalendar(event({ recurrence: { pattern: { type: 'lunar' }, range: {} } })),
    { code: 'MBG_ERR_UPSTREAM_BAD_RESPONSE' })
})

t.test('vCard: names, organisation, addresses, birthday read back', async (t) => {
  const vcf = contactToVCard({
    displayName: 'Lee, Ann; Jr.',
    givenName: 'Ann',
    surname: 'Lee',
    companyName: 'Contoso; Ltd',
    department: 'R&D',
    emailAddresses: [{ name: 'Ann', address: 'ann@example.org' }],
    businessPhones: ['+1 555 0100'],
    businessAddress: { street: '1 Main St', city: 'Town', postalCode: '12345', countryOrRegion: 'US' },
    birthday: '1990-04-05T00:00:00Z',
    personalNotes: 'Line 1\nLine 2'
  })
  const card = new ICAL.Component(ICAL.parse(vcf.toString('utf8')))
  t.equal(card.getFirstPropertyValue('fn'), 'Lee, Ann; Jr.')
  t.same(card.getFirstProperty('org')?.getValues().flat(), ['Contoso; Ltd', 'R&D'])
  t.same(card.getFirstProperty('adr')?.getValues().flat(), ['', '', '1 Main St', 'Town', '', '12345', 'US'])
  t.equal(String(card.getFirstPropertyValue('bday')), '1990-04-05')
  t.equal(card.getFirstPropertyValue('note'), 'Line 1\nLine 2')
  t.equal(card.getFirstProperty('tel')?.getParameter('type')?.toString(), 'work,voice')
})

t.test('property sets → Graph create bodies, refused before anything is sent when they cannot be', async (t) => {
  const unread = messageCreateBody({
    kind: 'message', subject: 's', isRead: false, sentDateTime: '2026-01-01T00:00:00Z'
  })
  t.same(unread.singleValueExtendedProperties, [
    { id: 'Integer 0x0E07', value: '0' },
    { id: 'SystemTime 0x0039', value: '2026-01-01T00:00:00Z' }
  ], 'not a draft (no mfUnsent), unread, with its sent time')
  const draftFlag = { propertyTag: '0x0E07', propertyType: 'Integer', value: '8' } as const
  t.throws(() => messageCreateBody({ kind: 'message', extendedProperties: [draftFlag] }),
    { code: 'MBG_ERR_DATA_INVALID' }, 'the draft flag is not the caller\'s to set')
  const ev = eventCreateBody({
    kind: 'appointment', start: '2026-07-01T07:00:00Z', end: '2026-07-01T08:00:00Z', timeZone: 'W. Europe Standard Time'
  })
  t.same(ev.start, { dateTime: '2026-07-01T09:00:00', timeZone: 'W. Europe Standard Time' }, 'kept in its zone')
  t.throws(() => eventCreateBody({
    kind: 'appointment',
    start: '2026-07-01T07:00:00Z',
    end: '2026-07-01T08:00:00Z',
    attendees: [{ address: 'x@example.org' }]
  }), { code: 'MBG_ERR_DATA_INVALID' })
  t.throws(() => eventCreateBody({
    kind: 'appointment', start: '2026-07-01T07:00:00Z', end: '2026-07-02T07:00:00Z', isAllDay: true, timeZone: 'UTC'
  }), { code: 'MBG_ERR_DATA_INVALID' }, 'an all-day event starts at midnight in its zone')
  t.throws(() => contactCreateBody({ kind: 'contact', body: { html: '<b>x</b>' } }), { code: 'MBG_ERR_DATA_INVALID' })
  t.throws(() => eventProperties(event({ recurrence: { pattern: { type: 'daily' }, range: {} } }), 'IPM.Appointment'),
    { code: 'MBG_ERR_NOT_SUPPORTED' }, 'a series has no property-set form')
})
