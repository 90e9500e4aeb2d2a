/**
 * A worker thread of test/state/sqlite-store.test.ts: opens its own store (its own connection) on the
 * file it is given, then, for each key, waits at a barrier shared with the other workers (a spinning
 * one, so they leave it as close together as the machine allows) and begins the key. Posts back what
 * each begin found.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteIdempotencyStore } from '../../src/state/sqlite.js'

const { path, keys, workers, barrier } =
  workerData as { path: string, keys: string[], workers: number, barrier: SharedArrayBuffer }
const store = new SqliteIdempotencyStore({ path })
// [0]: workers still to arrive this round; [1]: the round.
const shared = new Int32Array(barrier)

/** Returns once every worker has called it for this round. */
function meet (): void {
  const round = Atomics.load(shared, 1)
  if (Atomics.sub(shared, 0, 1) === 1) {
    Atomics.store(shared, 0, workers)
    Atomics.add(shared, 1, 1)
    return
  }
  while (Atomics.load(shared, 1) === round);
}

const statuses: string[] = []
for (const key of keys) {
  meet()
  statuses.push((await store.begin(key, 'fp')).status)
}
await store.close()
parentPort?.postMessage(statuses)
