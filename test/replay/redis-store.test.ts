import t from 'tap'
import { Redis } from 'ioredis'
import { runReplayStoreContract } from '../../lib/replay/contract.js'
import { RedisReplayStore } from '../../lib/replay/redis-store.js'
import type { StoredEvent } from '../../lib/replay/store.js'
import { connect, redisSkipReason, redisUrl, uniquePrefix } from '../helpers/redis.js'

const skip = redisSkipReason()
if (skip !== false) {
  t.plan(0, skip)
} else {
  const url = await redisUrl(t)
  const client = await connect(t, url)

  /** Deletes every key under a prefix: what FLUSHALL or a restart without persistence does to us. */
  const wipe = async (prefix: string): Promise<void> => {
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
  }

  await runReplayStoreContract(t, 'RedisReplayStore', () => {
    const keyPrefix = uniquePrefix('contract')
    const store = new RedisReplayStore({ client, keyPrefix, maxLen: 10 })
    // MAXLEN ~ trims whole stream nodes (100 entries by default): 10 + 100 + slack surely trims the first two.
    return { store, evictAfter: 250, restart: async () => { await wipe(keyPrefix); return store } }
  })

  const fresh = (options: { maxLen?: number, maxAgeMs?: number } = {}): RedisReplayStore =>
    new RedisReplayStore({ client, keyPrefix: uniquePrefix('store'), ...options })

  t.test('stores one stream and one meta hash per channel, with compact fields', async (t) => {
    const store = fresh()
    const first = await store.append('room:1', { event: 'msg', data: 'hello' })
    const second = await store.append('room:1', { data: 'again' })
    const [stream, meta] = store.keys('room:1')
    t.equal(stream, `${store.keyPrefix}{room:1}`)
    t.equal(meta, `${store.keyPrefix}{room:1}:meta`)
    const epoch = first.id.split(':')[0] as string
    t.match(first.id, /^[0-9a-f]{12}:\d+-\d+$/)
    t.strictSame(await client.hgetall(meta), { epoch, last: second.id.slice(13) })
    t.strictSame(await client.xrange(stream, '-', '+'), [
      [first.id.slice(13), ['p', '0-0', 'd', 'hello', 'e', 'msg']],
      [second.id.slice(13), ['p', first.id.slice(13), 'd', 'again']]
    ])
    t.strictSame(await client.pttl(stream), -1, 'no expiry without maxAgeMs')
    t.equal(await store.lastId('room:1'), second.id)
    t.equal(await store.lastId('empty'), undefined)
  })

  t.test('an id just before the oldest retained entry is not a gap (exact boundary)', async (t) => {
    const store = fresh()
    const events: StoredEvent[] = []
    for (let i = 0; i < 6; i++) events.push(await store.append('c', { data: String(i) }))
    await client.xtrim(store.keys('c')[0], 'MAXLEN', 3) // exact: keeps 3, 4, 5
    const id = (i: number): string => (events[i] as StoredEvent).id
    t.strictSame(await store.readAfter('c', id(1)), { gap: true, reason: 'expired' }, '2 was trimmed')
    t.strictSame(await store.readAfter('c', id(2)), { gap: false, events: events.slice(3) }, 'nothing after 2 was trimmed')
    t.strictSame(await store.readAfter('c', id(3)), { gap: false, events: events.slice(4) })
    const epoch = id(0).split(':')[0] as string
    t.strictSame(await store.readAfter('c', `${epoch}:0-0`), { gap: true, reason: 'expired' }, 'from the very start: trimmed')
    t.strictSame(await store.readAfter('c', `${epoch}:99999999999999-0`), { gap: true, reason: 'unknown' }, 'after the newest')
    await client.xtrim(store.keys('c')[0], 'MAXLEN', 0)
    t.strictSame(await store.readAfter('c', id(4)), { gap: true, reason: 'expired' }, 'stream emptied: 5 is gone')
    t.strictSame(await store.readAfter('c', id(5)), { gap: false, events: [] }, 'the newest id missed nothing')
  })

  t.test('from the start of a stream whose first entry is retained, 0-0 replays everything', async (t) => {
    const store = fresh()
    const a = await store.append('c', { data: 'a' })
    const b = await store.append('c', { data: 'b' })
    t.strictSame(await store.readAfter('c', `${a.id.split(':')[0] as string}:0-0`), { gap: false, events: [a, b] })
  })

  t.test('a wiped, deleted or recreated stream gets a new epoch: old ids are "epoch" gaps', async (t) => {
    const store = fresh()
    const old = await store.append('c', { data: 'old' })
    await client.del(store.keys('c')[0])
    t.strictSame(await store.readAfter('c', old.id), { gap: true, reason: 'epoch' }, 'stream deleted, meta left')
    const renewed = await store.append('c', { data: 'new' })
    t.not(renewed.id.split(':')[0], old.id.split(':')[0], 'new epoch')
    t.strictSame(await store.readAfter('c', old.id), { gap: true, reason: 'epoch' })
    await client.del(store.keys('c')[1])
    t.strictSame(await store.readAfter('c', renewed.id), { gap: true, reason: 'epoch' }, 'meta deleted')
    t.strictSame(await store.readAfter('other', renewed.id), { gap: true, reason: 'epoch' }, 'a channel without history')
    const third = await store.append('c', { data: 'third' })
    t.not(third.id.split(':')[0], renewed.id.split(':')[0], 'meta lost: new epoch too')
  })

  t.test('ids past the 64-bit range are malformed, not sent to Redis', async (t) => {
    const store = fresh()
    const { id } = await store.append('c', { data: 'x' })
    const epoch = id.split(':')[0] as string
    t.strictSame(await store.readAfter('c', `${epoch}:18446744073709551616-0`), { gap: true, reason: 'malformed' })
    t.strictSame(await store.readAfter('c', `${epoch}:1-18446744073709551616`), { gap: true, reason: 'malformed' })
    t.strictSame(await store.readAfter('c', `${epoch}:18446744073709551615-18446744073709551615`), { gap: true, reason: 'unknown' })
    t.strictSame(await store.readAfter('c', `${epoch}:01-0`), { gap: true, reason: 'malformed' }, 'leading zero')
    // (An epoch is random hex: one made of digits only has no upper case, so force a letter.)
    t.strictSame(await store.readAfter('c', `A${epoch.slice(1)}:1-0`), { gap: true, reason: 'malformed' }, 'upper-case hex')
  })

  t.test('maxLen trims approximately: at least maxLen events stay', async (t) => {
    const store = fresh({ maxLen: 10 })
    for (let i = 0; i < 300; i++) await store.append('c', { data: String(i) })
    const length = await client.xlen(store.keys('c')[0])
    t.ok(length >= 10 && length < 300, `length ${length}`)
  })

  t.test('maxAgeMs trims by Redis time and expires idle channel keys', async (t) => {
    const store = fresh({ maxAgeMs: 60_000 })
    const [stream, meta] = store.keys('c')
    // Entries with ids far in the past, as if written an hour ago, fill a whole stream node.
    for (let i = 1; i <= 150; i++) await client.xadd(stream, `${i}-0`, 'p', '0-0', 'd', 'ancient')
    await client.hset(meta, 'epoch', 'aaaaaaaaaaaa', 'last', '150-0')
    const recent = await store.append('c', { data: 'recent' })
    const length = await client.xlen(stream)
    t.ok(length < 151, `old entries trimmed by MINID (length ${length})`)
    t.strictSame(await store.readAfter('c', 'aaaaaaaaaaaa:1-0'), { gap: true, reason: 'expired' })
    t.equal(recent.id.split(':')[0], 'aaaaaaaaaaaa', 'same epoch')
    const ttl = await client.pttl(stream)
    t.ok(ttl > 0 && ttl <= 60_000, `stream expires (${ttl} ms)`)
    t.ok((await client.pttl(meta)) > 0, 'meta expires')
  })

  t.test('Redis errors and a client that is not ready reject with FST_SSE_STORE_UNAVAILABLE', async (t) => {
    const store = fresh()
    await client.set(store.keys('c')[0], 'not a stream')
    await client.hset(store.keys('c')[1], 'epoch', 'aaaaaaaaaaaa', 'last', '1-0')
    const err = await store.append('c', { data: 'x' }).catch((err: unknown) => err) as Error & { code: string }
    t.equal(err.code, 'FST_SSE_STORE_UNAVAILABLE')
    t.match(String((err.cause as Error).message), /WRONGTYPE/)

    const lazy = new Redis(url, { lazyConnect: true })
    const offline = new RedisReplayStore({ client: lazy })
    await t.rejects(offline.append('c', { data: 'x' }), { code: 'FST_SSE_STORE_UNAVAILABLE', message: /redis client is wait/ })
    await t.rejects(offline.readAfter('c', 'aaaaaaaaaaaa:1-0'), { code: 'FST_SSE_STORE_UNAVAILABLE' })
    t.strictSame(await offline.readAfter('c', 'nope'), { gap: true, reason: 'malformed' }, 'malformed needs no Redis')
    await offline.close()
    t.equal(lazy.status, 'wait', 'close() leaves your client alone')
  })

  t.test('loads its scripts again after SCRIPT FLUSH (NOSCRIPT)', async (t) => {
    const store = fresh()
    const a = await store.append('c', { data: 'a' })
    await client.script('FLUSH')
    const b = await store.append('c', { data: 'b' })
    await client.script('FLUSH')
    t.strictSame(await store.readAfter('c', a.id), { gap: false, events: [b] })
  })

  t.test('invalid options throw FST_SSE_INVALID_OPTION', async (t) => {
    const bad: Array<[string, object]> = [
      ['client', {}], ['client', { client: null }], ['client', { client: {} }],
      ['keyPrefix', { client, keyPrefix: 1 }],
      ['maxLen', { client, maxLen: 0 }], ['maxLen', { client, maxLen: 2.5 }],
      ['maxAgeMs', { client, maxAgeMs: 0 }]
    ]
    for (const [name, options] of bad) {
      t.throws(() => new RedisReplayStore(options as never), { code: 'FST_SSE_INVALID_OPTION', message: new RegExp(`option ${name} is invalid`) }, name)
    }
    t.throws(() => new RedisReplayStore(undefined as never), { code: 'FST_SSE_INVALID_OPTION' }, 'no options')
    const store = new RedisReplayStore({ client })
    t.strictSame([store.keyPrefix, store.maxLen, store.maxAgeMs], ['sse:', 1000, undefined], 'defaults')
  })
}
