import type { NewEvent, ReplayStore, StoredEvent } from '../replay/store.js'

/** Hands an event to this instance's hub, which writes it to its local subscribers. */
export type Deliver = (channel: string, event: StoredEvent) => void

/**
 * How a publish reaches subscribers on every instance. Checked by
 * `runBackplaneContract` from `fastify-sse-hub/testing`.
 * - `start` is called once, at registration, with the hub's `deliver` and the replay store
 *   the hub uses (a backplane reads it to recover events after a lost connection).
 * - `publish` appends through the store (which assigns the id) and makes the event reach
 *   `deliver` on every started instance subscribed to the channel, once, in id order.
 * - `subscribe` resolves once events published afterwards will be delivered here;
 *   the hub calls it for the first local subscriber of a channel and `unsubscribe`
 *   when the last one leaves. Nothing is delivered for a channel not subscribed.
 */
export interface Backplane {
  start (deliver: Deliver, store: ReplayStore): Promise<void>
  publish (channel: string, event: NewEvent, store: ReplayStore): Promise<StoredEvent>
  subscribe (channel: string): Promise<void>
  unsubscribe (channel: string): Promise<void>
  /** Releases what the backplane created (never the user's own connections). */
  close (): Promise<void>
}

/** The default: one process, delivery in the same tick as the append resolves. */
export class InProcessBackplane implements Backplane {
  #deliver: Deliver | undefined
  readonly #channels = new Set<string>()

  async start (deliver: Deliver, _store?: ReplayStore): Promise<void> {
    this.#deliver = deliver
  }

  async publish (channel: string, event: NewEvent, store: ReplayStore): Promise<StoredEvent> {
    const stored = await store.append(channel, event)
    if (this.#channels.has(channel)) this.#deliver?.(channel, stored)
    return stored
  }

  async subscribe (channel: string): Promise<void> {
    this.#channels.add(channel)
  }

  async unsubscribe (channel: string): Promise<void> {
    this.#channels.delete(channel)
  }

  async close (): Promise<void> {
    this.#deliver = undefined
    this.#channels.clear()
  }
}
