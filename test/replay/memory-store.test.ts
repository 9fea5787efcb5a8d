import t from 'tap'
import { runReplayStoreContract } from '../../lib/replay/contract.js'
import { MemoryReplayStore } from '../../lib/replay/memory-store.js'
import type { StoredEvent } from '../../lib/replay/store.js'

await runReplayStoreContract(t, 'MemoryReplayStore', (t) => {
  const store = new MemoryReplayStore({ maxEvents: 200 })
  t.teardown(() => store.close())
  return { store, evictAfter: 201, restart: async () => new MemoryReplayStore({ maxEvents: 200 }) }
})

t.test('keeps the newest maxEvents per channel and replays them after a wrapped ring', async (t) => {
  const store = new MemoryReplayStore({ maxEvents: 4 })
  const all: StoredEvent[] = []
  for (let i = 0; i < 11; i++) all.push(await store.append('c', { data: String(i) }))
  // The ring wrapped twice: head is in the middle, binary search must still find positions.
  t.strictSame(await store.readAfter('c', (all[5] as StoredEvent).id), { gap: true, reason: 'expired' }, 'its successor was evicted')
  for (let i = 6; i < 11; i++) {
    t.strictSame(await store.readAfter('c', (all[i] as StoredEvent).id), { gap: false, events: all.slice(i + 1) }, `after #${i}`)
  }
})

t.test('readAfter on a wrapped ring with interleaved channels finds the first later event', async (t) => {
  const store = new MemoryReplayStore({ maxEvents: 8 })
  const a: StoredEvent[] = []
  for (let i = 0; i < 30; i++) {
    a.push(await store.append('a', { data: `a${i}` }))
    await store.append('b', { data: `b${i}` })
  }
  // Ids of 'b' fall between the seqs of 'a': the search must land on the next 'a' event.
  const bLate = await store.append('b', { data: 'late' })
  t.strictSame(await store.readAfter('a', bLate.id), { gap: false, events: [] })
  const read = await store.readAfter('a', (a[25] as StoredEvent).id)
  t.strictSame(read, { gap: false, events: a.slice(26) })
})

t.test('drops events older than maxAgeMs using the injected clock', async (t) => {
  let now = 1_000
  const store = new MemoryReplayStore({ maxEvents: 100, maxAgeMs: 50, now: () => now })
  t.teardown(() => store.close())
  const zero = await store.append('c', { data: 'zero' })
  const first = await store.append('c', { data: 'first' })
  now += 30
  const second = await store.append('c', { data: 'second' })
  const third = await store.append('c', { data: 'third' })
  t.strictSame(await store.readAfter('c', first.id), { gap: false, events: [second, third] }, 'all young')
  now += 25 // first is 55 ms old
  t.strictSame(await store.readAfter('c', zero.id), { gap: true, reason: 'expired' }, 'zero and first dropped on read')
  t.strictSame(await store.readAfter('c', first.id), { gap: false, events: [second, third] }, 'nothing after first was missed')
  t.strictSame(await store.readAfter('c', second.id), { gap: false, events: [third] })
  now += 100
  const fourth = await store.append('c', { data: 'fourth' })
  t.strictSame(await store.readAfter('c', second.id), { gap: true, reason: 'expired' }, 'expired on append')
  t.strictSame(await store.readAfter('c', third.id), { gap: false, events: [fourth] }, 'the newest dropped id is the boundary')
})

t.test('sweep drops empty channel logs and still reports their old ids as expired', async (t) => {
  let now = 0
  const store = new MemoryReplayStore({ maxAgeMs: 10, now: () => now })
  t.teardown(() => store.close())
  const a = [await store.append('a', { data: '1' }), await store.append('a', { data: '2' })]
  now = 5
  const b = await store.append('b', { data: 'b' })
  t.equal(store.channelCount, 2)
  now = 12
  store.sweep()
  t.equal(store.channelCount, 1, 'a is gone, b is young')
  t.strictSame(await store.readAfter('a', (a[0] as StoredEvent).id), { gap: true, reason: 'expired' }, 'older than the forgotten log')
  t.strictSame(await store.readAfter('a', (a[1] as StoredEvent).id), { gap: false, events: [] }, 'the last id of the forgotten log missed nothing')
  t.strictSame(await store.readAfter('never', (a[0] as StoredEvent).id), { gap: true, reason: 'expired' }, 'unknown channel: conservative')
  t.strictSame(await store.readAfter('never', b.id), { gap: false, events: [] }, 'newer than anything forgotten')
  now = 100
  store.sweep()
  t.equal(store.channelCount, 0)
})

t.test('sweep does nothing without maxAgeMs', async (t) => {
  const store = new MemoryReplayStore()
  await store.append('c', { data: 'x' })
  store.sweep()
  t.equal(store.channelCount, 1)
  t.equal(store.maxEvents, 1000, 'default maxEvents')
  t.equal(store.maxAgeMs, undefined)
})

t.test('the sweeper runs on its own and close() clears it', async (t) => {
  // Same interval, created in this order: the closed store's timer would fire first.
  const closed = new MemoryReplayStore({ maxAgeMs: 1 })
  const open = new MemoryReplayStore({ maxAgeMs: 1 })
  t.teardown(() => open.close())
  await closed.append('c', { data: 'x' })
  await open.append('c', { data: 'x' })
  await closed.close()
  const start = Date.now()
  // The sweeper runs every max(1 s, maxAgeMs): wait for its effect (there is no event).
  while (open.channelCount > 0) {
    if (Date.now() - start > 5_000) throw new Error('not swept within 5 s')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(closed.channelCount, 1, 'the closed store was not swept')
})

t.test('ids of another store (epoch) and future ids are gaps', async (t) => {
  const one = new MemoryReplayStore()
  const two = new MemoryReplayStore()
  const event = await one.append('c', { data: 'x' })
  await two.append('c', { data: 'y' })
  t.strictSame(await two.readAfter('c', event.id), { gap: true, reason: 'epoch' })
  t.strictSame(await one.readAfter('c', `${one.epoch}-99`), { gap: true, reason: 'unknown' })
  t.not(one.epoch, two.epoch)
  t.match(event.id, /^[0-9a-f]{12}-1$/)
})

t.test('invalid options throw FST_SSE_INVALID_OPTION', async (t) => {
  const bad: Array<[string, object]> = [
    ['maxEvents', { maxEvents: 0 }], ['maxEvents', { maxEvents: 1.5 }], ['maxEvents', { maxEvents: '10' }],
    ['maxAgeMs', { maxAgeMs: 0 }], ['maxAgeMs', { maxAgeMs: Infinity }],
    ['now', { now: 42 }]
  ]
  for (const [name, options] of bad) {
    t.throws(() => new MemoryReplayStore(options as never), { code: 'FST_SSE_INVALID_OPTION', message: new RegExp(`option ${name} is invalid`) }, name)
  }
  t.type(new MemoryReplayStore({ maxEvents: 1, maxAgeMs: 1 }), MemoryReplayStore, 'smallest valid options')
})
