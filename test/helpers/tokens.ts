/**
 * Caller tokens from the identity simulator, fetched as a caller would: the client-credentials grant over
 * HTTPS (RFC 6749 section 4.4) at the tenant's token endpoint.
 */
import { Agent, fetch } from 'undici'
import type { Simulators } from '../../src/simulators/index.js'

/** An access token for `scope` (default: the gateway's `api://mailbox-gateway/.default`), or the error body. */
export async function clientCredentialsToken (
  sims: Simulators,
  client: { clientId: string, clientSecret: string },
  scope = 'api://mailbox-gateway/.default'
): Promise<string> {
  const dispatcher = new Agent({ connect: { ca: sims.ca } })
  try {
    const res = await fetch(`${sims.identity.authority}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
        scope
      }),
      dispatcher
    })
    const body = await res.json() as { access_token?: string }
    if (res.status !== 200 || body.access_token === undefined) {
      throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`)
    }
    return body.access_token
  } finally {
    await dispatcher.close()
  }
}
