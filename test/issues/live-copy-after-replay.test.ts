// Regression: a streamed subscription whose replay was already written got a late live copy
// of a replayed event written again (the fast path skipped the duplicate check). Found by the
// cross-instance race test: the Redis backplane's pub/sub message can arrive after the replay
// that was read from the stream on another connection.
import t from 'tap'
import { MemoryReplayStore } from '../../lib/index.js'
import type { Backplane, NewEvent, ReplayStore, StoredEvent } from '../../lib/index.js'
import { injectEventStream } from '../../lib/testing.js'
import { build, until } from '../helpers/build.js'

for (const ordered of [true, false]) {
  t.test(`a late live copy of a replayed event is not written again (store ${ordered ? 'with' : 'without'} compareIds)`, async (t) => {
    let deliver: ((channel: string, event: StoredEvent) => void) | undefined
    const held: StoredEvent[] = []
    const store = new MemoryReplayStore()
    if (!ordered) Object.defineProperty(store, 'compareIds', { value: undefined })
    // Delivers only when told to: the store already has each event when the resume reads it.
    const lagging: Backplane = {
      async start (d) { deliver = d },
      async publish (channel: string, event: NewEvent, s: ReplayStore) {
        const stored = await s.append(channel, event)
        held.push(stored)
        return stored
      },
      async subscribe () {},
      async unsubscribe () {},
      async close () {}
    }
    const app = await build(t, { replayStore: store, backplane: lagging })
    app.get('/room', (request, reply) => reply.sse(app.sseHub.subscribe('room', { lastEventId: request.lastEventId })))
    const first = await app.sseHub.publish('room', 'a')
    const second = await app.sseHub.publish('room', 'b')
    const stream = await injectEventStream(app, { url: '/room', headers: { 'last-event-id': first.id } })
    t.same(await stream.take(1), [{ id: second.id, data: 'b' }], 'the replay')
    await until(() => app.sseHub.stats().subscribers === 1, 'the subscriber')
    // Late live copies of a and b; a store that cannot order ids can only recognise the
    // replayed one (b), so only that one is sent to it (see ReplayStore.compareIds).
    for (const event of held.splice(0)) if (ordered || event.id === second.id) deliver?.('room', event)
    const third = await app.sseHub.publish('room', 'c')
    for (const event of held.splice(0)) deliver?.('room', event)
    t.same(await stream.take(1), [{ id: third.id, data: 'c' }], 'b was not written twice')
    await stream.close()
  })
}
