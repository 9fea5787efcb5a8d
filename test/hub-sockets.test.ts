// The hub over real sockets, with the real WHATWG client: resume, races, slow consumers.
import t from 'tap'
import net from 'node:net'
import type { Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { EventSource } from 'eventsource'
import { MemoryReplayStore } from '../lib/index.js'
import type { FastifySseHubOptions } from '../lib/index.js'
import { retainedHeap } from './helpers/heap.js'
import { build, until } from './helpers/build.js'
import type { Teardown } from './helpers/build.js'
import { openSse } from './helpers/sse-client.js'
import { parseEventStream } from '../lib/testing.js'

interface Received { id: string, data: string }

async function roomServer (t: Teardown, options: FastifySseHubOptions = {}) {
  const app = await build(t, { retry: 5, heartbeatInterval: 0, ...options })
  const sockets = new Set<Socket>()
  app.get('/room', (request, reply) => {
    const socket = request.raw.socket
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    return reply.sse(app.sseHub.subscribe('room', { lastEventId: request.lastEventId }))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/room`
  /** Cuts every open stream the way a flaky network does. */
  const drop = (): void => { for (const socket of sockets) socket.destroy() }
  return { app, url, drop, sockets }
}

function listen (t: Teardown, url: string) {
  const source = new EventSource(url)
  t.teardown(() => source.close())
  const received: Received[] = []
  let opens = 0
  source.onopen = () => { opens++ }
  source.onmessage = (event) => { received.push({ id: event.lastEventId, data: event.data as string }) }
  return { source, received, opens: () => opens }
}

t.test('eventsource: 3 events, a dropped connection, 5 published while away, then exactly those 5 and live ones', async (t) => {
  const { app, url, drop } = await roomServer(t)
  const client = listen(t, url)
  await until(() => client.opens() === 1 && app.sseHub.stats().subscribers === 1, 'the first connection')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await app.sseHub.publish('room', `before ${i}`)).id)
  await until(() => client.received.length === 3, 'three events')
  drop()
  // Published while the client is away (it cannot reconnect before these run: no I/O in between).
  for (let i = 0; i < 5; i++) ids.push((await app.sseHub.publish('room', `away ${i}`)).id)
  await until(() => client.received.length === 8, 'the missed events after the reconnect')
  t.equal(client.opens(), 2, 'the browser-style client reconnected by itself')
  ids.push((await app.sseHub.publish('room', 'live')).id)
  await until(() => client.received.length === 9, 'the live event')
  t.same(client.received, [
    ...[0, 1, 2].map((i) => ({ id: ids[i], data: `before ${i}` })),
    ...[0, 1, 2, 3, 4].map((i) => ({ id: ids[i + 3], data: `away ${i}` })),
    { id: ids[8], data: 'live' }
  ])
})

t.test('eventsource: publishing continuously through 100 reconnects delivers every id exactly once, in order', async (t) => {
  const { app, url, drop } = await roomServer(t)
  const client = listen(t, url)
  await until(() => client.opens() === 1 && app.sseHub.stats().subscribers === 1, 'the first connection')
  const published: string[] = []
  const state = { publishing: true }
  const publisher = (async () => {
    for (let i = 0; state.publishing; i++) {
      published.push((await app.sseHub.publish('room', `n${i}`)).id)
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  for (let reconnects = 0; reconnects < 100; reconnects++) {
    const seen = client.received.length
    await until(() => client.received.length >= seen + 2 && client.opens() === reconnects + 1, `events on connection ${reconnects + 1}`, 10_000)
    drop()
  }
  await until(() => client.opens() === 101, 'the last reconnect', 10_000)
  state.publishing = false
  await publisher
  await until(() => client.received.length >= published.length, `all ${published.length} events`, 10_000)
  t.equal(client.opens(), 101)
  t.same(client.received.map((event) => event.id), published, `${published.length} ids, each once, in publish order`)
  t.comment(`${published.length} events published across 100 reconnects`)
})

t.test('a subscriber that stops reading is dropped and counted; the others get every event; buffers stay bounded', async (t) => {
  const maxBufferedBytes = 1 << 20
  const { app, url } = await roomServer(t, { maxBufferedBytes, replayStore: new MemoryReplayStore({ maxEvents: 16 }) })
  const { port } = new URL(url)
  // The stalled client: a raw socket that reads the headers and then never reads again.
  const stalled = net.connect(Number(port), '127.0.0.1')
  stalled.write('GET /room HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await new Promise((resolve) => stalled.once('data', resolve))
  stalled.pause()
  const reader = await openSse(url)
  await until(() => app.sseHub.stats().subscribers === 2, 'both subscribers')
  const EVENT = 10 * 1024
  const COUNT = 5_000 // 50 MB
  const payload = 'x'.repeat(EVENT)
  const rssBefore = process.memoryUsage().rss
  const heapBefore = await retainedHeap()
  let peakBuffered = 0
  let dropsSeenAt = -1
  const ids: string[] = []
  // The reader checks each event as it comes and lets it go, so RSS measures the server side.
  let verified = 0
  let intact = true
  const check = (): boolean => {
    for (const event of reader.events.splice(0)) {
      intact &&= event.id === ids[verified] && event.data === payload
      verified++
    }
    return verified === COUNT
  }
  const publishStart = performance.now()
  for (let i = 0; i < COUNT; i++) {
    ids.push((await app.sseHub.publish('room', payload)).id)
    const { bufferedBytes, droppedClients } = app.sseHub.stats()
    peakBuffered = Math.max(peakBuffered, bufferedBytes)
    if (droppedClients === 1 && dropsSeenAt === -1) dropsSeenAt = i
    await new Promise((resolve) => setImmediate(resolve)) // a publisher that lives on I/O, as servers do
    check()
  }
  const publishMs = performance.now() - publishStart
  await until(check, 'every event at the reader', 10_000)
  const rssGrowth = process.memoryUsage().rss - rssBefore
  const heapGrowth = await retainedHeap() - heapBefore
  t.equal(app.sseHub.stats().droppedClients, 1, 'the stalled client was dropped and counted')
  t.ok(dropsSeenAt >= 0, `dropped after ${dropsSeenAt} events`)
  t.equal(app.sseHub.stats().subscribers, 1, 'the reader is still subscribed')
  t.ok(intact, 'the reader got every event, whole and in order')
  const bound = maxBufferedBytes + 2 * EVENT + 64 * 1024
  t.ok(peakBuffered <= bound, `peak buffered bytes ${peakBuffered} <= ${bound} (maxBufferedBytes + two events + socket high-water marks)`)
  // What the server keeps, after garbage collection: the reader shares this process, so RSS
  // (reported below) also counts its garbage; bench/ measures RSS with the server on its own.
  t.comment(`published 50 MB in ${publishMs.toFixed(0)} ms; retained heap grew ${(heapGrowth / 1048576).toFixed(2)} MiB, RSS ${(rssGrowth / 1048576).toFixed(1)} MiB`)
  t.ok(heapGrowth < maxBufferedBytes + 4 * 1048576, `retained heap growth ${(heapGrowth / 1048576).toFixed(2)} MiB < maxBufferedBytes + 4 MiB`)
  stalled.destroy()
  reader.destroy()
})

/** The body of a chunked response, as far as it got (a cut connection may end mid-chunk). */
function dechunk (raw: Buffer): string {
  let at = raw.indexOf('\r\n\r\n') + 4
  let body = ''
  while (at < raw.length) {
    const eol = raw.indexOf('\r\n', at)
    if (eol === -1) break
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16)
    if (!(size > 0)) break
    body += raw.subarray(eol + 2, Math.min(eol + 2 + size, raw.length)).toString('utf8')
    at = eol + 2 + size + 2
  }
  return body
}

t.test('a client dropped for being slow resumes from its last complete event and misses nothing', async (t) => {
  const { app, url } = await roomServer(t, { maxBufferedBytes: 64 * 1024, replayStore: new MemoryReplayStore({ maxEvents: 5_000 }) })
  const { port } = new URL(url)
  const slow = net.connect(Number(port), '127.0.0.1')
  slow.write('GET /room HTTP/1.1\r\nHost: localhost\r\n\r\n')
  const received: Buffer[] = []
  slow.on('data', (chunk: Buffer) => { received.push(chunk) })
  await new Promise((resolve) => slow.once('data', resolve))
  slow.pause() // stops reading: the kernel buffers fill, then the server's queue
  await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
  const ids: string[] = []
  const payload = 'y'.repeat(8 * 1024)
  for (let i = 0; i < 4_000 && app.sseHub.stats().droppedClients === 0; i++) {
    ids.push((await app.sseHub.publish('room', `${i} ${payload}`)).id)
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.equal(app.sseHub.stats().droppedClients, 1, `dropped after ${ids.length} events`)
  for (let i = 0; i < 20; i++) ids.push((await app.sseHub.publish('room', `after ${i}`)).id)
  // The client reads what reached it before the cut; the last frame may be cut in half.
  slow.resume()
  await new Promise((resolve) => slow.once('close', resolve))
  const before = parseEventStream(dechunk(Buffer.concat(received)))
  t.ok(before.length > 0 && before.length < ids.length, `${before.length} whole events arrived before the cut`)
  t.same(before.map((event) => event.id), ids.slice(0, before.length), 'a prefix, in order, nothing half-parsed')
  // It reconnects as EventSource would, with the id of its last complete event.
  const resumed = await openSse(url, { headers: { 'last-event-id': before.at(-1)?.id as string } })
  const rest = await resumed.waitFor(ids.length - before.length, 10_000)
  t.same([...before, ...rest].map((event) => event.id), ids, 'every event exactly once, in order')
  t.equal(rest.at(-1)?.data, 'after 19')
  resumed.destroy()
})
