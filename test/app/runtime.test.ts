// The suite runs on the Node.js the product targets (package.json engines; `npm test` takes it from the pinned
// `node` dev dependency), and so do the processes tests spawn with process.execPath.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string }
  devDependencies: Record<string, string>
}

t.test('tests and the processes they spawn run on the targeted Node.js', async (t) => {
  t.comment(`node ${process.version} (${process.execPath})`)
  const floor = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1])
  t.ok(floor >= 24, `engines.node is a major floor: ${pkg.engines.node}`)
  t.ok(Number(process.versions.node.split('.')[0]) >= floor, `${process.version} satisfies ${pkg.engines.node}`)
  t.equal(process.versions.node, pkg.devDependencies.node, 'the pinned node dev dependency runs the tests')
  const child = spawnSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8', timeout: 60_000 })
  t.equal(child.stdout.trim(), process.version, 'a spawned process runs the same Node.js')
})
