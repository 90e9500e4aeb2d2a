/** Streaming export of a 5,000-item folder, graph backend: see test/helpers/export-stream.ts. */
import t from 'tap'
import { streamsInFlatMemory } from '../helpers/export-stream.js'

t.test('graph: a 5,000-item folder streams to a slow reader in flat memory; a cut export resumes exactly once',
  async (t) => { await streamsInFlatMemory(t, 'graph') })
