/**
 * A message's MIME (RFC 5322 with RFC 2045 MIME) for the simulator's `GET /messages/{id}/$value`
 * (https://learn.microsoft.com/graph/outlook-get-mime-message), and the content of a message created from MIME
 * (`POST /messages` with `Content-Type: text/plain` and base64 MIME, user-post-messages). Built with nodemailer's
 * MailComposer and read with postal-mime, both maintained MIME libraries. Like Exchange's own conversion, it carries
 * what MIME can: addresses, subject, dates, Message-ID, Importance and Sensitivity headers, the bodies and the
 * attachments; the rest of an item's MAPI properties stays in the store.
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js'
import PostalMime from 'postal-mime'
import { MSGFLAG, type ContentAttachment, type ItemContent, type MailAddress } from '../store/content.js'

const addr = (a: MailAddress): { name: string, address: string } => ({ name: a.name ?? '', address: a.address })

/** The MIME of a message's content. */
export async function contentToMime (content: ItemContent, fallbackDate: Date): Promise<Buffer> {
  const from = content.from ?? content.sender
  const headers: Record<string, string> = {}
  if (content.importance !== undefined && content.importance !== 'normal') headers.Importance = content.importance
  if (content.sensitivity !== undefined && content.sensitivity !== 'normal') {
    headers.Sensitivity = content.sensitivity === 'confidential' ? 'Company-Confidential' : content.sensitivity
  }
  const composer = new MailComposer({
    ...(from !== undefined ? { from: addr(from) } : {}),
    ...(content.sender !== undefined && content.from !== undefined ? { sender: addr(content.sender) } : {}),
    to: content.recipients.filter((r) => r.type === 'to').map(addr),
    cc: content.recipients.filter((r) => r.type === 'cc').map(addr),
    bcc: content.recipients.filter((r) => r.type === 'bcc').map(addr),
    subject: content.subject ?? '',
    date: content.sent ?? content.received ?? content.created ?? fallbackDate,
    ...(content.internetMessageId !== undefined ? { messageId: content.internetMessageId } : {}),
    ...(content.body?.text !== undefined ? { text: content.body.text } : {}),
    ...(content.body?.html !== undefined ? { html: content.body.html } : {}),
    ...(content.body === undefined ? { text: '' } : {}),
    headers,
    attachments: content.attachments.map((a) => ({
      filename: a.name,
      content: a.data,
      contentType: a.contentType ?? 'application/octet-stream',
      ...(a.contentId !== undefined ? { cid: a.contentId.replace(/^<|>$/g, '') } : {}),
      contentDisposition: a.isInline === true ? 'inline' as const : 'attachment' as const
    }))
  })
  const mail = composer.compile()
  // Bcc is part of a stored message (a draft, or one's own sent copy): keep it, as Exchange's conversion does.
  ;(mail as unknown as { keepBcc: boolean }).keepBcc = true
  return await mail.build()
}

const IMPORTANCE: Record<string, ItemContent['importance']> = { high: 'high', low: 'low', normal: 'normal' }

/**
 * The content of a message created from MIME: always a draft (mfUnsent), as Graph documents ("Create a draft of a
 * new message in either JSON or MIME format"). Throws on input that is not MIME at all.
 */
export async function mimeToContent (mime: Buffer, now: Date): Promise<ItemContent> {
  const parsed = await PostalMime.parse(mime)
  const one = (a: { name?: string, address?: string } | undefined): MailAddress | undefined =>
    a?.address !== undefined && a.address !== ''
      ? { ...(a.name !== undefined && a.name !== '' ? { name: a.name } : {}), address: a.address }
      : undefined
  const list = (l: Array<{ name?: string, address?: string, group?: unknown }> | undefined): MailAddress[] =>
    (l ?? []).map(one).filter((a): a is MailAddress => a !== undefined)
  const header = (name: string): string | undefined =>
    parsed.headers.find((h) => h.key.toLowerCase() === name)?.value?.trim()
  const importance = IMPORTANCE[(header('importance') ?? header('x-priority') ?? '').toLowerCase()]
  const date = parsed.date !== undefined && !Number.isNaN(Date.parse(parsed.date)) ? new Date(parsed.date) : undefined
  const attachments: ContentAttachment[] = parsed.attachments.map((a) => ({
    name: a.filename ?? 'attachment',
    data: typeof a.content === 'string'
      ? Buffer.from(a.content)
      : Buffer.from(new Uint8Array(a.content as ArrayBuffer)),
    contentType: a.mimeType,
    ...(a.contentId !== undefined ? { contentId: a.contentId.replace(/^<|>$/g, '') } : {}),
    ...(a.disposition === 'inline' ? { isInline: true } : {})
  }))
  const from = one(parsed.from)
  const sender = one(parsed.sender)
  return {
    itemClass: 'IPM.Note',
    ...(parsed.subject !== undefined ? { subject: parsed.subject } : {}),
    ...(parsed.text !== undefined || parsed.html !== undefined
      ? {
          body: {
            ...(parsed.text !== undefined ? { text: parsed.text } : {}),
            ...(parsed.html !== undefined ? { html: parsed.html } : {})
          }
        }
      : {}),
    ...(importance !== undefined ? { importance } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(sender !== undefined ? { sender } : {}),
    recipients: [
      ...list(parsed.to).map((a) => ({ ...a, type: 'to' as const })),
      ...list(parsed.cc).map((a) => ({ ...a, type: 'cc' as const })),
      ...list(parsed.bcc).map((a) => ({ ...a, type: 'bcc' as const }))
    ],
    ...(date !== undefined ? { sent: date } : {}),
    ...(parsed.messageId !== undefined ? { internetMessageId: parsed.messageId } : {}),
    created: now,
    isDraft: true,
    isRead: true,
    messageFlags: MSGFLAG.read | MSGFLAG.unsent,
    attachments,
    extended: []
  }
}
