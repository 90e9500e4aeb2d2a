/** Item streams for tests: valid full-fidelity streams built with the simulator's encoder. */
import { encodeItemStream, PROP, PT_BINARY, PT_INT32, PT_UNICODE_CP1200 } from '../../src/simulators/store/fts.js'

/**
 * A valid item stream (IPM.Note) whose subject is `subject`, with one attachment of `bytes` bytes drawn
 * from the subject (so no two streams are alike).
 */
export function itemStream (subject: string, bytes: number): Buffer {
  const attachment = Buffer.alloc(bytes)
  let h = 2166136261
  for (const c of subject) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  for (let i = 0; i < bytes; i++) {
    h = Math.imul(h ^ i, 2654435761) >>> 0
    attachment[i] = h >>> 24
  }
  const str = (id: number, value: string): { type: number, id: number, value: string } =>
    ({ type: PT_UNICODE_CP1200, id, value })
  return encodeItemStream({
    props: [str(PROP.MessageClass, 'IPM.Note'), str(PROP.Subject, subject), str(PROP.Body, `body of ${subject}`)],
    recipients: [],
    attachments: [[
      { type: PT_INT32, id: PROP.AttachNum, value: 0 },
      { type: PT_INT32, id: PROP.AttachMethod, value: 1 },
      str(PROP.AttachFilename, 'a.bin'),
      { type: PT_INT32, id: PROP.AttachSize, value: bytes },
      { type: PT_BINARY, id: PROP.AttachDataBinary, value: attachment }
    ]]
  })
}
