/**
 * `npm run apikey [-- --id NAME]`: a new API key for a client of the gateway. Prints the key (give it to the
 * client, once) and the entry for `auth.clients[].apiKeys` (only the key's SHA-256 is stored in configuration).
 */
import { parseArgs } from 'node:util'
import { generateApiKey, hashApiKey } from '../access/authenticator.js'

const { values } = parseArgs({
  options: { id: { type: 'string', default: new Date().toISOString().slice(0, 10) } },
  strict: true
})
const id = String(values.id)
if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
  process.stderr.write('apikey: --id must be 1-64 letters, digits, dots, dashes or underscores\n')
  process.exit(1)
}
const key = generateApiKey()
process.stdout.write(`API key (give it to the client; it is not stored anywhere): ${key}\n` +
  `entry for auth.clients[].apiKeys: ${JSON.stringify({ id, sha256: hashApiKey(key) })}\n`)
