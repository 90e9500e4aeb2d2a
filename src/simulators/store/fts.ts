/**
 * FastTransfer-style item streams: the opaque full-fidelity blobs the simulators
 * hand out from EWS ExportItems and Graph exportItems, and accept in UploadItems
 * and Graph import.
 *
 * The lexical structure follows what Exchange's own export data shows (seed 003):
 * a small header, a named-property map section, then a flat sequence of
 *   - markers: a 32-bit little-endian tag of type PtypInteger32 with id 0x4000–0x40FF ([MS-OXCFXICS] 2.2.4.1.4)
 *     (NewAttach 0x40000003, StartRecip 0x40030003, EndToRecip 0x40040003,
 *      EndAttach 0x400E0003, EndMessage 0x400D0003), and
 *   - properties: u16 type, u16 id, value. Fixed-size types (Short, Integer32, Double,
 *     Boolean, Integer64, SystemTime, CLSID) are inline; variable-size ones (Binary, and
 *     strings written as code-page 1200 UTF-16LE, type 0x84B0, with a NUL terminator)
 *     carry a u32 byte count first; a MultipleString carries a u32 count of such strings.
 *     Ids 0x8000 and up are named properties, resolved through the header's name map.
 * The stream ends with EndMessage; nothing may follow it.
 */

export const PT_SHORT = 0x0002
export const PT_INT32 = 0x0003
export const PT_DOUBLE = 0x0005
export const PT_BOOLEAN = 0x000b
export const PT_INT64 = 0x0014
export const PT_SYSTIME = 0x0040
export const PT_CLSID = 0x0048
export const PT_BINARY = 0x0102
export const PT_UNICODE = 0x001f
/** PtypMultipleString ([MS-OXCDATA] 2.11.1): written as a u32 count, then each value as a PT_UNICODE value. */
export const PT_MV_UNICODE = 0x101f
/** PtypString written with code page 1200 (UTF-16LE), as Exchange's export does. */
export const PT_UNICODE_CP1200 = 0x84b0

export const MARKER = {
  NewAttach: 0x40000003,
  StartRecip: 0x40030003,
  EndToRecip: 0x40040003,
  EndMessage: 0x400d0003,
  EndAttach: 0x400e0003
} as const

export const PROP = {
  Importance: 0x0017,
  MessageClass: 0x001a,
  Subject: 0x0037,
  ClientSubmitTime: 0x0039,
  SenderName: 0x0c1a,
  MessageFlags: 0x0e07,
  MessageDeliveryTime: 0x0e06,
  MessageSize: 0x0e08,
  Body: 0x1000,
  DisplayName: 0x3001,
  EmailAddress: 0x3003,
  CreationTime: 0x3007,
  LastModificationTime: 0x3008,
  /** PidTagSearchKey (PT_BINARY): the item's stable key, kept across copy, move, export and import. */
  SearchKey: 0x300b,
  RecipientType: 0x0c15,
  AttachDataBinary: 0x3701,
  AttachFilename: 0x3704,
  AttachMethod: 0x3705,
  AttachSize: 0x0e20,
  AttachNum: 0x0e21,
  ObjectType: 0x0ffe
} as const

/**
 * A property's value: number (Short/Integer32/Double/Boolean), bigint (Integer64/SystemTime as FILETIME), string,
 * string[] (MultipleString), or bytes (Binary, CLSID: 16 bytes).
 */
export type PropValue = number | bigint | string | string[] | Buffer
export interface Prop { type: number, id: number, value: PropValue }

/**
 * The name of a named property ([MS-OXPROPS] 1.3.2, [MS-OXCDATA] 2.6.1 PropertyName): a property set GUID
 * (lower-case text, e.g. `00062004-0000-0000-c000-000000000046` for PSETID_Address) with either a numeric long id
 * (`lid`, a PidLid… property) or a string name (`name`, a PidName… property).
 */
export interface PropName { guid: string, lid?: number, name?: string }

export interface FtsMessage {
  props: Prop[]
  recipients: Prop[][]
  attachments: Prop[][]
  /**
   * Named-property map of the stream: property id (0x8000–0xFFFE) → name. Properties with such ids in `props`,
   * `recipients` and `attachments` are named properties; the map travels in the stream header (section 4).
   */
  names?: Map<number, PropName>
}

export class FtsFormatError extends Error {
  constructor (message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`)
    this.name = 'FtsFormatError'
  }
}

/** {00020329-0000-0000-C000-000000000046} (PS_PUBLIC_STRINGS) as a little-endian GUID. */
const PS_PUBLIC_STRINGS = Buffer.from('2903020000000000c000000000000046', 'hex')
const HEADER_VERSION = 1
const HEADER_SIZE = 8
const SECTION_NAMED_PROPS = 3
/**
 * The named-property map: u32 count, then per entry u16 property id, u16 kind (0: long id, 1: string name),
 * the property set GUID (16 bytes, little-endian GUID layout) and a u32 long id, or a u32 byte count and the
 * name in UTF-16LE. Written only when the message has named properties, after section 3 (which Exchange's own
 * export header carries and which stays as it was).
 */
const SECTION_NAME_MAP = 4
const FIRST_NAMED_ID = 0x8000

/** A GUID in text form ↔ its 16-byte little-endian layout (the layout MAPI and FastTransfer streams use). */
export function guidToBytes (guid: string): Buffer {
  const h = guid.replace(/[{}-]/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new Error(`not a GUID: ${guid}`)
  const b = Buffer.from(h, 'hex')
  return Buffer.concat([
    b.subarray(0, 4).reverse(), b.subarray(4, 6).reverse(), b.subarray(6, 8).reverse(), b.subarray(8)
  ])
}

export function guidFromBytes (b: Buffer): string {
  const h = Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8, 16)
  ]).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const FILETIME_EPOCH_OFFSET_MS = 11644473600000n

export function toFileTime (date: Date): bigint {
  return (BigInt(date.getTime()) + FILETIME_EPOCH_OFFSET_MS) * 10000n
}

export function fromFileTime (value: bigint): Date {
  return new Date(Number(value / 10000n - FILETIME_EPOCH_OFFSET_MS))
}

class Writer {
  private chunks: Buffer[] = []
  length = 0
  push (buf: Buffer): void { this.chunks.push(buf); this.length += buf.length }
  u16 (n: number): void { const b = Buffer.allocUnsafe(2); b.writeUInt16LE(n); this.push(b) }
  u32 (n: number): void { const b = Buffer.allocUnsafe(4); b.writeUInt32LE(n >>> 0); this.push(b) }
  u64 (n: bigint): void { const b = Buffer.allocUnsafe(8); b.writeBigUInt64LE(n); this.push(b) }
  done (): Buffer { return Buffer.concat(this.chunks, this.length) }
}

function writeProp (w: Writer, prop: Prop): void {
  w.u16(prop.type)
  w.u16(prop.id)
  switch (prop.type) {
    case PT_SHORT: w.u16(Number(prop.value) & 0xffff); break
    case PT_INT32: w.u32(Number(prop.value)); break
    case PT_DOUBLE: { const b = Buffer.allocUnsafe(8); b.writeDoubleLE(Number(prop.value)); w.push(b); break }
    case PT_BOOLEAN: w.u16(prop.value !== 0 ? 1 : 0); break
    case PT_CLSID: {
      const bytes = prop.value as Buffer
      if (bytes.length !== 16) throw new Error('a CLSID value is 16 bytes')
      w.push(bytes)
      break
    }
    case PT_INT64:
    case PT_SYSTIME: w.u64(BigInt(prop.value as bigint | number)); break
    case PT_BINARY: {
      const bytes = prop.value as Buffer
      w.u32(bytes.length)
      w.push(bytes)
      break
    }
    case PT_UNICODE:
    case PT_UNICODE_CP1200: {
      const bytes = Buffer.from(`${String(prop.value)}\0`, 'utf16le')
      w.u32(bytes.length)
      w.push(bytes)
      break
    }
    case PT_MV_UNICODE: {
      const values = prop.value as string[]
      w.u32(values.length)
      for (const v of values) {
        const bytes = Buffer.from(`${v}\0`, 'utf16le')
        w.u32(bytes.length)
        w.push(bytes)
      }
      break
    }
    default: throw new Error(`unsupported property type 0x${prop.type.toString(16)}`)
  }
}

function nameMapSection (names: Map<number, PropName>): Buffer {
  const w = new Writer()
  w.u32(names.size)
  for (const [id, name] of names) {
    if (id < FIRST_NAMED_ID || id > 0xfffe) throw new Error(`named property id 0x${id.toString(16)} out of range`)
    w.u16(id)
    w.u16(name.name !== undefined ? 1 : 0)
    w.push(guidToBytes(name.guid))
    if (name.name !== undefined) {
      const bytes = Buffer.from(name.name, 'utf16le')
      w.u32(bytes.length)
      w.push(bytes)
    } else {
      w.u32(name.lid ?? 0)
    }
  }
  return w.done()
}

function readNameMap (buf: Buffer, start: number, end: number): Map<number, PropName> {
  const names = new Map<number, PropName>()
  let o = start
  const need = (n: number): void => {
    if (o + n > end) throw new FtsFormatError('truncated named-property map', o)
  }
  need(4)
  const count = buf.readUInt32LE(o); o += 4
  for (let i = 0; i < count; i++) {
    need(4 + 16 + 4)
    const id = buf.readUInt16LE(o)
    const kind = buf.readUInt16LE(o + 2)
    const guid = guidFromBytes(buf.subarray(o + 4, o + 20))
    o += 20
    if (id < FIRST_NAMED_ID || id > 0xfffe || names.has(id)) {
      throw new FtsFormatError(`bad named property id 0x${id.toString(16)}`, o - 20)
    }
    if (kind === 0) {
      names.set(id, { guid, lid: buf.readUInt32LE(o) }); o += 4
    } else if (kind === 1) {
      const len = buf.readUInt32LE(o); o += 4
      need(len)
      if (len === 0 || len % 2 !== 0) throw new FtsFormatError('bad property name', o)
      names.set(id, { guid, name: buf.toString('utf16le', o, o + len) }); o += len
    } else {
      throw new FtsFormatError(`unknown named property kind ${kind}`, o - 20)
    }
  }
  if (o !== end) throw new FtsFormatError('bytes after the named-property map', o)
  return names
}

export function encodeItemStream (message: FtsMessage): Buffer {
  const w = new Writer()
  w.u32(HEADER_VERSION)
  w.u32(HEADER_SIZE)
  w.u32(0)
  // Section 3 as Exchange's export header has it (one entry naming PS_PUBLIC_STRINGS); the map itself is section 4.
  const names = message.names !== undefined && message.names.size > 0 ? nameMapSection(message.names) : undefined
  w.u32(names === undefined ? 1 : 2)
  w.u32(SECTION_NAMED_PROPS)
  w.u32(4 + 16 + 4)
  w.u32(1)
  w.push(PS_PUBLIC_STRINGS)
  w.u32(0x80002400)
  if (names !== undefined) {
    w.u32(SECTION_NAME_MAP)
    w.u32(names.length)
    w.push(names)
  }
  for (const p of message.props) writeProp(w, p)
  for (const recipient of message.recipients) {
    w.u32(MARKER.StartRecip)
    for (const p of recipient) writeProp(w, p)
    w.u32(MARKER.EndToRecip)
  }
  for (const attachment of message.attachments) {
    w.u32(MARKER.NewAttach)
    for (const p of attachment) writeProp(w, p)
    w.u32(MARKER.EndAttach)
  }
  w.u32(MARKER.EndMessage)
  return w.done()
}

/** Parses and validates a stream; throws FtsFormatError on anything malformed. */
export function decodeItemStream (buf: Buffer): FtsMessage {
  return scanItemStream(buf).message
}

/**
 * Parses a stream and reports where its top-level message properties end (the offset of the first recipient,
 * attachment or EndMessage marker): a property may be inserted there. Throws FtsFormatError.
 */
function scanItemStream (buf: Buffer): { message: FtsMessage, propsEnd: number } {
  let propsEnd: number | undefined
  let o = 0
  const need = (n: number): void => {
    if (o + n > buf.length) throw new FtsFormatError(`truncated stream (needed ${n} bytes)`, o)
  }
  const u16 = (): number => { need(2); const v = buf.readUInt16LE(o); o += 2; return v }
  const u32 = (): number => { need(4); const v = buf.readUInt32LE(o); o += 4; return v }
  const u64 = (): bigint => { need(8); const v = buf.readBigUInt64LE(o); o += 8; return v }

  if (u32() !== HEADER_VERSION) throw new FtsFormatError('unknown stream version', 0)
  if (u32() !== HEADER_SIZE) throw new FtsFormatError('bad header size', 4)
  u32() // reserved
  const sections = u32()
  if (sections > 16) throw new FtsFormatError('too many header sections', o - 4)
  let names: Map<number, PropName> | undefined
  for (let i = 0; i < sections; i++) {
    const sectionType = u32()
    const len = u32()
    need(len)
    if (sectionType === SECTION_NAME_MAP) names = readNameMap(buf, o, o + len)
    o += len
  }

  const message: FtsMessage = { props: [], recipients: [], attachments: [], ...(names !== undefined ? { names } : {}) }
  let target: Prop[] = message.props
  let state: 'message' | 'recipient' | 'attachment' = 'message'
  for (;;) {
    const start = o
    const type = u16()
    const id = u16()
    const tag = ((id << 16) | type) >>> 0
    if (type === PT_INT32 && id >= 0x4000 && id <= 0x40ff) {
      propsEnd ??= start
      switch (tag) {
        case MARKER.StartRecip:
          if (state !== 'message') throw new FtsFormatError('recipient inside a sub-object', start)
          state = 'recipient'; target = []; message.recipients.push(target); continue
        case MARKER.EndToRecip:
          if (state !== 'recipient') throw new FtsFormatError('unexpected end of recipient', start)
          state = 'message'; target = message.props; continue
        case MARKER.NewAttach:
          if (state !== 'message') throw new FtsFormatError('attachment inside a sub-object', start)
          state = 'attachment'; target = []; message.attachments.push(target); continue
        case MARKER.EndAttach:
          if (state !== 'attachment') throw new FtsFormatError('unexpected end of attachment', start)
          state = 'message'; target = message.props; continue
        case MARKER.EndMessage:
          if (state !== 'message') throw new FtsFormatError('message ends inside a sub-object', start)
          if (o !== buf.length) throw new FtsFormatError('data after the end of the message', o)
          return { message, propsEnd }
        default:
          throw new FtsFormatError(`unknown marker 0x${tag.toString(16)}`, start)
      }
    }
    let value: PropValue
    switch (type) {
      case PT_SHORT: value = u16(); break
      case PT_INT32: value = u32(); break
      case PT_DOUBLE: need(8); value = buf.readDoubleLE(o); o += 8; break
      case PT_BOOLEAN: value = u16(); break
      case PT_CLSID: need(16); value = buf.subarray(o, o + 16); o += 16; break
      case PT_INT64:
      case PT_SYSTIME: value = u64(); break
      case PT_BINARY: {
        const len = u32(); need(len)
        value = buf.subarray(o, o + len); o += len
        break
      }
      case PT_UNICODE:
      case PT_UNICODE_CP1200: {
        const len = u32(); need(len)
        if (len < 2 || len % 2 !== 0 || buf.readUInt16LE(o + len - 2) !== 0) {
          throw new FtsFormatError('string without terminator', o)
        }
        value = buf.toString('utf16le', o, o + len - 2); o += len
        break
      }
      case PT_MV_UNICODE: {
        const count = u32()
        if (count > buf.length - o) throw new FtsFormatError('bad value count', o - 4)
        const values: string[] = []
        for (let i = 0; i < count; i++) {
          const len = u32(); need(len)
          if (len < 2 || len % 2 !== 0 || buf.readUInt16LE(o + len - 2) !== 0) {
            throw new FtsFormatError('string without terminator', o)
          }
          values.push(buf.toString('utf16le', o, o + len - 2)); o += len
        }
        value = values
        break
      }
      default:
        throw new FtsFormatError(`unknown property type 0x${type.toString(16)}`, start)
    }
    if (id >= FIRST_NAMED_ID && names?.has(id) !== true) {
      throw new FtsFormatError(`named property 0x${id.toString(16)} is not in the named-property map`, start)
    }
    target.push({ type, id, value })
  }
}

export interface StreamSummary {
  itemClass: string
  subject?: string
  created?: Date
  modified?: Date
  attachmentCount: number
  /** PidTagSearchKey (0x300B) of the message, when the stream has one. */
  searchKey?: Buffer
}

/** Reads the few properties a store needs to index an item. Throws FtsFormatError. */
export function summarizeItemStream (buf: Buffer): StreamSummary {
  const message = decodeItemStream(buf)
  const find = (id: number): PropValue | undefined => message.props.find((p) => p.id === id)?.value
  const cls = find(PROP.MessageClass)
  if (typeof cls !== 'string' || cls.length === 0) throw new FtsFormatError('stream has no message class', 0)
  const subject = find(PROP.Subject)
  const created = find(PROP.CreationTime)
  const modified = find(PROP.LastModificationTime)
  const searchKey = message.props.find((p) => p.id === PROP.SearchKey && p.type === PT_BINARY)?.value
  return {
    itemClass: cls,
    ...(typeof subject === 'string' ? { subject } : {}),
    ...(typeof created === 'bigint' ? { created: fromFileTime(created) } : {}),
    ...(typeof modified === 'bigint' ? { modified: fromFileTime(modified) } : {}),
    attachmentCount: message.attachments.length,
    ...(Buffer.isBuffer(searchKey) && searchKey.length > 0 ? { searchKey: Buffer.from(searchKey) } : {})
  }
}

/**
 * The stream with PidTagSearchKey (0x300B, PT_BINARY) set to `key`: an existing top-level search key is replaced,
 * otherwise the property is added after the message's other properties. Everything else stays byte for byte.
 * Throws FtsFormatError on a malformed stream.
 */
export function withSearchKey (buf: Buffer, key: Buffer): Buffer {
  const { message, propsEnd } = scanItemStream(buf)
  const current = message.props.find((p) => p.id === PROP.SearchKey && p.type === PT_BINARY)?.value
  if (Buffer.isBuffer(current) && current.equals(key)) return buf
  const w = new Writer()
  writeProp(w, { type: PT_BINARY, id: PROP.SearchKey, value: key })
  const prop = w.done()
  if (Buffer.isBuffer(current)) {
    // `current` is a view into `buf`: the property starts 8 bytes (type, id, length) before its value.
    const valueStart = current.byteOffset - buf.byteOffset
    return Buffer.concat([buf.subarray(0, valueStart - 8), prop, buf.subarray(valueStart + current.length)])
  }
  return Buffer.concat([buf.subarray(0, propsEnd), prop, buf.subarray(propsEnd)])
}
