/** EWS simulator: a SOAP 1.1 Exchange Web Services endpoint over the shared MailboxStore. */
export { startEwsSimulator } from './server.js'
export type {
  EwsAccount, EwsBearerIdentity, EwsFaultCounts, EwsFaults, EwsMessageFault, EwsSimulator, EwsSimulatorOptions,
  EwsStats, ExportDamage
} from './types.js'
