import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SseInput } from '../lib/index.js'
import { injectEventStream, parseEventStream } from '../lib/testing.js'
import { build, until } from './helpers/build.js'

t.test('streams a finite async generator as exact frames, then ends the response', async (t) => {
  const app = await build(t)
  app.get('/finite', (request, reply) => reply.sse(async function * () {
    yield 'plain'
    yield { id: 7, event: 'tick', data: { n: 1 } }
    yield { data: 'two\nlines' }
  }))
  const res = await app.inject('/finite')
  t.equal(res.statusCode, 200)
  t.equal(res.payload, ':\n\ndata: plain\n\nevent: tick\nid: 7\ndata: {"n":1}\n\ndata: two\ndata: lines\n\n')
})

t.test('streams arrays and sync generators', async (t) => {
  const app = await build(t)
  app.get('/array', (request, reply) => reply.sse(['a', { event: 'b', data: '' }]))
  app.get('/sync', (request, reply) => reply.sse((function * () { yield 'x'; yield 'y' })()))
  t.equal((await app.inject('/array')).payload, ':\n\ndata: a\n\nevent: b\ndata: \n\n')
  t.equal((await app.inject('/sync')).payload, ':\n\ndata: x\n\ndata: y\n\n')
})

t.test('sends exactly the SSE headers, no content-length, and keep-alive on HTTP/1.1', async (t) => {
  const app = await build(t)
  app.get('/h', (request, reply) => reply.sse([]))
  const res = await app.inject('/h')
  const { date, ...headers } = res.headers
  t.ok(date)
  t.same(headers, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
    'transfer-encoding': 'chunked'
  })
})

t.test('keeps headers and status set by hooks and the handler', async (t) => {
  const app = await build(t)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-from-hook', 'yes')
    reply.header('cache-control', 'no-store')
  })
  app.get('/h', (request, reply) => {
    reply.code(201).header('content-length', '5')
    return reply.sse(['x'])
  })
  const res = await app.inject('/h')
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-from-hook'], 'yes')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['content-length'], undefined)
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
})

t.test('opens with the retry line when retry is set, per plugin and per call', async (t) => {
  const app = await build(t, { retry: 2500 })
  app.get('/plugin', (request, reply) => reply.sse(['x']))
  app.get('/call', (request, reply) => reply.sse(['x'], { retry: 0 }))
  t.equal((await app.inject('/plugin')).payload, 'retry: 2500\n\ndata: x\n\n')
  t.equal((await app.inject('/call')).payload, 'retry: 0\n\ndata: x\n\n')
})

t.test('works with return reply.sse() in sync and async handlers: no warning, onResponse and request log fire', async (t) => {
  const app = await build(t)
  const responded: string[] = []
  app.addHook('onResponse', async (request) => { responded.push(request.url) })
  app.get('/sync', (request, reply) => reply.sse(['s']))
  app.get('/async', async (request, reply) => {
    await sleep(1)
    return reply.sse(['a'])
  })
  t.equal((await app.inject('/sync')).payload, ':\n\ndata: s\n\n')
  t.equal((await app.inject('/async')).payload, ':\n\ndata: a\n\n')
  await until(() => responded.length === 2, 'onResponse for both routes')
  t.same(responded, ['/sync', '/async'])
  t.same(app.logs.filter((line) => line.level >= 40), [], 'nothing logged at warn or above')
  t.equal(app.logs.filter((line) => line.msg === 'request completed').length, 2)
})

t.test('writes the stream itself: onSend hooks do not run, headers and status set before reply.sse() are sent', async (t) => {
  const app = await build(t)
  const seen: string[] = []
  app.addHook('onRequest', async (request, reply) => { reply.header('x-from-hook', 'on-request') })
  app.addHook('onSend', async (request, reply, payload) => {
    seen.push(request.url)
    reply.header('x-from-on-send', 'yes')
    return 'replaced by onSend'
  })
  app.get('/sse', (request, reply) => reply.code(201).header('x-from-handler', 'h').sse(['x']))
  app.get('/json', async () => ({ ok: true }))
  const res = await app.inject('/sse')
  t.equal(res.statusCode, 201)
  t.equal(res.payload, ':\n\ndata: x\n\n', 'the body is the event stream, not what onSend returned')
  t.equal(res.headers['x-from-hook'], 'on-request')
  t.equal(res.headers['x-from-handler'], 'h')
  t.equal(res.headers['x-from-on-send'], undefined)
  t.same(seen, [], 'onSend did not run for the stream')
  t.equal((await app.inject('/json')).payload, 'replaced by onSend', 'onSend still runs for other replies')
  t.same(seen, ['/json'])
})

t.test('reply.sse() on a reply already streaming or sent is refused with FST_SSE_ALREADY_SENT; the first stream goes on and is released', async (t) => {
  const app = await build(t)
  const errors: unknown[] = []
  app.get('/twice', (request, reply) => {
    reply.sse(app.sseHub.subscribe('twice'))
    try { reply.sse(['second']) } catch (err) { errors.push(err) }
    return reply
  })
  app.get('/hijacked', (request, reply) => {
    reply.hijack()
    try { reply.sse(['x']) } catch (err) { errors.push(err) }
    reply.raw.end('done')
  })
  const stream = await injectEventStream(app, '/twice')
  await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
  const { id } = await app.sseHub.publish('twice', 'one')
  t.same(await stream.take(1), [{ id, data: 'one' }], 'the first stream works; nothing of the second was written')
  await stream.close()
  t.equal(app.sseHub.stats().subscribers, 0, 'the first stream was released when its client left')
  t.equal((await app.inject('/hijacked')).payload, 'done')
  t.match(errors, [
    { code: 'FST_SSE_ALREADY_SENT', message: /\(got "GET \/twice"\)/ },
    { code: 'FST_SSE_ALREADY_SENT', message: /\(got "GET \/hijacked"\)/ }
  ])
})

t.test('gives a source function the signal, the lastEventId and the request', async (t) => {
  const app = await build(t)
  app.get('/fn', (request, reply) => reply.sse(async function * ({ signal, lastEventId, request: req }) {
    yield { data: { aborted: signal.aborted, lastEventId, url: req.url } }
  }))
  const res = await app.inject({ url: '/fn', headers: { 'last-event-id': '41' } })
  t.same(parseEventStream(res.payload), [{ data: '{"aborted":false,"lastEventId":"41","url":"/fn"}' }])
})

t.test('refuses a source that is not an iterable with FST_SSE_INVALID_SOURCE', async (t) => {
  const app = await build(t)
  const sources: Record<string, unknown> = { number: 42, string: 'text', null: null, object: { a: 1 } }
  for (const [name, source] of Object.entries(sources)) {
    app.get(`/${name}`, (request, reply) => reply.sse(source as never))
  }
  app.get('/fn-returns-number', (request, reply) => reply.sse((() => 42) as never))
  for (const name of [...Object.keys(sources), 'fn-returns-number']) {
    const res = await app.inject(`/${name}`)
    t.equal(res.statusCode, 500, name)
    t.equal(res.json().code, 'FST_SSE_INVALID_SOURCE', name)
  }
})

t.test('a source function that throws answers with its error and leaves nothing open', async (t) => {
  const app = await build(t)
  app.get('/throws', (request, reply) => reply.sse(() => { throw Object.assign(new Error('nope'), { statusCode: 418 }) }))
  const res = await app.inject('/throws')
  t.equal(res.statusCode, 418)
  t.equal(res.json().message, 'nope')
  await app.close()
})

t.test('a source that throws mid-stream ends the stream after whole frames and logs the error with the request logger', async (t) => {
  const app = await build(t)
  let finished = false
  app.get('/boom', (request, reply) => reply.sse(async function * () {
    try {
      yield 'one'
      yield 'two'
      throw new Error('source failed')
    } finally {
      finished = true
    }
  }))
  const res = await app.inject('/boom')
  t.equal(res.payload, ':\n\ndata: one\n\ndata: two\n\n')
  t.ok(finished)
  const errors = app.logs.filter((line) => line.level === 50)
  t.equal(errors.length, 1)
  t.equal(errors[0]?.msg, 'fastify-sse-hub: event source failed; stream ended')
  t.equal(errors[0]?.err?.message, 'source failed')
  t.ok(errors[0]?.reqId, 'logged through the request logger')
  t.equal((await app.inject('/boom')).statusCode, 200, 'the next request is served')
})

t.test('a message that cannot be encoded ends the stream, logs the error, and returns the source', async (t) => {
  const cases: Array<[string, SseInput, string]> = [
    ['bad-event', { event: 'a\nb', data: 'x' }, 'FST_SSE_INVALID_FIELD'],
    ['bad-id', { id: 'a\0b', data: 'x' }, 'FST_SSE_INVALID_FIELD'],
    ['bad-data', { data: { big: 1n } }, 'FST_SSE_SERIALIZE'],
    ['bad-message', 42 as unknown as SseInput, 'FST_SSE_INVALID_MESSAGE']
  ]
  for (const [name, bad, code] of cases) {
    t.test(name, async (t) => {
      const app = await build(t)
      let returned = false
      app.get('/bad', (request, reply) => reply.sse(async function * () {
        try {
          yield 'before'
          yield bad
          yield 'never'
        } finally {
          returned = true
        }
      }))
      const res = await app.inject('/bad')
      t.equal(res.payload, ':\n\ndata: before\n\n')
      t.ok(returned, 'the generator was returned')
      t.equal(app.logs.find((line) => line.level === 50)?.err?.code, code)
    })
  }
})

t.test('a serializer that returns no string is an error for that stream only', async (t) => {
  const app = await build(t, { serialize: () => undefined as unknown as string })
  app.get('/s', (request, reply) => reply.sse([{ data: 'string data needs no serializer' }, { data: 1 }]))
  app.get('/ok', (request, reply) => reply.sse([{ data: 1 }], { serialize: (d) => `n=${String(d)}` }))
  t.equal((await app.inject('/s')).payload, ':\n\ndata: string data needs no serializer\n\n')
  t.equal(app.logs.find((line) => line.level === 50)?.err?.code, 'FST_SSE_SERIALIZE')
  t.equal((await app.inject('/ok')).payload, ':\n\ndata: n=1\n\n')
})

t.test('skips messages that encode to nothing', async (t) => {
  const app = await build(t)
  app.get('/empty', (request, reply) => reply.sse([{}, 'x', {}]))
  t.equal((await app.inject('/empty')).payload, ':\n\ndata: x\n\n')
})

t.test('answers HEAD with the headers only and never starts the source', async (t) => {
  const app = await build(t)
  let started = false
  app.get('/head', (request, reply) => reply.sse(() => { started = true; return [] }))
  const res = await app.inject({ method: 'HEAD', url: '/head' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(res.payload, '')
  t.notOk(started)
})

t.test('sends heartbeat comments while the stream is silent, and none while it is busy', async (t) => {
  const app = await build(t, { heartbeatInterval: 20 })
  app.get('/quiet', (request, reply) => reply.sse(async function * ({ signal }) {
    yield 'hello'
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
  }))
  const stream = await injectEventStream(app, '/quiet')
  t.same(await stream.take(1), [{ data: 'hello' }])
  await until(() => stream.comments.length >= 3, 'three heartbeats')
  t.same(stream.comments.slice(0, 3), ['', '', ''])
  await stream.close()
})

t.test('per-call heartbeatInterval 0 turns heartbeats off for that stream', async (t) => {
  const app = await build(t, { heartbeatInterval: 10 })
  app.get('/off', (request, reply) => reply.sse(async function * ({ signal }) {
    yield 'a'
    await sleep(80, undefined, { signal })
    yield 'b'
  }, { heartbeatInterval: 0 }))
  t.equal((await app.inject('/off')).payload, ':\n\ndata: a\n\ndata: b\n\n')
})

t.test('closing the client runs the generator finally, aborts the signal and logs at debug', async (t) => {
  const app = await build(t)
  const seen: { aborted?: boolean, finally?: boolean } = {}
  app.get('/endless', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      for (let i = 0; ; i++) {
        yield { id: i, data: String(i) }
        await sleep(5, undefined, { signal })
      }
    } finally {
      seen.finally = true
      seen.aborted = signal.aborted
    }
  }))
  const stream = await injectEventStream(app, '/endless')
  t.same(await stream.take(2), [{ id: '0', data: '0' }, { id: '1', data: '1' }])
  await stream.close()
  await until(() => seen.finally === true, 'the finally block')
  t.same(seen, { finally: true, aborted: true })
  const closed = app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')
  t.equal(closed?.level, 20)
  t.equal(closed?.reason, 'client')
})

t.test('a generator parked on a yield is returned at once when the client leaves', async (t) => {
  const app = await build(t)
  let finished = false
  app.get('/parked', (request, reply) => reply.sse(function * () {
    try {
      while (true) yield 'x'.repeat(1024)
    } finally {
      finished = true
    }
  }()))
  const stream = await injectEventStream(app, '/parked')
  await stream.take(1)
  await stream.close()
  t.ok(finished, 'finally ran by the time close() resolved')
})

t.test('a source that ignores the signal still has return() called when the client leaves', async (t) => {
  const app = await build(t)
  let returnCalls = 0
  app.get('/custom', (request, reply) => reply.sse({
    [Symbol.asyncIterator] () {
      let sent = false
      return {
        async next () {
          if (sent) return await new Promise<IteratorResult<string>>(() => {})
          sent = true
          return { done: false, value: 'only' }
        },
        async return () {
          returnCalls++
          return { done: true, value: undefined }
        }
      }
    }
  }))
  const stream = await injectEventStream(app, '/custom')
  t.same(await stream.take(1), [{ data: 'only' }])
  await stream.close()
  t.equal(returnCalls, 1)
})

t.test('an error from return() is logged, not thrown', async (t) => {
  const app = await build(t)
  app.get('/async-return', (request, reply) => reply.sse({
    [Symbol.asyncIterator] () {
      return {
        next: async () => await new Promise<IteratorResult<string>>(() => {}),
        return: async () => { throw new Error('async return failed') }
      }
    }
  }))
  app.get('/sync-return', (request, reply) => reply.sse({
    [Symbol.iterator] () {
      return {
        next: () => ({ done: false, value: 'x'.repeat(64 * 1024) }),
        return: () => { throw new Error('sync return failed') }
      }
    }
  }))
  for (const url of ['/async-return', '/sync-return']) {
    const stream = await injectEventStream(app, url)
    await stream.close()
  }
  await until(() => app.logs.filter((line) => line.msg === 'fastify-sse-hub: event source failed while closing').length === 2, 'both errors logged')
  t.same(app.logs.filter((line) => line.msg === 'fastify-sse-hub: event source failed while closing').map((line) => line.err?.message).sort(),
    ['async return failed', 'sync return failed'])
})

t.test('a rejection caused by the abort itself is logged at debug, not as an error', async (t) => {
  const app = await build(t)
  app.get('/abortable', (request, reply) => reply.sse(async function * ({ signal }) {
    yield 'x'
    await sleep(60_000, undefined, { signal })
  }))
  const stream = await injectEventStream(app, '/abortable')
  await stream.take(1)
  await stream.close()
  await until(() => app.logs.some((line) => line.msg === 'fastify-sse-hub: event source ended after the stream closed'), 'the debug line')
  const ours = app.logs.filter((line) => line.msg.startsWith('fastify-sse-hub'))
  t.same(ours.filter((line) => line.level >= 40), [], 'no warning or error from the plugin')
  // (light-my-request aborts the fake request with an AbortError, which Fastify itself logs.)
})
