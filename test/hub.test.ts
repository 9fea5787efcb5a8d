import t from 'tap'
import { InProcessBackplane, MemoryReplayStore } from '../lib/index.js'
import type { Backplane, NewEvent, ReplayStore, StoredEvent } from '../lib/index.js'
import { injectEventStream } from '../lib/testing.js'
import { build, until } from './helpers/build.js'
import type { Teardown } from './helpers/build.js'

async function chatApp (t: Teardown, options = {}) {
  const app = await build(t, options)
  app.get<{ Params: { room: string } }>('/rooms/:room', (request, reply) =>
    reply.sse(app.sseHub.subscribe(`room:${request.params.room}`, { lastEventId: request.lastEventId })))
  return app
}

t.test('publish reaches every subscriber of the channel, with the id the store assigned, and no one else', async (t) => {
  const app = await chatApp(t)
  const a = await injectEventStream(app, '/rooms/a')
  const b = await injectEventStream(app, '/rooms/a')
  const other = await injectEventStream(app, '/rooms/other')
  await until(() => app.sseHub.stats().subscribers === 3, 'three subscribers')
  const { id } = await app.sseHub.publish('room:a', { event: 'message', data: { text: 'hi' } })
  const expected = [{ id, event: 'message', data: '{"text":"hi"}' }]
  t.same(await a.take(1), expected)
  t.same(await b.take(1), expected)
  const { id: otherId } = await app.sseHub.publish('room:other', 'plain')
  t.same(await other.take(1), [{ id: otherId, data: 'plain' }], 'the other room got only its own event')
  await Promise.all([a.close(), b.close(), other.close()])
  t.same(app.sseHub.stats(), { channels: 0, subscribers: 0, bufferedBytes: 0, droppedClients: 0, publishedEvents: 2 })
})

t.test('every subscriber gets the same encoded bytes, in publish order', async (t) => {
  const app = await chatApp(t)
  const subscription = app.sseHub.subscribe('room:x')
  const first = subscription.next()
  const clients = await Promise.all([1, 2, 3].map(() => injectEventStream(app, '/rooms/x')))
  await until(() => app.sseHub.stats().subscribers === 4, 'four subscribers')
  const ids: string[] = []
  for (let i = 0; i < 50; i++) ids.push((await app.sseHub.publish('room:x', { data: `n${i}` })).id)
  const expected = ids.map((id, i) => ({ id, data: `n${i}` }))
  for (const client of clients) t.same(await client.take(50), expected)
  t.same((await first).value, { id: ids[0], data: 'n0' }, 'an iterating subscriber sees the stored event')
  await subscription.return()
})

t.test('resumes after a known id with exactly the missed events, then live ones', async (t) => {
  const app = await chatApp(t)
  const ids: string[] = []
  for (let i = 0; i < 8; i++) ids.push((await app.sseHub.publish('room:r', { event: 'm', data: String(i) })).id)
  const stream = await injectEventStream(app, { url: '/rooms/r', headers: { 'last-event-id': ids[2] as string } })
  t.same(await stream.take(5), ids.slice(3).map((id, i) => ({ id, event: 'm', data: String(i + 3) })))
  const live = await app.sseHub.publish('room:r', { event: 'm', data: 'live' })
  t.same(await stream.take(1), [{ id: live.id, event: 'm', data: 'live' }])
  await stream.close()
})

t.test('the lastEventId query parameter works for polyfills that cannot set headers', async (t) => {
  const app = await chatApp(t)
  const first = await app.sseHub.publish('room:q', 'one')
  const second = await app.sseHub.publish('room:q', 'two')
  const stream = await injectEventStream(app, `/rooms/q?lastEventId=${encodeURIComponent(first.id)}`)
  t.same(await stream.take(1), [{ id: second.id, data: 'two' }])
  await stream.close()
})

t.test('an id older than the retained history, from another store, or malformed gives a reset event first, then live events', async (t) => {
  const store = new MemoryReplayStore({ maxEvents: 3 })
  const app = await chatApp(t, { replayStore: store })
  const old = await app.sseHub.publish('room:z', 'old')
  for (let i = 0; i < 5; i++) await app.sseHub.publish('room:z', `n${i}`)
  const foreign = await new MemoryReplayStore().append('room:z', { data: 'elsewhere' })
  const cases: Array<[string, string]> = [['expired', old.id], ['epoch', foreign.id], ['malformed', 'not-an-id']]
  for (const [reason, lastEventId] of cases) {
    const stream = await injectEventStream(app, { url: '/rooms/z', headers: { 'last-event-id': lastEventId } })
    t.same(await stream.take(1), [{ event: 'reset', data: JSON.stringify({ reason, lastEventId }) }], reason)
    await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber to be live')
    const live = await app.sseHub.publish('room:z', `after ${reason}`)
    t.same(await stream.take(1), [{ id: live.id, data: `after ${reason}` }])
    await stream.close()
  }
})

t.test('a resume racing publishes gets every event exactly once, in order', async (t) => {
  // A store whose reads are slow, so publishes land while the replay is being read.
  class SlowReadStore extends MemoryReplayStore {
    reads = 0
    override async readAfter (channel: string, lastEventId: string) {
      const result = await super.readAfter(channel, lastEventId)
      this.reads++
      await new Promise((resolve) => setImmediate(resolve))
      return result
    }
  }
  const store = new SlowReadStore()
  const app = await chatApp(t, { replayStore: store })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await app.sseHub.publish('room:race', String(i))).id)
  const subscription = app.sseHub.subscribe('room:race', { lastEventId: ids[1] })
  const reading = subscription.next()
  // Publish while the replay read is pending: these arrive live and must not be lost or repeated.
  await until(() => store.reads === 1, 'the replay read')
  for (let i = 5; i < 10; i++) ids.push((await app.sseHub.publish('room:race', String(i))).id)
  const got = [(await reading).value]
  for (let i = 0; i < 7; i++) got.push((await subscription.next()).value)
  t.same(got.map((event) => event?.id), ids.slice(2))
  await subscription.return()
})

t.test('live copies of replayed events are dropped (a backplane may deliver after the store read)', async (t) => {
  let deliver: ((channel: string, event: StoredEvent) => void) | undefined
  const held: Array<[string, StoredEvent]> = []
  const store = new MemoryReplayStore()
  // Delivers each event only when told to: the store already has it when the resume reads.
  const lagging: Backplane = {
    async start (d) { deliver = d },
    async publish (channel: string, event: NewEvent, s: ReplayStore) {
      const stored = await s.append(channel, event)
      held.push([channel, stored])
      return stored
    },
    async subscribe () {},
    async unsubscribe () {},
    async close () {}
  }
  const app = await chatApp(t, { replayStore: store, backplane: lagging })
  const first = await app.sseHub.publish('room:lag', 'a')
  const second = await app.sseHub.publish('room:lag', 'b')
  const subscription = app.sseHub.subscribe('room:lag', { lastEventId: first.id })
  t.same((await subscription.next()).value, { id: second.id, data: 'b' }, 'replayed')
  for (const [channel, event] of held.splice(0)) deliver?.(channel, event) // late live copies of a and b
  const third = await app.sseHub.publish('room:lag', 'c')
  for (const [channel, event] of held.splice(0)) deliver?.(channel, event)
  t.same((await subscription.next()).value, { id: third.id, data: 'c' }, 'b was not repeated')
  await subscription.return()
})

t.test('iterating a subscription: return() settles a pending next(), concurrent next() calls are served in order', async (t) => {
  const app = await build(t)
  const subscription = app.sseHub.subscribe('c')
  t.equal(subscription[Symbol.asyncIterator](), subscription)
  const one = subscription.next()
  const two = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'the subscription to join')
  const a = await app.sseHub.publish('c', 'a')
  const b = await app.sseHub.publish('c', 'b')
  t.same(await Promise.all([one, two]), [{ done: false, value: { id: a.id, data: 'a' } }, { done: false, value: { id: b.id, data: 'b' } }])
  const pending = subscription.next()
  t.same(await subscription.return(), { done: true, value: undefined })
  t.same(await pending, { done: true, value: undefined }, 'the parked next() settled')
  t.same(await subscription.next(), { done: true, value: undefined })
  t.same(app.sseHub.stats().subscribers, 0)
})

t.test('an aborted signal ends a subscription; an already aborted one never joins', async (t) => {
  const app = await build(t)
  const controller = new AbortController()
  const subscription = app.sseHub.subscribe('s', { signal: controller.signal })
  const pending = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  controller.abort()
  t.same(await pending, { done: true, value: undefined })
  t.equal(app.sseHub.stats().subscribers, 0)
  const late = app.sseHub.subscribe('s', { signal: controller.signal })
  t.same(await late.next(), { done: true, value: undefined })
  t.equal(app.sseHub.stats().subscribers, 0)
})

t.test('a subscription is used once: iterating it after handing it to reply.sse, or streaming it twice, is refused', async (t) => {
  const app = await build(t)
  const subscription = app.sseHub.subscribe('once')
  app.get('/once', (request, reply) => reply.sse(subscription))
  const stream = await injectEventStream(app, '/once')
  await t.rejects(subscription.next(), { code: 'FST_SSE_INVALID_SOURCE' })
  const again = await app.inject('/once')
  t.equal(again.statusCode, 500)
  t.equal(again.json().code, 'FST_SSE_INVALID_SOURCE')
  await stream.close()
})

t.test('publish refuses a message id, retry, comment, bad events, bad channels and non-messages with FST_SSE_* codes', async (t) => {
  const app = await build(t)
  const hub = app.sseHub
  await t.rejects(hub.publish('c', { id: '1', data: 'x' } as never), { code: 'FST_SSE_ID_NOT_ALLOWED' })
  await t.rejects(hub.publish('c', { retry: 5 } as never), { code: 'FST_SSE_INVALID_FIELD' })
  await t.rejects(hub.publish('c', { comment: 'x' } as never), { code: 'FST_SSE_INVALID_FIELD' })
  await t.rejects(hub.publish('c', { event: 'a\nb' }), { code: 'FST_SSE_INVALID_FIELD' })
  await t.rejects(hub.publish('c', { data: 1n }), { code: 'FST_SSE_SERIALIZE' })
  for (const message of [null, 5, ['x']]) {
    await t.rejects(hub.publish('c', message as never), { code: 'FST_SSE_INVALID_MESSAGE' })
  }
  for (const channel of ['', 'a\nb', 'x'.repeat(257), 5, 'tab\tname']) {
    await t.rejects(hub.publish(channel as string, 'x'), { code: 'FST_SSE_INVALID_CHANNEL' })
    t.throws(() => hub.subscribe(channel as string), { code: 'FST_SSE_INVALID_CHANNEL' })
  }
  t.equal(hub.stats().publishedEvents, 0, 'nothing refused was stored or counted')
  const { id } = await hub.publish('c', { event: 'named' })
  t.match(id, /^[0-9a-f]+-1$/, 'a named event with no data is accepted')
})

t.test('a failing store or backplane rejects publish with FST_SSE_STORE_UNAVAILABLE and the cause; the app stays up', async (t) => {
  const cause = new Error('connection lost')
  const broken: ReplayStore = {
    append: async () => { throw cause },
    readAfter: async () => { throw cause }
  }
  const app = await chatApp(t, { replayStore: broken })
  const err = await app.sseHub.publish('room:b', 'x').catch((e: unknown) => e) as Error & { code: string }
  t.equal(err.code, 'FST_SSE_STORE_UNAVAILABLE')
  t.equal(err.cause, cause)
  const resume = app.sseHub.subscribe('room:b', { lastEventId: 'x' })
  await t.rejects(resume.next(), { code: 'FST_SSE_STORE_UNAVAILABLE' })
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: subscription failed')?.err?.code, 'FST_SSE_STORE_UNAVAILABLE')
  // Streamed, the failure ends the stream cleanly.
  const res = await app.inject({ url: '/rooms/b', headers: { 'last-event-id': 'x' } })
  t.equal(res.payload, ':\n\n')
})

t.test('a backplane that cannot subscribe fails that subscription, and a later one tries again', async (t) => {
  let fail = true
  const backplane = new InProcessBackplane()
  const subscribe = backplane.subscribe.bind(backplane)
  backplane.subscribe = async (channel: string) => {
    if (fail) throw new Error('subscribe failed')
    return await subscribe(channel)
  }
  const app = await build(t, { backplane })
  await t.rejects(app.sseHub.subscribe('c').next(), { code: 'FST_SSE_STORE_UNAVAILABLE' })
  fail = false
  const subscription = app.sseHub.subscribe('c')
  const next = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  const { id } = await app.sseHub.publish('c', 'ok')
  t.same((await next).value, { id, data: 'ok' })
  await subscription.return()
})

t.test('an unsubscribe failure is logged as a warning', async (t) => {
  const backplane = new InProcessBackplane()
  backplane.unsubscribe = async () => { throw new Error('unsubscribe failed') }
  const app = await build(t, { backplane })
  const subscription = app.sseHub.subscribe('c')
  const next = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  await subscription.return()
  await next
  await until(() => app.logs.some((line) => line.msg === 'fastify-sse-hub: backplane unsubscribe failed'), 'the warning')
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: backplane unsubscribe failed')?.level, 40)
})

t.test('an event the store gave an unsendable id is logged and skipped, not sent', async (t) => {
  class BadIdStore extends MemoryReplayStore {
    override async append (channel: string, event: NewEvent) {
      const stored = await super.append(channel, event)
      return event.data === 'bad' ? { ...stored, id: 'line\nbreak' } : stored
    }
  }
  const app = await build(t, { replayStore: new BadIdStore() })
  const subscription = app.sseHub.subscribe('c')
  const next = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  await app.sseHub.publish('c', 'bad')
  const good = await app.sseHub.publish('c', 'good')
  t.same((await next).value, { id: good.id, data: 'good' })
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: the store gave an event that cannot be sent')?.err?.code, 'FST_SSE_INVALID_FIELD')
  await subscription.return()
})

t.test('after close, publish and subscribe fail with FST_SSE_HUB_CLOSED and open subscriptions end', async (t) => {
  const app = await build(t)
  const subscription = app.sseHub.subscribe('c')
  const pending = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  await app.close()
  t.same(await pending, { done: true, value: undefined })
  await t.rejects(app.sseHub.publish('c', 'x'), { code: 'FST_SSE_HUB_CLOSED' })
  t.throws(() => app.sseHub.subscribe('c'), { code: 'FST_SSE_HUB_CLOSED' })
  await app.sseHub.close() // idempotent
})

t.test('an iterating subscriber that falls maxBufferedBytes behind is dropped with FST_SSE_SLOW_CONSUMER and counted', async (t) => {
  const app = await build(t, { maxBufferedBytes: 1024 })
  const subscription = app.sseHub.subscribe('c')
  const first = subscription.next()
  await until(() => app.sseHub.stats().subscribers === 1, 'join')
  await app.sseHub.publish('c', 'x'.repeat(100))
  t.equal((await first).value?.data, 'x'.repeat(100))
  for (let i = 0; i < 20; i++) await app.sseHub.publish('c', 'y'.repeat(100))
  await t.rejects(subscription.next(), { code: 'FST_SSE_SLOW_CONSUMER' })
  t.same(await subscription.next(), { done: true, value: undefined })
  t.equal(app.sseHub.stats().droppedClients, 1)
  t.equal(app.sseHub.stats().subscribers, 0)
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: slow subscriber dropped')?.err?.code, 'FST_SSE_SLOW_CONSUMER')
})

t.test('store failures of any shape become FST_SSE_STORE_UNAVAILABLE, and one already wrapped is kept as it is', async (t) => {
  const wrapped = new (await import('../lib/index.js')).errorCodes.FST_SSE_STORE_UNAVAILABLE('redis down')
  const failures: unknown[] = ['a string', null, wrapped]
  let next = 0
  const store: ReplayStore = {
    append: async () => { throw failures[next++] },
    readAfter: async () => ({ gap: false, events: [] })
  }
  const app = await build(t, { replayStore: store })
  const first = await app.sseHub.publish('c', 'x').catch((e: unknown) => e) as Error & { code: string }
  t.equal(first.code, 'FST_SSE_STORE_UNAVAILABLE')
  t.equal(first.cause, 'a string')
  t.match(first.message, /"a string"/)
  const second = await app.sseHub.publish('c', 'x').catch((e: unknown) => e) as Error & { code: string }
  t.equal(second.code, 'FST_SSE_STORE_UNAVAILABLE')
  t.equal(second.cause, null)
  t.equal(await app.sseHub.publish('c', 'x').catch((e: unknown) => e), wrapped, 'not wrapped twice')
})

t.test('a resume writes big and small replayed events whole and in order', async (t) => {
  const app = await chatApp(t, { maxBufferedBytes: 64 * 1024 })
  const big = 'b'.repeat(70 * 1024)
  const first = await app.sseHub.publish('room:big', 'start')
  const sent = [big, 'small', big, big, 'tail']
  const ids: string[] = []
  for (const data of sent) ids.push((await app.sseHub.publish('room:big', data)).id)
  const stream = await injectEventStream(app, { url: '/rooms/big', headers: { 'last-event-id': first.id } })
  t.same(await stream.take(5), sent.map((data, i) => ({ id: ids[i], data })), 'replay larger than maxBufferedBytes is not a reason to drop')
  t.equal(app.sseHub.stats().droppedClients, 0)
  await stream.close()
})

t.test('a delivery for a channel with no subscriber here (one just left) is ignored', async (t) => {
  let deliver: ((channel: string, event: StoredEvent) => void) | undefined
  const backplane = new InProcessBackplane()
  const start = backplane.start.bind(backplane)
  backplane.start = async (d, store) => { deliver = d; await start(d, store) }
  const app = await build(t, { backplane })
  deliver?.('nobody-here', { id: 'x-1', data: 'late' })
  t.same(app.sseHub.stats().subscribers, 0)
  t.same(app.logs.filter((line) => line.level >= 40), [])
})

t.test('a subscription returned while its backplane subscribe is pending never reads the store', async (t) => {
  let release: (() => void) | undefined
  const backplane = new InProcessBackplane()
  backplane.subscribe = async () => await new Promise<void>((resolve) => { release = resolve })
  let reads = 0
  class CountingStore extends MemoryReplayStore {
    override async readAfter (channel: string, lastEventId: string) {
      reads++
      return await super.readAfter(channel, lastEventId)
    }
  }
  const store = new CountingStore()
  const app = await build(t, { backplane, replayStore: store })
  const { id } = await app.sseHub.publish('c', 'x')
  const subscription = app.sseHub.subscribe('c', { lastEventId: id })
  const next = subscription.next()
  await until(() => release !== undefined, 'the backplane subscribe')
  await subscription.return()
  release?.()
  t.same(await next, { done: true, value: undefined })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(reads, 0)
})

t.test('a store read that fails after the subscription ended is not reported', async (t) => {
  let fail: ((err: Error) => void) | undefined
  class StuckStore extends MemoryReplayStore {
    override async readAfter () {
      return await new Promise<never>((resolve, reject) => { fail = reject })
    }
  }
  const app = await build(t, { replayStore: new StuckStore() })
  const subscription = app.sseHub.subscribe('c', { lastEventId: 'x' })
  const next = subscription.next()
  await until(() => fail !== undefined, 'the store read')
  await subscription.return()
  fail?.(new Error('too late'))
  t.same(await next, { done: true, value: undefined })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: subscription failed'), undefined)
})

t.test('a subscription returned while its store read is pending delivers nothing from it', async (t) => {
  let answer: (() => void) | undefined
  class SlowStore extends MemoryReplayStore {
    override async readAfter (channel: string, lastEventId: string) {
      await new Promise<void>((resolve) => { answer = resolve })
      return await super.readAfter(channel, lastEventId)
    }
  }
  const app = await build(t, { replayStore: new SlowStore() })
  const first = await app.sseHub.publish('c', 'a')
  await app.sseHub.publish('c', 'b')
  const subscription = app.sseHub.subscribe('c', { lastEventId: first.id })
  const next = subscription.next()
  await until(() => answer !== undefined, 'the store read')
  await subscription.return()
  answer?.()
  t.same(await next, { done: true, value: undefined })
  t.same(await subscription.next(), { done: true, value: undefined }, 'the replayed b was not queued')
})
