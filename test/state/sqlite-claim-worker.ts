/**
 * A process of test/state/sqlite-state.test.ts: opens its own SqliteJobStore (its own connection) on the file
 * named by argv[2], says `ready`, and once told `go` claims jobs as owner argv[3] until none is left, pausing a
 * moment after each (as a runner works between claims). Sends back the ids it claimed, then exits.
 */
import { SqliteJobStore } from '../../src/state/sqlite-jobs.js'

const [path, owner] = process.argv.slice(2)
const store = new SqliteJobStore({ path })
async function claimAll (): Promise<void> {
  const claimed: string[] = []
  for (;;) {
    const job = await store.claim(owner, 3_600_000)
    if (job === undefined) break
    claimed.push(job.id)
    // A runner works between claims: the other process gets its turns at the lock.
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await store.close()
  process.send?.({ claimed }, () => { process.disconnect() })
}

process.once('message', (message) => {
  if (message === 'go') claimAll().catch((err: unknown) => { throw err })
})
process.send?.('ready')
