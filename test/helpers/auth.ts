/**
 * Authenticators for tests that build the gateway themselves (test/helper.ts has its own).
 */
import { CallerAuthenticator } from '../../src/access/authenticator.js'

/** `auth.mode: "none"`: every request is the anonymous caller with every scope (tests of other mechanisms). */
export function openAuthenticator (): CallerAuthenticator {
  return new CallerAuthenticator({ mode: 'none', clients: [], rateLimit: { max: 1_000_000, windowSec: 60 } })
}
