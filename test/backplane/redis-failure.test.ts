import t from 'tap'
import { Redis } from 'ioredis'
import { RedisBackplane } from '../../lib/backplane/redis.js'
import { MemoryReplayStore } from '../../lib/replay/memory-store.js'
import { RedisReplayStore } from '../../lib/replay/redis-store.js'
import type { ReplayStore, StoredEvent } from '../../lib/replay/store.js'
import { connect, ownRedis, redisSkipReason, uniquePrefix, waitFor } from '../helpers/redis.js'
import { trackCrashes } from '../helpers/build.js'

interface Teardown { teardown (fn: () => unknown): void }

const skip = redisSkipReason(true)
if (skip !== false) {
  t.plan(0, skip)
} else {
  const crashes = trackCrashes(t)

  const instance = async (t: Teardown, client: Redis, store: ReplayStore, channelPrefix: string) => {
    const backplane = new RedisBackplane({ client, channelPrefix })
    const received: StoredEvent[] = []
    await backplane.start((_, event) => { received.push(event) }, store)
    t.teardown(() => backplane.close())
    return { backplane, received }
  }
  const subscribers = async (client: Redis, name: string): Promise<number> =>
    (await client.pubsub('NUMSUB', name) as [string, number])[1]

  t.test('Redis killed mid-stream: publish rejects while down, recovers after a restart, nothing crashes', async (t) => {
    const server = await ownRedis(t)
    const keyPrefix = uniquePrefix('down')
    const channelPrefix = uniquePrefix('downch')
    const ca = await connect(t, server.url)
    const cb = await connect(t, server.url)
    const a = await instance(t, ca, new RedisReplayStore({ client: ca, keyPrefix }), channelPrefix)
    const storeA = new RedisReplayStore({ client: ca, keyPrefix })
    const b = await instance(t, cb, new RedisReplayStore({ client: cb, keyPrefix }), channelPrefix)
    const memory = new MemoryReplayStore()
    await b.backplane.subscribe('c')
    await b.backplane.subscribe('leaving')
    const first = await a.backplane.publish('c', { data: 'before' }, storeA)
    await waitFor(() => b.received.length === 1, 'the first event')

    await server.kill()
    await waitFor(() => ca.status !== 'ready' && cb.status !== 'ready', 'clients to notice')
    const down = await a.backplane.publish('c', { data: 'while down' }, storeA).catch((err: Error) => err) as Error & { code: string }
    t.equal(down.code, 'FST_SSE_STORE_UNAVAILABLE', 'publish rejects')
    t.ok(down.cause instanceof Error, 'with a cause')
    await t.rejects(a.backplane.publish('c', { data: 'x' }, memory), { code: 'FST_SSE_STORE_UNAVAILABLE', message: /redis connection is/ }, 'append then PUBLISH: rejects too')
    await t.rejects(b.backplane.subscribe('new'), { code: 'FST_SSE_STORE_UNAVAILABLE' }, 'subscribe rejects')
    await b.backplane.unsubscribe('leaving') // nothing to undo while down

    await server.start() // same port, empty: a new epoch for every channel
    await waitFor(async () => ca.status === 'ready' && cb.status === 'ready' && await subscribers(ca, `${channelPrefix}c`) === 1, 'reconnect and resubscribe', 10_000)
    t.equal(await subscribers(ca, `${channelPrefix}leaving`), 0, 'a channel left while down is not resubscribed')
    const after = await a.backplane.publish('c', { data: 'after' }, storeA)
    await waitFor(() => b.received.length === 2, 'delivery after the restart')
    t.strictSame(b.received, [first, after])
    t.not(after.id.split(':')[0], first.id.split(':')[0], 'a new epoch after the wipe')
    await b.backplane.subscribe('new')
    t.strictSame(crashes, [], 'no unhandled rejection, no uncaught exception')
  })

  t.test('a recovery whose store read fails delivers nothing out of order, then live events again', async (t) => {
    const server = await ownRedis(t)
    const keyPrefix = uniquePrefix('rf')
    const channelPrefix = uniquePrefix('rfch')
    const ca = await connect(t, server.url)
    const name = `sub-${keyPrefix}`
    const cb = new Redis(server.url, { connectionName: name, retryStrategy: () => 20 })
    cb.on('error', () => {})
    t.teardown(() => { cb.disconnect() })
    const reader = await connect(t, server.url)
    const a = await instance(t, ca, new RedisReplayStore({ client: ca, keyPrefix }), channelPrefix)
    const storeA = new RedisReplayStore({ client: ca, keyPrefix })
    await waitFor(() => cb.status === 'ready', 'client b')
    const b = await instance(t, cb, new RedisReplayStore({ client: reader, keyPrefix }), channelPrefix)
    await b.backplane.subscribe('c')
    const first = await a.backplane.publish('c', { data: 'first' }, storeA)
    await waitFor(() => b.received.length === 1, 'the first event')

    reader.disconnect() // the store b recovers from is gone
    const list = await ca.client('LIST') as string
    const id = (/^id=(\d+)/.exec(list.split('\n').find(line => line.includes(` name=${name} `) && / cmd=subscribe /.test(line)) as string) as RegExpExecArray)[1] as string
    await ca.client('KILL', 'ID', id)
    await a.backplane.publish('c', { data: 'missed' }, storeA)
    const probes: StoredEvent[] = []
    await waitFor(async () => {
      probes.push(await a.backplane.publish('c', { data: 'probe' }, storeA))
      return b.received.length > 1
    }, 'live delivery after the failed recovery', 10_000, 50)
    t.strictSame(b.received[0], first)
    t.ok(b.received.slice(1).every(event => event.data === 'probe'), 'the missed event is not delivered late')
    const ids = b.received.map(e => e.id)
    t.strictSame(ids.slice(1), probes.map(e => e.id).filter(i => ids.includes(i)), 'probes in publish order, no duplicate')
    t.strictSame(crashes, [])
  })
}
