import t from 'tap'
import { resolveConfig } from '../../../src/backends/graph/backend.js'

t.test('defaults and clamps', async (t) => {
  t.same(resolveConfig({ name: 'g', graphUrl: 'https://graph.microsoft.com/' }), {
    name: 'g',
    graphOrigin: 'https://graph.microsoft.com',
    primaryVersion: 'v1.0',
    archiveVersion: 'beta',
    exportBatchSize: 20,
    importConcurrency: 4,
    maxRedirects: 5,
    pageSize: 100
  })
  const c = resolveConfig({ name: 'g', graphUrl: 'https://graph.microsoft.com', exportBatchSize: 50, pageSize: 5000, apiVersion: { primary: 'beta', archive: 'beta' } })
  t.equal(c.exportBatchSize, 20, 'Graph caps exportItems at 20 ids')
  t.equal(c.pageSize, 999)
  t.equal(c.primaryVersion, 'beta')
})

t.test('invalid Graph URLs and national clouds are refused', async (t) => {
  t.throws(() => resolveConfig({ name: 'g', graphUrl: 'http://graph.microsoft.com' }), { code: 'MBG_ERR_CONFIG_INVALID' })
  t.throws(() => resolveConfig({ name: 'g', graphUrl: 'https://graph.microsoft.com/v1.0' }), { code: 'MBG_ERR_CONFIG_INVALID' })
  t.throws(() => resolveConfig({ name: 'g', graphUrl: 'nope' }), { code: 'MBG_ERR_CONFIG_INVALID' })
  t.throws(() => resolveConfig({ name: 'g', graphUrl: 'https://graph.microsoft.us' }), { code: 'MBG_ERR_CONFIG_INVALID', message: /national cloud/ })
})
