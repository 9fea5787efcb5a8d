import t from 'tap'
import { build, buildStream } from '../../examples/cross-origin.js'
import { chromiumSkip, launchChromium, waitForState } from '../helpers/chromium.js'

t.test('a page reads a stream from another origin with CORS, and the browser blocks it without', { skip: chromiumSkip() }, async (t) => {
  let pageOrigin = ''
  const streams = await buildStream({ interval: 30, allowOrigin: (origin) => origin === pageOrigin })
  t.teardown(() => streams.close())
  const streamOrigin = await streams.listen({ port: 0, host: '127.0.0.1' })
  const app = await build({ streamOrigin })
  t.teardown(() => app.close())
  pageOrigin = await app.listen({ port: 0, host: '127.0.0.1' })
  t.not(new URL(pageOrigin).port, new URL(streamOrigin).port, 'two origins')

  const page = await (await launchChromium(t)).newPage()
  const console: string[] = []
  page.on('console', (message) => { console.push(message.text()) })
  await page.goto(pageOrigin)

  await waitForState(page, 'open', '#with .state')
  await page.waitForFunction('Number(document.querySelector("#with .count").textContent) >= 2', undefined, { timeout: 10_000 })
  t.equal(await page.locator('#sse-state').textContent(), 'open', 'the top bar follows the CORS stream')

  await waitForState(page, 'failed', '#without .state')
  t.equal(await page.locator('#without .count').textContent(), '0', 'no event reached the page')
  t.equal(await page.locator('#without .explain').isVisible(), true, 'the page explains why')
  t.ok(console.some((text) => /blocked by CORS policy: No 'Access-Control-Allow-Origin' header/.test(text)), 'Chromium reports the CORS error')
})
