import t from 'tap'
import { build, buildStream } from '../../examples/cross-origin.js'
import { injectEventStream } from '../../lib/testing.js'

const page = 'http://127.0.0.1:3000'

function tick (count: number, origin: string | null) {
  return { id: String(count), event: 'tick', data: JSON.stringify({ count, origin }) }
}

t.test('serves the page with the stream origin in a meta tag, escaped', async (t) => {
  const app = await build({ streamOrigin: 'http://127.0.0.1:3001/"><script>' })
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, '<meta name="stream-origin" content="http://127.0.0.1:3001/&quot;&gt;&lt;script&gt;">')
})

t.test('the CORS route names an allowed page origin in Access-Control-Allow-Origin', async (t) => {
  const app = await buildStream({ interval: 1, allowOrigin: (origin) => origin === page })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, { url: '/with-cors/events', headers: { origin: page } })
  t.equal(stream.headers['access-control-allow-origin'], page)
  t.equal(stream.headers.vary, 'Origin')
  t.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.strictSame(await stream.take(2), [tick(1, page), tick(2, page)])
  await stream.close()
})

t.test('other origins, and the route without CORS, get no Access-Control-Allow-Origin', async (t) => {
  const app = await buildStream({ interval: 1, allowOrigin: (origin) => origin === page })
  t.teardown(() => app.close())
  for (const [url, origin] of [['/with-cors/events', 'http://evil.test'], ['/without-cors/events', page]] as const) {
    const stream = await injectEventStream(app, { url, headers: { origin } })
    t.equal(stream.headers['access-control-allow-origin'], undefined, `${url} from ${origin}`)
    // The server streams all the same: it is the browser that refuses to hand the events to the page.
    t.strictSame(await stream.take(1), [tick(1, origin)])
    await stream.close()
  }
  const sameOrigin = await injectEventStream(app, '/with-cors/events')
  t.equal(sameOrigin.headers['access-control-allow-origin'], undefined, 'no Origin header: not a CORS request')
  t.strictSame(await sameOrigin.take(1), [tick(1, null)])
  await sameOrigin.close()
})

t.test('answers the preflight of a reconnect that sends Last-Event-ID', async (t) => {
  const app = await buildStream({ allowOrigin: (origin) => origin === page })
  t.teardown(() => app.close())
  const response = await app.inject({
    method: 'OPTIONS',
    url: '/with-cors/events',
    headers: { origin: page, 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' }
  })
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-origin'], page)
  t.equal(response.headers['access-control-allow-headers'], 'last-event-id')
})
