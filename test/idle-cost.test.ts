// What an idle stream costs: written straight to the response, it holds no stream object and
// no listeners beyond our two, and its retained heap stays close to a raw node:http response.
import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { injectEventStream } from '../lib/testing.js'
import { build, until } from './helpers/build.js'
import { retainedHeap } from './helpers/heap.js'

t.test('an idle stream adds only a drain and a close listener to the response, and nothing is piped into it', async (t) => {
  const app = await build(t)
  const added: Record<string, number>[] = []
  app.get('/idle', (request, reply) => {
    const res = reply.raw
    const before = Object.fromEntries(res.eventNames().map((name) => [String(name), res.listenerCount(name)]))
    res.once('pipe', () => { added.push({ pipe: 1 }) })
    reply.sse(app.sseHub.subscribe('idle'))
    const after: Record<string, number> = {}
    for (const name of res.eventNames()) {
      const delta = res.listenerCount(name) - (before[String(name)] ?? 0)
      if (delta !== 0 && name !== 'pipe') after[String(name)] = delta
    }
    added.push(after)
    return reply
  })
  const stream = await injectEventStream(app, '/idle')
  await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
  const { id } = await app.sseHub.publish('idle', 'one')
  t.same(await stream.take(1), [{ id, data: 'one' }])
  t.same(added, [{ drain: 1, close: 1 }], 'two listeners, and no stream was ever piped into the response')
  await stream.close()
})

/** Opens `count` raw HTTP/1.1 connections to `port` and resolves once each got its first bytes. */
async function openIdle (port: number, path: string, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`) })
    socket.once('data', () => { resolve() })
    socket.once('error', reject)
    sockets.push(socket)
  })))
  return sockets
}

async function closeAll (sockets: net.Socket[], stillOpen: () => number): Promise<void> {
  for (const socket of sockets) socket.destroy()
  await until(() => stillOpen() === 0, 'the server to see every client leave')
}

t.test('an idle hub subscriber retains little more heap than a raw node:http response', async (t) => {
  const COUNT = 500
  // The baseline: node:http, head and one comment written, the response kept in a Set.
  const responses = new Set<http.ServerResponse>()
  const raw = http.createServer((request, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write(':\n\n')
    responses.add(res)
    res.once('close', () => { responses.delete(res) })
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { raw.close() })
  const app = await build(t, { heartbeatInterval: 0 }, { logger: false })
  app.get('/sub', (request, reply) => reply.sse(app.sseHub.subscribe('idle')))
  await app.listen({ port: 0, host: '127.0.0.1' })

  // Warm both paths once, so neither measurement includes code loaded by a first request.
  await closeAll(await openIdle((raw.address() as AddressInfo).port, '/', 5), () => responses.size)
  await closeAll(await openIdle((app.server.address() as AddressInfo).port, '/sub', 5), () => app.sseHub.stats().subscribers)

  // Both measurements include this process's client sockets, which the difference cancels.
  let before = await retainedHeap()
  const rawSockets = await openIdle((raw.address() as AddressInfo).port, '/', COUNT)
  const rawPerConnection = (await retainedHeap() - before) / COUNT
  await closeAll(rawSockets, () => responses.size)

  before = await retainedHeap()
  const ourSockets = await openIdle((app.server.address() as AddressInfo).port, '/sub', COUNT)
  await until(() => app.sseHub.stats().subscribers === COUNT, 'every subscriber')
  const ourPerConnection = (await retainedHeap() - before) / COUNT
  await closeAll(ourSockets, () => app.sseHub.stats().subscribers)

  const extra = ourPerConnection - rawPerConnection
  t.comment(`retained heap per idle connection (server and client side): raw ${(rawPerConnection / 1024).toFixed(2)} KiB, ours ${(ourPerConnection / 1024).toFixed(2)} KiB`)
  // A stream piped into each response (Readable, pipe and end-of-stream listeners) cost ~7 KiB more.
  t.ok(extra < 3 * 1024, `an idle subscriber costs ${(extra / 1024).toFixed(2)} KiB more than a raw response (< 3 KiB)`)
})
