import type { ReplayStore, StoredEvent } from './store.js'

/**
 * The part of a tap `Test` the contract suites use, declared here so this module ships in
 * the package without importing tap. Pass tap's `t` (or anything with these methods).
 */
export interface ContractTest {
  test (name: string, fn: (t: ContractTest) => unknown): unknown
  equal (found: unknown, wanted: unknown, ...message: [] | [message: string]): unknown
  not (found: unknown, notWanted: unknown, ...message: [] | [message: string]): unknown
  strictSame (found: unknown, wanted: unknown, ...message: [] | [message: string]): unknown
  ok (value: unknown, ...message: [] | [message: string]): unknown
  teardown (fn: () => unknown): void
}

export interface ReplayStoreFixture {
  store: ReplayStore
  /**
   * Appending this many events after an event surely evicts it and the one after it (the
   * count bound plus one, plus slack for approximate trimming).
   */
  evictAfter: number
  /**
   * Simulates losing the history (a restart of the process or of the backing, a wipe) and
   * resolves to the store to use afterwards (the same object or a new one). Ids issued
   * before must be gaps afterwards.
   */
  restart: () => Promise<ReplayStore>
}

/** Makes a fresh, empty store per test (unique key prefix...); close it in `t.teardown`. */
export type ReplayStoreFactory = (t: ContractTest) => ReplayStoreFixture | Promise<ReplayStoreFixture>

const HOSTILE = ['', '-', ' ', '0', 'x', '-1', '1-', ':', '0:0-0', 'null', 'undefined', '\u{1F4A5}', 'é-1', '\u0000', '\r\n',
  'a'.repeat(100_000), '1'.repeat(1_000), '1-1'.repeat(300), '9'.repeat(30) + '-' + '9'.repeat(30), '__proto__', 'constructor']

async function appendMany (store: ReplayStore, channel: string, count: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for (let i = 0; i < count; i++) out.push(await store.append(channel, { data: `${channel}#${i}` }))
  return out
}

/**
 * Checks that a ReplayStore keeps the contract of `ReplayStore` (see lib/replay/store.ts).
 * `runReplayStoreContract(t, 'MyStore', () => ({ store, evictAfter, restart }))`.
 */
export async function runReplayStoreContract (t: ContractTest, name: string, factory: ReplayStoreFactory): Promise<void> {
  const test = (title: string, fn: (t: ContractTest, fixture: ReplayStoreFixture) => Promise<void>): unknown =>
    t.test(`${name}: ${title}`, async (t) => { await fn(t, await factory(t)) })

  await test('append resolves distinct ids in order and readAfter returns exactly the later events', async (t, { store }) => {
    const events = await appendMany(store, 'c', 6)
    t.equal(new Set(events.map(e => e.id)).size, 6, 'ids are distinct')
    for (const event of events) t.ok(typeof event.id === 'string' && !/[\r\n\0]/.test(event.id), `id ${JSON.stringify(event.id)} is a clean string`)
    for (let i = 0; i < events.length; i++) {
      t.strictSame(await store.readAfter('c', (events[i] as StoredEvent).id), { gap: false, events: events.slice(i + 1) }, `after event ${i}`)
    }
  })

  await test('readAfter of the latest id is an empty list, not a gap', async (t, { store }) => {
    const [, last] = await appendMany(store, 'c', 2)
    t.strictSame(await store.readAfter('c', (last as StoredEvent).id), { gap: false, events: [] })
  })

  await test('keeps event undefined or set exactly, and data byte for byte', async (t, { store }) => {
    const inputs = [
      { data: 'plain' },
      { event: 'named', data: 'x' },
      { event: '', data: '' },
      { data: 'multi\nline\r\nwith\rbreaks and unicode \u{1F680} é' },
      { event: 'big', data: 'z'.repeat(64 * 1024) }
    ]
    const first = await store.append('c', { data: 'start' })
    const stored: StoredEvent[] = []
    for (const input of inputs) stored.push(await store.append('c', input))
    const read = await store.readAfter('c', first.id)
    t.strictSame(read, { gap: false, events: stored })
    const events = (read as { events: StoredEvent[] }).events
    for (const [i, input] of inputs.entries()) {
      const event = events[i] as StoredEvent
      t.equal('event' in event, 'event' in input, `event key present only when set (#${i})`)
      t.equal(event.event, input.event)
      t.equal(event.data, input.data)
      t.strictSame(stored[i], { id: event.id, ...input }, `append resolved the stored event (#${i})`)
    }
  })

  await test('malformed and hostile ids are a "malformed" gap, never a throw', async (t, { store }) => {
    await appendMany(store, 'c', 2)
    for (const id of HOSTILE) {
      t.strictSame(await store.readAfter('c', id), { gap: true, reason: 'malformed' }, `id ${JSON.stringify(id.slice(0, 20))}`)
    }
  })

  await test('an id of another channel never yields that channel\'s events', async (t, { store }) => {
    const a = await appendMany(store, 'a', 3)
    const b = await appendMany(store, 'b', 3)
    for (const event of [...a, ...b.slice(0, 2)]) {
      const read = await store.readAfter('b', event.id)
      if (!read.gap) t.ok(read.events.every(e => b.some(own => own.id === e.id)), 'only b events')
      else t.not(read.reason, undefined, `gap (${read.reason})`)
    }
    const fresh = await store.readAfter('fresh', (a[0] as StoredEvent).id)
    t.ok(fresh.gap || fresh.events.length === 0, 'a channel without events yields nothing (or a gap)')
  })

  await test('ids issued before a restart are a gap afterwards', async (t, fixture) => {
    const before = await appendMany(fixture.store, 'c', 3)
    const store = await fixture.restart()
    await appendMany(store, 'c', 3)
    for (const event of before) {
      const read = await store.readAfter('c', event.id)
      t.equal(read.gap, true, `old id ${event.id} is a gap`)
      t.not(read.gap && read.reason, 'malformed', 'a well-formed old id is not "malformed"')
    }
  })

  await test('an id whose successor was evicted by count is an "expired" gap', async (t, { store, evictAfter }) => {
    const first = await store.append('c', { data: 'first' })
    const rest = await appendMany(store, 'c', evictAfter)
    t.strictSame(await store.readAfter('c', first.id), { gap: true, reason: 'expired' }, 'first id')
    const last = rest.at(-1) as StoredEvent
    t.strictSame(await store.readAfter('c', (rest.at(-2) as StoredEvent).id), { gap: false, events: [last] }, 'recent ids still replay')
    t.strictSame(await store.readAfter('c', last.id), { gap: false, events: [] })
  })

  await test('channels are isolated', async (t, { store }) => {
    const a0 = await store.append('a', { data: 'a0' })
    const b0 = await store.append('b', { data: 'b0' })
    const a = [await store.append('a', { data: 'a1' }), await store.append('a', { event: 'e', data: 'a2' })]
    const b = [await store.append('b', { data: 'b1' })]
    t.strictSame(await store.readAfter('a', a0.id), { gap: false, events: a })
    t.strictSame(await store.readAfter('b', b0.id), { gap: false, events: b })
  })

  await test('100 concurrent appends resolve with distinct ids, stored in resolution order', async (t, { store }) => {
    const marker = await store.append('c', { data: 'marker' })
    const resolved: StoredEvent[] = []
    await Promise.all(Array.from({ length: 100 }, (_, i) =>
      store.append('c', { data: String(i) }).then(event => { resolved.push(event) })))
    t.equal(new Set(resolved.map(e => e.id)).size, 100, 'distinct ids')
    t.strictSame(await store.readAfter('c', marker.id), { gap: false, events: resolved })
  })
}
