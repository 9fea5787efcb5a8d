import t from 'tap'
import { STEP, build, parsePosition } from '../../examples/movement.js'
import { chromiumSkip, launchChromium, trackStreams, waitForState } from '../helpers/chromium.js'

t.test('the box resumes from its last position after a forced reconnect', { skip: chromiumSkip() }, async (t) => {
  const app = await build({ interval: 30 })
  t.teardown(() => app.close())
  const streams = trackStreams(app.server, '/events')
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const page = await (await launchChromium(t)).newPage()
  await page.goto(url)
  await waitForState(page, 'open')
  const lastId = page.locator('#sse-last-id')
  // Let it wander for a few moves.
  await page.waitForFunction('document.getElementById("sse-last-id").textContent !== "(none)"', undefined, { timeout: 10_000 })
  const first = await lastId.textContent()
  await page.waitForFunction(`document.getElementById("sse-last-id").textContent !== ${JSON.stringify(first)}`, undefined, { timeout: 10_000 })

  // Every id the page shows, in order.
  await page.evaluate(`(() => {
    const element = document.getElementById('sse-last-id')
    window.__shownIds = []
    new MutationObserver(() => { window.__shownIds.push(element.textContent) })
      .observe(element, { childList: true, characterData: true, subtree: true })
  })()`)
  streams.cut()
  await waitForState(page, 'reconnecting')
  const seen = await lastId.textContent() as string
  t.ok(parsePosition(seen), `the page's last id is a position (${seen})`)

  await waitForState(page, 'open')
  await page.waitForFunction(`document.getElementById("sse-last-id").textContent !== ${JSON.stringify(seen)}`, undefined, { timeout: 10_000 })
  // The first id after the reconnect, as the page showed it (reading the element again from
  // here could already see a later move).
  const shown = await page.evaluate('window.__shownIds') as string[]
  const after = shown[shown.lastIndexOf(seen) + 1] as string
  t.strictSame(streams.lastEventIds, [undefined, seen], 'the browser sent the last position back')
  const from = parsePosition(seen) as { x: number, y: number }
  const next = parsePosition(after) as { x: number, y: number }
  t.ok(Math.abs(next.x - from.x) <= STEP && Math.abs(next.y - from.y) <= STEP, `the walk went on from ${seen}, to ${next.x},${next.y}`)
  t.equal(await page.locator('#reconnects').textContent(), '1')
})
