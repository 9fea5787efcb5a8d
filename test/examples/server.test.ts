import t from 'tap'
import { EXAMPLES, portFrom, start } from '../../examples/server.js'
import { injectEventStream } from '../../lib/testing.js'
import { until } from '../helpers/build.js'

t.test('serves the index and every example, and the cross-origin streams on a second port', async (t) => {
  const printed: string[] = []
  const demo = await start({ port: 0, host: '127.0.0.1', logger: false, print: (line) => { printed.push(line) } })
  t.teardown(() => demo.close())
  const streamOrigin = demo.streams.listeningOrigin
  t.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.strictSame(printed, [`fastify-sse-hub demo: ${demo.url} (cross-origin streams on ${streamOrigin})`])

  // Over a real socket: the index links to every example.
  const index = await fetch(demo.url)
  t.equal(index.status, 200)
  const html = await index.text()
  t.strictSame([...html.matchAll(/<li><a href="([^"]+)">/g)].map((match) => match[1]), EXAMPLES.map(({ name }) => `/${name}/`))

  for (const { name, title } of EXAMPLES) {
    const page = await demo.app.inject(`/${name}/`)
    t.equal(page.statusCode, 200, name)
    t.match(page.body, `<base href="/${name}/">`, `${name}: relative URLs resolve under its prefix`)
    t.match(page.body, `<title>${title} · fastify-sse-hub</title>`)
    t.match(page.body, '<a class="home" href="/">', `${name}: links back to the index`)
  }
  const crossOrigin = await demo.app.inject('/cross-origin/')
  t.match(crossOrigin.body, `<meta name="stream-origin" content="${streamOrigin}">`)

  const clock = await injectEventStream(demo.app, '/clock/events')
  t.match(await clock.take(1), [{ id: '1', event: 'tick' }])
  await clock.close()

  const chat = await injectEventStream(demo.app, '/chat-room/events')
  await until(() => demo.app.sseHub.stats().subscribers === 1, 'the chat page is live')
  const posted = await demo.app.inject({ method: 'POST', url: '/chat-room/messages', payload: { name: 'ada', text: 'hi' } })
  t.equal(posted.statusCode, 201)
  t.match(await chat.take(1), [{ id: (posted.json() as { id: string }).id, event: 'message' }])
  await chat.close()

  const pageOrigin = demo.url.slice(0, -1)
  for (const origin of [pageOrigin, pageOrigin.replace('127.0.0.1', 'localhost')]) {
    const stream = await injectEventStream(demo.streams, { url: '/with-cors/events', headers: { origin } })
    t.equal(stream.headers['access-control-allow-origin'], origin, `streams allow ${origin}`)
    await stream.close()
  }
  const other = await injectEventStream(demo.streams, { url: '/with-cors/events', headers: { origin: 'http://127.0.0.1:1' } })
  t.equal(other.headers['access-control-allow-origin'], undefined)
  await other.close()
})

t.test('listens on PORT, else 3000', async (t) => {
  t.equal(portFrom({}), 3000)
  t.equal(portFrom({ PORT: '4000' }), 4000)
})

t.test('takes its port from PORT and prints the URL', async (t) => {
  const saved = process.env.PORT
  process.env.PORT = '0'
  t.teardown(() => { if (saved === undefined) delete process.env.PORT; else process.env.PORT = saved })
  const logs = t.capture(console, 'log')
  const demo = await start()
  t.teardown(() => demo.close())
  t.strictSame(logs().map(({ args }) => args), [[`fastify-sse-hub demo: ${demo.url} (cross-origin streams on ${demo.streams.listeningOrigin})`]])
})

t.test('fails to start on a busy port, leaving nothing open', async (t) => {
  const first = await start({ port: 0, logger: false, print: () => {} })
  t.teardown(() => first.close())
  const busy = Number(new URL(first.url).port)
  await t.rejects(start({ port: busy, logger: false, print: () => {} }), { code: 'EADDRINUSE' })
})
