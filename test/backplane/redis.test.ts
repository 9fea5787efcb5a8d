import t from 'tap'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { runBackplaneContract } from '../../lib/backplane/contract.js'
import { RedisBackplane, decodeBackplaneMessage, encodeBackplaneMessage } from '../../lib/backplane/redis.js'
import { MemoryReplayStore } from '../../lib/replay/memory-store.js'
import { RedisReplayStore } from '../../lib/replay/redis-store.js'
import type { ReplayStore, StoredEvent } from '../../lib/replay/store.js'
import { connect, ownRedis, redisSkipReason, redisUrl, uniquePrefix, waitFor } from '../helpers/redis.js'

interface Teardown { teardown (fn: () => unknown): void }

const skip = redisSkipReason(true)
if (skip !== false) {
  t.plan(0, skip)
} else {
  const url = await redisUrl(t)
  const client = await connect(t, url)

  /** One instance: a started backplane recording what it delivers. */
  const instance = async (t: Teardown, c: Redis, store: ReplayStore, channelPrefix?: string) => {
    const backplane = new RedisBackplane({ client: c, channelPrefix })
    const received: Array<[string, StoredEvent]> = []
    await backplane.start((channel, event) => { received.push([channel, event]) }, store)
    t.teardown(() => backplane.close())
    const of = (channel: string): StoredEvent[] => received.filter(([c]) => c === channel).map(([, e]) => e)
    return { backplane, received, of }
  }

  await runBackplaneContract(t, 'RedisBackplane + RedisReplayStore (one Lua script)', (t) => {
    const keyPrefix = uniquePrefix('bp')
    const channelPrefix = uniquePrefix('ch')
    return {
      shared: true,
      instance: async () => {
        const c = await connect(t, url)
        return { backplane: new RedisBackplane({ client: c, channelPrefix }), store: new RedisReplayStore({ client: c, keyPrefix }) }
      }
    }
  })

  await runBackplaneContract(t, 'RedisBackplane + a store on another client (append, then PUBLISH)', (t) => {
    const keyPrefix = uniquePrefix('bp2')
    const channelPrefix = uniquePrefix('ch2')
    return {
      shared: true,
      instance: async () => ({
        backplane: new RedisBackplane({ client: await connect(t, url), channelPrefix }),
        store: new RedisReplayStore({ client, keyPrefix })
      })
    }
  })

  t.test('encodes events on the wire as id, event flag and data', async (t) => {
    const events: StoredEvent[] = [{ id: 'a:1-0', data: 'x\ny\n' }, { id: 'b', event: '', data: '' }, { id: 'c', event: 'e\u{1F600}', data: '\n' }]
    for (const event of events) t.strictSame(decodeBackplaneMessage(encodeBackplaneMessage(event)), event)
    t.equal(encodeBackplaneMessage({ id: 'i', event: 'e', data: 'd' }), 'i\n1e\nd')
  })

  t.test('uses one subscriber connection and one SUBSCRIBE per channel; quits only its own connection', async (t) => {
    const channelPrefix = uniquePrefix('one')
    const { backplane } = await instance(t, client, new RedisReplayStore({ client, keyPrefix: uniquePrefix('one') }), channelPrefix)
    await backplane.subscribe('a')
    await backplane.subscribe('a')
    await backplane.subscribe('b')
    t.strictSame((await client.pubsub('CHANNELS', `${channelPrefix}*`) as string[]).sort(), [`${channelPrefix}a`, `${channelPrefix}b`])
    t.strictSame(await client.pubsub('NUMSUB', `${channelPrefix}a`), [`${channelPrefix}a`, 1])
    await backplane.unsubscribe('a')
    await backplane.unsubscribe('a')
    t.strictSame(await client.pubsub('CHANNELS', `${channelPrefix}*`), [`${channelPrefix}b`])
    await backplane.close()
    t.equal(client.status, 'ready', 'your client stays open')
    await waitFor(async () => (await client.pubsub('CHANNELS', `${channelPrefix}*`) as string[]).length === 0, 'the subscriber connection to go')
  })

  t.test('a MemoryReplayStore with the Redis backplane: publish appends, then PUBLISHes', async (t) => {
    const store = new MemoryReplayStore()
    const channelPrefix = uniquePrefix('mem')
    const a = await instance(t, client, store, channelPrefix)
    await a.backplane.subscribe('c')
    const stored = await a.backplane.publish('c', { event: 'e', data: 'x' }, store)
    await waitFor(() => a.of('c').length === 1, 'delivery')
    t.strictSame(a.of('c'), [stored])
  })

  t.test('start rejects with FST_SSE_STORE_UNAVAILABLE when Redis cannot be reached', async (t) => {
    const server = await ownRedis(t)
    await server.kill()
    const dead = new Redis(server.url, { lazyConnect: true })
    const backplane = new RedisBackplane({ client: dead })
    await t.rejects(backplane.start(() => {}, new MemoryReplayStore()), { code: 'FST_SSE_STORE_UNAVAILABLE', message: /subscriber connection/ })
    t.equal(dead.status, 'wait', 'your client is untouched')
  })

  t.test('publish through another store rejects with FST_SSE_STORE_UNAVAILABLE when the append or the PUBLISH fails', async (t) => {
    const subscriberMode = await connect(t, url)
    await subscriberMode.subscribe(uniquePrefix('busy'))
    const b = await instance(t, subscriberMode, new MemoryReplayStore(), uniquePrefix('busy'))
    const err = await b.backplane.publish('c', { data: 'x' }, new MemoryReplayStore()).catch((err: Error) => err) as Error & { code: string }
    t.equal(err.code, 'FST_SSE_STORE_UNAVAILABLE', 'PUBLISH failed')
    t.match(String((err.cause as Error).message), /subscriber mode/)
    const lazy = new Redis(url, { lazyConnect: true })
    const a = await instance(t, client, new MemoryReplayStore(), uniquePrefix('lazy'))
    await t.rejects(a.backplane.publish('c', { data: 'x' }, new RedisReplayStore({ client: lazy })), { code: 'FST_SSE_STORE_UNAVAILABLE', message: /client is wait/ }, 'append failed')
  })

  t.test('invalid options throw FST_SSE_INVALID_OPTION', async (t) => {
    for (const [name, options] of [['client', {}], ['client', { client: {} }], ['channelPrefix', { client, channelPrefix: 2 }]] as const) {
      t.throws(() => new RedisBackplane(options as never), { code: 'FST_SSE_INVALID_OPTION', message: new RegExp(`option ${name} is invalid`) })
    }
    t.throws(() => new RedisBackplane(undefined as never), { code: 'FST_SSE_INVALID_OPTION' })
    t.equal(new RedisBackplane({ client }).channelPrefix, 'sse:')
  })

  t.test('after its subscriber connection is killed, resubscribes and recovers what was published meanwhile', async (t) => {
    const keyPrefix = uniquePrefix('kill')
    const channelPrefix = uniquePrefix('killch')
    const name = `sub-${keyPrefix}`
    const c = await connect(t, url)
    await c.client('SETNAME', name)
    const mine = new Redis(url, { connectionName: name, retryStrategy: () => 20 })
    mine.on('error', () => {})
    t.teardown(() => { mine.disconnect() })
    await once(mine, 'ready')
    const store = new RedisReplayStore({ client: c, keyPrefix })
    const b = await instance(t, mine, store, channelPrefix)
    const publisher = new RedisReplayStore({ client, keyPrefix })
    const pub = new RedisBackplane({ client, channelPrefix })
    await pub.start(() => {}, publisher)
    t.teardown(() => pub.close())
    await pub.publish('quiet', { data: 'old' }, publisher)
    await b.backplane.subscribe('seen') // gets an event before the kill
    await b.backplane.subscribe('quiet') // nothing delivered before the kill: recovers from its subscribe-time baseline
    await b.backplane.subscribe('empty') // no stream at all: nothing to recover
    const before = await pub.publish('seen', { data: 'before' }, publisher)
    await waitFor(() => b.of('seen').length === 1, 'the first event')

    const list = await client.client('LIST') as string
    const ids = list.split('\n').filter(line => line.includes(` name=${name} `) && / cmd=subscribe /.test(line))
      .map(line => (/^id=(\d+)/.exec(line) as RegExpExecArray)[1] as string)
    t.equal(ids.length, 1, 'one subscriber connection')
    await client.client('KILL', 'ID', ids[0] as string)
    // Published while this instance's subscriber is away, through a healthy path.
    const missed = [await pub.publish('seen', { data: 'm1' }, publisher), await pub.publish('quiet', { event: 'q', data: 'm2' }, publisher)]
    await waitFor(() => b.of('seen').length === 2 && b.of('quiet').length === 1, 'recovered events')
    t.strictSame(b.of('seen'), [before, missed[0]])
    t.strictSame(b.of('quiet'), [missed[1]])
    const live = await pub.publish('seen', { data: 'live' }, publisher)
    await waitFor(() => b.of('seen').length === 3, 'live again')
    t.strictSame(b.of('seen'), [before, missed[0], live], 'no duplicate, in order')
    t.strictSame(b.of('empty'), [])
  })
}
