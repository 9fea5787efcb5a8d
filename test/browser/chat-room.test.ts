import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import { build } from '../../examples/chat-room.js'
import { until } from '../helpers/build.js'
import { chromiumSkip, launchChromium, trackStreams, waitForCount, waitForState } from '../helpers/chromium.js'

const skip = chromiumSkip()
const SCREENSHOT = fileURLToPath(new URL('../../docs/chat-room.png', import.meta.url))

async function post (app: FastifyInstance, name: string, text: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/messages', payload: { name, text } })
  return (response.json() as { id: string }).id
}

async function lines (page: Page): Promise<string[][]> {
  const names = await page.locator('#messages li .name').allTextContents()
  const texts = await page.locator('#messages li .text').allTextContents()
  return names.map((name, i) => [name, texts[i] as string])
}

t.test('a message posted from one page appears in both', { skip }, async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await launchChromium(t)
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } })
  const [alice, bob] = [await context.newPage(), await context.newPage()] as [Page, Page]
  await Promise.all([alice.goto(url), bob.goto(url)])
  await Promise.all([waitForState(alice, 'open'), waitForState(bob, 'open')])
  await until(() => app.sseHub.stats().subscribers === 2, 'both pages subscribed')

  await alice.fill('#name', 'Alice')
  await alice.fill('#text', 'Hello from Alice!')
  await alice.click('button')
  await Promise.all([waitForCount(alice, '#messages li', 1), waitForCount(bob, '#messages li', 1)])
  const expected = [['Alice', 'Hello from Alice!']]
  t.strictSame(await lines(alice), expected)
  t.strictSame(await lines(bob), expected, 'the other page got it too')
  t.equal(await alice.inputValue('#text'), '', 'the form is cleared after sending')
  t.equal(await bob.locator('#sse-last-id').textContent(), await alice.locator('#sse-last-id').textContent(), 'both show the same last event id')

  // A short conversation for the screenshot in the README.
  await bob.fill('#name', 'Bob')
  for (const [page, text] of [[bob, 'Hi Alice! Is this Server-Sent Events?'], [alice, 'Yes: one POST, and the hub fans it out to every open page.'], [bob, 'And if my Wi-Fi drops?'], [alice, 'The browser reconnects with Last-Event-ID and gets what it missed.']] as const) {
    await page.fill('#text', text)
    await page.click('button')
  }
  await Promise.all([waitForCount(alice, '#messages li', 5), waitForCount(bob, '#messages li', 5)])
  t.strictSame((await lines(bob)).map(([name]) => name), ['Alice', 'Bob', 'Alice', 'Bob', 'Alice'])
  // Taken on every run; written to docs/ (the README's picture) only with UPDATE_SCREENSHOTS=1,
  // so a test run leaves the tree as it was.
  const png = await bob.screenshot(process.env.UPDATE_SCREENSHOTS === '1' ? { path: SCREENSHOT } : {})
  t.strictSame([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG of the chat page')
})

t.test('a page whose connection the server cut gets every message posted meanwhile, once, after its own reconnect', { skip }, async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const streams = trackStreams(app.server, '/events')
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const browser = await launchChromium(t)
  const page = await browser.newPage()
  await page.goto(url)
  await waitForState(page, 'open')
  await until(() => app.sseHub.stats().subscribers === 1, 'the page subscribed')
  const before = await post(app, 'server', 'before the cut')
  await waitForCount(page, '#messages li', 1)

  streams.cut()
  await waitForState(page, 'reconnecting')
  await until(() => app.sseHub.stats().subscribers === 0, 'the hub saw the page leave')
  for (const text of ['missed 1', '<b>missed 2</b>', 'missed 3']) await post(app, 'server', text)
  t.equal(app.sseHub.stats().subscribers, 0, 'all three were posted while the page was away')

  await waitForState(page, 'open')
  await waitForCount(page, '#messages li', 4)
  t.strictSame(streams.lastEventIds, [undefined, before], 'the browser reconnected by itself with Last-Event-ID')
  const after = await post(app, 'server', 'live again')
  await waitForCount(page, '#messages li', 5)
  t.strictSame((await lines(page)).map(([, text]) => text), ['before the cut', 'missed 1', '<b>missed 2</b>', 'missed 3', 'live again'], 'none lost, none twice, in order, as text')
  t.equal(await page.locator('#sse-last-id').textContent(), after)
})
