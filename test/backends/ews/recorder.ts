/**
 * A tiny loopback EWS stand-in for request tests: records every request exactly as
 * it arrived (headers + body bytes) and answers each operation with a minimal,
 * well-formed success response with one ResponseMessage per input.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Recorded { op: string, headers: IncomingHttpHeaders, body: string }

export const M = 'http://schemas.microsoft.com/exchange/services/2006/messages'
export const T = 'http://schemas.microsoft.com/exchange/services/2006/types'
const ROOT_PARENT = 'AAMkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

let counter = 0
const fakeId = (): string => Buffer.from(`fake-id-${++counter}-padding`).toString('base64')

function folder (id = fakeId()): string {
  return (
    `<t:Folder><t:FolderId Id="${id}" ChangeKey="AQAAABYAAAA="/><t:ParentFolderId Id="${ROOT_PARENT}"/>` +
    '<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>F</t:DisplayName><t:TotalCount>3</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount></t:Folder>'
  )
}

function messages (op: string, count: number, payload: () => string): string {
  let out = ''
  for (let i = 0; i < count; i++) {
    out += `<m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>` +
      `${payload()}</m:${op}ResponseMessage>`
  }
  return `<m:${op}Response xmlns:m="${M}" xmlns:t="${T}"><m:ResponseMessages>${out}</m:ResponseMessages></m:${op}Response>`
}

function count (body: string, re: RegExp): number {
  return (body.match(re) ?? []).length
}

function answer (op: string, body: string): string {
  switch (op) {
    case 'GetFolder':
      return messages(
        op,
        count(body, /<t:(FolderId|DistinguishedFolderId)\b/g),
        () => `<m:Folders>${folder()}</m:Folders>`
      )
    case 'FindFolder':
      return messages(
        op,
        1,
        () =>
          `<m:RootFolder IndexedPagingOffset="1" TotalItemsInView="1" IncludesLastItemInRange="true"><t:Folders>${folder()}</t:Folders></m:RootFolder>`
      )
    case 'CreateFolder':
    case 'UpdateFolder':
      return messages(
        op,
        1,
        () => `<m:Folders><t:Folder><t:FolderId Id="${fakeId()}" ChangeKey="AQAAABYAAAA="/></t:Folder></m:Folders>`
      )
    case 'DeleteFolder':
      return messages(op, 1, () => '')
    case 'FindItem':
      return messages(
        op,
        1,
        () =>
          '<m:RootFolder IndexedPagingOffset="1" TotalItemsInView="1" IncludesLastItemInRange="true"><t:Items>' +
          `<t:Message><t:ItemId Id="${fakeId()}" ChangeKey="CQAAABYAAAA="/><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>s</t:Subject><t:Size>10</t:Size><t:DateTimeCreated>2024-01-01T00:00:00Z</t:DateTimeCreated></t:Message></t:Items></m:RootFolder>`
      )
    case 'ExportItems':
      return messages(
        op,
        count(body, /<t:ItemId\b/g),
        () => `<m:ItemId Id="${fakeId()}" ChangeKey="CQAAABYAAAA="/><m:Data>AQAA\nAAgA</m:Data>`
      )
    case 'UploadItems':
      return messages(op, count(body, /<t:Item\b/g), () => `<m:ItemId Id="${fakeId()}" ChangeKey="CQAAABYAAAA="/>`)
    default:
      throw new Error(`recorder: unexpected ${op}`)
  }
}

/** An answer of a test's own: the `m:<op>Response` element for a request body (namespaces M and T declared on it). */
export type Answer = (body: string) => string

/** `answers`: the test's own answers to some operations (others get the minimal success above). */
export async function startRecorder (answers: Record<string, Answer> = {}):
Promise<{ url: string, requests: Recorded[], close: () => Promise<void> }> {
  const requests: Recorded[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const op = /<soap:Body><m:(\w+)/.exec(body)?.[1] ?? 'unknown'
      requests.push({ op, headers: req.headers, body })
      const xml =
        '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
        (Object.hasOwn(answers, op) ? answers[op](body) : answer(op, body)) +
        '</s:Body></s:Envelope>'
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(xml)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/EWS/Exchange.asmx`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
