/**
 * The benchmark's report renderer (bench/report.ts) and results shape (bench/results.ts): a small results document
 * renders into a table and an SVG chart, a document missing its parts is refused, and the committed
 * bench/results/latest.json has the shape the renderer reads. The benchmark itself (`npm run bench`) is not run here.
 */
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { parseExplanations, renderChart, renderMarkdown } from '../../bench/report.js'
import { checkResults, goalMet, summarize, type Results } from '../../bench/results.js'

const fixture = (): Results =>
  JSON.parse(readFileSync(new URL('../fixtures/bench/results.json', import.meta.url), 'utf8')) as Results

t.test('the fixture has the expected shape', async (t) => {
  t.same(checkResults(fixture()), [])
})

t.test('a document missing or contradicting its parts is refused, naming the problem', async (t) => {
  const noMachine = fixture() as Partial<Results>
  delete noMachine.machine
  t.match(checkResults(noMachine), [/machine/])
  const unordered = fixture()
  unordered.figures[0].gateway = { min: 200, median: 157, max: 160, samples: [157] }
  t.match(checkResults(unordered), [/min ≤ median ≤ max/])
  const wrongMet = fixture()
  wrongMet.figures[0].met = true
  t.match(checkResults(wrongMet), [/met does not follow/])
  const empty = fixture()
  delete empty.figures[1].gateway
  t.match(checkResults(empty), [/neither measured nor skipped/])
  t.match(checkResults({ ...fixture(), figures: [] }), [/figures/])
})

t.test('summaries and goals', async (t) => {
  t.same(summarize([3, 1, 2, 10]), { min: 1, median: 2.5, max: 10, samples: [3, 1, 2, 10] })
  t.equal(goalMet({ text: '', metric: 'ratio', op: '>=', value: 0.95 }, undefined, 0.96), true)
  t.equal(goalMet({ text: '', metric: 'gateway', op: '<=', value: 10 }, summarize([11]), undefined), false)
  t.equal(goalMet({ text: '', metric: 'ratio', op: '>=', value: 5 }, undefined, undefined), null)
})

t.test('the markdown has the machine, one table row per figure and a section per missed goal', async (t) => {
  const md = renderMarkdown(fixture(), 'bench/results/chart.svg',
    parseExplanations('# Explanations\n\n## graph-import\n\nNot missed.\n\n## ews-export\n\nParsing dominates.\n'))
  t.match(md, /Fixture CPU @ 2\.00GHz \(2 cores/)
  t.match(md, /Node\.js v24\.21\.0/)
  t.match(md, /load average at start 1\.5, 1\.25, 1 /)
  t.match(md, /\| figure \| gateway \| direct \| ratio \| goal \| met\? \|/)
  t.match(md, '| EWS export, 1000 items, concurrency 4 | 157 items/s (150–160) | 500 items/s (480–510) | 0.314× | ' +
    '≥ 0.95× direct | **no** |')
  t.match(md, /\| Graph import, 1000 items, concurrency 4 \| .* \| yes \|/)
  t.match(md, '| EWS export of 50 items, gateway vs exchangelib | skipped: exchangelib not installed | — | — |')
  t.match(md, '![gateway and direct items/s, medians with min–max](bench/results/chart.svg)')
  t.match(md, '### EWS export, 1000 items, concurrency 4 (`ews-export`)\n\nMeasured: gateway 157 items/s')
  t.match(md, 'Parsing dominates.')
  t.notMatch(md, '### Graph import', 'a met goal gets no section')
  const pending = renderMarkdown(fixture(), 'chart.svg')
  t.match(pending, /Explanation pending: .*`## ews-export` in `bench\/explanations\.md`/)
})

t.test('the chart is an SVG with a bar per side of each figure measured both ways', async (t) => {
  const svg = await renderChart(fixture())
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.equal(svg.match(/aria-roledescription="bar"/g)?.length, 4)
  t.match(svg, 'items/s: 157; figure: EWS export, 1000 items, concurrency 4; side: gateway')
  t.match(svg, 'items/s: 500; figure: EWS export, 1000 items, concurrency 4; side: direct')
  t.match(svg, 'items/s: 99; figure: Graph import, 1000 items, concurrency 4; side: gateway')
  t.notMatch(svg, 'exchangelib', 'skipped figures are not drawn')
})

t.test('the committed results have the shape the renderer reads', async (t) => {
  const file = new URL('../../bench/results/latest.json', import.meta.url)
  if (!existsSync(file)) {
    t.pass('no bench/results/latest.json yet')
    return
  }
  t.same(checkResults(JSON.parse(readFileSync(file, 'utf8'))), [])
})
