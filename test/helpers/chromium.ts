// Headless Chromium for the browser tests: Debian's `chromium` package driven by
// playwright-core. Never a browser download. Without the binary, browser tests are skipped
// with a reason locally and fail under CI=true (.ci installs the package).
import { existsSync } from 'node:fs'
import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** We run as root on a machine without internet: no sandbox, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

/**
 * For `t.test(name, { skip: chromiumSkip() }, ...)`: false when Chromium is there, else the
 * reason to skip. Throws under CI=true, where a missing browser is a broken setup.
 */
export function chromiumSkip (path = CHROMIUM_PATH, env: NodeJS.ProcessEnv = process.env): string | false {
  if (existsSync(path)) return false
  const reason = `Chromium not found at ${path} (apt-get install chromium)`
  if (env.CI === 'true') throw new Error(`${reason}: browser tests cannot be skipped under CI`)
  return `${reason}: browser tests skipped`
}

/** Launches Chromium, closed when the test ends. */
export async function launchChromium (t: { teardown (fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  return browser
}

/** Waits until the page's connection state (the status bar at the top) reads `state`. */
export async function waitForState (page: Page, state: string, selector = '#sse-state'): Promise<void> {
  await page.waitForFunction(`document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(state)}`, undefined, { timeout: 10_000 })
}

/** Waits until `selector` matches `count` elements. */
export async function waitForCount (page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length === ${count}`, undefined, { timeout: 10_000 })
}

/**
 * The raw sockets that carry requests to `path` (and the Last-Event-ID each sent), so a test
 * can cut a stream from the server side the way a network failure would.
 */
export function trackStreams (server: Server, path: string): { sockets: Set<Socket>, lastEventIds: Array<string | undefined>, cut (): void } {
  const sockets = new Set<Socket>()
  const lastEventIds: Array<string | undefined> = []
  server.on('request', (request: IncomingMessage) => {
    if (new URL(request.url ?? '/', 'http://x').pathname !== path) return
    const id = request.headers['last-event-id']
    lastEventIds.push(typeof id === 'string' ? id : undefined)
    sockets.add(request.socket)
    request.socket.once('close', () => sockets.delete(request.socket))
  })
  return {
    sockets,
    lastEventIds,
    cut () { for (const socket of sockets) socket.destroy() }
  }
}
