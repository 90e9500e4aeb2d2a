/**
 * Folder writes whose answer was lost, over the real simulators: a create is settled by looking for the
 * folder (found: that is the answer; certainly absent: created once more; the lookup failing too: 502
 * MBG_ERR_OUTCOME_UNKNOWN); a rename is sent again (setting a name is idempotent); a delete whose answers
 * were all lost is done when the folder is gone.
 */
import t from 'tap'
import { buildTestGateway, json, MAILBOXES, type TestGateway } from '../helper.js'

const ews = encodeURIComponent(MAILBOXES.ews.primary)
const graph = encodeURIComponent(MAILBOXES.graph.primary)

interface Folder { id: string, displayName: string, parentId: string | null }

/** The next `count` calls of `operations` are carried out, then their connection drops before the answer. */
function resetAfter (gw: TestGateway, operations: string[], count: number): void {
  gw.sims.ews.faults.plan.configure({ rules: [{ operations, rate: 1, kinds: ['resetAfter'], count }] })
}

t.test('EWS create: the server made the folder and the answer was lost: the folder is the answer', async (t) => {
  const gw = await buildTestGateway(t)
  resetAfter(gw, ['CreateFolder'], 1)
  const before = gw.sims.ews.stats.byOperation.CreateFolder ?? 0
  const payload = { displayName: 'Lost' }
  const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${ews}/folders`, payload })
  t.equal(res.statusCode, 201, res.body)
  t.equal(json<Folder>(res).displayName, 'Lost')
  t.equal((gw.sims.ews.stats.byOperation.CreateFolder ?? 0) - before, 1, 'not created twice')
  t.ok(gw.logs.some((l) => l.includes('folder create reconciled')), 'logged as reconciled')
  const list = json<{ folders: Folder[] }>(await gw.app.inject({ url: `/mailboxes/${ews}/folders?parentId=root` }))
  t.equal(list.folders.filter((f) => f.displayName.toLowerCase() === 'lost').length, 1, 'exactly one such folder')
})

t.test('EWS create: the request never got there: the folder is certainly absent and created once more',
  async (t) => {
    const gw = await buildTestGateway(t)
    Object.assign(gw.sims.ews.faults, { only: ['CreateFolder'], reset: 1 })
    const res = await gw.app.inject({
      method: 'POST', url: `/mailboxes/${ews}/folders`, payload: { displayName: 'Again' }
    })
    t.equal(res.statusCode, 201, res.body)
    t.equal(json<Folder>(res).displayName, 'Again')
    t.equal(gw.sims.ews.stats.byOperation.CreateFolder, 2, 'sent a second time after the lookup')
  })

t.test('EWS create: the lookup fails too: the caller gets MBG_ERR_OUTCOME_UNKNOWN', async (t) => {
  const gw = await buildTestGateway(t)
  // The create's answer and every attempt of the lookup are lost.
  resetAfter(gw, ['CreateFolder', 'FindFolder'], 1 + 4)
  const res = await gw.app.inject({ method: 'POST', url: `/mailboxes/${ews}/folders`, payload: { displayName: 'Who' } })
  t.equal(res.statusCode, 502, res.body)
  t.equal(json(res).code, 'MBG_ERR_OUTCOME_UNKNOWN')
})

t.test('Graph create: a 500 before the folder was made: absent, created once more', async (t) => {
  const gw = await buildTestGateway(t)
  t.equal((await gw.app.inject({ url: `/mailboxes/${graph}/folders` })).statusCode, 200, 'warm up')
  gw.sims.graph.faults.reject = { status: 500, code: 'InternalServerError', count: 1 }
  const res = await gw.app.inject({
    method: 'POST', url: `/mailboxes/${graph}/folders`, payload: { displayName: 'Graph again' }
  })
  t.equal(res.statusCode, 201, res.body)
  t.equal(gw.sims.graph.faults.reject.count, 0, 'the fault fired')
  const list = json<{ folders: Folder[] }>(await gw.app.inject({ url: `/mailboxes/${graph}/folders?parentId=root` }))
  t.equal(list.folders.filter((f) => f.displayName === 'Graph again').length, 1, 'exactly one such folder')
})

t.test('EWS rename: the answer was lost: sent again, not an unknown outcome', async (t) => {
  const gw = await buildTestGateway(t)
  const made = json<Folder>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${ews}/folders`, payload: { displayName: 'Old name' }
  }))
  resetAfter(gw, ['UpdateFolder'], 1)
  const res = await gw.app.inject({
    method: 'PATCH', url: `/mailboxes/${ews}/folders/${made.id}`, payload: { displayName: 'New name' }
  })
  t.equal(res.statusCode, 200, res.body)
  t.equal(json<Folder>(res).displayName, 'New name')
})

t.test('EWS delete: every answer lost, the folder is gone: done', async (t) => {
  const gw = await buildTestGateway(t)
  const made = json<Folder>(await gw.app.inject({
    method: 'POST', url: `/mailboxes/${ews}/folders`, payload: { displayName: 'Doomed' }
  }))
  resetAfter(gw, ['DeleteFolder'], 4)
  const res = await gw.app.inject({ method: 'DELETE', url: `/mailboxes/${ews}/folders/${made.id}` })
  t.equal(res.statusCode, 204, res.body)
  t.equal((await gw.app.inject({ url: `/mailboxes/${ews}/folders/${made.id}` })).statusCode, 404)
})
