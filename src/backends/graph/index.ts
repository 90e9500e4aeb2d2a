/** Public surface of the Microsoft Graph adapter. */
export { createGraphBackend, resolveConfig, type GraphBackendConfig, type GraphBackendDeps } from './backend.js'
