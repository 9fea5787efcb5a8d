// compareIds lets a resuming subscriber drop late live copies of events it already has.
import t from 'tap'
import { MemoryReplayStore, RedisReplayStore } from '../../lib/index.js'
import { connect, redisSkipReason, redisUrl, uniquePrefix } from '../helpers/redis.js'

t.test('MemoryReplayStore orders its own ids and cannot order others', async (t) => {
  const store = new MemoryReplayStore()
  const a = await store.append('c', { data: 'a' })
  const b = await store.append('other', { data: 'b' })
  const c = await store.append('c', { data: 'c' })
  t.ok((store.compareIds(a.id, c.id) as number) < 0)
  t.ok((store.compareIds(c.id, a.id) as number) > 0)
  t.equal(store.compareIds(b.id, b.id), 0)
  const foreign = await new MemoryReplayStore().append('c', { data: 'x' })
  t.equal(store.compareIds(a.id, foreign.id), undefined)
  t.equal(store.compareIds(foreign.id, a.id), undefined)
  t.equal(store.compareIds('junk', a.id), undefined)
  t.equal(store.compareIds(a.id, 'junk'), undefined)
})

t.test('RedisReplayStore orders ids of one epoch by stream id', { skip: redisSkipReason() }, async (t) => {
  const client = await connect(t, await redisUrl(t))
  const store = new RedisReplayStore({ client, keyPrefix: uniquePrefix('cmp') })
  const ids = []
  for (let i = 0; i < 3; i++) ids.push((await store.append('c', { data: String(i) })).id)
  const [a, b, c] = ids as [string, string, string]
  t.ok((store.compareIds(a, b) as number) < 0)
  t.ok((store.compareIds(c, b) as number) > 0)
  t.equal(store.compareIds(b, b), 0)
  const epoch = a.slice(0, 12)
  // Same millisecond, different sequence; and different milliseconds.
  t.equal(store.compareIds(`${epoch}:5-1`, `${epoch}:5-2`), -1)
  t.equal(store.compareIds(`${epoch}:5-2`, `${epoch}:5-1`), 1)
  t.equal(store.compareIds(`${epoch}:6-0`, `${epoch}:5-9`), 1)
  t.equal(store.compareIds(`${epoch}:5-9`, `${epoch}:6-0`), -1)
  t.equal(store.compareIds(a, `000000000000:${a.slice(13)}`), undefined, 'another epoch')
  t.equal(store.compareIds('junk', a), undefined)
})
