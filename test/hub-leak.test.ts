// Nothing leaks over 10,000 connect/disconnect cycles (DESIGN guarantee 4).
import t from 'tap'
import { injectEventStream } from '../lib/testing.js'
import { retainedHeap } from './helpers/heap.js'
import { build } from './helpers/build.js'

t.test('10,000 subscribe/unsubscribe cycles through reply.sse leave the heap at baseline and stats() at zero', async (t) => {
  const app = await build(t, { heartbeatInterval: 1_000 }, { logger: false }) // collected log lines would grow the heap
  app.get('/room', (request, reply) => reply.sse(app.sseHub.subscribe('room', { lastEventId: request.lastEventId })))
  const cycle = async (): Promise<void> => {
    const stream = await injectEventStream(app, '/room')
    await stream.close()
  }
  for (let i = 0; i < 200; i++) await cycle() // warm up: JIT, pools, lazy structures
  const before = await retainedHeap()
  for (let i = 0; i < 10_000; i++) await cycle()
  const after = await retainedHeap()
  const growth = after - before
  t.same(app.sseHub.stats(), { channels: 0, subscribers: 0, bufferedBytes: 0, droppedClients: 0, publishedEvents: 0 })
  t.comment(`heap growth over 10,000 streamed cycles: ${(growth / 1024).toFixed(1)} KiB`)
  // GC noise here is a few hundred KiB; 200 bytes kept per cycle would already be 2 MB.
  t.ok(growth < 2 << 20, `heap growth ${(growth / 1024).toFixed(1)} KiB < 2 MiB`)
})

t.test('10,000 subscriptions iterated and returned leave the heap at baseline', async (t) => {
  const app = await build(t)
  const cycle = async (): Promise<void> => {
    const subscription = app.sseHub.subscribe('room')
    const next = subscription.next()
    await subscription.return()
    await next
  }
  for (let i = 0; i < 200; i++) await cycle()
  const before = await retainedHeap()
  for (let i = 0; i < 10_000; i++) await cycle()
  const after = await retainedHeap()
  t.same(app.sseHub.stats().subscribers, 0)
  t.ok(after - before < 2 << 20, `heap growth ${((after - before) / 1024).toFixed(1)} KiB < 2 MiB`)
})

t.test('10,000 generator streams that the client leaves run every finally and leave nothing behind', async (t) => {
  const app = await build(t, { heartbeatInterval: 1_000 }, { logger: false })
  let finished = 0
  app.get('/gen', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      yield 'hi'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    } finally {
      finished++
    }
  }))
  const cycle = async (): Promise<void> => {
    const stream = await injectEventStream(app, '/gen')
    await stream.take(1)
    await stream.close()
  }
  for (let i = 0; i < 200; i++) await cycle()
  const before = await retainedHeap()
  for (let i = 0; i < 10_000; i++) await cycle()
  const after = await retainedHeap()
  t.equal(finished, 10_200)
  t.ok(after - before < 2 << 20, `heap growth ${((after - before) / 1024).toFixed(1)} KiB < 2 MiB`)
})
