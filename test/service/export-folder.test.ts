/**
 * The service composes listings and batch exports: a folder export through the real
 * gateway wiring (demo simulators on loopback) yields every item of the folder once,
 * in listing order, across listing pages and export batches.
 */
import t from 'tap'
import { buildTestGateway, MAILBOXES } from '../helper.js'
import { exportFolder } from '../../src/service/index.js'

for (const type of ['ews', 'graph'] as const) {
  t.test(`${type}: exportFolder yields every item of the folder once, in listing order`, async (t) => {
    const { app } = await buildTestGateway(t)
    const service = app.mailboxService
    const target = await service.resolve(MAILBOXES[type].primary)
    const listed: string[] = []
    let pageToken: string | undefined
    do {
      const page = await service.listItems(target, 'inbox', {
        pageSize: 50,
        ...(pageToken !== undefined ? { pageToken } : {})
      })
      listed.push(...page.items.map((i) => i.id))
      pageToken = page.nextPageToken
    } while (pageToken !== undefined)
    t.ok(listed.length > 7, `the inbox spans several pages of 7 (${listed.length} items)`)

    const exported: string[] = []
    let withData = 0
    for await (const { summary, result } of exportFolder(target, 'inbox', { pageSize: 7 })) {
      t.equal(result.itemId, summary.id, 'each result is paired with its summary')
      exported.push(summary.id)
      if (!('error' in result) && result.data.length > 0 && result.source === type) withData++
    }
    t.same(exported, listed, 'the same items in the same order')
    t.equal(withData, listed.length, 'every item exported with its data and source')
  })
}
