import type { ContractTest } from '../replay/contract.js'
import type { ReplayStore, StoredEvent } from '../replay/store.js'
import type { Backplane } from './backplane.js'

export interface BackplaneInstance {
  backplane: Backplane
  store: ReplayStore
}

export interface BackplaneFixture {
  /**
   * Makes one "instance": a backplane (not started) and the store it publishes through.
   * When `shared`, every instance of one fixture shares the backing (the same Redis and
   * key prefix...), so a publish on one reaches the others. Close them in `t.teardown`.
   */
  instance: () => Promise<BackplaneInstance>
  shared: boolean
}

export type BackplaneFactory = (t: ContractTest) => BackplaneFixture | Promise<BackplaneFixture>

interface Started extends BackplaneInstance {
  received: Array<[string, StoredEvent]>
  /** Resolves once `count` events of `channel` arrived. */
  until: (channel: string, count: number) => Promise<StoredEvent[]>
}

async function start (t: ContractTest, fixture: BackplaneFixture): Promise<Started> {
  const { backplane, store } = await fixture.instance()
  const received: Array<[string, StoredEvent]> = []
  const waiters = new Set<() => void>()
  const of = (channel: string): StoredEvent[] => received.filter(([c]) => c === channel).map(([, e]) => e)
  await backplane.start((channel, event) => {
    received.push([channel, event])
    for (const wake of waiters) wake()
  }, store)
  t.teardown(() => backplane.close())
  // No timer: a delivery that never comes fails the test by its timeout.
  const until = (channel: string, count: number): Promise<StoredEvent[]> => new Promise((resolve) => {
    const check = (): void => {
      if (of(channel).length < count) return
      waiters.delete(check)
      resolve(of(channel))
    }
    waiters.add(check)
    check()
  })
  return { backplane, store, received, until }
}

/**
 * Checks that a Backplane keeps the contract of `Backplane` (lib/backplane/backplane.ts).
 * Deliveries are awaited, never slept on: "exactly once" is checked by publishing a
 * sentinel on the same channel after the event and waiting for the sentinel.
 */
export async function runBackplaneContract (t: ContractTest, name: string, factory: BackplaneFactory): Promise<void> {
  const pair = async (t: ContractTest): Promise<[Started, Started]> => {
    const fixture = await factory(t)
    const a = await start(t, fixture)
    return [a, fixture.shared ? await start(t, fixture) : a]
  }

  await t.test(`${name}: a publish reaches deliver of a subscribed instance once, with the store's id`, async (t) => {
    const [a, b] = await pair(t)
    await b.backplane.subscribe('c')
    const published = await a.backplane.publish('c', { event: 'e', data: 'one' }, a.store)
    const sentinel = await a.backplane.publish('c', { data: 'sentinel' }, a.store)
    t.strictSame(await b.until('c', 2), [published, sentinel], 'delivered once, in order, as stored')
    t.strictSame(await b.store.readAfter('c', published.id), { gap: false, events: [sentinel] }, 'the id is the store\'s')
    t.strictSame(published, { id: published.id, event: 'e', data: 'one' })
  })

  await t.test(`${name}: nothing is delivered for a channel after unsubscribe`, async (t) => {
    const [a, b] = await pair(t)
    await b.backplane.subscribe('gone')
    await b.backplane.subscribe('kept')
    await a.backplane.publish('gone', { data: 'before' }, a.store)
    await b.until('gone', 1)
    await b.backplane.unsubscribe('gone')
    await a.backplane.publish('gone', { data: 'after' }, a.store)
    const sentinel = await a.backplane.publish('kept', { data: 'sentinel' }, a.store)
    t.strictSame(await b.until('kept', 1), [sentinel])
    await b.backplane.subscribe('gone')
    const again = await a.backplane.publish('gone', { data: 'again' }, a.store)
    const gone = await b.until('gone', 2)
    t.strictSame(gone.map(e => e.data), ['before', 'again'], '"after" was never delivered')
    t.strictSame(gone[1], again)
  })

  await t.test(`${name}: 200 rapid publishes are delivered once each, in the store's order`, async (t) => {
    const [a, b] = await pair(t)
    await b.backplane.subscribe('fast')
    const marker = await a.store.append('fast', { data: 'marker' })
    const published = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      a.backplane.publish('fast', { data: String(i) }, a.store)))
    const delivered = await b.until('fast', 200)
    const stored = await b.store.readAfter('fast', marker.id)
    t.strictSame(stored, { gap: false, events: delivered }, 'delivery order is store order')
    t.equal(new Set(delivered.map(e => e.id)).size, 200, 'no duplicate')
    t.strictSame([...delivered].sort((x, y) => Number(x.data) - Number(y.data)), published, 'every publish delivered as resolved')
    const sentinel = await a.backplane.publish('fast', { data: 'sentinel' }, a.store)
    t.strictSame((await b.until('fast', 201)).at(-1), sentinel, 'nothing extra')
  })
}
