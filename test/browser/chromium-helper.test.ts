import t from 'tap'
import { CHROMIUM_PATH, chromiumSkip } from '../helpers/chromium.js'

t.test('skips with a stated reason when Chromium is missing locally', async (t) => {
  t.equal(chromiumSkip('/nonexistent/chromium', {}), 'Chromium not found at /nonexistent/chromium (apt-get install chromium): browser tests skipped')
})

t.test('fails when Chromium is missing under CI=true', async (t) => {
  t.throws(() => chromiumSkip('/nonexistent/chromium', { CI: 'true' }), {
    message: 'Chromium not found at /nonexistent/chromium (apt-get install chromium): browser tests cannot be skipped under CI'
  })
})

t.test('runs the browser tests when Chromium is installed', { skip: chromiumSkip() }, async (t) => {
  t.equal(chromiumSkip(CHROMIUM_PATH, { CI: 'true' }), false)
})
