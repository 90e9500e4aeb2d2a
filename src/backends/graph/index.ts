/** Public surface of the Microsoft Graph adapter. */
export { createGraphBackend, type GraphBackendConfig, type GraphBackendDeps } from './backend.js'
