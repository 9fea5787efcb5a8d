// Real sockets, where the socket is the subject: disconnects, backpressure, shutdown.
import t from 'tap'
import net from 'node:net'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { build, until } from './helpers/build.js'
import { openSse } from './helpers/sse-client.js'

async function listen (app: Awaited<ReturnType<typeof build>>): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

t.test('200 clients leave a generator parked on an await: every finally runs and every signal aborts', async (t) => {
  const app = await build(t)
  let started = 0
  let finished = 0
  let aborted = 0
  app.get('/parked', (request, reply) => reply.sse(async function * ({ signal }) {
    started++
    try {
      yield 'ready'
      // Parked on an await that only the abort settles.
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      yield 'never sent'
    } finally {
      finished++
      if (signal.aborted) aborted++
    }
  }))
  const base = await listen(app)
  const clients = await Promise.all(Array.from({ length: 200 }, () => openSse(`${base}/parked`)))
  await Promise.all(clients.map((client) => client.waitFor(1)))
  t.equal(started, 200)
  t.equal(finished, 0)
  const leftAt = performance.now()
  for (const client of clients) client.destroy()
  await until(() => finished === 200, 'all 200 finally blocks', 5_000)
  const elapsed = performance.now() - leftAt
  t.equal(aborted, 200, 'every signal was aborted')
  t.comment(`all 200 finally blocks ran ${elapsed.toFixed(1)} ms after the clients left`)
  t.same(clients.map((client) => client.events), Array.from({ length: 200 }, () => [{ data: 'ready' }]))
})

t.test('a reader that stops reading stops the pulls; server buffers stay bounded; reading again finishes the stream', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 })
  const FRAME = 64 * 1024
  const COUNT = 256 // 16 MiB: more than the kernel's socket buffers hold
  const payload = 'x'.repeat(FRAME - 8) // 'data: ' + '\n\n'
  let pulls = 0
  let raw: http.ServerResponse | undefined
  app.get('/big', (request, reply) => {
    raw = reply.raw
    return reply.sse(function * () {
      for (let i = 0; i < COUNT; i++) {
        pulls++
        yield payload
      }
    }())
  })
  const { port } = (await listen(app), app.server.address() as AddressInfo)
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET /big HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n')
  let received = ''
  socket.setEncoding('latin1')
  const gotHeaders = new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.includes('\r\n\r\n')) resolve()
    })
  })
  await gotHeaders
  socket.pause()
  const buffered = (): number => raw?.writableLength ?? 0
  await until(() => buffered() > 0 && raw?.writableNeedDrain === true, 'the socket to push back', 10_000)
  const pullsWhenFull = pulls
  // Give a misbehaving pump every chance to keep pulling: 20 turns of the event loop with timers.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(pulls, pullsWhenFull, 'no pull while the socket is full')
  t.ok(pulls < COUNT, `the generator is paused (${pulls} of ${COUNT} pulled)`)
  const bound = (raw?.writableHighWaterMark ?? 0) + FRAME
  t.ok(buffered() <= bound, `server-side buffered bytes ${buffered()} <= ${bound} (the socket's high-water mark and one frame)`)
  socket.resume()
  await new Promise((resolve) => socket.once('end', resolve))
  const body = received.slice(received.indexOf('\r\n\r\n') + 4)
  const frames = body.split('\r\n').filter((line, i) => i % 2 === 1).join('').split('\n\n').filter((frame) => frame !== '')
  t.equal(pulls, COUNT)
  t.equal(frames.length, COUNT + 1, 'the opening comment and every frame')
  t.ok(frames.slice(1).every((frame) => frame === `data: ${payload}`), 'every frame whole')
})

t.test('app.close() ends 100 open streams over keep-alive sockets promptly', async (t) => {
  const app = await build(t, {}, { keepAliveTimeout: 60_000 })
  let finished = 0
  app.get('/live', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      yield 'open'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    } finally {
      finished++
    }
  }))
  const base = await listen(app)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 })
  t.teardown(() => agent.destroy())
  const clients = await Promise.all(Array.from({ length: 100 }, () => openSse(`${base}/live`, { agent })))
  await Promise.all(clients.map((client) => client.waitFor(1)))
  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 5_000, 'hang')).finally(() => {})
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved')
  const elapsed = performance.now() - start
  t.comment(`app.close() with 100 open streams took ${elapsed.toFixed(1)} ms`)
  t.equal(finished, 100, 'every source was ended')
  await Promise.all(clients.map((client) => client.end()))
  t.ok(clients.every((client) => client.ended))
})

t.test('a stream ended by the server over HTTP/1.0 closes the connection', async (t) => {
  const app = await build(t)
  app.get('/old', (request, reply) => reply.sse(['x']))
  const { port } = (await listen(app), app.server.address() as AddressInfo)
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET /old HTTP/1.0\r\n\r\n')
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { received += chunk })
  await new Promise((resolve) => socket.once('end', resolve))
  t.match(received, /^HTTP\/1\.1 200 OK\r\n/)
  t.notMatch(received, /connection: keep-alive/i, 'no keep-alive header for an HTTP/1.0 client')
  t.equal(received.slice(received.indexOf('\r\n\r\n') + 4), ':\n\ndata: x\n\n')
})

t.test('honours a client that asks for Connection: close', async (t) => {
  const app = await build(t, {}, { keepAliveTimeout: 60_000 })
  app.get('/once', (request, reply) => reply.sse(['x']))
  const { port } = (await listen(app), app.server.address() as AddressInfo)
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET /once HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { received += chunk })
  // The server closes the socket after the stream, instead of keeping it for 60 s.
  await new Promise((resolve) => socket.once('end', resolve))
  t.match(received, /\r\nconnection: close\r\n/i)
  t.notMatch(received, /connection: keep-alive/i)
})
