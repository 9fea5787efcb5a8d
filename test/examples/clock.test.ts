import t from 'tap'
import { build } from '../../examples/clock.js'
import { injectEventStream } from '../../lib/testing.js'

t.test('serves its page', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/html; charset=utf-8')
  t.match(response.body, /<title>Clock · fastify-sse-hub<\/title>/)
  t.match(response.body, /<base href="\/">/)
})

t.test('ticks once per interval with a rising id and the server time', async (t) => {
  const app = await build({ interval: 5, now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, '/events')
  t.equal(stream.statusCode, 200)
  const data = JSON.stringify({ time: '2026-01-02T03:04:05.000Z' })
  t.strictSame(await stream.take(3), [
    { id: '1', event: 'tick', data },
    { id: '2', event: 'tick', data },
    { id: '3', event: 'tick', data }
  ])
  t.equal(stream.retry, 1000, 'the examples ask for a 1 s reconnection delay')
  await stream.close()
})

t.test('reads the real clock by default', async (t) => {
  const app = await build({ interval: 60_000 })
  t.teardown(() => app.close())
  const before = Date.now()
  const stream = await injectEventStream(app, '/events')
  const [tick] = await stream.take(1)
  const { time } = JSON.parse(tick?.data as string) as { time: string }
  t.ok(Date.parse(time) >= before && Date.parse(time) <= Date.now(), `${time} is now`)
  await stream.close()
})
