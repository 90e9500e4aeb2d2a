/**
 * Identifier forms on the Graph wire.
 *
 * The store's ids are standard base64 (with '+', '/' and '='), as EWS shows them. Graph shows the same
 * bytes URL-safe: '+' → '-', '/' → '_', padding kept (the docs' ids end in '=').
 */

export function toWireId (storeId: string): string {
  return storeId.replace(/\+/g, '-').replace(/\//g, '_')
}

/** Accepts both the URL-safe and the standard form. */
export function fromWireId (wireId: string): string {
  return wireId.replace(/-/g, '+').replace(/_/g, '/')
}

/**
 * A decoded value as one URL path segment: characters outside RFC 3986 `pchar` (among them the '/'
 * of a standard base64 id) percent-encoded; URL-safe ids stay as they are.
 */
export function pathSegment (value: string): string {
  return value.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, (c) => encodeURIComponent(c))
}

export function formatMailboxId (guid: string, tenantId: string): string {
  return `MBX:${guid}@${tenantId}`
}

const MBX_RE = /^MBX:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i

export function parseMailboxId (value: string): { guid: string, tenantId: string } | undefined {
  const m = MBX_RE.exec(value)
  return m === null ? undefined : { guid: m[1].toLowerCase(), tenantId: m[2].toLowerCase() }
}

/** Graph timestamps: ISO 8601 UTC, whole seconds unless the value has milliseconds. */
export function isoDate (d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z')
}
