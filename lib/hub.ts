import type { FastifyBaseLogger } from 'fastify'
import { checkEvent, encodeMessage, serializeData } from './encoder.js'
import type { Serializer } from './encoder.js'
import { describe, errorCodes } from './errors.js'
import type { Backplane } from './backplane/backplane.js'
import type { NewEvent, ReadAfterResult, ReplayStore, StoredEvent } from './replay/store.js'
import { Subscription } from './subscription.js'
import type { HubEvent, SubscribeOptions, SubscriptionHost } from './subscription.js'

const {
  FST_SSE_INVALID_CHANNEL, FST_SSE_INVALID_MESSAGE, FST_SSE_INVALID_FIELD,
  FST_SSE_ID_NOT_ALLOWED, FST_SSE_STORE_UNAVAILABLE, FST_SSE_HUB_CLOSED
} = errorCodes

/** A message to publish: a string (sent as data) or `{ event?, data? }`. The store assigns the id. */
export type PublishMessage<D = unknown> = string | { event?: string, data?: D }

export interface HubStats {
  /** Channels with at least one subscriber on this instance. */
  channels: number
  /** Open subscriptions on this instance. */
  subscribers: number
  /** Bytes waiting to be written to subscribers on this instance. */
  bufferedBytes: number
  /** Subscribers dropped for falling more than maxBufferedBytes behind. */
  droppedClients: number
  /** Events published through this instance. */
  publishedEvents: number
}

export interface SseHubOptions {
  store: ReplayStore
  backplane: Backplane
  serialize: Serializer
  maxBufferedBytes: number
  log: FastifyBaseLogger
}

const CHANNEL = /^[^\u0000-\u001f\u007f]{1,256}$/ // eslint-disable-line no-control-regex

function checkChannel (channel: unknown): string {
  if (typeof channel !== 'string' || !CHANNEL.test(channel)) throw new FST_SSE_INVALID_CHANNEL(describe(channel))
  return channel
}

function unavailable (err: unknown): Error {
  if ((err as { code?: unknown } | null)?.code === 'FST_SSE_STORE_UNAVAILABLE') return err as Error
  return new FST_SSE_STORE_UNAVAILABLE((err as Error | null)?.message ?? describe(err), { cause: err })
}

/** Broadcast channels with gap-free resume: `app.sseHub`. */
export class SseHub implements SubscriptionHost {
  readonly store: ReplayStore
  readonly backplane: Backplane
  readonly maxBufferedBytes: number
  readonly #serialize: Serializer
  readonly #log: FastifyBaseLogger
  readonly #channels = new Map<string, { subscribers: Set<Subscription>, ready: Promise<void> | undefined }>()
  #dropped = 0
  #published = 0
  #closed = false

  constructor (options: SseHubOptions) {
    this.store = options.store
    this.backplane = options.backplane
    this.maxBufferedBytes = options.maxBufferedBytes
    this.#serialize = options.serialize
    this.#log = options.log
  }

  /** Connects the backplane; called once when the plugin registers. */
  async start (): Promise<void> {
    await this.backplane.start((channel, event) => { this.#deliver(channel, event) }, this.store)
  }

  /**
   * Appends the message to the channel's history (the store assigns its id) and sends it
   * to every subscriber. Resolves to the id.
   */
  async publish<D = unknown> (channel: string, message: PublishMessage<D>): Promise<{ id: string }> {
    if (this.#closed) throw new FST_SSE_HUB_CLOSED(`publish to ${describe(channel)}`)
    const event = this.#toNewEvent(checkChannel(channel), message)
    let stored: StoredEvent
    try {
      stored = await this.backplane.publish(channel, event, this.store)
    } catch (err) {
      throw unavailable(err)
    }
    this.#published++
    return { id: stored.id }
  }

  /**
   * Events of a channel: with `lastEventId`, every retained event after it first (or a
   * `reset` event when that is no longer possible), then live events. Lazy: nothing
   * happens until it is iterated or handed to `reply.sse`.
   */
  subscribe (channel: string, options: SubscribeOptions = {}): Subscription {
    if (this.#closed) throw new FST_SSE_HUB_CLOSED(`subscribe to ${describe(channel)}`)
    return new Subscription(this, checkChannel(channel), options)
  }

  stats (): HubStats {
    let subscribers = 0
    let bufferedBytes = 0
    for (const { subscribers: set } of this.#channels.values()) {
      subscribers += set.size
      for (const subscription of set) bufferedBytes += subscription.bufferedBytes
    }
    return {
      channels: this.#channels.size,
      subscribers,
      bufferedBytes,
      droppedClients: this.#dropped,
      publishedEvents: this.#published
    }
  }

  /** Ends every subscription, then closes the backplane and the store. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const { subscribers } of [...this.#channels.values()]) {
      for (const subscription of [...subscribers]) await subscription.return()
    }
    await this.backplane.close()
    await this.store.close?.()
  }

  // -- SubscriptionHost: what subscriptions call --

  async join (subscription: Subscription): Promise<void> {
    const name = subscription.channel
    let channel = this.#channels.get(name)
    if (channel === undefined) {
      channel = { subscribers: new Set(), ready: undefined }
      this.#channels.set(name, channel)
    }
    channel.subscribers.add(subscription)
    if (channel.ready === undefined) {
      const entry = channel
      const ready = this.backplane.subscribe(name)
      entry.ready = ready
      ready.then(undefined, () => { if (entry.ready === ready) entry.ready = undefined })
    }
    try {
      await channel.ready
    } catch (err) {
      throw unavailable(err)
    }
  }

  leave (subscription: Subscription): void {
    const name = subscription.channel
    const channel = this.#channels.get(name)
    if (channel === undefined || !channel.subscribers.delete(subscription) || channel.subscribers.size > 0) return
    this.#channels.delete(name)
    this.backplane.unsubscribe(name).then(undefined, (err: unknown) => {
      this.#log.warn({ err, channel: name }, 'fastify-sse-hub: backplane unsubscribe failed')
    })
  }

  async readAfter (channel: string, lastEventId: string): Promise<ReadAfterResult> {
    try {
      return await this.store.readAfter(channel, lastEventId)
    } catch (err) {
      throw unavailable(err)
    }
  }

  get ordersIds (): boolean {
    return this.store.compareIds !== undefined
  }

  compareIds (a: string, b: string): number | undefined {
    return this.store.compareIds?.(a, b)
  }

  encode (event: HubEvent): string {
    return encodeMessage(event, this.#serialize)
  }

  dropped (subscription: Subscription, err: Error): void {
    this.#dropped++
    this.#log.info({ err, channel: subscription.channel }, 'fastify-sse-hub: slow subscriber dropped')
  }

  failed (subscription: Subscription, err: unknown): void {
    this.#log.error({ err, channel: subscription.channel }, 'fastify-sse-hub: subscription failed')
  }

  #toNewEvent (channel: string, message: PublishMessage): NewEvent {
    if (typeof message === 'string') return { data: message }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      throw new FST_SSE_INVALID_MESSAGE(describe(message))
    }
    const { event, data, ...rest } = message as { event?: unknown, data?: unknown, id?: unknown, retry?: unknown, comment?: unknown }
    if (rest.id !== undefined) throw new FST_SSE_ID_NOT_ALLOWED(describe(rest.id))
    for (const field of ['retry', 'comment'] as const) {
      if (rest[field] !== undefined) {
        throw new FST_SSE_INVALID_FIELD(field, describe(rest[field]), `Hub events carry event and data only (channel ${channel}); send ${field} from reply.sse`)
      }
    }
    const text = data === undefined ? '' : serializeData(data, this.#serialize)
    return event === undefined ? { data: text } : { event: checkEvent(event), data: text }
  }

  /** One published event, to every local subscriber: encoded once, the same bytes for all. */
  #deliver (channel: string, event: StoredEvent): void {
    const subscribers = this.#channels.get(channel)?.subscribers
    if (subscribers === undefined) return // (a channel is forgotten with its last subscriber)
    let frame: Buffer
    try {
      frame = Buffer.from(this.encode(event))
    } catch (err) {
      this.#log.error({ err, channel }, 'fastify-sse-hub: the store gave an event that cannot be sent')
      return
    }
    for (const subscription of subscribers) subscription.offer(event, frame)
  }
}
