export { startIdentitySimulator } from './server.js'
export type { IdentityApp, IdentitySimulator, IdentitySimulatorOptions, VerifiedToken } from './types.js'
export { JWT_BEARER_ASSERTION } from './client-auth.js'
