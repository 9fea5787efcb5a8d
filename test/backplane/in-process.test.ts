import t from 'tap'
import { InProcessBackplane } from '../../lib/backplane/backplane.js'
import { runBackplaneContract } from '../../lib/backplane/contract.js'
import { MemoryReplayStore } from '../../lib/replay/memory-store.js'
import type { StoredEvent } from '../../lib/replay/store.js'

await runBackplaneContract(t, 'InProcessBackplane', () => ({
  shared: false,
  instance: async () => ({ backplane: new InProcessBackplane(), store: new MemoryReplayStore() })
}))

t.test('delivers in the tick the append resolves, and nothing after close', async (t) => {
  const backplane = new InProcessBackplane()
  const store = new MemoryReplayStore()
  const received: StoredEvent[] = []
  await backplane.subscribe('c')
  const early = await backplane.publish('c', { data: 'before start' }, store)
  t.strictSame(received, [], 'not started: nothing to deliver to, no throw')
  await backplane.start((_, event) => { received.push(event) }, store)
  const stored = await backplane.publish('c', { data: 'x' }, store)
  t.strictSame(received, [stored], 'delivered before publish resolved')
  await backplane.close()
  await backplane.publish('c', { data: 'after close' }, store)
  t.strictSame(received, [stored])
  t.strictSame(await store.readAfter('c', early.id), { gap: false, events: [stored, { id: `${store.epoch}-3`, data: 'after close' }] }, 'still stored')
})
