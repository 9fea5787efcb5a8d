// SseConnection over real sockets, where a client that stops reading is the subject:
// shutdown's grace period, and heartbeats held back while data is queued.
import t from 'tap'
import net from 'node:net'
import http2 from 'node:http2'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyServerOptions } from 'fastify'
import { kConnection } from '../lib/connection.js'
import type { SseConnection } from '../lib/connection.js'
import { injectEventStream } from '../lib/testing.js'
import { build, until } from './helpers/build.js'
import { openSse } from './helpers/sse-client.js'

const FRAME = 64 * 1024
const PAYLOAD = 'x'.repeat(FRAME - 8) // 'data: ' + payload + '\n\n' is one 64 KiB frame

type App = Awaited<ReturnType<typeof build>>

/** A route that yields 64 KiB frames for as long as it is pulled; `state` tells what the server side did. */
function bigRoute (app: App) {
  const state = { pulls: 0, finished: false, raw: undefined as ServerResponse | undefined }
  app.get('/big', (request, reply) => {
    state.raw = reply.raw as ServerResponse
    return reply.sse(function * () {
      try {
        while (true) {
          state.pulls++
          yield PAYLOAD
        }
      } finally {
        state.finished = true
      }
    }())
  })
  return state
}

/**
 * A hub route whose subscription the test ends (its signal) right after publishing one big
 * event: the stream then ends with the event still waiting for a client that does not read.
 */
function finiteRoute (app: App) {
  const controller = new AbortController()
  let raw: { writableEnded: boolean, writableFinished: boolean } | undefined
  app.get('/finite', (request, reply) => {
    raw = reply.raw
    return reply.sse(app.sseHub.subscribe('finite', { signal: controller.signal }))
  })
  return {
    async endUnflushed (bytes: number) {
      await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
      await app.sseHub.publish('finite', 'z'.repeat(bytes))
      controller.abort()
      await until(() => raw?.writableEnded === true, 'the stream to end')
      if (raw?.writableFinished !== false) throw new Error('the response flushed: the client was meant to stall')
    }
  }
}

/** A raw HTTP/1.1 client that reads the headers, then stops reading. */
async function stalledClient (app: App, path: string): Promise<{ socket: net.Socket, received: () => string }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const socket = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1')
  socket.on('error', () => {}) // the server cutting us off is the point
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n`)
  let received = ''
  socket.setEncoding('latin1')
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.includes('\r\n\r\n')) resolve()
    })
  })
  socket.pause()
  return { socket, received: () => received }
}

t.test('shutdown cuts a stream that cannot flush (its client stopped reading) after the grace period', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 })
  const state = bigRoute(app)
  const { socket, received } = await stalledClient(app, '/big')
  await until(() => state.raw?.writableNeedDrain === true, 'the socket to push back')
  const socketClosed = new Promise((resolve) => socket.once('close', resolve))

  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved although the stream could not end')
  t.comment(`app.close() with a stalled client took ${(performance.now() - start).toFixed(1)} ms (grace period 500 ms)`)
  t.ok(state.finished, 'the source was returned')
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')?.reason, 'shutdown')

  socket.resume()
  await socketClosed
  const body = received().slice(received().indexOf('\r\n\r\n') + 4)
  t.match(body, /^[0-9a-f]+\r\n:\n\n/, 'the client got the start of the stream')
  t.not(body.slice(-5), '0\r\n\r\n', 'the response was cut: no terminating chunk')
})

t.test('HTTP/2: shutdown also ends a response whose source has finished but which its client has not read', async (t) => {
  // HTTP/2 flow control makes the stall exact: a client that does not read gets no more than
  // the 64 KiB window, whatever the kernel's socket buffers could hold.
  const app = await build(t, { heartbeatInterval: 0 }, { http2: true } as unknown as FastifyServerOptions)
  const finite = finiteRoute(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  session.on('error', () => {})
  t.teardown(() => { session.destroy() })
  const request = session.request({ ':path': '/finite', accept: 'text/event-stream' })
  request.on('error', () => {})
  request.pause()
  const sessionClosed = new Promise((resolve) => session.once('close', resolve))
  await finite.endUnflushed(512 * 1024)

  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved')
  t.comment(`app.close() with a finished but unflushed HTTP/2 response took ${(performance.now() - start).toFixed(1)} ms`)
  await sessionClosed
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')?.reason, 'end', 'its source had ended')
})

t.test('HTTP/1.1: shutdown also ends a response whose source has finished but which its client has not read', async (t) => {
  const app = await build(t, { heartbeatInterval: 0, maxBufferedBytes: 64 * 1024 * 1024 })
  const finite = finiteRoute(app)
  const { socket, received } = await stalledClient(app, '/finite')
  await finite.endUnflushed(32 * 1024 * 1024) // more than the kernel buffers hold
  const socketClosed = new Promise((resolve) => socket.once('close', resolve))

  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved')
  t.comment(`app.close() with a finished but unflushed HTTP/1.1 response took ${(performance.now() - start).toFixed(1)} ms`)
  socket.resume()
  await socketClosed
  t.not(received().slice(-5), '0\r\n\r\n', 'the response was cut: no terminating chunk')
})

t.test('HTTP/2: shutdown cuts a stream that cannot flush after the grace period, and its session with it', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 }, { http2: true } as unknown as FastifyServerOptions)
  const state = bigRoute(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  session.on('error', () => {})
  t.teardown(() => { session.destroy() })
  const request = session.request({ ':path': '/big', accept: 'text/event-stream' })
  request.on('error', () => {})
  await new Promise((resolve) => request.once('response', resolve))
  request.pause() // HTTP/2 flow control: a stream nobody reads gets no more window
  const streamClosed = new Promise((resolve) => request.once('close', resolve))
  const sessionClosed = new Promise((resolve) => session.once('close', resolve))
  await until(() => state.pulls >= 1 && (state.raw?.writableLength ?? 0) > 0, 'the stream to push back')
  t.ok(state.pulls < 1024, `the generator is paused (${state.pulls} pulls)`)

  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved although the stream could not end')
  t.comment(`app.close() with a stalled HTTP/2 client took ${(performance.now() - start).toFixed(1)} ms (grace period 500 ms)`)
  t.ok(state.finished, 'the source was returned')
  await Promise.all([streamClosed, sessionClosed]) // the server let the whole session go
})

t.test('HTTP/2: a hub event published while shutdown waits on a slow client is dropped, not pushed after the end', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 }, { http2: true } as unknown as FastifyServerOptions)
  let connection: SseConnection | undefined
  app.get('/room', (request, reply) => {
    reply.sse(app.sseHub.subscribe('room'))
    connection = (reply.raw as { [kConnection]?: SseConnection })[kConnection]
    return reply
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  session.on('error', () => {})
  t.teardown(() => { session.destroy() })
  const request = session.request({ ':path': '/room', accept: 'text/event-stream' })
  request.on('error', () => {})
  await new Promise((resolve) => request.once('response', resolve))
  request.pause()
  await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
  // More than the flow-control window and the response's buffer: the rest waits in the stream.
  await app.sseHub.publish('room', { data: 'w'.repeat(200_000) })
  await app.sseHub.publish('room', { data: 'v'.repeat(200_000) })
  await until(() => (connection?.bufferedBytes ?? 0) > 0, 'frames waiting for the client')

  const start = performance.now()
  const closing = app.close()
  await until(() => connection?.stopped === true, 'shutdown to begin')
  // The stream has been told to end and is flushing to a client that does not read; its hub
  // subscription is still live, and this event reaches it.
  await app.sseHub.publish('room', { data: 'during shutdown' })
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved')
  t.comment(`app.close() took ${(performance.now() - start).toFixed(1)} ms`)
  t.same(app.logs.filter((line) => line.level >= 40).map((line) => line.msg), [], 'no "push after EOF" error')
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')?.reason, 'shutdown')
})

t.test('no heartbeat is queued behind data the client has not read yet', async (t) => {
  const app = await build(t, { heartbeatInterval: 20 })
  const state = bigRoute(app)
  app.get('/idle', (request, reply) => reply.sse(async function * ({ signal }) {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
  }))
  const { socket, received } = await stalledClient(app, '/big')
  await until(() => state.raw?.writableNeedDrain === true, 'the socket to push back')
  const pullsWhenFull = state.pulls

  // The idle stream shares the stalled one's heartbeat timer: once it has had three
  // heartbeats, the stalled stream has been silent for three whole intervals too.
  const idle = await openSse(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/idle`)
  t.teardown(() => idle.destroy())
  let idleBody = ''
  idle.response.on('data', (chunk: string) => { idleBody += chunk })
  await until(() => idleBody.split(':\n\n').length - 1 >= 3, 'three heartbeats on the idle stream')
  t.equal(state.pulls, pullsWhenFull, 'the stalled source was not pulled meanwhile')

  // Read on until the source has been pulled for more. A heartbeat queued while the client was
  // stalled would sit behind the queued frames, before the ones produced after: check both.
  socket.resume()
  const checked = pullsWhenFull + 4
  await until(() => state.pulls >= checked, 'the source to be pulled again')
  await until(() => decodeChunked(received()).split('\n\n').length > checked + 1, `the first ${checked} frames`)
  const frames = decodeChunked(received()).split('\n\n').slice(0, checked + 1)
  t.equal(frames[0], ':', 'the opening comment')
  t.ok(frames.slice(1).every((frame) => frame === `data: ${PAYLOAD}`), `then ${checked} data frames, no heartbeat`)
  socket.destroy()
})

/** The body of an HTTP/1.1 chunked response received so far (complete chunks only). */
function decodeChunked (raw: string): string {
  let at = raw.indexOf('\r\n\r\n') + 4
  let body = ''
  while (true) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd === -1) return body
    const size = parseInt(raw.slice(at, lineEnd), 16)
    if (size === 0 || raw.length < lineEnd + 2 + size + 2) return body
    body += raw.slice(lineEnd + 2, lineEnd + 2 + size)
    at = lineEnd + 2 + size + 2
  }
}

t.test('once a stream is ending, send() drops frames instead of writing after the end', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 })
  let connection: SseConnection | undefined
  app.get('/room', (request, reply) => {
    reply.sse(app.sseHub.subscribe('room'))
    connection = (reply.raw as { [kConnection]?: SseConnection })[kConnection]
    return reply
  })
  const stream = await injectEventStream(app, '/room')
  await until(() => connection !== undefined && app.sseHub.stats().subscribers === 1, 'the stream')
  const ending = connection as SseConnection
  ending.finish()
  t.equal(ending.send('data: pushed after the end\n\n'), false)
  t.equal(ending.send(Buffer.from('data: written after the end\n\n')), false)
  t.same(await stream.rest(), [], 'nothing after the end reached the client')
  t.same(app.logs.filter((line) => line.level >= 40), [], 'no push-after-EOF error')
})
