import t from 'tap'
import { SENTENCE, build } from '../../examples/words.js'
import { until } from '../helpers/build.js'
import type { LogLine } from '../helpers/build.js'
import { chromiumSkip, launchChromium, trackStreams, waitForState } from '../helpers/chromium.js'

t.test('the page closes its EventSource at the final period and the server sees the stream end', { skip: chromiumSkip() }, async (t) => {
  const lines: LogLine[] = []
  const app = await build({ interval: 20, logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } } })
  t.teardown(() => app.close())
  const streams = trackStreams(app.server, '/events')
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const page = await (await launchChromium(t)).newPage()
  await page.goto(url)
  await waitForState(page, 'closed')
  t.strictSame(await page.locator('#sentence span').allTextContents(), SENTENCE.split(' '))
  t.equal(await page.locator('#sse-last-id').textContent(), '9')
  t.equal(await page.locator('#done').isVisible(), true)

  const closed = (): LogLine[] => lines.filter((line) => line.msg === 'words: client closed the stream')
  await until(() => closed().length === 1, "the generator's finally block on the server")
  t.equal(closed()[0]?.words, 9, 'after the whole sentence')
  t.strictSame(streams.lastEventIds, [undefined], 'one request: the browser did not reconnect')
})
