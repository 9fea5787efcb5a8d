// The README's options and errors tables are part of the contract: keep them true.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { DEFAULTS, errorCodes } from '../lib/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function table (heading: string): string[][] {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? ''
  return section.split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
}

t.test('the options table lists every option with the default DEFAULTS holds', async (t) => {
  const rows = Object.fromEntries(table('Options').map(([name, value]) => [name?.replace(/`/g, ''), value?.replace(/`/g, '')]))
  t.same(Object.keys(rows), ['heartbeatInterval', 'retry', 'serialize', 'maxBufferedBytes', 'replayStore', 'backplane'])
  t.equal(rows.heartbeatInterval, String(DEFAULTS.heartbeatInterval))
  t.equal(rows.retry, String(DEFAULTS.retry))
  t.equal(DEFAULTS.serialize, JSON.stringify)
  t.equal(rows.serialize, 'JSON.stringify')
  t.equal(rows.maxBufferedBytes, String(DEFAULTS.maxBufferedBytes))
  t.equal(rows.replayStore, `new MemoryReplayStore({ maxEvents: ${DEFAULTS.maxEvents} })`)
  t.equal(rows.backplane, 'new InProcessBackplane()')
})

t.test('the errors table has one row per error code, and no other', async (t) => {
  const codes = table('Errors').map(([code]) => code?.replace(/`/g, ''))
  t.same(codes, Object.keys(errorCodes))
})

t.test('the README has no placeholder left', async (t) => {
  t.notMatch(readme, /PLACEHOLDER|TODO|TBD/)
})
