import t from 'tap'
import { MemoryJobStore, MemoryLedgerStore } from '../../src/state/memory-jobs.js'
import { jobStoreContract, ledgerStoreContract } from './job-store-contract.js'

t.test('MemoryJobStore', async (t) => {
  jobStoreContract(t, (clock) => new MemoryJobStore({ now: () => clock.now }))
})
t.test('MemoryLedgerStore', async (t) => {
  ledgerStoreContract(t, (clock) => new MemoryLedgerStore({ now: () => clock.now }))
})
