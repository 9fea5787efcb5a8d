// Two Fastify instances sharing one Redis, over real sockets with real clients: a publish on
// either reaches subscribers on both with the same id, a client resumes on the other
// instance with exactly what it missed, and Redis going away and coming back crashes nothing.
import t from 'tap'
import type { AddressInfo, Socket } from 'node:net'
import { EventSource } from 'eventsource'
import type { Redis } from 'ioredis'
import { MemoryReplayStore, RedisBackplane, RedisReplayStore } from '../lib/index.js'
import type { FastifySseHubOptions } from '../lib/index.js'
import type { ParsedEvent } from '../lib/testing.js'
import { build, trackCrashes, until } from './helpers/build.js'
import type { Teardown } from './helpers/build.js'
import { connect, ownRedis, redisSkipReason, redisUrl, uniquePrefix, waitFor } from './helpers/redis.js'
import { openSse } from './helpers/sse-client.js'

interface Prefixes { keyPrefix: string, channelPrefix: string }

const CHANNEL = 'room'

/** Prefixes no other test shares: keys and pub/sub channels alike. */
function prefixes (label: string): Prefixes {
  return { keyPrefix: uniquePrefix(label), channelPrefix: uniquePrefix(`${label}-ch`) }
}

/**
 * One instance: its own ioredis client, the Redis store and backplane, `GET /room` on a real
 * port. `drop()` cuts its open streams the way a flaky network does.
 */
async function instance (t: Teardown, redis: string | Redis, { keyPrefix, channelPrefix }: Prefixes, options: FastifySseHubOptions = {}) {
  const client = typeof redis === 'string' ? await connect(t, redis) : redis
  const store = new RedisReplayStore({ client, keyPrefix })
  const app = await build(t, { retry: 5, heartbeatInterval: 0, replayStore: store, backplane: new RedisBackplane({ client, channelPrefix }), ...options })
  const sockets = new Set<Socket>()
  let served = 0
  app.get('/room', (request, reply) => {
    served++
    const socket = request.raw.socket
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    return reply.sse(app.sseHub.subscribe(CHANNEL, { lastEventId: request.lastEventId }))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/room`
  return {
    app,
    client,
    store,
    url,
    publish: async (data: string): Promise<string> => (await app.sseHub.publish(CHANNEL, { event: 'n', data })).id,
    drop: (): void => { for (const socket of sockets) socket.destroy() },
    served: (): number => served
  }
}

/** How many Redis connections (one per instance with local subscribers) listen on the room. */
async function listeners (client: Redis, { channelPrefix }: Prefixes): Promise<number> {
  return (await client.pubsub('NUMSUB', channelPrefix + CHANNEL) as [string, number])[1]
}

function event (id: string, data: string): ParsedEvent {
  return { id, event: 'n', data }
}

const skip = redisSkipReason()
if (skip !== false) {
  t.plan(0, skip)
} else {
  const url = await redisUrl(t)
  // Killing, restarting or wiping Redis needs a private redis-server, whatever REDIS_URL says.
  const ownSkip = redisSkipReason(true)

  t.test('a publish on instance A reaches a subscriber on instance B once, with the id publish() returned', async (t) => {
    const names = prefixes('once')
    const a = await instance(t, url, names)
    const b = await instance(t, url, names)
    const onB = await openSse(b.url)
    const onA = await openSse(a.url)
    t.teardown(() => { onA.destroy(); onB.destroy() })
    await waitFor(async () => await listeners(a.client, names) === 2, 'both instances subscribed')
    const first = await a.publish('from A')
    t.strictSame(await onB.waitFor(1), [event(first, 'from A')])
    // A second publish, from the other side: had the first come twice, it would sit before this one.
    const second = await b.publish('from B')
    t.strictSame(await onB.waitFor(2), [event(first, 'from A'), event(second, 'from B')])
    t.strictSame(await onA.waitFor(2), [event(first, 'from A'), event(second, 'from B')], 'the same ids on both instances')
    t.equal(onB.events.length, 2, 'nothing else')
    t.equal(onA.events.length, 2, 'nothing else')
  })

  t.test('two instances publishing at once: clients on both get the same 1,200 events, in id order, each once', async (t) => {
    const names = prefixes('burst')
    const a = await instance(t, url, names)
    const b = await instance(t, url, names)
    const onA = await openSse(a.url)
    const onB = await openSse(b.url)
    t.teardown(() => { onA.destroy(); onB.destroy() })
    await waitFor(async () => await listeners(a.client, names) === 2, 'both instances subscribed')
    // More events than a backplane remembers for de-duplication (1,000 ids per channel).
    const EACH = 600
    const run = async (side: typeof a, label: string): Promise<string[]> => {
      const ids: string[] = []
      for (let i = 0; i < EACH; i++) ids.push(await side.publish(`${label}${i}`))
      return ids
    }
    const [fromA, fromB] = await Promise.all([run(a, 'a'), run(b, 'b')])
    // Two publishers race: Redis orders them, and that order is the one every client sees.
    const all = [...fromA, ...fromB].sort((x, y) => a.store.compareIds(x, y) as number)
    await onA.waitFor(2 * EACH, 10_000)
    await onB.waitFor(2 * EACH, 10_000)
    t.strictSame(onA.events.map(e => e.id), all, 'on A: every id once, in id order')
    t.strictSame(onB.events, onA.events, 'on B: the same events')
  })

  t.test('a client dropped from A resumes on B with Last-Event-ID: exactly the 5 it missed, in order, then live ones', async (t) => {
    const names = prefixes('resume')
    const a = await instance(t, url, names)
    const b = await instance(t, url, names)
    const first = await openSse(a.url)
    await waitFor(async () => await listeners(a.client, names) === 1, 'A subscribed')
    const seen = [await a.publish('seen 0'), await b.publish('seen 1')]
    const received = await first.waitFor(2)
    t.strictSame(received, [event(seen[0] as string, 'seen 0'), event(seen[1] as string, 'seen 1')])
    first.destroy()
    await until(() => a.app.sseHub.stats().subscribers === 0, 'A to forget the client')

    const missed: string[] = []
    for (let i = 0; i < 5; i++) missed.push(await b.publish(`missed ${i}`))
    const second = await openSse(b.url, { headers: { 'last-event-id': received[1]?.id as string } })
    t.teardown(() => second.destroy())
    t.strictSame(await second.waitFor(5), missed.map((id, i) => event(id, `missed ${i}`)), 'exactly the missed events')
    // Replayed means B joined the channel first (join, then read): live events follow.
    const live = [await a.publish('live A'), await b.publish('live B')]
    t.strictSame(await second.waitFor(7), [
      ...missed.map((id, i) => event(id, `missed ${i}`)),
      event(live[0] as string, 'live A'),
      event(live[1] as string, 'live B')
    ])
    t.equal(second.events.length, 7, 'no duplicate')
  })

  t.test('publishing from both instances through 30 reconnects that alternate between them: every id once, in publish order', async (t) => {
    const names = prefixes('race')
    const a = await instance(t, url, names)
    const b = await instance(t, url, names)
    // A load balancer in the client: each (re)connection goes to the other instance. The
    // WHATWG client sends Last-Event-ID on its own, with the id of the last event it saw.
    let attempts = 0
    const source = new EventSource(a.url, {
      fetch: (_, init) => fetch(attempts++ % 2 === 0 ? a.url : b.url, init)
    })
    t.teardown(() => source.close())
    const received: string[] = []
    let opens = 0
    source.onopen = () => { opens++ }
    source.addEventListener('n', (message) => { received.push(message.lastEventId) })
    await until(() => opens === 1, 'the first connection')

    const published: string[] = []
    const state = { publishing: true }
    const publisher = (async () => {
      // Alternating instances, each publish awaited: the resolution order is the publish order.
      for (let i = 0; state.publishing || i < 300; i++) published.push(await (i % 2 === 0 ? a : b).publish(`n${i}`))
    })()
    const RECONNECTS = 30
    for (let reconnects = 0; reconnects < RECONNECTS; reconnects++) {
      const had = received.length
      await until(() => opens === reconnects + 1 && received.length >= had + 2, `events on connection ${reconnects + 1}`, 10_000)
      a.drop()
      b.drop()
    }
    await until(() => opens === RECONNECTS + 1, 'the last reconnect', 10_000)
    state.publishing = false
    await publisher
    await until(() => received.length >= published.length, `all ${published.length} events`, 10_000)

    t.equal(a.served() + b.served(), RECONNECTS + 1, 'one request per connection')
    t.equal(a.served(), RECONNECTS / 2 + 1, 'half of them served by A')
    t.ok(published.every((id, i) => i === 0 || a.store.compareIds(published[i - 1] as string, id) === -1), 'publish order is id order')
    t.strictSame(received, published, `${published.length} ids, each once, in publish order`)
    t.comment(`${published.length} events published from two instances across ${RECONNECTS} reconnects`)
  })

  t.test('open clients keep receiving after Redis is killed and restarted; publish rejects while it is down; nothing crashes', { skip: ownSkip }, async (t) => {
    const crashes = trackCrashes(t)
    const server = await ownRedis(t)
    const names = prefixes('restart')
    const a = await instance(t, server.url, names)
    const b = await instance(t, server.url, names)
    // One browser-style client on A, one raw client on B.
    const source = new EventSource(a.url)
    t.teardown(() => source.close())
    const onA: ParsedEvent[] = []
    let opens = 0
    source.onopen = () => { opens++ }
    source.addEventListener('n', (message) => { onA.push(event(message.lastEventId, message.data)) })
    const onB = await openSse(b.url)
    t.teardown(() => onB.destroy())
    await waitFor(async () => opens === 1 && await listeners(a.client, names) === 2, 'both clients subscribed')
    const before = await a.publish('before')
    await until(() => onA.length === 1 && onB.events.length === 1, 'the first event on both')

    await server.kill()
    await until(() => a.client.status !== 'ready' && b.client.status !== 'ready', 'both instances to notice')
    for (const [name, side] of [['A', a], ['B', b]] as const) {
      const err = await side.publish('while down').catch((err: unknown) => err) as Error & { code?: string }
      t.equal(err.code, 'FST_SSE_STORE_UNAVAILABLE', `publish on ${name} rejects`)
      t.ok(err.cause instanceof Error, 'with the cause attached')
    }

    await server.start() // same port, empty (no persistence)
    await waitFor(async () => a.client.status === 'ready' && b.client.status === 'ready' && await listeners(a.client, names) === 2,
      'both instances back and resubscribed', 10_000)
    const after = [await b.publish('after on B'), await a.publish('after on A')]
    const expected = [event(before, 'before'), event(after[0] as string, 'after on B'), event(after[1] as string, 'after on A')]
    await until(() => onA.length === 3 && onB.events.length === 3, 'the events published after the restart')
    t.strictSame(onA, expected, 'the client on A got them')
    t.strictSame(onB.events, expected, 'the client on B got them')
    t.equal(opens, 1, 'the client on A never reconnected')
    t.equal(onB.ended, false, 'the stream on B stayed open')
    t.not(after[0]?.split(':')[0], before.split(':')[0], 'the wiped channel started a new epoch')
    t.strictSame(crashes, [], 'no unhandled rejection, no uncaught exception')
  })

  /** Two instances on a private Redis, one raw client on each, both subscribed. */
  async function pair (t: Teardown, label: string) {
    const server = await ownRedis(t)
    const names = prefixes(label)
    const a = await instance(t, server.url, names)
    const b = await instance(t, server.url, names)
    const onA = await openSse(a.url)
    const onB = await openSse(b.url)
    t.teardown(() => { onA.destroy(); onB.destroy() })
    // The test's own connection, never held up behind an instance's commands.
    const probe = await connect(t, server.url)
    await waitFor(async () => await listeners(probe, names) === 2, 'both instances subscribed')
    /** Cuts both instances' subscriber connections, the way a network blip does (each reconnects by itself). */
    const cutSubscribers = async (): Promise<unknown> => await probe.client('KILL', 'TYPE', 'pubsub')
    const resubscribed = () => waitFor(async () => await listeners(probe, names) === 2, 'both instances resubscribed', 10_000)
    return { names, a, b, onA, onB, probe, cutSubscribers, resubscribed }
  }

  t.test('events published while the subscriber connections were away, on a channel that had no history yet, reach open clients', { skip: ownSkip }, async (t) => {
    const { a, b, onA, onB, cutSubscribers, resubscribed } = await pair(t, 'fresh')
    t.equal(await cutSubscribers(), 2, 'both subscriber connections cut')
    // Published through a healthy path (the clients' own connections) before the backplanes are back.
    const missed = [await a.publish('m0'), await b.publish('m1')]
    await resubscribed()
    const live = await a.publish('live')
    const expected = [event(missed[0] as string, 'm0'), event(missed[1] as string, 'm1'), event(live, 'live')]
    t.strictSame(await onA.waitFor(3), expected, 'recovered on A, then live')
    t.strictSame(await onB.waitFor(3), expected, 'recovered on B, then live')
    t.equal(onA.events.length + onB.events.length, 6, 'no duplicate')
  })

  t.test('events published after Redis was wiped, while the subscriber connections were away, reach open clients', { skip: ownSkip }, async (t) => {
    const { a, b, onA, onB, cutSubscribers, resubscribed } = await pair(t, 'wiped')
    const before = await a.publish('before')
    await until(() => onA.events.length === 1 && onB.events.length === 1, 'the first event on both')
    t.equal(await cutSubscribers(), 2, 'both subscriber connections cut')
    await a.client.flushall() // what a restart without persistence does to the history
    const missed = [await b.publish('m0'), await a.publish('m1')]
    t.not(missed[0]?.split(':')[0], before.split(':')[0], 'a new epoch')
    await resubscribed()
    const live = await b.publish('live')
    const expected = [event(before, 'before'), event(missed[0] as string, 'm0'), event(missed[1] as string, 'm1'), event(live, 'live')]
    t.strictSame(await onA.waitFor(4), expected, 'recovered on A, then live')
    t.strictSame(await onB.waitFor(4), expected, 'recovered on B, then live')
    t.equal(onA.events.length + onB.events.length, 8, 'no duplicate')
  })

  t.test('a publish that races the resubscription reaches each client once: the recovered and the live copy are one', { skip: ownSkip }, async (t) => {
    const { a, b, onA, onB, probe, cutSubscribers, resubscribed } = await pair(t, 'dedupe')
    const before = await a.publish('before')
    await until(() => onA.events.length === 1 && onB.events.length === 1, 'the first event on both')
    // Redis holds every write (our publish, and the backplanes' recovery reads after it) while
    // the subscriber connections come back: once released, the publish runs first, so each
    // backplane both reads it from the stream and receives it live.
    await probe.client('PAUSE', 10_000, 'WRITE')
    t.teardown(() => probe.client('UNPAUSE'))
    const racing = b.publish('racing')
    t.equal(await cutSubscribers(), 2, 'both subscriber connections cut')
    await resubscribed()
    await probe.client('UNPAUSE')
    const id = await racing
    const live = await a.publish('live')
    const expected = [event(before, 'before'), event(id, 'racing'), event(live, 'live')]
    t.strictSame(await onA.waitFor(3), expected, 'on A')
    t.strictSame(await onB.waitFor(3), expected, 'on B')
    t.equal(onA.events.length + onB.events.length, 6, 'no duplicate')
  })

  t.test('with in-memory stores, a blip of the subscriber connections loses what no store can give back; live events go on', { skip: ownSkip }, async (t) => {
    const server = await ownRedis(t)
    const names = prefixes('memory')
    // Each instance keeps its own history: the other's events cannot be read back after a blip.
    const a = await instance(t, server.url, names, { replayStore: new MemoryReplayStore() })
    const b = await instance(t, server.url, names, { replayStore: new MemoryReplayStore() })
    const onB = await openSse(b.url)
    t.teardown(() => onB.destroy())
    await waitFor(async () => await listeners(a.client, names) === 1, 'B subscribed')
    t.equal(await a.client.client('KILL', 'TYPE', 'pubsub'), 1, 'the subscriber connection cut')
    await a.publish('lost')
    await waitFor(async () => await listeners(a.client, names) === 1, 'B resubscribed', 10_000)
    const live = await a.publish('live')
    t.strictSame(await onB.waitFor(1), [event(live, 'live')])
    t.equal(onB.events.length, 1, 'nothing else')
  })
}
