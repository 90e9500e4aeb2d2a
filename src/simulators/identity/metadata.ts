/**
 * Discovery documents, shaped like Entra's v2.0 tenant metadata and the
 * `common/discovery/instance` (instance discovery) answer MSAL asks for when
 * an authority is not in `knownAuthorities`.
 */

export interface Endpoints {
  /** https://127.0.0.1:PORT */
  origin: string
  /** 127.0.0.1:PORT */
  host: string
  tenantId: string
}

export function openIdConfiguration ({ origin, tenantId }: Endpoints): Record<string, unknown> {
  const base = `${origin}/${tenantId}`
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${origin}/${tenantId}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name',
      'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver',
      'at_hash', 'c_hash', 'email'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net'
  }
}

/**
 * Instance discovery for `authorization_endpoint`, or undefined when that
 * endpoint is not on this simulator (Entra answers invalid_instance / AADSTS50049).
 */
export function instanceDiscovery (ep: Endpoints,
  authorizationEndpoint: string | undefined): Record<string, unknown> | undefined {
  let url: URL
  try {
    url = new URL(authorizationEndpoint ?? '')
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' || url.host.toLowerCase() !== ep.host.toLowerCase()) return undefined
  const tenant = url.pathname.split('/').filter((s) => s !== '')[0] ?? 'common'
  return {
    tenant_discovery_endpoint: `${ep.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: ep.host, preferred_cache: ep.host, aliases: [ep.host] }]
  }
}
