/** A SOAP fault's texts are cut to MAX_FAULT_TEXT: they are logged and matched, never carried whole. */
import t from 'tap'
import { MAX_FAULT_TEXT, parseEnvelope } from '../../../src/backends/ews/soap/envelope.js'

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/'
const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
const E = 'http://schemas.microsoft.com/exchange/services/2006/errors'

t.test('code, message and MessageXml values longer than MAX_FAULT_TEXT are cut', async (t) => {
  const long = 'y'.repeat(200_000)
  const xml = `<s:Envelope xmlns:s="${SOAP}"><s:Body><s:Fault><faultcode>s:Server</faultcode>` +
    `<faultstring>${long}</faultstring><detail><e:ResponseCode xmlns:e="${E}">Error${long}</e:ResponseCode>` +
    `<t:MessageXml xmlns:t="${T}"><t:Value Name="BackOffMilliseconds">${long}</t:Value>` +
    `<t:Violation>${long}</t:Violation></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`
  const fault = parseEnvelope(xml).fault
  if (fault === undefined) throw new Error('no fault')
  t.equal(MAX_FAULT_TEXT, 1024)
  t.equal(fault.code.length, MAX_FAULT_TEXT)
  t.equal(fault.message.length, MAX_FAULT_TEXT)
  t.equal(fault.values.BackOffMilliseconds.length, MAX_FAULT_TEXT)
  t.equal(fault.values.Violation.length, MAX_FAULT_TEXT)
})
