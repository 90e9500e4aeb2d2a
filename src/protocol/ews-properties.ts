/**
 * EWS protocol tables that both the EWS adapter (src/backends/ews/properties.ts, reading answers) and the EWS
 * simulator (src/simulators/ews, reading requests and writing answers) need: facts of the published schema, kept
 * once. Nothing here is either side's logic; each side keeps its own reading and writing.
 */

/**
 * The GUIDs of EWS's distinguished property sets, by their `DistinguishedPropertySetId` names (types.xsd
 * DistinguishedPropertySetType; [MS-OXPROPS] section 1.3.2). Exchange may name a set by this name in an answer
 * where the request gave its GUID.
 */
export const DISTINGUISHED_PROPERTY_SETS: Readonly<Record<string, string>> = {
  Meeting: '6ed8da90-450b-101b-98da-00aa003f1305',
  Appointment: '00062002-0000-0000-c000-000000000046',
  Common: '00062008-0000-0000-c000-000000000046',
  PublicStrings: '00020329-0000-0000-c000-000000000046',
  Address: '00062004-0000-0000-c000-000000000046',
  InternetHeaders: '00020386-0000-0000-c000-000000000046',
  CalendarAssistant: '11000e07-b51b-40d6-af21-caa85edab1d0',
  UnifiedMessaging: '4442858e-a9e3-4e80-b900-317a210cc15b',
  Task: '00062003-0000-0000-c000-000000000046',
  Sharing: '00062040-0000-0000-c000-000000000046'
}

/**
 * An attendee's `t:ResponseType` (types.xsd ResponseTypeType) → the response names of the property set (Graph's
 * responseType values, https://learn.microsoft.com/graph/api/resources/responsestatus).
 */
export const EWS_RESPONSE_TYPES = {
  Unknown: 'none',
  Organizer: 'organizer',
  Tentative: 'tentativelyAccepted',
  Accept: 'accepted',
  Decline: 'declined',
  NoResponseReceived: 'notResponded'
} as const
