import type { NewEvent, ReplayStore, StoredEvent } from '../replay/store.js'

/** Hands an event to this instance's hub, which writes it to its local subscribers. */
export type Deliver = (channel: string, event: StoredEvent) => void

/**
 * How a publish reaches subscribers on every instance. Checked by
 * `runBackplaneContract` from `fastify-sse-hub/testing`.
 * - `publish` appends through the store (which assigns the id) and makes the event reach
 *   `deliver` on every started instance subscribed to the channel, once, in id order.
 * - `subscribe` resolves once events published afterwards will be delivered here;
 *   the hub calls it for the first local subscriber of a channel and `unsubscribe`
 *   when the last one leaves.
 */
export interface Backplane {
  start (deliver: Deliver): Promise<void>
  publish (channel: string, event: NewEvent, store: ReplayStore): Promise<StoredEvent>
  subscribe (channel: string): Promise<void>
  unsubscribe (channel: string): Promise<void>
  /** Releases what the backplane created (never the user's own connections). */
  close (): Promise<void>
}

/** The default: one process, delivery in the same tick as the append resolves. */
export class InProcessBackplane implements Backplane {
  #deliver: Deliver | undefined

  async start (deliver: Deliver): Promise<void> {
    this.#deliver = deliver
  }

  async publish (channel: string, event: NewEvent, store: ReplayStore): Promise<StoredEvent> {
    const stored = await store.append(channel, event)
    this.#deliver?.(channel, stored)
    return stored
  }

  async subscribe (): Promise<void> {}

  async unsubscribe (): Promise<void> {}

  async close (): Promise<void> {
    this.#deliver = undefined
  }
}
