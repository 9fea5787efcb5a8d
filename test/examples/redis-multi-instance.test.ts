import t from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { build } from '../../examples/redis-multi-instance.js'
import type { Instances } from '../../examples/redis-multi-instance.js'
import type { Teardown } from '../helpers/build.js'
import { connect, ownRedis, redisSkipReason, redisUrl, uniquePrefix, waitFor } from '../helpers/redis.js'
import { openSse } from '../helpers/sse-client.js'

const skip = redisSkipReason()
if (skip !== false) {
  t.plan(0, skip)
} else {
  const url = await redisUrl(t)
  const probe = await connect(t, url)

  async function start (t: Teardown): Promise<Instances & { keyPrefix: string }> {
    const keyPrefix = uniquePrefix('example')
    const instances = await build({ redisUrl: url, port: 0, keyPrefix })
    t.teardown(() => instances.close())
    return { ...instances, keyPrefix }
  }

  /** Publishes as the page on `from` does: a cross-origin POST to the other instance. */
  async function publish (origin: string, to: string, text: string) {
    const response = await fetch(`${to}/messages`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ text })
    })
    return { status: response.status, allowOrigin: response.headers.get('access-control-allow-origin'), body: await response.json() as { id: string } }
  }

  t.test("instance A serves the page: it streams from A and publishes through B's address", async (t) => {
    const { a, b } = await start(t)
    const response = await fetch(`${a.origin}/`)
    t.equal(response.status, 200)
    t.equal(response.headers.get('content-type'), 'text/html; charset=utf-8')
    const html = await response.text()
    t.match(html, '<title>Redis, instance A · fastify-sse-hub</title>')
    t.match(html, `<meta name="publish-url" content="${b.origin}/messages">`)
    t.match(html, "openStream('events'", 'subscribes on its own instance')
    t.match(html, 'id="sse-state"', 'shows the connection state')
    t.match(html, 'id="sse-last-id"', 'and the last event id')
    t.notMatch(html, /innerHTML/, 'the page never inserts server data as HTML')
    t.match(await (await fetch(`${b.origin}/`)).text(), `<meta name="publish-url" content="${a.origin}/messages">`, 'and B the other way round')
  })

  t.test('a message published through B reaches the stream on A exactly, with the id B returned', async (t) => {
    const { a, b, keyPrefix } = await start(t)
    const page = await openSse(`${a.origin}/events`)
    t.teardown(() => page.destroy())
    await waitFor(async () => (await probe.pubsub('NUMSUB', `${keyPrefix}messages`) as [string, number])[1] === 1, 'A subscribed in Redis')
    const first = await publish(a.origin, b.origin, 'hello <b>from</b> B')
    t.equal(first.status, 201)
    t.equal(first.allowOrigin, a.origin, "B lets A's page read the answer")
    t.match(first.body.id, /^[0-9a-f]{12}:\d+-\d+$/, 'an id from the Redis stream')
    const second = await publish(b.origin, a.origin, 'and back through A')
    t.strictSame(await page.waitFor(2), [
      { id: first.body.id, event: 'message', data: JSON.stringify({ text: 'hello <b>from</b> B', via: 'B' }) },
      { id: second.body.id, event: 'message', data: JSON.stringify({ text: 'and back through A', via: 'A' }) }
    ])
    t.equal(page.events.length, 2, 'each once')

    // The page reconnects to B with the last id it saw: it gets exactly what it missed.
    page.destroy()
    const missed = await publish(a.origin, b.origin, 'while away')
    const resumed = await openSse(`${b.origin}/events`, { headers: { 'last-event-id': second.body.id } })
    t.teardown(() => resumed.destroy())
    t.strictSame(await resumed.waitFor(1), [{ id: missed.body.id, event: 'message', data: JSON.stringify({ text: 'while away', via: 'B' }) }])
  })

  t.test('publishing answers CORS only for the other instance, and refuses an empty message', async (t) => {
    const { a, b } = await start(t)
    const preflight = await fetch(`${b.origin}/messages`, {
      method: 'OPTIONS',
      headers: { origin: a.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
    })
    t.equal(preflight.status, 204)
    t.equal(preflight.headers.get('access-control-allow-origin'), a.origin)
    const local = a.origin.replace('127.0.0.1', 'localhost')
    t.equal((await publish(local, b.origin, 'from localhost')).allowOrigin, local, 'the page opened as localhost too')
    t.equal((await publish('http://evil.test', b.origin, 'x')).allowOrigin, null, 'not other origins')
    t.equal((await publish(a.origin, b.origin, '')).status, 400)
  })

  t.test('fails with the connection error when Redis cannot be reached, leaving nothing open', { skip: redisSkipReason(true) }, async (t) => {
    const server = await ownRedis(t)
    await server.kill()
    await t.rejects(build({ redisUrl: server.url, port: 0 }), { code: 'ECONNREFUSED' })
  })

  t.test("fails when B's port is taken, closing instance A it started", async (t) => {
    // A free port for A whose next one, B's, is taken.
    let blocker: Server | undefined
    let port = 0
    while (blocker === undefined) {
      const probePort = createServer().listen(0, '127.0.0.1')
      await once(probePort, 'listening')
      port = (probePort.address() as AddressInfo).port
      probePort.close()
      const next = createServer().listen(port + 1, '127.0.0.1')
      blocker = await Promise.race([once(next, 'listening').then(() => next), once(next, 'error').then(() => undefined)])
    }
    const taken = blocker
    t.teardown(() => { taken.close() })
    await t.rejects(build({ redisUrl: url, port, keyPrefix: uniquePrefix('taken') }), { code: 'EADDRINUSE' })
    // Instance A had listened on `port`: it was closed again, so the port is free.
    const again = createServer().listen(port, '127.0.0.1')
    await once(again, 'listening')
    again.close()
  })
}
