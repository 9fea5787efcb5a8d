// fastify-sse-hub/testing, the helper users test their SSE routes with. As they would write it:
//
//   import t from 'tap'
//   import Fastify from 'fastify'
//   import fastifySse from 'fastify-sse-hub'
//   import { injectEventStream } from 'fastify-sse-hub/testing'
//
//   t.test('the clock ticks', async (t) => {
//     const app = Fastify()
//     await app.register(fastifySse)
//     app.get('/clock', (request, reply) => reply.sse(async function * ({ signal }) {
//       for (let n = 0; !signal.aborted; n++) {
//         yield { id: String(n), event: 'tick', data: { n } }
//         await sleep(1000, undefined, { signal })
//       }
//     }))
//     t.teardown(() => app.close())
//
//     const stream = await injectEventStream(app, '/clock')   // or { url, headers, query }
//     t.equal(stream.statusCode, 200)
//     t.same(await stream.take(2), [
//       { id: '0', event: 'tick', data: '{"n":0}' },
//       { id: '1', event: 'tick', data: '{"n":1}' }
//     ])
//     await stream.close()   // the route's generator runs its finally before this resolves
//   })
//
// A finite route: `await stream.rest()` gives every remaining event once the server ends it.
import t from 'tap'
import { injectEventStream, parseEventStream } from '../lib/testing.js'
import { build, until } from './helpers/build.js'

/** A promise the test resolves by hand. */
function gate (): { opened: Promise<void>, open: () => void } {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { opened, open }
}

t.test('take() reads an endless stream event by event; statusCode, headers, comments and retry are exposed', async (t) => {
  const app = await build(t, { retry: 1500, heartbeatInterval: 0 })
  app.get('/endless', (request, reply) => reply.code(202).header('x-trace', 'abc').sse(async function * ({ signal }) {
    yield { comment: 'hello there' }
    for (let n = 0; !signal.aborted; n++) {
      yield { id: String(n), event: n % 2 === 0 ? 'even' : undefined, data: { n } }
      await new Promise((resolve) => setImmediate(resolve))
    }
  }))
  const stream = await injectEventStream(app, '/endless')
  t.equal(stream.statusCode, 202)
  const { date, ...headers } = stream.headers
  t.ok(date)
  t.same(headers, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    'x-trace': 'abc',
    connection: 'keep-alive',
    'transfer-encoding': 'chunked'
  })
  t.same(await stream.take(2), [{ id: '0', event: 'even', data: '{"n":0}' }, { id: '1', data: '{"n":1}' }])
  t.same(await stream.take(1), [{ id: '2', event: 'even', data: '{"n":2}' }], 'take() goes on where the last one stopped')
  t.equal(stream.retry, 1500)
  t.same(stream.comments, ['hello there'], 'comment lines; the retry line opened this stream')
  await stream.close()
})

t.test('comments records the opening comment and heartbeats as empty strings', async (t) => {
  const app = await build(t, { heartbeatInterval: 8 })
  app.get('/quiet', (request, reply) => reply.sse(async function * ({ signal }) {
    yield 'only'
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  }))
  const stream = await injectEventStream(app, { url: '/quiet', headers: { 'x-any': '1' } })
  t.same(await stream.take(1), [{ data: 'only' }])
  t.equal(stream.retry, undefined, 'no retry line without the retry option')
  // A heartbeat is an event-less comment: wait for two (the opening comment is the first entry).
  await until(() => stream.comments.length >= 3, 'two heartbeats')
  t.same(stream.comments.slice(0, 3), ['', '', ''])
  await stream.close()
})

t.test('take() rejects with a clear message when the events do not come in time, and the stream stays usable', async (t) => {
  const app = await build(t)
  const more = gate()
  app.get('/slow', (request, reply) => reply.sse(async function * () {
    yield 'first'
    await more.opened
    yield 'second'
    yield 'third'
  }))
  const stream = await injectEventStream(app, '/slow')
  await t.rejects(stream.take(2, { timeout: 30 }), {
    message: 'injectEventStream: timed out after 30 ms waiting for 2 events (have 1)'
  })
  more.open()
  t.same(await stream.take(3), [{ data: 'first' }, { data: 'second' }, { data: 'third' }], 'nothing was lost to the timeout')
  t.same(await stream.rest(), [])
})

t.test('take() rejects when the stream ends before enough events arrive', async (t) => {
  const app = await build(t)
  app.get('/short', (request, reply) => reply.sse([{ id: 'a', data: '1' }]))
  const stream = await injectEventStream(app, '/short')
  await t.rejects(stream.take(2), {
    message: 'injectEventStream: the stream ended before 2 events (have 1)'
  })
  t.same(await stream.rest(), [{ id: 'a', data: '1' }], 'the events that did arrive are still there')
})

t.test('take() and rest() report a response the server destroyed; rest() keeps what arrived when it was only cut', async (t) => {
  const app = await build(t)
  app.get('/cut', (request, reply) => reply.sse(async function * () {
    yield 'before the cut'
    await new Promise((resolve) => setImmediate(resolve))
    reply.raw.destroy()
  }))
  app.get('/failed', (request, reply) => reply.sse(async function * () {
    yield 'before the failure'
    await new Promise((resolve) => setImmediate(resolve))
    reply.raw.destroy(new Error('socket failed'))
  }))
  await t.rejects((await injectEventStream(app, '/cut')).take(2), { message: 'response destroyed before completion' })
  t.same(await (await injectEventStream(app, '/cut')).rest(), [{ data: 'before the cut' }], 'a cut is an end for rest()')
  await t.rejects((await injectEventStream(app, '/failed')).take(2), { message: 'socket failed' })
  await t.rejects((await injectEventStream(app, '/failed')).rest(), { message: 'socket failed' })
})

t.test('concurrent take() calls each get their own events, in call order', async (t) => {
  const app = await build(t)
  const go = gate()
  app.get('/pair', (request, reply) => reply.sse(async function * () {
    await go.opened
    yield 'one'
    yield 'two'
  }))
  const stream = await injectEventStream(app, '/pair')
  const first = stream.take(1)
  const second = stream.take(1)
  go.open()
  t.same(await Promise.all([first, second]), [[{ data: 'one' }], [{ data: 'two' }]])
})

t.test('rest() returns the remaining events of a finite stream once it ends', async (t) => {
  const app = await build(t)
  app.get('/finite', (request, reply) => reply.sse(async function * () {
    for (let n = 1; n <= 5; n++) yield { id: String(n), data: `line ${n}\nof ${n}` }
  }))
  const stream = await injectEventStream(app, '/finite')
  t.same(await stream.take(2), [{ id: '1', data: 'line 1\nof 1' }, { id: '2', data: 'line 2\nof 2' }])
  t.same(await stream.rest(), [
    { id: '3', data: 'line 3\nof 3' },
    { id: '4', data: 'line 4\nof 4' },
    { id: '5', data: 'line 5\nof 5' }
  ])
})

t.test('rest() rejects with a clear message when an endless stream does not end in time', async (t) => {
  const app = await build(t)
  let finished = false
  app.get('/endless', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      yield 'x'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    } finally {
      finished = true
    }
  }))
  const stream = await injectEventStream(app, '/endless')
  await t.rejects(stream.rest({ timeout: 30 }), {
    message: 'injectEventStream: timed out after 30 ms waiting for the end of the stream (have 1)'
  })
  t.notOk(finished, 'the stream is still open')
  t.same(await stream.take(1), [{ data: 'x' }])
  await stream.close()
  t.ok(finished)
})

t.test('close() disconnects like a departing client: the signal aborts with reason "client" before it resolves', async (t) => {
  const app = await build(t)
  const seen: string[] = []
  app.get('/parked', (request, reply) => reply.sse(async function * ({ signal }) {
    signal.addEventListener('abort', () => { seen.push(`abort: ${String(signal.reason)}`) })
    try {
      yield 'ready'
      await new Promise(() => {}) // parked for good: only return() and the signal reach it
    } finally {
      seen.push('finally')
    }
  }))
  const stream = await injectEventStream(app, '/parked')
  t.same(await stream.take(1), [{ data: 'ready' }])
  t.same(seen, [])
  await stream.close()
  // A generator parked on an await that ignores the signal cannot be returned until the await
  // settles, so its finally has not run: sources should listen to the signal (next test).
  t.same(seen, ['abort: client'])
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')?.reason, 'client')
})

t.test('close() makes the server side run the source finally before it resolves', async (t) => {
  const app = await build(t)
  let finished = false
  app.get('/listening', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      yield 'ready'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      yield 'never read'
    } finally {
      finished = true
    }
  }))
  const stream = await injectEventStream(app, '/listening')
  await stream.take(1)
  await stream.close()
  t.ok(finished)
})

t.test('parseEventStream parses a complete body the way a browser would', async (t) => {
  t.same(parseEventStream(''), [])
  t.same(parseEventStream(':\n\n'), [], 'a comment is no event')
  t.same(parseEventStream(
    'retry: 10\n\n' +
    ': heartbeat\n\n' +
    'id: 1\nevent: greet\ndata: hello\ndata: world\n\n' +
    'data: no id, no name\n\n' +
    'id\ndata: bare id field resets\n\n' +
    'data: a\r\ndata: b\r\n\r\n' +
    'data: unfinished, so not an event\n'
  ), [
    { id: '1', event: 'greet', data: 'hello\nworld' },
    { data: 'no id, no name' },
    { id: '', data: 'bare id field resets' },
    { data: 'a\nb' }
  ])
})
